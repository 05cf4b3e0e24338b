"""Keras 2's ``keras.backend`` (``K``) on ``jax.numpy``.

On arrays (numpy or JAX, also the traced arrays inside a Lambda layer or a custom loss) every function
computes at once. On symbolic values (a layer's output, ``placeholder()``, ``variable()``,
``learning_phase()``) it records an expression, as Keras 2's graph mode did; ``function(inputs,
outputs)`` compiles the expressions (and the model layers they run through) into one jitted function,
and ``gradients(loss, x)`` is ``jax.grad`` of part of it. See :mod:`arena.keras._symbolic`.

``set_image_data_format('channels_first')`` (Keras 1's ``set_image_dim_ordering('th')``) makes the image
layers created afterwards (and this module's ``conv2d``/``pool2d``/``bias_add``) read (batch, channels, ...),
as in Keras 2; arena.nn runs them as channels-last between two transposes, as Keras 2's TensorFlow backend
did. ``floatx``/``epsilon`` are this module's defaults for the
arrays and clipping it creates; arena.nn's layers compute in float32 and its losses clip with 1e-7.
"""
import builtins
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from arena import random as _random
from arena.keras._symbolic import (LEARNING_PHASE, Gradient, Graph, Placeholder, Variable, call, is_symbolic,
                                   run_now)
from arena.nn.layers import Input, KerasTensor
from arena.nn.layers.base import clear_session as _clear_layer_names

_config = {"epsilon": 1e-7, "floatx": "float32", "learning_phase": 0, "image_data_format": "channels_last"}
_DATA_FORMATS = ("channels_last", "channels_first")
_FLOATS = ("float16", "bfloat16", "float32", "float64")


def _op(fn):
    """``fn`` on arrays now, recorded as an expression on symbolic values (see :func:`_symbolic.call`)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return call(fn, *args, **kwargs)
    return wrapper


# ---- configuration ----------------------------------------------------------------------------
def backend():
    """The backend's name: ``'jax'``."""
    return "jax"


def epsilon():
    """The fuzz factor of this module's clipping (default 1e-7)."""
    return _config["epsilon"]


def set_epsilon(value):
    value = float(value)
    if not 0 < value < 1:
        raise ValueError(f"set_epsilon: the fuzz factor must lie in (0, 1); got {value}")
    _config["epsilon"] = value


def floatx():
    """The dtype of the arrays this module creates (default 'float32')."""
    return _config["floatx"]


def set_floatx(value):
    if value not in _FLOATS:
        raise ValueError(f"set_floatx: unknown float type {value!r}; expected one of {_FLOATS}")
    if value == "float64" and not jax.config.jax_enable_x64:
        raise ValueError("set_floatx('float64'): JAX computes in 32 bits unless told otherwise; call "
                         "jax.config.update('jax_enable_x64', True) at the start of the program first")
    _config["floatx"] = value


def cast_to_floatx(x):
    """``x`` as a numpy array of :func:`floatx`."""
    return np.asarray(x, dtype=floatx())


def image_data_format():
    """The image layout that layers created with ``data_format=None`` take: ``'channels_last'`` (default:
    batch, height, width, channels) or ``'channels_first'`` (batch, channels, height, width)."""
    return _config["image_data_format"]


def set_image_data_format(data_format):
    """Set :func:`image_data_format` (it applies to layers created afterwards)."""
    if data_format not in _DATA_FORMATS:
        raise ValueError(f"set_image_data_format: unknown data format {data_format!r}; expected one of "
                         f"{_DATA_FORMATS}")
    _config["image_data_format"] = data_format


def image_dim_ordering():
    """Keras 1's name of the image layout: ``'tf'`` (channels-last) or ``'th'`` (channels-first)."""
    return "th" if image_data_format() == "channels_first" else "tf"


def set_image_dim_ordering(dim_ordering):
    """Keras 1's :func:`set_image_data_format`: ``'tf'`` is channels-last, ``'th'`` channels-first."""
    if dim_ordering not in ("tf", "th"):
        raise ValueError(f"set_image_dim_ordering: unknown ordering {dim_ordering!r}; expected 'tf' (channels-last) "
                         f"or 'th' (channels-first)")
    set_image_data_format("channels_first" if dim_ordering == "th" else "channels_last")


