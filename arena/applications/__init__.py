"""Pretrained ImageNet models, as ``keras.applications``: VGG16, VGG19, InceptionV3 and ResNet50 with
Keras' arguments, layer names and parameter counts, and Keras' published weight files.

Each model's module also holds its ``preprocess_input`` and ``decode_predictions``::

    from arena.applications import VGG16, vgg16
    model = VGG16(weights="imagenet")                 # Keras' file, downloaded into the cache once
    preds = model.predict(vgg16.preprocess_input(images))
    vgg16.decode_predictions(preds, top=3)
"""
from arena.applications import imagenet_utils, inception_v3, resnet50, vgg16, vgg19
from arena.applications.inception_v3 import InceptionV3
from arena.applications.resnet50 import ResNet50
from arena.applications.vgg16 import VGG16
from arena.applications.vgg19 import VGG19

__all__ = ["VGG16", "VGG19", "InceptionV3", "ResNet50", "imagenet_utils", "vgg16", "vgg19", "inception_v3",
           "resnet50"]
