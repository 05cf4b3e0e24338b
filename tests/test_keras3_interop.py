"""Keras 3 itself on Arena's files, and Arena on Keras 3's, layer by layer (skipped without the
``interop`` extra: ``pip install 'arena[interop]'``, Keras 3 on the JAX backend, no TensorFlow).

For each layer: a one-layer model with seeded weights is saved as the legacy ``.h5`` and as ``.keras``
by one library, loaded by the other, and must predict the same. Arena's compiled models keep their
training setup in Keras 3.
"""
import os
import warnings

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "jax":
    pytest.skip("Keras 3 runs on another backend here (KERAS_BACKEND)", allow_module_level=True)

from arena.nn import layers as arena_layers  # noqa: E402
from arena.nn import load_model  # noqa: E402
from arena.nn.layers.base import clear_session  # noqa: E402
from arena.nn.model import Model, Sequential  # noqa: E402

# Keras converts its own variables with np.asarray(copy=False), which numpy 2 notes; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

# (id, input shape, integer input?, the layer given a layers module (arena's or keras'))
LAYERS = [
    ("Dense", (5,), False, lambda M: M.Dense(3, activation="tanh")),
    ("Activation", (5,), False, lambda M: M.Activation("softmax")),
    ("Dropout", (5,), False, lambda M: M.Dropout(0.3)),
    ("Flatten", (2, 3), False, lambda M: M.Flatten()),
    ("Flatten-channels_first", (2, 3, 4), False, lambda M: M.Flatten(data_format="channels_first")),
    ("Conv2D-channels_first", (2, 6, 6), False, lambda M: M.Conv2D(3, 3, data_format="channels_first")),
    ("Reshape", (6,), False, lambda M: M.Reshape((3, 2))),
    ("Permute", (2, 3), False, lambda M: M.Permute((2, 1))),
    ("RepeatVector", (4,), False, lambda M: M.RepeatVector(3)),
    ("Masking", (3, 2), False, lambda M: M.Masking(0.0)),
    ("ELU", (5,), False, lambda M: M.ELU(0.5)),
    ("LeakyReLU", (5,), False, lambda M: M.LeakyReLU(0.2)),
    ("PReLU", (5,), False, lambda M: M.PReLU()),
    ("ReLU", (5,), False, lambda M: M.ReLU(max_value=0.5)),
    ("Softmax", (5,), False, lambda M: M.Softmax()),
    ("Conv1D", (6, 2), False, lambda M: M.Conv1D(3, 3, padding="same", dilation_rate=2)),
    ("Conv2D", (6, 6, 2), False, lambda M: M.Conv2D(3, 3, strides=2, activation="relu")),
    ("Conv2DTranspose", (4, 4, 2), False, lambda M: M.Conv2DTranspose(3, 3, strides=2, padding="same")),
    ("BatchNormalization", (4, 3), False, lambda M: M.BatchNormalization()),
    ("MaxPooling1D", (6, 2), False, lambda M: M.MaxPooling1D(2)),
    ("MaxPooling2D", (6, 6, 2), False, lambda M: M.MaxPooling2D(2)),
    ("AveragePooling1D", (6, 2), False, lambda M: M.AveragePooling1D(3, strides=1, padding="same")),
    ("AveragePooling2D", (6, 6, 2), False, lambda M: M.AveragePooling2D(2)),
    ("GlobalMaxPooling1D", (6, 2), False, lambda M: M.GlobalMaxPooling1D()),
    ("GlobalAveragePooling2D", (6, 6, 2), False, lambda M: M.GlobalAveragePooling2D()),
    ("Cropping2D", (6, 6, 2), False, lambda M: M.Cropping2D(((1, 0), (2, 1)))),
    ("UpSampling1D", (3, 2), False, lambda M: M.UpSampling1D(2)),
    ("UpSampling2D", (3, 3, 2), False, lambda M: M.UpSampling2D(2)),
    ("ZeroPadding2D", (3, 3, 2), False, lambda M: M.ZeroPadding2D(1)),
    ("Embedding", (4,), True, lambda M: M.Embedding(10, 3)),
    ("SimpleRNN", (4, 3), False, lambda M: M.SimpleRNN(2, return_sequences=True)),
    ("LSTM", (4, 3), False, lambda M: M.LSTM(2)),
    ("GRU", (4, 3), False, lambda M: M.GRU(2)),
    ("GRU-reset_before", (4, 3), False, lambda M: M.GRU(2, reset_after=False)),
    ("Bidirectional", (4, 3), False, lambda M: M.Bidirectional(M.LSTM(2, return_sequences=True), merge_mode="sum")),
    ("TimeDistributed", (4, 3), False, lambda M: M.TimeDistributed(M.Dense(2))),
    ("GaussianNoise", (5,), False, lambda M: M.GaussianNoise(0.1)),
    ("SpatialDropout1D", (4, 3), False, lambda M: M.SpatialDropout1D(0.2)),
    ("Rescaling", (3, 3, 1), False, lambda M: M.Rescaling(1 / 255.0, offset=-0.5)),
    ("CenterCrop", (5, 5, 1), False, lambda M: M.CenterCrop(3, 3)),
]
MERGES = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]