def learning_phase():
    """The symbolic learning phase: give it to :func:`function` as an input to feed 1 (training) or 0."""
    return LEARNING_PHASE


def set_learning_phase(value):
    """The learning phase of functions that are not fed one: 1 training (dropout on), 0 inference."""
    if value not in (0, 1):
        raise ValueError(f"set_learning_phase: expected 0 (test) or 1 (train); got {value!r}")
    _config["learning_phase"] = int(value)


def clear_session():
    """Restart the automatic layer names (dense_1, ...) and the learning phase."""
    _clear_layer_names()
    _config["learning_phase"] = 0


# ---- variables, placeholders, values ----------------------------------------------------------
def variable(value, dtype=None, name=None, constraint=None):
    """A :class:`Variable` holding ``value`` (dtype :func:`floatx` by default)."""
    if constraint is not None:
        raise ValueError("variable: constraints act on layer weights in Arena (kernel_constraint=...), not on "
                         "K.variable")
    return Variable(np.asarray(value), dtype or floatx(), name)


def constant(value, dtype=None, shape=None, name=None):
    """``value`` as an array (broadcast to ``shape`` when given)."""
    out = jnp.asarray(value, dtype or floatx())
    return jnp.broadcast_to(out, tuple(shape)) if shape is not None else out


def placeholder(shape=None, ndim=None, dtype=None, sparse=False, name=None):
    """A symbolic input of ``shape`` (batch axis included; None for unknown sizes): an ``Input`` tensor, so it
    can also start a model, that takes Python's operators (``x - 0.5``)."""
    if sparse:
        raise ValueError("placeholder: sparse placeholders are not supported; feed dense arrays")
    if shape is None:
        if ndim is None:
            raise ValueError("placeholder needs a shape (or ndim)")
        shape = (None,) * int(ndim)
    tensor = Input(batch_shape=tuple(shape), dtype=dtype or floatx(), name=name)
    tensor.__class__ = Placeholder  # the same tensor (its InputLayer refers to it), with the operators added
    return tensor


def is_keras_tensor(x):
    """Whether ``x`` is a symbolic tensor of the functional API (an Input's or a layer's output)."""
    return isinstance(x, KerasTensor)


def get_value(x):
    """A variable's value (or an array's, or a number's) as numpy."""
    return np.asarray(run_now(x, "get_value"))


def batch_get_value(xs):
    return [get_value(x) for x in xs]


def set_value(x, value):
    """Give the variable ``x`` a new value of the same shape."""
    if not isinstance(x, Variable):
        raise TypeError(f"set_value needs a K.variable; got {type(x).__name__}. To change a compiled model's "
                        f"learning rate use model.set_learning_rate(value) (or a LearningRateScheduler callback)")
    value = np.asarray(value)
    if value.shape != x.shape:
        raise ValueError(f"set_value: variable '{x.name}' has shape {x.shape}; got a value of shape {value.shape}")
    x.value = jnp.asarray(value, x.value.dtype)


def batch_set_value(tuples):
    for x, value in tuples:
        set_value(x, value)


def eval(x):
    """The value of a variable, or of an expression of variables and constants, as numpy."""
    return np.asarray(run_now(x, "eval"))


def int_shape(x):
    """The shape as a tuple of ints (None where unknown)."""
    if isinstance(x, (KerasTensor, Variable)) or is_symbolic(x):
        return tuple(x.shape)
    return tuple(np.shape(x))


def ndim(x):
    return len(int_shape(x))


def dtype(x):
    """The dtype's name, e.g. 'float32'."""
    if isinstance(x, (KerasTensor, Variable)) or is_symbolic(x):
        return str(x.dtype)
    return jnp.asarray(x).dtype.name


def count_params(x):
    return int(math.prod(int_shape(x)))


def zeros(shape, dtype=None, name=None):
    """A variable of zeros (Keras 2 made these variables)."""
    return Variable(jnp.zeros(tuple(shape), dtype or floatx()), name=name)


def ones(shape, dtype=None, name=None):
    """A variable of ones."""
    return Variable(jnp.ones(tuple(shape), dtype or floatx()), name=name)


