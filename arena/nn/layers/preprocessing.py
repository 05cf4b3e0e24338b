"""Preprocessing layers with Keras 3 semantics (channels last): Rescaling, Normalization (with ``adapt``),
Resizing, CenterCrop, and the image augmentation layers RandomFlip, RandomTranslation, RandomRotation,
RandomZoom and RandomContrast.

The augmentation layers run inside the compiled training step: in training each draws one transform per
image from the key Arena passes to the layer (``seed``, an int, is folded into it, as in :class:`Dropout`);
in inference they are the identity, as in Keras. Translation, rotation and zoom build one affine map per
image, from output pixel to input pixel as Keras does, and sample the input with
``jax.scipy.ndimage.map_coordinates``. Their fill modes are Keras':

* ``reflect``: ``d c b a | a b c d | d c b a``;
* ``wrap``: ``a b c d | a b c d | a b c d``;
* ``nearest``: ``a a a a | a b c d | d d d d``;
* ``constant``: ``k k k k | a b c d | k k k k`` with ``k = fill_value``.

Image layers take (batch, height, width, channels) input and give float outputs (integer images, e.g.
uint8, are converted to float32; Keras gives Resizing and CenterCrop outputs the input's dtype back).
"""
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.ndimage import map_coordinates

from arena import checks
from arena.nn.layers.base import Layer, register
from arena.nn.layers.conv import as_float, check_data_format

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_ORDERS = {"nearest": 0, "bilinear": 1}  # interpolation -> map_coordinates order
_RESIZE_METHODS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")
_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")
_EPSILON = 1e-7  # Keras' backend epsilon: the smallest standard deviation Normalization divides by
_IMAGE_AXES = "(batch, height, width, channels)"


def _who(layer):
    return f"{type(layer).__name__} '{layer.name}'"


def _choice(value, what, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return value


def _flag(value, what):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{what} must be True or False; got {value!r}")
    return bool(value)


def _factor(value, what, minimum, maximum, *, min_open=False, symmetric=True):
    """Keras' factor argument: ``(value for the config, (lower, upper))``. A pair is sorted; one number
    ``f`` gives ``(-|f|, |f|)``, or ``(f, f)`` when not ``symmetric``. Every number between the bounds."""
    pair = isinstance(value, (list, tuple))
    try:
        if pair and len(value) != 2:
            raise ValueError
        numbers = [checks.number(v, what, minimum, maximum, min_open=min_open) for v in (value if pair else [value])]
    except ValueError:
        low = "(" if min_open else "["
        raise ValueError(f"{what} must be a number in {low}{minimum:g}, {maximum:g}] or a pair (lower, upper) of "
                         f"them; got {value!r}") from None
    if pair:
        return numbers, tuple(sorted(numbers))
    f = numbers[0]
    return f, ((-abs(f), abs(f)) if symmetric else (f, f))


def _crop_to_aspect_ratio(x, height, width):
    """The largest centred window of ``x`` with the aspect ratio ``height / width`` (Keras' arithmetic)."""
    h, w = x.shape[1:3]
    crop_h = max(min(h, int(w * height / width)), 1)
    crop_w = max(min(w, int(h * width / height)), 1)
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    return x[:, top:top + crop_h, left:left + crop_w]


def _pad_to_aspect_ratio(x, height, width, fill_value):
    """``x`` padded evenly on both sides to the aspect ratio ``height / width`` (Keras' arithmetic)."""
    h, w = x.shape[1:3]
    top = (max(h, int(w * height / width)) - h) // 2
    left = (max(w, int(h * width / height)) - w) // 2
    return jnp.pad(x, ((0, 0), (top, top), (left, left), (0, 0)), constant_values=fill_value)


def _resize(x, height, width, method, antialias=False):
    return jax.image.resize(x, (x.shape[0], height, width, x.shape[3]), method=method, antialias=antialias)


def _affine(images, transforms, interpolation, fill_mode, fill_value):
    """Output pixel (y, x) of image i samples image i at ``(a0 x + a1 y + a2, b0 x + b1 y + b2)``, where
    ``transforms[i] = (a0, a1, a2, b0, b1, b2)``: Keras' layout of a transform, output to input."""
    _, h, w, _ = images.shape
    y, x = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32), jnp.arange(w, dtype=jnp.float32), indexing="ij")

    def one(image, t):
        coords = [t[3] * x + t[4] * y + t[5], t[0] * x + t[1] * y + t[2]]

        def sample(channel):
            return map_coordinates(channel, coords, _ORDERS[interpolation], mode=fill_mode, cval=fill_value)
        return jax.vmap(sample, in_axes=2, out_axes=2)(image)
    return jax.vmap(one)(images, transforms.astype(jnp.float32)).astype(images.dtype)


