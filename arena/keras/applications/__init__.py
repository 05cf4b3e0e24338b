"""Keras 2's ``keras.applications``: VGG16, VGG19, ResNet50 and InceptionV3 with Keras' arguments and weight
files, and their modules (``vgg16.preprocess_input``, ``imagenet_utils.decode_predictions``, ...)."""
from arena.applications import (InceptionV3, ResNet50, VGG16, VGG19, imagenet_utils, inception_v3, resnet50, vgg16,
                                vgg19)
from arena.keras._aliases import alias

alias(__name__, vgg16=vgg16, vgg19=vgg19, resnet50=resnet50, inception_v3=inception_v3,
      imagenet_utils=imagenet_utils)

__all__ = ["VGG16", "VGG19", "ResNet50", "InceptionV3", "vgg16", "vgg19", "resnet50", "inception_v3",
           "imagenet_utils"]
