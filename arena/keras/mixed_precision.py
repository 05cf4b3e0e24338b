"""``keras.mixed_precision`` (Keras 2.4+ and Keras 3 names): arena.nn's dtype policies."""
from arena.nn.mixed_precision import (DTypePolicy, Policy, dtype_policy, global_policy, set_dtype_policy,
                                      set_global_policy)
from arena.nn.optimizers import LossScaleOptimizer

__all__ = ["DTypePolicy", "Policy", "dtype_policy", "global_policy", "set_dtype_policy", "set_global_policy",
           "LossScaleOptimizer"]
