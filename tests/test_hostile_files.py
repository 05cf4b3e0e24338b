"""Hostile and damaged files: each is a clear error (or, for a damaged training config, an uncompiled model
with one warning) naming the file; no code runs, no host file is read, no small file costs gigabytes.

Every hostile file is generated here with h5py, small. The cases that would eat memory on a regression run
in one subprocess under ``RLIMIT_AS`` (3 GiB); the full-disk case runs in a subprocess under
``RLIMIT_FSIZE`` with ``SIGXFSZ`` ignored.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import warnings

import h5py
import jax
import numpy as np
import pytest

import arena
from arena.io import (UnsafeFileError, atomic_h5, check_dataset, has_child, read_pytree, safe_child,
                      sweep_stale_temps, write_pytree)
from arena.nn import Dense, Sequential, load_model, model_from_json
from arena.nn.layers.base import clear_session
from arena.nn.optimizers import Adam

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL = "model_weights/dense_1/dense_1/kernel:0"


@pytest.fixture(autouse=True)
def fresh_names():
    clear_session()
    arena.set_seed(0)
    yield


def _model():
    model = Sequential([Dense(3, activation="relu", input_shape=(4,)), Dense(2)])
    model.compile(optimizer=Adam(learning_rate=0.01), loss="mse", metrics=["mae"])
    return model


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A small fitted model saved with its optimizer state, and its weights."""
    clear_session()
    arena.set_seed(0)
    model = _model()
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(16, 4)).astype(np.float32), rng.normal(size=(16, 2)).astype(np.float32),
              batch_size=8, epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("base") / "base.h5"
    model.save(path)
    return str(path), model.get_weights()


def _variant(tmp_path, base, name, edit):
    """A copy of the base file, edited with ``edit(f)`` (an open h5py.File)."""
    path = str(tmp_path / f"{name}.h5")
    shutil.copy(base[0], path)
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def _edit_json(attr, change):
    def edit(f):
        cfg = json.loads(f.attrs[attr])
        change(cfg)
        f.attrs[attr] = json.dumps(cfg)
    return edit


def _replace_kernel(make):
    """Replace the first Dense kernel with what ``make(group, name)`` creates."""
    def edit(f):
        g = f["model_weights/dense_1/dense_1"]
        del g["kernel:0"]
        make(g, "kernel:0")
    return edit


def _load_error(path, match, cls=ValueError, **kwargs):
    with pytest.raises(cls, match=match) as info:
        load_model(path, **kwargs)
    assert os.path.basename(path) in str(info.value)  # every message names the file
    return str(info.value)


# ---- host files never leak into weights ----------------------------------------------------------------
@pytest.fixture(scope="module")
def host_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("host")
    secret = d / "secret.bin"
    secret.write_bytes(np.arange(12, dtype=np.float32).tobytes())  # 48 bytes: exactly a (4, 3) float32 kernel
    other = d / "other.h5"
    with h5py.File(other, "w") as f:
        f["k"] = np.full((4, 3), 7.0, np.float32)
        g = f.create_group("layer")
        g.attrs["weight_names"] = np.array([b"dense_1/kernel:0", b"dense_1/bias:0"])
        g.create_dataset("dense_1/kernel:0", data=np.full((4, 3), 7.0, np.float32))
        g.create_dataset("dense_1/bias:0", data=np.zeros(3, np.float32))
    return str(secret), str(other)


def _hostile_storage(host_files):
    secret, other = host_files

    def virtual(g, n):
        layout = h5py.VirtualLayout(shape=(4, 3), dtype="f4")
        layout[:] = h5py.VirtualSource(other, "k", shape=(4, 3))
        g.create_virtual_dataset(n, layout)

    def soft(g, n):
        g["stash"] = np.full((4, 3), 3.0, np.float32)
        g[n] = h5py.SoftLink(g.name + "/stash")

    def soft_layer(f):
        mw = f["model_weights"]
        mw.move("dense_1", "elsewhere")
        mw["dense_1"] = h5py.SoftLink("/model_weights/elsewhere")

    def external_layer(f):
        del f["model_weights/dense_1"]
        f["model_weights/dense_1"] = h5py.ExternalLink(other, "layer")

    def external_root(f):
        f.move("model_weights", "mw")
        f["model_weights"] = h5py.ExternalLink(f.filename, "/mw")

    return {
        "external_raw_storage": (_replace_kernel(lambda g, n: g.create_dataset(
            n, shape=(4, 3), dtype="f4", external=[(secret, 0, 48)])), "stored outside the file"),
        "external_link": (_replace_kernel(lambda g, n: g.__setitem__(n, h5py.ExternalLink(other, "k"))),
                          "external link"),
        "soft_link": (_replace_kernel(soft), "soft link"),
        "virtual_dataset": (_replace_kernel(virtual), "virtual dataset"),
        "soft_link_layer_group": (soft_layer, "soft link"),
        "external_link_layer_group": (external_layer, "external link"),
        "external_link_model_weights": (external_root, "external link"),
    }


