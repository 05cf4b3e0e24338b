"""Keras 2's ``keras.layers.core``: Dense, Activation, Dropout, SpatialDropout1D/2D, Flatten, Reshape,
Permute, RepeatVector, Lambda, Masking (arena.nn's layers; those with Keras 1 arguments take them too)."""
from arena.keras.legacy import keras2_class
from arena.nn import layers as _nn
from arena.nn.layers import Activation, Flatten, Lambda, Masking, Permute, RepeatVector, Reshape

Dense = keras2_class(_nn.Dense, __name__)
Dropout = keras2_class(_nn.Dropout, __name__)
SpatialDropout1D = keras2_class(_nn.SpatialDropout1D, __name__)
SpatialDropout2D = keras2_class(_nn.SpatialDropout2D, __name__)

__all__ = ["Dense", "Activation", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "Flatten", "Reshape", "Permute",
           "RepeatVector", "Lambda", "Masking"]
