"""InceptionV3 (Szegedy et al., 2015), as ``keras.applications.inception_v3``: 23,851,784 parameters with
the top, 21,802,784 without; blocks named mixed0 ... mixed10, the other layers named automatically
(conv2d_N, batch_normalization_N, activation_N) as in Keras."""
from arena.applications import imagenet_utils
from arena.applications._application import build
from arena.nn.layers import Activation, AveragePooling2D, BatchNormalization, Conv2D, GlobalAveragePooling2D, \
    MaxPooling2D, concatenate

__all__ = ["InceptionV3", "preprocess_input", "decode_predictions"]


def conv2d_bn(x, filters, rows, cols, padding="same", strides=(1, 1), name=None):
    """Conv2D without bias, BatchNormalization without scale (a ReLU follows), ReLU."""
    x = Conv2D(filters, (rows, cols), strides=strides, padding=padding, use_bias=False,
               name=None if name is None else f"{name}_conv")(x)
    x = BatchNormalization(axis=3, scale=False, name=None if name is None else f"{name}_bn")(x)
    return Activation("relu", name=name)(x)


def _avg_branch(x, filters):
    return conv2d_bn(AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x), filters, 1, 1)


def _block_35(x, pool_filters, name):
    """35x35 block: 1x1, 5x5, double 3x3 and pooled branches."""
    b1 = conv2d_bn(x, 64, 1, 1)
    b5 = conv2d_bn(conv2d_bn(x, 48, 1, 1), 64, 5, 5)
    b3 = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
    return concatenate([b1, b5, b3, _avg_branch(x, pool_filters)], axis=3, name=name)


def _block_17(x, width, name):
    """17x17 block: 1x1, factorised 7x7, double factorised 7x7 and pooled branches."""
    b1 = conv2d_bn(x, 192, 1, 1)
    b7 = conv2d_bn(conv2d_bn(conv2d_bn(x, width, 1, 1), width, 1, 7), 192, 7, 1)
    b77 = conv2d_bn(x, width, 1, 1)
    for filters, rows, cols in ((width, 7, 1), (width, 1, 7), (width, 7, 1), (192, 1, 7)):
        b77 = conv2d_bn(b77, filters, rows, cols)
    return concatenate([b1, b7, b77, _avg_branch(x, 192)], axis=3, name=name)


def _block_8(x, i):
    """8x8 block: 1x1, split 3x3, split double 3x3 and pooled branches."""
    b1 = conv2d_bn(x, 320, 1, 1)
    b3 = conv2d_bn(x, 384, 1, 1)
    b3 = concatenate([conv2d_bn(b3, 384, 1, 3), conv2d_bn(b3, 384, 3, 1)], axis=3, name=f"mixed9_{i}")
    b33 = conv2d_bn(conv2d_bn(x, 448, 1, 1), 384, 3, 3)
    b33 = concatenate([conv2d_bn(b33, 384, 1, 3), conv2d_bn(b33, 384, 3, 1)], axis=3)
    return concatenate([b1, b3, b33, _avg_branch(x, 192)], axis=3, name=f"mixed{9 + i}")


def _features(x):
    # Layers are created in Keras' order: automatic names then match a Keras model's built in the same session.
    x = conv2d_bn(x, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    x = MaxPooling2D((3, 3), strides=(2, 2))(x)
    for i, pool_filters in enumerate((32, 64, 64)):  # mixed0-2: 35x35x256, 288, 288
        x = _block_35(x, pool_filters, f"mixed{i}")
    # mixed3: 17x17x768
    b3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    b33 = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, strides=(2, 2), padding="valid")
    x = concatenate([b3, b33, MaxPooling2D((3, 3), strides=(2, 2))(x)], axis=3, name="mixed3")
    for i, width in enumerate((128, 160, 160, 192), start=4):  # mixed4-7: 17x17x768
        x = _block_17(x, width, f"mixed{i}")
    # mixed8: 8x8x1280
    b3 = conv2d_bn(conv2d_bn(x, 192, 1, 1), 320, 3, 3, strides=(2, 2), padding="valid")
    b7 = conv2d_bn(conv2d_bn(conv2d_bn(x, 192, 1, 1), 192, 1, 7), 192, 7, 1)
    b7 = conv2d_bn(b7, 192, 3, 3, strides=(2, 2), padding="valid")
    x = concatenate([b3, b7, MaxPooling2D((3, 3), strides=(2, 2))(x)], axis=3, name="mixed8")
    for i in range(2):  # mixed9, mixed10: 8x8x2048
        x = _block_8(x, i)
    return x


def InceptionV3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="inception_v3"):
    """InceptionV3 as a functional Model (Keras' arguments; see :func:`arena.applications.VGG16`).

    The input is 299x299x3 with the ImageNet top, otherwise sides >= 75; without the top the output is
    (batch, 8, 8, 2048) for 299x299 (pooling 'avg'/'max': (batch, 2048)). The top is global average
    pooling 'avg_pool' and Dense 'predictions'. Inputs are scaled with :func:`preprocess_input` to [-1, 1]."""
    return build("InceptionV3", "inception_v3", _features, lambda x: GlobalAveragePooling2D(name="avg_pool")(x),
                 default_size=299, min_size=75, include_top=include_top, weights=weights, input_tensor=input_tensor,
                 input_shape=input_shape, pooling=pooling, classes=classes,
                 classifier_activation=classifier_activation, name=name)


def preprocess_input(x, data_format=None):
    """InceptionV3's input scaling (``tf``): ``x / 127.5 - 1``, from [0, 255] to [-1, 1]."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions
