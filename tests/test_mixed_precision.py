"""Dtype policies (``arena.nn.mixed_precision``): layers compute in 16 bits with float32 weights,
losses in float32; MNIST's MLP trains to the float32 accuracy; files keep float32 weights; float16
models get dynamic loss scaling, which skips overflowed steps and grows the scale again."""
import h5py
import jax.numpy as jnp
import numpy as np
import pytest

import arena
from arena.nn import (GRU, LSTM, Activation, BatchNormalization, Conv2D, Dense, Embedding, Flatten, Input, Model,
                      Sequential, load_model, mixed_precision, optimizers)
from arena.nn.layers.base import clear_session
from scripts import common


@pytest.fixture(autouse=True)
def _float32_after():
    yield
    mixed_precision.set_dtype_policy("float32")


def test_policies_name_their_dtypes():
    p = mixed_precision.DTypePolicy("mixed_float16")
    assert (p.compute_dtype, p.variable_dtype) == ("float16", "float32")
    p = mixed_precision.DTypePolicy("mixed_bfloat16")
    assert (p.compute_dtype, p.variable_dtype) == ("bfloat16", "float32")
    assert mixed_precision.DTypePolicy("float32").compute_dtype == "float32"
    assert mixed_precision.get({"class_name": "DTypePolicy", "config": {"name": "mixed_bfloat16"}}).name == \
        "mixed_bfloat16"
    with pytest.raises(ValueError, match="mixed_float8"):
        mixed_precision.DTypePolicy("mixed_float8")
    with pytest.raises(ValueError, match="neither a dtype nor a policy"):
        mixed_precision.DTypePolicy("fast")


@pytest.mark.parametrize("policy,dtype,tol", [("mixed_float16", jnp.float16, 2e-3), ("mixed_bfloat16", jnp.bfloat16, 2e-2)])
def test_layers_compute_in_16_bits_and_keep_float32_weights(policy, dtype, tol):
    x = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    clear_session()
    arena.set_seed(0)
    reference = Sequential([Input((8,)), Dense(16, activation="relu"), Dense(3)])
    mixed_precision.set_dtype_policy(policy)
    clear_session()
    arena.set_seed(0)
    # Keras' advice: the last activation in float32
    model = Sequential([Input((8,)), Dense(16, activation="relu"), Dense(3), Activation("linear", dtype="float32")])
    assert [l.dtype_policy.name for l in model.layers] == [policy, policy, "float32"]
    assert all(w.dtype == np.float32 for w in model.get_weights())
    model.set_weights(reference.get_weights())
    hidden = Model(model.inputs, model.layers[1].output)
    assert hidden.predict(x).dtype == dtype
    out = model.predict(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, reference.predict(x), rtol=tol, atol=tol)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_conv_batchnorm_and_recurrent_layers_train_under_a_mixed_policy(policy):
    mixed_precision.set_dtype_policy(policy)
    clear_session()
    arena.set_seed(0)
    rng = np.random.default_rng(0)
    images = Sequential([Input((8, 8, 1)), Conv2D(4, 3, activation="relu"), BatchNormalization(), Flatten(),
                         Dense(2, activation="softmax")])
    text = Sequential([Input((6,), dtype="int32"), Embedding(20, 8), LSTM(8, return_sequences=True), GRU(4),
                       Dense(2, activation="softmax")])
    for model, x in ((images, rng.normal(size=(32, 8, 8, 1)).astype("float32")), (text, rng.integers(0, 20, (32, 6)))):
        y = np.eye(2, dtype="float32")[rng.integers(0, 2, 32)]
        model.compile("adam", "categorical_crossentropy")
        before = model.evaluate(x, y, verbose=0)
        model.fit(x, y, batch_size=8, epochs=5, verbose=0)
        assert np.isfinite(model.evaluate(x, y, verbose=0)) and model.evaluate(x, y, verbose=0) < before
        assert all(w.dtype == np.float32 for w in model.get_weights())
    bn = images.layers[1]
    assert bn.state["moving_mean"].dtype == jnp.float32


