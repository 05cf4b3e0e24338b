"""Models: the functional ``Model(inputs, outputs)`` graph and ``Sequential``.

A model is itself a Layer (models nest, as in Keras). Its parameters are a
nested dict keyed by layer name, ``{"dense_1": {"kernel": ..., "bias": ...}}``,
which is also the HDF5 layout. The forward pass ``apply`` is pure. Training
(compile/fit/evaluate/predict) lives in :mod:`arena.nn.training`.
"""
import collections
import heapq
import inspect

import jax
import numpy as np

from arena.nn.layers.base import (KerasTensor, Layer, add_activity_loss, apply_layer, as_list as _as_list,
                                  collecting_activity_losses, get_layer_class, register, report_activity)
from arena.nn.layers.core import Input, InputLayer
from arena.nn.training import TrainingMixin


@register
class Model(TrainingMixin, Layer):
    """A graph of layers from ``inputs`` to ``outputs`` (KerasTensors, or lists of them)."""

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        if kwargs:
            hint = (" (Keras 1's Model(input=, output=) is read by arena.keras.models.Model; here use inputs=, "
                    "outputs=)" if {"input", "output"} & set(kwargs) else "")
            raise TypeError(f"Model: unexpected keyword argument(s) {sorted(kwargs)}{hint}")
        self._layers = []
        self._nodes = []
        Layer.__init__(self, name=name, trainable=trainable)
        TrainingMixin.__init__(self)
        self.inputs, self.outputs = [], []
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("Model needs both `inputs` and `outputs`")
            self._init_graph(inputs, outputs)

    # ---- graph ---------------------------------------------------------------
    def _init_graph(self, inputs, outputs):
        self._inputs_are_list = isinstance(inputs, (list, tuple))
        self._outputs_are_list = isinstance(outputs, (list, tuple))
        self.inputs, self.outputs = _as_list(inputs), _as_list(outputs)
        for t in self.inputs + self.outputs:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model '{self.name}': inputs and outputs must be symbolic tensors from "
                                f"Input(...) and layer calls; got {type(t).__name__}")
        for t in self.inputs:
            if not isinstance(t._history[0], InputLayer):
                raise ValueError(f"Model '{self.name}': input {t} is not an Input(...) tensor")
        input_ids = {id(t) for t in self.inputs}
        order, seen = [], set()

        def visit(t):
            layer, ni, _ = t._history
            node = layer._inbound_nodes[ni]
            if id(node) in seen:
                return
            if isinstance(layer, InputLayer) and id(t) not in input_ids:
                raise ValueError(f"Model '{self.name}': graph disconnected: output depends on input "
                                 f"'{layer.name}' {t.shape}, which is not among the model's inputs "
                                 f"{[x._history[0].name for x in self.inputs]}")
            for it in node.inputs:
                visit(it)
            seen.add(id(node))
            order.append(node)

        for t in self.inputs:
            visit(t)
        for t in self.outputs:
            visit(t)
        self._nodes = order
        layers = _keras_layer_order(self.outputs, order)
        names = [l.name for l in layers]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            raise ValueError(f"Model '{self.name}': layer names must be unique; duplicated: {dups}")
        self._layers = layers
        self._predict_fn = None  # the graph changed: predict compiles anew
        self.built = True
        shapes = [t.shape for t in self.inputs]
        self.input_shape = shapes if self._inputs_are_list else shapes[0]
        self._batch_input_shape = None

    @property
    def layers(self):
        """The model's layers, input layers included, in graph order."""
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(f"Model '{self.name}' has no layer named {name!r}; layers: "
                         f"{[l.name for l in self._layers]}")

    @property
    def input_names(self):
        return [t._history[0].name for t in self.inputs]

    @property
    def output_names(self):
        return [t._history[0].name for t in self.outputs]

    @property
    def output(self):
        """The model's output tensor (a list for several), as Keras' ``model.output``."""
        return self.outputs[0] if len(self.outputs) == 1 else list(self.outputs)

    @property
    def input(self):
        """The model's input tensor (a list for several), as Keras' ``model.input``."""
        return self.inputs[0] if len(self.inputs) == 1 else list(self.inputs)

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes if self._outputs_are_list else shapes[0]

    def compute_output_shape(self, input_shape):
        return self.output_shape

    # ---- parameters live on the layers --------------------------------------
    @property
    def params(self):
        return {l.name: l.params for l in self._layers if not isinstance(l, InputLayer)}

    @params.setter
    def params(self, value):
        for l in getattr(self, "_layers", []):
            if l.name in value:
                l.params = value[l.name]

    @property
    def state(self):
        return {l.name: l.state for l in self._layers if not isinstance(l, InputLayer)}

    @state.setter
    def state(self, value):
        for l in getattr(self, "_layers", []):
            if l.name in value:
                l.state = value[l.name]

    def trainable_mask(self, parent_trainable=True):
        """A pytree shaped like ``params`` with True where a weight is trained."""
        on = parent_trainable and self.trainable
        return {l.name: l.trainable_mask(on) for l in self._layers if not isinstance(l, InputLayer)}

    def get_weights(self):
        return [w for l in self._layers for w in l.get_weights()]

    def set_weights(self, weights):
        weights = list(weights)
        expected = sum(len(l.get_weights()) for l in self._layers)
        if len(weights) != expected:
            raise ValueError(f"Model '{self.name}' expects {expected} weight arrays; got {len(weights)}")
        i = 0
        for l in self._layers:
            n = len(l.get_weights())
            l.set_weights(weights[i:i + n])
            i += n

    @property
    def runtime_state_names(self):
        return []

    def reset_states(self):
        """Reset the runtime state (RNN carries) of every layer."""
        for l in self._layers:
            l.reset_states()

    def count_params(self):
        return sum(l.count_params() for l in self._layers)

    def regularization_loss(self, params):
        return sum((l.regularization_loss(params[l.name]) for l in self._layers
                    if not isinstance(l, InputLayer)), 0.0)

    def apply_constraints(self, params):
        return {name: (layer.apply_constraints(p) if layer.has_constraints or isinstance(layer, Model) else p)
                for name, p, layer in ((l.name, params[l.name], l) for l in self._layers
                                       if not isinstance(l, InputLayer))}

    @property
    def has_constraints(self):
        return any(l.has_constraints for l in self._layers)

    # ---- forward ---------------------------------------------------------------
    def forward(self, params, state, inputs, training=False, key=None):
        """Pure forward pass: ``(outputs, new_state, activity_loss)``; outputs is a list."""
        outs, new_state, act_loss, _ = self.run_graph(params, state, inputs, training=training, key=key)
        return outs, new_state, act_loss

    def run_graph(self, params, state, inputs, *, training=False, key=None, masks=None):
        """The forward pass with masks: ``(outputs, new_state, activity_loss, output_masks)``.

        Each node runs its layer with the call arguments stored in the graph (``training=True`` given
        at a call wins over ``training``) and the masks of its inputs; masks then flow on through
        ``compute_mask``. Layer ``i`` of the graph draws its randomness from ``fold_in(key, i)``."""
        xs = _as_list(inputs) if len(self.inputs) > 1 or isinstance(inputs, (list, tuple)) else [inputs]
        if len(xs) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input(s) {self.input_names}; "
                             f"got {len(xs)}")
        values = {id(t): x for t, x in zip(self.inputs, xs)}
        mask_of = {id(t): m for t, m in zip(self.inputs, masks or [None] * len(xs))}
        new_state = {}
        with collecting_activity_losses() as reported:  # every layer's activity and added losses
            self._run_nodes(params, state, training, key, values, mask_of, new_state)
        return ([values[id(t)] for t in self.outputs], new_state, 0.0 + sum(reported),
                [mask_of.get(id(t)) for t in self.outputs])

    def _run_nodes(self, params, state, training, key, values, mask_of, new_state):
        """Runs the graph's nodes in order, filling ``values``/``mask_of``/``new_state``."""
        for i, node in enumerate(self._nodes):
            layer = node.layer
            if isinstance(layer, InputLayer):
                continue
            args = [values[id(t)] for t in node.inputs]
            arg_masks = [mask_of.get(id(t)) for t in node.inputs]
            arg = args if node.input_is_list else args[0]
            mask = (arg_masks if node.input_is_list else arg_masks[0]) if any(
                m is not None for m in arg_masks) else None
            kwargs = dict(node.call_kwargs)
            train = kwargs.pop("training", None)
            train = training if train is None else bool(train)
            lkey = jax.random.fold_in(key, i) if key is not None else None
            p, s = params[layer.name], state.get(layer.name, {})
            if isinstance(layer, Model):
                outs, s_new, loss, out_masks = layer.run_graph(p, s, arg, training=train, key=lkey,
                                                               masks=arg_masks)
                # As Keras 2 (a frozen Network has no updates): a frozen sub-model's non-trainable weights,
                # e.g. BatchNormalization moving statistics, stay as they are; its runtime state moves on.
                s = s_new if layer.trainable else _runtime_moves(layer, s, s_new)
                add_activity_loss(loss)
                report_activity(layer, outs)
                y = outs if len(outs) > 1 else outs[0]
            else:
                y, s = apply_layer(layer, p, s, arg, training=train, key=lkey, mask=mask, **kwargs)
                out_masks = layer.compute_mask(arg, mask)
                out_masks = _as_list(out_masks) if len(node.outputs) > 1 else [out_masks]
            new_state[layer.name] = s
            outs = list(y) if len(node.outputs) > 1 else [y]
            for t, o, m in zip(node.outputs, outs, out_masks):
                values[id(t)] = o
                mask_of[id(t)] = m

    def apply(self, params, state, x, *, training=False, key=None, mask=None):
        # Called as a layer inside another layer (e.g. TimeDistributed(model)): its activity losses
        # go to the enclosing forward pass's collector.
        outs, state, act_loss = self.forward(params, state, x, training=training, key=key)
        add_activity_loss(act_loss)
        return (outs if self._outputs_are_list else outs[0]), state

    def init_params(self, key, input_shape):
        return self.params, self.state

    # ---- configuration --------------------------------------------------------
    def _node_key(self, layer, node):
        """Index of ``node`` among the nodes of ``layer`` that belong to this model."""
        own = [n for n in layer._inbound_nodes if n in self._node_set]
        return own.index(node)

    def get_config(self):
        self._node_set = set(self._nodes)
        layers = []
        for layer in self._layers:
            nodes = []
            for node in layer._inbound_nodes:
                if node not in self._node_set or not node.inputs:
                    continue
                nodes.append([[t._history[0].name, self._node_key(t._history[0], t._history[0]._inbound_nodes[
                    t._history[1]]), t._history[2], dict(node.call_kwargs)] for t in node.inputs])
            layers.append({"name": layer.name, "class_name": type(layer).__name__,
                           "config": layer.get_config(), "inbound_nodes": nodes})

        def ref(t):  # Keras 3 counts a nested functional model's calls from 1 here (only here)
            layer, ni, ti = t._history
            return [layer.name, self._node_key(layer, layer._inbound_nodes[ni]) + int(_counts_own_node(layer)), ti]
        config = {"name": self.name, "layers": layers, "input_layers": [ref(t) for t in self.inputs],
                  "output_layers": [ref(t) for t in self.outputs]}
        if not self.trainable:  # a frozen sub-model stays frozen through save/load (as Keras' config)
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError(f"a functional Model config must be a dict with a list of 'layers'; got "
                             f"{str(config)[:120]}")
        where = f"Model config '{config.get('name')}'"
        inbound = [r for spec in config["layers"] if isinstance(spec, dict) and isinstance(
            spec.get("inbound_nodes"), list) for node in spec["inbound_nodes"] if isinstance(node, list) for r in node]
        ends = [r for k in ("input_layers", "output_layers") if isinstance(config.get(k), list) for r in config[k]]
        offsets, end_offsets = _node_offsets(config, inbound), _node_offsets(config, ends)
        if offsets or end_offsets:
            config = {**config, "layers": [{**spec, "inbound_nodes": _shift_refs(spec.get("inbound_nodes", []), offsets)}
                                           if isinstance(spec, dict) else spec for spec in config["layers"]],
                      **{k: _shift_refs(config[k], end_offsets) for k in ("input_layers", "output_layers")
                         if k in config}}
        layers, created = {}, {}
        for n, spec in enumerate(config["layers"]):
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise ValueError(f"{where}: layer entry {n} must be a dict with a 'name'; got {str(spec)[:120]}")
            if spec["name"] in layers:
                raise ValueError(f"{where}: two layers are named {spec['name']!r}")
            layers[spec["name"]] = deserialize_layer(spec, custom_objects)
        pending = []
        for spec in config["layers"]:
            nodes = spec.get("inbound_nodes", [])
            if not isinstance(nodes, list):
                raise ValueError(f"{where}: layer {spec['name']!r} has inbound_nodes {str(nodes)[:80]}; expected a "
                                 f"list")
            for i, node in enumerate(nodes):
                if not isinstance(node, list) or not node:
                    raise ValueError(f"{where}: layer {spec['name']!r} has an inbound node {str(node)[:80]}; expected "
                                     f"a list of [layer name, node index, tensor index, call arguments]")
                for ref in node:
                    _check_ref(ref, layers, where, f"layer {spec['name']!r} takes an input from")
                pending.append((spec["name"], i, node))
        for name, layer in layers.items():
            if isinstance(layer, InputLayer):
                created[(name, 0)] = [layer.output]

        def make(name, i, node):
            inputs = [_ref_tensor(created, ref, where) for ref in node]
            kwargs = node[0][3] if len(node[0]) > 3 and node[0][3] else {}
            if not isinstance(kwargs, dict):
                raise ValueError(f"Model config '{config.get('name')}': layer {name!r} has call arguments "
                                 f"{kwargs!r}; expected a dict")
            out = layers[name](inputs if len(inputs) > 1 else inputs[0], **kwargs)
            created[(name, i)] = _as_list(out)

        # Sweeps through the pending nodes in config order, each node once its inputs exist (and, for a
        # shared layer, its previous node: node indices stay as stored). Heaps keep this linear-ish in
        # the number of nodes (a hostile config of many layers in reverse order costs no n**2 sweeps).
        waiting = collections.defaultdict(list)   # (layer, node index) -> pending items waiting for it
        missing = {}
        this_sweep, next_sweep = [], []
        for idx, (name, i, node) in enumerate(pending):
            needs = {(ref[0], ref[1]) for ref in node} | ({(name, i - 1)} if i > 0 else set())
            needs = {k for k in needs if k not in created}
            missing[idx] = len(needs)
            for k in needs:
                waiting[k].append(idx)
            if not needs:
                heapq.heappush(this_sweep, idx)
        done = 0
        while this_sweep or next_sweep:
            if not this_sweep:
                this_sweep, next_sweep = next_sweep, []
            pos = heapq.heappop(this_sweep)
            name, i, node = pending[pos]
            make(name, i, node)
            done += 1
            for idx in waiting.pop((name, i), []):
                missing[idx] -= 1
                if missing[idx] == 0:
                    heapq.heappush(this_sweep if idx > pos else next_sweep, idx)
        if done < len(pending):
            left = [(pending[k][0], pending[k][1]) for k in sorted(missing) if missing[k] > 0]
            raise ValueError(f"Model config '{config.get('name')}' has inbound nodes that can never be "
                             f"resolved: {left[:20]}")
        for key in ("input_layers", "output_layers"):
            refs = config.get(key)
            if not isinstance(refs, list) or not refs:
                raise ValueError(f"{where}: '{key}' must be a non-empty list of [layer name, node index, tensor "
                                 f"index]")
            for ref in refs:
                _check_ref(ref, layers, where, f"'{key}' names")
        ins = [_ref_tensor(created, r, where) for r in config["input_layers"]]
        outs = [_ref_tensor(created, r, where) for r in config["output_layers"]]
        return cls(inputs=ins if len(ins) > 1 else ins[0], outputs=outs if len(outs) > 1 else outs[0],
                   name=config.get("name"), trainable=config.get("trainable", True))

    # ---- files (implemented in arena.nn.saving) ----------------------------------
    def save(self, filepath, overwrite=True, include_optimizer=True):
        """Write architecture, weights, training config and optimizer state to one HDF5 file (Keras 2
        layout, atomic); ``arena.nn.load_model(filepath)`` rebuilds the model and training resumes exactly."""
        from arena.nn import saving
        saving.save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath, overwrite=True):
        """Write the weights only (Keras 2 HDF5 layout), atomically."""
        from arena.nn import saving
        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, by_name=False, skip_mismatch=False):
        """Load weights from a ``save_weights``/``save`` file (Arena's or Keras'): in layer order, or
        ``by_name``; a mismatch names the layer and the expected and stored shapes."""
        from arena.nn import saving
        saving.load_weights(self, filepath, by_name=by_name, skip_mismatch=skip_mismatch)

    def to_json(self, **kwargs):
        """The architecture as a JSON string (``arena.nn.model_from_json`` rebuilds it)."""
        from arena.nn import saving
        return saving.model_to_json(self, **kwargs)

    # ---- printing --------------------------------------------------------------
    def summary(self, print_fn=print, line_length=None):
        """Print layers, output shapes and parameter counts, as Keras does."""
        functional = not isinstance(self, Sequential)
        cols = [("Layer (type)", 33), ("Output Shape", 26), ("Param #", 12)]
        if functional:
            cols.append(("Connected to", 30))
        width = sum(w for _, w in cols)

        def row(values):
            return "".join(str(v)[:w - 1].ljust(w) for v, (_, w) in zip(values, cols))

        print_fn(f'Model: "{self.name}"')
        print_fn("_" * width)
        print_fn(row([c for c, _ in cols]))
        print_fn("=" * width)
        self._node_set = set(self._nodes)
        for i, layer in enumerate(self._layers):
            if isinstance(layer, InputLayer) and not functional:
                continue
            shapes = [t.shape for n in layer._inbound_nodes if n in self._node_set for t in n.outputs]
            shape = shapes[0] if len(shapes) == 1 else shapes
            values = [f"{layer.name} ({type(layer).__name__})", shape, f"{layer.count_params():,}"]
            if functional:
                conn = [f"{t._history[0].name}[{t._history[1]}][{t._history[2]}]"
                        for n in layer._inbound_nodes if n in self._node_set for t in n.inputs]
                values.append(", ".join(conn))
            print_fn(row(values))
            print_fn(("=" if i == len(self._layers) - 1 else "_") * width)
        trainable = _count(self.params, self.trainable_mask(), True)
        total = self.count_params()
        print_fn(f"Total params: {total:,}")
        print_fn(f"Trainable params: {trainable:,}")
        print_fn(f"Non-trainable params: {total - trainable:,}")
        print_fn("_" * width)