def eye(size, dtype=None, name=None):
    """A variable holding the identity matrix."""
    return Variable(jnp.eye(size, dtype=dtype or floatx()), name=name)


# Random values are drawn once, now, from ``seed`` or Arena's key sequence (arena.set_seed): in Keras 2's
# graph mode they were drawn anew at every run of a function.
def _key(seed):
    return jax.random.PRNGKey(seed) if seed is not None else _random.next_key()


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return mean + stddev * jax.random.normal(_key(seed), tuple(shape), dtype or floatx())


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return jax.random.uniform(_key(seed), tuple(shape), dtype or floatx(), minval, maxval)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return mean + stddev * jax.random.truncated_normal(_key(seed), -2.0, 2.0, tuple(shape), dtype or floatx())


def random_binomial(shape, p=0.0, dtype=None, seed=None):
    return jax.random.bernoulli(_key(seed), p, tuple(shape)).astype(dtype or floatx())


def random_normal_variable(shape, mean, scale, dtype=None, name=None, seed=None):
    return Variable(random_normal(shape, mean, scale, dtype, seed), name=name)


def random_uniform_variable(shape, low, high, dtype=None, name=None, seed=None):
    return Variable(random_uniform(shape, low, high, dtype, seed), name=name)


# ---- element-wise ------------------------------------------------------------------------------
@_op
def cast(x, dtype):
    return jnp.asarray(x).astype(dtype)


@_op
def zeros_like(x, dtype=None, name=None):
    return jnp.zeros_like(x, dtype=dtype)


@_op
def ones_like(x, dtype=None, name=None):
    return jnp.ones_like(x, dtype=dtype)


@_op
def identity(x, name=None):
    return jnp.asarray(x)


@_op
def square(x):
    return jnp.square(x)


@_op
def abs(x):
    return jnp.abs(x)


@_op
def sqrt(x):
    return jnp.sqrt(jnp.clip(x, 0.0, None))  # as Keras 2: negatives (rounding errors) clip to 0


@_op
def exp(x):
    return jnp.exp(x)


@_op
def log(x):
    return jnp.log(x)


@_op
def round(x):
    return jnp.round(x)


@_op
def sign(x):
    return jnp.sign(x)


@_op
def pow(x, a):
    return jnp.power(x, a)


@_op
def clip(x, min_value, max_value):
    if max_value is not None and min_value is not None and max_value < min_value:
        max_value = min_value  # as Keras 2
    return jnp.clip(x, min_value, max_value)


@_op
def sin(x):
    return jnp.sin(x)


@_op
def cos(x):
    return jnp.cos(x)


@_op
def equal(x, y):
    return jnp.equal(x, y)


@_op
def not_equal(x, y):
    return jnp.not_equal(x, y)


@_op
def greater(x, y):
    return jnp.greater(x, y)


@_op
def greater_equal(x, y):
    return jnp.greater_equal(x, y)


@_op
def less(x, y):
    return jnp.less(x, y)


@_op
def less_equal(x, y):
    return jnp.less_equal(x, y)


@_op
def maximum(x, y):
    return jnp.maximum(x, y)


@_op
def minimum(x, y):
    return jnp.minimum(x, y)


@_op
def stop_gradient(x):
    return jax.lax.stop_gradient(x)


# ---- reductions --------------------------------------------------------------------------------
@_op
def max(x, axis=None, keepdims=False):
    return jnp.max(x, axis=axis, keepdims=keepdims)


@_op
def min(x, axis=None, keepdims=False):
    return jnp.min(x, axis=axis, keepdims=keepdims)


@_op
def sum(x, axis=None, keepdims=False):
    return jnp.sum(x, axis=axis, keepdims=keepdims)


@_op
def prod(x, axis=None, keepdims=False):
    return jnp.prod(x, axis=axis, keepdims=keepdims)


@_op
def mean(x, axis=None, keepdims=False):
    return jnp.mean(x, axis=axis, keepdims=keepdims)


@_op
def std(x, axis=None, keepdims=False):
    return jnp.std(x, axis=axis, keepdims=keepdims)