class _ImageLayer(Layer):
    """A layer on (batch, height, width, channels) images; ``data_format`` only as Keras configs spell it."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        check_data_format(self, data_format)

    def build(self, input_shape):
        self._expect_rank(input_shape, 4, _IMAGE_AXES)

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last"}


# ---- always active ------------------------------------------------------------------------------------------
@register
class Rescaling(Layer):
    """``x * scale + offset`` in training and inference, e.g. ``Rescaling(1 / 255)`` for [0, 1] pixels or
    ``Rescaling(1 / 127.5, offset=-1)`` for [-1, 1]. Any input shape; float output."""

    supports_masking = True

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = checks.number(scale, f"{_who(self)}: scale")
        self.offset = checks.number(offset, f"{_who(self)}: offset")

    def call(self, params, x, training=False, key=None):
        return as_float(x) * self.scale + self.offset

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


@register
class Resizing(_ImageLayer):
    """Resize images to ``(height, width)`` with ``jax.image.resize`` (half-pixel centres, as Keras), in
    training and inference. ``crop_to_aspect_ratio``: first crop the largest centred window with the target
    aspect ratio, so nothing is distorted; ``pad_to_aspect_ratio``: first pad evenly with ``fill_value``
    instead (``fill_mode`` is 'constant', the only one Keras has). ``antialias``: low-pass filter when
    downsampling. (batch, h, w, channels) -> (batch, height, width, channels)."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, antialias=False, data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        who = _who(self)
        self.height = checks.integer(height, f"{who}: height", 1)
        self.width = checks.integer(width, f"{who}: width", 1)
        self.interpolation = _choice(interpolation, f"{who}: interpolation", _RESIZE_METHODS)
        self.crop_to_aspect_ratio = _flag(crop_to_aspect_ratio, f"{who}: crop_to_aspect_ratio")
        self.pad_to_aspect_ratio = _flag(pad_to_aspect_ratio, f"{who}: pad_to_aspect_ratio")
        if self.crop_to_aspect_ratio and self.pad_to_aspect_ratio:
            raise ValueError(f"{who}: crop_to_aspect_ratio and pad_to_aspect_ratio cannot both be True")
        self.fill_mode = _choice(fill_mode, f"{who}: fill_mode", ("constant",))
        self.fill_value = checks.number(fill_value, f"{who}: fill_value")
        self.antialias = _flag(antialias, f"{who}: antialias")

    def call(self, params, x, training=False, key=None):
        x = as_float(x)
        if self.crop_to_aspect_ratio:
            x = _crop_to_aspect_ratio(x, self.height, self.width)
        elif self.pad_to_aspect_ratio:
            x = _pad_to_aspect_ratio(x, self.height, self.width, self.fill_value)
        return _resize(x, self.height, self.width, self.interpolation, self.antialias)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


