"""The model-building API: Sequential, functional graphs, nesting, names, summary, configs,
weights, and the clear errors of wrong constructions."""
import numpy as np
import pytest

from arena import nn
from arena.nn import (BatchNormalization, Dense, Dropout, Flatten, Input, Model, Reshape, Sequential, concatenate,
                      optimizers)


pytestmark = pytest.mark.usefixtures("fresh_session")


def rng(seed=0):
    return np.random.default_rng(seed)


def dense_np(layer, x, act=lambda z: z):
    k, b = layer.get_weights()
    return act(x @ k + b)


def relu(z):
    return np.maximum(z, 0)


# ---- Sequential ---------------------------------------------------------------------------------------
def test_sequential_add_and_pop():
    model = Sequential()
    model.add(Dense(8, activation="relu", input_shape=(4,)))
    model.add(Dense(5))
    model.add(Dense(2, activation="softmax"))
    assert [l.name for l in model.layers] == ["dense_1", "dense_2", "dense_3"]
    assert model.input_shape == (None, 4) and model.output_shape == (None, 2)
    assert model.count_params() == (4 * 8 + 8) + (8 * 5 + 5) + (5 * 2 + 2)
    model.pop()
    assert [l.name for l in model.layers] == ["dense_1", "dense_2"]
    assert model.output_shape == (None, 5)
    x = rng().normal(size=(3, 4)).astype(np.float32)
    l1, l2 = model.layers
    np.testing.assert_allclose(model.predict(x), dense_np(l2, dense_np(l1, x, relu)), rtol=1e-5, atol=1e-6)
    model.add(Dense(1))
    assert model.output_shape == (None, 1) and model.layers[-1].name == "dense_4"
    model.pop()
    model.pop()
    model.pop()
    assert model.layers == []
    with pytest.raises(ValueError, match=r"Sequential 'sequential_1' has no layers to pop"):
        model.pop()


def test_input_dim_and_input_layer_first():
    model = Sequential([Dense(3, input_dim=5)])
    assert model.input_shape == (None, 5)
    assert model.layers[0].get_weights()[0].shape == (5, 3)
    with_input = Sequential([Input(shape=(7,)), Dense(2)])
    assert with_input.input_shape == (None, 7) and len(with_input.layers) == 1
    with pytest.raises(TypeError, match=r"expects a Layer; got str"):
        Sequential().add("dense")


def test_names_are_numbered_like_keras_and_restart_with_clear_session():
    a, b = Dense(2), Dense(2)
    assert (a.name, b.name) == ("dense_1", "dense_2")
    others = [Dropout(0.1), BatchNormalization(), nn.LeakyReLU(), nn.MaxPooling2D(), nn.Conv2D(2, 3), Flatten()]
    assert [l.name for l in others] == ["dropout_1", "batch_normalization_1", "leaky_re_lu_1",
                                        "max_pooling2d_1", "conv2d_1", "flatten_1"]
    model = Sequential([Dense(1, input_shape=(2,))])
    assert model.name == "sequential_1" and model.layers[0].name == "dense_3"
    assert model.input_names == ["dense_3_input"]  # Keras names a Sequential's input after its first layer
    x, y = Input(shape=(2,)), Input(shape=(2,))
    assert [x._history[0].name, y._history[0].name] == ["input_1", "input_2"]
    assert Model(x, Dense(1)(x)).name == "model_1"
    nn.clear_session()
    assert Dense(2).name == "dense_1" and Sequential().name == "sequential_1"
    assert Dense(2, name="custom").name == "custom"


def test_duplicate_layer_names_are_an_error():
    with pytest.raises(ValueError, match=r"layer names must be unique; duplicated: \['d'\]"):
        Sequential([Dense(3, input_shape=(2,), name="d"), Dense(3, name="d")])
    a = Input(shape=(2,), name="x")
    h = Dense(3, name="same")(a)
    with pytest.raises(ValueError, match=r"Model 'net': layer names must be unique; duplicated: \['same'\]"):
        Model(a, Dense(3, name="same")(h), name="net")


