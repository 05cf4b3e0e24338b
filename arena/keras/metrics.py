"""Keras 2's ``keras.metrics``: the accuracies, and the losses under their names (as Keras 2 had them)."""
from arena.keras.losses import *  # noqa: F403
from arena.keras.losses import __all__ as _losses
from arena.nn.metrics import (binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
                              sparse_top_k_categorical_accuracy, top_k_categorical_accuracy)

__all__ = ["binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy",
           "sparse_top_k_categorical_accuracy", *(n for n in _losses if n != "get")]
