"""Weight and activity penalties: l1, l2, l1_l2 (Keras defaults 0.01)."""
import jax.numpy as jnp


class L1L2:
    """Penalty ``l1 * sum(|w|) + l2 * sum(w**2)`` added to the training loss."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        out = 0.0
        if self.l1:
            out = out + self.l1 * jnp.sum(jnp.abs(x))
        if self.l2:
            out = out + self.l2 * jnp.sum(jnp.square(x))
        return out

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


def l1(l=0.01):
    return L1L2(l1=l)


def l2(l=0.01):
    return L1L2(l2=l)


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1=l1, l2=l2)


def get(identifier):
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in ("l1", "l2", "l1_l2"):
        return globals()[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in ("L1L2", "L1", "L2", "L1L2Regularizer"):
        cfg = identifier.get("config", {})
        return L1L2(cfg.get("l1", 0.0), cfg.get("l2", 0.0))
    raise ValueError(f"Unknown regularizer {identifier!r}; expected 'l1', 'l2', 'l1_l2' or a callable")


def serialize(reg):
    if reg is None:
        return None
    if isinstance(reg, L1L2):
        return {"class_name": "L1L2", "config": reg.get_config()}
    return getattr(reg, "__name__", str(reg))
