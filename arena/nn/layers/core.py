"""Core layers: Input, Dense, Activation, Dropout, Flatten, Reshape, Permute,
RepeatVector, Lambda, LeakyReLU."""
import jax
import jax.numpy as jnp
import numpy as np

from arena import checks
from arena.nn import activations, constraints, initializers, regularizers
from arena.nn.layers.base import KerasTensor, Layer, Node, register, traced_output_shape, unique_name


@register
class InputLayer(Layer):
    """The entry point of a model: produces a symbolic tensor of ``batch_input_shape``."""

    def __init__(self, input_shape=None, batch_size=None, batch_input_shape=None, dtype="float32",
                 name=None, sparse=False, ragged=False, **kwargs):
        kwargs.pop("trainable", None)
        if batch_input_shape is None:
            if input_shape is None:
                raise ValueError("InputLayer needs `input_shape` (without the batch axis) or `batch_input_shape`")
            batch_input_shape = (batch_size,) + tuple(input_shape)
        if name is None:  # Keras' default input names: input_1, input_2, ...
            name = unique_name("input")
        super().__init__(name=name, dtype=dtype, batch_input_shape=batch_input_shape, **kwargs)
        self.built = True
        self.input_shape = self._batch_input_shape
        out = KerasTensor(self._batch_input_shape, dtype, self, 0, 0)
        self._inbound_nodes.append(Node(self, [], [out]))

    def call(self, params, x, training=False, key=None):
        return x

    def get_config(self):
        return {"batch_input_shape": list(self._batch_input_shape), "dtype": self.dtype, "sparse": False,
                "ragged": False, "name": self.name}


def Input(shape=None, batch_size=None, name=None, dtype="float32", batch_shape=None):
    """A symbolic input tensor of ``shape`` (without the batch axis), as ``keras.Input``."""
    if shape is None and batch_shape is None:
        raise ValueError("Input needs `shape`, e.g. Input(shape=(784,))")
    if batch_shape is None:
        if isinstance(shape, int):
            shape = (shape,)
        batch_shape = (batch_size,) + tuple(shape)
    return InputLayer(batch_input_shape=batch_shape, name=name, dtype=dtype).output


def _int_tuple(value, n, what):
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) != n or not all(isinstance(v, (int, np.integer)) for v in value):
        raise ValueError(f"{what} must be an int or a tuple of {n} ints; got {value!r}")
    return tuple(int(v) for v in value)


class WeightedLayer(Layer):
    """Shared handling of kernel/bias initializers, regularizers and constraints."""

    def _init_weight_options(self, kernel_initializer, bias_initializer, kernel_regularizer,
                             bias_regularizer, kernel_constraint, bias_constraint):
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _weight_options_config(self):
        return {
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }

    def _add_kernel_and_bias(self, kernel_shape, bias_shape):
        """Declare ``kernel`` (and ``bias`` when ``use_bias``) with this layer's options."""
        self.add_weight("kernel", kernel_shape, self.kernel_initializer, self.kernel_regularizer,
                        self.kernel_constraint)
        if self.use_bias:
            self.add_weight("bias", bias_shape, self.bias_initializer, self.bias_regularizer, self.bias_constraint)


@register
class Dense(WeightedLayer):
    """``activation(x @ kernel + bias)`` over the last axis: (..., in) -> (..., units)."""

    supports_masking = True

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = checks.integer(units, f"Dense '{self.name}': units", 1, expected="a positive integer")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self._init_weight_options(kernel_initializer, bias_initializer, kernel_regularizer,
                                  bias_regularizer, kernel_constraint, bias_constraint)

    def build(self, input_shape):
        if not isinstance(input_shape, tuple) or len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Dense '{self.name}' expects input of shape (batch, ..., features) with a known "
                             f"last axis; got {input_shape}")
        self._add_kernel_and_bias((input_shape[-1], self.units), (self.units,))

    def call(self, params, x, training=False, key=None):
        y = jnp.matmul(x, params["kernel"])
        if self.use_bias:
            y = y + params["bias"]
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **self._weight_options_config()}


@register
class Activation(Layer):
    """Applies an activation function element-wise (softmax over the last axis)."""

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, params, x, training=False, key=None):
        return self.activation(x)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


@register
class Dropout(Layer):
    """Inverted dropout: in training, zero a fraction ``rate`` of inputs and scale the rest by 1/(1-rate).

    ``seed`` (an int) is folded into the training key, as TF-Keras 2 combines an op seed with the
    global seed: the same seed (and global seed) drops the same units, another seed other units.
    ``noise_shape`` (batch axis included; None entries take the input's size) shares a mask across axes.
    """

    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"Dropout '{self.name}': rate must be in [0, 1); got {rate!r}")
        self.rate = float(rate)
        self.noise_shape = tuple(noise_shape) if noise_shape is not None else None
        self.seed = checks.optional_seed(seed, f"Dropout '{self.name}': seed")

    def call(self, params, x, training=False, key=None):
        if not training or self.rate == 0.0:
            return x
        if key is None:
            raise ValueError(f"Dropout '{self.name}' needs a random key in training mode")
        if self.seed is not None:
            key = jax.random.fold_in(key, self.seed)
        shape = x.shape
        if self.noise_shape is not None:
            shape = tuple(s if n is None else n for s, n in zip(x.shape, self.noise_shape))
        keep = jax.random.bernoulli(key, 1.0 - self.rate, shape)
        return jnp.where(keep, x / (1.0 - self.rate), 0.0).astype(x.dtype)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": list(self.noise_shape) if self.noise_shape else None, "seed": self.seed}


