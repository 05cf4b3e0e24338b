"""Keras 2's ``keras.layers.normalization``: BatchNormalization."""
from arena.keras.legacy import keras2_class
from arena.nn import layers as _nn

BatchNormalization = keras2_class(_nn.BatchNormalization, __name__)

__all__ = ["BatchNormalization"]
