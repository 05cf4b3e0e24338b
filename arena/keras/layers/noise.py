"""Keras 2's ``keras.layers.noise``: GaussianNoise and GaussianDropout."""
from arena.keras.legacy import keras2_class
from arena.nn import layers as _nn

GaussianNoise = keras2_class(_nn.GaussianNoise, __name__)
GaussianDropout = keras2_class(_nn.GaussianDropout, __name__)

__all__ = ["GaussianNoise", "GaussianDropout"]