def _mnist_accuracy(policy, x, y, xt, yt):
    mixed_precision.set_dtype_policy(policy)
    arena.set_seed(1671)
    clear_session()
    model = common.mlp(dropout=0.3)  # E1.3's network, with RMSprop (E1.4)
    model.compile(optimizers.RMSprop(), "categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=128, epochs=4, verbose=0)
    return 100 * model.evaluate(xt, yt, verbose=0)[1], model


def test_mnist_mlp_reaches_the_float32_accuracy_in_mixed_precision(tmp_path):
    (x, y), (xt, yt) = common.load_mnist(flat=True, limit=12000)
    base, _ = _mnist_accuracy("float32", x, y, xt, yt)
    assert base > 93.0
    for policy in ("mixed_bfloat16", "mixed_float16"):
        acc, model = _mnist_accuracy(policy, x, y, xt, yt)
        assert abs(acc - base) <= 0.3, (policy, acc, base)
        assert isinstance(model.optimizer, optimizers.LossScaleOptimizer) == (policy == "mixed_float16")
        # files keep float32 weights and the policy; the model comes back alike
        for name in ("m.h5", "m.keras"):
            path = str(tmp_path / f"{policy}-{name}")
            model.save(path)
            loaded = load_model(path)
            assert [l.dtype_policy.name for l in loaded.layers] == [l.dtype_policy.name for l in model.layers]
            np.testing.assert_array_equal(loaded.predict(xt[:50]), model.predict(xt[:50]))
            assert type(loaded.optimizer) is type(model.optimizer)
            if policy == "mixed_float16":  # the loss scale resumes where it was
                assert float(loaded._train_state.opt_state[1].scale) == float(model._train_state.opt_state[1].scale)
        with h5py.File(str(tmp_path / f"{policy}-m.h5"), "r") as f:
            dtypes = set()
            f["model_weights"].visititems(lambda n, o: dtypes.add(o.dtype) if isinstance(o, h5py.Dataset) else None)
            assert dtypes == {np.dtype("float32")}


def test_loss_scaling_skips_overflowed_steps_and_grows_the_scale():
    clear_session()
    arena.set_seed(0)
    model = Sequential([Input((4,)), Dense(1)])
    x, y = np.ones((8, 4), np.float32), np.full((8, 1), 3.0, np.float32)
    model.compile(optimizers.LossScaleOptimizer("sgd", initial_scale=2.0 ** 127, dynamic_growth_steps=2), "mse")
    before = model.get_weights()
    model.train_on_batch(x, y)  # loss * 2**127 overflows float32: the step is skipped, the scale halves
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    scale = model._train_state.opt_state[1]
    assert float(scale.scale) == 2.0 ** 126 and int(scale.good_steps) == 0
    model.compile(optimizers.LossScaleOptimizer("sgd", initial_scale=4.0, dynamic_growth_steps=2), "mse")
    losses = [model.train_on_batch(x, y) for _ in range(5)]
    assert losses[-1] < losses[0]
    scale = model._train_state.opt_state[1]
    assert float(scale.scale) == 16.0 and int(scale.good_steps) == 1  # doubled after steps 2 and 4
    # the same steps as plain SGD (a power-of-two scale is exact)
    clear_session()
    arena.set_seed(0)
    plain = Sequential([Input((4,)), Dense(1)])
    plain.compile("sgd", "mse")
    plain.set_weights(before)
    for _ in range(5):
        plain.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_loss_scale_optimizer_checks_its_settings():
    with pytest.raises(ValueError, match="initial_scale"):
        optimizers.LossScaleOptimizer("sgd", initial_scale=0.5)
    with pytest.raises(ValueError, match="dynamic_growth_steps"):
        optimizers.LossScaleOptimizer("sgd", dynamic_growth_steps=0)
    with pytest.raises(ValueError, match="already a LossScaleOptimizer"):
        optimizers.LossScaleOptimizer(optimizers.LossScaleOptimizer("sgd"))
    wrapped = optimizers.LossScaleOptimizer(optimizers.Adam(0.01))
    assert wrapped.learning_rate == 0.01  # the inner optimizer's settings show through
    again = optimizers.get({"class_name": "LossScaleOptimizer", "config": wrapped.get_config()})
    assert isinstance(again.inner_optimizer, optimizers.Adam) and again.initial_scale == 2.0 ** 15
