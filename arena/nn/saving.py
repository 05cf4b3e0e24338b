"""Model files: architecture, weights, optimizer state and training config in ONE HDF5 file,
laid out as Keras 2's legacy ``.h5`` format (so h5py / HDFView users see what they know)::

    /                          @model_config     JSON {"class_name": "Sequential" | "Model", "config": ...}
                               @training_config  JSON {"optimizer_config": {class_name, config}, "loss",
                                                       "metrics", "loss_weights", ...}
                               @keras_version    "2.15.0": the Keras whose legacy layout this is
                               @arena_version    Arena's own version: the file was written by Arena
                               @backend          "jax"
      model_weights/           @layer_names [b"dense_1", ...]   (one group per layer, in model order)
        dense_1/               @weight_names [b"dense_1/kernel:0", b"dense_1/bias:0"]
          dense_1/kernel:0     dataset (784, 512) float32       -> model_weights/dense_1/dense_1/kernel:0
          dense_1/bias:0
        encoder/               a nested model: its weights in its group, named "<inner layer>/<weight>:0"
                               (deeper models add their names: "block/dense_3/kernel:0"); trainable
                               weights first, then the others, as Keras orders a model's weights
      optimizer_weights/       @weight_names: every dataset below (relative paths)
        iteration:0            int64: the model's optimizer step counter (model.iterations)
        rng_key:0              uint32[2]: the base key of training randomness (dropout keys, shuffle order)
        opt_state/...          the optax state, one dataset per leaf named by its pytree path,
                               e.g. opt_state/0/inner_state/0/mu/dense_1/kernel (Adam's first moment)

With the optimizer state, the step counter and the key restored, a model saved after epoch k and
reloaded continues exactly as if it had never stopped (``fit(..., initial_epoch=k)``).

Loading also reads files written by Keras (2.x ``model.save('m.h5')``, Keras 3's legacy h5): their
configs pass through :func:`translate_keras_config`; weights are matched by name where the names
agree and by order otherwise (as Keras does); Keras' Adam/SGD slots are mapped onto the optax
state when possible (otherwise a warning and a fresh optimizer state).

Loading never runs code from a file and never unpickles: a Lambda layer is rebuilt only from a
function you pass in ``custom_objects``; an unknown layer class is an error naming it.

Loading treats a file as untrusted: only objects stored in the file itself are read (no soft or
external links, no external raw storage, no virtual datasets: :mod:`arena.io`); the model is first
built from its config abstractly (shapes only, no memory; one weight may have at most
``MAX_WEIGHT_ELEMENTS`` elements), every stored dataset's shape and dtype is checked against it from
the file's metadata, and only then are the stored arrays read, never a random initialisation first.
A damaged config is a ``ValueError`` naming the file; a damaged training config loads the model
uncompiled with a warning; a learning-rate schedule is rebuilt only if it is one of
:mod:`arena.nn.schedules` (or a class in ``custom_objects``), with bounded, finite arguments (saving
a model whose rate is an opaque optax schedule warns that the file will load uncompiled); a file
asking for more than ``MAX_STEPS_PER_EXECUTION`` steps per execution is capped with a warning.
"""
import json
import os
import re
import sys
import warnings

import h5py
import jax
import jax.numpy as jnp
import numpy as np

import arena
from arena.io import (UnsafeFileError, atomic_h5, has_child, is_numeric_dtype, open_h5, read_pytree, safe_child,
                      write_pytree)
from arena.nn import losses as losses_mod
from arena.nn import optimizers, schedules
from arena.nn import training as training_mod
from arena.nn.layers.base import (abstract_weight_names, abstract_weights, get_layer_class, materialize_runtime_state,
                                  materialize_weights, snake_case)
from arena.nn.layers.core import InputLayer
from arena.nn.model import Model, deserialize_layer
from arena.utils.signature import accepted_arguments

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "model_to_json", "model_from_json",
           "translate_keras_config", "KERAS_VERSION"]

# A real Keras version, as Keras 2 and 3 expect to parse one; `arena_version` beside it names the writer.
KERAS_VERSION = "2.15.0"
BACKEND = "jax"
_ATTR_LIMIT = 64512  # HDF5 object header limit for attributes (Keras splits longer name lists)


# ---- small helpers -------------------------------------------------------------------------------
def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, jax.Array)):
        return np.asarray(value).tolist()
    raise TypeError(f"a model config holds a {type(value).__name__} ({value!r}), which JSON cannot store; "
                    f"layer get_config() must return plain numbers, strings, lists and dicts")


def _dumps(obj, **kwargs):
    return json.dumps(obj, default=_json_default, **kwargs)