@pytest.mark.parametrize("case", ["external_raw_storage", "external_link", "soft_link", "virtual_dataset",
                                  "soft_link_layer_group", "external_link_layer_group",
                                  "external_link_model_weights"])
def test_objects_outside_the_file_are_refused(tmp_path, base, host_files, case):
    edit, match = _hostile_storage(host_files)[case]
    path = _variant(tmp_path, base, case, edit)
    _load_error(path, match, UnsafeFileError)
    model = _model()
    before = model.get_weights()
    with pytest.raises(UnsafeFileError, match=match):
        model.load_weights(path)
    for a, b in zip(model.get_weights(), before):  # nothing changed
        np.testing.assert_array_equal(a, b)


def test_refused_optimizer_state_is_an_error_not_a_warning(tmp_path, base, host_files):
    _, other = host_files

    def edit(f):
        og = f["optimizer_weights"]
        del og["iteration:0"]
        og["iteration:0"] = h5py.ExternalLink(other, "k")
    path = _variant(tmp_path, base, "opt_link", edit)
    _load_error(path, "external link", UnsafeFileError)


def test_pytree_reader_refuses_links_and_external_storage(tmp_path, host_files):
    secret, other = host_files
    path = tmp_path / "tree.h5"
    tree = {"a": np.arange(12, dtype=np.float32).reshape(4, 3), "b": [1, 2.5, "x"]}
    with atomic_h5(path) as f:
        write_pytree(f, tree, name="t")
    cases = {
        "external_link": lambda g: g.__setitem__("a", h5py.ExternalLink(other, "k")),
        "soft_link": lambda g: g.__setitem__("a", h5py.SoftLink("/t/b/0")),
        "external_storage": lambda g: g.create_dataset("a", shape=(4, 3), dtype="f4", external=[(secret, 0, 48)]),
    }
    for name, make in cases.items():
        p = tmp_path / f"{name}.h5"
        shutil.copy(path, p)
        with h5py.File(p, "r+") as f:
            del f["t/a"]
            make(f["t"])
        with h5py.File(p, "r") as f:
            for like in (None, {"a": np.zeros((4, 3), np.float32), "b": [0, 0.0, ""]}):
                with pytest.raises(UnsafeFileError, match=str(p)):
                    read_pytree(safe_child(f, "t"), like=like)
    with h5py.File(p, "r") as f:
        assert has_child(f, "t/a") and not has_child(f, "t/zzz")
        with pytest.raises(ValueError, match="relative"):
            safe_child(f, "/t")
        with pytest.raises(ValueError, match=r"no '/t/zzz'"):
            safe_child(f, "t/zzz")


def test_damaged_pytrees_are_clear_errors(tmp_path):
    path = tmp_path / "tree.h5"
    with atomic_h5(path) as f:
        write_pytree(f, {"a": np.zeros(3, np.float32), "n": 5, "big": 10**30, "l": [1, 2]}, name="t")
    with h5py.File(path, "r+") as f:
        f["t/a"].attrs["dtype"] = "object"                       # a view as Python objects
        del f["t/big"]
        f["t"].create_dataset("big", data="9" * 5000, dtype=h5py.string_dtype())
        f["t/big"].attrs["pytree_kind"] = "bigint"
        del f["t/l/0"]                                           # a list with a hole
        g = f.create_group("deep")
        for _ in range(_DEEP):
            g = g.create_group("x")
        grp = f.create_group("escape")
        grp.attrs["pytree_keys"] = np.array(["../t"], dtype=h5py.string_dtype())
    with h5py.File(path, "r") as f:
        with pytest.raises(ValueError, match="dtype 'object'"):
            read_pytree(f["t/a"])
        with pytest.raises(ValueError, match="should hold an integer"):
            read_pytree(f["t/big"])
        with pytest.raises(ValueError, match=r"'/t/l/0' is missing"):
            read_pytree(f["t/l"])
        with pytest.raises(ValueError, match="nests deeper"):
            read_pytree(f["deep"])
        with pytest.raises(ValueError, match="no '/'"):
            read_pytree(f["escape"])
        with pytest.raises(ValueError, match=r"shape \(3,\); expected \(4,\)"):
            read_pytree(f["t"], like={"a": np.zeros(4, np.float32), "n": 0, "big": 0, "l": [0, 0]})


