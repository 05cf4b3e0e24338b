"""Keras 2's ``keras.utils.np_utils``: ``to_categorical`` (Keras 1's ``nb_classes=`` too) and ``normalize``."""
import numpy as np

from arena.keras import legacy
from arena.utils import to_categorical as _to_categorical


def to_categorical(y, num_classes=None, dtype="float32", **kwargs):
    """One-hot rows for integer labels ``y`` (see :func:`arena.utils.to_categorical`)."""
    kwargs = legacy.translate("to_categorical", kwargs)
    if "num_classes" in kwargs:
        if num_classes is not None:
            raise TypeError("to_categorical: got both nb_classes (Keras 1) and num_classes")
        num_classes = kwargs.pop("num_classes")
    if kwargs:
        raise TypeError(f"to_categorical: unexpected keyword argument(s) {sorted(kwargs)}")
    return _to_categorical(y, num_classes, dtype)


def normalize(x, axis=-1, order=2):
    """``x`` divided by its ``order``-norm along ``axis`` (zero vectors stay zero), as Keras 2's."""
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


__all__ = ["to_categorical", "normalize"]
