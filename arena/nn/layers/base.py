"""The Layer base class and the symbolic tensors of the functional API.

A layer holds its configuration and, between training calls, its current
weights (``layer.params``: trainable, ``layer.state``: non-trainable such as
batch-norm statistics). The math is pure: ``apply(params, state, x, training,
key) -> (y, state)`` reads nothing from the object but its configuration, so a
model's forward pass can be traced once by ``jax.jit``.

Shapes always include the batch axis as ``None``: ``(None, 28, 28, 1)``.
"""
import collections
import re

import jax
import numpy as np

_name_counts = collections.defaultdict(int)
_registry = {}


def clear_session():
    """Restart the automatic layer names (dense_1, dense_2, ...)."""
    _name_counts.clear()


def unique_name(base):
    _name_counts[base] += 1
    return f"{base}_{_name_counts[base]}"


def snake_case(name):
    """Keras' default layer names: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d, LeakyReLU -> leaky_re_lu."""
    s = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower().replace("__", "_")


def register(cls):
    """Make a layer class known to ``load_model``/``model_from_json`` by its class name."""
    _registry[cls.__name__] = cls
    return cls


def get_layer_class(class_name, custom_objects=None):
    if custom_objects and class_name in custom_objects:
        return custom_objects[class_name]
    if class_name in _registry:
        return _registry[class_name]
    raise ValueError(f"Unknown layer class {class_name!r}: Arena has no such layer. Pass your own class "
                     f"in custom_objects={{'{class_name}': YourLayer}}. Known layers: {sorted(_registry)}")


class KerasTensor:
    """A symbolic tensor: a shape (batch axis None) and the layer call that produced it."""

    def __init__(self, shape, dtype="float32", layer=None, node_index=0, tensor_index=0):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype
        self._history = (layer, node_index, tensor_index)

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        layer = self._history[0]
        return f"<KerasTensor shape={self.shape} from {layer.name if layer else None}>"


class Node:
    """One call of a layer on symbolic inputs."""

    def __init__(self, layer, inputs, outputs, call_kwargs=None):
        self.layer = layer
        self.inputs = list(inputs)   # KerasTensors
        self.outputs = list(outputs)
        self.call_kwargs = call_kwargs or {}


def _is_symbolic(x):
    if isinstance(x, KerasTensor):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(t, KerasTensor) for t in x)