@_op
def var(x, axis=None, keepdims=False):
    return jnp.var(x, axis=axis, keepdims=keepdims)


@_op
def any(x, axis=None, keepdims=False):
    return jnp.any(x, axis=axis, keepdims=keepdims)


@_op
def all(x, axis=None, keepdims=False):
    return jnp.all(x, axis=axis, keepdims=keepdims)


@_op
def logsumexp(x, axis=None, keepdims=False):
    return jax.scipy.special.logsumexp(x, axis=axis, keepdims=keepdims)


@_op
def cumsum(x, axis=0):
    return jnp.cumsum(x, axis=axis)


@_op
def cumprod(x, axis=0):
    return jnp.cumprod(x, axis=axis)


@_op
def argmax(x, axis=-1):
    return jnp.argmax(x, axis=axis)


@_op
def argmin(x, axis=-1):
    return jnp.argmin(x, axis=axis)


# ---- shapes ------------------------------------------------------------------------------------
@_op
def shape(x):
    """The shape as an int array (Keras 2's symbolic shape); :func:`int_shape` gives a tuple."""
    return jnp.asarray(jnp.shape(x), jnp.int32)


@_op
def reshape(x, shape):
    return jnp.reshape(x, tuple(shape))


@_op
def transpose(x):
    return jnp.transpose(x)


@_op
def permute_dimensions(x, pattern):
    return jnp.transpose(x, tuple(pattern))


@_op
def expand_dims(x, axis=-1):
    return jnp.expand_dims(x, axis)


@_op
def squeeze(x, axis):
    return jnp.squeeze(x, axis)


@_op
def flatten(x):
    return jnp.reshape(x, (-1,))


@_op
def batch_flatten(x):
    """(batch, ...) -> (batch, product of the rest)."""
    return jnp.reshape(x, (jnp.shape(x)[0], -1))


@_op
def concatenate(tensors, axis=-1):
    return jnp.concatenate(tensors, axis=axis)


@_op
def stack(x, axis=0):
    return jnp.stack(x, axis=axis)


@_op
def repeat_elements(x, rep, axis):
    return jnp.repeat(x, rep, axis=axis)


@_op
def repeat(x, n):
    """(batch, dim) -> (batch, n, dim)."""
    return jnp.repeat(jnp.expand_dims(x, 1), n, axis=1)


@_op
def tile(x, n):
    return jnp.tile(x, n)


@_op
def reverse(x, axes):
    return jnp.flip(x, axes)


def arange(start, stop=None, step=1, dtype="int32"):
    return jnp.arange(start, stop, step, dtype=dtype)


@_op
def gather(reference, indices):
    """The rows ``indices`` of ``reference`` (along its first axis)."""
    return jnp.take(reference, jnp.asarray(indices, jnp.int32), axis=0)


@_op
def one_hot(indices, num_classes):
    """(..., ) integer ids -> (..., num_classes)."""
    return jax.nn.one_hot(indices, num_classes)


# ---- linear algebra ----------------------------------------------------------------------------
@_op
def dot(x, y):
    """``np.dot`` semantics, as Keras 2: the last axis of x with the second-to-last of y."""
    return jnp.dot(x, y)


@_op
def batch_dot(x, y, axes=None):
    """Per sample of the batch (axis 0), the dot product of x and y over ``axes`` (default: x's last axis with
    y's second-to-last, a batched matmul); a result without other axes is (batch, 1), as Keras 2's."""
    if axes is None:
        axes = (x.ndim - 1, y.ndim - 2) if y.ndim > 2 else (x.ndim - 1, y.ndim - 1)
    elif isinstance(axes, int):
        axes = (axes, axes)
    a, b = (ax % n for ax, n in zip(axes, (x.ndim, y.ndim)))
    if a == 0 or b == 0:
        raise ValueError(f"batch_dot: axes {axes} include the batch axis 0")
    out = jax.lax.dot_general(x, y, (((a,), (b,)), ((0,), (0,))))
    return out[:, None] if out.ndim == 1 else out


@_op
def l2_normalize(x, axis=None):
    return x / jnp.sqrt(jnp.maximum(jnp.sum(jnp.square(x), axis=axis, keepdims=True), 1e-12))


