"""Noise layers (Keras 2 semantics): GaussianNoise, GaussianDropout, SpatialDropout1D, SpatialDropout2D.

Each is the identity in inference and draws its noise from the call's key in training (an error naming
the layer when there is none). ``seed`` (an int) is folded into that key, as in :class:`Dropout`. All pass
masks through unchanged.
"""
import math

import jax
import jax.numpy as jnp

from arena import checks
from arena.nn.layers.base import Layer, register
from arena.nn.layers.conv import as_float, data_format_of


def _who(layer):
    return f"{type(layer).__name__} '{layer.name}'"


class _Noise(Layer):
    """Shared parts: mask pass-through, the seed, the key check."""

    supports_masking = True

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = checks.optional_seed(seed, f"{_who(self)}: seed")

    def _key(self, key):
        if key is None:
            raise ValueError(f"{type(self).__name__} '{self.name}' needs a random key in training mode "
                             f"(call it with key=jax.random.PRNGKey(...), or train it inside a model)")
        return key if self.seed is None else jax.random.fold_in(key, self.seed)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@register
class GaussianNoise(_Noise):
    """In training, add zero-mean Gaussian noise of standard deviation ``stddev``; identity in inference."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.stddev = checks.number(stddev, f"{_who(self)}: stddev", 0)

    def call(self, params, x, training=False, key=None):
        if not training or self.stddev == 0.0:
            return x
        x = as_float(x)
        noise = jax.random.normal(self._key(key), x.shape, x.dtype)
        return x + self.stddev * noise

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}


@register
class GaussianDropout(_Noise):
    """In training, multiply by Gaussian noise of mean 1 and standard deviation ``sqrt(rate / (1 - rate))``;
    identity in inference."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = checks.number(rate, f"{_who(self)}: rate", 0, 1, max_open=True)

    def call(self, params, x, training=False, key=None):
        if not training or self.rate == 0.0:
            return x
        x = as_float(x)
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = jax.random.normal(self._key(key), x.shape, x.dtype)
        return x * (1.0 + stddev * noise)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


class _SpatialDropout(_Noise):
    """Dropout of whole feature maps: one keep/drop draw per sample and channel (channels last), the kept
    ones scaled by ``1 / (1 - rate)``."""

    rank = None  # input rank, batch axis included

    def __init__(self, rate, seed=None, noise_shape=None, **kwargs):
        # noise_shape: in Keras 2 configs (always None; the spatial layers fix their own noise shape)
        super().__init__(seed=seed, **kwargs)
        self.rate = checks.number(rate, f"{_who(self)}: rate", 0, 1, max_open=True)

    def build(self, input_shape):
        axes = "(batch, steps, channels)" if self.rank == 3 else "(batch, rows, cols, channels)"
        self._expect_rank(input_shape, self.rank, axes)

    def call(self, params, x, training=False, key=None):
        if not training or self.rate == 0.0:
            return x
        if x.ndim != self.rank:
            raise ValueError(f"{type(self).__name__} '{self.name}' expects input of rank {self.rank}; got shape "
                             f"{tuple(x.shape)}")
        keep = jax.random.bernoulli(self._key(key), 1.0 - self.rate, self._noise_shape(x))
        return jnp.where(keep, x / (1.0 - self.rate), 0.0).astype(as_float(x).dtype)

    def _noise_shape(self, x):
        return (x.shape[0],) + (1,) * (self.rank - 2) + (x.shape[-1],)

    def get_config(self):
        # no `trainable` (it has no weights): Keras 3's SpatialDropout layers do not take the argument
        config = {**super().get_config(), "rate": self.rate}
        config.pop("trainable", None)
        return config


@register
class SpatialDropout1D(_SpatialDropout):
    """Drop whole channels of a (batch, steps, channels) input: noise shape (batch, 1, channels)."""

    rank = 3


@register
class SpatialDropout2D(_SpatialDropout):
    """Drop whole feature maps of a (batch, rows, cols, channels) input: noise shape (batch, 1, 1, channels)
    (with ``data_format='channels_first'``, of a (batch, channels, rows, cols) input: (batch, channels, 1, 1))."""

    rank = 4

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = data_format_of(self, data_format)

    def _noise_shape(self, x):
        if self.data_format == "channels_first":
            return x.shape[:2] + (1, 1)
        return super()._noise_shape(x)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}