@register
class CenterCrop(_ImageLayer):
    """The centred ``(height, width)`` window of each image, in training and inference (the extra row or
    column of an odd difference is cut at the bottom / right). An image smaller than the target on either
    side is, as in Keras 3, cropped to the target aspect ratio and resized to it (bilinear) instead.
    (batch, h, w, channels) -> (batch, height, width, channels)."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height = checks.integer(height, f"{_who(self)}: height", 1)
        self.width = checks.integer(width, f"{_who(self)}: width", 1)

    def call(self, params, x, training=False, key=None):
        x = as_float(x)
        h, w = x.shape[1:3]
        if h >= self.height and w >= self.width:
            top, left = (h - self.height) // 2, (w - self.width) // 2
            return x[:, top:top + self.height, left:left + self.width]
        return _resize(_crop_to_aspect_ratio(x, self.height, self.width), self.height, self.width, "bilinear")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


@register
class Normalization(Layer):
    """``(x - mean) / max(sqrt(variance), 1e-7)`` with one mean and variance per index of the ``axis``
    axes (an int, a tuple, or None for one scalar of each); ``invert=True`` maps back:
    ``mean + x * max(sqrt(variance), 1e-7)``. Any input shape.

    The statistics are either given (``mean`` and ``variance``: numbers or arrays broadcast to the kept
    axes; they live in the config) or computed by :meth:`adapt` (then they are the non-trainable weights
    ``mean``, ``variance`` and ``count``, saved with the model, as in Keras)."""

    supports_masking = True

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        who = _who(self)
        axes = () if axis is None else axis if isinstance(axis, (list, tuple)) else (axis,)
        self.axis = tuple(checks.integer(a, f"{who}: axis", expected="an int, a tuple of ints or None")
                          for a in axes)
        if (mean is None) != (variance is None):
            raise ValueError(f"{who}: give mean and variance together, or neither (then call adapt(data)); got "
                             f"mean={mean!r}, variance={variance!r}")
        if mean is not None:
            mean, variance = np.asarray(mean, np.float64), np.asarray(variance, np.float64)
            if mean.shape != variance.shape or mean.ndim > len(self.axis):
                raise ValueError(f"{who}: mean and variance must have the same shape, of at most one dimension per "
                                 f"axis in axis={self.axis}; got shapes {mean.shape} and {variance.shape}")
            if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(variance)) and np.all(variance >= 0)):
                raise ValueError(f"{who}: mean must be finite and variance finite and >= 0")
            mean, variance = mean.tolist(), variance.tolist()
        self.input_mean, self.input_variance = mean, variance
        self.invert = _flag(invert, f"{who}: invert")

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(f"{_who(self)}: axis {self.axis} out of range for input of rank {ndim} (shape "
                             f"{input_shape})")
        self._keep = tuple(sorted(a % ndim for a in self.axis))
        if any(input_shape[d] is None for d in self._keep):
            raise ValueError(f"{_who(self)}: the axis {self.axis} kept with their own statistics must have known "
                             f"sizes; got input shape {input_shape} (axis=None keeps one mean and variance)")
        self._broadcast = tuple(input_shape[d] if d in self._keep else 1 for d in range(ndim))
        shape = tuple(input_shape[d] for d in self._keep)
        if self.input_mean is None:
            self.add_weight("mean", shape, "zeros", trainable=False)
            self.add_weight("variance", shape, "ones", trainable=False)
            self.add_weight("count", (), "zeros", trainable=False, dtype="int32")  # samples adapted on, as in Keras files
            return
        try:  # Keras aligns the given statistics with the kept axes from the right: numpy's broadcasting
            self._given = tuple(np.broadcast_to(np.asarray(v, np.float32), shape).reshape(self._broadcast)
                                for v in (self.input_mean, self.input_variance))
        except ValueError:
            raise ValueError(f"{_who(self)}: mean and variance of shape {np.shape(self.input_mean)} do not "
                             f"broadcast to the kept axes' shape {shape} (input shape {input_shape})") from None

    def apply(self, params, state, x, *, training=False, key=None, mask=None):
        x = as_float(x)
        if self.input_mean is None:
            mean, variance = state["mean"].reshape(self._broadcast), state["variance"].reshape(self._broadcast)
        else:
            mean, variance = self._given
        std = jnp.maximum(jnp.sqrt(variance), _EPSILON)
        y = mean + x * std if self.invert else (x - mean) / std
        return y.astype(x.dtype), state

    def adapt(self, data):
        """Set the weights ``mean`` and ``variance`` to the per-feature mean and (biased) variance of
        ``data`` over every axis not in ``axis``. ``data``: an array of samples, or an iterable of
        batches (arrays, or ``(x, y)`` tuples whose ``x`` is used), combined exactly as one array."""
        who = _who(self)
        if self.input_mean is not None:
            raise ValueError(f"{who} was given mean and variance; adapt() is for a layer built without them")
        batches = [data] if hasattr(data, "shape") else data
        total_mean = total_var = None
        total = 0
        for batch in batches:
            batch = np.asarray(batch[0] if isinstance(batch, tuple) else batch, np.float64)
            self._ensure_built((None,) + batch.shape[1:])
            reduce = tuple(d for d in range(batch.ndim) if d not in self._keep)
            n = int(np.prod([batch.shape[d] for d in reduce]))
            mean, var = batch.mean(axis=reduce), batch.var(axis=reduce)
            if total_mean is None:
                total_mean, total_var = mean, var
            else:  # pooled mean and variance of everything so far and this batch
                w = n / (total + n)
                new_mean = total_mean * (1 - w) + mean * w
                total_var = (total_var + (total_mean - new_mean) ** 2) * (1 - w) + (var + (mean - new_mean) ** 2) * w
                total_mean = new_mean
            total += n
        if total_mean is None:
            raise ValueError(f"{who}.adapt: got no data (an empty iterable)")
        self.state = {"mean": jnp.asarray(total_mean, jnp.float32), "variance": jnp.asarray(total_var, jnp.float32),
                      "count": jnp.asarray(total, jnp.int32)}

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": list(self.axis), "mean": self.input_mean,
                "variance": self.input_variance, "invert": self.invert}


# ---- random augmentation: active in training only ---------------------------------------------------------
class _RandomImageLayer(_ImageLayer):
    """Shared parts of the augmentation layers: the seed, the key, identity in inference."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.seed = checks.optional_seed(seed, f"{_who(self)}: seed")

    def call(self, params, x, training=False, key=None):
        x = as_float(x)
        if not training:
            return x
        if key is None:
            raise ValueError(f"{_who(self)} needs a random key in training mode (call it with "
                             f"key=jax.random.PRNGKey(...), or train it inside a model)")
        return self._augment(x, key if self.seed is None else jax.random.fold_in(key, self.seed))

    def _augment(self, x, key):
        """``x`` (float images) transformed with randomness from ``key``."""
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@register
class RandomFlip(_RandomImageLayer):
    """In training, flip each image left-right (``mode='horizontal'``), upside down (``'vertical'``) or
    both, each with probability 1/2; identity in inference. ``'horizontal_and_vertical'`` draws the two
    flips independently, so each of the four flips has probability 1/4 (as Keras 2 and ``tf.image``;
    current Keras 3 draws once for both, giving only the identity and the 180-degree rotation)."""

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = _choice(mode, f"{_who(self)}: mode", _FLIP_MODES)

    def _augment(self, x, key):
        shape = (x.shape[0], 1, 1, 1)
        for axis, name, k in zip((2, 1), ("horizontal", "vertical"), jax.random.split(key)):
            if name in self.mode:
                x = jnp.where(jax.random.bernoulli(k, 0.5, shape), jnp.flip(x, axis), x)
        return x

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class _AffineLayer(_RandomImageLayer):
    """A random affine map per image, sampled with ``map_coordinates``; subclasses give the maps."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        who = _who(self)
        self.fill_mode = _choice(fill_mode, f"{who}: fill_mode", _FILL_MODES)
        self.interpolation = _choice(interpolation, f"{who}: interpolation", tuple(_ORDERS))
        self.fill_value = checks.number(fill_value, f"{who}: fill_value")

    def _augment(self, x, key):
        return _affine(x, self._transforms(x.shape, key), self.interpolation, self.fill_mode, self.fill_value)

    def _transforms(self, shape, key):
        """``(batch, 6)``: one output-to-input map ``(a0, a1, a2, b0, b1, b2)`` per image (see :func:`_affine`)."""
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "fill_value": self.fill_value}


def _uniform(key, n, bounds):
    return jax.random.uniform(key, (n,), minval=bounds[0], maxval=bounds[1])


@register
class RandomTranslation(_AffineLayer):
    """In training, shift each image by a random fraction of its size: down by ``height * dy`` and right by
    ``width * dx`` pixels, ``dy`` uniform in ``height_factor`` and ``dx`` in ``width_factor`` (each a
    number ``f`` for ``[-f, f]``, or a pair ``(lower, upper)``, within [-1, 1]; negative shifts go up /
    left); the uncovered area is filled by ``fill_mode``. Identity in inference."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        who = _who(self)
        self.height_factor, self._dy = _factor(height_factor, f"{who}: height_factor", -1, 1)
        self.width_factor, self._dx = _factor(width_factor, f"{who}: width_factor", -1, 1)

    def _transforms(self, shape, key):
        n, h, w = shape[:3]
        kh, kw = jax.random.split(key)
        dy, dx = _uniform(kh, n, self._dy) * h, _uniform(kw, n, self._dx) * w
        one, zero = jnp.ones(n), jnp.zeros(n)
        return jnp.stack([one, zero, -dx, zero, one, -dy], axis=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


@register
class RandomRotation(_AffineLayer):
    """In training, rotate each image about its centre by a random angle, ``factor`` in fractions of a full
    turn (a number ``f`` for ``[-f, f]``, or a pair ``(lower, upper)``, within [-1, 1]); positive angles turn
    counter-clockwise (``factor=(0.25, 0.25)`` is ``np.rot90``). Corners are filled by ``fill_mode``.
    Identity in inference."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor, self._turns = _factor(factor, f"{_who(self)}: factor", -1, 1)

    def _transforms(self, shape, key):
        n, h, w = shape[:3]
        angle = _uniform(key, n, self._turns) * 2 * jnp.pi
        cos, sin = jnp.cos(angle), jnp.sin(angle)
        cx, cy = (w - 1) / 2, (h - 1) / 2
        return jnp.stack([cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos], axis=1)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@register
class RandomZoom(_AffineLayer):
    """In training, zoom each image about its centre: the output shows ``1 + z`` times the image's height
    (and width), ``z`` uniform in ``height_factor`` (a number ``f`` for ``[-f, f]``, or a pair
    ``(lower, upper)``, within (-1, 1]); negative ``z`` zooms in, positive zooms out and fills the border by
    ``fill_mode``. ``width_factor`` draws the width's zoom separately; None (default) keeps the aspect
    ratio. Identity in inference."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        who = _who(self)
        self.height_factor, self._zy = _factor(height_factor, f"{who}: height_factor", -1, 1, min_open=True)
        self.width_factor, self._zx = (None, None) if width_factor is None else _factor(
            width_factor, f"{who}: width_factor", -1, 1, min_open=True)

    def _transforms(self, shape, key):
        n, h, w = shape[:3]
        kh, kw = jax.random.split(key)
        zy = 1 + _uniform(kh, n, self._zy)
        zx = zy if self._zx is None else 1 + _uniform(kw, n, self._zx)
        zero = jnp.zeros(n)
        return jnp.stack([zx, zero, (w - 1) / 2 * (1 - zx), zero, zy, (h - 1) / 2 * (1 - zy)], axis=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


@register
class RandomContrast(_RandomImageLayer):
    """In training, scale each image's deviation from its per-channel mean: ``(x - mean) * c + mean``,
    one ``c`` per image uniform in ``[1 - lower, 1 + upper]`` (``factor``: a number ``f`` for
    ``lower = upper = f``, or a pair, within [0, 1]), then clip to ``value_range`` as Keras 3 does (so give
    ``value_range=(0, 1)`` for [0, 1] images). Identity in inference."""

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        who = _who(self)
        self.factor, self._bounds = _factor(factor, f"{who}: factor", 0, 1, symmetric=False)
        bad = ValueError(f"{who}: value_range must be a pair (low, high) of numbers with low < high; got "
                         f"{value_range!r}")
        if not isinstance(value_range, (list, tuple)) or len(value_range) != 2:
            raise bad
        self.value_range = [checks.number(v, f"{who}: value_range") for v in value_range]
        if self.value_range[0] >= self.value_range[1]:
            raise bad

    def _augment(self, x, key):
        lower, upper = self._bounds
        c = jax.random.uniform(key, (x.shape[0], 1, 1, 1), minval=1 - lower, maxval=1 + upper)
        mean = jnp.mean(x, axis=(1, 2), keepdims=True)
        return jnp.clip((x - mean) * c + mean, *self.value_range).astype(x.dtype)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}
