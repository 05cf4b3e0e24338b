"""VGG19, as ``keras.applications.vgg19``: VGG16 with 4 convolutions in blocks 3-5 (143,667,240 parameters
with the top, 20,024,384 without)."""
from arena.applications import imagenet_utils
from arena.applications.vgg16 import preprocess_input, vgg

__all__ = ["VGG19", "preprocess_input", "decode_predictions"]


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
          classifier_activation="softmax", name="vgg19"):
    """VGG19 as a functional Model; the arguments are :func:`arena.applications.VGG16`'s."""
    return vgg("VGG19", "vgg19", (2, 2, 4, 4, 4), include_top, weights, input_tensor, input_shape, pooling, classes,
               classifier_activation, name)


decode_predictions = imagenet_utils.decode_predictions
