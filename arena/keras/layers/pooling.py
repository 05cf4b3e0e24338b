"""Keras 2's ``keras.layers.pooling``: max and average pooling, local and global, 1-D and 2-D."""
from arena.keras.legacy import keras2_class
from arena.nn import layers as _nn
from arena.nn.layers import GlobalAveragePooling1D, GlobalMaxPooling1D

MaxPooling1D = keras2_class(_nn.MaxPooling1D, __name__)
AveragePooling1D = keras2_class(_nn.AveragePooling1D, __name__)
MaxPooling2D = keras2_class(_nn.MaxPooling2D, __name__)
AveragePooling2D = keras2_class(_nn.AveragePooling2D, __name__)
GlobalMaxPooling2D = keras2_class(_nn.GlobalMaxPooling2D, __name__)
GlobalAveragePooling2D = keras2_class(_nn.GlobalAveragePooling2D, __name__)

# Keras 2's aliases.
MaxPool1D, AvgPool1D, MaxPool2D, AvgPool2D = MaxPooling1D, AveragePooling1D, MaxPooling2D, AveragePooling2D
GlobalMaxPool1D, GlobalAvgPool1D = GlobalMaxPooling1D, GlobalAveragePooling1D
GlobalMaxPool2D, GlobalAvgPool2D = GlobalMaxPooling2D, GlobalAveragePooling2D

__all__ = ["MaxPooling1D", "AveragePooling1D", "MaxPooling2D", "AveragePooling2D", "GlobalMaxPooling1D",
           "GlobalAveragePooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling2D", "MaxPool1D", "AvgPool1D",
           "MaxPool2D", "AvgPool2D", "GlobalMaxPool1D", "GlobalAvgPool1D", "GlobalMaxPool2D", "GlobalAvgPool2D"]