def _attr_str(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _write_names(group, name, names):
    """A list of names as a bytes-array attribute, split into name0, name1, ... when too large (as Keras)."""
    data = np.array([n.encode("utf-8") for n in names], dtype="S") if names else np.zeros(0, "S1")
    chunks = 1
    parts = [data]
    while any(p.nbytes > _ATTR_LIMIT for p in parts):
        chunks += 1
        parts = np.array_split(data, chunks)
    if chunks == 1:
        group.attrs[name] = data
    else:
        for i, part in enumerate(parts):
            group.attrs[f"{name}{i}"] = part


def _read_names(group, name):
    if name in group.attrs:
        raw = [group.attrs[name]]
    else:
        raw, i = [], 0
        while f"{name}{i}" in group.attrs:
            raw.append(group.attrs[f"{name}{i}"])
            i += 1
    return [_attr_str(v) for part in raw for v in np.atleast_1d(part) if isinstance(v, (bytes, str))]


def _source(where):
    """How a file (or a group inside one) is named in messages."""
    if isinstance(where, h5py.Group):
        return f"'{where.file.filename}'" + (f" (group '{where.name}')" if where.name != "/" else "")
    return f"'{os.fspath(where)}'"


# ---- weights ----------------------------------------------------------------------------------------
def _weight_entries(layer, parent_trainable=True):
    """``[(name, leaf_layer, weight_name, trainable)]`` for ``layer``: names relative to the layer's group
    (``dense_1/kernel:0``; inside a nested model ``inner/dense_3/kernel:0``), trainable weights first."""
    on = parent_trainable and layer.trainable
    if isinstance(layer, Model):
        out = []
        for sub in layer._layers:
            if isinstance(sub, InputLayer):
                continue
            for name, leaf, w, t in _weight_entries(sub, on):
                out.append((f"{sub.name}/{name}" if isinstance(sub, Model) else name, leaf, w, t))
    else:  # a sublayer's weight "inner/kernel" is stored as "outer/inner/kernel:0" (Keras' names)
        owners = [(w,) + layer.weight_owner(w) for w in layer.weight_names]
        out = [(f"{layer.name}/{w}:0", leaf, name, on and name in leaf.params) for w, leaf, name in owners]
    return sorted(out, key=lambda e: not e[3])  # stable: Keras' trainable_weights + non_trainable_weights


def _value(leaf, w):
    return np.asarray(leaf.params[w] if w in leaf.params else leaf.state[w])


def _spec(leaf, w):
    """``(shape, dtype)`` of a weight, also of an abstract one (a ShapeDtypeStruct)."""
    v = leaf.params[w] if w in leaf.params else leaf.state[w]
    return tuple(np.shape(v)), np.dtype(getattr(v, "dtype", np.float32))


def _write_weights(group, layers):
    """Keras 2's per-layer weight groups into ``group`` (the ``model_weights`` group or a weights file)."""
    _write_names(group, "layer_names", [l.name for l in layers])
    group.attrs["backend"] = BACKEND
    group.attrs["keras_version"] = KERAS_VERSION
    group.attrs["arena_version"] = arena.__version__
    for layer in layers:
        g = group.create_group(layer.name, track_order=True)
        entries = _weight_entries(layer)
        _write_names(g, "weight_names", [e[0] for e in entries])
        for name, leaf, w, _ in entries:
            g.create_dataset(name, data=_value(leaf, w))


def _components(name):
    return re.sub(r":\d+$", "", name).split("/")


def _match_by_name(expected, stored):
    """Indices into ``stored`` for each expected name, pairing the names with the longest common
    suffix (``dense_1/kernel:0`` ~ ``kernel``); None when that is not a clean one-to-one match."""
    exp, sto = [_components(n) for n in expected], [_components(n) for n in stored]

    def common(a, b):
        n = 0
        while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
            n += 1
        return n
    choice = []
    for e in exp:
        scores = [common(e, s) for s in sto]
        best = max(scores, default=0)
        if best == 0 or scores.count(best) > 1:
            return None
        choice.append(scores.index(best))
    return choice if len(set(choice)) == len(choice) else None


def check_stored_weight(ds, leaf, w, where, stored, source):
    """Check the file's dataset ``ds`` (at ``stored``, for messages) against ``leaf``'s weight ``w``
    from the file's metadata, before anything is read (a small file may declare gigabytes): the
    message of a shape the model does not have, or None when it fits; a dataset that cannot hold the
    weight's numbers is a ``ValueError`` (a damaged file)."""
    want, want_dtype = _spec(leaf, w)
    if not isinstance(ds, h5py.Dataset) or ds.shape != want:
        return (f"{source}: {where} weight '{w}' expects shape {want}; the file's '{stored}' has shape "
                f"{getattr(ds, 'shape', None)}. The file was saved from a different architecture")
    if not is_numeric_dtype(ds.dtype) or (ds.dtype.kind == "c" and want_dtype.kind != "c"):
        raise ValueError(f"{source}: {where} weight '{w}' holds {want_dtype} numbers; the file's '{stored}' holds "
                         f"{ds.dtype} (damaged file)")
    return None


def skip_or_raise(msg, skip_mismatch, why=""):
    """A stored weight group that does not fit the model: under ``skip_mismatch`` a warning and the
    caller skips it; otherwise a ``ValueError`` (``msg`` + ``why``)."""
    if not skip_mismatch:
        raise ValueError(msg + why)
    warnings.warn(msg + "; skipped", stacklevel=_caller_outside_arena())


def _plan_layer(layer, group, source, file_layer, skip_mismatch, plan):
    """Check a Keras weight group against ``layer`` and add its arrays to ``plan`` (leaf -> values)."""
    entries = _weight_entries(layer)
    names = _read_names(group, "weight_names")
    kind = type(layer).__name__
    if len(names) != len(entries):
        msg = (f"{source}: layer '{layer.name}' ({kind}) has {len(entries)} weights {[e[0] for e in entries]}; "
               f"the file's layer '{file_layer}' has {len(names)} {names}")
        return skip_or_raise(msg, skip_mismatch)
    order = _match_by_name([e[0] for e in entries], names) or list(range(len(names)))
    values = {}
    for (name, leaf, w, _), i in zip(entries, order):
        if not has_child(group, names[i]):
            raise ValueError(f"{source}: the file's layer '{file_layer}' lists weight '{names[i]}' but holds no "
                             f"such dataset (the file is damaged)")
        ds = safe_child(group, names[i], f"a weight of layer '{file_layer}'")
        if not isinstance(ds, h5py.Dataset):
            raise ValueError(f"{source}: the file's '{file_layer}/{names[i]}' is a group, not a weight (damaged file)")
        where = f"layer '{layer.name}' ({kind})" + (f", inner layer '{leaf.name}'" if leaf is not layer else "")
        msg = check_stored_weight(ds, leaf, w, where, f"{file_layer}/{names[i]}", source)
        if msg:
            return skip_or_raise(msg, skip_mismatch)
        values.setdefault(id(leaf), (leaf, {}))[1][w] = ds
    plan.update(values)


def _load_weights_group(model, group, source, by_name=False, skip_mismatch=False):
    """Load Keras-layout weight groups into ``model``; everything is checked before any weight changes."""
    file_layers = _read_names(group, "layer_names")
    missing = [n for n in file_layers if not has_child(group, n)]
    if missing:
        raise ValueError(f"{source}: layer_names lists {missing[:20]}, which the file does not hold (damaged file)")
    groups = {n: safe_child(group, n, "a layer's weights") for n in file_layers}
    not_groups = [n for n, g in groups.items() if not isinstance(g, h5py.Group)]
    if not_groups:
        raise ValueError(f"{source}: layer_names lists {not_groups[:20]}, which are datasets, not layer groups "
                         f"(damaged file)")
    with_weights = [n for n in file_layers if _read_names(groups[n], "weight_names")]
    layers = [l for l in model.layers if _weight_entries(l)]
    if by_name:
        pairs = [(l, l.name) for l in layers if l.name in file_layers]
    elif sorted(with_weights) == sorted(l.name for l in layers):
        # The same layer names: pair by name, which is what pairing in order means for the same
        # architecture, without depending on how Keras and Arena order the layers of a functional graph.
        pairs = [(l, l.name) for l in layers]
    else:
        if len(with_weights) != len(layers):
            hint = ""
            if not model.built or not model.outputs:
                hint = (f" Model '{model.name}' is not built yet: give its first layer an input_shape or call "
                        f"model.build((None, ...)) first.")
            raise ValueError(f"{source}: the file has weights for {len(with_weights)} layers {with_weights}; model "
                             f"'{model.name}' has {len(layers)} layers with weights {[l.name for l in layers]}. "
                             f"Use the same architecture, or load_weights(..., by_name=True).{hint}")
        pairs = list(zip(layers, with_weights))
    plan = {}
    for layer, name in pairs:
        _plan_layer(layer, groups[name], source, name, skip_mismatch, plan)
    # Everything checked: read the arrays (all of them before any weight changes), then set them.
    arrays = [(leaf, {w: np.asarray(ds[()]) for w, ds in vals.items()}) for leaf, vals in plan.values()]
    for leaf, vals in arrays:
        leaf.set_weights([vals[w] for w in leaf.weight_names])


# ---- model files: writing ------------------------------------------------------------------------
def _model_class_name(model):
    return type(model).__name__


def model_to_json(model, **json_kwargs):
    """The architecture as JSON (Keras' ``to_json``): ``{"class_name", "config", "keras_version", "backend"}``."""
    return _dumps({"class_name": _model_class_name(model), "config": model.get_config(),
                   "keras_version": KERAS_VERSION, "arena_version": arena.__version__, "backend": BACKEND},
                  **json_kwargs)


def _serialize_fns(value, namer, name_strings=False):
    if isinstance(value, str) and name_strings:
        return namer(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {k: _serialize_fns(v, namer, name_strings) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_fns(v, namer, name_strings) for v in value]
    if callable(value):
        return namer(value)
    raise TypeError(f"cannot store {value!r} in a training config")


def _caller_outside_arena():
    """The ``stacklevel`` of the first caller outside the arena package, for a warning raised in the
    caller of this function: ``model.save``, ``save_model`` and ``ModelCheckpoint`` reach it by
    different paths, and the warning should point at the user's line."""
    root = os.path.dirname(os.path.abspath(arena.__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(root):
        frame, level = frame.f_back, level + 1
    return level


_OFF = {"decay": 0.0, "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
        "global_clipnorm": None}


def _training_config(model):
    args = model._compile_args
    opt = model.optimizer

    def spec(o):
        lr = o.learning_rate
        if callable(lr) and not isinstance(lr, schedules.LearningRateSchedule):
            warnings.warn(f"model.save: the learning rate of {type(o).__name__} is an opaque schedule ({lr!r:.60}), "
                          f"which the file cannot store: the file will load uncompiled. Use a schedule of "
                          f"arena.nn.schedules (e.g. CosineDecay) to save it with the model.",
                          stacklevel=_caller_outside_arena())
        # Settings at their "off" value are left out: Keras 2.15 reads an optimizer config without
        # `is_legacy_optimizer` with its legacy classes, which reject the EMA keys; Keras 3 warns on `decay`.
        config = {k: v for k, v in o.get_config().items() if not (k in _OFF and v == _OFF[k])}
        if isinstance(o, optimizers.LossScaleOptimizer):
            # Keras 2.15's form (no name; dynamic); Keras 3 finds the inner class by its module
            config.pop("name", None)
            config["dynamic"] = True
            config["inner_optimizer"] = {**spec(o.inner_optimizer), "module": "keras.optimizers",
                                         "registered_name": None}
        return {"class_name": type(o).__name__, "config": config}
    # Several optimizers (a custom train_step's): {layer name: {class_name, config}}.
    optimizer_config = {k: spec(o) for k, o in opt.items()} if isinstance(opt, dict) else spec(opt)
    return {"optimizer_config": optimizer_config,
            "loss": _serialize_fns(args["loss"], losses_mod.name_of, name_strings=True),
            "metrics": _serialize_fns(args["metrics"], lambda f: getattr(f, "__name__", "metric")),
            "weighted_metrics": None, "sample_weight_mode": args.get("sample_weight_mode"),
            "loss_weights": args["loss_weights"],
            "steps_per_execution": getattr(model, "steps_per_execution", 1)}


def _write_optimizer(f, model):
    ts = model._train_state
    og = f.create_group("optimizer_weights", track_order=True)
    og.create_dataset("iteration:0", data=np.int64(int(ts.step)))
    write_pytree(og, ts.key, name="rng_key:0")
    write_pytree(og, ts.opt_state, name="opt_state")
    names = []
    og.visititems(lambda n, obj: names.append(n) if isinstance(obj, h5py.Dataset) else None)
    _write_names(og, "weight_names", ["iteration:0", "rng_key:0"] + [n for n in names if n.startswith("opt_state/")])


def _write_model(f, model, include_optimizer):
    f.attrs["keras_version"] = KERAS_VERSION
    f.attrs["backend"] = BACKEND
    f.attrs["arena_version"] = arena.__version__
    f.attrs["model_config"] = _dumps({"class_name": _model_class_name(model), "config": model.get_config()})
    if include_optimizer and model.compiled and model.optimizer is not None:
        f.attrs["training_config"] = _dumps(_training_config(model))
    _write_weights(f.create_group("model_weights", track_order=True), model.layers)
    runtime = _runtime_state(model)
    if runtime:  # a stateful RNN's carry: not a weight, but a resumed run goes on from it
        write_pytree(f, runtime, name="runtime_state")
    if include_optimizer and model.compiled and model._train_state is not None:
        _write_optimizer(f, model)


def _runtime_state(layer):
    """The runtime state (RNN carries) of ``layer`` or a model, nested by layer name; {} when none."""
    if isinstance(layer, Model):
        parts = {l.name: _runtime_state(l) for l in layer._layers if not isinstance(l, InputLayer)}
    else:
        parts = {s.name: _runtime_state(s) for s in layer._sublayers}
        parts.update({k: layer._state[k] for k in layer.runtime_state_names})
    return {k: v for k, v in parts.items() if not isinstance(v, dict) or v}


def _set_runtime_state(layer, tree):
    if isinstance(layer, Model):
        by_name = {l.name: l for l in layer._layers}
    else:
        by_name = {s.name: s for s in layer._sublayers}
    for k, v in tree.items():
        if isinstance(v, dict):
            _set_runtime_state(by_name[k], v)
        else:
            layer._state = {**layer._state, k: v}


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Write ``model`` (architecture, weights and, with ``include_optimizer``, its training config and
    optimizer state) to the HDF5 file ``filepath``, atomically: a temporary file in the same
    directory is renamed over ``filepath`` only once it is complete. ``filepath`` may also be an open
    ``h5py.Group`` (e.g. one part of an agent checkpoint), which is written in place."""
    if not isinstance(model, Model):
        raise TypeError(f"save_model expects an arena Model; got {type(model).__name__}")
    if isinstance(filepath, h5py.Group):
        _write_model(filepath, model, include_optimizer)
        return
    if os.fspath(filepath).endswith(".keras"):
        from arena.nn import keras_archive  # it builds on this module (a one-way import at module level)
        return keras_archive.save_keras(model, filepath, overwrite, include_optimizer)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_model: '{os.fspath(filepath)}' exists and overwrite=False")
    with atomic_h5(filepath) as f:
        _write_model(f, model, include_optimizer)


def save_weights(model, filepath, overwrite=True):
    """Weights only, in Keras 2's layout (root ``layer_names``, one group per layer); atomic."""
    if isinstance(filepath, h5py.Group):
        _write_weights(filepath, model.layers)
        return
    if os.fspath(filepath).endswith(".weights.h5"):
        from arena.nn import keras_archive
        return keras_archive.save_weights_h5(model, filepath, overwrite)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_weights: '{os.fspath(filepath)}' exists and overwrite=False")
    with atomic_h5(filepath) as f:
        _write_weights(f, model.layers)


# ---- Keras config translation ----------------------------------------------------------------------
# Keys some Keras versions write that Arena's layers do not take, with the value that means "off":
# they are dropped when they hold that value; any other value is left for the layer to reject.
_KERAS_DEFAULTS = {"ragged": False, "sparse": False, "optional": False, "groups": 1, "lora_rank": None,
                   "lora_alpha": None, "quantization_config": None, "synchronized": False, "renorm": False,
                   "renorm_clipping": None, "renorm_momentum": 0.99, "virtual_batch_size": None,
                   "adjustment": None, "fused": None, "autocast": True, "data_format": "channels_last",
                   "input_dtype": None}
_KERAS_SPEC_KEYS = ("module", "registered_name", "build_config", "compile_config", "shared_object_id")
_KERAS_INIT_DEFAULTS = {"input_axes": None, "output_axes": None}
_NESTED_LAYER_KEYS = ("layer", "backward_layer", "cell")  # wrappers' inner layers, RNN(cell)'s cell
_MASK_OP_LAYERS = ("NotEqual",)  # Keras 3 functional graphs record mask_zero's mask as an op layer


def _plain(value):
    """Keras 3 wraps objects as {"module", "class_name", "config", "registered_name"}; dtype policies
    become their name ("float32"); other wrapped objects (initializers, regularizers) keep
    ``{"class_name", "config"}``, which Arena's ``get`` functions read."""
    if isinstance(value, dict):
        if value.get("class_name") in ("DTypePolicy", "Policy", "FloatDTypePolicy") and "config" in value:
            return value["config"].get("name", "float32")
        if value.get("module") == "keras.initializers" and isinstance(value.get("config"), dict):
            # Keras 3.12+ variance-scaling initializers: input_axes/output_axes None = the usual fans
            value = {**value, "config": {k: v for k, v in value["config"].items()
                                         if not (k in _KERAS_INIT_DEFAULTS and v == _KERAS_INIT_DEFAULTS[k])}}
        return {k: _plain(v) for k, v in value.items() if k not in ("module", "registered_name", "shared_object_id")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _tensor_refs(args):
    """Keras 3 node arguments -> Keras 2 refs [layer, node_index, tensor_index, {}]."""
    if isinstance(args, dict):
        if args.get("class_name") == "__keras_tensor__":
            name, node, index = args["config"]["keras_history"]
            return [[name, node, index, {}]]
        return [r for v in args.values() for r in _tensor_refs(v)]
    if isinstance(args, (list, tuple)):
        return [r for v in args for r in _tensor_refs(v)]
    return []


def _node_refs(node):
    """A Keras 3 node ``{"args", "kwargs"}`` -> Keras 2 refs, each carrying the node's plain call
    arguments (``training``; tensors and unset values such as ``mask: null`` are left out)."""
    kwargs = {k: v for k, v in (node.get("kwargs") or {}).items()
              if v is not None and k != "mask" and not _tensor_refs(v)}
    return [ref[:3] + [dict(kwargs)] for ref in _tensor_refs(node.get("args", []))]


def _mask_op_layers(layers):
    """Names of Keras 3 mask op layers (``NotEqual`` of the token ids, from ``mask_zero=True``) whose
    outputs reach other layers only as their ``mask`` argument: Arena propagates that mask itself."""
    ops = {l.get("name") for l in layers if isinstance(l, dict) and l.get("class_name") in _MASK_OP_LAYERS}
    if not ops:
        return ops
    for layer in layers:
        nodes = layer.get("inbound_nodes") if isinstance(layer, dict) else None
        for node in nodes if isinstance(nodes, list) else []:
            if isinstance(node, dict):
                used = _tensor_refs(node.get("args", [])) + _tensor_refs(
                    {k: v for k, v in (node.get("kwargs") or {}).items() if k != "mask"})
            else:
                used = [r for r in node if isinstance(r, list)]
            ops -= {r[0] for r in used}
    return ops


def _drop_mirror_backward_layer(config):
    """Keras 3 writes a Bidirectional's ``backward_layer`` even when it is the default mirror of
    ``layer`` (same config, ``go_backwards`` flipped) and names ``layer`` ``forward_<name>``. Arena
    builds the mirror itself from ``layer`` (naming the copies ``forward_<name>``/``backward_<name>``,
    as the weight names in the file do): drop the mirror and restore the inner layer's base name. A
    backward layer that is not the mirror is an error (Arena cannot load it yet)."""
    fwd, bwd = config["layer"], config["backward_layer"]
    fc, bc = dict(fwd.get("config") or {}), dict(bwd.get("config") or {})
    fname, bname = fc.pop("name", None), bc.pop("name", None)
    mirror = (fwd.get("class_name") == bwd.get("class_name")
              and {**fc, "go_backwards": not fc.get("go_backwards", False)} == bc)
    if not mirror:
        raise ValueError(f"Bidirectional {config.get('name')!r}: its backward_layer {bname!r} is not the mirror of "
                         f"its layer {fname!r} (the same config run the other way); Arena cannot load such a "
                         f"backward_layer from a file")
    if isinstance(fname, str) and isinstance(bname, str) and fname.startswith("forward_") and \
            bname == "backward_" + fname[len("forward_"):]:
        config["layer"] = {**fwd, "config": {**fwd["config"], "name": fname[len("forward_"):]}}
    del config["backward_layer"]


def translate_keras_config(spec, custom_objects=None):
    """Turn a Keras layer/model spec ``{"class_name", "config", ...}`` (Keras 2.x or 3.x) into Arena's.

    The rules, one per Keras quirk:
      * Keras 2.4+ names functional models ``Functional``: Arena's ``Model``.
      * Keras 3 spec keys ``module``, ``registered_name``, ``build_config``, ``compile_config``: dropped;
        wrapped objects lose ``module``/``registered_name``; ``DTypePolicy`` dicts become the dtype name.
      * Keras 3 ``batch_shape``: Keras 2's ``batch_input_shape``.
      * Keras 3 inbound nodes ``{"args": [__keras_tensor__ ...], "kwargs"}``: Keras 2 refs
        ``[[layer, node, tensor, {}], ...]``; a single ``input_layers``/``output_layers`` ref becomes a list.
      * Keras 2.0-2.2 Sequential configs that are a bare list of layers: ``{"layers": [...]}``.
      * Keys Arena does not take whose value means "off" (``ragged: false``, ``groups: 1``,
        ``lora_rank: null``, ...): dropped; any other value of them is left for the layer to reject.
      * Any other key the layer does not take (a newer Keras' field): dropped with one warning naming it. Lambda's ``function_type``/``module`` bookkeeping: dropped
        (its function is looked up by name in ``custom_objects``; stored code is never run).
    Initializer configs (``{"class_name": "GlorotUniform", "config": {"seed": null}}``) are read as they are.
    """
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        raise ValueError(f"a layer spec must be a dict with a 'class_name' (a string) and a 'config'; got "
                         f"{str(spec)[:120]}")
    spec = {k: v for k, v in spec.items() if k not in _KERAS_SPEC_KEYS}
    class_name = spec["class_name"]
    if class_name == "Functional":
        class_name = "Model"
    config = spec.get("config") or {}
    if isinstance(config, list):
        config = {"layers": config}
    if isinstance(config, dict):
        # Wrappers (Bidirectional, TimeDistributed) and RNN(cell) hold whole layer specs, in Keras 3
        # with module/registered_name/build_config and dtype policies: translate them as layers.
        config = {k: (translate_keras_config(v, custom_objects)
                      if k in _NESTED_LAYER_KEYS and isinstance(v, dict) and isinstance(v.get("class_name"), str)
                      else v) for k, v in config.items()}
    config = _plain(config)
    if not isinstance(config, dict):
        raise ValueError(f"the config of layer spec {class_name} is {str(config)[:80]}; expected a dict")
    if "batch_shape" in config:
        config["batch_input_shape"] = config.pop("batch_shape")
    try:
        cls = get_layer_class(class_name, custom_objects)
    except ValueError:
        cls = None  # unknown: left for deserialize_layer, which names the class and custom_objects
    if "layers" in config and (cls is None or (isinstance(cls, type) and issubclass(cls, Model))):
        if not isinstance(config["layers"], list):
            raise ValueError(f"the config of {class_name} {config.get('name')!r} holds 'layers' "
                             f"{str(config['layers'])[:80]}; expected a list of layer specs")
        layers = []
        mask_ops = _mask_op_layers(config["layers"])
        for layer in config["layers"]:
            if not isinstance(layer, dict):
                raise ValueError(f"the config of {class_name} {config.get('name')!r} holds a layer spec "
                                 f"{str(layer)[:80]}; expected a dict with 'class_name' and 'config'")
            if layer.get("name") in mask_ops:
                continue  # Arena's graph carries Embedding(mask_zero=True)'s mask by itself
            layer = dict(layer)
            if isinstance(layer.get("inbound_nodes"), list):
                layer["inbound_nodes"] = [_node_refs(n) if isinstance(n, dict) else n
                                          for n in layer["inbound_nodes"]]
            layers.append(translate_keras_config(layer, custom_objects))
        config["layers"] = layers
        for key in ("input_layers", "output_layers"):
            refs = config.get(key)
            if isinstance(refs, list) and refs and isinstance(refs[0], str):
                config[key] = [refs]
        for key in ("dtype", "build_input_shape"):
            config.pop(key, None)
    elif isinstance(cls, type) and class_name != "Lambda":
        accepted = accepted_arguments(cls)
        if isinstance(getattr(cls, "cell_class", None), type):  # LSTM(units, **cell options)
            accepted |= accepted_arguments(cls.cell_class)
        for key, off in _KERAS_DEFAULTS.items():
            if key in config and key not in accepted and config[key] == off:
                del config[key]
        # A field newer than Arena knows (neither taken by the layer nor a known switch above, whose
        # non-default values change the math and stay for the layer to reject): dropped, with a warning,
        # so a file from a newer Keras still loads when the layer's math is one Arena knows.
        unknown = sorted(k for k in config if k not in accepted and k not in _KERAS_DEFAULTS)
        if unknown:
            warnings.warn(f"{class_name} {config.get('name')!r}: ignoring config field(s) {unknown}, which Arena's "
                          f"{class_name} does not know (written by a newer Keras?)", stacklevel=2)
            for k in unknown:
                del config[k]
    if class_name == "Bidirectional" and isinstance(config.get("backward_layer"), dict):
        _drop_mirror_backward_layer(config)
    if class_name == "Lambda":
        for key in ("function_type", "module", "output_shape_type", "output_shape_module"):
            config.pop(key, None)
        if not isinstance(config.get("output_shape"), (list, tuple, type(None))):
            config["output_shape"] = None  # serialized code: Arena infers the shape by tracing instead
    spec["class_name"] = class_name
    spec["config"] = config
    return spec


def _model_from_spec(spec, custom_objects):
    if not isinstance(spec, dict) or "class_name" not in spec or "config" not in spec:
        raise ValueError(f"a model config must be {{'class_name': ..., 'config': ...}}; got "
                         f"{str(spec)[:200]}")
    return deserialize_layer(translate_keras_config(spec, custom_objects), custom_objects)


def _parse_json(text):
    """``json.loads`` with every failure (bad syntax, too deep, a number beyond Python's digit limit,
    not text) as a ``ValueError`` saying what is wrong."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text)
    except RecursionError:
        raise ValueError("it nests too deeply to be a config") from None
    except (TypeError, ValueError) as e:  # JSONDecodeError, UnicodeDecodeError and the int digit limit are ValueErrors
        raise ValueError(f"it is not valid JSON ({e})") from None


_CONFIG_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError, OverflowError)


def _describe(e):
    """A config error as a sentence (a bare KeyError says only ``'layers'``)."""
    if isinstance(e, RecursionError):
        return "it nests too deeply"
    if isinstance(e, KeyError):
        return f"a required entry {e.args[0]!r} is missing or refers to something the config does not define"
    if isinstance(e, OverflowError):
        return f"a number in it is too large ({e})"
    if isinstance(e, (TypeError, AttributeError, IndexError)):
        return f"an entry has the wrong type or length ({e})"
    return str(e)


MAX_CONFIG_LAYERS = 10_000  # layers (nested models' too) one config may define: building takes ~1 ms each


def _count_layers(spec):
    """How many layer specs a config defines, nested models included (iterative: no recursion limit)."""
    count, todo = 0, [spec]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if isinstance(node.get("layers"), list):
                count += len(node["layers"])
            elif isinstance(node.get("config"), list):  # Keras 2.0's Sequential: a bare list of layers
                count += len(node["config"])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return count


def _build_model(spec, custom_objects):
    """The model of a config, built abstractly (shapes only: no memory, sizes bounded)."""
    n = _count_layers(spec)
    if n > MAX_CONFIG_LAYERS:
        raise ValueError(f"the config defines {n:,} layers; Arena builds at most {MAX_CONFIG_LAYERS:,} from a "
                         f"config (a damaged or hostile file?)")
    with abstract_weights():
        return _model_from_spec(spec, custom_objects)


def model_from_json(json_string, custom_objects=None):
    """Rebuild an (uncompiled, freshly initialised) model from :func:`model_to_json` output or Keras'
    ``model.to_json()``. Custom layers and Lambda functions come from ``custom_objects``."""
    try:
        spec = _parse_json(json_string)
    except ValueError as e:
        raise ValueError(f"model_from_json: {e}") from None
    try:
        model = _build_model(spec, custom_objects)
    except _CONFIG_ERRORS as e:
        raise ValueError(f"model_from_json: cannot build the model: {_describe(e)}") from (
            None if isinstance(e, RecursionError) else e)
    materialize_weights(model)
    materialize_runtime_state(model)
    return model


# ---- model files: reading --------------------------------------------------------------------------
class _Unmappable(Exception):
    """A stored optimizer/training setting Arena cannot reproduce."""


def _resolve_named(value, custom_objects, kind):
    """Loss/metric specs from a training config: names stay names (custom ones come from
    ``custom_objects``), Keras object dicts become their Arena name."""
    if value is None or isinstance(value, (int, float, bool)):
        return value
    if isinstance(value, str):
        return custom_objects[value] if custom_objects and value in custom_objects else value
    if isinstance(value, list):
        return [_resolve_named(v, custom_objects, kind) for v in value]
    if isinstance(value, dict) and "class_name" in value:
        cfg = value.get("config") or {}
        if cfg.get("from_logits") or cfg.get("label_smoothing"):
            raise _Unmappable(f"{kind} {value['class_name']} with from_logits/label_smoothing")
        name = value["class_name"]
        if custom_objects and name in custom_objects:
            return custom_objects[name]
        if kind == "metric":
            return cfg.get("name") or cfg.get("fn") or snake_case(name)
        for candidate in (cfg.get("name"), cfg.get("fn"), snake_case(name)):
            if candidate and candidate in losses_mod._ALL:
                return candidate
        raise _Unmappable(f"unknown {kind} {name!r}")
    if isinstance(value, dict):
        return {k: _resolve_named(v, custom_objects, kind) for k, v in value.items()}
    raise _Unmappable(f"cannot interpret {kind} {value!r}")


# Keras optimizer settings with no Arena counterpart, and the value that means "not used".
_KERAS_OPT_OFF = {"weight_decay": (None, 0, 0.0), "jit_compile": None, "is_legacy_optimizer": None, "name": None,
                  "loss_scale_factor": (None,), "gradient_accumulation_steps": (None, 1)}  # Keras 3 (off)


def _optimizer_from_config(oc, custom_objects):
    if not isinstance(oc, dict):
        raise _Unmappable(f"the optimizer config is a {type(oc).__name__}, not a dict")
    name = str(oc.get("class_name", ""))
    name = name.split(">")[-1]  # Keras 2.11+ registers its optimizers as "Custom>Adam"
    config = oc.get("config") or {}
    if not isinstance(config, dict):
        raise _Unmappable(f"the optimizer config of {name!r} is not a dict")
    config = dict(config)
    if name == "LossScaleOptimizer" and not (custom_objects and name in custom_objects):
        # Keras 2.15 adds "dynamic": true (Arena's scaling is always dynamic), Keras 3 a "name".
        if config.get("dynamic", True) is not True:
            raise _Unmappable("LossScaleOptimizer with a fixed loss scale (dynamic=False) is not supported")
        inner = _optimizer_from_config(config.get("inner_optimizer"), custom_objects)
        try:
            return optimizers.LossScaleOptimizer(inner, **{k: config[k] for k in ("initial_scale",
                                                                                  "dynamic_growth_steps")
                                                           if k in config})
        except (TypeError, ValueError) as e:
            raise _Unmappable(f"LossScaleOptimizer cannot be rebuilt from the file's settings ({e})") from None
    if custom_objects and name in custom_objects:
        obj = custom_objects[name]
        try:
            if isinstance(obj, type) and issubclass(obj, optimizers.Optimizer):
                return obj.from_config(config)
            return optimizers.get(obj)
        except (TypeError, ValueError) as e:
            raise _Unmappable(f"optimizer {name!r} cannot be rebuilt from the file's settings ({e})") from None
    if not isinstance(config, dict):
        raise _Unmappable(f"the optimizer config of {name!r} is not a dict")
    cls = {c.__name__.lower(): c for c in (optimizers.SGD, optimizers.RMSprop, optimizers.Adam, optimizers.Adamax,
                                           optimizers.Nadam, optimizers.Adagrad, optimizers.Adadelta)}.get(name.lower())
    if cls is None:
        raise _Unmappable(f"optimizer {name!r} cannot be rebuilt from the file" + (
            " (a raw optax transformation: pass it as custom_objects={'OptaxOptimizer': tx})"
            if name == "OptaxOptimizer" else ""))
    for key, off in _KERAS_OPT_OFF.items():
        if key in config:
            value = config.pop(key)
            if off is not None and value not in off:
                raise _Unmappable(f"{name} uses {key}={value!r}, which Arena's {cls.__name__} does not support")
    if "learning_rate" in config and config["learning_rate"] is None:
        raise _Unmappable(f"{name} was saved with an opaque learning-rate schedule (an optax function), which "
                          f"the file does not hold")
    schedule = config.pop("learning_rate") if isinstance(config.get("learning_rate"), dict) else None
    if schedule is not None:  # only arena.nn.schedules' classes or custom_objects' are built
        try:
            schedule = schedules.deserialize(schedule, custom_objects)
        except (TypeError, ValueError, OverflowError) as e:
            raise _Unmappable(f"{name}'s learning-rate schedule cannot be rebuilt from the file ({e})") from None
    accepted = accepted_arguments(cls)
    unknown = sorted(k for k in config if k not in accepted)
    if unknown:
        raise _Unmappable(f"{name} settings {unknown} have no Arena counterpart")
    for key, value in config.items():  # settings are numbers or flags (a string would fail only at training)
        if value is not None and not isinstance(value, bool) and not (
                isinstance(value, (int, float)) and np.isfinite(value)):
            raise _Unmappable(f"{name} setting {key}={value!r:.60} is not a finite number")
    if schedule is not None:
        config["learning_rate"] = schedule
    try:
        return cls(**config)
    except (TypeError, ValueError, OverflowError) as e:
        raise _Unmappable(f"{name} cannot be rebuilt from the file's settings ({e})") from None


def _file_var_paths(model, weights_group):
    """``{file weight name as a tuple of components: params path}``, the file's weight names paired
    with the model's weights as :func:`_plan_layer` pairs them. Optimizer slots name their variable by
    that path (Keras 2: ``Adam/m/bigru/forward_gru/gru_cell/kernel:0``; Keras 3 joins it with ``_``:
    ``adam/bigru_forward_gru_gru_cell_kernel_momentum``), which tells apart the forward and backward
    cells of a Bidirectional that share the leaf name ``gru_cell``."""
    out = {}
    if weights_group is None:
        return out
    for layer in model.layers:
        entries = _weight_entries(layer)
        if not entries or not has_child(weights_group, layer.name):
            continue
        group = safe_child(weights_group, layer.name, "a layer's weights")
        names = _read_names(group, "weight_names") if isinstance(group, h5py.Group) else []
        if len(names) != len(entries):
            continue
        order = _match_by_name([e[0] for e in entries], names) or list(range(len(names)))
        for (_, leaf, w, _), i in zip(entries, order):
            out[tuple(_components(names[i]))] = _params_path(model, leaf, w)
    return out


def _keras_slots(og, model, weights_group=None):
    """Keras optimizer weights -> ({slot: {(layer, weight): array}}, iteration). Handles Keras 2.11+
    names ``Adam/m/dense/kernel:0``, legacy ``Adam/dense/kernel/m:0`` and Keras 3's flat
    ``adam/sequential_dense_kernel_momentum`` (with ``adam/learning_rate``, the current rate, which
    the optimizer config also holds)."""
    names = _read_names(og, "weight_names")
    leaf_paths = {}
    for layer in model.layers:
        for name, leaf, w, _ in _weight_entries(layer):
            leaf_paths[(leaf.name, w)] = _params_path(model, leaf, w)
    by_path = _file_var_paths(model, weights_group)
    flat = {"_".join(k): v for k, v in by_path.items()}
    slots, iteration = {}, None
    for n in names:
        parts = _components(n)
        if parts[-1] in ("iteration", "iterations", "iter"):
            iteration = _read_counter(og, n)
            continue
        if len(parts) == 2 and parts[1] == "learning_rate":
            continue
        if len(parts) == 2 and parts[1].rpartition("_")[2] in ("momentum", "velocity"):
            var, _, slot = parts[1].rpartition("_")
            if var not in flat:
                raise _Unmappable(f"optimizer weight {n!r} belongs to no weight of the model")
            path = flat[var]
        elif len(parts) >= 4 and parts[1] in _SLOT_NAMES:
            slot, var = parts[1], parts[2:]
        elif len(parts) >= 4 and parts[-1] in _SLOT_NAMES:
            slot, var = parts[-1], parts[1:-1]
        else:
            raise _Unmappable(f"unrecognised optimizer weight {n!r}")
        if len(parts) != 2:
            key = (var[-2], var[-1])
            if tuple(var) in by_path:
                path = by_path[tuple(var)]
            elif key in leaf_paths:
                path = leaf_paths[key]
            else:
                raise _Unmappable(f"optimizer weight {n!r} belongs to no weight of the model")
        ds = safe_child(og, n, "an optimizer weight")  # read once its shape is checked (see _map_keras_optimizer)
        if not isinstance(ds, h5py.Dataset) or not is_numeric_dtype(ds.dtype) or ds.dtype.kind == "c":
            raise _Unmappable(f"optimizer weight {n!r} is not an array of real numbers")
        slots.setdefault(_SLOT_NAMES[slot], {})[path] = ds
    return slots, iteration


_MAX_STEP = 2**31 - 1  # the step counter is an int32


def _read_counter(og, name):
    """An optimizer's iteration counter: one integer in [0, 2**31 - 1]."""
    ds = safe_child(og, name, "the iteration counter")
    if not isinstance(ds, h5py.Dataset) or ds.shape not in ((), (1,)) or not is_numeric_dtype(ds.dtype) \
            or ds.dtype.kind == "c":
        raise _Unmappable(f"the iteration counter {name!r} is not one number")
    value = np.asarray(ds[()]).reshape(()).item()
    if isinstance(value, float) and not (np.isfinite(value) and value == int(value)):
        raise _Unmappable(f"the iteration counter {name!r} holds {value!r}, not an integer")
    value = int(value)
    if not 0 <= value <= _MAX_STEP:
        raise _Unmappable(f"the iteration counter {name!r} holds {value}, outside [0, {_MAX_STEP}]")
    return value


_SLOT_NAMES = {"m": "m", "momentum": "m", "v": "v", "velocity": "v"}


def _params_path(model, leaf, w):
    """The key path of a leaf layer's weight in ``model.params`` (nested models nest)."""
    def find(m):
        for l in (m._layers if isinstance(m, Model) else m._sublayers):
            if l is leaf:
                return (l.name,)
            sub = find(l)
            if sub:
                return (l.name,) + sub
        return None
    return find(model) + (w,)


def _map_keras_optimizer(model, og, opt_name, weights_group=None):
    """Carry Keras' moments into the fresh optax state (see :func:`_map_slots`)."""
    slots, iteration = _keras_slots(og, model, weights_group)
    if iteration is None:
        raise _Unmappable("no iteration counter")
    _map_slots(model, slots, iteration, opt_name)


def _map_slots(model, slots, iteration, opt_name):
    """``slots`` ({"m" | "v": {params path: dataset}}) into the fresh optax state: Adam m/v -> mu/nu,
    SGD momentum m -> trace (Arena's SGD keeps Keras' velocity m = momentum*m - lr*g as the trace)."""
    ts = model._state()
    fields = {"Adam": {"mu": "m", "nu": "v"}, "SGD": {"trace": "m"}}.get(opt_name)
    if fields is None:
        raise _Unmappable(f"no mapping for {opt_name} slots {sorted(slots)}")
    used = set()

    def fix(path, leaf):
        # NamedTuple fields (GetAttrKey) name the slot; the dict keys after it are the weight's path.
        attrs = [i for i, k in enumerate(path) if isinstance(k, jax.tree_util.GetAttrKey)]
        for field, slot in fields.items():
            at = [i for i in attrs if path[i].name == field]
            if at:
                weight_path = tuple(getattr(k, "key", None) for k in path[at[-1] + 1:])
                if slot not in slots or weight_path not in slots[slot]:
                    raise _Unmappable(f"the file has no {slot} slot for {'/'.join(weight_path)}")
                used.add((slot, weight_path))
                ds = slots[slot][weight_path]
                if ds.shape != np.shape(leaf):
                    raise _Unmappable(f"{slot} slot for {'/'.join(weight_path)} has shape {ds.shape}")
                return jnp.asarray(np.asarray(ds[()], np.float32), dtype=leaf.dtype)
        if attrs and attrs[-1] == len(path) - 1 and path[-1].name == "count":
            return jnp.asarray(iteration, dtype=leaf.dtype)
        return leaf
    opt_state = jax.tree_util.tree_map_with_path(fix, ts.opt_state)
    left = sum(len(v) for v in slots.values()) - len(used)
    if left:
        raise _Unmappable(f"{left} optimizer slots in the file have no place in Arena's {opt_name} state")
    model._train_state = ts._replace(opt_state=opt_state, step=jnp.asarray(iteration, jnp.int32))


def _restore_optimizer(model, f, source):
    og = safe_child(f, "optimizer_weights")
    if not isinstance(og, h5py.Group):
        raise _Unmappable("'optimizer_weights' is not a group")
    if has_child(og, "opt_state"):  # written by Arena
        ts = model._state()
        try:
            opt_state = read_pytree(safe_child(og, "opt_state"), like=ts.opt_state)
            key = read_pytree(safe_child(og, "rng_key:0"), like=ts.key) if has_child(og, "rng_key:0") else ts.key
        except UnsafeFileError:
            raise
        except ValueError as e:
            raise _Unmappable(f"its optimizer state does not fit this optimizer ({e})") from None
        step = _read_counter(og, "iteration:0") if has_child(og, "iteration:0") else 0
        model._train_state = ts._replace(opt_state=opt_state, key=key, step=jnp.asarray(step, jnp.int32))
        return
    wg = safe_child(f, "model_weights") if has_child(f, "model_weights") else None
    _map_keras_optimizer(model, og, type(model.optimizer).__name__, wg if isinstance(wg, h5py.Group) else None)


def _file_steps_per_execution(value, source):
    """A training config's ``steps_per_execution``: a positive integer, capped (with a warning) at
    ``MAX_STEPS_PER_EXECUTION`` (the steps are unrolled into one compiled function)."""
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _Unmappable(f"steps_per_execution={value!r:.40} is not a positive integer")
    cap = getattr(training_mod, "MAX_STEPS_PER_EXECUTION", 32)
    if value > cap:
        warnings.warn(f"{source}: the file asks for steps_per_execution={value}; capped at {cap} (the steps are "
                      f"unrolled into one compiled function: more take minutes to compile)", stacklevel=4)
        return cap
    return value


def _compile_from(model, f, custom_objects, source):
    """Compile ``model`` as the HDF5 file's training config says (see :func:`compile_from_config`)."""
    try:
        tc = _parse_json(_attr_str(f.attrs["training_config"]))
    except (ValueError, OSError) as e:
        warnings.warn(f"{source}: the model is loaded uncompiled: its training_config attribute is damaged: {e}. "
                      f"Call model.compile(...) yourself.", stacklevel=3)
        return
    restore = None
    if has_child(f, "optimizer_weights") and model.outputs:
        writer = "Arena" if "arena_version" in f.attrs else f"Keras {_attr_str(f.attrs.get('keras_version', '?'))}"
        restore = (writer, lambda: _restore_optimizer(model, f, source))
    compile_from_config(model, tc, custom_objects, source, restore)


def compile_from_config(model, tc, custom_objects, source, restore=None):
    """Compile ``model`` as the training config ``tc`` says (Keras 2's ``training_config``; a Keras 3
    ``compile_config`` is first put in that form). ``restore``: ``(writer, function)`` that puts the
    file's optimizer state into the compiled model. A training config Arena cannot follow (damaged,
    unknown optimizer, loss or metric, settings that are not numbers) leaves the model uncompiled,
    with one warning naming the file; optimizer state that does not map gives a fresh one, warned."""
    def uncompiled(why):
        warnings.warn(f"{source}: the model is loaded uncompiled: {why}. Call model.compile(...) yourself.",
                      stacklevel=4)
    try:
        if not isinstance(tc, dict):
            raise _Unmappable(f"its training_config is a {type(tc).__name__}, not a dict")
        oc = tc.get("optimizer_config") or {}
        if isinstance(oc, dict) and "class_name" not in oc and oc and all(isinstance(v, dict) for v in oc.values()):
            optimizer = {k: _optimizer_from_config(v, custom_objects) for k, v in oc.items()}
        else:
            optimizer = _optimizer_from_config(oc, custom_objects)
        loss = _resolve_named(tc.get("loss"), custom_objects, "loss")
        metrics = _resolve_named(tc.get("metrics"), custom_objects, "metric")
        steps = _file_steps_per_execution(tc.get("steps_per_execution"), source)
    except _Unmappable as e:
        return uncompiled(str(e))
    except _CONFIG_ERRORS as e:
        return uncompiled(f"its training_config is damaged: {_describe(e)}")
    if loss is None and not model._custom_step():
        return
    before = dict(model.__dict__)
    try:
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics, loss_weights=tc.get("loss_weights"),
                      sample_weight_mode=tc.get("sample_weight_mode"), steps_per_execution=steps)
    except _CONFIG_ERRORS as e:  # an unknown loss or metric, loss weights that do not fit the outputs
        model.__dict__.clear()
        model.__dict__.update(before)
        return uncompiled(f"its training configuration cannot be compiled: {_describe(e)}")
    if restore is not None:
        writer, restore_state = restore
        try:
            restore_state()
        except UnsafeFileError:
            raise
        except (_Unmappable, ValueError, TypeError, KeyError, OverflowError) as e:
            model._train_state = None
            warnings.warn(f"{source}: the optimizer state (written by {writer}) could not be mapped onto "
                          f"Arena's {type(model.optimizer).__name__}: {e}. The weights are loaded and the model is "
                          f"compiled with a fresh optimizer state.", stacklevel=4)


def _load_from_group(f, custom_objects, compile, source):
    if "model_config" not in f.attrs:
        attrs = sorted(f.attrs)
        hint = (f" It looks like a weights-only file (model.save_weights): build the model and call "
                f"model.load_weights({source})." if "layer_names" in f.attrs else "")
        raise ValueError(f"{source} is an HDF5 file but not a saved model: it has no 'model_config' attribute "
                         f"(root attributes: {attrs}).{hint}")
    try:
        spec = _parse_json(_attr_str(f.attrs["model_config"]))
    except ValueError as e:
        raise ValueError(f"{source}: the model_config attribute is damaged: {e}") from None
    try:
        model = _build_model(spec, custom_objects)  # shapes only: nothing is allocated yet
    except _CONFIG_ERRORS as e:
        raise ValueError(f"Cannot load the model in {source}: {_describe(e)}") from (
            None if isinstance(e, RecursionError) else e)
    if not has_child(f, "model_weights"):
        raise ValueError(f"{source} has a model_config but no 'model_weights' group (damaged file)")
    weights = safe_child(f, "model_weights")
    if not isinstance(weights, h5py.Group):
        raise ValueError(f"{source}: 'model_weights' is a dataset, not a group (damaged file)")
    _load_weights_group(model, weights, source)
    lacking = abstract_weight_names(model)
    if lacking:
        raise ValueError(f"{source} holds no values for the weights "
                         f"{[f'{layer.name}/{w}' for layer, w in lacking][:20]} of its own model (damaged file)")
    materialize_runtime_state(model)
    if has_child(f, "runtime_state"):  # a stateful model's carries, saved with it (shapes from the model)
        like = _runtime_state(model)
        try:
            _set_runtime_state(model, read_pytree(safe_child(f, "runtime_state"), like=like))
        except ValueError as e:
            raise ValueError(f"{source}: the saved runtime state (RNN carries) does not fit the model: {e}") from None
    if compile and "training_config" in f.attrs:
        _compile_from(model, f, custom_objects, source)
    return model


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuild a model saved by :func:`save_model` / ``model.save`` (or by Keras' ``model.save('m.h5')``
    or Keras 3's ``.keras``): architecture, weights and, with ``compile``, the compiled training setup
    and optimizer state.

    ``custom_objects`` maps names to your own layer classes, Lambda functions, losses and metrics.
    Loading is always safe (Keras 3's ``safe_mode``): code stored in a file is never run, so
    ``safe_mode=False`` changes nothing (a Lambda still takes its function from ``custom_objects``).
    ``filepath`` may be a path or an open ``h5py.Group``. Raises ``FileNotFoundError``, ``ValueError``
    (not HDF5, not a model, unknown layer class, a Lambda without its function) or ``OSError``
    (damaged or truncated file), each naming the file."""
    if not safe_mode:
        warnings.warn("load_model(safe_mode=False): Arena never runs code stored in a file; a Lambda layer still "
                      "takes its function from custom_objects", stacklevel=2)
    if isinstance(filepath, h5py.Group):
        return _load_from_group(filepath, custom_objects, compile, _source(filepath))
    if os.path.isfile(filepath) and not h5py.is_hdf5(filepath):
        from arena.nn import keras_archive
        if keras_archive.is_keras_archive(filepath):
            return keras_archive.load_keras(filepath, custom_objects, compile)
    with open_h5(filepath, "model file") as f:
        try:
            return _load_from_group(f, custom_objects, compile, _source(filepath))
        except OSError as e:  # h5py could open the file but not read a part of it
            raise OSError(f"Cannot read model file {_source(filepath)}: the HDF5 file is damaged ({e})") from e


def load_weights(model, filepath, by_name=False, skip_mismatch=False):
    """Load weights saved by ``save_weights`` or ``save`` (Arena or Keras) into ``model``.

    By default layers with weights are paired in order (the architecture must match; when the file's
    layer names are exactly the model's they are paired by name, the same pairing for the same
    architecture); with ``by_name`` each layer takes the weights stored under its name and layers not
    in the file keep theirs. Nothing changes unless every layer fits. A layer whose weights differ in number or shape raises ``ValueError`` naming the layer and
    the expected and stored shapes (``skip_mismatch`` skips it with a warning instead)."""
    if isinstance(filepath, h5py.Group):
        g = safe_child(filepath, "model_weights") if has_child(filepath, "model_weights") else filepath
        _load_weights_group(model, g, _source(filepath), by_name, skip_mismatch)
        return
    with open_h5(filepath, "weights file") as f:
        source = _source(filepath)
        g = safe_child(f, "model_weights") if has_child(f, "model_weights") else f
        if "layer_names" not in g.attrs and has_child(f, "layers") and has_child(f, "vars"):
            from arena.nn import keras_archive  # Keras 3's .weights.h5 layout
            try:
                return keras_archive.load_weights_h5(model, f, source, skip_mismatch)
            except OSError as e:
                raise OSError(f"Cannot read weights file {source}: the HDF5 file is damaged ({e})") from e
        if "layer_names" not in g.attrs and not any(k.startswith("layer_names") for k in g.attrs):
            raise ValueError(f"{source} holds no model weights: no 'layer_names' attribute (root attributes: "
                             f"{sorted(f.attrs)})")
        try:
            _load_weights_group(model, g, source, by_name, skip_mismatch)
        except OSError as e:
            raise OSError(f"Cannot read weights file {source}: the HDF5 file is damaged ({e})") from e