_DEEP = 120


# ---- code never runs --------------------------------------------------------------------------------
EVIL = """
import os
open(os.environ["ARENA_TEST_MARKER"], "w").close()
class Evil:
    def __init__(self, *a, **k):
        open(os.environ["ARENA_TEST_MARKER"], "w").close()
def system(*a, **k):
    open(os.environ["ARENA_TEST_MARKER"], "w").close()
"""


def _injections():
    """(name, where, change): ``change`` edits a parsed config; nothing in it may run."""
    def layer(i, key, value):
        def change(c):
            c["config"]["layers"][i]["config"][key] = value
        return change

    def spec(i, **kv):
        def change(c):
            c["config"]["layers"][i].update(kv)
        return change

    # layer 0 is the Sequential's InputLayer; layer 1 its first Dense
    def lam(function, **extra):
        def change(c):
            c["config"]["layers"].insert(1, {"class_name": "Lambda", "config": {
                "name": "lam", "function": function, "output_shape": None, "arguments": {}, **extra}})
        return change

    marshalled = ["4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMEAAAAfABTACkBTqkAKQHaAXhyAQAAAHIBAAAA+gd"
                  "0ZXN0LnB52gg8bGFtYmRhPgEAAADzAAAAAA==", None, None]
    return [
        ("model", "lambda_marshalled_code", lam(marshalled, function_type="lambda", module="evil_mod")),
        ("model", "lambda_import_string", lam("__import__('evil_mod')")),
        ("model", "lambda_function_named_eval", lam("eval")),
        ("model", "class_module_colon", spec(1, class_name="evil_mod:Evil")),
        ("model", "class_dotted_path", spec(1, class_name="evil_mod.Evil")),
        ("model", "keras3_module_field", spec(1, module="evil_mod", class_name="Evil", registered_name="Evil")),
        ("model", "activation_import", layer(1, "activation", "__import__('evil_mod')")),
        ("model", "activation_dotted", layer(1, "activation", "evil_mod.system")),
        ("model", "initializer_class", layer(1, "kernel_initializer",
                                               {"class_name": "evil_mod.Evil", "config": {}})),
        ("model", "regularizer_class", layer(1, "kernel_regularizer",
                                               {"class_name": "evil_mod:Evil", "config": {}})),
        ("model", "constraint_class", layer(1, "kernel_constraint",
                                              {"module": "evil_mod", "class_name": "Evil", "config": {}})),
        ("training", "loss_import", lambda c: c.update(loss="__import__('evil_mod')")),
        ("training", "loss_class", lambda c: c.update(loss={"class_name": "evil_mod.Evil", "config": {}})),
        ("training", "metric_import", lambda c: c.update(metrics=["evil_mod:system"])),
        ("training", "optimizer_class", lambda c: c.update(optimizer_config={"class_name": "evil_mod.Evil",
                                                                             "config": {}})),
        ("training", "optimizer_module", lambda c: c["optimizer_config"].update(module="evil_mod",
                                                                                class_name="Evil")),
    ]