# ---- functional ----------------------------------------------------------------------------------------
def _two_in_two_out():
    a = Input(shape=(4,), name="a")
    b = Input(shape=(4,), name="b")
    shared = Dense(3, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)
    merged = concatenate([ha, hb], name="merged")
    out1 = Dense(2, activation="softmax", name="cls")(merged)
    out2 = Dense(1, name="reg")(nn.subtract([ha, hb]))
    return Model([a, b], [out1, out2], name="siamese")


def test_functional_two_inputs_two_outputs_and_a_shared_layer():
    model = _two_in_two_out()
    assert model.input_names == ["a", "b"] and model.output_names == ["cls", "reg"]
    assert model.output_shape == [(None, 2), (None, 1)]
    names = [l.name for l in model.layers]
    assert names.count("shared") == 1  # a shared layer is one layer (two nodes)
    shared = model.get_layer("shared")
    assert len(shared._inbound_nodes) == 2
    assert model.count_params() == (4 * 3 + 3) + (6 * 2 + 2) + (3 * 1 + 1)  # shared weights counted once
    r = rng(1)
    xa, xb = r.normal(size=(5, 4)).astype(np.float32), r.normal(size=(5, 4)).astype(np.float32)
    ha, hb = dense_np(shared, xa, np.tanh), dense_np(shared, xb, np.tanh)
    z = dense_np(model.get_layer("cls"), np.concatenate([ha, hb], -1))
    p1 = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    p2 = dense_np(model.get_layer("reg"), ha - hb)
    out1, out2 = model.predict([xa, xb])
    np.testing.assert_allclose(out1, p1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out2, p2, rtol=1e-5, atol=1e-6)
    # trains from dicts keyed by input/output names; the shared kernel moves
    model.compile(optimizers.SGD(learning_rate=0.1), loss={"cls": "categorical_crossentropy", "reg": "mse"})
    k0 = shared.get_weights()[0]
    y1 = np.eye(2, dtype=np.float32)[[0, 1, 0, 1, 1]]
    hist = model.fit({"a": xa, "b": xb}, {"cls": y1, "reg": np.ones((5, 1), np.float32)}, epochs=2, verbose=0)
    assert set(hist.history) == {"loss", "cls_loss", "reg_loss"}
    assert not np.allclose(shared.get_weights()[0], k0)


def test_nested_models():
    inner = Sequential([Dense(5, activation="relu", input_shape=(3,)), Dense(4)], name="inner")
    x_in = Input(shape=(3,))
    h = inner(x_in)
    out = Dense(2, name="head")(h)
    model = Model(x_in, out, name="outer")
    assert [l.name for l in model.layers] == [model.layers[0].name, "inner", "head"]
    assert set(model.params["inner"]) == {"dense_1", "dense_2"}
    assert set(model.params["inner"]["dense_1"]) == {"kernel", "bias"}
    assert model.count_params() == (3 * 5 + 5) + (5 * 4 + 4) + (4 * 2 + 2)
    assert len(model.get_weights()) == 6
    x = rng(2).normal(size=(4, 3)).astype(np.float32)
    d1, d2 = inner.layers
    expected = dense_np(model.get_layer("head"), dense_np(d2, dense_np(d1, x, relu)))
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(inner.predict(x), dense_np(d2, dense_np(d1, x, relu)), rtol=1e-5, atol=1e-6)
    # a model inside a Sequential, then training reaches the inner weights
    seq = Sequential([inner, Dense(1, name="top")])
    seq.compile(optimizers.SGD(learning_rate=0.1), "mse")
    k0 = d1.get_weights()[0]
    seq.fit(x, np.ones((4, 1), np.float32), epochs=2, verbose=0)
    assert not np.allclose(d1.get_weights()[0], k0)
    np.testing.assert_allclose(model.predict(x), dense_np(model.get_layer("head"), inner.predict(x)), rtol=1e-5,
                               atol=1e-6)  # the same inner layers: the outer model sees the new weights


