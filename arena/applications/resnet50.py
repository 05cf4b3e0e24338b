"""ResNet50 (He et al., 2015), as ``keras.applications.resnet50``: Keras' layer names (conv1_conv,
conv2_block1_1_conv, ..., conv5_block3_out), 25,636,712 parameters with the top, 23,587,712 without."""
from arena.applications import imagenet_utils
from arena.applications._application import build
from arena.nn.layers import Activation, Add, BatchNormalization, Conv2D, GlobalAveragePooling2D, MaxPooling2D, \
    ZeroPadding2D

__all__ = ["ResNet50", "preprocess_input", "decode_predictions"]

_EPSILON = 1.001e-5  # the BatchNormalization epsilon of Keras' ResNets (the weights were trained with it)


def _conv_bn(x, filters, kernel_size, name, strides=1, padding="valid"):
    x = Conv2D(filters, kernel_size, strides=strides, padding=padding, name=f"{name}_conv")(x)
    return BatchNormalization(axis=3, epsilon=_EPSILON, name=f"{name}_bn")(x)


def residual_block(x, filters, name, stride=1, conv_shortcut=True):
    """Bottleneck block: 1x1 (``filters``), 3x3, 1x1 (4 * ``filters``), added to the shortcut, ReLU.
    The shortcut is a strided 1x1 projection (``{name}_0``) or the input itself."""
    shortcut = _conv_bn(x, 4 * filters, 1, f"{name}_0", strides=stride) if conv_shortcut else x
    x = Activation("relu", name=f"{name}_1_relu")(_conv_bn(x, filters, 1, f"{name}_1", strides=stride))
    x = Activation("relu", name=f"{name}_2_relu")(_conv_bn(x, filters, 3, f"{name}_2", padding="same"))
    x = _conv_bn(x, 4 * filters, 1, f"{name}_3")
    return Activation("relu", name=f"{name}_out")(Add(name=f"{name}_add")([shortcut, x]))


def residual_stack(x, filters, blocks, name, stride1=2):
    """``blocks`` residual blocks; the first projects the shortcut and strides by ``stride1``."""
    x = residual_block(x, filters, f"{name}_block1", stride=stride1)
    for i in range(2, blocks + 1):
        x = residual_block(x, filters, f"{name}_block{i}", conv_shortcut=False)
    return x


def _features(x):
    x = ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(x)
    x = _conv_bn(x, 64, 7, "conv1", strides=2)
    x = Activation("relu", name="conv1_relu")(x)
    x = ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = residual_stack(x, 64, 3, "conv2", stride1=1)
    x = residual_stack(x, 128, 4, "conv3")
    x = residual_stack(x, 256, 6, "conv4")
    return residual_stack(x, 512, 3, "conv5")


def ResNet50(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
             classifier_activation="softmax", name="resnet50"):
    """ResNet50 as a functional Model (Keras' arguments; see :func:`arena.applications.VGG16`).

    The input is 224x224x3 with the ImageNet top, otherwise sides >= 32; without the top the output is
    (batch, 7, 7, 2048) for 224x224 (pooling 'avg' -> layer 'avg_pool', 'max' -> 'max_pool': (batch, 2048)).
    Inputs are preprocessed with :func:`preprocess_input` (RGB -> BGR, minus the ImageNet means)."""
    return build("ResNet50", "resnet50", _features, lambda x: GlobalAveragePooling2D(name="avg_pool")(x),
                 default_size=224, min_size=32, include_top=include_top, weights=weights, input_tensor=input_tensor,
                 input_shape=input_shape, pooling=pooling, classes=classes,
                 classifier_activation=classifier_activation, name=name, pool_names=("avg_pool", "max_pool"))


def preprocess_input(x, data_format=None):
    """ResNet50's input scaling (``caffe``): RGB -> BGR, then minus the ImageNet channel means; no scaling."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


decode_predictions = imagenet_utils.decode_predictions