def test_no_code_runs_from_a_file(tmp_path, base, monkeypatch):
    (tmp_path / "evil_mod.py").write_text(EVIL)
    marker = tmp_path / "marker"
    monkeypatch.setenv("ARENA_TEST_MARKER", str(marker))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    outcomes = {}
    for where, name, change in _injections():
        attr = "model_config" if where == "model" else "training_config"
        path = _variant(tmp_path, base, name, _edit_json(attr, change))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                model = load_model(path)
                outcomes[name] = ("loaded", model.compiled, [str(w.message) for w in caught])
            except ValueError as e:
                outcomes[name] = ("error", str(e))
        assert not marker.exists(), name
    assert "evil_mod" not in sys.modules
    for where, name, _ in _injections():
        out = outcomes[name]
        if where == "model":
            assert out[0] == "error" and f"{name}.h5" in out[1], (name, out)
        else:  # a training config Arena cannot follow: the weights load, uncompiled, with one warning
            assert out[0] == "loaded" and out[1] is False and len(out[2]) == 1, (name, out)
            assert f"{name}.h5" in out[2][0] and "uncompiled" in out[2][0]


def test_object_and_reference_datasets_are_not_weights(tmp_path, base):
    def pickled(g, n):
        g.create_dataset(n, data=np.void(b"cos\nsystem\n(S'touch x'\ntR."))

    def strings(g, n):
        g.create_dataset(n, data=np.array([["a"] * 3] * 4, dtype=h5py.string_dtype()))

    def refs(g, n):
        ds = g.create_dataset(n, shape=(4, 3), dtype=h5py.ref_dtype)
        ds[0, 0] = g.ref
    for name, make, match in [("opaque", pickled, "shape"), ("strings", strings, "holds"),
                              ("references", refs, "holds")]:
        path = _variant(tmp_path, base, name, _replace_kernel(make))
        _load_error(path, match)


# ---- resource bombs: in a subprocess with a memory limit ------------------------------------------------
BOMB_RUNNER = """
import json, resource, sys
limit = 3 * 2**30
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import h5py, numpy as np
import arena.io
from arena.io import read_pytree, safe_child
from arena.nn import load_model, model_from_json
results = {}
for name, kind, path, opts in json.loads(sys.argv[1]):
    if opts.get("no_sparse_check"):
        arena.io._SPARSE_MIN_BYTES = 2**62  # only the shape/size checks stand between the file and memory
    else:
        arena.io._SPARSE_MIN_BYTES = 16 * 2**20
    try:
        if kind == "load_model":
            load_model(path)
        elif kind == "model_from_json":
            model_from_json(open(path).read())
        else:
            with h5py.File(path, "r") as f:
                like = {"a": np.zeros((4, 3), np.float32)} if kind == "read_pytree_like" else None
                read_pytree(safe_child(f, "t"), like=like)
        results[name] = ["no error", ""]
    except Exception as e:
        results[name] = [type(e).__name__, str(e)]
print("RESULTS" + json.dumps(results))
"""


@pytest.fixture(scope="module")
def bombs(tmp_path_factory, base):
    d = tmp_path_factory.mktemp("bombs")
    cases = []

    def model_file(name, edit, **opts):
        path = str(d / f"{name}.h5")
        shutil.copy(base[0], path)
        with h5py.File(path, "r+") as f:
            edit(f)
        cases.append([name, "load_model", path, opts])

    huge = _replace_kernel(lambda g, n: g.create_dataset(n, shape=(32768, 32768), dtype="f4"))
    model_file("declared_huge_weight", huge)
    model_file("declared_huge_weight_shape_first", huge, no_sparse_check=True)
    model_file("dense_units_1e12", _edit_json("model_config", lambda c: c["config"]["layers"][2]["config"].update(
        units=10**12)))
    model_file("input_size_1e12", _edit_json("model_config", lambda c: c["config"]["layers"][0]["config"].update(
        batch_input_shape=[None, 10**12])))
    model_file("dense_units_1e12_json_float", _edit_json(
        "model_config", lambda c: c["config"]["layers"][2]["config"].update(units=1e12)))
    model_file("dense_units_beyond_float", lambda f: f.attrs.__setitem__(
        "model_config", f.attrs["model_config"].replace('"units": 2', '"units": 1e400')))
    model_file("dense_units_beyond_digit_limit", lambda f: f.attrs.__setitem__(
        "model_config", f.attrs["model_config"].replace('"units": 2', '"units": ' + "9" * 5000)))

    def huge_tree(name, kind, **opts):
        path = str(d / f"{name}.h5")
        with h5py.File(path, "w") as f:
            g = f.create_group("t")
            g.attrs["pytree_kind"] = "dict"
            g.create_dataset("a", shape=(32768, 32768), dtype="f4")
        cases.append([name, kind, path, opts])
    huge_tree("pytree_declared_huge", "read_pytree")
    huge_tree("pytree_declared_huge_size_cap", "read_pytree", no_sparse_check=True)
    huge_tree("pytree_declared_huge_like", "read_pytree_like", no_sparse_check=True)

    spec = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 10**12, "batch_input_shape": [None, 4]}}]}}
    json_path = d / "huge.json"
    json_path.write_text(json.dumps(spec))
    cases.append(["model_from_json_units_1e12", "model_from_json", str(json_path), {}])

    env = dict(os.environ, JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", BOMB_RUNNER, json.dumps(cases)], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULTS")][-1]
    return json.loads(line[len("RESULTS"):])