@pytest.fixture(autouse=True)
def fresh_names():
    clear_session()
    keras.backend.clear_session()
    yield


def _seeded(weights, rng):
    return [(np.abs(w) + 0.5 if "variance" in name else w).astype(w.dtype)
            for name, w in ((n, 0.5 * rng.normal(size=np.shape(v))) for n, v in weights)]


def _inputs(shape, integer, rng, n=3):
    return rng.integers(0, 10, (n,) + shape) if integer else rng.normal(size=(n,) + shape).astype("float32")


def _arena_model(make, shape, integer):
    x = arena_layers.Input(shape, dtype="int32" if integer else "float32")
    return Model(x, make(arena_layers)(x))


def _keras_model(make, shape, integer):
    x = keras.Input(shape, dtype="int32" if integer else "float32")
    return keras.Model(x, make(keras.layers)(x))


def _keras_load(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras' own notes (legacy format, compiled metrics not built)
        return keras.models.load_model(path)


def _same_both_ways(model, kmodel, x, want, tmp_path):
    """Arena's files predict ``want`` in Keras 3, and Keras 3's in Arena, in both formats."""
    for ext in ("h5", "keras"):
        model.save(tmp_path / f"arena.{ext}")
        np.testing.assert_allclose(_keras_load(tmp_path / f"arena.{ext}").predict(x, verbose=0), want, rtol=1e-5,
                                   atol=1e-6)
        kmodel.save(tmp_path / f"keras.{ext}")
        np.testing.assert_allclose(np.asarray(load_model(tmp_path / f"keras.{ext}").predict(x, verbose=0)), want,
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,shape,integer,make", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_round_trips_both_ways(tmp_path, name, shape, integer, make):
    rng = np.random.default_rng(0)
    x = _inputs(shape, integer, rng)
    # Arena writes, Keras 3 reads
    model = _arena_model(make, shape, integer)
    model.set_weights(_seeded([(w, v) for l in model.layers for w, v in zip(l.weight_names, l.get_weights())], rng))
    want = np.asarray(model.predict(x, verbose=0))
    for ext in ("h5", "keras"):
        model.save(tmp_path / f"arena.{ext}")
        got = _keras_load(tmp_path / f"arena.{ext}").predict(x, verbose=0)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"Keras 3 reading Arena's .{ext}")
    # Keras 3 writes, Arena reads
    kmodel = _keras_model(make, shape, integer)
    kmodel.set_weights(_seeded([(v.path, v) for v in kmodel.weights], rng))
    want = np.asarray(kmodel.predict(x, verbose=0))
    for ext in ("h5", "keras"):
        kmodel.save(tmp_path / f"keras.{ext}")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = load_model(tmp_path / f"keras.{ext}").predict(x, verbose=0)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6, err_msg=f"Arena reading Keras' .{ext}")


