"""BatchNormalization (Keras 2 semantics)."""
import jax
import jax.numpy as jnp
import numpy as np

from arena.nn import constraints, initializers, regularizers
from arena.nn.layers.base import Layer, register
from arena.nn.layers.conv import as_float


@register
class BatchNormalization(Layer):
    """Normalise each feature over the batch: ``y = gamma * (x - mean) / sqrt(var + epsilon) + beta``.

    Features live on ``axis`` (int or list of ints; default -1, the channels); the statistics reduce
    over every other axis (batch, and steps/height/width). Works for inputs of any rank >= 2;
    shape in = shape out. Weights in Keras order: params ``gamma`` (if ``scale``), ``beta``
    (if ``center``), state ``moving_mean``, ``moving_variance``, each of shape (features,).

    Training: mean and the biased variance of the batch normalise the input, and the moving
    statistics become ``moving * momentum + batch * (1 - momentum)``; as Keras 2 does, the
    variance folded into ``moving_variance`` is the unbiased one, ``var * n / (n - 1)`` with n the
    number of values reduced per feature. Inference uses the moving statistics. As in TF2 Keras,
    a layer with ``trainable = False`` always runs in inference mode (fine-tuning keeps its statistics).
    """

    autocast = False  # computes in float32 itself, returns its compute dtype

    supports_masking = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, fused=None, **kwargs):
        # `fused` only picks a TensorFlow kernel; the math is the same, so it is accepted and ignored.
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis or not all(isinstance(a, (int, np.integer)) for a in axis):
                raise ValueError(f"BatchNormalization '{self.name}': axis must be an int or a list of ints; "
                                 f"got {axis!r}")
            axis = [int(a) for a in axis]
        elif not isinstance(axis, (int, np.integer)):
            raise ValueError(f"BatchNormalization '{self.name}': axis must be an int or a list of ints; "
                             f"got {axis!r}")
        else:
            axis = int(axis)
        self.axis = axis
        if not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"BatchNormalization '{self.name}': momentum must be in [0, 1]; got {momentum!r}")
        if float(epsilon) <= 0:
            raise ValueError(f"BatchNormalization '{self.name}': epsilon must be positive; got {epsilon!r}")
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self._axes = None

    def _resolve_axes(self, input_shape):
        ndim = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        out = []
        for a in axes:
            if not -ndim <= a < ndim:
                raise ValueError(f"BatchNormalization '{self.name}': axis {self.axis} is out of range for input "
                                 f"of rank {ndim}, shape {input_shape}")
            out.append(a % ndim)
        if 0 in out:
            raise ValueError(f"BatchNormalization '{self.name}': axis {self.axis} is the batch axis of input "
                             f"shape {input_shape}; normalise the features instead (axis=-1 for channels-last)")
        if len(set(out)) != len(out):
            raise ValueError(f"BatchNormalization '{self.name}': duplicate axes in {self.axis}")
        return tuple(sorted(out))

    def build(self, input_shape):
        if not isinstance(input_shape, tuple) or len(input_shape) < 2:
            raise ValueError(f"BatchNormalization '{self.name}' expects input of rank >= 2 (batch, ..., "
                             f"features); got shape {input_shape}")
        self._axes = self._resolve_axes(input_shape)
        if any(input_shape[a] is None for a in self._axes):
            raise ValueError(f"BatchNormalization '{self.name}': axis {self.axis} of input shape {input_shape} "
                             f"must have a known size")
        shape = self._param_shape(input_shape)
        if self.scale:
            self.add_weight("gamma", shape, self.gamma_initializer, self.gamma_regularizer, self.gamma_constraint)
        if self.center:
            self.add_weight("beta", shape, self.beta_initializer, self.beta_regularizer, self.beta_constraint)
        self.add_weight("moving_mean", shape, self.moving_mean_initializer, trainable=False)
        self.add_weight("moving_variance", shape, self.moving_variance_initializer, trainable=False)

    def _param_shape(self, input_shape):
        if len(self._axes) == 1:
            return (int(input_shape[self._axes[0]]),)
        # Several feature axes: Keras keeps the full rank with 1 on the reduced axes.
        return tuple(int(input_shape[i]) if i in self._axes else 1 for i in range(len(input_shape)))

    def apply(self, params, state, x, *, training=False, key=None, mask=None):
        x = as_float(x)
        low = (jnp.float16, jnp.bfloat16)
        out_dtype = self.compute_dtype if self.compute_dtype in ("float16", "bfloat16") else (
            jnp.float32 if x.dtype in low else x.dtype)
        if x.dtype in low:  # statistics in float32, as Keras 3 (16 bits overflow)
            x = x.astype(jnp.float32)
        ndim = x.ndim
        axes = self._axes if self._axes is not None else self._resolve_axes((None,) + tuple(x.shape[1:]))
        reduce = tuple(i for i in range(ndim) if i not in axes)
        bshape = tuple(x.shape[i] if i in axes else 1 for i in range(ndim))
        new_state = state
        if training and self.trainable:
            mean = jnp.mean(x, axis=reduce)
            var = jnp.mean(jnp.square(x - mean.reshape(bshape)), axis=reduce)  # biased, normalises x
            n = int(np.prod([x.shape[i] for i in reduce]))
            unbiased = var * (n / max(n - 1, 1))
            m = self.momentum
            pshape = state["moving_mean"].shape
            new_mean = state["moving_mean"] * m + jax.lax.stop_gradient(mean).reshape(pshape) * (1 - m)
            new_var = state["moving_variance"] * m + jax.lax.stop_gradient(unbiased).reshape(pshape) * (1 - m)
            new_state = {"moving_mean": new_mean.astype(state["moving_mean"].dtype),
                         "moving_variance": new_var.astype(state["moving_variance"].dtype)}
            mean, var = mean.reshape(bshape), var.reshape(bshape)
        else:
            mean = state["moving_mean"].reshape(bshape)
            var = state["moving_variance"].reshape(bshape)
        inv = jax.lax.rsqrt(var + self.epsilon)
        if self.scale:
            inv = inv * params["gamma"].reshape(bshape)
        y = (x - mean) * inv
        if self.center:
            y = y + params["beta"].reshape(bshape)
        return y.astype(out_dtype), new_state

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}