@pytest.mark.parametrize("case, error, match", [
    ("declared_huge_weight", "UnsafeFileError", r"declares shape \(32768, 32768\).*never written"),
    ("declared_huge_weight_shape_first", "ValueError", r"expects shape \(4, 3\).*\(32768, 32768\)"),
    ("dense_units_1e12", "ValueError", r"Layer 'dense_2' \(Dense\) declares weight 'kernel' of shape "
                                       r"\(3, 1000000000000\)"),
    ("input_size_1e12", "ValueError", r"Layer 'dense_1' \(Dense\) declares weight 'kernel' of shape "
                                      r"\(1000000000000, 3\)"),
    ("dense_units_1e12_json_float", "ValueError", "units must be a positive integer"),
    ("dense_units_beyond_float", "ValueError", "units must be a positive integer"),
    ("dense_units_beyond_digit_limit", "ValueError", "not valid JSON"),
    ("pytree_declared_huge", "UnsafeFileError", "never written"),
    ("pytree_declared_huge_size_cap", "ValueError", "more than the 2,147,483,648 bytes"),
    ("pytree_declared_huge_like", "ValueError", r"shape \(32768, 32768\); expected \(4, 3\)"),
    ("model_from_json_units_1e12", "ValueError", r"model_from_json: .*declares weight 'kernel'"),
])
def test_resource_bombs_are_clear_errors_within_3_gib(bombs, case, error, match):
    kind, message = bombs[case]
    assert kind == error, (case, kind, message)
    assert re.search(match, message), (case, message)
    if not case.startswith("model_from_json"):
        assert f"{case}.h5" in message


def test_loading_builds_abstractly_and_never_initialises_randomly(base, monkeypatch):
    from arena.nn.layers import base as base_mod
    seen = []
    original = base_mod.Layer.init_params

    def spy(self, key, input_shape):
        seen.append(isinstance(key, jax.core.Tracer))
        return original(self, key, input_shape)
    monkeypatch.setattr(base_mod.Layer, "init_params", spy)
    model = load_model(base[0])
    assert seen and all(seen)  # only ever traced (jax.eval_shape), never run
    for a, b in zip(model.get_weights(), base[1]):
        np.testing.assert_array_equal(a, b)
    assert all(isinstance(v, jax.Array) for v in jax.tree_util.tree_leaves(model.params))


def test_model_from_json_still_gives_fresh_weights():
    model = _model()
    text = model.to_json()
    clear_session()
    arena.set_seed(0)
    again = model_from_json(text)
    assert all(isinstance(v, jax.Array) for v in jax.tree_util.tree_leaves(again.params))
    for a, b in zip(again.get_weights(), model.get_weights()):  # the same keys: the same initial weights
        np.testing.assert_array_equal(a, b)
    assert again.predict(np.ones((2, 4), np.float32), verbose=0).shape == (2, 2)


def test_configs_with_too_many_layers_are_refused(tmp_path, base):
    from arena.nn import saving
    layers = [{"class_name": "Dense", "config": {"name": f"d{i}", "units": 1}}
              for i in range(saving.MAX_CONFIG_LAYERS + 1)]
    path = _variant(tmp_path, base, "many_layers", _edit_json("model_config", lambda c: c["config"].update(
        layers=layers)))
    _load_error(path, "defines 10,001 layers")


# ---- damaged configs --------------------------------------------------------------------------------------
def _set_attr(attr, value):
    def edit(f):
        f.attrs[attr] = value
    return edit


