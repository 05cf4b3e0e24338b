"""The Layer base class and the symbolic tensors of the functional API.

A layer holds its configuration and, between training calls, its current
values: ``layer.params`` (trainable weights) and ``layer.state`` (non-trainable
weights such as batch-norm statistics, which are saved, and runtime state such
as an RNN's carry, which is not). Weights are declared in ``build`` with
:meth:`Layer.add_weight`, runtime state with :meth:`Layer.add_state`: the
ordered declarations give the weight order, names, penalties and constraints.

The math is pure: ``apply(params, state, x, *, training, key, mask=None,
**call_kwargs) -> (y, new_state)`` reads nothing from the object but its
configuration, so a model's forward pass is traced once by ``jax.jit``.

Shapes always include the batch axis as ``None``: ``(None, 28, 28, 1)``.
"""
import collections
import contextlib
import functools
import inspect
import math
import re
import threading
from typing import Any, NamedTuple

import jax
import numpy as np

from arena.nn import mixed_precision

_name_counts = collections.defaultdict(int)
_registry = {}
MAX_WEIGHT_ELEMENTS = 2**31  # the most elements one weight of a layer built from a config (a file) may have
_abstract = threading.local()


@contextlib.contextmanager
def abstract_weights():
    """``with abstract_weights(): model = ...``: layers built inside create no arrays: their weights
    are ``jax.ShapeDtypeStruct``s (shapes and dtypes from ``jax.eval_shape`` of the initializers, no
    memory), and a weight with more than :data:`MAX_WEIGHT_ELEMENTS` elements is a ``ValueError``
    naming the layer. Loading a file builds its model this way, checks the stored shapes, then sets
    every weight from the file (:func:`materialize_weights` gives fresh ones instead)."""
    depth = getattr(_abstract, "depth", 0)
    _abstract.depth = depth + 1
    try:
        yield
    finally:
        _abstract.depth = depth


def building_abstractly():
    return getattr(_abstract, "depth", 0) > 0


def _abstract_leaf(x):
    return isinstance(x, jax.ShapeDtypeStruct)


def _to_specs(tree):
    """Arrays (or tracers) -> ShapeDtypeStructs, keeping every dict's own key order."""
    if isinstance(tree, dict):
        return {k: _to_specs(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)) and not hasattr(tree, "_fields"):
        return type(tree)(_to_specs(v) for v in tree)
    if hasattr(tree, "shape") and hasattr(tree, "dtype"):
        return jax.ShapeDtypeStruct(tuple(tree.shape), tree.dtype)
    return tree


def _layers_within(layer):
    """The layers holding weights in ``layer`` (itself, its sublayers, a model's layers, recursively);
    models themselves left out (their weights live on their layers)."""
    out, todo = [], [layer]
    while todo:
        l = todo.pop()
        if hasattr(l, "_layers"):  # a model
            todo.extend(l._layers)
            continue
        out.append(l)
        todo.extend(l._sublayers)
    return out


def abstract_weight_names(layer):
    """``[(leaf layer, weight name)]`` of weights in ``layer`` (a layer or model) that are still
    ``ShapeDtypeStruct``s (built under :func:`abstract_weights` and not yet set); runtime state left out."""
    out = []
    for l in _layers_within(layer):
        runtime = set(l.runtime_state_names)
        for d in (l._params, l._state):
            out.extend((l, k) for k, v in d.items() if k not in runtime and _abstract_leaf(v))
    return out


def materialize_runtime_state(layer):
    """Give the runtime state (RNN carries) of an abstractly built ``layer`` its initial values."""
    for l in _layers_within(layer):
        runtime = {w.name: w for w in l._weights if w.runtime}
        if runtime and any(_abstract_leaf(v) for k, v in l._state.items() if k in runtime):
            l._state = {k: (runtime[k].initializer(jax.random.PRNGKey(0), runtime[k].shape, runtime[k].dtype)
                            if k in runtime and _abstract_leaf(v) else v) for k, v in l._state.items()}


