"""Image preprocessing and real-time augmentation with Keras 2 semantics (``keras.preprocessing.image``).

Same argument names, defaults and transforms as Keras-Preprocessing 1.1.2: ``ImageDataGenerator``
(``fit``, ``standardize``, ``get_random_transform`` / ``apply_transform`` / ``random_transform``,
``flow``, ``flow_from_directory``), its iterators, and ``load_img`` / ``img_to_array`` /
``array_to_img`` / ``save_img``. Pixels move with ``scipy.ndimage.affine_transform`` (one matrix per
image: rotation, shift, shear, zoom about the centre, as Keras composes them); files are read and
written with Pillow.

Differences from Keras:

* Images are channels last, ``(height, width, channels)``; ``data_format='channels_first'`` is refused.
* Randomness never touches numpy's global generator: the iterators' batches depend only on
  ``(seed, epoch, batch index)`` (see :class:`Iterator`); an unseeded call draws its seed from
  numpy's global generator, so ``arena.set_seed`` makes it reproducible too.
* ``standardize`` returns a new array (Keras changes its argument in place), and using feature-wise
  statistics before ``fit`` is an error rather than a warning.
* Files are written atomically; ``flow_from_directory`` does not follow symbolic links unless asked,
  and never to outside the directory; images larger than Pillow's decompression-bomb limit
  (``PIL.Image.MAX_IMAGE_PIXELS``) are refused with an error naming the file.
"""
import contextlib
import math
import numbers
import os
import threading
import uuid
import warnings

import numpy as np
from PIL import Image, ImageEnhance, UnidentifiedImageError
from scipy import linalg, ndimage

from arena import checks
from arena.utils import Sequence

__all__ = ["ImageDataGenerator", "Iterator", "NumpyArrayIterator", "DirectoryIterator", "load_img",
           "img_to_array", "array_to_img", "save_img", "apply_affine_transform", "apply_channel_shift",
           "apply_brightness_shift"]

_IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")
_FILL_MODES = ("constant", "nearest", "reflect", "wrap")
_COLOR_MODES = {"grayscale": ("L", 1), "rgb": ("RGB", 3), "rgba": ("RGBA", 4)}
_CLASS_MODES = ("categorical", "binary", "sparse", "input", None)
_INTERPOLATIONS = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
                   "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS,
                   "box": Image.Resampling.BOX, "hamming": Image.Resampling.HAMMING}
# catch_warnings changes process-wide state: one image header is checked at a time.
_BOMB_CHECK = threading.Lock()


# ---- files <-> arrays ----------------------------------------------------------------------------
def _check_data_format(data_format, what):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{what}: data_format must be 'channels_last' (or None); got {data_format!r}. Arena's "
                         "image preprocessing works on (height, width, channels) images only")


def _name(path):
    return os.fspath(path) if isinstance(path, (str, os.PathLike)) else repr(path)


def _open_image(path, what):
    """The decoded Pillow image at ``path`` (a path or a binary file object); errors name the file."""
    name = _name(path)
    with contextlib.ExitStack() as stack:
        f = stack.enter_context(open(path, "rb")) if isinstance(path, (str, os.PathLike)) else path
        try:
            with _BOMB_CHECK, warnings.catch_warnings():
                # Pillow only warns between MAX_IMAGE_PIXELS and twice that; a file must not get that far.
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(f)
            img.load()
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
            raise ValueError(f"{what}: '{name}' is too large to load ({e})") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            raise ValueError(f"{what}: '{name}' is not a readable image file ({e})") from None
    return img


def load_img(path, grayscale=False, color_mode="rgb", target_size=None, interpolation="nearest"):
    """Load an image file as a Pillow image in ``color_mode`` ('grayscale', 'rgb' or 'rgba'), resized to
    ``target_size=(height, width)`` with ``interpolation`` ('nearest', 'bilinear', 'bicubic', 'lanczos',
    'box', 'hamming') if given. ``grayscale=True`` is Keras' deprecated spelling of 'grayscale'."""
    if grayscale is True:
        warnings.warn("load_img: grayscale is deprecated; use color_mode='grayscale'", DeprecationWarning,
                      stacklevel=2)
        color_mode = "grayscale"
    if color_mode not in _COLOR_MODES:
        raise ValueError(f"load_img: color_mode must be 'grayscale', 'rgb' or 'rgba'; got {color_mode!r}")
    if target_size is not None:
        target_size = _size_pair(target_size, "load_img: target_size")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"load_img: interpolation must be one of {', '.join(_INTERPOLATIONS)}; "
                         f"got {interpolation!r}")
    if isinstance(path, (str, os.PathLike)) and not os.path.isfile(path):
        raise FileNotFoundError(f"load_img: no image file at '{os.fspath(path)}'")
    img = _open_image(path, "load_img")
    mode = _COLOR_MODES[color_mode][0]
    if img.mode != mode:
        img = img.convert(mode)
    if target_size is not None and img.size != (target_size[1], target_size[0]):
        img = img.resize((target_size[1], target_size[0]), _INTERPOLATIONS[interpolation])
    return img


