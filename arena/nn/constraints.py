"""Weight constraints applied after every optimizer update: max_norm, non_neg, unit_norm."""
import jax.numpy as jnp

_EPS = 1e-7


class MaxNorm:
    def __init__(self, max_value=2.0, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        norms = jnp.sqrt(jnp.sum(jnp.square(w), axis=self.axis, keepdims=True))
        return w * (jnp.clip(norms, 0, self.max_value) / (_EPS + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg:
    def __call__(self, w):
        return w * (w >= 0).astype(w.dtype)

    def get_config(self):
        return {}


class UnitNorm:
    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (_EPS + jnp.sqrt(jnp.sum(jnp.square(w), axis=self.axis, keepdims=True)))

    def get_config(self):
        return {"axis": self.axis}


max_norm, non_neg, unit_norm = MaxNorm, NonNeg, UnitNorm
_CLASSES = {"MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm,
            "max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm}


def get(identifier):
    if identifier is None or callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, str) and identifier in _CLASSES:
        return _CLASSES[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]](**identifier.get("config", {}))
    raise ValueError(f"Unknown constraint {identifier!r}; expected one of {sorted(_CLASSES)}")


def serialize(c):
    if c is None:
        return None
    return {"class_name": type(c).__name__, "config": c.get_config()}
