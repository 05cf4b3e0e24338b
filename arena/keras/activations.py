"""Keras 2's ``keras.activations`` (arena.nn.activations)."""
from arena.nn.activations import (elu, get, hard_sigmoid, linear, relu, selu, serialize, sigmoid, softmax, softplus,
                                  softsign, tanh)

__all__ = ["softmax", "elu", "selu", "softplus", "softsign", "relu", "tanh", "sigmoid", "hard_sigmoid", "linear",
           "get", "serialize"]
