"""Embedding: integer token ids -> dense vectors."""
import jax.numpy as jnp
import numpy as np

from arena import checks
from arena.nn import constraints, initializers, regularizers
from arena.nn.layers.base import Layer, register


@register
class Embedding(Layer):
    """``y[..., :] = embeddings[x[...]]``: (batch, ...) integer ids in ``0..input_dim-1`` ->
    (batch, ..., output_dim); weight ``embeddings`` (input_dim, output_dim).

    ``mask_zero=True`` treats id 0 as padding: the mask ``x != 0`` flows on to RNNs, merges and the
    loss (so id 0 cannot be a real token: ``input_dim`` counts it). ``input_length`` (Keras 2) fixes
    the sequence length of a first layer; ``weights=[matrix]`` sets the initial embeddings (e.g.
    GloVe vectors), with ``trainable=False`` to keep them frozen.
    """

    supports_masking = True

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 activity_regularizer=None, embeddings_constraint=None, mask_zero=False, input_length=None,
                 weights=None, **kwargs):
        if input_length is not None and "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,) if isinstance(input_length, int) else tuple(input_length)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = f"Embedding '{self.name}'"
        self.input_dim = checks.integer(input_dim, f"{who}: input_dim", 1, expected="a positive integer")
        self.output_dim = checks.integer(output_dim, f"{who}: output_dim", 1, expected="a positive integer")
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length
        self._initial = None
        if weights is not None:
            matrix = np.asarray(weights[0] if isinstance(weights, (list, tuple)) else weights, np.float32)
            if matrix.shape != (self.input_dim, self.output_dim):
                raise ValueError(f"Embedding '{self.name}': weights[0] must have shape ({self.input_dim}, "
                                 f"{self.output_dim}) (input_dim, output_dim); got {matrix.shape}")
            self._initial = matrix

    def build(self, input_shape):
        if not isinstance(input_shape, tuple) or len(input_shape) < 2:
            raise ValueError(f"Embedding '{self.name}' expects integer ids of shape (batch, ...); got shape "
                             f"{input_shape}")
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer,
                        self.embeddings_regularizer, self.embeddings_constraint)

    def init_params(self, key, input_shape):
        params, state = super().init_params(key, input_shape)
        if self._initial is not None:
            params["embeddings"] = jnp.asarray(self._initial)
        return params, state

    def call(self, params, x, training=False, key=None):
        # Ids outside 0..input_dim-1 would be clamped silently by the gather: see check_ids.
        return jnp.take(params["embeddings"], x.astype(jnp.int32), axis=0)

    def check_ids(self, x):
        """Host-side check of concrete ids (fit/predict call it on their inputs): a clear error for
        ids the table has no row for, which the compiled gather would clamp silently."""
        ids = np.asarray(x)
        if ids.size and (not np.issubdtype(ids.dtype, np.integer) and np.any(ids != np.round(ids))):
            raise ValueError(f"Embedding '{self.name}' takes integer token ids; got non-integer values")
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            raise ValueError(f"Embedding '{self.name}' has input_dim={self.input_dim}: token ids must be in "
                             f"0..{self.input_dim - 1}; got ids from {int(ids.min())} to {int(ids.max())}")

    def compute_mask(self, inputs, mask=None):
        return inputs != 0 if self.mask_zero else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero, "input_length": self.input_length}
