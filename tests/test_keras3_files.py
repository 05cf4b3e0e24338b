"""Keras 3's files in Arena: the ``.keras`` zip, ``.weights.h5`` and Keras 3's legacy ``.h5``.

The fixtures (``tests/fixtures/keras3``) come from real Keras 3.15.1 (JAX backend); see
``make_fixtures.py`` there. Keras itself is not needed here: ``test_keras3_interop.py`` runs Keras 3
on Arena's files where the ``interop`` extra is installed.
"""
import io
import json
import os
import warnings
import zipfile

import h5py
import numpy as np
import pytest

from arena.nn import Dense, Dropout, Input, Lambda, Model, Sequential, load_model
from arena.nn import layers as L
from arena.nn.layers.base import clear_session

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "keras3")


@pytest.fixture(autouse=True)
def fresh_names():
    clear_session()
    yield
    clear_session()


def _io(name):
    io_ = np.load(os.path.join(FIXTURES, f"{name}_io.npz"))
    return ([io_["a"], io_["b"]] if "a" in io_ else io_["x"]), io_["y"]


def _clean_load(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # config, weights and optimizer state all load without a complaint
        return load_model(path)


@pytest.mark.parametrize("name", ["mlp", "cnn", "functional", "rnn"])
def test_keras3_archive_predicts_alike(name):
    model = _clean_load(os.path.join(FIXTURES, f"{name}.keras"))
    x, y = _io(name)
    np.testing.assert_allclose(np.asarray(model.predict(x, verbose=0)), y, rtol=1e-5, atol=1e-6)
    assert model.compiled == (name != "functional")


def test_keras3_optimizer_state_is_carried():
    """Adam's moments and step come from the file's optimizer/vars (iteration, rate, then per
    trainable weight: momentum, velocity), onto the weights they belong to."""
    model = _clean_load(os.path.join(FIXTURES, "mlp.keras"))
    ts = model._train_state
    assert int(ts.step) == 3
    with zipfile.ZipFile(os.path.join(FIXTURES, "mlp.keras")) as z:
        f = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
    adam = ts.opt_state[-1] if isinstance(ts.opt_state, tuple) else ts.opt_state
    import jax
    mus = {jax.tree_util.keystr(p): v for p, v in jax.tree_util.tree_leaves_with_path(ts.opt_state)
           if ".mu" in jax.tree_util.keystr(p)}
    nus = {jax.tree_util.keystr(p): v for p, v in jax.tree_util.tree_leaves_with_path(ts.opt_state)
           if ".nu" in jax.tree_util.keystr(p)}
    del adam
    dense = [l for l in model.layers if isinstance(l, L.Dense)]
    # Keras' trainable order: dense kernel, bias, dense_1 kernel, bias -> vars 2..9 (m, v interleaved)
    for j, (layer, w) in enumerate((l, w) for l in dense for w in ("kernel", "bias")):
        m = [v for k, v in mus.items() if f"'{layer.name}'" in k and f"'{w}'" in k]
        v = [v for k, v in nus.items() if f"'{layer.name}'" in k and f"'{w}'" in k]
        np.testing.assert_allclose(np.asarray(m[0]), f[f"optimizer/vars/{2 + 2 * j}"][()], rtol=1e-6)
        np.testing.assert_allclose(np.asarray(v[0]), f[f"optimizer/vars/{3 + 2 * j}"][()], rtol=1e-6)
    f.close()


def test_keras3_legacy_h5_and_weights_h5():
    x, y = _io("mlp")
    model = _clean_load(os.path.join(FIXTURES, "mlp.h5"))
    np.testing.assert_allclose(np.asarray(model.predict(x, verbose=0)), y, rtol=1e-5, atol=1e-6)
    fresh = Sequential([Input((8,)), Dense(16, activation="relu"), Dropout(0.2), Dense(4, activation="softmax")])
    fresh.load_weights(os.path.join(FIXTURES, "mlp.weights.h5"))
    np.testing.assert_allclose(np.asarray(fresh.predict(x, verbose=0)), y, rtol=1e-5, atol=1e-6)
    wrong = Sequential([Input((8,)), Dense(15, activation="relu"), Dense(4)])
    with pytest.raises(ValueError, match=r"weight 'kernel' expects shape \(8, 15\).*has shape \(8, 16\)"):
        wrong.load_weights(os.path.join(FIXTURES, "mlp.weights.h5"))


def _trained(seed=0):
    rng = np.random.default_rng(seed)
    inp = Input((5, 3))
    h = L.Bidirectional(L.LSTM(3, return_sequences=True))(inp)
    h = L.TimeDistributed(Dense(2))(h)
    head = Sequential([Dense(2, input_shape=(4,))], name="head")
    model = Model(inp, head(L.SimpleRNN(4)(L.BatchNormalization()(h))))
    model.compile("adam", "mse")
    x, y = rng.normal(size=(16, 5, 3)).astype("float32"), rng.normal(size=(16, 2)).astype("float32")
    return model, x, y


def test_arena_archive_round_trip_resumes_exactly(tmp_path):
    """Saved after epoch 1 to .keras and reloaded, training goes on exactly as without the stop."""
    import arena
    arena.set_seed(0)
    model, x, y = _trained()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    model.save(tmp_path / "m.keras")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    again = _clean_load(tmp_path / "m.keras")
    again.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        meta, config = json.loads(z.read("metadata.json")), json.loads(z.read("config.json"))
        f = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
    assert meta["keras_version"].startswith("3.") and "arena_version" in meta
    assert config["class_name"] == "Functional" and config["compile_config"]["loss"] == "mean_squared_error"
    # Keras 3's layout: groups by class, the cell under a recurrent layer, wrappers' attributes
    assert f["layers/bidirectional/forward_layer/cell/vars"].attrs["name"] == "lstm_cell"
    assert f["layers/time_distributed/layer/vars/0"].shape == (6, 2)
    assert f["layers/simple_rnn/cell/vars/1"].shape == (4, 4)  # kernel, recurrent_kernel, bias
    assert f["layers/sequential/layers/dense/vars/0"].shape == (4, 2)
    assert len(f["layers/batch_normalization/vars"]) == 4
    assert int(f["optimizer/vars/0"][()]) == 4  # saved after 4 steps. Adam: iteration, rate, then a momentum and a velocity each
    # trainable: 2 LSTM cells x 3, TimeDistributed's Dense 2, BN gamma and beta, SimpleRNN 3, the head 2
    assert len(f["optimizer/vars"]) == 2 + 2 * 15
    f.close()


def test_weights_h5_round_trip_and_by_layer_checks(tmp_path):
    model, x, _ = _trained()
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "r") as f:
        assert "layer_names" not in f.attrs and "layers" in f and "optimizer" not in f
    clear_session()
    other, _, _ = _trained(seed=1)
    other.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_allclose(np.asarray(other.predict(x, verbose=0)), np.asarray(model.predict(x, verbose=0)),
                               rtol=1e-6)


