"""All layers, importable as ``arena.nn.layers.Dense`` or ``arena.nn.Dense``."""
from arena.nn.layers.base import Layer, KerasTensor, register, clear_session
from arena.nn.layers.core import (Activation, Dense, Dropout, Flatten, Input, InputLayer, Lambda, Masking, Permute,
                                  RepeatVector, Reshape)
from arena.nn.layers.activation import ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU
from arena.nn.layers.conv import Conv1D, Conv2D, Conv2DTranspose
from arena.nn.layers.merge import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add,
                                   average, concatenate, dot, maximum, minimum, multiply, subtract)
from arena.nn.layers.normalization import BatchNormalization
from arena.nn.layers.pooling import (AveragePooling1D, AveragePooling2D, AvgPool1D, AvgPool2D, GlobalAveragePooling1D,
                                     GlobalAveragePooling2D, GlobalAvgPool1D, GlobalAvgPool2D, GlobalMaxPool1D,
                                     GlobalMaxPool2D, GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPool1D, MaxPool2D,
                                     MaxPooling1D, MaxPooling2D)
from arena.nn.layers.reshaping import (Cropping1D, Cropping2D, UpSampling1D, UpSampling2D, ZeroPadding1D,
                                       ZeroPadding2D)
from arena.nn.layers.embedding import Embedding
from arena.nn.layers.recurrent import GRU, GRUCell, LSTM, LSTMCell, RNN, SimpleRNN, SimpleRNNCell
from arena.nn.layers.noise import GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D
from arena.nn.layers.wrappers import Bidirectional, TimeDistributed
from arena.nn.layers.preprocessing import (CenterCrop, Normalization, RandomContrast, RandomFlip, RandomRotation,
                                           RandomTranslation, RandomZoom, Rescaling, Resizing)