@pytest.mark.parametrize("name, edit, match", [
    ("deep_json", _set_attr("model_config", "[" * 100_000 + "]" * 100_000), "nests too deeply"),
    ("deep_dict_json", _set_attr("model_config", '{"a":' * 50_000 + "1" + "}" * 50_000), "nests too deeply"),
    ("not_json", _set_attr("model_config", "{'class_name': Sequential"), "not valid JSON"),
    ("number_config", _set_attr("model_config", np.int64(5)), "a model config must be"),
    ("no_layers", _edit_json("model_config", lambda c: c["config"].pop("layers")), "'layers' is missing"),
    ("layers_is_int", _edit_json("model_config", lambda c: c["config"].update(layers=5)),
     "expected a list of layer specs"),
    ("layer_is_string", _edit_json("model_config", lambda c: c["config"]["layers"].__setitem__(0, "Dense")),
     "expected a dict with 'class_name'"),
    ("class_name_list", _edit_json("model_config", lambda c: c["config"]["layers"][0].update(class_name=[1])),
     "'class_name' \\(a string\\)"),
    ("config_is_int", _edit_json("model_config", lambda c: c["config"]["layers"][0].update(config=3)),
     "expected a dict"),
    ("units_string", _edit_json("model_config", lambda c: c["config"]["layers"][1]["config"].update(units="3")),
     "units must be a positive integer"),
    ("units_nan", lambda f: f.attrs.__setitem__("model_config", f.attrs["model_config"].replace(
        '"units": 3', '"units": NaN')), "units must be a positive integer"),
    ("negative_input", _edit_json("model_config", lambda c: c["config"]["layers"][0]["config"].update(
        batch_input_shape=[None, -4])), "non-negative"),
    ("initializer_config_int", _edit_json("model_config", lambda c: c["config"]["layers"][1]["config"].update(
        kernel_initializer={"class_name": "RandomNormal", "config": 5})), "wrong type"),
    ("initializer_seed_huge", _edit_json("model_config", lambda c: c["config"]["layers"][1]["config"].update(
        kernel_initializer={"class_name": "RandomNormal", "config": {"seed": 10**30}})), "too large|int"),
    ("unknown_layer", _edit_json("model_config", lambda c: c["config"]["layers"][0].update(class_name="Zzz")),
     "Unknown layer class 'Zzz'"),
    ("no_weights_group", lambda f: f.__delitem__("model_weights"), "no 'model_weights' group"),
    ("layer_missing", lambda f: f["model_weights"].__delitem__("dense_2"), "does not hold"),
    ("weight_missing", lambda f: f["model_weights/dense_1/dense_1"].__delitem__("bias:0"), "holds no such dataset"),
    ("weight_is_group", _replace_kernel(lambda g, n: g.create_group(n)), "is a group, not a weight"),
    ("wrong_shape", _replace_kernel(lambda g, n: g.create_dataset(n, data=np.zeros((5, 3), np.float32))),
     r"expects shape \(4, 3\)"),
    ("complex_weight", _replace_kernel(lambda g, n: g.create_dataset(n, data=np.zeros((4, 3), np.complex64))),
     "complex"),
])
def test_damaged_model_files_are_clear_errors(tmp_path, base, name, edit, match):
    path = _variant(tmp_path, base, name, edit)
    _load_error(path, match)


def _functional_file(tmp_path, change):
    from arena.nn import Input, Model
    inp = Input((4,), name="x")
    out = Dense(2, name="out")(Dense(3, name="hidden")(inp))
    model = Model(inp, out)
    path = tmp_path / "functional.h5"
    model.save(path)
    with h5py.File(path, "r+") as f:
        cfg = json.loads(f.attrs["model_config"])
        change(cfg["config"])
        f.attrs["model_config"] = json.dumps(cfg)
    return str(path)


