"""Utilities for preparing data (Keras' ``keras.utils`` counterparts)."""
from arena.utils.data import to_categorical, train_test_split, train_validation_split
from arena.utils.sequence import Sequence

__all__ = ["Sequence", "to_categorical", "train_test_split", "train_validation_split"]
