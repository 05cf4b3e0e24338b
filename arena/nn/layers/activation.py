"""Activation layers with options (Keras' "advanced activations"): LeakyReLU, ReLU, ELU, PReLU,
ThresholdedReLU and Softmax. The plain ``Activation('relu')`` layer is in ``core.py``."""
import jax
import jax.numpy as jnp

from arena import checks
from arena.nn import activations, constraints, initializers, regularizers
from arena.nn.layers.base import Layer, register


def _slope(layer, what, value):
    return checks.number(value, f"{type(layer).__name__} '{layer.name}': {what}", 0)


@register
class LeakyReLU(Layer):
    """``x if x >= 0 else alpha * x`` (Keras default alpha 0.3)."""

    supports_masking = True

    def __init__(self, alpha=0.3, negative_slope=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha if negative_slope is None else negative_slope)

    def call(self, params, x, training=False, key=None):
        return activations.leaky_relu(x, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


@register
class ReLU(Layer):
    """``min(x, max_value)`` for ``x >= threshold``, else ``negative_slope * (x - threshold)``."""

    supports_masking = True

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = None if max_value is None else _slope(self, "max_value", max_value)
        self.negative_slope = _slope(self, "negative_slope", negative_slope)
        self.threshold = checks.number(threshold, f"ReLU '{self.name}': threshold")

    def call(self, params, x, training=False, key=None):
        y = jnp.where(x >= self.threshold, x, self.negative_slope * (x - self.threshold))
        return y if self.max_value is None else jnp.minimum(y, self.max_value)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


@register
class ELU(Layer):
    """``x if x > 0 else alpha * (exp(x) - 1)``."""

    supports_masking = True

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = checks.number(alpha, f"ELU '{self.name}': alpha")

    def call(self, params, x, training=False, key=None):
        return jax.nn.elu(x, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


@register
class ThresholdedReLU(Layer):
    """``x if x > theta else 0``."""

    supports_masking = True

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.theta = _slope(self, "theta", theta)

    def call(self, params, x, training=False, key=None):
        return jnp.where(x > self.theta, x, 0.0)

    def get_config(self):
        return {**super().get_config(), "theta": self.theta}


@register
class Softmax(Layer):
    """Softmax over ``axis`` (default the last)."""

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = checks.integer(axis, f"Softmax '{self.name}': axis")

    def call(self, params, x, training=False, key=None):
        return jax.nn.softmax(x, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@register
class PReLU(Layer):
    """``x if x >= 0 else alpha * x`` with a learned ``alpha`` per unit (Keras' layout: one per input
    feature, shared along ``shared_axes``, e.g. ``[1, 2]`` for one per channel of an image)."""

    supports_masking = True

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            self.shared_axes = [checks.integer(a, f"PReLU '{self.name}': shared_axes entry", 1) for a in axes]

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if axis > len(shape):
                raise ValueError(f"PReLU '{self.name}': shared axis {axis} is beyond the input's rank; input shape "
                                 f"{input_shape}")
            shape[axis - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(f"PReLU '{self.name}' needs known sizes on its unshared axes; got input shape "
                             f"{input_shape} (share the unknown axes with shared_axes)")
        self.add_weight("alpha", tuple(shape), self.alpha_initializer, self.alpha_regularizer, self.alpha_constraint)

    def call(self, params, x, training=False, key=None):
        return jnp.where(x >= 0, x, params["alpha"] * x)

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint), "shared_axes": self.shared_axes}