@pytest.mark.parametrize("change, match", [
    (lambda c: c["layers"][2]["inbound_nodes"][0][0].__setitem__(0, "zzz"),
     "takes an input from layer 'zzz', which the config does not define"),
    (lambda c: c.update(output_layers=[["zzz", 0, 0]]), "'output_layers' names layer 'zzz'"),
    (lambda c: c.update(input_layers=5), "'input_layers' must be a non-empty list"),
    (lambda c: c["layers"][1].update(inbound_nodes=5), "expected a list"),
    (lambda c: c["layers"][2]["inbound_nodes"][0][0].__setitem__(1, 7), "has no node 7|never be resolved"),
    (lambda c: c["layers"][2]["inbound_nodes"][0][0].__setitem__(2, 4), "has 1 output"),
    (lambda c: c["layers"][2]["inbound_nodes"][0].__setitem__(0, "hidden"), "not a reference"),
    (lambda c: c["layers"][1].pop("name"), "must be a dict with a 'name'"),
])
def test_damaged_functional_configs_say_what_is_wrong(tmp_path, change, match):
    path = _functional_file(tmp_path, change)
    msg = _load_error(path, match)
    assert "functional.h5" in msg


# ---- damaged training configs: uncompiled, one warning naming the file ---------------------------------
@pytest.mark.parametrize("name, edit, match", [
    ("not_json", _set_attr("training_config", "{not json"), "not valid JSON"),
    ("deep", _set_attr("training_config", "[" * 100_000 + "]" * 100_000), "nests too deeply"),
    ("a_number", _set_attr("training_config", "5"), "not a dict"),
    ("unknown_loss", _edit_json("training_config", lambda c: c.update(loss="zzz_loss")), "Unknown loss 'zzz_loss'"),
    ("unknown_metric", _edit_json("training_config", lambda c: c.update(metrics=["zzz_metric"])), "zzz_metric"),
    ("string_learning_rate", _edit_json("training_config", lambda c: c["optimizer_config"]["config"].update(
        learning_rate="0.1")), "learning_rate='0.1' is not a finite number"),
    ("string_beta", _edit_json("training_config", lambda c: c["optimizer_config"]["config"].update(
        beta_1="x")), "beta_1='x'"),
    ("negative_learning_rate", _edit_json("training_config", lambda c: c["optimizer_config"]["config"].update(
        learning_rate=-1)), "learning_rate"),
    ("optimizer_config_list", _edit_json("training_config", lambda c: c.update(optimizer_config=[1])),
     "not a dict"),
    ("loss_weights_wrong", _edit_json("training_config", lambda c: c.update(loss_weights=[1, 2, 3])),
     "cannot be compiled"),
    ("steps_per_execution_zero", _edit_json("training_config", lambda c: c.update(steps_per_execution=0)),
     "steps_per_execution=0 is not a positive integer"),
    ("steps_per_execution_string", _edit_json("training_config", lambda c: c.update(steps_per_execution="4")),
     "steps_per_execution='4'"),
    ("steps_per_execution_float", _edit_json("training_config", lambda c: c.update(steps_per_execution=2.5)),
     "steps_per_execution=2.5"),
])
def test_damaged_training_config_loads_uncompiled_with_one_warning(tmp_path, base, name, edit, match):
    path = _variant(tmp_path, base, name, edit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load_model(path)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert f"{name}.h5" in messages[0] and "uncompiled" in messages[0]
    assert re.search(match, messages[0]), messages[0]
    assert not model.compiled
    for a, b in zip(model.get_weights(), base[1]):
        np.testing.assert_array_equal(a, b)
    model.compile(optimizer="adam", loss="mse")  # usable: compile it yourself


def test_steps_per_execution_from_a_file_is_capped_with_a_warning(tmp_path, base):
    from arena.nn import training
    path = _variant(tmp_path, base, "spe", _edit_json("training_config", lambda c: c.update(
        steps_per_execution=10**6)))
    with pytest.warns(UserWarning, match=r"spe\.h5.*steps_per_execution=1000000; capped") as caught:
        model = load_model(path)
    assert len(caught) == 1
    assert model.compiled and model.steps_per_execution == training.MAX_STEPS_PER_EXECUTION


@pytest.mark.parametrize("value, match", [(10**30, "not one number"), (2**40, r"outside \[0, 2147483647\]"),
                                          (-5, "outside"), (float("nan"), "not an integer")])
def test_bad_iteration_counter_gives_a_fresh_optimizer_state_with_a_warning(tmp_path, base, value, match):
    def edit(f):
        og = f["optimizer_weights"]
        del og["iteration:0"]
        og["iteration:0"] = str(value) if value == 10**30 else np.asarray(value)
    path = _variant(tmp_path, base, "iterations", edit)
    with pytest.warns(UserWarning, match=f"iterations.h5.*{match}"):
        model = load_model(path)
    assert model.compiled and model.iterations == 0


# ---- writing: a full disk is a clear error, the old file stays ------------------------------------------
WRITER = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
import numpy as np
import arena
from arena.io import atomic_h5, write_pytree
from arena.nn import Dense, Sequential
arena.set_seed(1)
model = Sequential([Dense(64, input_shape=(64,)), Dense(64)])
model.compile(optimizer="adam", loss="mse")
path = sys.argv[1]
limit = 16384
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def pytree():
    with atomic_h5(path) as f:
        write_pytree(f, {"x": np.zeros(10**5)}, name="t")


failed = 0
for write in (lambda: model.save_weights(path), lambda: model.save(path), pytree):
    try:
        write()
    except OSError as e:
        print(e, file=sys.stderr)
        failed += 1
sys.exit(1 if failed else 0)
"""


def test_full_disk_is_one_clear_error_and_the_old_file_stays(tmp_path, base):
    path = tmp_path / "model.h5"
    shutil.copy(base[0], path)
    before = path.read_bytes()
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", WRITER, str(path)], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=env)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-3000:])  # an exit status, not a signal
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines == [f"Cannot write '{path}': File too large"] * 3, proc.stderr[-3000:]
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.h5"]  # no temporary file left behind
    loaded = load_model(path)
    for a, b in zip(loaded.get_weights(), base[1]):
        np.testing.assert_array_equal(a, b)


def test_write_errors_name_the_file(tmp_path, base):
    model = _model()
    with pytest.raises(FileNotFoundError, match="no_such_dir"):
        model.save(tmp_path / "no_such_dir" / "m.h5")
    (tmp_path / "adir").mkdir()
    with pytest.raises(IsADirectoryError, match="adir"):
        model.save(tmp_path / "adir")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):  # running as root: permissions do not stop writes
            pytest.skip("permissions are not enforced for this user")
        with pytest.raises(OSError, match=f"Cannot write '{ro / 'm.h5'}'"):
            model.save(ro / "m.h5")
    finally:
        ro.chmod(0o700)


def test_atomic_h5_builds_in_memory_and_leaves_nothing_on_error(tmp_path):
    path = tmp_path / "x.h5"
    with atomic_h5(path) as f:
        write_pytree(f, {"a": np.arange(3)}, name="t")
        assert os.listdir(tmp_path) == []  # nothing on disk while the file is being built
    with pytest.raises(RuntimeError):
        with atomic_h5(path) as f:
            write_pytree(f, {"a": np.arange(4)}, name="t")
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == ["x.h5"]
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(read_pytree(f["t"])["a"], np.arange(3))


def test_sweep_stale_temps(tmp_path):
    target = tmp_path / "agent.h5"
    target.write_bytes(b"keep")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    old = time.time() - 600

    def temp(name, age=None):
        p = tmp_path / name
        p.write_bytes(b"x")
        if age is not None:
            os.utime(p, (age, age))
        return str(p)
    gone = [temp(f".agent.h5.{dead.pid}-abcdef012345.tmp"),          # its writer is gone
            temp(".agent.h5.abcdef012345.tmp", old),                    # the old naming, old
            temp(f".agent.h5.{os.getpid()}-aaaaaaaaaaaa.tmp", old)]     # ours, old
    kept = [temp(f".agent.h5.{os.getpid()}-bbbbbbbbbbbb.tmp"),         # ours, fresh: a write in progress
            temp(f".agent.h5.{os.getppid()}-cccccccccccc.tmp", old),    # a live writer
            temp(".agent.h5.dddddddddddd.tmp"),                         # unknown writer, fresh
            temp(f".other.h5.{dead.pid}-abcdef012345.tmp"),             # another file's
            temp(".agent.h5.notes.txt", old)]
    assert sorted(sweep_stale_temps(target)) == sorted(gone)
    assert all(os.path.exists(p) for p in kept) and not any(os.path.exists(p) for p in gone)
    assert target.read_bytes() == b"keep"
    assert sweep_stale_temps(tmp_path / "missing_dir" / "x.h5") == []


def test_check_dataset_accepts_what_arena_and_keras_write(base):
    with h5py.File(base[0], "r") as f:
        f.visititems(lambda n, o: check_dataset(o) if isinstance(o, h5py.Dataset) else None)