# ---- activations and losses --------------------------------------------------------------------
@_op
def relu(x, alpha=0.0, max_value=None):
    y = jnp.where(x > 0, x, alpha * x)
    return jnp.minimum(y, max_value) if max_value is not None else y


@_op
def elu(x, alpha=1.0):
    return jax.nn.elu(x, alpha)


@_op
def softmax(x, axis=-1):
    return jax.nn.softmax(x, axis=axis)


@_op
def softplus(x):
    return jax.nn.softplus(x)


@_op
def softsign(x):
    return jax.nn.soft_sign(x)


@_op
def sigmoid(x):
    return jax.nn.sigmoid(x)


@_op
def hard_sigmoid(x):
    return jnp.clip(0.2 * x + 0.5, 0.0, 1.0)


@_op
def tanh(x):
    return jnp.tanh(x)


def _clipped(p):
    return jnp.clip(p, epsilon(), 1.0 - epsilon())


@_op
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Per sample: ``-sum(target * log(output))`` over ``axis`` (output scaled to sum 1 and clipped to
    [eps, 1 - eps], or a softmax of logits)."""
    if from_logits:
        return -jnp.sum(target * jax.nn.log_softmax(output, axis=axis), axis=axis)
    p = output / jnp.sum(output, axis=axis, keepdims=True)
    return -jnp.sum(target * jnp.log(_clipped(p)), axis=axis)


@_op
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Per sample: ``-log(output[target])`` for integer ``target`` (trailing size-1 axis allowed)."""
    logp = jax.nn.log_softmax(output, axis=axis) if from_logits else jnp.log(
        _clipped(output / jnp.sum(output, axis=axis, keepdims=True)))
    labels = jnp.asarray(target).astype(jnp.int32)
    if labels.ndim == logp.ndim:
        labels = jnp.squeeze(labels, axis)
    return -jnp.squeeze(jnp.take_along_axis(logp, jnp.expand_dims(labels, axis), axis=axis), axis)


@_op
def binary_crossentropy(target, output, from_logits=False):
    """Element-wise ``-(t log p + (1 - t) log(1 - p))`` (p clipped to [eps, 1 - eps], or a sigmoid of logits);
    the loss ``binary_crossentropy`` is its mean over the last axis."""
    logits = output if from_logits else jnp.log(_clipped(output) / (1.0 - _clipped(output)))
    return jnp.maximum(logits, 0) - logits * target + jnp.log1p(jnp.exp(-jnp.abs(logits)))


# ---- convolution -------------------------------------------------------------------------------
def _data_format(data_format, what):
    """``data_format`` (None: :func:`image_data_format`), checked."""
    data_format = data_format or image_data_format()
    if data_format not in _DATA_FORMATS:
        raise ValueError(f"{what}: data_format must be one of {_DATA_FORMATS}; got {data_format!r}")
    return data_format


def _channels_last_op(fn, x, data_format, what):
    """``fn`` (written for channels-last) on ``x`` laid out as ``data_format``: channels-first is moved to
    channels-last and back, as Keras 2's TensorFlow backend did."""
    if _data_format(data_format, what) == "channels_last":
        return fn(x)
    return jnp.moveaxis(fn(jnp.moveaxis(x, 1, -1)), -1, 1)


def _pair(v, n):
    return (v,) * n if isinstance(v, int) else tuple(v)


@_op
def conv1d(x, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """(batch, steps, in) * kernel (k, in, out) -> (batch, new steps, out) ((batch, in, steps) -> (batch, out,
    new steps) channels-first)."""
    def conv(x, padding=padding):
        if padding == "causal":
            x = jnp.pad(x, ((0, 0), (_pair(dilation_rate, 1)[0] * (kernel.shape[0] - 1), 0), (0, 0)))
            padding = "valid"
        return jax.lax.conv_general_dilated(x, kernel, _pair(strides, 1), padding.upper(),
                                            rhs_dilation=_pair(dilation_rate, 1),
                                            dimension_numbers=("NWC", "WIO", "NWC"))
    return _channels_last_op(conv, x, data_format, "conv1d")


@_op
def conv2d(x, kernel, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)):
    """(batch, h, w, in) * kernel (kh, kw, in, out) -> (batch, new h, new w, out) (channels-first: (batch, in,
    h, w) -> (batch, out, new h, new w), the same kernel)."""
    return _channels_last_op(lambda x: jax.lax.conv_general_dilated(
        x, kernel, _pair(strides, 2), padding.upper(), rhs_dilation=_pair(dilation_rate, 2),
        dimension_numbers=("NHWC", "HWIO", "NHWC")), x, data_format, "conv2d")


