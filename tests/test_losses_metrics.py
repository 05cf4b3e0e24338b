"""Losses, metrics, activations and initializers against numpy references (Keras 2 semantics).

Losses map ``(y_true, y_pred)`` to one value per sample; probabilities are clipped to
[1e-7, 1 - 1e-7] (in float32, as Keras computes them). Metrics are per-sample too; the model
averages both over the batch. The 'accuracy' alias resolves from the loss and output shape as in
Keras, and its log key is the name the user wrote.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from arena import nn
from arena.nn import Dense, Sequential, activations, initializers, losses, metrics
from arena.nn.layers.base import clear_session

EPS = 1e-7
RTOL = dict(rtol=2e-5, atol=2e-6)


pytestmark = pytest.mark.usefixtures("fresh_session")


def rng(seed=0):
    return np.random.default_rng(seed)


def f32(a):
    return np.asarray(a, np.float32)


def clip_prob(p):
    """Keras' clip, done in float32 (1 - 1e-7 rounds to 0.99999988 there), then float64 math."""
    return np.clip(f32(p), np.float32(EPS), np.float32(1 - EPS)).astype(np.float64)


def np_softmax(z, axis=-1):
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, np.float64)))


# ---- numpy references of every loss ------------------------------------------------------------
def ref_mse(t, p):
    return np.mean((p - t) ** 2, axis=-1)


def ref_mae(t, p):
    return np.mean(np.abs(p - t), axis=-1)


def ref_mape(t, p):
    return 100.0 * np.mean(np.abs((t - p) / np.clip(np.abs(t), EPS, None)), axis=-1)


def ref_msle(t, p):
    return np.mean((np.log(np.clip(p, EPS, None) + 1) - np.log(np.clip(t, EPS, None) + 1)) ** 2, axis=-1)


def ref_bce(t, p):
    p = clip_prob(p)
    return -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p), axis=-1)


def ref_cce(t, p):
    p = np.asarray(p, np.float64)
    p = clip_prob(p / p.sum(axis=-1, keepdims=True))
    return -np.sum(t * np.log(p), axis=-1)


def ref_sparse_cce(labels, p):
    labels = np.asarray(labels).reshape(len(p)).astype(int)
    return ref_cce(np.eye(p.shape[-1])[labels], p)


def ref_hinge(t, p):
    return np.mean(np.maximum(1 - t * p, 0), axis=-1)


def ref_squared_hinge(t, p):
    return np.mean(np.maximum(1 - t * p, 0) ** 2, axis=-1)


def ref_huber(t, p, d=1.0):
    e = np.abs(p - t)
    return np.mean(np.where(e <= d, 0.5 * e ** 2, d * (e - 0.5 * d)), axis=-1)


def ref_kld(t, p):
    t, p = np.clip(t, EPS, 1), np.clip(p, EPS, 1)
    return np.sum(t * np.log(t / p), axis=-1)


def ref_cosine(t, p):
    tn = t / np.linalg.norm(t, axis=-1, keepdims=True)
    pn = p / np.linalg.norm(p, axis=-1, keepdims=True)
    return -np.sum(tn * pn, axis=-1)


def ref_logcosh(t, p):
    return np.mean(np.log(np.cosh(p - t)), axis=-1)


def ref_poisson(t, p):
    return np.mean(p - t * np.log(p + EPS), axis=-1)


def _regression_data():
    r = rng(1)
    t = r.normal(size=(6, 5))
    p = r.normal(size=(6, 5)) * 2
    return t, p


def _positive_data():
    r = rng(2)
    return r.uniform(0.1, 3, size=(6, 5)), r.uniform(0.1, 3, size=(6, 5))


def _prob_data():
    r = rng(3)
    t = np_softmax(r.normal(size=(6, 5)))
    p = np_softmax(r.normal(size=(6, 5)) * 2)
    return t, p


def _binary_data():
    r = rng(4)
    t = (r.uniform(size=(6, 5)) > 0.5).astype(np.float64)
    p = r.uniform(0.01, 0.99, size=(6, 5))
    p[0, :3] = [0.0, 1.0, 0.5]  # exercise the clip
    t[0, :2] = [0.0, 0.0]
    return t, p


