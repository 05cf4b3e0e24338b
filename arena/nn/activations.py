"""Activation functions (Keras names) and lookup by name."""
import jax
import jax.numpy as jnp


def linear(x):
    return x


def relu(x, alpha=0.0, max_value=None):
    y = jnp.where(x > 0, x, alpha * x) if alpha else jax.nn.relu(x)
    return jnp.minimum(y, max_value) if max_value is not None else y


def sigmoid(x):
    return jax.nn.sigmoid(x)


def hard_sigmoid(x):
    """Keras 2's piecewise-linear sigmoid: clip(0.2 x + 0.5, 0, 1)."""
    return jnp.clip(0.2 * x + 0.5, 0.0, 1.0)


def tanh(x):
    return jnp.tanh(x)


def softmax(x, axis=-1):
    return jax.nn.softmax(x, axis=axis)


def elu(x, alpha=1.0):
    return jax.nn.elu(x, alpha)


def selu(x):
    return jax.nn.selu(x)


def softplus(x):
    return jax.nn.softplus(x)


def softsign(x):
    return jax.nn.soft_sign(x)


def leaky_relu(x, alpha=0.3):
    return jnp.where(x >= 0, x, alpha * x)


def gelu(x, approximate=False):
    return jax.nn.gelu(x, approximate=approximate)


def swish(x):
    return jax.nn.swish(x)


def exponential(x):
    return jnp.exp(x)


_ALL = {f.__name__: f for f in (linear, relu, sigmoid, hard_sigmoid, tanh, softmax, elu, selu,
                                softplus, softsign, leaky_relu, gelu, swish, exponential)}


def get(identifier, custom_objects=None):
    """Resolve ``None`` (linear), a name or a callable to an activation function."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str):
        if custom_objects and identifier in custom_objects:
            return custom_objects[identifier]
        if identifier in _ALL:
            return _ALL[identifier]
    raise ValueError(f"Unknown activation {identifier!r}; expected one of {sorted(_ALL)} "
                     f"or a callable (pass custom ones to load_model via custom_objects)")


def serialize(fn):
    """The name stored in a config: the function's name."""
    return getattr(fn, "__name__", str(fn))