@_op
def pool2d(x, pool_size, strides=(1, 1), padding="valid", data_format=None, pool_mode="max"):
    """Max or average pooling over (batch, h, w, channels) windows (or (batch, channels, h, w) channels-first;
    an average ignores 'same' padding)."""
    if pool_mode not in ("max", "avg"):
        raise ValueError(f"pool2d: pool_mode must be 'max' or 'avg'; got {pool_mode!r}")
    window, steps = (1, *_pair(pool_size, 2), 1), (1, *_pair(strides, 2), 1)

    def pool(x):
        if pool_mode == "max":
            return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window, steps, padding.upper())
        total = jax.lax.reduce_window(x, 0.0, jax.lax.add, window, steps, padding.upper())
        count = jax.lax.reduce_window(jnp.ones_like(x), 0.0, jax.lax.add, window, steps, padding.upper())
        return total / count
    return _channels_last_op(pool, x, data_format, "pool2d")


@_op
def bias_add(x, bias, data_format=None):
    """``x + bias`` on the channels axis (the last, or axis 1 channels-first)."""
    if _data_format(data_format, "bias_add") == "channels_first" and jnp.ndim(x) > 2:
        return x + jnp.reshape(bias, (1, -1) + (1,) * (jnp.ndim(x) - 2))
    return x + bias


# ---- control -----------------------------------------------------------------------------------
def _branch(value):
    return value() if callable(value) else value


@_op
def _select(condition, a, b):
    condition = jnp.asarray(condition)
    a, b = jnp.asarray(a), jnp.asarray(b)
    while condition.ndim and condition.ndim < a.ndim:  # Keras 2: a lower-rank condition applies per row
        condition = condition[..., None]
    return jnp.where(condition, a, b)


def switch(condition, then_expression, else_expression):
    """``then_expression`` where ``condition`` holds, else ``else_expression`` (a scalar condition picks one
    whole; callables are called first)."""
    return _select(condition, _branch(then_expression), _branch(else_expression))


def in_train_phase(x, alt, training=None):
    """``x`` in the training phase, ``alt`` otherwise; ``training`` None reads the learning phase (a
    function's input, or set_learning_phase's value)."""
    if training is None:
        training = LEARNING_PHASE
    if isinstance(training, (bool, int)):
        return _branch(x) if training else _branch(alt)
    return _select(training, _branch(x), _branch(alt))


def in_test_phase(x, alt, training=None):
    """``x`` in inference, ``alt`` while training (see :func:`in_train_phase`)."""
    return in_train_phase(alt, x, training)


# ---- functions and gradients -------------------------------------------------------------------
def update(x, new_x):
    """An update for :func:`function`'s ``updates``: set variable ``x`` to ``new_x`` after each run."""
    if not isinstance(x, Variable):
        raise TypeError(f"update: only a K.variable can be updated; got {type(x).__name__}")
    return (x, new_x)


def update_add(x, increment):
    return update(x, x + increment)


def update_sub(x, decrement):
    return update(x, x - decrement)


