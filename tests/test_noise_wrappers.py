"""Noise layers (GaussianNoise, GaussianDropout, SpatialDropout1D/2D) and the TimeDistributed wrapper."""
import h5py
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from arena.nn import Model, Sequential, load_model, model_from_json
from arena.nn.layers import (BatchNormalization, Conv2D, Dense, Flatten, GaussianDropout, GaussianNoise, Input,
                             Masking, SpatialDropout1D, SpatialDropout2D, TimeDistributed)
from arena.nn.optimizers import SGD

KEY = jax.random.PRNGKey(3)


# ---- noise layers ---------------------------------------------------------------------------------------
def test_gaussian_noise_adds_noise_of_stddev_in_training_only(fresh_session):
    x = jnp.full((200, 500), 2.0)
    layer = GaussianNoise(0.5)
    noise = np.asarray(layer(x, training=True, key=KEY)) - 2.0
    assert abs(noise.mean()) < 0.01 and noise.std() == pytest.approx(0.5, rel=0.02)
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer(x, training=False, key=KEY), x)


def test_gaussian_dropout_multiplies_by_noise_of_mean_one(fresh_session):
    x = jnp.full((200, 500), 3.0)
    rate = 0.2
    factor = np.asarray(GaussianDropout(rate)(x, training=True, key=KEY)) / 3.0
    assert factor.mean() == pytest.approx(1.0, abs=0.01)
    assert factor.std() == pytest.approx(np.sqrt(rate / (1 - rate)), rel=0.02)
    np.testing.assert_array_equal(GaussianDropout(rate)(x), x)


@pytest.mark.parametrize("layer_cls, shape", [(SpatialDropout1D, (64, 7, 50)), (SpatialDropout2D, (64, 5, 4, 50))])
def test_spatial_dropout_drops_whole_channels(fresh_session, layer_cls, shape):
    x = jnp.ones(shape)
    y = np.asarray(layer_cls(0.4)(x, training=True, key=KEY))
    per_channel = y.reshape(shape[0], -1, shape[-1])
    # every channel of every sample is either dropped everywhere or kept (scaled by 1/(1-rate)) everywhere
    assert np.all(per_channel == per_channel[:, :1, :])
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.6], rtol=1e-6)
    assert np.mean(per_channel[:, 0, :] == 0) == pytest.approx(0.4, abs=0.04)
    np.testing.assert_array_equal(layer_cls(0.4)(x), x)


def test_noise_seed_is_folded_into_the_key(fresh_session):
    x = jnp.ones((1, 300))
    a = GaussianNoise(1.0, seed=1)(x, training=True, key=KEY)
    assert np.array_equal(a, GaussianNoise(1.0, seed=1)(x, training=True, key=KEY))
    assert not np.array_equal(a, GaussianNoise(1.0, seed=2)(x, training=True, key=KEY))


@pytest.mark.parametrize("layer", [lambda: GaussianNoise(0.1), lambda: GaussianDropout(0.1),
                                   lambda: SpatialDropout1D(0.1)])
def test_noise_in_training_needs_a_key(fresh_session, layer):
    layer = layer()
    with pytest.raises(ValueError, match=rf"{type(layer).__name__} '{layer.name}' needs a random key"):
        layer(jnp.ones((2, 3, 4)), training=True)


def test_noise_arguments_are_checked(fresh_session):
    for bad in (-0.1, float("nan"), float("inf"), "0.1", True):
        with pytest.raises(ValueError, match="stddev must be a number"):
            GaussianNoise(bad)
    for cls in (GaussianDropout, SpatialDropout1D, SpatialDropout2D):
        for bad in (-0.1, 1.0, float("nan"), None):
            with pytest.raises(ValueError, match="rate must be a number in"):
                cls(bad)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        GaussianDropout(0.1, seed=-1)
    with pytest.raises(ValueError, match="SpatialDropout2D 'spatial_dropout2d_.*channels_last.*'channels_first'"):
        SpatialDropout2D(0.1, data_format="NCHW")
    with pytest.raises(ValueError, match=r"SpatialDropout1D 'sd' expects input of rank 3.*got shape \(None, 4\)"):
        SpatialDropout1D(0.1, name="sd")(Input(shape=(4,)))


