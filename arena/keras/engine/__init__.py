"""Keras 2's ``keras.engine``: Layer, Input, InputLayer and Model."""
from arena.keras.engine import topology
from arena.keras.engine.topology import Input, InputLayer, Layer
from arena.keras.models import Model

__all__ = ["Layer", "Input", "InputLayer", "Model", "topology"]