def img_to_array(img, data_format=None, dtype="float32"):
    """A Pillow image as an array of shape ``(height, width, channels)`` (grayscale: one channel)."""
    _check_data_format(data_format, "img_to_array")
    x = np.asarray(img, dtype=dtype)
    if x.ndim == 2:
        return x[:, :, np.newaxis]
    if x.ndim != 3:
        raise ValueError(f"img_to_array: unsupported image shape {x.shape}")
    return x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A ``(height, width, 1, 3 or 4)`` array as a Pillow image ('L', 'RGB' or 'RGBA').

    ``scale``: shift the values to start at 0 (if any are negative) and stretch the largest to 255, as
    Keras does; otherwise the values are cast to uint8 as they are."""
    _check_data_format(data_format, "array_to_img")
    x = np.asarray(x, dtype=dtype or "float32")
    if x.ndim != 3:
        raise ValueError(f"array_to_img: expected one image of rank 3 (height, width, channels); got shape {x.shape}")
    if x.shape[2] not in (1, 3, 4):
        raise ValueError(f"array_to_img: expected 1, 3 or 4 channels (last axis); got shape {x.shape}")
    if scale:
        x = x + max(-np.min(x), 0)
        x_max = np.max(x)
        if x_max != 0:
            x = x / x_max
        x = x * 255
    x = x.astype("uint8")
    if x.shape[2] == 1:
        return Image.fromarray(x[:, :, 0], "L")
    return Image.fromarray(x, "RGBA" if x.shape[2] == 4 else "RGB")


def _pil_format(fmt, what):
    """Pillow's format name ('PNG', 'JPEG') for an extension or format name such as 'png' or 'jpg'."""
    name = Image.registered_extensions().get("." + str(fmt).lower().lstrip("."))
    if name is None or name not in Image.SAVE:
        raise ValueError(f"{what}: unknown image format {fmt!r}; use e.g. 'png' or 'jpeg'")
    return name


def _save(img, path, fmt, **kwargs):
    """Write ``img`` to ``path`` all-or-nothing: a temporary file in the same folder, then a rename."""
    if fmt == "JPEG" and img.mode == "RGBA":
        warnings.warn("The JPEG format does not support RGBA images; converting to RGB", UserWarning, stacklevel=3)
        img = img.convert("RGB")
    if not isinstance(path, (str, os.PathLike)):  # a file object: the caller owns it
        img.save(path, format=fmt, **kwargs)
        return
    path = os.fspath(path)
    # The arena.io temporary-file name, so arena.io.sweep_stale_temps removes one a killed writer left.
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)),
                       f".{os.path.basename(path)}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "xb") as f:
            img.save(f, format=fmt, **kwargs)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Save a ``(height, width, channels)`` array as an image file (see :func:`array_to_img` for
    ``scale``). ``file_format`` ('png', 'jpeg', ...) defaults to the one ``path``'s extension names;
    ``kwargs`` go to Pillow's ``Image.save``. The file is written atomically."""
    if file_format is None:
        if not isinstance(path, (str, os.PathLike)):
            raise ValueError("save_img: give file_format when path is a file object")
        ext = os.path.splitext(os.fspath(path))[1]
        if not ext:
            raise ValueError(f"save_img: '{_name(path)}' has no extension to tell the image format; "
                             "add one (.png, .jpg) or give file_format")
        fmt = _pil_format(ext, f"save_img: '{_name(path)}'")
    else:
        fmt = _pil_format(file_format, "save_img: file_format")
    _save(array_to_img(x, data_format=data_format, scale=scale), path, fmt, **kwargs)


# ---- transforms of one (height, width, channels) image ----------------------------------------------
def apply_affine_transform(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, fill_mode="nearest", cval=0.0, order=1):
    """Rotate by ``theta`` degrees, shift by ``tx`` rows and ``ty`` columns, shear by ``shear`` degrees and
    zoom by ``zx`` (rows) and ``zy`` (columns), about the image centre, as one affine map of the
    ``(height, width, channels)`` image ``x`` (Keras' ``apply_affine_transform``; output pixel ``p`` takes
    the input at ``M p``, interpolated with spline ``order``; outside points follow ``fill_mode``/``cval``).
    """
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"apply_affine_transform: expected one image of rank 3 (height, width, channels); "
                         f"got shape {x.shape}")
    if theta == 0 and tx == 0 and ty == 0 and shear == 0 and zx == 1 and zy == 1:
        return x
    matrix = np.eye(3)
    if theta != 0:
        t = np.deg2rad(theta)
        matrix = matrix @ np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    if tx != 0 or ty != 0:
        matrix = matrix @ np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    if shear != 0:
        s = np.deg2rad(shear)
        matrix = matrix @ np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]])
    if zx != 1 or zy != 1:
        matrix = matrix @ np.diag([zx, zy, 1.0])
    h, w = x.shape[0], x.shape[1]
    o_r, o_c = h / 2 - 0.5, w / 2 - 0.5  # the centre, where the map is anchored
    matrix = np.array([[1, 0, o_r], [0, 1, o_c], [0, 0, 1]]) @ matrix @ np.array([[1, 0, -o_r], [0, 1, -o_c], [0, 0, 1]])
    channels = [ndimage.affine_transform(x[:, :, c], matrix[:2, :2], matrix[:2, 2], order=order, mode=fill_mode,
                                         cval=cval) for c in range(x.shape[2])]
    return np.stack(channels, axis=2)


