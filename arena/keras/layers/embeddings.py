"""Keras 2's ``keras.layers.embeddings``: Embedding (its ``output_dim`` is Keras 2's own argument)."""
from arena.keras.legacy import keras2_class
from arena.nn import layers as _nn

Embedding = keras2_class(_nn.Embedding, __name__)

__all__ = ["Embedding"]
