"""``arena.keras``: Keras 2's module paths over Arena, so that a Keras 2 program runs with ``keras``
replaced by ``arena.keras`` in its imports.

``arena.keras.models``, ``.layers`` (and ``.layers.core``, ``.convolutional``, ``.pooling``,
``.normalization``, ``.recurrent``, ``.embeddings``, ``.merge``, ``.advanced_activations``,
``.wrappers``, ``.noise``), ``.optimizers``, ``.losses`` (``.objectives``), ``.metrics``,
``.callbacks``, ``.mixed_precision``, ``.initializers``, ``.regularizers``, ``.constraints``, ``.activations``, ``.utils``,
``.datasets``, ``.preprocessing``, ``.applications``, ``.engine`` and ``.backend`` hold arena.nn's
classes under their Keras 2 names. Keras 1 spellings (``nb_epoch``, ``Dense(output_dim=...)``,
``Convolution2D(32, 3, 3, border_mode='same')``, ``Merge(mode='concat')``, ...) are translated by one
table, :mod:`arena.keras.legacy`, each with a ``DeprecationWarning`` naming the Keras 2 spelling; the
namespace follows standalone Keras 2.0 (the release the book used) where Keras 3 differs: ``hard_sigmoid``
recurrent gates, GRUs with ``reset_after=False``, ``'accuracy'`` logged as ``'acc'``.
"""
import arena.nn as _nn  # noqa: F401  (arena.nn first: the layer registry and the models it builds on)

from arena.keras import (activations, applications, backend, callbacks, constraints, datasets, engine, initializers,
                         layers, legacy, losses, metrics, mixed_precision, models, objectives, optimizers, preprocessing,
                         regularizers, utils)

# The Keras release whose behaviour the namespace follows, as Keras 2 programs read it
# (``int(keras.__version__.split('.')[0]) > 1``), marked as Arena's.
__version__ = "2.0.8+arena"

__all__ = ["activations", "applications", "backend", "callbacks", "constraints", "datasets", "engine",
           "initializers", "layers", "legacy", "losses", "metrics", "mixed_precision", "models", "objectives", "optimizers",
           "preprocessing", "regularizers", "utils", "__version__"]