def apply_channel_shift(x, intensity):
    """Add ``intensity`` to every channel, clipped to the image's own minimum and maximum (Keras' rule)."""
    x = np.asarray(x)
    return np.clip(x + intensity, np.min(x), np.max(x))


def apply_brightness_shift(x, brightness):
    """Pillow's ``ImageEnhance.Brightness(brightness)`` of ``x``, which Keras first scales to 0..255
    (:func:`array_to_img` with ``scale=True``); the result stays in 0..255, as in Keras."""
    return img_to_array(ImageEnhance.Brightness(array_to_img(x, scale=True)).enhance(brightness))


# ---- argument checks ----------------------------------------------------------------------------------
def _size_pair(value, what):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"{what} must be a pair of positive integers (height, width); got {value!r}")
    return tuple(checks.integer(v, what, 1, expected="a pair of positive integers (height, width)") for v in value)


def _shift_range(value, what):
    """A shift range as Keras takes it: a float (a fraction of the size if < 1, else pixels), an int ``n``
    (whole pixels in ``(-n, n)``) or a 1-D sequence of shifts (a random element, with a random sign)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return checks.integer(value, what, 0)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return checks.number(value, what, 0)
    arr = np.asarray(value) if not isinstance(value, (str, bytes)) else None
    if arr is None or arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iuf" or not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be a number >= 0 or a 1-D sequence of numbers; got {value!r}")
    return tuple(arr.tolist())


def _number_pair(value, what, minimum=None):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"{what} must be a pair of numbers [lower, upper]; got {value!r}")
    return [checks.number(v, what, minimum) for v in value]


class ImageDataGenerator:
    """Batches of image data with real-time augmentation (Keras 2's ``ImageDataGenerator``).

    Images are channels last: ``(samples, height, width, channels)``. Per image, in Keras' order:
    a random affine map (``rotation_range`` degrees, ``width_shift_range`` / ``height_shift_range``
    as a fraction of the size if < 1 or pixels if >= 1 (see :meth:`get_random_transform`),
    ``shear_range`` degrees, ``zoom_range`` ``z`` or ``[lower, upper]``: zoom in ``[1 - z, 1 + z]``),
    pixels outside filled by ``fill_mode`` ('constant' with ``cval``, 'nearest', 'reflect', 'wrap')
    with spline ``interpolation_order``; then a channel shift by a uniform value in
    ``±channel_shift_range``; random horizontal / vertical flips; a brightness factor drawn from
    ``brightness_range``. Then :meth:`standardize`: ``preprocessing_function``, ``rescale``,
    sample-wise centring / std normalisation, feature-wise centring / std normalisation and ZCA
    whitening with the statistics :meth:`fit` computed. ``validation_split`` sets apart a fraction of
    the data for ``flow(..., subset='validation')``.
    """

    def __init__(self, featurewise_center=False, samplewise_center=False, featurewise_std_normalization=False,
                 samplewise_std_normalization=False, zca_whitening=False, zca_epsilon=1e-6, rotation_range=0,
                 width_shift_range=0.0, height_shift_range=0.0, brightness_range=None, shear_range=0.0,
                 zoom_range=0.0, channel_shift_range=0.0, fill_mode="nearest", cval=0.0, horizontal_flip=False,
                 vertical_flip=False, rescale=None, preprocessing_function=None, data_format="channels_last",
                 validation_split=0.0, interpolation_order=1, dtype="float32"):
        what = "ImageDataGenerator"
        _check_data_format(data_format, what)
        self.featurewise_center = bool(featurewise_center)
        self.samplewise_center = bool(samplewise_center)
        self.featurewise_std_normalization = bool(featurewise_std_normalization)
        self.samplewise_std_normalization = bool(samplewise_std_normalization)
        self.zca_whitening = bool(zca_whitening)
        self.zca_epsilon = checks.number(zca_epsilon, f"{what}: zca_epsilon", 0)
        self.rotation_range = checks.number(rotation_range, f"{what}: rotation_range", 0)
        self.width_shift_range = _shift_range(width_shift_range, f"{what}: width_shift_range")
        self.height_shift_range = _shift_range(height_shift_range, f"{what}: height_shift_range")
        self.brightness_range = None if brightness_range is None else _number_pair(
            brightness_range, f"{what}: brightness_range", 0)
        self.shear_range = checks.number(shear_range, f"{what}: shear_range", 0)
        if isinstance(zoom_range, numbers.Real):
            z = checks.number(zoom_range, f"{what}: zoom_range", 0)
            self.zoom_range = [1 - z, 1 + z]
        else:
            self.zoom_range = _number_pair(zoom_range, f"{what}: zoom_range")
        self.channel_shift_range = checks.number(channel_shift_range, f"{what}: channel_shift_range", 0)
        if fill_mode not in _FILL_MODES:
            raise ValueError(f"{what}: fill_mode must be one of {', '.join(_FILL_MODES)}; got {fill_mode!r}")
        self.fill_mode = fill_mode
        self.cval = checks.number(cval, f"{what}: cval")
        self.horizontal_flip = bool(horizontal_flip)
        self.vertical_flip = bool(vertical_flip)
        self.rescale = None if rescale is None else checks.number(rescale, f"{what}: rescale")
        if preprocessing_function is not None and not callable(preprocessing_function):
            raise ValueError(f"{what}: preprocessing_function must be None or a function of one image; "
                             f"got {preprocessing_function!r}")
        self.preprocessing_function = preprocessing_function
        self.data_format = "channels_last"
        self._validation_split = checks.number(validation_split, f"{what}: validation_split", 0, 1, max_open=True)
        self.interpolation_order = checks.integer(interpolation_order, f"{what}: interpolation_order", 0, 5)
        self.dtype = np.dtype(dtype).name
        self.mean = self.std = self.principal_components = None
        # Keras' implications between the normalisation options, with its warnings.
        if self.zca_whitening and not self.featurewise_center:
            self.featurewise_center = True
            warnings.warn(f"{what}: zca_whitening overrides featurewise_center (set to True)", UserWarning, 2)
        if self.zca_whitening and self.featurewise_std_normalization:
            self.featurewise_std_normalization = False
            warnings.warn(f"{what}: zca_whitening overrides featurewise_std_normalization (set to False)",
                          UserWarning, 2)
        if self.featurewise_std_normalization and not self.featurewise_center:
            self.featurewise_center = True
            warnings.warn(f"{what}: featurewise_std_normalization overrides featurewise_center (set to True)",
                          UserWarning, 2)
        if self.samplewise_std_normalization and not self.samplewise_center:
            self.samplewise_center = True
            warnings.warn(f"{what}: samplewise_std_normalization overrides samplewise_center (set to True)",
                          UserWarning, 2)

    # ---- iterators ----
    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None, save_to_dir=None,
             save_prefix="", save_format="png", subset=None):
        """A :class:`NumpyArrayIterator` over images ``x`` (rank 4), labels ``y`` and ``sample_weight``:
        batches ``(x, y)``, ``(x, y, sample_weight)``, or ``x`` alone when ``y`` is None."""
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle, sample_weight=sample_weight,
                                  seed=seed, save_to_dir=save_to_dir, save_prefix=save_prefix,
                                  save_format=save_format, subset=subset)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb", classes=None,
                            class_mode="categorical", batch_size=32, shuffle=True, seed=None, save_to_dir=None,
                            save_prefix="", save_format="png", follow_links=False, subset=None,
                            interpolation="nearest"):
        """A :class:`DirectoryIterator` over ``directory/<class>/**/<image>`` files."""
        return DirectoryIterator(directory, self, target_size=target_size, color_mode=color_mode, classes=classes,
                                 class_mode=class_mode, batch_size=batch_size, shuffle=shuffle, seed=seed,
                                 save_to_dir=save_to_dir, save_prefix=save_prefix, save_format=save_format,
                                 follow_links=follow_links, subset=subset, interpolation=interpolation)

    # ---- normalisation ----
    def standardize(self, x):
        """The normalised copy of an image or a batch ``x``: ``preprocessing_function``, ``rescale``,
        sample-wise then feature-wise centring and std normalisation, ZCA whitening (Keras' order)."""
        x = np.array(x, dtype=self.dtype)
        if self.preprocessing_function is not None:
            x = np.asarray(self.preprocessing_function(x), dtype=self.dtype)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + 1e-6
        if self.featurewise_center:
            x -= self._fitted("mean", "featurewise_center")
        if self.featurewise_std_normalization:
            x /= self._fitted("std", "featurewise_std_normalization") + 1e-6
        if self.zca_whitening:
            flat = np.reshape(x, (-1, math.prod(x.shape[-3:])))
            x = np.reshape(flat @ self._fitted("principal_components", "zca_whitening"), x.shape)
        return x

    def _fitted(self, name, option):
        value = getattr(self, name)
        if value is None:
            raise ValueError(f"ImageDataGenerator: {option}=True needs statistics of the training images; "
                             "call .fit(x_train) first")
        return value

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Compute the feature-wise statistics from sample images ``x`` (rank 4): the per-channel
        ``mean`` and ``std`` over samples, rows and columns, and the ZCA matrix
        ``principal_components``. ``augment``: compute them on ``rounds`` random transforms of ``x``."""
        shape = np.shape(x)
        if len(shape) != 4:
            raise ValueError(f"ImageDataGenerator.fit: x must have rank 4 (samples, height, width, channels); "
                             f"got shape {shape}")
        _warn_channels(shape, "ImageDataGenerator.fit")
        rounds = checks.integer(rounds, "ImageDataGenerator.fit: rounds", 1)
        seed = checks.optional_seed(seed, "ImageDataGenerator.fit: seed")
        if not self.featurewise_center:  # nothing to compute (zca and std imply centring): spare the copy
            return
        features = math.prod(shape[1:])
        matrix_bytes = features ** 2 * np.dtype(self.dtype).itemsize
        if self.zca_whitening and matrix_bytes > 2 ** 31:
            raise ValueError(f"ImageDataGenerator.fit: zca_whitening on {shape[1:]} images needs a {features}x"
                             f"{features} matrix ({matrix_bytes / 2 ** 30:.1f} GiB); use smaller images")
        x = np.array(x, dtype=self.dtype)
        if augment:
            rng = _rng(seed)
            x = np.stack([self.apply_transform(img, self._draw_transform(img.shape, rng))
                          for _ in range(rounds) for img in x]).astype(self.dtype)
        self.mean = np.mean(x, axis=(0, 1, 2)).reshape(1, 1, -1)
        x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.std(x, axis=(0, 1, 2)).reshape(1, 1, -1)
            x /= self.std + 1e-6
        if self.zca_whitening:
            flat = x.reshape(len(x), features)
            sigma = flat.T @ flat / len(flat)
            u, s, _ = linalg.svd(sigma)
            self.principal_components = (u * (1.0 / np.sqrt(s[np.newaxis] + self.zca_epsilon))) @ u.T

    # ---- random transforms ----
    def get_random_transform(self, img_shape, seed=None):
        """Random parameters for one image of shape ``img_shape``: a dict with ``theta`` (degrees), ``tx``
        (rows), ``ty`` (columns), ``shear`` (degrees), ``zx``, ``zy``, ``flip_horizontal``, ``flip_vertical``,
        ``channel_shift_intensity`` and ``brightness`` (None when off), drawn as Keras draws them.

        A shift range ``r`` gives: a float, uniform in ``(-r, r)``; an int, a whole number in ``(-r, r)``;
        a sequence, one of its elements with a random sign; and if ``max(r) < 1`` the shift is that
        fraction of the image's height (``tx``) or width (``ty``)."""
        return self._draw_transform(img_shape, _rng(checks.optional_seed(seed, "get_random_transform: seed")))

    def _draw_transform(self, img_shape, rng):
        theta = rng.uniform(-self.rotation_range, self.rotation_range) if self.rotation_range else 0
        tx = _draw_shift(self.height_shift_range, img_shape[0], rng)
        ty = _draw_shift(self.width_shift_range, img_shape[1], rng)
        shear = rng.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx, zy = 1, 1
        else:
            zx, zy = rng.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_horizontal = bool(rng.random() < 0.5) and self.horizontal_flip
        flip_vertical = bool(rng.random() < 0.5) and self.vertical_flip
        channel_shift = None
        if self.channel_shift_range:
            channel_shift = rng.uniform(-self.channel_shift_range, self.channel_shift_range)
        brightness = None
        if self.brightness_range is not None:
            brightness = rng.uniform(self.brightness_range[0], self.brightness_range[1])
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                "flip_horizontal": flip_horizontal, "flip_vertical": flip_vertical,
                "channel_shift_intensity": channel_shift, "brightness": brightness}

    def apply_transform(self, x, transform_parameters):
        """Apply the transform ``transform_parameters`` (see :meth:`get_random_transform`; missing keys
        mean "none") to one ``(height, width, channels)`` image: affine map, channel shift, horizontal
        flip, vertical flip, brightness, in Keras' order."""
        p = transform_parameters
        x = apply_affine_transform(x, p.get("theta", 0), p.get("tx", 0), p.get("ty", 0), p.get("shear", 0),
                                   p.get("zx", 1), p.get("zy", 1), fill_mode=self.fill_mode, cval=self.cval,
                                   order=self.interpolation_order)
        if p.get("channel_shift_intensity") is not None:
            x = apply_channel_shift(x, p["channel_shift_intensity"])
        if p.get("flip_horizontal", False):
            x = x[:, ::-1]
        if p.get("flip_vertical", False):
            x = x[::-1]
        if p.get("brightness") is not None:
            x = apply_brightness_shift(x, p["brightness"])
        return x

    def random_transform(self, x, seed=None):
        """One image ``x`` under a random transform drawn by :meth:`get_random_transform`."""
        return self.apply_transform(x, self.get_random_transform(np.shape(x), seed))


def _rng(seed):
    """A generator for ``seed``; for None, one seeded from numpy's global generator (``arena.set_seed``)."""
    return np.random.default_rng(np.random.randint(2 ** 31) if seed is None else seed)


def _draw_shift(shift_range, size, rng):
    if not shift_range:
        return 0
    if isinstance(shift_range, tuple):
        shift = rng.choice(shift_range) * rng.choice([-1, 1])
    elif isinstance(shift_range, int):
        shift = rng.integers(shift_range) * rng.choice([-1, 1])
    else:
        shift = rng.uniform(-shift_range, shift_range)
    return shift * size if np.max(shift_range) < 1 else shift


def _warn_channels(shape, what):
    if shape[3] not in (1, 3, 4):
        warnings.warn(f"{what}: expected images with 1, 3 or 4 channels on the last axis (channels_last); got "
                      f"shape {shape} ({shape[3]} channels)", UserWarning, stacklevel=3)


# ---- iterators --------------------------------------------------------------------------------------
class Iterator(Sequence):
    """Base of the image iterators: ``n`` samples in ``ceil(n / batch_size)`` batches, an
    ``arena.utils.Sequence`` that ``Model.fit`` takes as ``x``.

    The order of the samples in epoch ``e`` is a permutation drawn from ``(seed, e)`` (``0..n-1``
    without ``shuffle``), and sample ``j``'s random transform in epoch ``e`` is drawn from
    ``(seed, e, j)``: a batch depends only on the seed, the epoch and its index, whichever thread asks
    and in whichever order. ``on_epoch_end`` starts the next epoch. As in Keras it is also an endless
    iterator: ``next(it)`` gives the batches in order, epoch after epoch (``for batch in it`` never
    ends; ``reset()`` goes back to the first batch of the epoch).
    """

    def __init__(self, n, batch_size, shuffle, seed, image_data_generator, save_to_dir, save_prefix, save_format):
        what = type(self).__name__
        self.n = n
        self.batch_size = checks.integer(batch_size, f"{what}: batch_size", 1)
        self.shuffle = bool(shuffle)
        seed = checks.optional_seed(seed, f"{what}: seed")
        self.seed = int(np.random.randint(2 ** 31)) if seed is None else seed
        if not isinstance(image_data_generator, ImageDataGenerator):
            raise ValueError(f"{what}: image_data_generator must be an ImageDataGenerator; "
                             f"got {type(image_data_generator).__name__}")
        self.image_data_generator = image_data_generator
        if save_to_dir is not None and not os.path.isdir(save_to_dir):
            raise ValueError(f"{what}: save_to_dir '{os.fspath(save_to_dir)}' is not an existing directory")
        self.save_to_dir = save_to_dir
        self.save_prefix = str(save_prefix)
        self.save_format = save_format
        self._save_format = _pil_format(save_format, f"{what}: save_format")
        self.dtype = image_data_generator.dtype
        self.epoch = 0
        self._order_cache = (None, None)
        self._lock = threading.Lock()
        self._next_index = 0

    def __len__(self):
        return -(-self.n // self.batch_size)

    def __getitem__(self, index):
        what = type(self).__name__
        index = checks.integer(index, f"{what}: batch index", type_error=TypeError)
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"{what}: batch index out of range for {n} batches")
        return self._batch_at(self.epoch, index)

    def on_epoch_end(self):
        """Start the next epoch: a new sample order (with ``shuffle``) and new random transforms."""
        self.epoch += 1

    def reset(self):
        """``next()`` gives the first batch of the current epoch again."""
        self._next_index = 0

    def __iter__(self):
        return self

    def __next__(self):
        with self._lock:
            if self._next_index >= len(self):
                self.on_epoch_end()
                self._next_index = 0
            epoch, index = self.epoch, self._next_index
            self._next_index += 1
        return self._batch_at(epoch, index)

    next = __next__  # Keras 2's spelling

    def _order(self, epoch):
        if not self.shuffle:
            return np.arange(self.n)
        cached_epoch, order = self._order_cache
        if cached_epoch != epoch:
            order = np.random.default_rng((self.seed, epoch)).permutation(self.n)
            self._order_cache = (epoch, order)
        return order

    def _batch_at(self, epoch, index):
        rows = self._order(epoch)[index * self.batch_size:(index + 1) * self.batch_size]
        return self._get_batch(rows, epoch)

    def _transformed(self, rows, epoch, image):
        """The batch of ``image(j)`` for ``j`` in ``rows``, each randomly transformed and standardised
        (and saved to ``save_to_dir``)."""
        gen = self.image_data_generator
        batch = np.zeros((len(rows),) + self.image_shape, dtype=self.dtype)
        for i, j in enumerate(rows):
            x = image(j)
            rng = np.random.default_rng((self.seed, epoch, int(j)))
            x = gen.standardize(gen.apply_transform(x, gen._draw_transform(x.shape, rng)))
            if x.shape != self.image_shape:
                raise ValueError(f"{type(self).__name__}: an image of shape {self.image_shape} came out of the "
                                 f"ImageDataGenerator with shape {x.shape}; preprocessing_function must return "
                                 "an array of the shape it is given")
            batch[i] = x
            if self.save_to_dir is not None:
                fname = f"{self.save_prefix}_{j}_{rng.integers(10 ** 4)}.{self.save_format}"
                _save(array_to_img(x, scale=True), os.path.join(self.save_to_dir, fname), self._save_format)
        return batch

    def _get_batch(self, rows, epoch):
        raise NotImplementedError


class NumpyArrayIterator(Iterator):
    """Batches of images ``x`` (rank 4, channels last) with their ``y`` and ``sample_weight`` rows, each
    image transformed by ``image_data_generator`` (see :class:`Iterator` for order and seeds).

    ``subset``: with the generator's ``validation_split`` ``v``, 'validation' is the first
    ``int(len(x) * v)`` samples and 'training' the rest (Keras' split; shuffle sorted data first)."""

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False, sample_weight=None, seed=None,
                 data_format=None, save_to_dir=None, save_prefix="", save_format="png", subset=None):
        what = "NumpyArrayIterator"
        _check_data_format(data_format, what)
        if y is not None and len(x) != len(y):
            raise ValueError(f"{what}: x (images) and y (labels) must have the same length; got x.shape = "
                             f"{np.shape(x)}, y.shape = {np.shape(y)}")
        if sample_weight is not None and len(x) != len(sample_weight):
            raise ValueError(f"{what}: x (images) and sample_weight must have the same length; got x.shape = "
                             f"{np.shape(x)}, sample_weight.shape = {np.shape(sample_weight)}")
        if subset is not None:
            x, y, sample_weight = _split(x, y, sample_weight, subset, image_data_generator, what)
        super().__init__(len(x), batch_size, shuffle, seed, image_data_generator, save_to_dir, save_prefix,
                         save_format)
        self.x = np.asarray(x, dtype=self.dtype)
        if self.x.ndim != 4:
            raise ValueError(f"{what}: x must have rank 4 (samples, height, width, channels); got shape {self.x.shape}")
        if self.n == 0:
            raise ValueError(f"{what}: no samples to iterate over" + (
                f" in subset {subset!r} (validation_split={image_data_generator._validation_split})" if subset else ""))
        _warn_channels(self.x.shape, what)
        self.image_shape = self.x.shape[1:]
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)

    def _get_batch(self, rows, epoch):
        batch_x = self._transformed(rows, epoch, lambda j: self.x[j])
        if self.y is None:
            return batch_x
        if self.sample_weight is None:
            return batch_x, self.y[rows]
        return batch_x, self.y[rows], self.sample_weight[rows]


