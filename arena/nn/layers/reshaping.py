"""Spatial reshaping layers: zero padding, up-sampling, cropping; channels-last (the 2-D ones also
``data_format='channels_first'``, run as channels-last between two transposes: see conv.py)."""
import jax
import jax.numpy as jnp

from arena.nn.layers.base import Layer, register
from arena.nn.layers.conv import _AXES, as_float, data_format_of, format_shape, from_last, last_shape, rank_hint, to_last
from arena.nn.layers.core import _int_tuple


def _pairs(layer, value, rank, what):
    """Normalise Keras' padding/cropping spellings to ``rank`` (before, after) pairs of ints:
    an int (same everywhere), one int per axis (symmetric), or one pair per axis."""
    def bad():
        example = "1, (1, 2)" if rank == 1 else "1, (1, 2) or ((1, 1), (2, 2))"
        return ValueError(f"{type(layer).__name__} '{layer.name}': {what} must be one of {example} "
                          f"(non-negative ints); got {value!r}")
    if isinstance(value, int):
        pairs = ((value, value),) * rank
    else:
        try:
            value = tuple(value)
        except TypeError:
            raise bad() from None
        if rank == 1 and len(value) == 2 and all(isinstance(v, int) for v in value):
            pairs = (value,)
        elif len(value) == rank and all(isinstance(v, int) for v in value):
            pairs = tuple((v, v) for v in value)
        elif len(value) == rank and all(not isinstance(v, int) and len(tuple(v)) == 2 for v in value):
            pairs = tuple(tuple(v) for v in value)
        else:
            raise bad()
    if not all(isinstance(a, int) and a >= 0 for p in pairs for a in p):
        raise bad()
    return tuple((int(a), int(b)) for a, b in pairs)


class _Spatial(Layer):
    rank = None

    def build(self, input_shape):
        self._expect_rank(input_shape, self.rank + 2, _AXES[self.rank], rank_hint(self.rank, input_shape))


@register
class ZeroPadding1D(_Spatial):
    """Pad the steps axis with zeros: (batch, steps, c) -> (batch, left + steps + right, c).
    ``padding``: int (both sides) or (left, right)."""

    rank = 1

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs(self, padding, 1, "padding")[0]

    def call(self, params, x, training=False, key=None):
        return jnp.pad(x, ((0, 0), self.padding, (0, 0)))

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n + sum(self.padding), input_shape[2])

    def get_config(self):
        return {**super().get_config(), "padding": list(self.padding)}


@register
class ZeroPadding2D(_Spatial):
    """Pad height and width with zeros: (batch, h, w, c) -> (batch, top + h + bottom, left + w + right, c).
    ``padding``: int, (h, w) (symmetric per axis) or ((top, bottom), (left, right))."""

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_of(self, data_format)
        self.padding = _pairs(self, padding, 2, "padding")

    def call(self, params, x, training=False, key=None):
        x = to_last(x, self.data_format)
        return from_last(jnp.pad(x, ((0, 0),) + self.padding + ((0, 0),)), self.data_format)

    def compute_output_shape(self, input_shape):
        input_shape = last_shape(input_shape, self.data_format)
        spatial = tuple(None if n is None else n + a + b for n, (a, b) in zip(input_shape[1:3], self.padding))
        return format_shape((input_shape[0],) + spatial + (input_shape[3],), self.data_format)

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding],
                "data_format": self.data_format}


@register
class Cropping1D(_Spatial):
    """Remove steps from both ends: (batch, steps, c) -> (batch, steps - left - right, c).
    ``cropping``: int (both ends) or (left, right)."""

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs(self, cropping, 1, "cropping")[0]

    def build(self, input_shape):
        super().build(input_shape)
        if input_shape[1] is not None and input_shape[1] - sum(self.cropping) <= 0:
            raise ValueError(f"Cropping1D '{self.name}': cropping {self.cropping} removes all "
                             f"{input_shape[1]} steps of input shape {input_shape}")

    def call(self, params, x, training=False, key=None):
        a, b = self.cropping
        return x[:, a:x.shape[1] - b, :]

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n - sum(self.cropping), input_shape[2])

    def get_config(self):
        return {**super().get_config(), "cropping": list(self.cropping)}