def _onehot_data():
    r = rng(5)
    t = np.eye(5)[r.integers(0, 5, 6)]
    p = np_softmax(r.normal(size=(6, 5)) * 2)
    p[0] = [0.0, 0.0, 0.0, 0.0, 1.0]  # a zero probability on the true class: -log(1e-7) after the clip
    t[0] = [1, 0, 0, 0, 0]
    return t, p


def _pm1_data():
    r = rng(6)
    return np.where(r.uniform(size=(6, 5)) > 0.5, 1.0, -1.0), r.normal(size=(6, 5))


def _huber_data():
    r = rng(7)
    t = r.normal(size=(6, 5))
    return t, t + r.normal(size=(6, 5)) * 1.5  # errors on both sides of delta=1


REFS = {  # canonical function -> (numpy reference, data)
    losses.mean_squared_error: (ref_mse, _regression_data),
    losses.mean_absolute_error: (ref_mae, _regression_data),
    losses.mean_absolute_percentage_error: (ref_mape, _regression_data),
    losses.mean_squared_logarithmic_error: (ref_msle, _positive_data),
    losses.binary_crossentropy: (ref_bce, _binary_data),
    losses.categorical_crossentropy: (ref_cce, _onehot_data),
    losses.hinge: (ref_hinge, _pm1_data),
    losses.squared_hinge: (ref_squared_hinge, _pm1_data),
    losses.huber: (ref_huber, _huber_data),
    losses.kl_divergence: (ref_kld, _prob_data),
    losses.cosine_similarity: (ref_cosine, _regression_data),
    losses.logcosh: (ref_logcosh, _regression_data),
    losses.poisson: (ref_poisson, _positive_data),
}


@pytest.mark.parametrize("name", sorted(losses._ALL))
def test_every_loss_matches_numpy(name):
    fn = losses.get(name)
    assert fn is losses._ALL[name]
    if fn is losses.sparse_categorical_crossentropy:
        t, p = _onehot_data()
        labels = t.argmax(-1)
        got = np.asarray(fn(jnp.asarray(labels), jnp.asarray(f32(p))))
        np.testing.assert_allclose(got, ref_sparse_cce(labels, f32(p)), **RTOL)
        return
    assert fn in REFS, f"loss {name!r} has no numpy reference in this test"
    ref, data = REFS[fn]
    t, p = data()
    t, p = f32(t), f32(p)
    got = np.asarray(fn(jnp.asarray(t), jnp.asarray(p)))
    assert got.shape == (6,)  # one value per sample: the mean (or sum) over the last axis
    np.testing.assert_allclose(got, ref(t.astype(np.float64), p.astype(np.float64)), **RTOL)


def test_crossentropy_clip_gives_finite_log_eps():
    # A zero probability on the true class costs -log(1e-7), not infinity.
    cce = np.asarray(losses.categorical_crossentropy(jnp.array([[1.0, 0.0]]), jnp.array([[0.0, 1.0]])))
    np.testing.assert_allclose(cce, [-math.log(1e-7)], rtol=1e-5)
    bce = np.asarray(losses.binary_crossentropy(jnp.array([[1.0]]), jnp.array([[0.0]])))
    np.testing.assert_allclose(bce, [-math.log(1e-7)], rtol=1e-5)


def test_cce_normalises_unnormalised_predictions():
    # Keras divides y_pred by its sum over the last axis before the log.
    t = f32([[0, 1, 0]])
    p = f32([[1.0, 2.0, 1.0]])
    np.testing.assert_allclose(np.asarray(losses.categorical_crossentropy(t, p)), [-math.log(0.5)], rtol=1e-6)


def test_mse_is_mean_over_last_axis_only():
    t = np.zeros((2, 3, 4), np.float32)
    p = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    got = np.asarray(losses.mse(t, p))
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, np.mean(p.astype(np.float64) ** 2, axis=-1), rtol=1e-6)


@pytest.mark.parametrize("label_shape", ["(n,)", "(n,1)"])
def test_sparse_cce_label_shapes(label_shape):
    t, p = _onehot_data()
    labels = t.argmax(-1)
    y = labels if label_shape == "(n,)" else labels[:, None]
    got = np.asarray(losses.sparse_categorical_crossentropy(jnp.asarray(y.astype(np.float32)), jnp.asarray(f32(p))))
    assert got.shape == (6,)
    np.testing.assert_allclose(got, ref_sparse_cce(labels, f32(p)), **RTOL)
    # identical to the categorical loss on one-hot targets
    np.testing.assert_allclose(got, np.asarray(losses.categorical_crossentropy(f32(t), f32(p))), **RTOL)


