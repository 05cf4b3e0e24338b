"""Keras-written HDF5 files with Embedding, SimpleRNN, LSTM, GRU (both ``reset_after``),
Bidirectional and TimeDistributed load in Arena and predict as Keras did.

The files (``tests/fixtures/keras/rnn_*.h5``) come from real Keras 3.15 (JAX backend) and, as
``*_k2.h5``, from Keras 2.15 (``tf.keras``); see ``make_rnn_fixtures.py`` and the README there.
"""
import json
import os
import warnings

import h5py
import jax
import numpy as np
import pytest

from arena.nn import load_model, save_model
from arena.nn.layers.base import clear_session
from arena.nn.saving import translate_keras_config

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "keras")
MODELS = ("rnn_lstm_gru", "rnn_gru_v1", "rnn_bidir_td", "rnn_compiled")
FILES = [m + s for s in ("", "_k2") for m in MODELS]


@pytest.fixture(autouse=True)
def fresh_names():
    clear_session()
    yield
    clear_session()


def _path(name):
    return os.path.join(FIXTURES, f"{name}.h5")


def _io(name):
    return np.load(os.path.join(FIXTURES, f"{name}_io.npz"))


def _load(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every file loads cleanly: config, weights, optimizer state
        return load_model(_path(name))


def _file_weights(name):
    """``{layer name: [arrays in the file's weight_names order]}``."""
    out = {}
    with h5py.File(_path(name), "r") as f:
        g = f["model_weights"]
        for layer in g.attrs["layer_names"]:
            layer = layer.decode() if isinstance(layer, bytes) else layer
            names = g[layer].attrs["weight_names"]
            out[layer] = [np.asarray(g[layer][n.decode() if isinstance(n, bytes) else n]) for n in names]
    return out


@pytest.mark.parametrize("name", FILES)
def test_keras_file_predicts_alike(name):
    model = _load(name)
    io = _io(name)
    y = np.asarray(model.predict(io["x"], verbose=0))
    assert y.shape == io["y"].shape
    np.testing.assert_allclose(y, io["y"], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", FILES)
def test_weights_land_in_keras_layout(name):
    """Each layer's get_weights() is the file's arrays in Keras' order (a Bidirectional: forward's
    kernel, recurrent_kernel, bias, then backward's)."""
    model = _load(name)
    stored = _file_weights(name)
    for layer_name, arrays in stored.items():
        if not arrays:
            continue
        got = model.get_layer(layer_name).get_weights()
        assert len(got) == len(arrays), layer_name
        for g, a in zip(got, arrays):
            assert g.shape == a.shape, layer_name
            np.testing.assert_array_equal(np.asarray(g), a)


def test_recurrent_weight_shapes_and_sublayers():
    model = _load("rnn_lstm_gru")
    lstm, gru = model.get_layer("lstm"), model.get_layer("gru")
    assert [w.shape for w in lstm.get_weights()] == [(4, 20), (5, 20), (20,)]  # gates i, f, c, o
    assert [w.shape for w in gru.get_weights()] == [(5, 9), (3, 9), (2, 9)]  # reset_after: (2, 3u) bias
    assert model.get_layer("embedding").mask_zero
    v1 = _load("rnn_gru_v1")
    assert [w.shape for w in v1.get_weights()[:3]] == [(3, 12), (4, 12), (12,)]  # reset_after=False: (3u,)
    assert v1.get_layer("simple_rnn").go_backwards


@pytest.mark.parametrize("name", ["rnn_bidir_td", "rnn_bidir_td_k2"])
def test_bidirectional_forward_and_backward_weights(name):
    model = _load(name)
    bi = model.get_layer("bidirectional")
    assert bi.forward_layer.name == "forward_lstm" and bi.backward_layer.name == "backward_lstm"
    assert not bi.forward_layer.go_backwards and bi.backward_layer.go_backwards
    with h5py.File(_path(name), "r") as f:
        g = f["model_weights"]["bidirectional"]
        names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["weight_names"]]
        for n in names:
            direction = "forward_lstm" if "forward_lstm" in n else "backward_lstm"
            sub = bi.forward_layer if direction == "forward_lstm" else bi.backward_layer
            weight = n.split("/")[-1].split(":")[0]
            np.testing.assert_array_equal(np.asarray(sub.get_weights()[["kernel", "recurrent_kernel", "bias"]
                                                                        .index(weight)]), np.asarray(g[n]))


@pytest.mark.parametrize("name", ["rnn_compiled", "rnn_compiled_k2"])
def test_optimizer_state_of_a_bidirectional_model(name):
    """Adam's moments land on the right weights, the backward GRU's apart from the forward's."""
    model = _load(name)
    state = model._state()
    assert int(state.step) == 4  # 32 samples, batch 8, 1 epoch
    mu = {jax.tree_util.keystr(p): np.asarray(v) for p, v in jax.tree_util.tree_flatten_with_path(state.opt_state)[0]}
    with h5py.File(_path(name), "r") as f:
        og = f["optimizer_weights"]
        if name.endswith("_k2"):
            fwd, bwd = og["Adam/m/bigru/forward_gru/gru_cell/kernel:0"], og["Adam/m/bigru/backward_gru/gru_cell/kernel:0"]
        else:
            fwd, bwd = og["adam/bigru_forward_gru_gru_cell_kernel_momentum"], og["adam/bigru_backward_gru_gru_cell_kernel_momentum"]
        fwd, bwd = np.asarray(fwd), np.asarray(bwd)
    assert not np.allclose(fwd, bwd)
    got_f = [v for k, v in mu.items() if ".mu" in k and "'forward_gru']['kernel']" in k]
    got_b = [v for k, v in mu.items() if ".mu" in k and "'backward_gru']['kernel']" in k]
    assert len(got_f) == len(got_b) == 1
    np.testing.assert_array_equal(got_f[0], fwd)
    np.testing.assert_array_equal(got_b[0], bwd)


@pytest.mark.parametrize("name", ["rnn_lstm_gru", "rnn_bidir_td", "rnn_compiled"])
def test_arena_round_trip_of_a_keras_file(name, tmp_path):
    model = _load(name)
    out = tmp_path / "again.h5"
    save_model(model, str(out))
    clear_session()
    again = load_model(str(out))
    io = _io(name)
    np.testing.assert_allclose(np.asarray(again.predict(io["x"], verbose=0)), io["y"], atol=1e-5, rtol=1e-5)


# ---- translate_keras_config rules for recurrent files ------------------------------------------------
def _config(name):
    with h5py.File(_path(name), "r") as f:
        return json.loads(f.attrs["model_config"])


def test_keras3_nested_specs_are_translated():
    spec = translate_keras_config(_config("rnn_bidir_td"))
    bi, td = spec["config"]["layers"][1], spec["config"]["layers"][2]
    assert "backward_layer" not in bi["config"]  # the default mirror: Arena builds it
    inner = bi["config"]["layer"]
    assert set(inner) == {"class_name", "config"} and inner["config"]["name"] == "lstm"
    assert inner["config"]["dtype"] == "float32"
    assert inner["config"]["kernel_initializer"] == {"class_name": "GlorotUniform", "config": {"seed": None}}
    assert set(td["config"]["layer"]) == {"class_name", "config"}


def test_keras3_mask_op_layer_is_dropped():
    spec = translate_keras_config(_config("rnn_compiled"))
    names = [l["config"]["name"] for l in spec["config"]["layers"]]
    assert "not_equal" not in names
    bigru = next(l for l in spec["config"]["layers"] if l["config"]["name"] == "bigru")
    assert bigru["inbound_nodes"] == [[["emb", 0, 0, {}]]]


def test_a_backward_layer_that_is_not_the_mirror_is_an_error():
    spec = _config("rnn_bidir_td")
    bi = spec["config"]["layers"][1]
    bi["config"]["backward_layer"]["config"]["units"] = 4
    with pytest.raises(ValueError, match="backward_layer 'backward_lstm' is not the mirror"):
        translate_keras_config(spec)
