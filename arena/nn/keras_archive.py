"""Keras 3's native files: the ``.keras`` zip and the ``.weights.h5`` weights file.

A ``.keras`` file is a zip of three members (as Keras 3 writes it)::

    metadata.json      {"keras_version": "3.15.1", "date_saved": ..., "arena_version": ...}
    config.json        {"module": "keras", "class_name": "Sequential" | "Functional", "config": ...,
                        "registered_name": ..., "compile_config": {"optimizer", "loss", "metrics", ...}}
    model.weights.h5   layers/<key>/vars/0, 1, ...   one group per layer, <key> its class in snake case,
                                                     numbered when repeated (dense, dense_1, ...), in the
                                                     order of the model's layers; attribute vars@name is
                                                     the layer's own name
                       layers/lstm/cell/vars/...     a recurrent layer's weights are its cell's
                       layers/bidirectional/forward_layer/cell/vars/..., .../backward_layer/...
                       layers/time_distributed/layer/vars/...
                       layers/functional/layers/...  a nested model's layers
                       optimizer/vars/0, 1, ...      iteration, learning rate, then the slots of each
                                                     trainable weight (Adam: momentum, velocity)
                       arena/                        Arena's own optimizer state, step and RNG key (so a
                                                     run resumes exactly); Keras ignores the group

``.weights.h5`` is ``model.weights.h5`` on its own. Loading reads no code: the config passes through
the same translation and abstract build as the legacy ``.h5`` (:mod:`arena.nn.saving`); a zip member
is read only after its declared size is checked against what the model needs, and the weights file
is then checked as any HDF5 file is (no links, shapes before data).
"""
import datetime
import io
import json
import os
import re
import zipfile

import h5py
import jax
import jax.numpy as jnp
import numpy as np

import arena
from arena.io import UnsafeFileError, _write_file, has_child, read_pytree, safe_child, write_pytree
from arena.nn import saving
from arena.nn.layers.base import abstract_weight_names, materialize_runtime_state
from arena.nn.layers.core import InputLayer
from arena.nn.layers.recurrent import RNN
from arena.nn.model import Model, Sequential

__all__ = ["save_keras", "load_keras", "save_weights_h5", "load_weights_h5", "is_keras_archive",
           "KERAS3_VERSION"]

KERAS3_VERSION = "3.15.1"  # the Keras 3 whose format this follows (checked against it)
MAX_CONFIG_BYTES = 64 * 2**20  # config.json / metadata.json: text, never this large in a real file
_SUBLAYER_ATTRS = ("forward_layer", "backward_layer", "layer", "cell")  # Keras 3's attribute names


def is_keras_archive(path):
    """Whether ``path`` is a zip (a ``.keras`` file) rather than HDF5."""
    return zipfile.is_zipfile(path)


def _snake(name):
    """Keras 3's ``to_snake_case`` (it names the weight groups): ``BatchNormalization`` ->
    ``batch_normalization``, ``Conv2D`` -> ``conv2d``. Arena's layer names follow Keras 2's rule."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _keras_class(layer):
    if isinstance(layer, Model) and not isinstance(layer, Sequential):
        return "Functional"
    return type(layer).__name__


def _model_layers(model):
    """The layers Keras 3 saves, in its order: a Sequential's without its InputLayer, a functional
    model's with them (graph order, as Keras' ``map_graph``)."""
    if isinstance(model, Sequential):
        return [l for l in model._layers if not isinstance(l, InputLayer)]
    return list(model._layers)


def _groups(layer, path, trainable=True):
    """``[(group path, layer name, [(leaf layer, weight name, trainable), ...])]``: where Keras 3 keeps
    each of ``layer``'s weights (the ``vars`` groups, in Keras' order), nested layers included."""
    trainable = trainable and layer.trainable
    if isinstance(layer, Model):
        out, used = [(f"{path}/vars", layer.name, [])], {}
        for sub in _model_layers(layer):
            key = _snake(_keras_class(sub))
            used[key] = used.get(key, -1) + 1
            out += _groups(sub, f"{path}/layers/{key}" + (f"_{used[key]}" if used[key] else ""), trainable)
        return out
    own = [(layer, w, trainable and w in layer._params) for w in layer.weight_names
           if w in layer._params or w in layer._state]
    if isinstance(layer, RNN):  # Keras 3 keeps a recurrent layer's weights in its cell
        out = [(f"{path}/vars", layer.name, []), (f"{path}/cell/vars", layer.cell.name, own)]
    else:
        out = [(f"{path}/vars", layer.name, own)]
    for sub in layer._sublayers:
        attr = next((a for a in _SUBLAYER_ATTRS if getattr(layer, a, None) is sub), sub.name)
        out += _groups(sub, f"{path}/{attr}", trainable)
    return out


def _trainable(model):
    """``[(leaf, weight)]`` of the trainable weights, in Keras' ``model.trainable_variables`` order."""
    return [(leaf, w) for _, _, triples in _groups(model, "") for leaf, w, t in triples if t]