def test_from_logits_variants():
    r = rng(8)
    z = r.normal(size=(7, 4)) * 3
    t_bin = (r.uniform(size=(7, 4)) > 0.5).astype(np.float64)
    labels = r.integers(0, 4, 7)
    onehot = np.eye(4)[labels]
    # BCE on logits: -(t log sigma(z) + (1-t) log(1 - sigma(z))), no clipping
    s = np_sigmoid(z)
    ref = -np.mean(t_bin * np.log(s) + (1 - t_bin) * np.log(1 - s), axis=-1)
    np.testing.assert_allclose(np.asarray(losses.binary_crossentropy(f32(t_bin), f32(z), from_logits=True)), ref,
                               **RTOL)
    # CCE / sparse CCE on logits: -log softmax(z)[label]
    ref = -np.log(np_softmax(z)[np.arange(7), labels])
    np.testing.assert_allclose(np.asarray(losses.categorical_crossentropy(f32(onehot), f32(z), from_logits=True)),
                               ref, **RTOL)
    for y in (labels, labels[:, None]):
        got = losses.sparse_categorical_crossentropy(jnp.asarray(y), f32(z), from_logits=True)
        np.testing.assert_allclose(np.asarray(got), ref, **RTOL)
    # from_logits on a huge logit stays finite (no overflow)
    big = losses.binary_crossentropy(f32([[1.0, 0.0]]), f32([[-200.0, 200.0]]), from_logits=True)
    np.testing.assert_allclose(np.asarray(big), [200.0], rtol=1e-6)


def test_loss_lookup():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("categorical_crossentropy") is losses.categorical_crossentropy
    custom = lambda t, p: jnp.sum(p - t, axis=-1)  # noqa: E731
    assert losses.get(custom) is custom
    with pytest.raises(ValueError, match=r"Unknown loss 'mean_squared_eror'.*mean_squared_error"):
        losses.get("mean_squared_eror")


# ---- metrics -----------------------------------------------------------------------------------
def test_binary_accuracy_matches_numpy():
    r = rng(9)
    t = (r.uniform(size=(8, 3)) > 0.5).astype(np.float32)
    p = r.uniform(size=(8, 3)).astype(np.float32)
    p[0] = [0.5, 0.51, 0.49]  # 0.5 counts as 0 (round-half-to-even / strict threshold)
    got = np.asarray(metrics.binary_accuracy(t, p))
    np.testing.assert_allclose(got, np.mean(t == (p > 0.5), axis=-1), rtol=1e-6)


def test_categorical_and_sparse_accuracy_match_numpy():
    r = rng(10)
    p = r.uniform(size=(12, 5)).astype(np.float32)
    labels = r.integers(0, 5, 12)
    labels[:4] = p[:4].argmax(-1)  # some right, some wrong
    expected = (p.argmax(-1) == labels).astype(np.float32)
    assert 0 < expected.mean() < 1
    np.testing.assert_array_equal(np.asarray(metrics.categorical_accuracy(np.eye(5)[labels], p)), expected)
    np.testing.assert_array_equal(np.asarray(metrics.sparse_categorical_accuracy(labels, p)), expected)
    np.testing.assert_array_equal(np.asarray(metrics.sparse_categorical_accuracy(labels[:, None], p)), expected)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_accuracy_matches_numpy(k):
    r = rng(11)
    p = r.uniform(size=(20, 6)).astype(np.float32)  # no ties
    labels = r.integers(0, 6, 20)
    top = np.argsort(-p, axis=-1)[:, :k]
    expected = np.array([labels[i] in top[i] for i in range(20)], np.float32)
    np.testing.assert_array_equal(np.asarray(metrics.top_k_categorical_accuracy(np.eye(6)[labels], p, k=k)),
                                  expected)
    np.testing.assert_array_equal(np.asarray(metrics.sparse_top_k_categorical_accuracy(labels, p, k=k)), expected)


