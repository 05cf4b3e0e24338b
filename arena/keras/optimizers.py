"""Keras 2's ``keras.optimizers``: arena.nn's optimizers (Keras 2.0's defaults), taking Keras 2.0's ``lr=``
and ``decay=`` with a warning naming today's spelling (see :mod:`arena.keras.legacy`)."""
from arena.keras.legacy import keras2_class
from arena.nn import optimizers as _nn
from arena.nn.optimizers import LossScaleOptimizer, Optimizer, get

SGD = keras2_class(_nn.SGD, __name__, table="optimizer")
RMSprop = keras2_class(_nn.RMSprop, __name__, table="optimizer")
Adagrad = keras2_class(_nn.Adagrad, __name__, table="optimizer")
Adadelta = keras2_class(_nn.Adadelta, __name__, table="optimizer")
Adam = keras2_class(_nn.Adam, __name__, table="optimizer")
Adamax = keras2_class(_nn.Adamax, __name__, table="optimizer")
Nadam = keras2_class(_nn.Nadam, __name__, table="optimizer")

# Keras 2's lower-case aliases.
sgd, rmsprop, adagrad, adadelta, adam, adamax, nadam = SGD, RMSprop, Adagrad, Adadelta, Adam, Adamax, Nadam

__all__ = ["LossScaleOptimizer", "Optimizer", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "Adamax", "Nadam", "get"]