def _split(x, y, sample_weight, subset, generator, what):
    if subset not in ("training", "validation"):
        raise ValueError(f"{what}: subset must be None, 'training' or 'validation'; got {subset!r}")
    if not generator._validation_split:
        raise ValueError(f"{what}: subset={subset!r} needs ImageDataGenerator(validation_split=...) > 0")
    k = int(len(x) * generator._validation_split)
    if y is not None and not np.array_equal(np.unique(np.asarray(y)[:k]), np.unique(np.asarray(y)[k:])):
        raise ValueError(f"{what}: the training and validation subsets have different classes after the split "
                         f"(validation is the first {k} samples); if the arrays are sorted by label, shuffle them")
    part = slice(None, k) if subset == "validation" else slice(k, None)
    return (x[part], None if y is None else y[part], None if sample_weight is None else sample_weight[part])


class DirectoryIterator(Iterator):
    """Batches of images read from ``directory/<class>/**/<file>`` (png, jpg, jpeg, bmp, ppm, tif, tiff),
    loaded as ``color_mode`` and resized to ``target_size`` (see :class:`Iterator` for order and seeds).

    Classes are the sub-folders in alphabetical order (or ``classes``); ``class_indices`` maps a class
    name to its index, ``classes`` holds each file's index, ``filenames`` the paths relative to
    ``directory``. ``class_mode``: 'categorical' (one-hot), 'binary' (two classes: 0 or 1), 'sparse'
    (the index), 'input' (the images themselves) or None (images only). ``subset``: with the
    generator's ``validation_split`` ``v``, 'validation' is the first fraction ``v`` of each class's
    files in sorted order and 'training' the rest.

    Symbolic links are skipped unless ``follow_links``, and never followed to outside ``directory``:
    a hostile tree must not make Arena read other files of the host.
    """

    def __init__(self, directory, image_data_generator, target_size=(256, 256), color_mode="rgb", classes=None,
                 class_mode="categorical", batch_size=32, shuffle=True, seed=None, data_format=None,
                 save_to_dir=None, save_prefix="", save_format="png", follow_links=False, subset=None,
                 interpolation="nearest"):
        what = "flow_from_directory"
        _check_data_format(data_format, what)
        self.target_size = _size_pair(target_size, f"{what}: target_size")
        if color_mode not in _COLOR_MODES:
            raise ValueError(f"{what}: color_mode must be 'grayscale', 'rgb' or 'rgba'; got {color_mode!r}")
        if class_mode not in _CLASS_MODES:
            raise ValueError(f"{what}: class_mode must be one of {_CLASS_MODES}; got {class_mode!r}")
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"{what}: interpolation must be one of {', '.join(_INTERPOLATIONS)}; "
                             f"got {interpolation!r}")
        split = None
        if subset is not None:
            if subset not in ("training", "validation"):
                raise ValueError(f"{what}: subset must be None, 'training' or 'validation'; got {subset!r}")
            v = image_data_generator._validation_split
            if not v:
                raise ValueError(f"{what}: subset={subset!r} needs ImageDataGenerator(validation_split=...) > 0")
            split = (0, v) if subset == "validation" else (v, 1)
        self.directory = os.fspath(directory)
        self.color_mode, self.class_mode, self.interpolation = color_mode, class_mode, interpolation
        self.follow_links, self.subset = bool(follow_links), subset
        self.image_shape = self.target_size + (_COLOR_MODES[color_mode][1],)

        root = os.path.realpath(self.directory)
        if not os.path.isdir(self.directory):
            raise FileNotFoundError(f"{what}: directory '{self.directory}' does not exist or is not a directory")
        names = _class_folders(self.directory, root, classes, self.follow_links, what)
        self.class_indices = {name: i for i, name in enumerate(names)}
        self.num_classes = len(names)
        if class_mode == "binary" and self.num_classes != 2:
            raise ValueError(f"{what}: class_mode='binary' needs exactly 2 classes; found {self.num_classes}: "
                             f"{names}")
        self.filenames, labels = [], []
        for name in names:
            files = _image_files(os.path.join(self.directory, name), root, self.follow_links)
            if split is not None:
                files = files[int(split[0] * len(files)):int(split[1] * len(files))]
            self.filenames += [os.path.join(name, f) for f in files]
            labels += [self.class_indices[name]] * len(files)
        self.classes = np.array(labels, dtype="int32")
        self.samples = len(self.filenames)
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        if self.samples == 0:
            raise ValueError(f"{what}: no image files ({', '.join(_IMAGE_EXTENSIONS)}) in the class folders of "
                             f"'{self.directory}'" + (f" for subset={subset!r}" if subset else ""))
        super().__init__(self.samples, batch_size, shuffle, seed, image_data_generator, save_to_dir, save_prefix,
                         save_format)

    @property
    def filepaths(self):
        """The path of every image file (``directory`` joined with ``filenames``)."""
        return [os.path.join(self.directory, f) for f in self.filenames]

    def _load(self, j):
        img = load_img(os.path.join(self.directory, self.filenames[j]), color_mode=self.color_mode,
                       target_size=self.target_size, interpolation=self.interpolation)
        return img_to_array(img, dtype=self.dtype)

    def _get_batch(self, rows, epoch):
        batch_x = self._transformed(rows, epoch, self._load)
        if self.class_mode == "input":
            return batch_x, batch_x.copy()
        if self.class_mode in ("binary", "sparse"):
            return batch_x, self.classes[rows].astype(self.dtype)
        if self.class_mode == "categorical":
            return batch_x, np.eye(self.num_classes, dtype=self.dtype)[self.classes[rows]]
        return batch_x