def test_top_k_default_is_5():
    p = np.tile(np.arange(8, dtype=np.float32), (2, 1))  # class 7 best, class 0 worst
    t = np.eye(8, dtype=np.float32)[[3, 2]]  # rank 5 -> in, rank 6 -> out
    np.testing.assert_array_equal(np.asarray(metrics.top_k_categorical_accuracy(t, p)), [1.0, 0.0])


def _resolved(loss, units, metric="accuracy"):
    clear_session()
    model = Sequential([Dense(units, activation="sigmoid", input_shape=(3,))])
    model.compile("sgd", loss=loss, metrics=[metric])
    (name, _, fn), = model._metrics
    return name, fn


def test_accuracy_resolution_follows_keras():
    assert _resolved("binary_crossentropy", 4)[1] is metrics.binary_accuracy   # multi-label BCE -> binary
    assert _resolved("sparse_categorical_crossentropy", 4)[1] is metrics.sparse_categorical_accuracy
    assert _resolved("categorical_crossentropy", 4)[1] is metrics.categorical_accuracy
    assert _resolved("mse", 1)[1] is metrics.binary_accuracy                   # single unit -> binary
    assert _resolved("mse", 4)[1] is metrics.categorical_accuracy
    assert _resolved(losses.binary_crossentropy, 4, "acc")[1] is metrics.binary_accuracy  # loss as a callable


def test_accuracy_log_key_is_the_name_written():
    r = rng(12)
    x = r.normal(size=(16, 3)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[r.integers(0, 4, 16)]
    for written in ("acc", "accuracy"):
        clear_session()
        model = Sequential([Dense(4, activation="softmax", input_shape=(3,))])
        model.compile("sgd", loss="categorical_crossentropy", metrics=[written])
        assert model.metrics_names == ["loss", written]
        hist = model.fit(x, y, epochs=1, batch_size=16, verbose=0, validation_data=(x, y))
        assert set(hist.history) == {"loss", written, "val_loss", f"val_{written}"}


def test_model_accuracy_equals_numpy_on_predictions():
    r = rng(13)
    x = r.normal(size=(40, 3)).astype(np.float32)
    labels = r.integers(0, 4, 40)
    for loss, y in (("categorical_crossentropy", np.eye(4, dtype=np.float32)[labels]),
                    ("sparse_categorical_crossentropy", labels),
                    ("sparse_categorical_crossentropy", labels[:, None])):
        clear_session()
        model = Sequential([Dense(4, activation="softmax", input_shape=(3,))])
        model.compile("sgd", loss=loss, metrics=["accuracy", "top_k_categorical_accuracy"]
                      if loss == "categorical_crossentropy" else ["accuracy"])
        p = model.predict(x)
        out = model.evaluate(x, y, batch_size=16, verbose=0)
        np.testing.assert_allclose(out[0], np.mean(ref_sparse_cce(labels, p)), rtol=1e-5)
        np.testing.assert_allclose(out[1], np.mean(p.argmax(-1) == labels), rtol=1e-6)
    # binary: one sigmoid unit, accuracy thresholds at 0.5
    clear_session()
    yb = (r.uniform(size=(40, 1)) > 0.5).astype(np.float32)
    model = Sequential([Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile("sgd", loss="binary_crossentropy", metrics=["acc"])
    p = model.predict(x)
    loss, acc = model.evaluate(x, yb, verbose=0)
    np.testing.assert_allclose(loss, np.mean(ref_bce(yb, p)), rtol=1e-5)
    np.testing.assert_allclose(acc, np.mean(yb == (p > 0.5)), rtol=1e-6)


def test_metric_lookup_errors_and_loss_names():
    assert metrics.get("mse")[1] is losses.mean_squared_error
    assert metrics.get("categorical_accuracy") == ("categorical_accuracy", metrics.categorical_accuracy)
    with pytest.raises(ValueError, match=r"Unknown metric 'accuracyy'"):
        metrics.get("accuracyy")
    model = Sequential([Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match=r"Unknown metric 'f1_score'"):
        model.compile("sgd", loss="mse", metrics=["f1_score"])


# ---- activations -------------------------------------------------------------------------------
X = np.linspace(-6, 6, 49).astype(np.float32)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _erf(v):
    return np.vectorize(math.erf)(v)


ACT_REFS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": np_sigmoid,
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    "tanh": np.tanh,
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1)),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.3 * x),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
    "swish": lambda x: x * np_sigmoid(x),
    "exponential": np.exp,
}