def _runtime_moves(layer, old, new):
    """``old`` layer state with only the runtime state (RNN carries) taken from ``new``."""
    if isinstance(layer, Model):
        return {l.name: _runtime_moves(l, old[l.name], new[l.name])
                for l in layer._layers if not isinstance(l, InputLayer)}
    runtime = set(layer.runtime_state_names)
    subs = {l.name: l for l in layer._sublayers}
    return {k: (_runtime_moves(subs[k], v, new[k]) if k in subs else new[k] if k in runtime else v)
            for k, v in old.items()}


def _counts_own_node(layer):
    return isinstance(layer, Model) and not isinstance(layer, Sequential) and bool(layer.inputs)


def _node_offsets(config, refs):
    """``{layer name: 1}`` for the nested models whose references among ``refs`` count from 1: Keras 2
    counts a nested model's calls from 1 (its own input node first) everywhere, Keras 3 only in
    ``input_layers``/``output_layers`` and only for a functional model, Arena's older files never. A
    reference to call ``k`` of a layer that lists ``k`` calls is only possible when counting from 1."""
    counts = {spec.get("name"): len(spec.get("inbound_nodes") or []) for spec in config["layers"]
              if isinstance(spec, dict) and spec.get("class_name") in ("Model", "Functional", "Sequential")}
    return {r[0]: 1 for r in refs if isinstance(r, (list, tuple)) and len(r) >= 2 and r[0] in counts
            and isinstance(r[1], int) and counts[r[0]] and r[1] == counts[r[0]]}


