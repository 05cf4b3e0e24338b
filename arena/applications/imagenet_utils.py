"""ImageNet helpers shared by the applications, as ``keras.applications.imagenet_utils``.

* :func:`preprocess_input`: the input scaling each model was trained with (``caffe``, ``tf``, ``torch``).
* :func:`decode_predictions`: ``(wnid, name, score)`` for the top classes, from Keras'
  ``imagenet_class_index.json``.
* :func:`weights_file`: Keras' published ImageNet weight files, found the way data sets are
  (:mod:`arena.datasets._download`): in ``ARENA_DATA_DIR`` when it is set, else in the cache
  folder's ``models/``, downloaded and md5-checked when missing.
"""
import json
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from arena import checks
from arena.datasets import _download

__all__ = ["preprocess_input", "decode_predictions", "weights_file", "obtain_input_shape"]

# Module constants (not literals inside functions) so tests can point them at a local server.
WEIGHTS_BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
CLASS_INDEX_URL = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
CLASS_INDEX_FILE = "imagenet_class_index.json"
CLASS_INDEX_MD5 = "c2c37ea517e94d9795004a39431a14cb"
CACHE_SUBDIR = "models"  # under the cache folder, as Keras' ~/.keras/models

# (model, include_top) -> (path under WEIGHTS_BASE_URL, md5): the files and digests Keras uses.
WEIGHT_FILES = {
    ("vgg16", True): ("vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5", "64373286793e3c8b2b4e3219cbf3544b"),
    ("vgg16", False): ("vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                       "6d6bbae143d832006294945121d1f1fc"),
    ("vgg19", True): ("vgg19/vgg19_weights_tf_dim_ordering_tf_kernels.h5", "cbe5617147190e668d6c5d5026f83318"),
    ("vgg19", False): ("vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
                       "253f8cb515780f3b799900260a226db6"),
    ("inception_v3", True): ("inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
                             "9a0d58056eeedaa3f26cb7ebd46da564"),
    ("inception_v3", False): ("inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
                              "bcbd6486424b2319ff4ef7d526e38f63"),
    ("resnet50", True): ("resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5", "2cb95161c43110f7111970584f804107"),
    ("resnet50", False): ("resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                          "4d473c1dd8becc155b73f8504c6f6626"),
}

_MODES = ("caffe", "tf", "torch")
_CAFFE_MEAN = (103.939, 116.779, 123.68)  # BGR ImageNet means
_TORCH_MEAN, _TORCH_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
_MAX_INDEX_BYTES = 1 << 20  # Keras' file is 35 kB; a larger one is not a class index


# ---- preprocessing ---------------------------------------------------------------------------------
def preprocess_input(x, data_format=None, mode="caffe"):
    """Scale a batch of RGB images with values in [0, 255] as a model's ImageNet training did.

    * ``caffe`` (VGG, ResNet50): RGB -> BGR, then subtract the ImageNet mean of each channel.
    * ``tf`` (InceptionV3): ``x / 127.5 - 1``, values in [-1, 1].
    * ``torch``: ``x / 255``, then subtract the mean and divide by the std of each channel.

    ``x``: a numpy or JAX array, one image (3-D) or a batch (4-D), channels last unless
    ``data_format='channels_first'``. Returns a new float array (floats keep their dtype, integers
    become float32) of the same kind; unlike Keras, the input is never written over.
    """
    if mode not in _MODES:
        raise ValueError(f"preprocess_input: mode must be one of {_MODES}; got {mode!r}")
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"preprocess_input: data_format must be 'channels_last' or 'channels_first'; "
                         f"got {data_format!r}")
    xp = jnp if isinstance(x, jax.Array) else np
    x = xp.asarray(x)
    if not xp.issubdtype(x.dtype, xp.floating):
        x = x.astype(xp.float32)
    if mode == "tf":
        return x / 127.5 - 1.0
    axis = x.ndim - 1 if data_format == "channels_last" else (0 if x.ndim == 3 else 1)
    if x.ndim < 3 or x.shape[axis] != 3:
        raise ValueError(f"preprocess_input(mode={mode!r}) expects RGB images with 3 channels on axis {axis} "
                         f"({data_format}); got shape {tuple(x.shape)}")
    shape = [1] * x.ndim
    shape[axis] = 3

    def per_channel(values):
        return xp.asarray(values, dtype=x.dtype).reshape(shape)
    if mode == "torch":
        return (x / 255.0 - per_channel(_TORCH_MEAN)) / per_channel(_TORCH_STD)
    return xp.flip(x, axis=axis) - per_channel(_CAFFE_MEAN)  # RGB -> BGR, as the Caffe models were trained


# ---- files: class index and weights ---------------------------------------------------------------------
def _fetch(fname, url, md5, needed_by, pass_as):
    """Path of Keras' file ``fname``: offline folder, cache, or a checked download; an error says how to
    supply the file by hand (``pass_as``) when it cannot be had."""
    try:
        if _download.data_dir() is not None:
            return _download.offline_file(fname)
        return _download.get_file(f"{CACHE_SUBDIR}/{fname}", url, md5=md5, offline_name=fname)
    except (_download.DownloadError, FileNotFoundError) as e:
        raise type(e)(f"{needed_by} needs Keras' file '{fname}' ({url}), which could not be found or "
                      f"downloaded: {e} Or download it yourself and pass its path: {pass_as}.") from e


def weights_file(model, include_top):
    """Path of Keras' published ImageNet weights for ``model`` ('vgg16', 'vgg19', 'inception_v3',
    'resnet50'), with or without the classifier top; downloaded and md5-checked if needed."""
    path, md5 = WEIGHT_FILES[(model, bool(include_top))]
    fname = path.rpartition("/")[2]
    call = {"vgg16": "VGG16", "vgg19": "VGG19", "inception_v3": "InceptionV3", "resnet50": "ResNet50"}[model]
    return _fetch(fname, WEIGHTS_BASE_URL + path, md5, f"{call}(weights='imagenet', include_top={include_top})",
                  f"{call}(include_top={include_top}, weights='/path/to/{fname}')")


_index_cache = {}


def _read_class_index(path):
    """Keras' class index: ``{"0": [wnid, name], ..., "999": [...]}`` -> a list of 1000 (wnid, name)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ImageNet class index {path} not found")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key in _index_cache:
        return _index_cache[key]
    if stat.st_size > _MAX_INDEX_BYTES:
        raise ValueError(f"{path} is {stat.st_size} bytes, too large for an ImageNet class index "
                         f"(Keras' {CLASS_INDEX_FILE} is 35 kB)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not a JSON ImageNet class index: {e}") from None
    want = [str(i) for i in range(1000)]
    if not isinstance(data, dict) or sorted(data, key=lambda k: (len(k), k)) != want:
        raise ValueError(f"{path} is not an ImageNet class index: it must map the keys '0'..'999' (1000 "
                         f"entries) to [wnid, name]; got {type(data).__name__} with {len(data)} entries")
    bad = [k for k in want if not (isinstance(data[k], list) and len(data[k]) == 2
                                    and all(isinstance(s, str) for s in data[k]))]
    if bad:
        raise ValueError(f"{path}: entry '{bad[0]}' is {data[bad[0]]!r:.80}, not [wnid, name] "
                         f"(like [\"n01440764\", \"tench\"])")
    index = [tuple(data[k]) for k in want]
    _index_cache[key] = index
    return index


def decode_predictions(preds, top=5, class_index_path=None):
    """The ``top`` classes of each row of ``preds`` (shape (samples, 1000)), best first, as lists of
    ``(wnid, class_name, score)``.

    The class names come from Keras' ``imagenet_class_index.json``: ``class_index_path``, else the
    offline folder or the cache (downloaded once)."""
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(f"decode_predictions expects a batch of ImageNet predictions, shape (samples, 1000); "
                         f"got shape {preds.shape}")
    top = checks.integer(top, "decode_predictions: top", 1, 1000)
    if class_index_path is None:
        class_index_path = _fetch(CLASS_INDEX_FILE, CLASS_INDEX_URL, CLASS_INDEX_MD5, "decode_predictions",
                                  f"decode_predictions(preds, class_index_path='/path/to/{CLASS_INDEX_FILE}')")
    index = _read_class_index(os.fspath(class_index_path))
    results = []
    for row in preds:
        best = np.argsort(row, kind="stable")[-top:][::-1]
        results.append([(*index[i], float(row[i])) for i in best])
    return results


# ---- input shapes ------------------------------------------------------------------------------------
def obtain_input_shape(input_shape, default_size, min_size, require_flatten, weights=None, what="model"):
    """The model's input shape (channels last), checked as Keras checks it.

    With the ImageNet classifier (``require_flatten`` and ``weights='imagenet'``) only
    ``(default_size, default_size, 3)`` fits; otherwise sides of at least ``min_size`` (or None
    without the top), and 3 channels for ImageNet weights."""
    if input_shape is not None:
        shape = tuple(input_shape)
        if len(shape) != 3 or not all(d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool)
                                                    and d > 0) for d in shape):
            raise ValueError(f"{what}: input_shape must be (height, width, channels) with positive integers "
                             f"(or None for a free side); got {input_shape!r}")
        input_shape = tuple(None if d is None else int(d) for d in shape)
        if input_shape[-1] is None:
            raise ValueError(f"{what}: the number of channels must be known; got input_shape={input_shape}")
    channels = input_shape[-1] if input_shape and weights != "imagenet" else 3
    default = (default_size, default_size, channels)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and input_shape != default:
            raise ValueError(f"{what}: with include_top=True and weights='imagenet' the input shape must be "
                             f"{default}; got input_shape={input_shape}. For other sizes use include_top=False.")
        return default
    if input_shape is None:
        input_shape = default if require_flatten else (None, None, 3)
    if weights == "imagenet" and input_shape[-1] != 3:
        raise ValueError(f"{what}: ImageNet weights need 3 input channels; got input_shape={input_shape}")
    if any(d is not None and d < min_size for d in input_shape[:2]):
        raise ValueError(f"{what}: the input must be at least {min_size}x{min_size}; got input_shape={input_shape}")
    if require_flatten and None in input_shape:
        raise ValueError(f"{what}: include_top=True needs a fixed input_shape; got {input_shape}")
    return input_shape
