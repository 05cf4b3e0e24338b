"""Keras 2's ``keras.engine.topology`` (where custom layers imported ``Layer`` from): Layer, Input, InputLayer."""
from arena.nn.layers import Input, InputLayer, Layer

__all__ = ["Layer", "Input", "InputLayer"]