def _shift_refs(value, offsets):
    """References to the layers of ``offsets`` counted from 0."""
    if isinstance(value, (list, tuple)) and len(value) >= 3 and isinstance(value[0], str) and \
            value[0] in offsets and isinstance(value[1], int):
        return [value[0], value[1] - offsets[value[0]], *value[2:]]
    if isinstance(value, list):
        return [_shift_refs(v, offsets) for v in value]
    return value


def _check_ref(ref, layers, where, what):
    """A config's tensor reference ``[layer name, node index, tensor index, ...]``, checked."""
    if not isinstance(ref, (list, tuple)) or len(ref) < 3 or not isinstance(ref[0], str) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in ref[1:3]):
        raise ValueError(f"{where}: {what} {str(ref)[:80]}, which is not a reference [layer name, node index, "
                         f"tensor index]")
    if ref[0] not in layers:
        raise ValueError(f"{where}: {what} layer {ref[0]!r}, which the config does not define")


def _ref_tensor(created, ref, where):
    key = (ref[0], ref[1])
    if key not in created:
        raise ValueError(f"{where}: layer {ref[0]!r} has no node {ref[1]} (a reference to a call that the config "
                         f"does not make)")
    outs = created[key]
    if ref[2] >= len(outs):
        raise ValueError(f"{where}: layer {ref[0]!r} node {ref[1]} has {len(outs)} output(s); the config refers to "
                         f"output {ref[2]}")
    return outs[ref[2]]