@pytest.mark.parametrize("name", sorted(ACT_REFS))
def test_activation_matches_numpy(name):
    fn = activations.get(name)
    np.testing.assert_allclose(np.asarray(fn(jnp.asarray(X))), ACT_REFS[name](X.astype(np.float64)),
                               rtol=1e-5, atol=1e-6)


def test_every_activation_has_a_reference():
    assert set(activations._ALL) <= set(ACT_REFS) | {"softmax"}


def test_hard_sigmoid_saturates_at_2_5():
    out = np.asarray(activations.hard_sigmoid(jnp.array([-2.5, -2.6, 0.0, 2.5, 3.0])))
    np.testing.assert_allclose(out, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-7)


def test_softmax_rows_sum_to_one_and_match_numpy():
    z = rng(14).normal(size=(5, 7)).astype(np.float32) * 10
    out = np.asarray(activations.softmax(jnp.asarray(z)))
    np.testing.assert_allclose(out.sum(-1), np.ones(5), rtol=1e-6)
    np.testing.assert_allclose(out, np_softmax(z), rtol=1e-5, atol=1e-7)
    # on a Dense layer and on huge logits (no overflow)
    layer = Dense(7, activation="softmax")
    y = np.asarray(layer(z))
    np.testing.assert_allclose(y.sum(-1), np.ones(5), rtol=1e-6)
    big = np.asarray(activations.softmax(jnp.array([[1000.0, 0.0]])))
    np.testing.assert_allclose(big, [[1.0, 0.0]], atol=1e-7)


def test_relu_options_elu_alpha_and_leaky_layer():
    x = jnp.asarray(X)
    np.testing.assert_allclose(np.asarray(activations.relu(x, alpha=0.1, max_value=2.0)),
                               np.minimum(np.where(X > 0, X, 0.1 * X), 2.0), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(activations.elu(x, alpha=0.5)), np.where(X > 0, X, 0.5 * np.expm1(X)),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.asarray(nn.LeakyReLU(alpha=0.1)(X[None])), np.where(X >= 0, X, 0.1 * X)[None],
                               rtol=1e-6)
    np.testing.assert_allclose(np.asarray(nn.Activation("softsign")(X[None])), (X / (1 + np.abs(X)))[None],
                               rtol=1e-6)


def test_unknown_activation_is_a_clear_error():
    with pytest.raises(ValueError, match=r"Unknown activation 'relu6x'.*'relu'"):
        activations.get("relu6x")
    with pytest.raises(ValueError, match=r"Unknown activation 'sigmoidd'"):
        Dense(3, activation="sigmoidd")


# ---- initializers ------------------------------------------------------------------------------
KEY = jax.random.PRNGKey(0)
DENSE_SHAPE = (300, 200)       # fan_in 300, fan_out 200
CONV_SHAPE = (3, 3, 32, 64)    # receptive field 9: fan_in 288, fan_out 576


def fans(shape):
    rf = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * rf, shape[-1] * rf


def draw(name, shape, seed=0):
    init = initializers.get(name)
    w = np.asarray(init(jax.random.PRNGKey(seed), shape, jnp.float32), np.float64)
    assert w.shape == shape and w.dtype == np.float64
    return w


@pytest.mark.parametrize("shape", [DENSE_SHAPE, CONV_SHAPE])
@pytest.mark.parametrize("name,scale,mode", [("glorot_uniform", 1.0, "avg"), ("he_uniform", 2.0, "in"),
                                             ("lecun_uniform", 1.0, "in")])
def test_uniform_variance_scaling_limits(name, scale, mode, shape):
    fi, fo = fans(shape)
    n = {"in": fi, "avg": (fi + fo) / 2}[mode]
    limit = math.sqrt(3 * scale / n)  # glorot: sqrt(6 / (fan_in + fan_out)); he: sqrt(6 / fan_in)
    w = draw(name, shape)
    assert np.abs(w).max() <= limit * (1 + 1e-6)
    assert np.abs(w).max() > 0.99 * limit  # fills the range
    np.testing.assert_allclose(w.std(), limit / math.sqrt(3), rtol=0.03)
    assert abs(w.mean()) < 0.02 * limit


