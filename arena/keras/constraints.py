"""Keras 2's ``keras.constraints``, with the Keras 1 names Keras 2 kept as aliases (``maxnorm``, ...)."""
from arena.nn.constraints import MaxNorm, NonNeg, UnitNorm, get, max_norm, non_neg, serialize, unit_norm

maxnorm, nonneg, unitnorm = max_norm, non_neg, unit_norm

__all__ = ["MaxNorm", "NonNeg", "UnitNorm", "max_norm", "non_neg", "unit_norm", "maxnorm", "nonneg", "unitnorm",
           "get", "serialize"]