def _count(params, mask, want):
    leaves = jax.tree_util.tree_leaves(params)
    flags = jax.tree_util.tree_leaves(mask)
    return int(sum(np.prod(np.shape(p)) for p, m in zip(leaves, flags) if m == want))


@register
class Sequential(Model):
    """A linear stack of layers. The first layer takes ``input_shape``/``input_dim``;
    otherwise the model is built on first use (``build``, ``fit`` or ``predict``)."""

    def __init__(self, layers=None, name=None, trainable=True):
        self._stack = []
        super().__init__(name=name, trainable=trainable)
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        if isinstance(layer, KerasTensor) and isinstance(layer._history[0], InputLayer):
            layer = layer._history[0]
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential '{self.name}'.add expects a Layer; got {type(layer).__name__}")
        if isinstance(layer, InputLayer) and self._stack:
            raise ValueError(f"Sequential '{self.name}': an InputLayer can only be the first layer")
        self._stack.append(layer)
        if self.outputs and not isinstance(layer, InputLayer):
            out = layer(self.outputs[0])
            if isinstance(out, list):
                raise ValueError(f"Sequential '{self.name}': layer '{layer.name}' has several outputs; "
                                 f"use the functional Model")
            self._init_graph(self.inputs[0], out)
        else:
            self._rebuild()

    def pop(self):
        if not self._stack:
            raise ValueError(f"Sequential '{self.name}' has no layers to pop")
        self._stack.pop()
        self.inputs, self.outputs, self._layers, self._nodes = [], [], [], []
        self.built = False
        self._rebuild()

    def _rebuild(self, batch_input_shape=None):
        if not self._stack:
            return
        first = self._stack[0]
        if isinstance(first, InputLayer):
            x, rest = first.output, self._stack[1:]
        else:
            shape = batch_input_shape or first._batch_input_shape
            if shape is None and isinstance(first, Model) and first.inputs:
                shape = first.inputs[0].shape
            if shape is None:
                return  # deferred: built on first use
            # Keras names the implicit input after the first layer (errors say "dense_1_input")
            x, rest = Input(batch_shape=tuple(shape), name=f"{first.name}_input"), self._stack
        inp = x
        for layer in rest:
            x = layer(x)
        self._init_graph(inp, x)

    def build(self, input_shape=None):
        """Build the stack for ``input_shape`` (with batch axis, e.g. ``(None, 784)``)."""
        if not self.outputs:
            if input_shape is None:
                raise ValueError(f"Sequential '{self.name}' does not know its input shape: give the first "
                                 f"layer input_shape=... or call build((None, ...))")
            self._rebuild(tuple(input_shape))

    @property
    def layers(self):
        return [l for l in self._layers if not isinstance(l, InputLayer)] if self._layers else list(self._stack)

    def get_config(self):
        layers = []
        if self._stack and not isinstance(self._stack[0], InputLayer) and self.inputs:
            # An explicit InputLayer, as Keras 2.15 and 3 both write it: Keras 3 misreads a
            # `batch_input_shape` on the first layer (it adds a second batch axis).
            layers.append({"class_name": "InputLayer", "config": self.inputs[0]._history[0].get_config()})
        for layer in self._stack:
            layers.append({"class_name": type(layer).__name__, "config": layer.get_config()})
        config = {"name": self.name, "layers": layers}
        if not self.trainable:
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        specs = config["layers"] if isinstance(config, dict) else config
        if not isinstance(specs, list):
            raise ValueError(f"a Sequential config must hold a list of layers; got {str(specs)[:120]}")
        model = cls(name=config.get("name") if isinstance(config, dict) else None,
                    trainable=config.get("trainable", True) if isinstance(config, dict) else True)
        for spec in specs:
            model.add(deserialize_layer(spec, custom_objects))
        return model