@register
class Masking(Layer):
    """Mark padding steps: a step whose features all equal ``mask_value`` is masked (its output is zero
    and the mask passed downstream is False there): (batch, steps, features) -> the same shape."""

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def compute_mask(self, inputs, mask=None):
        return jnp.any(inputs != self.mask_value, axis=-1)

    def call(self, params, x, training=False, key=None):
        keep = jnp.any(x != self.mask_value, axis=-1, keepdims=True)
        return x * keep.astype(x.dtype)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


@register
class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1*d2*...). With ``data_format='channels_first'`` the channels
    axis is moved last first, as Keras 2.2+ and 3 do, so the order of the flat features (and of the
    next Dense layer's kernel rows) is the channels-last one."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(f"Flatten '{self.name}': data_format must be 'channels_last' or 'channels_first'; got "
                             f"{data_format!r}")
        self.data_format = data_format or "channels_last"

    def build(self, input_shape):
        if any(d is None for d in input_shape[1:]):
            raise ValueError(f"Flatten '{self.name}' needs a fully known input shape (except batch); "
                             f"got {input_shape}")

    def call(self, params, x, training=False, key=None):
        if self.data_format == "channels_first" and x.ndim > 2:
            x = jnp.moveaxis(x, 1, -1)
        return jnp.reshape(x, (x.shape[0], -1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], int(np.prod(input_shape[1:])))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


@register
class Reshape(Layer):
    """Reshape to ``target_shape`` (without batch axis; one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def compute_output_shape(self, input_shape):
        size = int(np.prod(input_shape[1:]))
        target = list(self.target_shape)
        if -1 in target:
            known = -int(np.prod(target))
            if known == 0 or size % known:
                raise ValueError(f"Reshape '{self.name}': cannot reshape {input_shape} to {self.target_shape}")
            target[target.index(-1)] = size // known
        if int(np.prod(target)) != size:
            raise ValueError(f"Reshape '{self.name}': input shape {input_shape} has {size} values per sample; "
                             f"target shape {self.target_shape} has {int(np.prod(target))}")
        return (input_shape[0],) + tuple(target)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)

    def call(self, params, x, training=False, key=None):
        return jnp.reshape(x, (x.shape[0],) + self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


@register
class Permute(Layer):
    """Permute non-batch axes; ``dims`` are 1-based, as in Keras: Permute((2, 1))."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute '{self.name}': dims must be a permutation of 1..{len(self.dims)}; "
                             f"got {self.dims}")

    def build(self, input_shape):
        self._expect_rank(input_shape, len(self.dims) + 1, f"(batch + {len(self.dims)} axes)")

    def call(self, params, x, training=False, key=None):
        return jnp.transpose(x, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


@register
class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = int(n)

    def build(self, input_shape):
        self._expect_rank(input_shape, 2, "(batch, features)")

    def call(self, params, x, training=False, key=None):
        return jnp.repeat(x[:, None, :], self.n, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


@register
class Lambda(Layer):
    """Wraps a function of the input (jnp operations). Its config stores the function's *name*
    only: loading a model rebuilds it from ``custom_objects``, never from code in the file."""

    def __init__(self, function, output_shape=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ValueError(f"Lambda '{self.name}': function must be callable; got {function!r}")
        self.function = function
        self._output_shape = output_shape
        self.arguments = dict(arguments or {})

    def call(self, params, x, training=False, key=None):
        return self.function(x, **self.arguments)

    def compute_output_shape(self, input_shape):
        if self._output_shape is not None:
            if callable(self._output_shape):
                return self._output_shape(input_shape)
            return (input_shape[0] if not isinstance(input_shape, list) else input_shape[0][0],) + tuple(
                self._output_shape)
        traced = traced_output_shape(lambda a: self.function(a, **self.arguments), input_shape)
        if traced is None:
            raise ValueError(f"Lambda '{self.name}': cannot infer the output shape for input shape {input_shape} "
                             f"(an axis other than the batch is unknown); give output_shape=")
        return traced

    def get_config(self):
        out_shape = self._output_shape
        if callable(out_shape):
            out_shape = None
        return {**super().get_config(), "function": getattr(self.function, "__name__", "lambda"),
                "output_shape": list(out_shape) if out_shape is not None else None,
                "arguments": self.arguments}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        fn = config.pop("function")
        if isinstance(fn, (list, tuple, dict)) or not (custom_objects and fn in custom_objects):
            name = fn if isinstance(fn, str) else "<serialized code>"
            raise ValueError(f"Lambda layer '{config.get('name')}' wraps function {name!r}. Arena never runs "
                             f"code stored in a file: pass the function yourself, e.g. "
                             f"load_model(path, custom_objects={{'{name}': my_function}})")
        return cls(custom_objects[fn], **config)