def test_newer_config_fields_warn_once_and_unknown_classes_are_named(tmp_path):
    model = Sequential([Input((3,)), Dense(2)])
    model.save(tmp_path / "m.keras")

    def edit(change, name):
        with zipfile.ZipFile(tmp_path / "m.keras") as z:
            members = {n: z.read(n) for n in z.namelist()}
        config = json.loads(members["config.json"])
        change(config["config"]["layers"][1])
        members["config.json"] = json.dumps(config)
        with zipfile.ZipFile(tmp_path / name, "w") as z:
            for n, data in members.items():
                z.writestr(n, data)
        return tmp_path / name

    newer = edit(lambda spec: spec["config"].update(lora_dropout=0.0, shiny=1), "newer.keras")
    with pytest.warns(UserWarning, match=r"Dense 'dense_1': ignoring config field\(s\) \['lora_dropout', 'shiny'\]"):
        load_model(newer)
    unknown = edit(lambda spec: spec.update(class_name="FancyDense"), "unknown.keras")
    with pytest.raises(ValueError, match="FancyDense"):
        load_model(unknown)


# ---- hostile archives -------------------------------------------------------------------------------
def _archive(path, config, weights=b"", extra=None):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        z.writestr("config.json", json.dumps(config) if not isinstance(config, bytes) else config)
        z.writestr("model.weights.h5", weights)
        for n, data in (extra or {}).items():
            z.writestr(n, data)
    return path


def _sequential_spec(*layers):
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 3], "name": "in"}},
        *layers]}}


def test_no_code_runs_from_an_archive(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    (tmp_path / "evil_mod.py").write_text(f"open({str(marker)!r}, 'w').close()\ndef system(*a): pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    lam = {"module": "keras.layers", "class_name": "Lambda", "config": {
        "name": "lam", "function": {"class_name": "__lambda__", "config": {
            "code": "4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMEAAAAfABTACkBTqkAKQHaAXhyAQAAAHIBAAAA", "defaults": None,
            "closure": None}}, "arguments": {}}}
    cases = {
        "lambda_code": (_sequential_spec(lam), "Lambda"),
        "module_os": (_sequential_spec({"module": "os", "class_name": "system", "config": {}}), "system"),
        "module_evil": (_sequential_spec({"module": "evil_mod", "class_name": "system", "config": {}}), "system"),
        "top_level_module": ({"module": "evil_mod", "class_name": "system", "config": {}}, "system"),
    }
    for name, (config, word) in cases.items():
        path = _archive(tmp_path / f"{name}.keras", config)
        with pytest.raises(ValueError, match=word):
            load_model(path)
    assert not marker.exists()
    import sys
    assert "evil_mod" not in sys.modules
    # A Lambda comes back only from custom_objects (Keras' safe_mode behaviour).
    def double(t):
        return 2 * t
    model = Sequential([Input((3,)), Lambda(double)])
    model.save(tmp_path / "lam.keras")
    with pytest.raises(ValueError, match="custom_objects"):
        load_model(tmp_path / "lam.keras")
    with pytest.warns(UserWarning, match="never runs code"), pytest.raises(ValueError, match="custom_objects"):
        load_model(tmp_path / "lam.keras", safe_mode=False)
    again = load_model(tmp_path / "lam.keras", custom_objects={"double": double})
    np.testing.assert_allclose(np.asarray(again.predict(np.ones((1, 3), "float32"), verbose=0)), 2.0)