def materialize_weights(layer):
    """Create the arrays of an abstractly built ``layer`` (or model) from its initializers, with the
    keys it drew when it was built: the same weights a concrete build gives."""
    for l in _layers_within(layer):
        key = getattr(l, "_init_key", None)
        if key is not None:
            l.params, l.state = l.init_params(key, l.input_shape)
            l._init_key = None


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


def serialize_layer(layer):
    """A nested layer's spec (a wrapper's layer, an RNN's cell), as Keras 3 writes it: Arena's own
    layers also name their ``module``, without which Keras 3 cannot find a layer class nested in
    another. Arena reads it either way."""
    spec = {"class_name": type(layer).__name__, "config": layer.get_config()}
    builtin = _registry.get(type(layer).__name__)
    # Arena's own class, or a same-name subclass of it (arena.keras' Keras 1 spellings)
    if isinstance(builtin, type) and isinstance(layer, builtin) and builtin.__module__.startswith("arena.nn."):
        spec = {"module": "keras.layers", **spec, "registered_name": None}
    return spec


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


def as_list(x):
    """``x`` as a list: lists and tuples are copied, anything else is wrapped."""
    return list(x) if isinstance(x, (list, tuple)) else [x]


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
    """One call of a layer on symbolic inputs, with the call's keyword arguments (``training=True``)."""

    def __init__(self, layer, inputs, outputs, call_kwargs=None):
        self.layer = layer
        self.inputs = list(inputs)   # KerasTensors
        self.outputs = list(outputs)
        self.call_kwargs = dict(call_kwargs or {})


def _is_symbolic(x):
    if isinstance(x, KerasTensor):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(t, KerasTensor) for t in x)


class Weight(NamedTuple):
    """One declared variable of a layer: a weight (trainable or not, saved) or runtime state (not saved)."""
    name: str
    shape: tuple
    initializer: Any
    regularizer: Any = None
    constraint: Any = None
    trainable: bool = True
    dtype: str = "float32"
    runtime: bool = False  # runtime state (an RNN's carry): never a weight, reset by reset_states()


class WeightRef(str):
    """What :meth:`Layer.add_weight` returns: the weight's name. A Keras-style layer keeps it as an
    attribute (``self.kernel = self.add_weight(...)``), and inside its ``call(inputs)`` that attribute
    is the weight's value."""


@functools.lru_cache(maxsize=None)
def _keras_style(cls):
    """Whether ``cls.call`` is written as Keras writes it, ``call(self, inputs, ...)`` reading its
    weights from attributes, rather than Arena's ``call(self, params, x, ...)``."""
    if cls.call is Layer.call or cls.apply is not Layer.apply:
        return False
    names = list(inspect.signature(cls.call).parameters)
    return len(names) < 2 or names[1] != "params"


