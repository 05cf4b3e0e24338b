"""Keras 2's ``keras.layers.convolutional``: Conv1D, Conv2D, Conv2DTranspose, their Keras 1 names
(Convolution1D/2D, Deconvolution2D, AtrousConvolution1D/2D), cropping, up-sampling and zero padding, and
(as in Keras 2, for old imports) the pooling layers."""
from arena.keras import legacy
from arena.keras.layers.pooling import *  # noqa: F401,F403  Keras 2 kept these here for Keras 1 imports
from arena.keras.layers.pooling import __all__ as _pooling
from arena.nn import layers as _nn
from arena.nn.layers import Cropping1D, ZeroPadding1D

Conv1D = legacy.keras2_class(_nn.Conv1D, __name__)
Conv2D = legacy.keras2_class(_nn.Conv2D, __name__)
Conv2DTranspose = legacy.keras2_class(_nn.Conv2DTranspose, __name__)
Cropping2D = legacy.keras2_class(_nn.Cropping2D, __name__)
UpSampling1D = legacy.keras2_class(_nn.UpSampling1D, __name__)
UpSampling2D = legacy.keras2_class(_nn.UpSampling2D, __name__)
ZeroPadding2D = legacy.keras2_class(_nn.ZeroPadding2D, __name__)

# Keras 2's own aliases: the same classes, so a model saves its Conv2D as "Conv2D".
Convolution1D, Convolution2D, Deconvolution2D = Conv1D, Conv2D, Conv2DTranspose


def AtrousConvolution1D(*args, **kwargs):
    """Keras 1's dilated Conv1D: ``AtrousConvolution1D(nb_filter, filter_length, atrous_rate=r)`` is
    ``Conv1D(filters, kernel_size, dilation_rate=r)``."""
    legacy.warn("AtrousConvolution1D", "is Keras 1; use Conv1D(filters, kernel_size, dilation_rate=...)")
    return Conv1D(*args, **kwargs)


def AtrousConvolution2D(*args, **kwargs):
    """Keras 1's dilated Conv2D: ``AtrousConvolution2D(nb_filter, nb_row, nb_col, atrous_rate=(r, r))`` is
    ``Conv2D(filters, (nb_row, nb_col), dilation_rate=(r, r))``."""
    legacy.warn("AtrousConvolution2D", "is Keras 1; use Conv2D(filters, kernel_size, dilation_rate=...)")
    return Conv2D(*args, **kwargs)


__all__ = ["Conv1D", "Conv2D", "Conv2DTranspose", "Convolution1D", "Convolution2D", "Deconvolution2D",
           "AtrousConvolution1D", "AtrousConvolution2D", "Cropping1D", "Cropping2D", "UpSampling1D", "UpSampling2D",
           "ZeroPadding1D", "ZeroPadding2D", *_pooling]