# ---- writing ---------------------------------------------------------------------------------------
def _with_modules(spec):
    """Arena's ``{"class_name", "config"}`` layer specs in Keras 3's form (``module``,
    ``registered_name``): Keras 3 needs it for the layers a wrapper or RNN holds."""
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str) or "config" not in spec:
        return spec
    config = spec["config"]
    if isinstance(config, dict):
        config = dict(config)
        # Keras 3 gives the input shape to the InputLayer alone, as `batch_shape`.
        shape = config.pop("batch_input_shape", None)
        if spec["class_name"] == "InputLayer":
            config["batch_shape"] = shape
        if isinstance(config.get("layers"), list):
            config["layers"] = [_with_modules(l) for l in config["layers"]]
        for key in ("layer", "backward_layer", "cell"):
            if isinstance(config.get(key), dict):
                config[key] = _with_modules(config[key])
    name = spec["class_name"]
    if name in ("Model", "Functional"):
        return {**spec, "module": "keras.src.models.functional", "class_name": "Functional",
                "registered_name": "Functional", "config": config}
    module = "keras" if name == "Sequential" else "keras.layers"
    return {**spec, "module": module, "registered_name": None, "config": config}


def _keras3_optimizer(spec):
    # Keras 3 dropped `decay` (it warns on any value): Arena's 0 means none.
    config = {k: v for k, v in spec["config"].items() if not (k == "decay" and not v)}
    if isinstance(config.get("inner_optimizer"), dict):  # LossScaleOptimizer, in Keras 3's form
        config.pop("dynamic", None)
        config = {"name": "loss_scale_optimizer", **config,
                  "inner_optimizer": _keras3_optimizer(config["inner_optimizer"])}
    return {**spec, "config": config, "module": "keras.optimizers", "registered_name": None}


def _compile_config(model):
    tc = saving._training_config(model)
    oc = tc["optimizer_config"]
    return {"optimizer": _keras3_optimizer(oc) if "class_name" in oc else {k: _keras3_optimizer(v) for k, v in oc.items()},
            "loss": tc["loss"], "loss_weights": tc["loss_weights"], "metrics": tc["metrics"],
            "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": tc["steps_per_execution"],
            "jit_compile": True}


def _model_config(model, include_optimizer):
    spec = _with_modules({"class_name": type(model).__name__, "config": model.get_config()})
    if model.inputs:
        shapes = [list(t.shape) for t in model.inputs]
        spec["build_config"] = {"input_shape": shapes[0] if len(shapes) == 1 else shapes}
    if include_optimizer and model.compiled and model.optimizer is not None:
        spec["compile_config"] = _compile_config(model)
    return spec


def _keras_slots(model):
    """Keras 3's optimizer variables for Arena's Adam and SGD (momentum), or None where Arena's state
    has no Keras counterpart: ``[iteration, learning_rate, slots of each trainable weight ...]``."""
    opt, ts = model.optimizer, model._train_state
    fields = {"Adam": ("mu", "nu"), "SGD": ("trace",)}.get(type(opt).__name__)
    if fields is None or isinstance(opt, dict) or ts is None or callable(opt.learning_rate):
        return None
    found = {}

    def visit(path, leaf):
        attrs = [i for i, k in enumerate(path) if isinstance(k, jax.tree_util.GetAttrKey)]
        for i in attrs:
            if path[i].name in fields:
                found[(path[i].name,) + tuple(getattr(k, "key", None) for k in path[i + 1:])] = leaf
    jax.tree_util.tree_map_with_path(visit, ts.opt_state)
    out = [np.int64(int(ts.step)), np.float32(opt.learning_rate)]
    for leaf, w in _trainable(model):
        path = saving._params_path(model, leaf, w)
        for field in fields:
            if (field,) + path not in found:
                return None
            out.append(np.asarray(found[(field,) + path]))
    return out


def _write_weights_file(model, include_optimizer):
    """The ``model.weights.h5`` image (bytes)."""
    bio = io.BytesIO()
    with h5py.File(bio, "w", track_order=True) as f:
        for path, name, pairs in _groups(model, ""):
            g = f.require_group(path.lstrip("/"))
            g.attrs["name"] = name
            for i, (leaf, w, _) in enumerate(pairs):
                g.create_dataset(str(i), data=saving._value(leaf, w))
        if include_optimizer and model.compiled and model._train_state is not None:
            slots = _keras_slots(model)
            if slots is not None:
                g = f.create_group("optimizer/vars", track_order=True)
                g.attrs["name"] = type(model.optimizer).__name__.lower()
                for i, v in enumerate(slots):
                    g.create_dataset(str(i), data=v)
            ts = model._train_state
            a = f.create_group("arena")
            a.attrs["arena_version"] = arena.__version__
            a.create_dataset("step", data=np.int64(int(ts.step)))
            write_pytree(a, ts.key, name="rng_key")
            write_pytree(a, ts.opt_state, name="opt_state")
    return bio.getvalue()


