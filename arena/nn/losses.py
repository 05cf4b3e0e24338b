"""Losses with Keras names. Each maps ``(y_true, y_pred)`` to one value per sample
(the mean over the last axis where Keras takes it); the model weights and
averages them over the batch."""
import jax
import jax.numpy as jnp

EPSILON = 1e-7  # Keras' fuzz factor: probabilities are clipped to [eps, 1 - eps]


def mean_squared_error(y_true, y_pred):
    return jnp.mean(jnp.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    return jnp.mean(jnp.abs(y_pred - y_true), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    diff = jnp.abs((y_true - y_pred) / jnp.clip(jnp.abs(y_true), EPSILON, None))
    return 100.0 * jnp.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    a = jnp.log(jnp.clip(y_pred, EPSILON, None) + 1.0)
    b = jnp.log(jnp.clip(y_true, EPSILON, None) + 1.0)
    return jnp.mean(jnp.square(a - b), axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    if from_logits:
        return jnp.mean(jnp.maximum(y_pred, 0) - y_pred * y_true + jnp.log1p(jnp.exp(-jnp.abs(y_pred))), axis=-1)
    p = jnp.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return -jnp.mean(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log(1.0 - p), axis=-1)


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    if from_logits:
        return -jnp.sum(y_true * jax.nn.log_softmax(y_pred, axis=-1), axis=-1)
    p = y_pred / jnp.sum(y_pred, axis=-1, keepdims=True)
    return -jnp.sum(y_true * jnp.log(jnp.clip(p, EPSILON, 1.0 - EPSILON)), axis=-1)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    labels = _sparse_labels(y_true, y_pred)
    if from_logits:
        logp = jax.nn.log_softmax(y_pred, axis=-1)
    else:
        p = y_pred / jnp.sum(y_pred, axis=-1, keepdims=True)
        logp = jnp.log(jnp.clip(p, EPSILON, 1.0 - EPSILON))
    return -jnp.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]


def _sparse_labels(y_true, y_pred):
    y = jnp.asarray(y_true)
    if y.ndim == y_pred.ndim and y.shape[-1] == 1:
        y = y[..., 0]
    return y.astype(jnp.int32)


def hinge(y_true, y_pred):
    return jnp.mean(jnp.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    return jnp.mean(jnp.square(jnp.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    err = jnp.abs(y_pred - y_true)
    quad = jnp.minimum(err, delta)
    return jnp.mean(0.5 * jnp.square(quad) + delta * (err - quad), axis=-1)


def kl_divergence(y_true, y_pred):
    t = jnp.clip(y_true, EPSILON, 1.0)
    p = jnp.clip(y_pred, EPSILON, 1.0)
    return jnp.sum(t * jnp.log(t / p), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    def unit(x):
        return x / jnp.sqrt(jnp.maximum(jnp.sum(jnp.square(x), axis=axis, keepdims=True), 1e-12))
    return -jnp.sum(unit(y_true) * unit(y_pred), axis=axis)


def logcosh(y_true, y_pred):
    d = y_pred - y_true
    return jnp.mean(d + jax.nn.softplus(-2.0 * d) - jnp.log(2.0), axis=-1)


def poisson(y_true, y_pred):
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + EPSILON), axis=-1)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
huber_loss = huber
cosine_proximity = cosine_similarity

_ALL = {
    "mean_squared_error": mse, "mse": mse, "mean_absolute_error": mae, "mae": mae,
    "mean_absolute_percentage_error": mape, "mape": mape,
    "mean_squared_logarithmic_error": msle, "msle": msle,
    "binary_crossentropy": binary_crossentropy, "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "hinge": hinge, "squared_hinge": squared_hinge, "huber": huber, "huber_loss": huber,
    "kl_divergence": kl_divergence, "kullback_leibler_divergence": kl_divergence, "kld": kl_divergence,
    "cosine_similarity": cosine_similarity, "cosine_proximity": cosine_similarity,
    "logcosh": logcosh, "log_cosh": logcosh, "poisson": poisson,
}


def get(identifier, custom_objects=None):
    """Resolve a loss name or callable to a per-sample loss function."""
    if callable(identifier):
        return identifier
    if isinstance(identifier, str):
        if custom_objects and identifier in custom_objects:
            return custom_objects[identifier]
        if identifier in _ALL:
            return _ALL[identifier]
    raise ValueError(f"Unknown loss {identifier!r}; expected one of {sorted(_ALL)} or a callable "
                     f"(y_true, y_pred) -> per-sample loss")


# The name each built-in loss is saved under: the one Keras 3 reads back from a legacy .h5 training
# config (Keras 2.15 has losses of the same names) (Keras 3.15 cannot read 'mse', 'mae', 'mape', 'msle', 'kld', 'huber_loss',
# 'logcosh', 'kullback_leibler_divergence' or 'cosine_proximity' there, not even from its own files).
_SAVED_NAMES = {mse: "mean_squared_error", mae: "mean_absolute_error", mape: "mean_absolute_percentage_error",
                msle: "mean_squared_logarithmic_error", kl_divergence: "kl_divergence", huber: "huber",
                logcosh: "log_cosh", cosine_similarity: "cosine_similarity"}


def name_of(loss):
    """The name a loss (a built-in's function or any of its names, or another callable) is saved under."""
    if isinstance(loss, str):
        return _SAVED_NAMES.get(_ALL.get(loss), loss)
    if loss in _SAVED_NAMES:
        return _SAVED_NAMES[loss]
    for name, f in _ALL.items():
        if f is loss:
            return name
    return getattr(loss, "__name__", "loss")