def test_merges_and_shared_layers_both_ways(tmp_path):
    rng = np.random.default_rng(1)
    x = [rng.normal(size=(3, 4)).astype("float32") for _ in range(2)]

    def build(M, Inp, Mod):
        a, b = Inp((4,)), Inp((4,))
        shared = M.Dense(4, activation="tanh")
        ha, hb = shared(a), shared(b)
        merged = [getattr(M, m)()([ha, hb]) for m in MERGES] + [M.Dot(axes=1)([ha, hb])]
        return Mod([a, b], M.Dense(2)(M.Concatenate()(merged)))
    model = build(arena_layers, arena_layers.Input, Model)
    kmodel = build(keras.layers, keras.Input, keras.Model)
    kmodel.set_weights(model.get_weights())
    want = np.asarray(model.predict(x, verbose=0))
    np.testing.assert_allclose(kmodel.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
    _same_both_ways(model, kmodel, x, want, tmp_path)


def test_compiled_arena_model_trains_on_in_keras(tmp_path):
    """Keras 3 gets Arena's optimizer, loss and Adam moments: one more step matches Arena's."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(16, 6)).astype("float32"), rng.normal(size=(16, 2)).astype("float32")
    from arena.nn.optimizers import Adam
    model = Sequential([arena_layers.Input((6,)), arena_layers.Dense(8, activation="relu"), arena_layers.Dense(2)])
    model.compile(Adam(0.01), "mse")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    model.save(tmp_path / "m.keras")
    kmodel = _keras_load(tmp_path / "m.keras")
    assert kmodel.optimizer.__class__.__name__ == "Adam" and int(kmodel.optimizer.iterations) == 4
    assert kmodel.loss in ("mean_squared_error", "mse")
    model.train_on_batch(x[:8], y[:8])
    kmodel.train_on_batch(x[:8], y[:8])
    for a, b in zip(model.get_weights(), kmodel.get_weights()):
        np.testing.assert_allclose(np.asarray(b), a, rtol=1e-4, atol=1e-6)


def test_nested_models_both_ways(tmp_path):
    """A functional model and a Sequential inside a functional model: Keras numbers a nested functional
    model's calls from 1 (its own input node comes first) and a nested Sequential's from 0 (Keras 3)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 4)).astype("float32")

    def build(M, Inp, Mod, Seq):
        i = Inp((4,))
        block = Mod(i, M.Dense(3, activation="tanh")(i), name="block")
        head = Seq([Inp((3,)), M.Dense(2)], name="head")
        o = Inp((4,))
        return Mod(o, head(block(o)))
    model = build(arena_layers, arena_layers.Input, Model, Sequential)
    kmodel = build(keras.layers, keras.Input, keras.Model, keras.Sequential)
    kmodel.set_weights(model.get_weights())
    want = np.asarray(model.predict(x, verbose=0))
    _same_both_ways(model, kmodel, x, want, tmp_path)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_models_both_ways(tmp_path, policy):
    """Dtype policies and the loss-scale optimizer cross over; both libraries compute alike in 16 bits."""
    from arena.nn import mixed_precision
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 6)).astype("float32")

    def build(M, Inp, Seq):
        return Seq([Inp((6,)), M.Dense(4, activation="relu"), M.Dense(2), M.Activation("softmax", dtype="float32")])
    mixed_precision.set_dtype_policy(policy)
    keras.config.set_dtype_policy(policy)
    try:
        model, kmodel = build(arena_layers, arena_layers.Input, Sequential), build(keras.layers, keras.Input,
                                                                                   keras.Sequential)
        model.compile("adam", "categorical_crossentropy")
        kmodel.compile("adam", "categorical_crossentropy")
    finally:
        mixed_precision.set_dtype_policy("float32")
        keras.config.set_dtype_policy("float32")
    kmodel.set_weights(model.get_weights())
    want = np.asarray(model.predict(x, verbose=0))
    np.testing.assert_allclose(kmodel.predict(x, verbose=0), want, rtol=1e-3, atol=1e-3)
    for ext in ("h5", "keras"):
        model.save(tmp_path / f"arena.{ext}")
        loaded = _keras_load(tmp_path / f"arena.{ext}")
        assert [l.dtype_policy.name for l in loaded.layers] == [policy, policy, "float32"]
        assert type(loaded.optimizer).__name__ == ("LossScaleOptimizer" if policy == "mixed_float16" else "Adam")
        kmodel.save(tmp_path / f"keras.{ext}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras 3's loss-scale optimizer state is not mapped
            back = load_model(tmp_path / f"keras.{ext}")
        assert [l.dtype_policy.name for l in back.layers] == [policy, policy, "float32"]
        if ext == "h5":  # (Keras 3.15 leaves a built loss-scale optimizer out of .keras' compile_config)
            assert type(back.optimizer).__name__ == type(loaded.optimizer).__name__
        np.testing.assert_allclose(np.asarray(back.predict(x, verbose=0)), kmodel.predict(x, verbose=0), rtol=1e-6)