def test_noise_layers_pass_masks_and_train_in_a_model(fresh_session):
    inp = Input(shape=(5, 3))
    x = Masking(0.0)(inp)
    for layer in (GaussianNoise(0.1), GaussianDropout(0.1), SpatialDropout1D(0.2)):
        x = layer(x)
    m = Model(inp, Dense(2)(x))
    data = np.random.default_rng(0).normal(size=(4, 5, 3)).astype("float32")
    data[:, -2:] = 0.0
    _, _, _, masks = m.run_graph(m.params, m.state, [jnp.asarray(data)], training=True, key=KEY)
    np.testing.assert_array_equal(masks[0], np.any(data != 0, axis=-1))
    m.compile(SGD(0.1), "mse")
    m.fit(data, np.zeros((4, 5, 2), "float32"), epochs=2, verbose=0)
    np.testing.assert_array_equal(m.predict(data), m.predict(data))  # inference is deterministic


# ---- TimeDistributed --------------------------------------------------------------------------------------
def test_time_distributed_dense_equals_dense_per_step(fresh_session):
    x = np.random.default_rng(1).normal(size=(3, 4, 5)).astype("float32")
    inp = Input(shape=(4, 5))
    td = TimeDistributed(Dense(2, activation="tanh"))
    m = Model(inp, td(inp))
    assert m.output_shape == (None, 4, 2) and td.name == "time_distributed_1"
    kernel, bias = td.get_weights()
    want = np.stack([np.tanh(x[:, t] @ kernel + bias) for t in range(4)], axis=1)
    np.testing.assert_allclose(m.predict(x), want, rtol=1e-5, atol=1e-6)
    assert td.weight_names == ["dense_1/kernel", "dense_1/bias"] and td.count_params() == 12


def test_time_distributed_conv2d_on_frames(fresh_session):
    x = np.random.default_rng(2).normal(size=(2, 3, 6, 6, 1)).astype("float32")
    conv = Conv2D(4, 3, activation="relu")
    m = Sequential([Input(shape=(3, 6, 6, 1)), TimeDistributed(conv), TimeDistributed(Flatten())])
    assert m.output_shape == (None, 3, 4 * 4 * 4)
    y = m.predict(x)
    ref = Sequential([Input(shape=(6, 6, 1)), Conv2D(4, 3, activation="relu"), Flatten()])
    ref.set_weights(conv.get_weights())
    for t in range(3):
        np.testing.assert_allclose(y[:, t], ref.predict(x[:, t]), rtol=1e-5, atol=1e-5)


