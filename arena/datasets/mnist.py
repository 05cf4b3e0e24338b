"""MNIST handwritten digits, shaped like ``keras.datasets.mnist``."""
from arena.datasets import _download

URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
FILENAME = "mnist.npz"
_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_data(path=None):
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)``.

    ``x_train`` is uint8 (60000, 28, 28) with values 0-255, ``y_train`` uint8 (60000,)
    digits 0-9; the test set has 10000 rows. The rows are in the canonical order,
    the same arrays as Keras' ``mnist.npz``.

    With ``ARENA_DATA_DIR`` set the file ``mnist.npz`` is read from there (``path``
    is ignored). Otherwise ``path`` (default ``"mnist.npz"``) names the cached copy,
    relative to the cache folder (``ARENA_CACHE_DIR``, default ``~/.arena/datasets``)
    unless absolute; it is downloaded and sha256-checked when missing.
    """
    if _download.data_dir() is not None:
        source = _download.offline_file(FILENAME)
    else:
        source = _download.get_file(path or FILENAME, URL, sha256=SHA256, offline_name=FILENAME)
    x_train, y_train, x_test, y_test = _download.load_npz(source, _KEYS)
    return (x_train, y_train), (x_test, y_test)