@pytest.mark.parametrize("shape", [DENSE_SHAPE, CONV_SHAPE])
@pytest.mark.parametrize("name,scale,mode", [("glorot_normal", 1.0, "avg"), ("he_normal", 2.0, "in"),
                                             ("lecun_normal", 1.0, "in")])
def test_normal_variance_scaling_std(name, scale, mode, shape):
    fi, fo = fans(shape)
    n = {"in": fi, "avg": (fi + fo) / 2}[mode]
    std = math.sqrt(scale / n)
    w = draw(name, shape)
    np.testing.assert_allclose(w.std(), std, rtol=0.03)
    # truncated at two standard deviations of the underlying normal (std / 0.8796...)
    assert np.abs(w).max() <= 2 * std / 0.87962566103423978 * (1 + 1e-5)
    assert abs(w.mean()) < 0.02 * std


def test_normal_is_random_normal_0_05_and_uniform_is_0_05():
    w = draw("normal", DENSE_SHAPE)
    np.testing.assert_allclose(w.std(), 0.05, rtol=0.02)
    assert abs(w.mean()) < 0.001
    assert np.abs(w).max() > 0.15  # untruncated: 3-sigma values occur among 60,000 draws
    u = draw("uniform", DENSE_SHAPE)
    assert u.min() >= -0.05 and u.max() <= 0.05 and u.max() > 0.049
    layer = Dense(200, kernel_initializer="normal")
    layer._ensure_built((None, 300))
    np.testing.assert_allclose(np.asarray(layer.params["kernel"]).std(), 0.05, rtol=0.02)


@pytest.mark.parametrize("shape", [(8, 8), (10, 4), (4, 10), (3, 3, 4, 6)])
def test_orthogonal_is_orthogonal(shape):
    w = draw("orthogonal", shape).reshape(-1, shape[-1])
    rows, cols = w.shape
    if rows >= cols:
        np.testing.assert_allclose(w.T @ w, np.eye(cols), atol=1e-5)
    else:
        np.testing.assert_allclose(w @ w.T, np.eye(rows), atol=1e-5)
    g = np.asarray(initializers.Orthogonal(gain=2.0)(KEY, (6, 6)), np.float64)
    np.testing.assert_allclose(g.T @ g, 4 * np.eye(6), atol=1e-4)


def test_constant_initializers_and_defaults():
    np.testing.assert_array_equal(draw("zeros", (3, 2)), np.zeros((3, 2)))
    np.testing.assert_array_equal(draw("ones", (3, 2)), np.ones((3, 2)))
    np.testing.assert_array_equal(draw("identity", (3, 3)), np.eye(3))
    np.testing.assert_array_equal(np.asarray(initializers.Constant(0.7)(KEY, (2,))), np.float32([0.7, 0.7]))
    layer = Dense(5)
    layer._ensure_built((None, 4))
    assert layer.params["kernel"].shape == (4, 5) and layer.params["bias"].shape == (5,)
    np.testing.assert_array_equal(np.asarray(layer.params["bias"]), np.zeros(5))  # default bias: zeros
    assert isinstance(layer.kernel_initializer, initializers.GlorotUniform)  # default kernel: glorot_uniform


def test_initializer_seed_and_config_round_trip():
    a = initializers.GlorotUniform(seed=3)(KEY, (4, 5))
    b = initializers.GlorotUniform(seed=3)(jax.random.PRNGKey(99), (4, 5))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))  # the seed wins over the key
    init = initializers.VarianceScaling(scale=2.0, mode="fan_out", distribution="uniform")
    again = initializers.get(initializers.serialize(init))
    assert isinstance(again, initializers.VarianceScaling)
    assert (again.scale, again.mode, again.distribution) == (2.0, "fan_out", "uniform")
    w = np.asarray(again(KEY, CONV_SHAPE))
    assert np.abs(w).max() <= math.sqrt(3 * 2.0 / fans(CONV_SHAPE)[1]) * (1 + 1e-6)


def test_unknown_initializer_is_a_clear_error():
    with pytest.raises(ValueError, match=r"Unknown initializer 'glorot_uniformm'.*glorot_uniform"):
        initializers.get("glorot_uniformm")
    with pytest.raises(ValueError, match=r"Unknown initializer 'xavier'"):
        Dense(3, kernel_initializer="xavier")