@functools.lru_cache(maxsize=None)
def _call_arguments(cls):
    """The keyword arguments a layer class's call accepts (None: any), from its ``apply`` if the class
    overrides it, else from its ``call``."""
    fn = cls.apply if cls.apply is not Layer.apply else cls.call
    sig = inspect.signature(fn)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        return None
    names = [p.name for p in sig.parameters.values()
             if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    skip = 4 if fn.__name__ == "apply" else 2 if _keras_style(cls) else 3  # self, params, (state,) x
    return frozenset(names[skip:]) | {"training", "mask"}


def traced_output_shape(fn, input_shape, *args):
    """The output shape(s) of ``fn(x, *args)`` for inputs of ``input_shape`` (a shape or a list of
    shapes, batch None), found by tracing ``fn`` on a batch of one (no compute; ``args`` may be arrays
    or ShapeDtypeStructs); None when another axis than the batch is unknown."""
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    if any(d is None for s in shapes for d in s[1:]):
        return None
    specs = [jax.ShapeDtypeStruct((1,) + tuple(s[1:]), jax.numpy.float32) for s in shapes]
    out = jax.eval_shape(fn, specs if isinstance(input_shape, list) else specs[0], *args)
    if isinstance(out, (list, tuple)):
        return [(None,) + tuple(o.shape[1:]) for o in out]
    return (None,) + tuple(out.shape[1:])


@functools.lru_cache(maxsize=None)
def _takes_mask(call):
    return "mask" in inspect.signature(call).parameters


_activity = threading.local()


@contextlib.contextmanager
def collecting_activity_losses():
    """Collects the activity losses of the layers applied inside (``add_activity_loss``): a model's
    forward pass opens one, so layers nested in wrappers count too (Keras tracks them the same way)."""
    stack = _activity.__dict__.setdefault("stack", [])
    collected = []
    stack.append(collected)
    try:
        yield collected
    finally:
        stack.pop()


def add_activity_loss(value):
    """Adds ``value`` to the innermost :func:`collecting_activity_losses`; outside one it is dropped
    (an eager ``layer(x)`` call trains nothing)."""
    stack = getattr(_activity, "stack", None)
    if stack:
        stack[-1].append(value)


def apply_layer(layer, params, state, x, *, training=False, key=None, mask=None, **call_kwargs):
    """``layer.apply(...)``, handing over ``mask`` only to layers whose ``apply`` takes one; the
    layer's activity regularizer on its outputs (``/ batch``, as Keras) goes to the collector."""
    if mask is not None and _takes_mask(type(layer).apply):
        call_kwargs["mask"] = mask
    if layer.autocast:  # the layer's dtype policy: compute in its compute dtype
        x, params = mixed_precision.autocast((x, params), layer.compute_dtype)
    y, new_state = layer.apply(params, state, x, training=training, key=key, **call_kwargs)
    report_activity(layer, y)
    return y, new_state


def report_activity(layer, outputs):
    """The layer's activity regularizer on its output(s), each ``/ batch`` as Keras, to the collector."""
    if layer.activity_regularizer is not None:
        add_activity_loss(sum(layer.activity_regularizer(o) / o.shape[0]
                              for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])))