# ---- summary, config, weights ---------------------------------------------------------------------------
def test_summary_of_the_book_mlp():
    model = Sequential([Dense(128, activation="relu", input_shape=(784,)), Dense(128, activation="relu"),
                        Dense(10, activation="softmax")])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "sequential_1"' in text
    assert "Total params: 118,282" in lines
    assert "Trainable params: 118,282" in lines
    assert "Non-trainable params: 0" in lines
    rows = [l for l in lines if l.startswith("dense_")]
    assert len(rows) == 3
    for row, shape, count in zip(rows, ["(None, 128)", "(None, 128)", "(None, 10)"], ["100,480", "16,512", "1,290"]):
        assert "(Dense)" in row and shape in row and count in row
    assert model.count_params() == 118282


def test_summary_of_functional_and_non_trainable_counts():
    model = _two_in_two_out()
    lines = []
    model.summary(print_fn=lines.append)
    assert any("Connected to" in l for l in lines)
    assert any(l.startswith("shared (Dense)") and "a[0][0], b[0][0]" in l for l in lines)
    bn = Sequential([Dense(4, input_shape=(3,)), BatchNormalization()])
    lines = []
    bn.summary(print_fn=lines.append)
    # gamma/beta train; moving mean/variance do not
    assert "Total params: 32" in lines and "Trainable params: 24" in lines and "Non-trainable params: 8" in lines