def deserialize_layer(spec, custom_objects=None):
    """Build a layer (or a nested model) from ``{"class_name", "config"}``."""
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str) or "config" not in spec:
        raise ValueError(f"a layer spec must be a dict with a 'class_name' (a string) and a 'config'; got "
                         f"{str(spec)[:120]}")
    class_name = spec["class_name"]
    if class_name == "Functional":
        class_name = "Model"
    layer_cls = get_layer_class(class_name, custom_objects)
    config = spec["config"]
    if not isinstance(config, (dict, list)) or (isinstance(config, list) and class_name != "Sequential"):
        raise ValueError(f"layer spec {class_name}: its config must be a dict; got {str(config)[:120]}")
    if not isinstance(layer_cls, type) or not issubclass(layer_cls, Layer):
        raise ValueError(f"{class_name!r} in custom_objects is not a Layer class")
    if issubclass(layer_cls, Model) or class_name == "Lambda":
        return layer_cls.from_config(config, custom_objects=custom_objects)
    # Wrappers (TimeDistributed) rebuild their inner layer, which may need custom_objects too.
    takes_objects = "custom_objects" in inspect.signature(layer_cls.from_config).parameters
    try:
        if takes_objects:
            return layer_cls.from_config(config, custom_objects=custom_objects)
        return layer_cls.from_config(config)
    except TypeError as e:
        raise ValueError(f"Cannot rebuild layer {config.get('name')!r} of class {class_name}: {e}") from None