class Layer:
    """Base class of every layer.

    Subclasses override ``build(input_shape)`` (check shapes, fix sizes),
    ``init_params(key, input_shape) -> (params, state)``, ``call(params, x,
    training, key)`` (or ``apply`` when they update state),
    ``compute_output_shape`` and ``get_config``. Set ``stochastic = True`` when
    ``call`` needs a random key in training (Dropout).
    """

    stochastic = False

    def __init__(self, name=None, trainable=True, input_shape=None, batch_input_shape=None,
                 input_dim=None, batch_size=None, dtype="float32", activity_regularizer=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}")
        from arena.nn import regularizers
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.trainable = bool(trainable)
        self.dtype = dtype
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is None and input_shape is not None:
            batch_input_shape = (batch_size,) + tuple(input_shape)
        self._batch_input_shape = tuple(batch_input_shape) if batch_input_shape is not None else None
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.built = False
        self.input_shape = None
        self.params = {}
        self.state = {}
        self._inbound_nodes = []

    # ---- to override -------------------------------------------------------
    def build(self, input_shape):
        self.input_shape = input_shape
        self.built = True

    def init_params(self, key, input_shape):
        """Create ``(params, state)`` for this input shape; dicts of arrays in Keras weight order."""
        return {}, {}

    def call(self, params, x, training=False, key=None):
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def apply(self, params, state, x, training=False, key=None):
        """Pure forward pass: ``(y, new_state)``."""
        return self.call(params, x, training=training, key=key), state

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        if self.activity_regularizer is not None:
            from arena.nn import regularizers
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # ---- weights -------------------------------------------------------------
    @property
    def weight_names(self):
        """Names of the weights in Keras order: trainable then non-trainable."""
        return list(self.params) + list(self.state)

    def get_weights(self):
        return [np.asarray(w) for w in list(self.params.values()) + list(self.state.values())]

    def set_weights(self, weights):
        names = self.weight_names
        if len(weights) != len(names):
            raise ValueError(f"Layer '{self.name}' expects {len(names)} weights {names}; got {len(weights)}")
        current = self.get_weights()
        new = {}
        for n, w, cur in zip(names, weights, current):
            w = np.asarray(w)
            if w.shape != cur.shape:
                raise ValueError(f"Layer '{self.name}' weight '{n}' has shape {cur.shape}; got {w.shape}")
            new[n] = jax.numpy.asarray(w, dtype=cur.dtype)
        self.params = {n: new[n] for n in self.params}
        self.state = {n: new[n] for n in self.state}

    def count_params(self):
        return int(sum(np.prod(np.shape(w)) for w in list(self.params.values()) + list(self.state.values())))

    def regularization_loss(self, params):
        """Sum of this layer's weight penalties (kernel/bias regularizers)."""
        total = 0.0
        for wname, attr in (("kernel", "kernel_regularizer"), ("bias", "bias_regularizer"),
                            ("embeddings", "embeddings_regularizer"),
                            ("recurrent_kernel", "recurrent_regularizer")):
            reg = getattr(self, attr, None)
            if reg is not None and wname in params:
                total = total + reg(params[wname])
        return total

    def apply_constraints(self, params):
        """Project weights after an optimizer update (kernel/bias constraints)."""
        out = dict(params)
        for wname, attr in (("kernel", "kernel_constraint"), ("bias", "bias_constraint"),
                            ("embeddings", "embeddings_constraint"),
                            ("recurrent_kernel", "recurrent_constraint")):
            c = getattr(self, attr, None)
            if c is not None and wname in out:
                out[wname] = c(out[wname])
        return out

    @property
    def has_constraints(self):
        return any(getattr(self, a, None) is not None for a in
                   ("kernel_constraint", "bias_constraint", "embeddings_constraint", "recurrent_constraint"))

    # ---- graph building --------------------------------------------------------
    def _ensure_built(self, input_shape, key=None):
        """Build and create weights on first use; later calls check the shape is compatible."""
        if not self.built:
            self.build(input_shape)
            self.built = True
            self.input_shape = input_shape
            if key is None:
                from arena.random import next_key
                key = next_key()
            self.params, self.state = self.init_params(key, input_shape)
        else:
            self._check_compatible(input_shape)

    def _check_compatible(self, input_shape):
        expected = self.input_shape
        if expected is None:
            return
        shapes_in = input_shape if isinstance(input_shape, list) else [input_shape]
        shapes_ex = expected if isinstance(expected, list) else [expected]
        ok = len(shapes_in) == len(shapes_ex) and all(
            len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a[1:], b[1:]))
            for a, b in zip(shapes_in, shapes_ex))
        if not ok:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) was built for input shape "
                             f"{expected}; got {input_shape}")

    def __call__(self, inputs, **kwargs):
        if _is_symbolic(inputs):
            as_list = isinstance(inputs, (list, tuple))
            tensors = list(inputs) if as_list else [inputs]
            shapes = [t.shape for t in tensors]
            input_shape = shapes if as_list else shapes[0]
            self._ensure_built(input_shape)
            out_shape = self.compute_output_shape(input_shape)
            node_index = len(self._inbound_nodes)
            multi = isinstance(out_shape, list)
            outs = [KerasTensor(s, self.dtype, self, node_index, i)
                    for i, s in enumerate(out_shape if multi else [out_shape])]
            node = Node(self, tensors, outs, kwargs)
            node.input_is_list = as_list
            self._inbound_nodes.append(node)
            return outs if multi else outs[0]
        # Eager call on arrays: build on first use, run in inference mode.
        if isinstance(inputs, (list, tuple)):
            arrays = [jax.numpy.asarray(a) for a in inputs]
            shape = [(None,) + tuple(a.shape[1:]) for a in arrays]
        else:
            arrays = jax.numpy.asarray(inputs)
            shape = (None,) + tuple(arrays.shape[1:])
        self._ensure_built(shape)
        y, _ = self.apply(self.params, self.state, arrays, training=kwargs.get("training", False),
                          key=kwargs.get("key"))
        return y

    # ---- shape checks with clear messages ---------------------------------------
    def _expect_rank(self, input_shape, rank, what, hint=""):
        if not isinstance(input_shape, tuple) or len(input_shape) != rank:
            raise ValueError(f"{type(self).__name__} '{self.name}' expects input of rank {rank} {what}; "
                             f"got shape {input_shape}.{(' ' + hint) if hint else ''}")

    def __repr__(self):
        return f"<{type(self).__name__} '{self.name}'>"
