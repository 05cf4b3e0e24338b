"""Metrics with Keras names. Each maps ``(y_true, y_pred)`` to one value per sample;
the training loop keeps running, sample-weighted means over an epoch."""
import jax.numpy as jnp

from arena.nn import losses


def binary_accuracy(y_true, y_pred, threshold=0.5):
    return jnp.mean((y_true == (y_pred > threshold).astype(y_pred.dtype)).astype(jnp.float32), axis=-1)


def categorical_accuracy(y_true, y_pred):
    return (jnp.argmax(y_true, axis=-1) == jnp.argmax(y_pred, axis=-1)).astype(jnp.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    labels = losses._sparse_labels(y_true, y_pred)
    return (labels == jnp.argmax(y_pred, axis=-1)).astype(jnp.float32)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    true = jnp.argmax(y_true, axis=-1)
    return _in_top_k(y_pred, true, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    return _in_top_k(y_pred, losses._sparse_labels(y_true, y_pred), k)


def _in_top_k(y_pred, labels, k):
    target = jnp.take_along_axis(y_pred, labels[..., None], axis=-1)
    return (jnp.sum(y_pred > target, axis=-1) < k).astype(jnp.float32)


_ALL = {
    "binary_accuracy": binary_accuracy, "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
}


def get(identifier, loss_fn=None, output_shape=None, custom_objects=None):
    """Resolve a metric to ``(log_name, fn)``.

    ``'accuracy'``/``'acc'`` resolve as Keras does from the loss: binary accuracy for
    binary crossentropy or a single output unit, sparse categorical accuracy for
    sparse crossentropy, categorical accuracy otherwise. The log key is the name
    the user wrote ('acc' -> 'acc', 'accuracy' -> 'accuracy').
    """
    if callable(identifier):
        return getattr(identifier, "__name__", "metric"), identifier
    if not isinstance(identifier, str):
        raise ValueError(f"Unknown metric {identifier!r}")
    if custom_objects and identifier in custom_objects:
        return identifier, custom_objects[identifier]
    if identifier in ("accuracy", "acc"):
        if loss_fn is losses.binary_crossentropy or (output_shape is not None and output_shape[-1] == 1):
            return identifier, binary_accuracy
        if loss_fn is losses.sparse_categorical_crossentropy:
            return identifier, sparse_categorical_accuracy
        return identifier, categorical_accuracy
    if identifier in _ALL:
        return identifier, _ALL[identifier]
    try:
        return identifier, losses.get(identifier)
    except ValueError:
        raise ValueError(f"Unknown metric {identifier!r}; expected 'accuracy', one of {sorted(_ALL)}, "
                         f"a loss name or a callable") from None