def test_time_distributed_model_with_a_nested_model(fresh_session, tmp_path):
    # the book's E7.1: a model applied to every step of a sequence, with a model nested inside it
    inner_in = Input(shape=(6,))
    core = Sequential([Input(shape=(6,)), Dense(5, activation="relu")], name="core")
    inner = Model(inner_in, Dense(3, activation="softmax")(core(inner_in)), name="per_step")
    seq = Input(shape=(4, 6))
    td = TimeDistributed(inner)
    m = Model(seq, td(seq))
    assert m.output_shape == (None, 4, 3)
    x = np.random.default_rng(3).normal(size=(2, 4, 6)).astype("float32")
    y = m.predict(x)
    for t in range(4):
        np.testing.assert_allclose(y[:, t], inner.predict(x[:, t]), rtol=1e-5, atol=1e-6)
    assert td.weight_names == ["per_step/core/dense_1/kernel", "per_step/core/dense_1/bias",
                               "per_step/dense_2/kernel", "per_step/dense_2/bias"]
    m.compile(SGD(0.5), "categorical_crossentropy")
    before = [w.copy() for w in m.get_weights()]
    m.fit(x, np.eye(3, dtype="float32")[np.zeros((2, 4), int)], epochs=2, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    m.save(tmp_path / "td_model.h5")
    loaded = load_model(tmp_path / "td_model.h5")
    np.testing.assert_allclose(loaded.predict(x), m.predict(x), rtol=1e-6)
    for a, b in zip(loaded.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    rebuilt = model_from_json(m.to_json())
    assert isinstance(rebuilt.layers[1].layer, Model) and rebuilt.output_shape == (None, 4, 3)


def test_time_distributed_passes_the_mask_to_the_loss(fresh_session):
    inp = Input(shape=(5, 2))
    m = Model(inp, TimeDistributed(Dense(3))(Masking(0.0)(inp)))
    m.compile("sgd", "mse")
    x = np.random.default_rng(4).normal(size=(3, 5, 2)).astype("float32")
    x[0, 3:] = 0.0
    x[2, 1:] = 0.0
    y = np.random.default_rng(5).normal(size=(3, 5, 3)).astype("float32")
    _, _, _, masks = m.run_graph(m.params, m.state, [jnp.asarray(x)])
    keep = np.any(x != 0, axis=-1)
    np.testing.assert_array_equal(masks[0], keep)
    per_step = ((m.predict(x) - y) ** 2).mean(-1)
    assert m.evaluate(x, y, verbose=0) == pytest.approx((per_step * keep).sum() / keep.sum(), rel=1e-5)


def test_time_distributed_threads_state_and_keys(fresh_session):
    bn = BatchNormalization(momentum=0.5)
    inp = Input(shape=(4, 3))
    m = Model(inp, TimeDistributed(bn)(inp))
    x = np.random.default_rng(6).normal(loc=2.0, size=(8, 4, 3)).astype("float32")
    m.compile(SGD(0.0), "mse")
    m.train_on_batch(x, np.zeros_like(x))
    np.testing.assert_allclose(bn.get_weights()[2], 0.5 * x.reshape(-1, 3).mean(0), rtol=1e-5)
    # a random inner layer draws from the key it is given
    td = TimeDistributed(GaussianNoise(1.0))
    a = td(jnp.zeros((2, 3, 4)), training=True, key=KEY)
    assert np.asarray(a).std() > 0.5 and np.array_equal(a, td(jnp.zeros((2, 3, 4)), training=True, key=KEY))
    with pytest.raises(ValueError, match="needs a random key"):
        td(jnp.zeros((2, 3, 4)), training=True)


def test_time_distributed_save_load_keeps_keras_weight_names(fresh_session, tmp_path):
    m = Sequential([Input(shape=(4, 5)), TimeDistributed(Dense(2)), TimeDistributed(Dense(3))])
    x = np.random.default_rng(7).normal(size=(2, 4, 5)).astype("float32")
    m.compile("adam", "mse")
    m.fit(x, np.ones((2, 4, 3), "float32"), epochs=1, verbose=0)
    m.save(tmp_path / "td.h5")
    with h5py.File(tmp_path / "td.h5") as f:
        names = [n.decode() for n in f["model_weights/time_distributed_2"].attrs["weight_names"]]
    assert names == ["time_distributed_2/dense_2/kernel:0", "time_distributed_2/dense_2/bias:0"]
    loaded = load_model(tmp_path / "td.h5")
    np.testing.assert_allclose(loaded.predict(x), m.predict(x), rtol=1e-6)
    for a, b in zip(loaded.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    config = m.layers[0].get_config()
    assert config["layer"]["class_name"] == "Dense" and config["layer"]["config"]["units"] == 2


def test_time_distributed_rebuilds_custom_inner_layers_with_custom_objects(fresh_session):
    class Twice(Dense):
        pass
    m = Sequential([Input(shape=(3, 2)), TimeDistributed(Twice(4))])
    rebuilt = model_from_json(m.to_json(), custom_objects={"Twice": Twice})
    assert type(rebuilt.layers[0].layer) is Twice
    with pytest.raises(ValueError, match="Unknown layer class 'Twice'"):
        model_from_json(m.to_json())


def test_time_distributed_bad_input_is_a_clear_error(fresh_session):
    with pytest.raises(ValueError, match=r"TimeDistributed 'td' expects input of rank >= 3 .*got shape \(None, 4\)"):
        TimeDistributed(Dense(2), name="td")(Input(shape=(4,)))
    with pytest.raises(TypeError, match="wraps a Layer or a Model"):
        TimeDistributed("dense")


def test_freezing_the_wrapper_freezes_the_inner_layer(fresh_session):
    td = TimeDistributed(BatchNormalization(), trainable=False)
    assert td.layer.trainable is False
    td.trainable = True
    assert td.layer.trainable is True


def test_a_frozen_inner_model_stays_frozen_inside_a_trainable_wrapper(fresh_session):
    """Keras 2: a frozen layer inside a wrapper is not trained, and summary counts it as non-trainable."""
    from arena.nn.layers import Dense, Input, TimeDistributed
    from arena.nn import Model, Sequential
    inner = Sequential([Dense(2, input_shape=(3,))], name="inner")
    inner.trainable = False
    x = Input(shape=(4, 3))
    m = Model(x, Dense(1)(TimeDistributed(inner)(x)))
    m.compile("sgd", "mse")
    before = inner.get_weights()
    m.fit(np.ones((2, 4, 3), "float32"), np.ones((2, 4, 1), "float32"), verbose=0)
    for a, b in zip(inner.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    lines = []
    m.summary(print_fn=lines.append)
    assert "Non-trainable params: 8" in lines