def test_get_config_from_config_round_trip():
    seq = Sequential([Dense(6, activation="relu", input_shape=(3,), kernel_initializer="he_normal"),
                      Dropout(0.25), Dense(2, activation="softmax", use_bias=False)], name="clf")
    config = seq.get_config()
    assert config["name"] == "clf"
    # an explicit InputLayer first, as Keras 2.15 and 3 write a Sequential
    assert [l["class_name"] for l in config["layers"]] == ["InputLayer", "Dense", "Dropout", "Dense"]
    assert config["layers"][0]["config"]["batch_input_shape"] == [None, 3]
    assert config["layers"][1]["config"]["units"] == 6 and config["layers"][2]["config"]["rate"] == 0.25
    again = Sequential.from_config(config)
    assert again.get_config() == config
    again.set_weights(seq.get_weights())
    x = rng(3).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(again.predict(x), seq.predict(x), rtol=1e-6)

    func = _two_in_two_out()
    fconfig = func.get_config()
    shared = [l for l in fconfig["layers"] if l["name"] == "shared"][0]
    assert len(shared["inbound_nodes"]) == 2 and shared["inbound_nodes"][1][0][0] == "b"
    assert fconfig["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert fconfig["output_layers"] == [["cls", 0, 0], ["reg", 0, 0]]
    rebuilt = Model.from_config(fconfig)
    assert rebuilt.get_config() == fconfig
    rebuilt.set_weights(func.get_weights())
    xs = [rng(4).normal(size=(3, 4)).astype(np.float32), rng(5).normal(size=(3, 4)).astype(np.float32)]
    for a, b in zip(rebuilt.predict(xs), func.predict(xs)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_get_weights_set_weights_order():
    model = Sequential([Dense(3, input_shape=(2,)), BatchNormalization(), Dense(1, use_bias=False)])
    shapes = [w.shape for w in model.get_weights()]
    # kernel then bias; gamma, beta, moving_mean, moving_variance; layers in order
    assert shapes == [(2, 3), (3,), (3,), (3,), (3,), (3,), (3, 1)]
    assert model.layers[0].weight_names == ["kernel", "bias"]
    assert model.layers[1].weight_names == ["gamma", "beta", "moving_mean", "moving_variance"]
    r = rng(6)
    new = [r.normal(size=s).astype(np.float32) for s in shapes]
    new[5] = np.abs(new[5]) + 0.5  # a positive variance
    model.set_weights(new)
    for a, b in zip(model.get_weights(), new):
        np.testing.assert_array_equal(a, b)
    x = r.normal(size=(4, 2)).astype(np.float32)
    h = x @ new[0] + new[1]
    h = new[2] * (h - new[4]) / np.sqrt(new[5] + 1e-3) + new[3]
    np.testing.assert_allclose(model.predict(x), h @ new[6], rtol=1e-5, atol=1e-6)
    # set_weights after compile is what the next fit starts from
    model.compile(optimizers.SGD(learning_rate=0.0), "mse")
    model.fit(x, np.zeros((4, 1), np.float32), verbose=0)
    model.set_weights(new)
    model.fit(x, np.zeros((4, 1), np.float32), verbose=0)
    np.testing.assert_allclose(model.get_weights()[0], new[0])


def test_get_layer():
    model = _two_in_two_out()
    assert model.get_layer("reg") is model.layers[-1]
    assert model.get_layer(index=0).name == "a"
    with pytest.raises(ValueError, match=r"Model 'siamese' has no layer named 'nope'; layers: \['a', 'b', 'shared'"):
        model.get_layer("nope")


# ---- errors ------------------------------------------------------------------------------------------------
def test_dense_units_must_be_positive():
    for units in (0, -3, 2.5):
        with pytest.raises(ValueError, match=rf"Dense 'dense_\d+': units must be a positive integer; got {units}"):
            Dense(units=units)


def test_dropout_rate_must_be_in_0_1():
    for rate in (1.5, 1.0, -0.1):
        with pytest.raises(ValueError, match=rf"Dropout 'dropout_\d+': rate must be in \[0, 1\); got {rate}"):
            Dropout(rate=rate)


def test_reshape_with_incompatible_target():
    x = Input(shape=(6,))
    with pytest.raises(ValueError, match=r"Reshape 'reshape_1': input shape \(None, 6\) has 6 values per sample; "
                                         r"target shape \(4, 2\) has 8"):
        Reshape((4, 2))(x)
    with pytest.raises(ValueError, match=r"Reshape 'reshape_2': cannot reshape \(None, 6\) to \(-1, 4\)"):
        Reshape((-1, 4))(x)
    assert Reshape((-1, 2))(x).shape == (None, 3, 2)


def test_dense_on_unknown_last_axis():
    x = Input(shape=(None,))
    with pytest.raises(ValueError, match=r"Dense 'dense_1' expects input of shape \(batch, \.\.\., features\) with "
                                         r"a known last axis; got \(None, None\)"):
        Dense(3)(x)


def test_graph_disconnected():
    a = Input(shape=(3,), name="a")
    b = Input(shape=(3,), name="b")
    out = Dense(1)(concatenate([a, b]))
    with pytest.raises(ValueError, match=r"graph disconnected: output depends on input 'b' \(None, 3\), which is "
                                         r"not among the model's inputs \['a'\]"):
        Model(a, out)
    with pytest.raises(TypeError, match=r"symbolic tensors"):
        Model(a, np.zeros(3))


def test_set_weights_with_wrong_shapes_names_the_layer():
    model = Sequential([Dense(2, input_shape=(3,)), Dense(1)])
    w = model.get_weights()
    bad = [w[0].T] + w[1:]
    with pytest.raises(ValueError, match=r"Layer 'dense_1' weight 'kernel' has shape \(3, 2\); got \(2, 3\)"):
        model.set_weights(bad)
    with pytest.raises(ValueError, match=r"Model 'sequential_1' expects 4 weight arrays; got 3"):
        model.set_weights(w[:3])
    with pytest.raises(ValueError, match=r"Layer 'dense_2' expects 2 weights \['kernel', 'bias'\]; got 1"):
        model.layers[1].set_weights([w[2]])
    for a, b in zip(model.get_weights(), w):  # nothing was half-applied by the failed calls
        np.testing.assert_array_equal(a, b)


def test_sequential_without_input_shape_cannot_build_blind():
    model = Sequential([Dense(2)])
    with pytest.raises(ValueError, match=r"does not know its input shape.*input_shape=.*build\(\(None, \.\.\.\)\)"):
        model.build()
    model.build((None, 5))
    assert model.output_shape == (None, 2) and model.layers[0].get_weights()[0].shape == (5, 2)
