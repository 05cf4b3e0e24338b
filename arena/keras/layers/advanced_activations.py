"""Keras 2's ``keras.layers.advanced_activations``: LeakyReLU, PReLU, ELU, ThresholdedReLU, Softmax, ReLU."""
from arena.keras.legacy import keras2_class
from arena.nn import layers as _nn
from arena.nn.layers import ELU, LeakyReLU, ReLU, Softmax, ThresholdedReLU

PReLU = keras2_class(_nn.PReLU, __name__)

__all__ = ["LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "Softmax", "ReLU"]