@register
class Cropping2D(_Spatial):
    """Remove rows/columns at the borders: (batch, h, w, c) -> (batch, h - top - bottom, w - left - right, c).
    ``cropping``: int, (h, w) (symmetric per axis) or ((top, bottom), (left, right))."""

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_of(self, data_format)
        self.cropping = _pairs(self, cropping, 2, "cropping")

    def build(self, input_shape):
        super().build(input_shape)
        for n, (a, b) in zip(last_shape(input_shape, self.data_format)[1:3], self.cropping):
            if n is not None and n - a - b <= 0:
                raise ValueError(f"Cropping2D '{self.name}': cropping {self.cropping} removes the whole "
                                 f"input of shape {input_shape}")

    def call(self, params, x, training=False, key=None):
        (t, b), (l, r) = self.cropping
        x = to_last(x, self.data_format)
        return from_last(x[:, t:x.shape[1] - b, l:x.shape[2] - r, :], self.data_format)

    def compute_output_shape(self, input_shape):
        input_shape = last_shape(input_shape, self.data_format)
        spatial = tuple(None if n is None else n - a - b for n, (a, b) in zip(input_shape[1:3], self.cropping))
        return format_shape((input_shape[0],) + spatial + (input_shape[3],), self.data_format)

    def get_config(self):
        return {**super().get_config(), "cropping": [list(p) for p in self.cropping],
                "data_format": self.data_format}


@register
class UpSampling1D(_Spatial):
    """Repeat each step ``size`` times: (batch, steps, c) -> (batch, steps * size, c)."""

    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"UpSampling1D '{self.name}': size must be a positive int; got {size!r}")
        self.size = size

    def call(self, params, x, training=False, key=None):
        return jnp.repeat(x, self.size, axis=1)

    def compute_output_shape(self, input_shape):
        n = input_shape[1]
        return (input_shape[0], None if n is None else n * self.size, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@register
class UpSampling2D(_Spatial):
    """Enlarge height and width by ``size`` = (sh, sw): (batch, h, w, c) -> (batch, h*sh, w*sw, c).

    'nearest': ``y[b, i, j, c] = x[b, i // sh, j // sw, c]``. 'bilinear': linear interpolation with
    half-pixel centres (TensorFlow 2's ``tf.image.resize``), sampling x at ``(i + 0.5) / sh - 0.5``.
    """

    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_of(self, data_format)
        self.size = _int_tuple(size, 2, f"UpSampling2D '{self.name}': size")
        if min(self.size) < 1:
            raise ValueError(f"UpSampling2D '{self.name}': size must be positive; got {self.size}")
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"UpSampling2D '{self.name}': interpolation must be 'nearest' or 'bilinear'; "
                             f"got {interpolation!r}")
        self.interpolation = interpolation

    def call(self, params, x, training=False, key=None):
        x = to_last(x, self.data_format)
        if self.interpolation == "nearest":
            y = jnp.repeat(jnp.repeat(x, self.size[0], axis=1), self.size[1], axis=2)
        else:
            b, h, w, c = x.shape
            y = jax.image.resize(as_float(x), (b, h * self.size[0], w * self.size[1], c), method="bilinear",
                                 antialias=False)
        return from_last(y, self.data_format)

    def compute_output_shape(self, input_shape):
        input_shape = last_shape(input_shape, self.data_format)
        spatial = tuple(None if n is None else n * s for n, s in zip(input_shape[1:3], self.size))
        return format_shape((input_shape[0],) + spatial + (input_shape[3],), self.data_format)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format,
                "interpolation": self.interpolation}
