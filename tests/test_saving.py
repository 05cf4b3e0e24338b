"""Model files (arena.nn.saving) and the HDF5 pytree helpers (arena.io)."""
import json
import os
import warnings

import h5py
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import arena
from arena import nn
from arena.io import atomic_h5, read_pytree, write_pytree
from arena.nn import Dense, Dropout, Input, Lambda, Model, Sequential, load_model, model_from_json, save_model
from arena.nn.layers.base import Layer, _registry, clear_session
from arena.nn.optimizers import SGD, Adam

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "keras")
HAVE_CONV = all(n in _registry for n in ("Conv2D", "MaxPooling2D", "BatchNormalization"))


@pytest.fixture(autouse=True)
def fresh_names():
    clear_session()
    arena.set_seed(0)
    yield


def _data(n=64, d=8, k=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = np.eye(k, dtype=np.float32)[rng.integers(0, k, size=n)]
    return x, y


def _mlp(d=8, k=4, dropout=0.2):
    model = Sequential([Dense(16, activation="relu", input_shape=(d,)), Dropout(dropout),
                        Dense(k, activation="softmax")])
    model.compile(optimizer=Adam(learning_rate=0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An MLP fitted for one epoch and saved once (fitting compiles; tests share it to stay fast)."""
    clear_session()
    arena.set_seed(0)
    x, y = _data()
    model = _mlp()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("trained") / "mlp.h5"
    model.save(path)
    return model, path, x, y


def _leaves_equal(a, b):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
    for u, v in zip(la, lb):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


# ---- round trips -------------------------------------------------------------------------------
def test_sequential_mlp_round_trip_and_layout(trained):
    model, path, x, y = trained
    with h5py.File(path, "r") as f:
        assert json.loads(f.attrs["model_config"])["class_name"] == "Sequential"
        tc = json.loads(f.attrs["training_config"])
        assert tc["optimizer_config"]["class_name"] == "Adam"
        assert tc["loss"] == "categorical_crossentropy" and tc["metrics"] == ["accuracy"]
        assert f.attrs["backend"] == "jax" and f.attrs["keras_version"] == "2.15.0" and "arena_version" in f.attrs
        mw = f["model_weights"]
        assert [n.decode() for n in mw.attrs["layer_names"]] == ["dense_1", "dropout_1", "dense_2"]
        assert [n.decode() for n in mw["dense_1"].attrs["weight_names"]] == ["dense_1/kernel:0", "dense_1/bias:0"]
        np.testing.assert_array_equal(f["model_weights/dense_1/dense_1/kernel:0"][()],
                                      model.get_layer("dense_1").get_weights()[0])
        assert len(mw["dropout_1"].attrs["weight_names"]) == 0
        og = f["optimizer_weights"]
        assert og["iteration:0"][()] == 4
        assert "opt_state/0/inner_state/0/mu/dense_1/kernel" in og  # Adam's first moment by pytree path

    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.compiled and loaded.metrics_names == model.metrics_names
    assert isinstance(loaded.optimizer, Adam) and loaded.optimizer.learning_rate == 0.01
    assert loaded.iterations == model.iterations == 4
    _leaves_equal(loaded._train_state.opt_state, model._train_state.opt_state)
    _leaves_equal(loaded._train_state.key, model._train_state.key)
    assert loaded.get_learning_rate() == pytest.approx(0.01)


def test_load_without_compile_or_optimizer(trained, tmp_path):
    model, path, x, _ = trained
    model.save(tmp_path / "a.h5", include_optimizer=False)
    with h5py.File(tmp_path / "a.h5", "r") as f:
        assert "training_config" not in f.attrs and "optimizer_weights" not in f
    assert not load_model(tmp_path / "a.h5").compiled
    plain = load_model(path, compile=False)
    assert not plain.compiled
    np.testing.assert_array_equal(plain.get_weights()[0], model.get_weights()[0])


@pytest.mark.skipif(not HAVE_CONV, reason="conv layers not available")
def test_cnn_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 8, 8, 1)).astype(np.float32)
    model = Sequential([nn.Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
                        nn.MaxPooling2D(), nn.Conv2D(6, 3, strides=2), nn.BatchNormalization(),
                        nn.Flatten(), Dense(3)])
    model.compile(optimizer=SGD(0.01, momentum=0.9), loss="mse")
    bn = model.get_layer("batch_normalization_1")
    bn.set_weights([w + rng.uniform(0.1, 0.5, w.shape).astype(np.float32) for w in bn.get_weights()])
    model.save(tmp_path / "cnn.h5")
    with h5py.File(tmp_path / "cnn.h5", "r") as f:
        group = f["model_weights/batch_normalization_1"]
        assert [n.decode() for n in group.attrs["weight_names"]] == [
            f"batch_normalization_1/{w}:0" for w in ("gamma", "beta", "moving_mean", "moving_variance")]
    loaded = load_model(tmp_path / "cnn.h5")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    for a, b in zip(loaded.get_layer("batch_normalization_1").get_weights(), bn.get_weights()):
        np.testing.assert_array_equal(a, b)  # moving statistics included
    assert loaded.compiled and isinstance(loaded.optimizer, SGD) and loaded.optimizer.momentum == 0.9


def _two_in_two_out():
    a, b = Input(shape=(5,), name="a"), Input(shape=(3,), name="b")
    shared = Dense(4, activation="tanh", name="shared")
    ha = shared(Dense(4, activation="relu", name="dense_a")(a))
    hb = shared(Dense(4, activation="relu", name="dense_b")(b))
    merged = nn.Concatenate(name="concat")([ha, hb])
    out1 = Dense(2, activation="softmax", name="cls")(merged)
    out2 = Dense(1, name="reg")(hb)
    model = Model(inputs=[a, b], outputs=[out1, out2], name="two_by_two")
    model.compile(optimizer="rmsprop", loss={"cls": "categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"cls": ["accuracy"]})
    return model


@pytest.mark.skipif("Concatenate" not in _registry, reason="merge layers not available")
def test_functional_two_inputs_two_outputs_shared_layer(tmp_path):
    rng = np.random.default_rng(2)
    xa, xb = rng.normal(size=(8, 5)).astype(np.float32), rng.normal(size=(8, 3)).astype(np.float32)
    model = _two_in_two_out()
    model.save(tmp_path / "f.h5")
    with h5py.File(tmp_path / "f.h5", "r") as f:
        cfg = json.loads(f.attrs["model_config"])
        assert cfg["class_name"] == "Model"
        shared = [l for l in cfg["config"]["layers"] if l["name"] == "shared"][0]
        assert len(shared["inbound_nodes"]) == 2
        assert "model_weights/shared/shared/kernel:0" in f
    loaded = load_model(tmp_path / "f.h5")
    for p, q in zip(loaded.predict([xa, xb]), model.predict([xa, xb])):
        np.testing.assert_array_equal(p, q)
    assert loaded.metrics_names == model.metrics_names == ["loss", "cls_loss", "reg_loss", "cls_accuracy"]
    assert loaded._loss_weights == [1.0, 0.5]


def test_nested_model_with_frozen_part(tmp_path):
    x, y = _data(d=6, k=3)
    inner = Sequential([Dense(8, activation="relu", input_shape=(6,)), Dense(8, activation="relu")], name="encoder")
    inner.layers[0].trainable = False  # the optimizer state becomes an optax multi_transform
    inp = Input(shape=(6,))
    out = Dense(3, activation="softmax", name="head")(inner(inp))
    model = Model(inp, out, name="outer")
    model.compile(optimizer=Adam(0.01), loss="categorical_crossentropy")
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    model.save(tmp_path / "nested.h5")
    with h5py.File(tmp_path / "nested.h5", "r") as f:
        g = f["model_weights/encoder"]
        # Keras order: trainable weights first (dense_2), then the frozen layer's (dense_1)
        assert [n.decode() for n in g.attrs["weight_names"]] == [
            "dense_2/kernel:0", "dense_2/bias:0", "dense_1/kernel:0", "dense_1/bias:0"]
        np.testing.assert_array_equal(g["dense_1/kernel:0"][()], inner.layers[0].get_weights()[0])
    loaded = load_model(tmp_path / "nested.h5")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert not loaded.get_layer("encoder").layers[0].trainable
    _leaves_equal(loaded._train_state.opt_state, model._train_state.opt_state)


def test_deeply_nested_and_frozen_sub_model(tmp_path):
    x = np.random.default_rng(4).normal(size=(4, 6)).astype(np.float32)
    inner = Sequential([Dense(5, input_shape=(6,), name="core")], name="inner")
    i = Input(shape=(6,))
    mid = Model(i, Dense(4, name="mid_dense")(inner(i)), name="mid")
    mid.trainable = False  # transfer learning: the whole feature extractor is frozen
    o = Input(shape=(6,))
    model = Model(o, Dense(2, name="top")(mid(o)), name="outer")
    model.save(tmp_path / "deep.h5")
    with h5py.File(tmp_path / "deep.h5", "r") as f:
        assert [n.decode() for n in f["model_weights/mid"].attrs["weight_names"]] == [
            "inner/core/kernel:0", "inner/core/bias:0", "mid_dense/kernel:0", "mid_dense/bias:0"]
        assert "model_weights/mid/inner/core/kernel:0" in f
    loaded = load_model(tmp_path / "deep.h5")
    assert not loaded.get_layer("mid").trainable
    assert loaded.get_layer("mid").get_layer("inner").get_layer("core").trainable
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_resume_equals_uninterrupted(tmp_path):
    x, y = _data(n=96, d=6, k=3, seed=3)

    def make():
        model = Sequential([Dense(16, activation="relu", input_shape=(6,)), Dropout(0.5),
                            Dense(3, activation="softmax")])
        model.compile(optimizer=Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
        return model

    arena.set_seed(7)
    straight = make()
    h_straight = straight.fit(x, y, batch_size=16, epochs=4, verbose=0)

    clear_session()
    arena.set_seed(7)
    first = make()
    first.fit(x, y, batch_size=16, epochs=2, verbose=0)
    first.save(tmp_path / "ckpt.h5")
    arena.set_seed(12345)  # resuming must not depend on where the global sequence is
    resumed = load_model(tmp_path / "ckpt.h5")
    h_resumed = resumed.fit(x, y, batch_size=16, epochs=4, initial_epoch=2, verbose=0)

    assert resumed.iterations == straight.iterations
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert h_resumed.history["loss"] == h_straight.history["loss"][2:]
    _leaves_equal(resumed._train_state.opt_state, straight._train_state.opt_state)


def test_learning_rate_change_is_saved(trained, tmp_path):
    model = load_model(trained[1])
    model.set_learning_rate(0.001)  # e.g. by ReduceLROnPlateau
    model.save(tmp_path / "m.h5")
    assert load_model(tmp_path / "m.h5").get_learning_rate() == pytest.approx(0.001)


# ---- weights only, JSON ------------------------------------------------------------------------
def test_save_weights_load_weights(tmp_path):
    x, _ = _data()
    model = _mlp()
    model.save_weights(tmp_path / "w.h5")
    with h5py.File(tmp_path / "w.h5", "r") as f:
        assert [n.decode() for n in f.attrs["layer_names"]] == ["dense_1", "dropout_1", "dense_2"]
        assert f.attrs["backend"] == "jax" and "keras_version" in f.attrs
        assert "model_config" not in f.attrs
        assert f["dense_2/dense_2/bias:0"].shape == (4,)

    other = _mlp()  # same architecture, other names (dense_3, dense_4) and weights: paired in order
    assert not np.allclose(other.predict(x), model.predict(x))
    other.load_weights(tmp_path / "w.h5")
    np.testing.assert_array_equal(other.predict(x), model.predict(x))

    # by_name: only layers whose names are in the file change
    renamed = Sequential([Dense(16, activation="relu", input_shape=(8,), name="dense_1"),
                          Dense(4, activation="softmax", name="new_head")])
    head_before = renamed.get_layer("new_head").get_weights()
    renamed.load_weights(tmp_path / "w.h5", by_name=True)
    np.testing.assert_array_equal(renamed.get_layer("dense_1").get_weights()[0],
                                  model.get_layer("dense_1").get_weights()[0])
    np.testing.assert_array_equal(renamed.get_layer("new_head").get_weights()[0], head_before[0])

    # A full model file holds weights too.
    model.save(tmp_path / "full.h5")
    third = _mlp()
    third.load_weights(tmp_path / "full.h5")
    np.testing.assert_array_equal(third.predict(x), model.predict(x))


def test_load_weights_wrong_architecture_names_layer_and_shapes(tmp_path):
    model = _mlp()
    model.save_weights(tmp_path / "w.h5")
    wider = Sequential([Dense(32, activation="relu", input_shape=(8,), name="wide"), Dense(4)])
    with pytest.raises(ValueError, match=r"layer 'wide' \(Dense\) weight 'kernel' expects shape \(8, 32\); "
                                         r"the file's 'dense_1/dense_1/kernel:0' has shape \(8, 16\)"):
        wider.load_weights(tmp_path / "w.h5")
    other_head = Sequential([Dense(16, input_shape=(8,)), Dense(5, name="head5")])
    before = other_head.get_weights()
    with pytest.raises(ValueError, match=r"layer 'head5' \(Dense\) weight 'kernel' expects shape \(16, 5\)"):
        other_head.load_weights(tmp_path / "w.h5")
    for a, b in zip(other_head.get_weights(), before):  # nothing was half-loaded
        np.testing.assert_array_equal(a, b)
    deeper = Sequential([Dense(16, input_shape=(8,)), Dense(16), Dense(4)])
    with pytest.raises(ValueError, match=r"weights for 2 layers .* has 3 layers with weights"):
        deeper.load_weights(tmp_path / "w.h5")
    with pytest.raises(ValueError, match="expects shape"):
        Sequential([Dense(32, input_shape=(8,), name="dense_1")]).load_weights(tmp_path / "w.h5", by_name=True)


def test_to_json_and_model_from_json():
    x, _ = _data()
    model = _mlp()
    text = model.to_json()
    spec = json.loads(text)
    assert spec["class_name"] == "Sequential" and spec["backend"] == "jax"
    rebuilt = model_from_json(text)
    assert rebuilt.get_config() == model.get_config()
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_array_equal(rebuilt.predict(x), model.predict(x))
    with pytest.raises(ValueError, match="not valid JSON"):
        model_from_json("{not json")


# ---- Keras-written files -------------------------------------------------------------------------
def _fixture(name):
    path = os.path.join(FIXTURES, f"{name}.h5")
    if not os.path.exists(path):
        pytest.skip(f"Keras fixture {name}.h5 not present")
    return path, np.load(os.path.join(FIXTURES, f"{name}_io.npz"))


@pytest.mark.parametrize("name", ["mlp", "cnn", "functional"])
def test_keras_file_loads_and_predicts_the_same(name):
    if name == "cnn" and not HAVE_CONV or name == "functional" and "Concatenate" not in _registry:
        pytest.skip("layers not available")
    path, io = _fixture(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras' Adam/SGD states map without warnings
        model = load_model(path)
    inputs = [io["a"], io["b"]] if name == "functional" else io["x"]
    np.testing.assert_allclose(model.predict(inputs), io["y"], atol=1e-5)


def test_keras_optimizer_state_is_mapped():
    path, io = _fixture("mlp")
    model = load_model(path)
    assert model.compiled and isinstance(model.optimizer, Adam) and model.iterations == 4
    adam = model._train_state.opt_state[0].inner_state[0]
    assert int(adam.count) == 4
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(adam.mu["dense"]["kernel"], f["optimizer_weights/Adam/m/dense/kernel:0"][()])
        np.testing.assert_array_equal(adam.nu["dense_1"]["bias"], f["optimizer_weights/Adam/v/dense_1/bias:0"][()])
    model.fit(io["x"], np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0]], epochs=1, verbose=0)  # trains on
    assert model.iterations == 5


@pytest.mark.skipif(not HAVE_CONV, reason="conv layers not available")
def test_keras_sgd_momentum_is_mapped():
    path, _ = _fixture("cnn")
    model = load_model(path)
    assert isinstance(model.optimizer, SGD) and model.optimizer.momentum == pytest.approx(0.9)
    trace = model._train_state.opt_state[0].inner_state[1].trace  # (scale(-lr), trace): Keras' velocity
    with h5py.File(path, "r") as f:
        m = f["optimizer_weights/SGD/m/conv2d/kernel:0"][()]
    np.testing.assert_allclose(trace["conv2d"]["kernel"], m, rtol=1e-6)


def test_keras_unmappable_optimizer_state_warns_and_compiles_fresh(tmp_path):
    path, io = _fixture("mlp")
    copy = tmp_path / "mlp.h5"
    with h5py.File(path, "r") as src, h5py.File(copy, "w") as dst:
        for k, v in src.attrs.items():
            dst.attrs[k] = v
        src.copy("model_weights", dst)
        og = dst.create_group("optimizer_weights")
        og.attrs["weight_names"] = [b"training/Adam/Variable:0"]  # Keras 2.0-era names
        og["training/Adam/Variable:0"] = np.zeros(3, np.float32)
    with pytest.warns(UserWarning, match="could not be mapped"):
        model = load_model(copy)
    assert model.compiled and model.iterations == 0
    np.testing.assert_allclose(model.predict(io["x"]), io["y"], atol=1e-5)


def test_keras_legacy_optimizer_names_are_mapped(tmp_path):
    """tf.keras.optimizers.legacy (Keras < 2.11) names its slots 'Adam/dense/kernel/m:0', 'Adam/iter:0'."""
    path, io = _fixture("mlp")
    copy = tmp_path / "legacy.h5"
    with h5py.File(path, "r") as src, h5py.File(copy, "w") as dst:
        for k, v in src.attrs.items():
            dst.attrs[k] = v
        tc = json.loads(src.attrs["training_config"])
        tc["optimizer_config"]["class_name"] = "Adam"
        tc["optimizer_config"]["config"] = {"name": "Adam", "learning_rate": 0.001, "decay": 0.0, "beta_1": 0.9,
                                            "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}
        dst.attrs["training_config"] = json.dumps(tc)
        src.copy("model_weights", dst)
        og = dst.create_group("optimizer_weights")
        names = ["Adam/iter:0"]
        og["Adam/iter:0"] = np.int64(4)
        for slot in ("m", "v"):
            for layer in ("dense", "dense_1"):
                for w in ("kernel", "bias"):
                    name = f"Adam/{layer}/{w}/{slot}:0"
                    og[name] = src[f"optimizer_weights/Adam/{slot}/{layer}/{w}:0"][()]
                    names.append(name)
        og.attrs["weight_names"] = [n.encode() for n in names]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = load_model(copy)
    adam = model._train_state.opt_state[0].inner_state[0]
    assert model.iterations == 4 and int(adam.count) == 4
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(adam.nu["dense"]["kernel"], f["optimizer_weights/Adam/v/dense/kernel:0"][()])


def test_keras_weights_only_file_into_arena_model():
    path, io = _fixture("weights_only")
    model = Sequential([Dense(16, activation="relu", input_shape=(8,)), Dropout(0.2), Dense(4, activation="softmax")])
    model.load_weights(path)  # Keras names dense, dense_1; Arena's dense_1, dense_2: paired in order
    np.testing.assert_allclose(model.predict(io["x"]), io["y"], atol=1e-5)


def test_translate_keras3_config():
    from arena.nn.saving import translate_keras_config
    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}
    init = {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": None},
            "registered_name": None}

    def tensor(name):
        return {"class_name": "__keras_tensor__", "config": {"shape": [None, 4], "dtype": "float32",
                                                             "keras_history": [name, 0, 0]}}
    spec = {"module": "keras", "class_name": "Functional", "registered_name": "Functional", "config": {
        "name": "k3", "trainable": True, "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None, "name": "x",
             "config": {"batch_shape": [None, 4], "dtype": "float32", "sparse": False, "name": "x"},
             "inbound_nodes": []},
            {"module": "keras.layers", "class_name": "Dense", "registered_name": None, "name": "d",
             "build_config": {"input_shape": [None, 4]},
             "config": {"name": "d", "trainable": True, "dtype": policy, "units": 2, "activation": "linear",
                        "use_bias": True, "kernel_initializer": init, "bias_initializer": init,
                        "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
                        "bias_constraint": None, "lora_rank": None},
             "inbound_nodes": [{"args": [tensor("x")], "kwargs": {}}]}],
        "input_layers": ["x", 0, 0], "output_layers": ["d", 0, 0]}}
    out = translate_keras_config(spec)
    assert out["class_name"] == "Model" and "module" not in out
    dense = out["config"]["layers"][1]
    assert dense["config"]["dtype"] == "float32" and "lora_rank" not in dense["config"]
    assert dense["inbound_nodes"] == [[["x", 0, 0, {}]]]
    assert out["config"]["layers"][0]["config"]["batch_input_shape"] == [None, 4]
    model = model_from_json(json.dumps(spec))
    assert model.predict(np.ones((2, 4), np.float32)).shape == (2, 2)


# ---- safety ----------------------------------------------------------------------------------------
def double_it(x):
    return 2.0 * x


def test_lambda_needs_custom_objects(tmp_path):
    x, _ = _data()
    inp = Input(shape=(8,))
    model = Model(inp, Dense(2)(Lambda(double_it)(inp)))
    model.save(tmp_path / "lam.h5")
    with pytest.raises(ValueError, match=r"lam\.h5.*double_it.*custom_objects"):
        load_model(tmp_path / "lam.h5")
    loaded = load_model(tmp_path / "lam.h5", custom_objects={"double_it": double_it})
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_keras_lambda_code_is_never_run(tmp_path):
    spec = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3], "name": "i"}},
        {"class_name": "Lambda", "config": {"name": "lam", "function": ["4wEAAAAAAAAA", None, None],
                                            "function_type": "lambda", "module": "__main__",
                                            "output_shape": None, "arguments": {}}}]}}
    with pytest.raises(ValueError, match="never runs code"):
        model_from_json(json.dumps(spec), custom_objects={"anything": double_it})


def test_unknown_layer_class_is_a_clear_error(tmp_path):
    class Scale(Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, params, x, training=False, key=None):
            return self.factor * x

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    inp = Input(shape=(3,))
    model = Model(inp, Scale(3.0, name="scale")(inp))
    model.save(tmp_path / "custom.h5")
    with pytest.raises(ValueError, match=r"custom\.h5.*Unknown layer class 'Scale'.*custom_objects"):
        load_model(tmp_path / "custom.h5")
    loaded = load_model(tmp_path / "custom.h5", custom_objects={"Scale": Scale})
    np.testing.assert_array_equal(loaded.predict(np.ones((1, 3), np.float32)), [[3.0, 3.0, 3.0]])


def test_writes_are_atomic(trained, tmp_path, monkeypatch):
    _, source, x, _ = trained
    model = load_model(source)
    path = tmp_path / "m.h5"
    model.save(path)
    before = path.read_bytes()
    model.set_weights([w + 1.0 for w in model.get_weights()])

    real = h5py.Group.create_dataset
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(args[0] if args else kwargs.get("name"))
        if len(calls) == 3:
            raise OSError("disk full (simulated)")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    with pytest.raises(OSError, match="simulated"):
        model.save(path)
    calls.clear()
    with pytest.raises(OSError, match="simulated"):
        model.save_weights(tmp_path / "new.h5")
    monkeypatch.undo()
    assert path.read_bytes() == before  # the old file is intact
    assert sorted(os.listdir(tmp_path)) == ["m.h5"]  # no temp file, no half-written new file
    np.testing.assert_array_equal(load_model(path).predict(x).shape, (64, 4))


def test_bad_files_give_clear_errors(trained, tmp_path):
    model, good, _, _ = trained
    data = good.read_bytes()

    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(OSError, match=r"truncated\.h5.*damaged or truncated"):
        load_model(truncated)

    text = tmp_path / "notes.h5"
    text.write_text("these are not weights")
    with pytest.raises(ValueError, match=r"notes\.h5.*not an HDF5 file"):
        load_model(text)
    with pytest.raises(ValueError, match=r"notes\.h5.*not an HDF5 file"):
        model.load_weights(text)

    zipped = tmp_path / "model.keras"
    zipped.write_bytes(b"PK\x03\x04" + b"\0" * 64)
    with pytest.raises(ValueError, match=r"zip archive"):
        load_model(zipped)

    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.h5.*empty"):
        load_model(empty)

    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["data"] = np.arange(3)
    with pytest.raises(ValueError, match=r"foreign\.h5.*not a saved model.*no 'model_config'"):
        load_model(foreign)
    with pytest.raises(ValueError, match=r"foreign\.h5' holds no model weights"):
        model.load_weights(foreign)

    model.save_weights(tmp_path / "weights.h5")
    with pytest.raises(ValueError, match=r"weights-only file.*load_weights"):
        load_model(tmp_path / "weights.h5")

    with pytest.raises(FileNotFoundError, match=r"missing\.h5"):
        load_model(tmp_path / "missing.h5")

    broken = tmp_path / "broken.h5"
    with h5py.File(broken, "w") as f:
        f.attrs["model_config"] = "{oops"
    with pytest.raises(ValueError, match=r"broken\.h5.*model_config.*not valid JSON"):
        load_model(broken)


def test_raw_optax_optimizer(tmp_path):
    x, y = _data()
    model = Sequential([Dense(4, activation="softmax", input_shape=(8,))])
    tx = optax.sgd(0.1, momentum=0.5)
    model.compile(optimizer=tx, loss="categorical_crossentropy")
    model.train_on_batch(x, y)
    model.save(tmp_path / "o.h5")
    with pytest.warns(UserWarning, match="loaded uncompiled.*OptaxOptimizer"):
        assert not load_model(tmp_path / "o.h5").compiled
    loaded = load_model(tmp_path / "o.h5", custom_objects={"OptaxOptimizer": tx})
    _leaves_equal(loaded._train_state.opt_state, model._train_state.opt_state)


# ---- the generic helpers --------------------------------------------------------------------------
def test_models_and_pytrees_share_one_checkpoint_file(trained, tmp_path):
    """The DQN checkpoint pattern: two networks, optimizer state, replay arrays, RNG state, counters."""
    q, _, x, _ = trained
    rng = np.random.default_rng(3)
    rng.random(5)
    tx = optax.adam(1e-3)
    agent = {"target_params": q.params, "opt_state": tx.init(q.params),
             "replay": {"obs": np.arange(12, dtype=np.uint8).reshape(3, 4), "actions": np.array([0, 2, 1])},
             "numpy_rng": rng.bit_generator.state, "key": jax.random.key(4), "raw_key": jax.random.PRNGKey(5),
             "counters": {"steps": 1200, "games": 7, "epsilon": 0.25, "done": False}, "game": "catch",
             "history": [1.0, 2.0], "nothing": None, "pair": (1, np.float32(2.5))}
    path = tmp_path / "agent.h5"
    with atomic_h5(path) as f:
        save_model(q, f)  # at the root: the checkpoint is also a plain model file
        save_model(q, f.create_group("target_network"), include_optimizer=False)
        write_pytree(f, agent, name="agent", compression="gzip")
    q2 = load_model(path)
    with h5py.File(path, "r") as f:
        target = load_model(f["target_network"])
        assert not target.compiled
        plain = read_pytree(f["agent"])
        typed = read_pytree(f["agent"], like=agent)
        assert f["agent/opt_state/0/mu/dense_1/kernel"].shape == (8, 16)
    np.testing.assert_array_equal(q2.predict(x), q.predict(x))
    np.testing.assert_array_equal(target.predict(x), q.predict(x))
    _leaves_equal(q2._train_state.opt_state, q._train_state.opt_state)

    assert plain["counters"] == {"steps": 1200, "games": 7, "epsilon": 0.25, "done": False}
    assert plain["game"] == "catch" and plain["history"] == [1.0, 2.0] and plain["nothing"] is None
    assert plain["numpy_rng"] == rng.bit_generator.state  # 128-bit PCG64 integers survive
    restored = np.random.default_rng()
    restored.bit_generator.state = plain["numpy_rng"]
    assert restored.random() == rng.random()
    np.testing.assert_array_equal(plain["replay"]["obs"], agent["replay"]["obs"])
    assert plain["replay"]["obs"].dtype == np.uint8

    _leaves_equal(typed["opt_state"], agent["opt_state"])
    assert isinstance(typed["opt_state"][0], optax.ScaleByAdamState)
    assert isinstance(typed["target_params"]["dense_1"]["kernel"], jax.Array)
    assert jax.random.key_data(typed["key"]).tolist() == jax.random.key_data(agent["key"]).tolist()
    assert typed["pair"][1] == np.float32(2.5) and typed["counters"]["steps"] == 1200

    with h5py.File(path, "r") as f:
        with pytest.raises(ValueError, match=r"agent/target_params/other.*is missing"):
            read_pytree(f["agent/target_params"], like={"other": {"kernel": jnp.zeros(2)}})
        with pytest.raises(ValueError, match=r"has shape \(8, 16\); expected \(2,\)"):
            read_pytree(f["agent/target_params/dense_1/kernel"], like=jnp.zeros(2))


def test_write_pytree_refuses_objects_and_atomic_h5_cleans_up(tmp_path):
    with pytest.raises(TypeError, match="cannot store a object"):
        with atomic_h5(tmp_path / "x.h5") as f:
            write_pytree(f, {"thing": object()})
    assert os.listdir(tmp_path) == []
    with atomic_h5(tmp_path / "x.h5") as f:
        write_pytree(f, {"a/b": 1, "%": 2})
    with h5py.File(tmp_path / "x.h5", "r") as f:
        assert read_pytree(f) == {"a/b": 1, "%": 2}


@pytest.mark.parametrize("loss, saved", [("mse", "mean_squared_error"), ("mae", "mean_absolute_error"),
                                         ("kld", "kl_divergence"), ("logcosh", "log_cosh"),
                                         ("huber_loss", "huber"), ("binary_crossentropy", "binary_crossentropy")])
def test_losses_are_saved_under_the_names_every_keras_reads(tmp_path, loss, saved):
    """Keras 3.15 cannot read 'mse' (and other short names) from a legacy .h5 training config, even in
    its own files: Arena writes the long name, and reads it back as the same loss."""
    from arena.nn import losses
    model = Sequential([Dense(2, input_shape=(3,))])
    model.compile("adam", loss)
    path = str(tmp_path / "m.h5")
    model.save(path)
    with h5py.File(path) as f:
        assert json.loads(f.attrs["training_config"])["loss"] == saved
    assert losses.get(load_model(path)._compile_args["loss"]) is losses.get(loss)


def test_skip_mismatch_warns_at_the_callers_line_in_both_weight_formats(tmp_path):
    import warnings
    from arena.nn import Dense, Input, Sequential
    saved = Sequential([Input((4,)), Dense(3), Dense(2)])
    other = Sequential([Input((4,)), Dense(5), Dense(2)])
    for name in ("w.h5", "w.weights.h5"):
        saved.save_weights(str(tmp_path / name))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            other.load_weights(str(tmp_path / name), skip_mismatch=True)
        skipped = [w for w in caught if "skipped" in str(w.message)]
        assert len(skipped) == 2 and all(w.filename == __file__ for w in skipped), [(w.filename, str(w.message))
                                                                                    for w in caught]
        with pytest.raises(ValueError, match="expects shape"):
            other.load_weights(str(tmp_path / name))