def save_keras(model, filepath, overwrite=True, include_optimizer=True):
    """Write ``model`` as a Keras 3 ``.keras`` zip (config, weights, optimizer state), atomically."""
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_model: '{os.fspath(filepath)}' exists and overwrite=False")
    config = json.dumps(_model_config(model, include_optimizer), default=saving._json_default)
    meta = json.dumps({"keras_version": KERAS3_VERSION, "arena_version": arena.__version__,
                       "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
    weights = _write_weights_file(model, include_optimizer)
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w") as z:  # stored, as Keras writes it
        z.writestr("metadata.json", meta)
        z.writestr("config.json", config)
        z.writestr("model.weights.h5", weights)
    _write_file(os.fspath(filepath), bio.getvalue())


def save_weights_h5(model, filepath, overwrite=True):
    """Write the weights in Keras 3's ``.weights.h5`` layout, atomically."""
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"save_weights: '{os.fspath(filepath)}' exists and overwrite=False")
    _write_file(os.fspath(filepath), _write_weights_file(model, include_optimizer=False))


# ---- reading ---------------------------------------------------------------------------------------
def _weights_bytes(model):
    return sum(int(np.prod(saving._spec(leaf, w)[0])) * saving._spec(leaf, w)[1].itemsize
               for _, _, triples in _groups(model, "") for leaf, w, _ in triples)


def _read_member(z, name, limit, source):
    try:
        info = z.getinfo(name)
    except KeyError:
        raise ValueError(f"{source} is a zip but not a Keras 3 model file: it has no '{name}' (members: "
                         f"{z.namelist()[:10]})") from None
    if info.file_size > limit:
        raise ValueError(f"{source}: '{name}' declares {info.file_size:,} bytes; at most {limit:,} are expected "
                         f"for this model (a damaged or hostile file?)")
    with z.open(info) as fh:  # zipfile stops at the declared size and checks the CRC
        return fh.read(limit + 1)


def _plan(model, f, source, skip_mismatch=False):
    """Check every stored weight against ``model`` (shapes and dtypes from metadata) and return
    ``[(leaf, {weight: dataset})]`` to read; a missing or misshapen weight names the layer."""
    plan = {}
    for path, name, pairs in _groups(model, ""):
        if not pairs:
            continue
        where = f"layer '{name}'"
        key = path.lstrip("/")
        if not has_child(f, key):
            saving.skip_or_raise(f"{source}: the file holds no weights for {where} (expected group '{key}')",
                                 skip_mismatch, ": it was saved from a different architecture")
            continue
        g = safe_child(f, key, f"the weights of {where}")
        if not isinstance(g, h5py.Group):
            raise ValueError(f"{source}: '{key}' is not a group (damaged file)")
        stored = sorted((k for k in g.keys() if k.isdigit()), key=int)
        if len(stored) != len(pairs):
            saving.skip_or_raise(f"{source}: {where} has {len(pairs)} weights {[w for _, w, _ in pairs]}; the file's "
                                 f"'{key}' holds {len(stored)}", skip_mismatch)
            continue
        values = []
        for i, (leaf, w, _) in enumerate(pairs):
            ds = safe_child(g, str(i), f"a weight of {where}")
            msg = saving.check_stored_weight(ds, leaf, w, where, f"{key}/{i}", source)
            if msg:
                saving.skip_or_raise(msg, skip_mismatch)
                values = []
                break
            values.append((leaf, w, ds))
        for leaf, w, ds in values:
            plan.setdefault(id(leaf), (leaf, {}))[1][w] = ds
    return list(plan.values())


def _set(plan):
    arrays = [(leaf, {w: np.asarray(ds[()]) for w, ds in vals.items()}) for leaf, vals in plan]
    for leaf, vals in arrays:
        leaf.set_weights([vals[w] if w in vals else np.asarray(leaf._weight_value(w)) for w in leaf.weight_names])


def _restore_optimizer(model, f):
    """Arena's own state when the file has it, else Keras 3's Adam/SGD variables mapped onto optax."""
    ts = model._state()
    if has_child(f, "arena"):
        a = safe_child(f, "arena")
        try:
            opt_state = read_pytree(safe_child(a, "opt_state"), like=ts.opt_state)
            key = read_pytree(safe_child(a, "rng_key"), like=ts.key)
        except UnsafeFileError:
            raise
        except ValueError as e:
            raise saving._Unmappable(f"its optimizer state does not fit this optimizer ({e})") from None
        step = saving._read_counter(a, "step")
        model._train_state = ts._replace(opt_state=opt_state, key=key, step=jnp.asarray(step, jnp.int32))
        return
    if not has_child(f, "optimizer/vars"):
        raise saving._Unmappable("the file holds no optimizer variables")
    og = safe_child(f, "optimizer/vars")
    name = type(model.optimizer).__name__
    per = {"Adam": ("m", "v"), "SGD": ("m",)}.get(name)
    if per is None:
        raise saving._Unmappable(f"no mapping for Keras 3's {name} variables")
    trainable = _trainable(model)
    n = len([k for k in og.keys() if k.isdigit()])
    if n == 2 and saving._read_counter(og, "0") == 0:
        return  # compiled but never trained: Keras has not made its slots yet; the fresh state is the same
    if name == "SGD" and n == 2:
        per = ()  # plain SGD keeps no slots
    if n != 2 + len(per) * len(trainable):
        raise saving._Unmappable(f"the file has {n} {name} variables; this model's {name} needs "
                                 f"{2 + len(per) * len(trainable)}")
    slots = {s: {} for s in per}
    for j, (leaf, w) in enumerate(trainable):
        for k, s in enumerate(per):
            slots[s][saving._params_path(model, leaf, w)] = safe_child(og, str(2 + j * len(per) + k))
    saving._map_slots(model, slots, saving._read_counter(og, "0"), name)


def load_keras(filepath, custom_objects=None, compile=True):
    """Rebuild a model from a Keras 3 ``.keras`` file (written by Keras 3 or by Arena)."""
    source = f"'{os.fspath(filepath)}'"
    try:
        z = zipfile.ZipFile(filepath)
    except zipfile.BadZipFile as e:
        raise ValueError(f"Cannot read model file {source}: the zip archive is damaged ({e})") from None
    with z:
        try:
            spec = saving._parse_json(_read_member(z, "config.json", MAX_CONFIG_BYTES, source))
        except ValueError as e:
            raise ValueError(f"{source}: config.json is damaged: {e}") from None
        if not isinstance(spec, dict):
            raise ValueError(f"{source}: config.json holds a {type(spec).__name__}, not a model config")
        compile_config = spec.get("compile_config")
        try:
            model = saving._build_model(spec, custom_objects)  # shapes only: nothing allocated yet
        except saving._CONFIG_ERRORS as e:
            raise ValueError(f"Cannot load the model in {source}: {saving._describe(e)}") from (
                None if isinstance(e, RecursionError) else e)
        # Weights, optimizer slots (Adam: 2 per weight; RMSprop centered: 3) and a little structure.
        limit = 5 * _weights_bytes(model) + 16 * 2**20
        image = _read_member(z, "model.weights.h5", limit, source)
    try:
        f = h5py.File(io.BytesIO(image), "r")
    except OSError as e:
        raise OSError(f"Cannot read model file {source}: its model.weights.h5 is damaged ({e})") from None
    with f:
        _set(_plan(model, f, source))
        lacking = abstract_weight_names(model)
        if lacking:
            raise ValueError(f"{source} holds no values for the weights "
                             f"{[f'{layer.name}/{w}' for layer, w in lacking][:20]} of its own model (damaged file)")
        materialize_runtime_state(model)
        if compile and isinstance(compile_config, dict) and compile_config.get("optimizer") is not None:
            tc = {"optimizer_config": compile_config.get("optimizer"), "loss": compile_config.get("loss"),
                  "metrics": compile_config.get("metrics"), "loss_weights": compile_config.get("loss_weights"),
                  "steps_per_execution": compile_config.get("steps_per_execution")}
            writer = "Arena" if has_child(f, "arena") else "Keras 3"
            stored = has_child(f, "arena") or has_child(f, "optimizer/vars")
            restore = (writer, lambda: _restore_optimizer(model, f)) if model.outputs and stored else None
            saving.compile_from_config(model, tc, custom_objects, source, restore)
    return model


def load_weights_h5(model, f, source, skip_mismatch=False):
    """Load a Keras 3 ``.weights.h5`` (an open ``h5py.File``) into ``model``, checked before any change."""
    if not model.built or not model.outputs:
        raise ValueError(f"{source}: model '{model.name}' is not built yet: give its first layer an input_shape "
                         f"or call model.build((None, ...)) before load_weights")
    _set(_plan(model, f, source, skip_mismatch))