def _keras_layer_order(outputs, nodes):
    """A functional model's layers in Keras' order: by depth (a layer's depth is the longest path from
    it to an output; deepest, the inputs, first), ties in the order a depth-first walk from the outputs
    first meets them, as Keras' ``_map_graph_network`` does. Keras' weight files list layers in this
    order (and a positional load follows it), and ``model.layers[:n]`` (freeze the first n layers)
    names the same layers as in Keras. ``nodes``: the graph in execution order."""
    first_seen, finished, post_order = {}, set(), []

    def visit(t):
        layer, ni, _ = t._history
        node = layer._inbound_nodes[ni]
        if id(node) in finished:
            return
        first_seen.setdefault(id(layer), len(first_seen))
        for parent in node.inputs:
            visit(parent)
        finished.add(id(node))
        post_order.append(node)
    for t in outputs:
        visit(t)
    node_depth, layer_depth = {}, {}
    for node in reversed(post_order):  # outputs first: every consumer of a node comes before it
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        for t in node.inputs:
            layer, ni, _ = t._history
            parent = id(layer._inbound_nodes[ni])
            node_depth[parent] = max(node_depth.get(parent, 0), depth + 1)
    layers = []
    for node in nodes:
        if node.layer not in layers:
            layers.append(node.layer)
    top = max(layer_depth.values(), default=0) + 1  # an input no output uses: first, as Keras lists inputs
    return sorted(layers, key=lambda l: (-layer_depth.get(id(l), top), first_seen.get(id(l), -1)))