class Layer:
    """Base class of every layer.

    Subclasses override ``build(input_shape)`` (check shapes, declare weights with
    :meth:`add_weight` and runtime state with :meth:`add_state`), ``call(params, x, training=False,
    key=None)`` (or ``apply(params, state, x, *, training, key, mask, ...)`` when they update state),
    ``compute_output_shape``, ``get_config`` and, for layers that pass or make masks,
    ``supports_masking`` / ``compute_mask``. Extra keyword arguments of ``call`` are call arguments:
    ``layer(x, my_option=1)`` stores them in the graph and saved configs; unknown ones are errors.

    Keras-style custom layers work as Keras users write them: ``self.kernel = self.add_weight(...)``
    in ``build`` and ``call(self, inputs, training=None, mask=None)`` using ``self.kernel``, which
    inside ``call`` is the weight's value (the call is still a pure function of the weights: Arena
    hands them in for the duration of the call). Without ``compute_output_shape`` the output shape
    is found by tracing ``call``. Such a layer reads its weights but does not update state or draw
    random numbers; write those in the ``call(params, x, training, key)`` form.
    """

    supports_masking = False
    autocast = True  # inputs and weights cast to the compute dtype when the layer runs

    def __init__(self, name=None, trainable=True, input_shape=None, batch_input_shape=None,
                 input_dim=None, batch_size=None, dtype=None, activity_regularizer=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}")
        from arena.nn import regularizers
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.trainable = bool(trainable)
        self.dtype_policy = mixed_precision.get(dtype)
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is None and input_shape is not None:
            batch_input_shape = (batch_size,) + tuple(input_shape)
        self._batch_input_shape = tuple(batch_input_shape) if batch_input_shape is not None else None
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.built = False
        self.input_shape = None
        self._sublayers = []  # layers inside this one (a Bidirectional's two RNNs), see add_sublayer
        self.params = {}
        self.state = {}
        self._weights = []  # declared variables (Weight), in declaration order
        self._inbound_nodes = []

    @property
    def dtype(self):
        """The dtype of the layer's weights (its policy's ``variable_dtype``)."""
        return self.dtype_policy.variable_dtype

    @property
    def compute_dtype(self):
        """The dtype the layer computes in (its policy's ``compute_dtype``)."""
        return self.dtype_policy.compute_dtype

    # ---- to override -------------------------------------------------------
    def build(self, input_shape):
        """Check ``input_shape`` and declare the layer's weights (:meth:`add_weight`)."""
        self.input_shape = input_shape
        self.built = True

    def init_params(self, key, input_shape):
        """``(params, state)``: every declared variable created from its initializer, one key each."""
        keys = jax.random.split(key, max(2, len(self._weights)))
        params, state = {}, {}
        for w, k in zip(self._weights, keys):
            value = w.initializer(k, w.shape, w.dtype)
            (params if w.trainable and not w.runtime else state)[w.name] = value
        return params, state

    def call(self, params, x, training=False, key=None):
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def apply(self, params, state, x, *, training=False, key=None, mask=None, **call_kwargs):
        """Pure forward pass: ``(y, new_state)``."""
        if mask is not None and _takes_mask(type(self).call):
            call_kwargs["mask"] = mask
        if _keras_style(type(self)):
            return self._call_keras_style(params, state, x, training, call_kwargs), state
        return self.call(params, x, training=training, key=key, **call_kwargs), state

    def _call_keras_style(self, params, state, x, training, call_kwargs):
        """``call(inputs, ...)`` with each attribute that holds a :class:`WeightRef` set to that
        weight's value for the duration of the call."""
        if "training" in inspect.signature(type(self).call).parameters:
            call_kwargs["training"] = training
        values = {**state, **params}
        refs = {attr: ref for attr, ref in vars(self).items() if isinstance(ref, WeightRef) and ref in values}
        try:
            for attr, ref in refs.items():
                setattr(self, attr, values[ref])
            return self.call(x, **call_kwargs)
        finally:
            for attr, ref in refs.items():
                setattr(self, attr, ref)

    def compute_output_shape(self, input_shape):
        if _keras_style(type(self)):
            traced = traced_output_shape(lambda x, p, s: self.apply(p, s, x)[0], input_shape, self.params, self.state)
            if traced is not None:
                return traced
        return input_shape

    def compute_mask(self, inputs, mask=None):
        """The output mask for an input mask (arrays): passed through where ``supports_masking``."""
        return mask if self.supports_masking else None

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype_policy.name}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        if self.activity_regularizer is not None:
            from arena.nn import regularizers
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # ---- declared variables ----------------------------------------------------------
    def add_weight(self, name=None, shape=None, initializer="glorot_uniform", regularizer=None, constraint=None,
                   trainable=True, dtype=None):
        """Declare a weight (in ``build``): created by ``initializer``, penalised by ``regularizer``,
        projected by ``constraint`` after each update, trained unless ``trainable=False`` (then it is a
        non-trainable weight such as a moving mean: saved with the model, updated by ``apply``).
        Returns the weight's name as a :class:`WeightRef` (``name=None``: ``variable``,
        ``variable_1``, ... as Keras 3 names them)."""
        from arena.nn import constraints, initializers, regularizers
        if shape is None:
            raise ValueError(f"Layer '{self.name}'.add_weight({name!r}) needs a shape")
        if name is None:
            taken = {w.name for w in self._weights}
            name = next(n for n in ("variable", *(f"variable_{i}" for i in range(1, len(taken) + 2)))
                        if n not in taken)
        if any(w.name == name for w in self._weights):
            raise ValueError(f"Layer '{self.name}' declares weight {name!r} twice")
        self._weights.append(Weight(name, tuple(int(d) for d in shape), initializers.get(initializer),
                                    regularizers.get(regularizer), constraints.get(constraint),
                                    bool(trainable), dtype or self.dtype))
        return WeightRef(name)

    def add_loss(self, value):
        """In ``call``/``apply``: add the scalar ``value`` to the loss of the forward pass that runs this
        layer (Keras' ``layer.add_loss``; e.g. a VAE's KL term). ``fit`` minimises it with the data
        loss and ``evaluate`` reports it in ``loss``; outside a model's forward pass it is dropped."""
        value = jax.numpy.asarray(value)
        if value.ndim:
            raise ValueError(f"Layer '{self.name}'.add_loss takes a scalar; got shape {value.shape} (reduce it, "
                             f"e.g. with jnp.mean)")
        add_activity_loss(value)

    def add_state(self, name, shape, initializer="zeros", dtype="float32"):
        """Declare runtime state (in ``build``), e.g. a stateful RNN's carry: threaded through training
        like batch-norm statistics but never saved as a weight, and reset by :meth:`reset_states`."""
        from arena.nn import initializers
        self._weights.append(Weight(name, tuple(int(d) for d in shape), initializers.get(initializer),
                                    trainable=False, dtype=dtype, runtime=True))
        return name

    @property
    def runtime_state_names(self):
        return [w.name for w in self._weights if w.runtime]

    def reset_states(self):
        """Set runtime state (RNN carries) back to its initial value, sublayers' too."""
        fresh = {w.name: w.initializer(jax.random.PRNGKey(0), w.shape, w.dtype) for w in self._weights if w.runtime}
        if fresh:
            self._state = {k: fresh.get(k, v) for k, v in self._state.items()}
        for l in self._sublayers:
            l.reset_states()

    # ---- layers inside layers -------------------------------------------------------------
    def add_sublayer(self, layer):
        """Track ``layer`` as part of this one (a wrapper's inner layer): its weights appear in this
        layer's ``params``/``state`` under its name, in ``get_weights``, files (``outer/inner/kernel:0``,
        as Keras names them), penalties and constraints. Build it from this layer's ``build``."""
        if any(l.name == layer.name for l in self._sublayers):
            raise ValueError(f"Layer '{self.name}' already holds a layer named {layer.name!r}")
        self._sublayers.append(layer)
        return layer

    @property
    def params(self):
        """Trainable weights: ``{name: array}``, plus ``{sublayer name: its params}``."""
        if not self._sublayers:
            return self._params
        return {**self._params, **{l.name: l.params for l in self._sublayers}}

    @params.setter
    def params(self, value):
        self._params = self._split_to_sublayers(value, "params")

    @property
    def state(self):
        """Non-trainable weights and runtime state, plus ``{sublayer name: its state}``."""
        if not self._sublayers:
            return self._state
        return {**self._state, **{l.name: l.state for l in self._sublayers}}

    @state.setter
    def state(self, value):
        self._state = self._split_to_sublayers(value, "state")

    def _split_to_sublayers(self, value, attr):
        """Hand the sublayers their entries; keep this layer's own in its declared order (a dict back
        from ``jax.jit`` has sorted keys, but get_weights and files use the layer's order)."""
        old = getattr(self, "_" + attr, {})
        if self._sublayers:
            subs = {l.name: l for l in self._sublayers}
            for name, sub in subs.items():
                if name in value:
                    setattr(sub, attr, value[name])
            value = {k: v for k, v in value.items() if k not in subs}
        if isinstance(value, dict) and list(old) != list(value) and set(old) == set(value):
            return {k: value[k] for k in old}
        return value

    def trainable_mask(self, parent_trainable=True):
        """A pytree shaped like ``params``: True where a weight is trained (this layer and its
        sublayers each trainable, inside a trainable parent)."""
        on = parent_trainable and self.trainable
        mask = {k: jax.tree_util.tree_map(lambda _: on, v) for k, v in self._params.items()}
        mask.update({l.name: l.trainable_mask(on) for l in self._sublayers})
        return mask

    # ---- weights -------------------------------------------------------------
    @property
    def weight_names(self):
        """Names of the weights in Keras order: trainable then non-trainable (runtime state excluded);
        a sublayer's weights as ``inner/kernel``."""
        runtime = set(self.runtime_state_names)
        subs = [(l, l.weight_names) for l in self._sublayers]
        trainable = list(self._params) + [f"{l.name}/{n}" for l, names in subs for n in names if n in l.params]
        frozen = [k for k in self._state if k not in runtime] + [
            f"{l.name}/{n}" for l, names in subs for n in names if n not in l.params]
        return trainable + frozen

    def weight_owner(self, name):
        """``(layer, weight name)`` holding the weight ``name`` of :attr:`weight_names`."""
        if name in self._params or name in self._state:
            return self, name
        sub, _, rest = name.partition("/")
        for l in self._sublayers:
            if l.name == sub:
                return l.weight_owner(rest)
        raise KeyError(f"Layer '{self.name}' has no weight {name!r}")

    def _weight_value(self, name):
        layer, w = self.weight_owner(name)
        return layer._params[w] if w in layer._params else layer._state[w]

    def get_weights(self):
        return [np.asarray(self._weight_value(n)) for n in self.weight_names]

    def set_weights(self, weights):
        names = self.weight_names
        if len(weights) != len(names):
            raise ValueError(f"Layer '{self.name}' expects {len(names)} weights {names}; got {len(weights)}")
        new = {}
        for n, w in zip(names, weights):
            cur = self._weight_value(n)
            w = np.asarray(w)
            if w.shape != cur.shape:
                raise ValueError(f"Layer '{self.name}' weight '{n}' has shape {cur.shape}; got {w.shape}")
            layer, name = self.weight_owner(n)
            new.setdefault(id(layer), (layer, {}))[1][name] = jax.numpy.asarray(w, dtype=cur.dtype)
        for layer, values in new.values():
            layer._params = {k: values.get(k, v) for k, v in layer._params.items()}
            layer._state = {k: values.get(k, v) for k, v in layer._state.items()}

    def count_params(self):
        return int(sum(np.prod(np.shape(self._weight_value(n))) for n in self.weight_names))

    def regularization_loss(self, params):
        """Sum of this layer's weight penalties (the regularizers declared with its weights)."""
        total = sum((l.regularization_loss(params[l.name]) for l in self._sublayers), 0.0)
        for w in self._weights:
            if w.regularizer is not None and w.name in params:
                total = total + w.regularizer(params[w.name])
        return total

    def apply_constraints(self, params):
        """Project weights after an optimizer update (the constraints declared with them)."""
        out = dict(params)
        for w in self._weights:
            if w.constraint is not None and w.name in out:
                out[w.name] = w.constraint(out[w.name])
        for l in self._sublayers:
            out[l.name] = l.apply_constraints(out[l.name])
        return out

    @property
    def has_constraints(self):
        return any(w.constraint is not None for w in self._weights) or any(
            l.has_constraints for l in self._sublayers)

    # ---- graph building --------------------------------------------------------
    def _ensure_built(self, input_shape, key=None):
        """Build and create weights on first use; later calls check the shape is compatible."""
        if not self.built:
            self._weights = []
            self.build(input_shape)
            self.built = True
            self.input_shape = input_shape
            if key is None:
                from arena.random import next_key
                key = next_key()
            if building_abstractly():
                self._init_abstract(key, input_shape)
            else:
                self.params, self.state = self.init_params(key, input_shape)
        else:
            self._check_compatible(input_shape)

    def _init_abstract(self, key, input_shape):
        """Weights as ShapeDtypeStructs (no memory), checked against :data:`MAX_WEIGHT_ELEMENTS` before
        and after tracing the initializers."""
        for w in self._weights:
            self._check_weight_size(w.name, w.shape)
        out = {}

        def init(k):
            out["tree"] = self.init_params(k, input_shape)  # tracers, in the layer's own key order
            return out["tree"]
        jax.eval_shape(init, key)
        params, state = _to_specs(out["tree"])
        for name, spec in [*params.items(), *state.items()]:
            for leaf in jax.tree_util.tree_leaves(spec):
                self._check_weight_size(name, leaf.shape)
        self.params, self.state = params, state
        self._init_key = key

    def _check_weight_size(self, name, shape):
        bad = [d for d in shape if not isinstance(d, (int, np.integer)) or d < 0]
        if bad:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) declares weight '{name}' with shape "
                             f"{tuple(shape)}: dimensions must be non-negative integers")
        size = math.prod(int(d) for d in shape)
        if size > MAX_WEIGHT_ELEMENTS:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) declares weight '{name}' of shape "
                             f"{tuple(int(d) for d in shape)}: {size:,} elements, more than the "
                             f"{MAX_WEIGHT_ELEMENTS:,} a weight may have (a damaged or hostile config?)")

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

    def _check_call_kwargs(self, kwargs):
        accepted = _call_arguments(type(self))
        for k, v in kwargs.items():
            if accepted is not None and k not in accepted:
                raise TypeError(f"{type(self).__name__} '{self.name}' got an unknown call argument {k!r}; "
                                f"it accepts {sorted(accepted)}")
            if _is_symbolic(v) or isinstance(v, jax.Array):
                raise TypeError(f"{type(self).__name__} '{self.name}': call argument {k!r} is a tensor; in a "
                                f"model graph call arguments are plain values (True, 3, 'sum')")

    def __call__(self, inputs, **kwargs):
        if _is_symbolic(inputs):
            self._check_call_kwargs(kwargs)
            as_list_ = isinstance(inputs, (list, tuple))
            tensors = list(inputs) if as_list_ else [inputs]
            shapes = [t.shape for t in tensors]
            input_shape = shapes if as_list_ else shapes[0]
            self._ensure_built(input_shape)
            out_shape = self.compute_output_shape(input_shape)
            node_index = len(self._inbound_nodes)
            multi = isinstance(out_shape, list)
            outs = [KerasTensor(s, self.compute_dtype, self, node_index, i)
                    for i, s in enumerate(out_shape if multi else [out_shape])]
            node = Node(self, tensors, outs, kwargs)
            node.input_is_list = as_list_
            self._inbound_nodes.append(node)
            return outs if multi else outs[0]
        # Eager call on arrays: build on first use; inference mode unless training=True is given.
        if isinstance(inputs, (list, tuple)):
            arrays = [jax.numpy.asarray(a) for a in inputs]
            shape = [(None,) + tuple(a.shape[1:]) for a in arrays]
        else:
            arrays = jax.numpy.asarray(inputs)
            shape = (None,) + tuple(arrays.shape[1:])
        self._ensure_built(shape)
        y, self.state = apply_layer(self, self.params, self.state, arrays, **kwargs)
        return y

    # ---- the symbolic tensors of a layer called once (Keras' layer.input / layer.output) -----------
    def _only_node(self, what):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called, so it has no {what}")
        if len(self._inbound_nodes) > 1:
            raise AttributeError(f"Layer '{self.name}' was called {len(self._inbound_nodes)} times, so its {what} is "
                                 f"ambiguous: use get_{what}_at(node_index)")
        return 0

    def get_output_at(self, node_index):
        """The output tensor(s) of this layer's ``node_index``-th call."""
        outs = self._inbound_nodes[node_index].outputs
        return outs[0] if len(outs) == 1 else list(outs)

    def get_input_at(self, node_index):
        """The input tensor(s) of this layer's ``node_index``-th call."""
        node = self._inbound_nodes[node_index]
        return list(node.inputs) if getattr(node, "input_is_list", False) else node.inputs[0]

    @property
    def output(self):
        """The output tensor of the layer's one call (e.g. ``Model(x, encoder_layer.output)``)."""
        return self.get_output_at(self._only_node("output"))

    @property
    def input(self):
        """The input tensor of the layer's one call (an InputLayer: its own tensor)."""
        node = self._inbound_nodes[self._only_node("input")]
        return node.outputs[0] if not node.inputs else self.get_input_at(0)

    @property
    def output_shape(self):
        """Keras 2's ``layer.output_shape``: the shape of the layer's output tensor (a list of shapes for
        several), batch axis None; the same for every call of the layer, else an error."""
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called, so it has no output_shape")
        shapes = {tuple(t.shape for t in node.outputs) for node in self._inbound_nodes}
        if len(shapes) > 1:
            raise AttributeError(f"Layer '{self.name}' was called {len(self._inbound_nodes)} times with different "
                                 f"output shapes {sorted(map(str, shapes))}, so its output_shape is ambiguous: use "
                                 f"get_output_at(node_index).shape")
        (outs,) = shapes
        return outs[0] if len(outs) == 1 else list(outs)

    # ---- shape checks with clear messages ---------------------------------------
    def _expect_rank(self, input_shape, rank, what, hint=""):
        if not isinstance(input_shape, tuple) or len(input_shape) != rank:
            raise ValueError(f"{type(self).__name__} '{self.name}' expects input of rank {rank} {what}; "
                             f"got shape {input_shape}.{(' ' + hint) if hint else ''}")

    def __repr__(self):
        return f"<{type(self).__name__} '{self.name}'>"
