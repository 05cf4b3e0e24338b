"""Keras 2's ``keras.losses``: per-sample losses by their Keras names (arena.nn.losses)."""
from arena.nn.losses import (KLD, MAE, MAPE, MSE, MSLE, binary_crossentropy, categorical_crossentropy,
                             cosine_proximity, get, hinge, kld, kullback_leibler_divergence, logcosh, mae, mape,
                             mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
                             mean_squared_logarithmic_error, mse, msle, poisson, sparse_categorical_crossentropy,
                             squared_hinge)

__all__ = ["mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
           "mean_squared_logarithmic_error", "squared_hinge", "hinge", "logcosh", "categorical_crossentropy",
           "sparse_categorical_crossentropy", "binary_crossentropy", "kullback_leibler_divergence", "poisson",
           "cosine_proximity", "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE", "kld", "KLD", "get"]