class Function:
    """What :func:`function` returns: ``f(input values) -> list of numpy arrays`` (one array when
    ``outputs`` was not a list)."""

    def __init__(self, inputs, outputs, updates=None, name=None):
        self.name = name
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self._phase_at = next((i for i, t in enumerate(inputs) if t is LEARNING_PHASE), None)
        self._tensors = [t for t in inputs if t is not LEARNING_PHASE]
        for t in self._tensors:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"function: inputs must be Input / placeholder tensors (or K.learning_phase()); got "
                                f"{t!r}")
        self._single = not isinstance(outputs, (list, tuple))
        outputs = [outputs] if self._single else list(outputs)
        self._updates = [update(*u) for u in (updates or [])]
        self._graph = Graph(outputs + [new for _, new in self._updates], self._tensors, "K.function")
        self._n_out = len(outputs)
        self._compiled = {}

    def __call__(self, inputs):
        values = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        expected = len(self._tensors) + (self._phase_at is not None)
        if len(values) != expected:
            raise ValueError(f"function: expected {expected} input value(s) (for {self._tensors}"
                             f"{' and the learning phase' if self._phase_at is not None else ''}); got {len(values)}")
        training = _config["learning_phase"]
        if self._phase_at is not None:
            training = values.pop(self._phase_at)
            if training not in (0, 1, True, False):
                raise ValueError(f"function: the learning phase must be fed 0 or 1; got {training!r}")
        feed = []
        for t, v in zip(self._tensors, values):
            a = jnp.asarray(v, t.dtype)
            if a.ndim != len(t.shape) or builtins.any(d is not None and d != n for d, n in zip(t.shape, a.shape)):
                raise ValueError(f"function: input {t} expects shape {t.shape}; got {a.shape}")
            feed.append(a)
        training = bool(training)
        if training not in self._compiled:
            self._compiled[training] = jax.jit(functools.partial(self._graph.run, training=training))
        model = self._graph.model
        outs = self._compiled[training](feed, [v.value for v in self._graph.variables],
                                        model.params if model else None, model.state if model else None,
                                        _random.next_key())
        for (var, _), value in zip(self._updates, outs[self._n_out:]):
            var.value = jnp.asarray(value, var.value.dtype)
        results = [np.asarray(o) for o in outs[:self._n_out]]
        return results[0] if self._single else results


def function(inputs, outputs, updates=None, name=None, **kwargs):
    """Keras 2's ``K.function(inputs, outputs, updates)``: a callable from input values to the outputs' values.

    ``inputs``: Input/placeholder tensors, optionally with ``learning_phase()`` (then fed 0 or 1);
    ``outputs``: tensors of a model built on those inputs and expressions of them, variables and
    gradients; ``updates``: ``(variable, new value)`` pairs (or :func:`update` results) applied after each
    call. It compiles once per learning phase and reads the model's current weights at every call."""
    if kwargs:
        raise TypeError(f"function: unexpected keyword argument(s) {sorted(kwargs)} (TensorFlow session options "
                        f"have no JAX counterpart)")
    return Function(inputs, outputs, updates, name)


def gradients(loss, variables):
    """The gradients of ``sum(loss)`` with respect to each of ``variables`` (fed inputs of the function that
    will run them, or K.variables), as symbolic values for :func:`function`: ``jax.grad``, not TensorFlow's
    graph gradients. For gradients of arrays, use ``jax.grad``; for a model's weights, a custom train_step."""
    if not is_symbolic(loss):
        raise TypeError("gradients: the loss must be symbolic (built from a model's tensors, placeholders or "
                        "variables); for a Python function of arrays use jax.grad")
    variables = list(variables) if isinstance(variables, (list, tuple)) else [variables]
    for v in variables:
        if not isinstance(v, (KerasTensor, Variable)):
            raise TypeError(f"gradients: can only differentiate with respect to Input/placeholder tensors and "
                            f"K.variables; got {type(v).__name__}")
    return [Gradient(loss, v) for v in variables]


# ---- deliberately absent: each names what to use instead -----------------------------------------
def get_session():
    raise NotImplementedError("get_session: JAX has no TensorFlow session; backend functions run directly, and "
                              "K.function compiles what a session ran")


def set_session(session):
    raise NotImplementedError("set_session: JAX has no TensorFlow session to set (device placement: jax.devices())")


def rnn(step_function, inputs, initial_states, *args, **kwargs):
    raise NotImplementedError("rnn: write the loop as arena.nn.layers.RNN with your cell (or jax.lax.scan over the "
                              "time axis in a Lambda layer)")


def dropout(x, level, noise_shape=None, seed=None):
    raise NotImplementedError("dropout: a mask drawn in a backend call would be drawn once when compiled and reused "
                              "at every step; use the Dropout layer, which draws a new mask each step")
