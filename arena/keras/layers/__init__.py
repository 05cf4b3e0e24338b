"""Keras 2's ``keras.layers``: every layer Arena has, under the module paths Keras 2 used
(``core``, ``convolutional``, ``pooling``, ``normalization``, ``recurrent``, ``embeddings``, ``merge``,
``advanced_activations``, ``wrappers``, ``noise``), plus Keras 1's ``Merge``/``merge``. The classes are
arena.nn's (thin subclasses of the same name where Keras 1 arguments need translating: see
:mod:`arena.keras.legacy`)."""
from arena.keras.layers import (advanced_activations, convolutional, core, embeddings, merge, noise, normalization,
                                pooling, recurrent, wrappers)
from arena.keras.layers.advanced_activations import *  # noqa: F403
from arena.keras.layers.convolutional import *  # noqa: F403
from arena.keras.layers.core import *  # noqa: F403
from arena.keras.layers.embeddings import *  # noqa: F403
from arena.keras.layers.merge import *  # noqa: F403
from arena.keras.layers.noise import *  # noqa: F403
from arena.keras.layers.normalization import *  # noqa: F403
from arena.keras.layers.recurrent import *  # noqa: F403
from arena.keras.layers.wrappers import *  # noqa: F403
from arena.nn.layers import Input, InputLayer, Layer