def test_hostile_archives_are_clear_errors(tmp_path):
    dense = {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 2}}
    cases = [
        (_archive(tmp_path / "bad_json.keras", b"{not json"), "config.json is damaged"),
        (_archive(tmp_path / "list.keras", [1, 2]), "not a model config"),
        (_archive(tmp_path / "no_weights.keras", _sequential_spec(dense), b"not hdf5"), "model.weights.h5"),
        (_archive(tmp_path / "huge_units.keras", _sequential_spec(
            {**dense, "config": {"name": "d", "units": 10**12}})), "units|too large|elements"),
    ]
    # a weights member that declares far more bytes than the model's weights could need
    path = tmp_path / "big_member.keras"
    _archive(path, _sequential_spec(dense), b"\0" * (40 * 2**20))
    cases.append((path, "declares 41,943,040 bytes"))
    with zipfile.ZipFile(tmp_path / "no_config.keras", "w") as z:
        z.writestr("metadata.json", "{}")
    cases.append((tmp_path / "no_config.keras", "no 'config.json'"))
    (tmp_path / "truncated.keras").write_bytes((tmp_path / "list.keras").read_bytes()[:40])
    cases.append((tmp_path / "truncated.keras", "not an HDF5 file|damaged"))
    for path, match in cases:
        with pytest.raises((ValueError, OSError), match=match):
            load_model(path)


def test_archive_writes_are_atomic(tmp_path, monkeypatch):
    model = Sequential([Input((3,)), Dense(2)])
    model.save(tmp_path / "m.keras")
    before = (tmp_path / "m.keras").read_bytes()
    from arena.nn import keras_archive

    def fail(*a, **k):
        raise RuntimeError("interrupted")
    monkeypatch.setattr(keras_archive, "_write_weights_file", fail)
    with pytest.raises(RuntimeError):
        Sequential([Input((3,)), Dense(4)]).save(tmp_path / "m.keras")
    assert (tmp_path / "m.keras").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]


def test_nested_model_node_numbering_from_either_convention(tmp_path):
    """A nested functional model's calls counted from 1 (Keras 2 everywhere; Keras 3 in output_layers)
    or from 0 (Keras 3 in inbound nodes; Arena's older files everywhere): each loads."""
    import h5py as _h5
    inp = Input((4,))
    block = Model(inp, Dense(3)(inp), name="block")
    outer_in = Input((4,))
    model = Model(outer_in, block(Dense(4)(outer_in)))
    x = np.ones((2, 4), "float32")
    want = np.asarray(model.predict(x, verbose=0))
    model.save(tmp_path / "keras3.h5")
    for name, node_index, output_index in [("keras2.h5", 1, 1), ("old_arena.h5", 0, 0)]:
        model.save(tmp_path / name)
        with _h5.File(tmp_path / name, "r+") as f:
            config = json.loads(f.attrs["model_config"])
            assert config["config"]["output_layers"] == [["block", 1, 0]]  # as Keras 3 writes it
            config["config"]["output_layers"] = [["block", output_index, 0]]
            spec = [s for s in config["config"]["layers"] if s["name"] == "block"][0]
            assert spec["inbound_nodes"][0][0][:2] == [config["config"]["layers"][1]["name"], 0]
            f.attrs["model_config"] = json.dumps(config)
    # and a Keras 2-style reference to the nested model from another layer
    outer = Model(outer_in, Dense(1, name="after")(block(Dense(4)(outer_in))))
    outer.save(tmp_path / "ref.h5")
    with _h5.File(tmp_path / "ref.h5", "r+") as f:
        config = json.loads(f.attrs["model_config"])
        after = [s for s in config["config"]["layers"] if s["name"] == "after"][0]
        assert after["inbound_nodes"][0][0][:2] == ["block", 0]
        after["inbound_nodes"][0][0][1] = 1
        f.attrs["model_config"] = json.dumps(config)
    for name in ("keras3.h5", "keras2.h5", "old_arena.h5"):
        np.testing.assert_allclose(np.asarray(load_model(tmp_path / name).predict(x, verbose=0)), want, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(load_model(tmp_path / "ref.h5").predict(x, verbose=0)),
                               np.asarray(outer.predict(x, verbose=0)), rtol=1e-6)