def _inside(path, root):
    return os.path.commonpath([path, root]) == root


def _linked_in(entry, root, follow_links):
    """Whether a directory entry may be visited: not a link, or a followed link into ``root``."""
    return not entry.is_symlink() or (follow_links and _inside(os.path.realpath(entry.path), root))


def _class_folders(directory, root, classes, follow_links, what):
    if classes:
        classes = list(classes)
        for name in classes:
            if not isinstance(name, str) or name in (".", "..") or os.path.split(name) != ("", name):
                raise ValueError(f"{what}: classes must be names of sub-folders of '{directory}'; got {name!r}")
            path = os.path.join(directory, name)
            if not os.path.isdir(path) or (os.path.islink(path) and not (
                    follow_links and _inside(os.path.realpath(path), root))):
                raise ValueError(f"{what}: class folder '{path}' does not exist (or is a link that is not followed)")
        if len(set(classes)) != len(classes):
            raise ValueError(f"{what}: classes has repeated names: {classes}")
        return classes
    with os.scandir(directory) as entries:
        names = sorted(e.name for e in entries if e.is_dir() and _linked_in(e, root, follow_links))
    if not names:
        raise ValueError(f"{what}: '{directory}' has no class sub-folders; put each class's images in its own "
                         f"folder: {os.path.join(directory, '<class>', '<image>.png')}")
    return names


def _image_files(folder, root, follow_links):
    """Image files under ``folder``, relative to it, in Keras' order (folders sorted by path, then the
    files of each sorted by name). Each real folder is visited once, so link cycles end."""
    listed, seen, todo = [], set(), [folder]
    while todo:
        current = todo.pop()
        real = os.path.realpath(current)
        if real in seen:
            continue
        seen.add(real)
        files = []
        with os.scandir(current) as entries:
            for e in entries:
                if not _linked_in(e, root, follow_links):
                    continue
                if e.is_dir():
                    todo.append(e.path)
                elif e.is_file() and os.path.splitext(e.name)[1].lower().lstrip(".") in _IMAGE_EXTENSIONS:
                    files.append(e.name)
        listed.append((current, sorted(files)))
    listed.sort(key=lambda item: item[0])
    return [os.path.relpath(os.path.join(d, f), folder) for d, names in listed for f in names]
