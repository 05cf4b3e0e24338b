"""Keras 2's ``keras.layers.wrappers``: TimeDistributed and Bidirectional."""
from arena.nn.layers import Bidirectional, TimeDistributed
from arena.nn.layers.wrappers import Wrapper

__all__ = ["Wrapper", "TimeDistributed", "Bidirectional"]
