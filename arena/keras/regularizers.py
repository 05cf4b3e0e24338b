"""Keras 2's ``keras.regularizers`` (L1L2, l1, l2, l1_l2) and Keras 1's ``l1l2`` and ``activity_*``
(with a warning naming the Keras 2 spelling)."""
from arena.keras import legacy
from arena.nn.regularizers import L1L2, get, l1, l1_l2, l2, serialize


def l1l2(l1=0.01, l2=0.01):
    """Keras 1's ``l1l2``: Keras 2's ``l1_l2``."""
    legacy.warn("regularizers", "l1l2 is the Keras 1 spelling; use l1_l2 (or L1L2)")
    return L1L2(l1=l1, l2=l2)


def activity_l1(l=0.01):
    """Keras 1's activity penalty: Keras 2's ``l1`` given as ``activity_regularizer``."""
    legacy.warn("regularizers", "activity_l1 is Keras 1; use activity_regularizer=l1(...)")
    return L1L2(l1=l)


def activity_l2(l=0.01):
    """Keras 1's activity penalty: Keras 2's ``l2`` given as ``activity_regularizer``."""
    legacy.warn("regularizers", "activity_l2 is Keras 1; use activity_regularizer=l2(...)")
    return L1L2(l2=l)


def activity_l1l2(l1=0.01, l2=0.01):
    """Keras 1's activity penalty: Keras 2's ``l1_l2`` given as ``activity_regularizer``."""
    legacy.warn("regularizers", "activity_l1l2 is Keras 1; use activity_regularizer=l1_l2(...)")
    return L1L2(l1=l1, l2=l2)


__all__ = ["L1L2", "l1", "l2", "l1_l2", "l1l2", "activity_l1", "activity_l2", "activity_l1l2", "get", "serialize"]
