"""Pooling layers: max/average pooling over windows and global pooling, channels-last (or
``data_format='channels_first'``, run as channels-last between two transposes: see conv.py).

Windowed pooling runs on ``jax.lax.reduce_window``. 'same' padding follows
TensorFlow: pad so that ``out = ceil(n / stride)``, the extra cell at the end;
padded cells never win a max, and an average divides by the number of real
(non-padded) cells in its window.
"""
import jax
import jax.numpy as jnp
import numpy as np

from arena.nn.layers.base import Layer, register
from arena.nn.layers.conv import (_AXES, as_float, check_padding, conv_output_length, data_format_of,
                                  format_shape, from_last, last_shape, rank_hint, to_last)
from arena.nn.layers.core import _int_tuple


class _Pooling(Layer):
    rank = None
    op = None  # "max" or "avg"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.pool_size = _int_tuple(pool_size, self.rank, f"{cls} '{self.name}': pool_size")
        self.strides = (self.pool_size if strides is None
                        else _int_tuple(strides, self.rank, f"{cls} '{self.name}': strides"))
        if min(self.pool_size) < 1 or min(self.strides) < 1:
            raise ValueError(f"{cls} '{self.name}': pool_size and strides must be positive; got "
                             f"pool_size {self.pool_size}, strides {self.strides}")
        self.padding = check_padding(self, padding)
        self.data_format = data_format_of(self, data_format)

    def build(self, input_shape):
        self._expect_rank(input_shape, self.rank + 2, _AXES[self.rank], rank_hint(self.rank, input_shape))
        out = self._last_output_shape(last_shape(input_shape, self.data_format))
        if any(d is not None and d <= 0 for d in out[1:-1]):
            raise ValueError(f"{type(self).__name__} '{self.name}': input shape {input_shape} is smaller than "
                             f"pool_size {self.pool_size} with padding 'valid' (output would be "
                             f"{format_shape(out, self.data_format)})")

    def call(self, params, x, training=False, key=None):
        return from_last(self._pool(as_float(to_last(x, self.data_format))), self.data_format)

    def _pool(self, x):
        window = (1,) + self.pool_size + (1,)
        strides = (1,) + self.strides + (1,)
        padding = self.padding.upper()
        if self.op == "max":
            return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window, strides, padding)
        total = jax.lax.reduce_window(x, 0.0, jax.lax.add, window, strides, padding)
        if self.padding == "valid":
            return total / np.prod(self.pool_size)
        # Count the real cells under each window (a constant: the shape is static).
        ones = np.ones((1,) + x.shape[1:-1] + (1,), np.float32)
        count = jax.lax.reduce_window(jnp.asarray(ones), 0.0, jax.lax.add, window, strides, padding)
        return total / count.astype(x.dtype)

    def compute_output_shape(self, input_shape):
        return format_shape(self._last_output_shape(last_shape(input_shape, self.data_format)), self.data_format)

    def _last_output_shape(self, input_shape):
        spatial = tuple(conv_output_length(n, p, self.padding, s)
                        for n, p, s in zip(input_shape[1:-1], self.pool_size, self.strides))
        return (input_shape[0],) + spatial + (input_shape[-1],)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "padding": self.padding,
                "strides": list(self.strides), "data_format": self.data_format}


@register
class MaxPooling1D(_Pooling):
    """Max over windows of ``pool_size`` steps moved by ``strides`` (default pool_size):
    (batch, steps, c) -> (batch, new_steps, c), ``new_steps`` as Conv1D with that kernel and stride."""

    rank, op = 1, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format="channels_last", **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register
class AveragePooling1D(_Pooling):
    """Mean over windows of ``pool_size`` steps moved by ``strides`` (default pool_size):
    (batch, steps, c) -> (batch, new_steps, c); 'same' windows average only their real cells."""

    rank, op = 1, "avg"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format="channels_last", **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register
class MaxPooling2D(_Pooling):
    """``y[b, i, j, c] = max_{p<ph, q<pw} x[b, i*sh + p - pt, j*sw + q - pl, c]``:
    (batch, h, w, c) -> (batch, new_h, new_w, c) with ``new = floor((n - p) / s) + 1`` ('valid') or
    ``ceil(n / s)`` ('same'); strides default to pool_size."""

    rank, op = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register
class AveragePooling2D(_Pooling):
    """Mean of each ``pool_size`` window moved by ``strides`` (default pool_size):
    (batch, h, w, c) -> (batch, new_h, new_w, c), sizes as MaxPooling2D. With 'same' padding a window
    that overhangs the border averages only its real cells, as Keras/TensorFlow do."""

    rank, op = 2, "avg"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class _GlobalPooling(Layer):
    rank = None
    op = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_of(self, data_format)
        self.keepdims = bool(keepdims)

    def build(self, input_shape):
        self._expect_rank(input_shape, self.rank + 2, _AXES[self.rank], rank_hint(self.rank, input_shape))

    def call(self, params, x, training=False, key=None):
        x = as_float(x)
        first = self.data_format == "channels_first"
        axes = tuple(range(2, 2 + self.rank)) if first else tuple(range(1, 1 + self.rank))
        fn = jnp.max if self.op == "max" else jnp.mean
        return fn(x, axis=axes, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        channels = input_shape[1] if self.data_format == "channels_first" else input_shape[-1]
        if self.keepdims:
            return format_shape((input_shape[0],) + (1,) * self.rank + (channels,), self.data_format)
        return (input_shape[0], channels)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


@register
class GlobalMaxPooling1D(_GlobalPooling):
    """Max over all steps: (batch, steps, c) -> (batch, c) (or (batch, 1, c) with keepdims)."""

    rank, op = 1, "max"

    def __init__(self, data_format="channels_last", keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)


@register
class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over all steps: (batch, steps, c) -> (batch, c) (or (batch, 1, c) with keepdims)."""

    rank, op = 1, "avg"

    def __init__(self, data_format="channels_last", keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)


@register
class GlobalMaxPooling2D(_GlobalPooling):
    """Max over height and width: (batch, h, w, c) -> (batch, c) (or (batch, 1, 1, c) with keepdims)."""

    rank, op = 2, "max"


@register
class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width: (batch, h, w, c) -> (batch, c) (or (batch, 1, 1, c) with keepdims)."""

    rank, op = 2, "avg"


# Keras 2 aliases.
MaxPool1D, MaxPool2D = MaxPooling1D, MaxPooling2D
AvgPool1D, AvgPool2D = AveragePooling1D, AveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
