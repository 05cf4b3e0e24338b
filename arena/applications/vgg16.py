"""VGG16 (Simonyan & Zisserman, 2014), as ``keras.applications.vgg16``: layer names, parameter counts
(138,357,544 with the top, 14,714,688 without) and Keras' ImageNet weight files."""
from arena.applications import imagenet_utils
from arena.applications._application import build
from arena.nn.layers import Conv2D, Dense, Flatten, MaxPooling2D

__all__ = ["VGG16", "preprocess_input", "decode_predictions"]

_FILTERS = (64, 128, 256, 512, 512)


def vgg(what, key, convs_per_block, include_top, weights, input_tensor, input_shape, pooling, classes,
        classifier_activation, name):
    """VGG with ``convs_per_block[i]`` 3x3 ReLU convolutions in block i+1, each block ending in a 2x2 max pool;
    the top is Flatten, Dense 4096 'fc1', Dense 4096 'fc2' and Dense ``classes`` 'predictions'."""
    def features(x):
        for block, (filters, convs) in enumerate(zip(_FILTERS, convs_per_block), start=1):
            for i in range(1, convs + 1):
                x = Conv2D(filters, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{i}")(x)
            x = MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
        return x

    def top(x):
        x = Flatten(name="flatten")(x)
        x = Dense(4096, activation="relu", name="fc1")(x)
        return Dense(4096, activation="relu", name="fc2")(x)
    return build(what, key, features, top, default_size=224, min_size=32, include_top=include_top, weights=weights,
                 input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                 classifier_activation=classifier_activation, name=name)


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
          classifier_activation="softmax", name="vgg16"):
    """VGG16 as a functional Model (Keras' arguments).

    include_top: the 3 fully connected layers (input then fixed at 224x224x3 with ImageNet weights).
    weights: None (random), 'imagenet' (Keras' file, downloaded into the cache once) or a weights file's path.
    input_tensor: a symbolic tensor to use as the image input. input_shape: (height, width, 3), sides >= 32.
    pooling (without the top): None (output (batch, h/32, w/32, 512)), 'avg' or 'max' (output (batch, 512)).
    classes, classifier_activation: the top's size and activation ('softmax' or None with pretrained weights).
    Inputs are preprocessed with :func:`preprocess_input` (RGB -> BGR, minus the ImageNet means)."""
    return vgg("VGG16", "vgg16", (2, 2, 3, 3, 3), include_top, weights, input_tensor, input_shape, pooling, classes,
               classifier_activation, name)


def preprocess_input(x, data_format=None):
    """VGG16's input scaling (``caffe``): RGB -> BGR, then minus the ImageNet channel means; no scaling."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


decode_predictions = imagenet_utils.decode_predictions
