"""Weight initializers with Keras names, defaults and configs.

An initializer is called as ``init(key, shape, dtype)``; fans for convolution
kernels (kh, kw, in, out) count the receptive field, as Keras does.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np


class Initializer:
    def __call__(self, key, shape, dtype=jnp.float32):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Zeros(Initializer):
    def __call__(self, key, shape, dtype=jnp.float32):
        return jnp.zeros(shape, dtype)


class Ones(Initializer):
    def __call__(self, key, shape, dtype=jnp.float32):
        return jnp.ones(shape, dtype)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, key, shape, dtype=jnp.float32):
        return jnp.full(shape, self.value, dtype)

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, key, shape, dtype=jnp.float32):
        return self.mean + self.stddev * jax.random.normal(_key(key, self.seed), shape, dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    def __call__(self, key, shape, dtype=jnp.float32):
        return self.mean + self.stddev * jax.random.truncated_normal(_key(key, self.seed), -2.0, 2.0, shape, dtype)


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, key, shape, dtype=jnp.float32):
        return jax.random.uniform(_key(key, self.seed), shape, dtype, self.minval, self.maxval)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _fans(shape):
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(Initializer):
    """Draws with variance ``scale / n`` where n is fan_in, fan_out or their mean."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg'; got {mode!r}")
        if distribution == "normal":  # Keras 2 name for the truncated normal
            distribution = "truncated_normal"
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: unknown distribution {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, key, shape, dtype=jnp.float32):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        key = _key(key, self.seed)
        if self.distribution == "uniform":
            lim = math.sqrt(3.0 * var)
            return jax.random.uniform(key, shape, dtype, -lim, lim)
        if self.distribution == "untruncated_normal":
            return math.sqrt(var) * jax.random.normal(key, shape, dtype)
        std = math.sqrt(var) / 0.87962566103423978  # std of a unit normal truncated at +-2
        return std * jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _vs(name, scale, mode, distribution):
    cls = type(name, (VarianceScaling,), {})
    cls.__init__ = lambda self, seed=None: VarianceScaling.__init__(self, scale, mode, distribution, seed)
    cls.get_config = lambda self: {"seed": self.seed}
    return cls


GlorotUniform = _vs("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _vs("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _vs("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _vs("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _vs("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _vs("LecunNormal", 1.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, key, shape, dtype=jnp.float32):
        return jax.nn.initializers.orthogonal(self.gain)(_key(key, self.seed), shape, dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, key, shape, dtype=jnp.float32):
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2-D shape; got {shape}")
        return self.gain * jnp.eye(*shape, dtype=dtype)

    def get_config(self):
        return {"gain": self.gain}


def _key(key, seed):
    return jax.random.PRNGKey(seed) if seed is not None else key


_CLASSES = {c.__name__: c for c in (Zeros, Ones, Constant, RandomNormal, TruncatedNormal, RandomUniform,
                                    VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal,
                                    LecunUniform, LecunNormal, Orthogonal, Identity)}
_ALIASES = {
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "random_normal": RandomNormal, "normal": RandomNormal, "truncated_normal": TruncatedNormal,
    "random_uniform": RandomUniform, "uniform": RandomUniform,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_uniform": HeUniform,
    "he_normal": HeNormal, "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal, "identity": Identity, "variance_scaling": VarianceScaling,
}


def get(identifier):
    """Resolve a name ('glorot_uniform', the book's 'normal'), a config dict or an initializer."""
    if isinstance(identifier, Initializer) or (callable(identifier) and not isinstance(identifier, (str, dict))):
        return identifier
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown initializer {identifier!r}; expected one of {sorted(_ALIASES)}")
        return cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _CLASSES.get(identifier["class_name"]) or _ALIASES.get(identifier["class_name"])
        if cls is None:
            raise ValueError(f"Unknown initializer class {identifier['class_name']!r}")
        config = {k: v for k, v in identifier.get("config", {}).items() if k != "dtype"}
        return cls.from_config(config)
    raise ValueError(f"Cannot interpret initializer {identifier!r}")


def serialize(init):
    if isinstance(init, Initializer):
        return {"class_name": type(init).__name__, "config": init.get_config()}
    return getattr(init, "__name__", str(init))
