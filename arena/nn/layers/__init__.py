"""All layers, importable as ``arena.nn.layers.Dense`` or ``arena.nn.Dense``."""
from arena.nn.layers.base import Layer, KerasTensor, register, clear_session
from arena.nn.layers.core import (Activation, Dense, Dropout, Flatten, Input, InputLayer, Lambda, LeakyReLU,
                                  Permute, RepeatVector, Reshape)
