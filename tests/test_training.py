"""fit / evaluate / predict and the batch methods, checked against numpy on tiny models.

Most checks use a linear model with a learning rate of 0 (so the weights, and hence every
per-sample loss, are known in numpy) or a few SGD steps computed by hand.
"""
import numpy as np
import pytest

import arena
from arena import nn
from arena.callbacks.base import LambdaCallback
from arena.nn import (BatchNormalization, Dense, Dropout, Input, Model, Sequential, constraints, optimizers,
                      regularizers)
from arena.nn.layers.base import clear_session


pytestmark = pytest.mark.usefixtures("fresh_session")


def rng(seed=0):
    return np.random.default_rng(seed)


def linear(n_in=3, n_out=1, activation=None, lr=0.0, loss="mse", metrics=None, seed=1, **compile_kw):
    """A Dense model with known weights (returned as float64 numpy) and SGD(lr)."""
    model = Sequential([Dense(n_out, activation=activation, input_shape=(n_in,), kernel_initializer="zeros")])
    model.compile(optimizer=optimizers.SGD(learning_rate=lr), loss=loss, metrics=metrics, **compile_kw)
    r = rng(seed)
    w = [r.normal(size=(n_in, n_out)).astype(np.float32), r.normal(size=(n_out,)).astype(np.float32)]
    model.set_weights(w)
    return model, [a.astype(np.float64) for a in w]


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def bce(y, p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p), axis=-1)


def weighted(l, w):
    """Keras' reduction of per-sample losses with sample weights: mean(l * w) / mean(w != 0)."""
    return np.mean(l * w) / np.mean(w != 0)


def weights_of(model):
    return [w.copy() for w in model.get_weights()]


# ---- errors --------------------------------------------------------------------------------------
def test_fit_before_compile_is_a_clear_error():
    model = Sequential([Dense(1, input_shape=(3,))])
    x, y = np.zeros((4, 3), np.float32), np.zeros((4, 1), np.float32)
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.evaluate(x, y, verbose=0),
                 lambda: model.train_on_batch(x, y)):
        with pytest.raises(RuntimeError, match=r"Model 'sequential_1' must be compiled before .*model\.compile"):
            call()
    assert model.predict(x).shape == (4, 1)  # predict needs no compile


def test_image_into_flat_model_names_model_shapes_and_fix():
    model = Sequential([Dense(10, activation="softmax", input_shape=(784,), kernel_initializer="zeros")])
    model.compile("sgd", "categorical_crossentropy")
    x = np.zeros((32, 28, 28), np.float32)
    y = np.eye(10, dtype=np.float32)[np.zeros(32, int)]
    with pytest.raises(ValueError) as err:
        model.fit(x, y, verbose=0)
    msg = str(err.value)
    for part in ("sequential_1", "dense_1_input", "(None, 784)", "(32, 28, 28)", "Flatten", "Reshape"):
        assert part in msg, (part, msg)
    with pytest.raises(ValueError, match=r"\(None, 784\).*\(32, 28, 28\).*Flatten"):
        model.predict(x)


@pytest.mark.parametrize("on_device", [False, True])
@pytest.mark.parametrize("shape", [(32,), (32, 1)])
def test_integer_labels_into_categorical_model_suggest_the_fix(shape, on_device):
    import jax

    model = Sequential([Dense(10, activation="softmax", input_shape=(4,))])
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    labels = rng().integers(0, 10, 32).reshape(shape)
    if on_device:  # JAX arrays get the same checks and the same hint
        labels = jax.device_put(labels)
    with pytest.raises(ValueError) as err:
        model.fit(np.zeros((32, 4), np.float32), labels, verbose=0)
    msg = str(err.value)
    for part in ("(None, 10)", str(shape), "to_categorical", "sparse_categorical_crossentropy"):
        assert part in msg, (part, msg)


def test_sample_count_mismatch_is_a_clear_error():
    model = Sequential([Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile("sgd", "binary_crossentropy")
    x = np.zeros((32, 3), np.float32)
    y = np.zeros((30, 1), np.float32)
    for kw in ({}, {"class_weight": {0: 1.0, 1: 2.0}}, {"sample_weight": np.ones(32)}):
        with pytest.raises(ValueError, match=r"same number of samples.*\[32, 30\]"):
            model.fit(x, y, verbose=0, **kw)
    with pytest.raises(ValueError, match=r"same number of samples"):
        model.evaluate(x, y, verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(32,\); got \(31,\)"):
        model.fit(x, np.zeros((32, 1)), sample_weight=np.ones(31), verbose=0)


def test_unknown_loss_in_compile_is_a_clear_error():
    model = Sequential([Dense(1, input_shape=(3,))])
    with pytest.raises(ValueError, match=r"Unknown loss 'mean_square_error'"):
        model.compile("sgd", loss="mean_square_error")
    with pytest.raises(ValueError, match=r"needs a loss"):
        model.compile("sgd")


def test_wrong_number_of_inputs_to_predict():
    a, b = Input(shape=(2,), name="a"), Input(shape=(3,), name="b")
    out = Dense(1)(nn.concatenate([a, b]))
    model = Model([a, b], out, name="two_in")
    with pytest.raises(ValueError, match=r"Model 'two_in' expects 2 input array\(s\) \['a', 'b'\]; got 1"):
        model.predict(np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"expects 2 input array\(s\).*got 3"):
        model.predict([np.zeros((4, 2)), np.zeros((4, 3)), np.zeros((4, 3))])
    with pytest.raises(ValueError, match=r"input 'b' expects arrays of shape \(None, 3\).*got \(4, 2\)"):
        model.predict([np.zeros((4, 2)), np.zeros((4, 2))])
    assert model.predict({"a": np.zeros((4, 2)), "b": np.zeros((4, 3))}).shape == (4, 1)


# ---- regularizers and constraints ----------------------------------------------------------------
def test_regularizers_add_penalties_to_the_loss_and_gradient():
    r = rng(2)
    x = r.normal(size=(6, 3)).astype(np.float32)
    y = r.normal(size=(6, 2)).astype(np.float32)
    model = Sequential([Dense(2, input_shape=(3,), kernel_regularizer=regularizers.l2(0.01),
                              bias_regularizer=regularizers.l1(0.02))])
    model.compile(optimizers.SGD(learning_rate=0.1), "mse")
    W0 = r.normal(size=(3, 2)).astype(np.float32)
    b0 = np.float32([0.5, -0.25])
    model.set_weights([W0, b0])
    W, b = W0.astype(np.float64), b0.astype(np.float64)
    pred = x @ W + b
    data_loss = np.mean((pred - y) ** 2)
    penalty = 0.01 * np.sum(W ** 2) + 0.02 * np.sum(np.abs(b))
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), data_loss + penalty, rtol=1e-5)
    np.testing.assert_allclose(model.test_on_batch(x, y), data_loss + penalty, rtol=1e-5)
    loss = model.train_on_batch(x, y)
    np.testing.assert_allclose(loss, data_loss + penalty, rtol=1e-5)  # the loss before this step
    g = 2 * (pred - y) / y.size
    W1 = W - 0.1 * (x.T @ g + 2 * 0.01 * W)
    b1 = b - 0.1 * (g.sum(0) + 0.02 * np.sign(b))
    np.testing.assert_allclose(model.get_weights()[0], W1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b1, rtol=1e-5, atol=1e-6)


def test_l1_l2_regularizer_and_fit_loss_includes_penalty():
    x = rng(3).normal(size=(8, 3)).astype(np.float32)
    y = rng(4).normal(size=(8, 1)).astype(np.float32)
    model = Sequential([Dense(1, input_shape=(3,), kernel_regularizer=regularizers.l1_l2(l1=0.1, l2=0.2))])
    model.compile(optimizers.SGD(learning_rate=0.0), "mse")
    W = np.float32([[1.0], [-2.0], [0.5]])
    model.set_weights([W, np.zeros(1, np.float32)])
    data = np.mean((x @ W - y) ** 2)
    penalty = 0.1 * 3.5 + 0.2 * 5.25
    hist = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    np.testing.assert_allclose(hist.history["loss"], [data + penalty] * 2, rtol=1e-5)


def test_constraints_hold_after_every_update():
    r = rng(5)
    x = (r.normal(size=(32, 4)) * 5).astype(np.float32)
    y = (r.normal(size=(32, 3)) * 5).astype(np.float32)
    model = Sequential([
        Dense(6, input_shape=(4,), kernel_constraint=constraints.max_norm(0.5), bias_constraint="non_neg"),
        Dense(3, kernel_constraint=constraints.unit_norm()),
    ])
    model.compile(optimizers.SGD(learning_rate=0.5), "mse")
    first, second = model.layers
    checked = []

    def check(batch, logs):
        k1, b1 = first.get_weights()
        k2 = second.get_weights()[0]
        assert np.all(np.linalg.norm(k1, axis=0) <= 0.5 + 1e-5)
        assert np.all(b1 >= 0)
        np.testing.assert_allclose(np.linalg.norm(k2, axis=0), np.ones(3), rtol=1e-5)
        checked.append(batch)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[LambdaCallback(on_batch_end=check)])
    assert len(checked) == 8
    k1 = first.get_weights()[0]
    assert np.linalg.norm(k1, axis=0).max() > 0.45  # the constraint was active, not vacuous


def test_max_norm_is_applied_to_the_updated_weights():
    r = rng(6)
    x = (r.normal(size=(4, 3)) * 3).astype(np.float32)
    y = (r.normal(size=(4, 2)) * 3).astype(np.float32)
    model = Sequential([Dense(2, input_shape=(3,), kernel_constraint=constraints.MaxNorm(1.0))])
    model.compile(optimizers.SGD(learning_rate=0.3), "mse")
    W = np.float32([[0.3, 0.1], [0.2, -0.4], [0.1, 0.2]])
    b = np.float32([0.0, 0.0])
    model.set_weights([W, b])
    model.train_on_batch(x, y)
    g = 2 * (x @ W + b - y) / y.size
    W1 = W - 0.3 * (x.T @ g)
    norms = np.linalg.norm(W1, axis=0, keepdims=True)
    assert norms.max() > 1.0
    expected = W1 * np.clip(norms, 0, 1.0) / (norms + 1e-7)
    np.testing.assert_allclose(model.get_weights()[0], expected, rtol=1e-5, atol=1e-6)


# ---- fit: validation, history, epoch averages ------------------------------------------------------
def test_validation_split_takes_the_last_rows_before_shuffling():
    n = 10
    x = np.ones((n, 1), np.float32)
    y = np.arange(n, dtype=np.float32)[:, None]
    model = Sequential([Dense(1, input_shape=(1,), kernel_initializer="zeros")])
    model.compile(optimizers.SGD(learning_rate=0.0), "mse")
    steps = []
    hist = model.fit(x, y, batch_size=3, epochs=2, validation_split=0.2, shuffle=True, verbose=0,
                     callbacks=[LambdaCallback(on_batch_end=lambda b, logs: steps.append(b))])
    # the model predicts 0: training rows are y = 0..7, validation rows y = 8, 9
    np.testing.assert_allclose(hist.history["loss"], [np.mean(np.arange(8) ** 2)] * 2, rtol=1e-6)
    np.testing.assert_allclose(hist.history["val_loss"], [(64 + 81) / 2] * 2, rtol=1e-6)
    assert steps == [0, 1, 2] * 2  # 8 training rows in batches of 3
    assert hist.params["samples"] == 8


def test_validation_data_and_history_keys():
    r = rng(7)
    x = r.normal(size=(40, 3)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    xv = r.normal(size=(8, 3)).astype(np.float32)
    yv = (xv[:, :1] > 0).astype(np.float32)
    model = Sequential([Dense(4, activation="tanh", input_shape=(3,)), Dense(1, activation="sigmoid")])
    model.compile(optimizers.SGD(learning_rate=0.5), "binary_crossentropy", metrics=["acc"])
    hist = model.fit(x, y, batch_size=8, epochs=3, validation_data=(xv, yv), verbose=0)
    assert model.history is hist
    assert hist.epoch == [0, 1, 2]
    assert set(hist.history) == {"loss", "acc", "val_loss", "val_acc"}
    assert all(len(v) == 3 for v in hist.history.values())
    assert all(isinstance(v, float) for vs in hist.history.values() for v in vs)
    val_loss, val_acc = model.evaluate(xv, yv, batch_size=8, verbose=0)
    np.testing.assert_allclose(hist.history["val_loss"][-1], val_loss, rtol=1e-5)
    np.testing.assert_allclose(hist.history["val_acc"][-1], val_acc, rtol=1e-6)
    p = model.predict(xv)
    np.testing.assert_allclose(val_loss, np.mean(bce(yv, p)), rtol=1e-5)
    np.testing.assert_allclose(val_acc, np.mean((p > 0.5) == yv), rtol=1e-6)
    # validation_data with sample weights: val_loss is the weighted mean
    w = np.linspace(0, 2, 8).astype(np.float32)
    hist = model.fit(x, y, batch_size=8, epochs=1, verbose=0, validation_data=(xv, yv, w))
    np.testing.assert_allclose(hist.history["val_loss"][0], weighted(bce(yv, model.predict(xv)), w), rtol=1e-5)


def test_epoch_loss_is_the_sample_weighted_mean_of_batch_losses():
    r = rng(8)
    n, bs = 10, 4
    x = r.normal(size=(n, 3)).astype(np.float32)
    y = r.normal(size=(n, 1)).astype(np.float32)
    sw = np.float32([1, 0, 2, 0.5, 0, 0, 3, 1, 1, 0])
    model, (W, b) = linear(lr=0.0)
    per_sample = ((x @ W + b - y) ** 2)[:, 0]
    batch_losses = [weighted(per_sample[i:i + bs], sw[i:i + bs]) for i in range(0, n, bs)]
    sizes = [4, 4, 2]
    expected = sum(s * l for s, l in zip(sizes, batch_losses)) / n
    assert abs(expected - weighted(per_sample, sw)) > 1e-3  # batches matter: the check discriminates
    hist = model.fit(x, y, batch_size=bs, epochs=2, shuffle=False, sample_weight=sw, verbose=0)
    np.testing.assert_allclose(hist.history["loss"], [expected] * 2, rtol=1e-5)
    # no weights: the plain mean over samples
    hist = model.fit(x, y, batch_size=bs, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(hist.history["loss"], [per_sample.mean()], rtol=1e-5)
    # evaluate in one batch weights as Keras does
    np.testing.assert_allclose(model.evaluate(x, y, sample_weight=sw, batch_size=n, verbose=0),
                               weighted(per_sample, sw), rtol=1e-5)


def test_class_weight_and_sample_weight():
    r = rng(9)
    x = r.normal(size=(12, 3)).astype(np.float32)
    yb = np.float32([0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1])[:, None]
    model, (W, b) = linear(activation="sigmoid", lr=0.0, loss="binary_crossentropy")
    l = bce(yb, sigmoid(x @ W + b))
    cw = {0: 1.0, 1: 3.0}
    w_cls = np.where(yb[:, 0] == 1, 3.0, 1.0)
    np.testing.assert_allclose(model.train_on_batch(x, yb), np.mean(l), rtol=1e-5)
    np.testing.assert_allclose(model.train_on_batch(x, yb, class_weight=cw), weighted(l, w_cls), rtol=1e-5)
    sw = np.linspace(0, 1, 12).astype(np.float32)
    np.testing.assert_allclose(model.train_on_batch(x, yb, sample_weight=sw), weighted(l, sw), rtol=1e-5)
    np.testing.assert_allclose(model.train_on_batch(x, yb, sample_weight=sw, class_weight=cw),
                               weighted(l, sw * w_cls), rtol=1e-5)
    # a class weighted 0 drops out of the denominator too
    cw0 = {0: 0.0, 1: 1.0}
    np.testing.assert_allclose(model.train_on_batch(x, yb, class_weight=cw0), np.mean(l[yb[:, 0] == 1]), rtol=1e-5)
    hist = model.fit(x, yb, batch_size=12, class_weight=cw, verbose=0)
    np.testing.assert_allclose(hist.history["loss"], [weighted(l, w_cls)], rtol=1e-5)


def test_epoch_logs_after_train_on_batch_average_the_epoch_only():
    r = rng(20)
    x = r.normal(size=(8, 3)).astype(np.float32)
    y = r.normal(size=(8, 1)).astype(np.float32)
    model, (W, b) = linear(lr=0.0)
    model.train_on_batch(x * 10, y)  # a very different loss, left in the running sums
    hist = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    np.testing.assert_allclose(hist.history["loss"], [np.mean((x @ W + b - y) ** 2)], rtol=1e-5)


def test_class_weight_with_one_hot_and_sparse_targets():
    r = rng(10)
    x = r.normal(size=(9, 3)).astype(np.float32)
    labels = np.array([0, 1, 2, 2, 1, 0, 2, 2, 1])
    cw = {0: 0.5, 1: 2.0, 2: 1.0}
    w = np.array([cw[c] for c in labels])
    for loss, y in (("categorical_crossentropy", np.eye(3, dtype=np.float32)[labels]),
                    ("sparse_categorical_crossentropy", labels[:, None])):
        clear_session()
        model, (W, b) = linear(n_out=3, activation="softmax", lr=0.0, loss=loss)
        z = x @ W + b
        p = np.exp(z - z.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        l = -np.log(p[np.arange(9), labels])
        np.testing.assert_allclose(model.train_on_batch(x, y, class_weight=cw), weighted(l, w), rtol=1e-5)


def test_multi_output_losses_weights_and_dict_targets():
    r = rng(11)
    inp = Input(shape=(4,), name="x")
    hidden = Dense(5, activation="tanh", name="hidden")(inp)
    out_a = Dense(3, name="a")(hidden)
    out_b = Dense(2, activation="softmax", name="b")(hidden)
    model = Model(inp, [out_a, out_b], name="two_out")
    model.compile(optimizers.SGD(learning_rate=0.0), loss={"a": "mse", "b": "categorical_crossentropy"},
                  loss_weights={"a": 0.3, "b": 2.0}, metrics={"b": ["acc"]})
    assert model.metrics_names == ["loss", "a_loss", "b_loss", "b_acc"]
    x = r.normal(size=(16, 4)).astype(np.float32)
    ya = r.normal(size=(16, 3)).astype(np.float32)
    yb = np.eye(2, dtype=np.float32)[r.integers(0, 2, 16)]
    pa, pb = model.predict(x)
    la = np.mean((pa - ya) ** 2)
    lb = np.mean(-np.log(np.clip(np.sum(yb * pb, -1), 1e-7, 1)))
    acc = np.mean(pb.argmax(-1) == yb.argmax(-1))
    expected = [0.3 * la + 2.0 * lb, la, lb, acc]
    np.testing.assert_allclose(model.evaluate(x, {"a": ya, "b": yb}, verbose=0), expected, rtol=1e-5)
    np.testing.assert_allclose(model.train_on_batch(x, [ya, yb]), expected, rtol=1e-5)
    hist = model.fit(x, {"b": yb, "a": ya}, batch_size=16, epochs=1, verbose=0, validation_data=(x, [ya, yb]))
    assert set(hist.history) == {"loss", "a_loss", "b_loss", "b_acc", "val_loss", "val_a_loss", "val_b_loss",
                                 "val_b_acc"}
    np.testing.assert_allclose([hist.history[k][0] for k in ("loss", "a_loss", "b_loss", "b_acc")], expected,
                               rtol=1e-5)
    # list losses / weights, and sample weights per output
    model.compile(optimizers.SGD(learning_rate=0.0), loss=["mae", "categorical_crossentropy"], loss_weights=[1.0, 0.5])
    sw = np.linspace(0.5, 1.5, 16).astype(np.float32)
    lam = np.abs(pa - ya).mean(-1)
    lbm = -np.log(np.clip(np.sum(yb * pb, -1), 1e-7, 1))
    got = model.evaluate(x, [ya, yb], sample_weight={"a": sw, "b": None}, batch_size=16, verbose=0)
    np.testing.assert_allclose(got, [weighted(lam, sw) + 0.5 * lbm.mean(), weighted(lam, sw), lbm.mean()],
                               rtol=1e-5)
    with pytest.raises(ValueError, match=r"lacks \['b'\]; expected keys \['a', 'b'\]"):
        model.evaluate(x, {"a": ya}, verbose=0)
    with pytest.raises(ValueError, match=r"unknown output\(s\) \['c'\]"):
        model.compile("sgd", loss={"a": "mse", "c": "mse"})


def test_multi_output_training_matches_sum_of_weighted_gradients():
    # The gradient of the weighted total loss: each head moves by its own loss, scaled by its weight.
    r = rng(12)
    inp = Input(shape=(3,))
    a, b = Dense(1, name="a")(inp), Dense(1, name="b")(inp)
    model = Model(inp, [a, b])
    model.compile(optimizers.SGD(learning_rate=0.1), loss=["mse", "mse"], loss_weights=[1.0, 0.0])
    before = weights_of(model)
    x = r.normal(size=(8, 3)).astype(np.float32)
    model.train_on_batch(x, [r.normal(size=(8, 1)), r.normal(size=(8, 1))])
    after = weights_of(model)
    assert not np.allclose(after[0], before[0])       # head a trained
    np.testing.assert_array_equal(after[2], before[2])  # head b has weight 0


# ---- determinism, execution chunks, stochastic layers ----------------------------------------------
def _fit_mlp(seed, steps_per_execution=1):
    """An MLP with Dropout (so each step's random key matters), fitted 2 epochs without shuffling,
    then 1 epoch with shuffling."""
    clear_session()
    arena.set_seed(seed)
    r = rng(13)
    x = r.normal(size=(32, 5)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[r.integers(0, 3, 32)]
    model = Sequential([Dense(8, activation="relu", input_shape=(5,)), Dropout(0.3),
                        Dense(3, activation="softmax")])
    model.compile(optimizers.SGD(learning_rate=0.1, momentum=0.5), "categorical_crossentropy",
                  steps_per_execution=steps_per_execution)
    fixed = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    w_fixed = model.get_weights()
    shuffled = model.fit(x, y, batch_size=4, epochs=1, shuffle=True, verbose=0)
    return w_fixed, fixed.history, model.get_weights(), shuffled.history, model


def test_same_seed_same_result_and_steps_per_execution():
    w1, h1, w1s, h1s, m1 = _fit_mlp(5)
    w2, h2, w2s, h2s, _ = _fit_mlp(5)
    # set_seed, build, compile, fit twice: identical, bit for bit (dropout masks and shuffling included)
    for a, b in zip(w1 + w1s, w2 + w2s):
        np.testing.assert_array_equal(a, b)
    assert h1 == h2 and h1s == h2s
    # four optimizer steps per compiled call: the same weights as one (the same seed, no shuffling)
    w4, h4, w4s, h4s, m4 = _fit_mlp(5, steps_per_execution=4)
    assert m1.iterations == m4.iterations == 3 * 8
    for a, b in zip(w1, w4):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h1["loss"], h4["loss"], rtol=1e-5)
    for a, b in zip(w1s, w4s):  # the shuffled order depends on the seed and step only, too
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # another seed: other initial weights
    clear_session()
    arena.set_seed(6)
    other = Sequential([Dense(8, activation="relu", input_shape=(5,))])
    clear_session()
    arena.set_seed(5)
    same = Sequential([Dense(8, activation="relu", input_shape=(5,))])
    assert not np.allclose(other.get_weights()[0], same.get_weights()[0])
    assert not np.allclose(w1s[0], w1[0])  # the shuffled epoch trained on


def test_jax_arrays_train_like_numpy_arrays():
    """fit / evaluate / predict take JAX arrays (used on the device as they are): same numbers."""
    import jax

    r = rng(21)
    x = r.normal(size=(40, 3)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[(x[:, 0] > 0).astype(int)]
    results = []
    for data in [(x, y), (jax.device_put(x), jax.device_put(y))]:
        clear_session()
        arena.set_seed(3)
        model = Sequential([Dense(4, activation="tanh", input_shape=(3,)), Dense(2, activation="softmax")])
        model.compile(optimizers.SGD(learning_rate=0.3), "categorical_crossentropy", metrics=["accuracy"])
        hist = model.fit(*data, batch_size=8, epochs=2, validation_split=0.25, verbose=0,
                         class_weight={0: 1.0, 1: 2.0})
        results.append((model.get_weights(), hist.history, model.evaluate(*data, verbose=0),
                        model.predict(data[0])))
    (w_np, h_np, e_np, p_np), (w_jax, h_jax, e_jax, p_jax) = results
    for a, b in zip(w_np, w_jax):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert h_np.keys() == h_jax.keys()
    for k in h_np:
        np.testing.assert_allclose(h_np[k], h_jax[k], rtol=1e-6)
    np.testing.assert_allclose(e_np, e_jax, rtol=1e-6)
    assert isinstance(p_jax, np.ndarray)
    np.testing.assert_allclose(p_np, p_jax, rtol=1e-6)


def test_dropout_is_active_in_training_and_off_in_predict():
    d = 200
    model = Sequential([Dense(d, input_shape=(d,), use_bias=False, kernel_initializer="identity"), Dropout(0.5)])
    model.compile(optimizers.SGD(learning_rate=0.0), "mse")
    x = np.ones((4, d), np.float32)
    y = np.zeros((4, d), np.float32)
    np.testing.assert_array_equal(model.predict(x), x)  # inference: identity
    assert model.evaluate(x, y, verbose=0) == pytest.approx(1.0)
    # training: kept units are scaled by 1/(1 - 0.5) = 2, so each squared output is 0 or 4
    losses = [model.train_on_batch(x, y) for _ in range(3)]
    for loss in losses:
        kept = loss * d  # loss = 4 * kept / (4 * d): the number of kept units among the 4 * d
        assert kept == pytest.approx(round(kept), abs=1e-3)
        assert 1.5 < loss < 2.5
    assert len(set(losses)) > 1  # a fresh mask each step
    np.testing.assert_array_equal(model.predict(x), x)


def test_batch_normalization_moving_stats_change_in_fit_and_predict_uses_them():
    r = rng(14)
    x = (r.normal(size=(16, 3)) * [1.0, 2.0, 0.5] + [3.0, -1.0, 0.0]).astype(np.float32)
    bn = BatchNormalization(momentum=0.5, input_shape=(3,))
    model = Sequential([bn])
    model.compile(optimizers.SGD(learning_rate=0.1), "mse")
    model.train_on_batch(x, x * 2 + 1)
    # one step: moving = 0.5 * initial + 0.5 * batch statistic (the unbiased variance, as Keras 2)
    mm, mv = bn.state["moving_mean"], bn.state["moving_variance"]
    np.testing.assert_allclose(mm, 0.5 * x.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mv, 0.5 + 0.5 * x.var(0, ddof=1), rtol=1e-5)
    model.fit(x, x * 2 + 1, batch_size=16, epochs=5, verbose=0)
    np.testing.assert_allclose(bn.state["moving_mean"], (1 - 0.5 ** 6) * x.mean(0), rtol=1e-5, atol=1e-6)
    gamma, beta, mm, mv = (np.asarray(w, np.float64) for w in bn.get_weights())
    assert not np.allclose(gamma, 1) and not np.allclose(beta, 0)
    expected = gamma * (x - mm) / np.sqrt(mv + 1e-3) + beta
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-4, atol=1e-5)
    # evaluate runs in inference mode too: its loss uses the moving statistics
    np.testing.assert_allclose(model.evaluate(x, x * 2 + 1, verbose=0), np.mean((expected - (x * 2 + 1)) ** 2),
                               rtol=1e-4)


def test_frozen_layer_does_not_change_during_fit():
    r = rng(15)
    x = r.normal(size=(32, 3)).astype(np.float32)
    y = r.normal(size=(32, 2)).astype(np.float32)
    # its weights break the constraint: a frozen layer is not projected either (Keras constrains what it trains)
    frozen = Dense(4, activation="tanh", input_shape=(3,), trainable=False, kernel_constraint=constraints.max_norm(0.1))
    head = Dense(2, kernel_constraint=constraints.max_norm(5.0))
    model = Sequential([frozen, head])
    model.compile(optimizers.Adam(learning_rate=0.05), "mse")
    f0, h0 = frozen.get_weights(), head.get_weights()
    assert np.linalg.norm(f0[0], axis=0).max() > 0.1
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for a, b in zip(frozen.get_weights(), f0):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(head.get_weights()[0], h0[0])
    lines = []
    model.summary(print_fn=lines.append)
    assert "Trainable params: 10" in lines and "Non-trainable params: 16" in lines


def test_frozen_sub_model_inside_a_bigger_model():
    r = rng(16)
    x = r.normal(size=(32, 3)).astype(np.float32)
    y = r.normal(size=(32, 1)).astype(np.float32)
    inner = Sequential([Dense(4, activation="relu", input_shape=(3,)), BatchNormalization(), Dense(4)], name="base")
    inner.trainable = False
    inp = Input(shape=(3,))
    out = Dense(1, name="top")(inner(inp))
    model = Model(inp, out)
    model.compile(optimizers.SGD(learning_rate=0.1, momentum=0.9), "mse")
    before = inner.get_weights()
    top0 = model.get_layer("top").get_weights()[0]
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for a, b in zip(inner.get_weights(), before):  # BatchNormalization's moving statistics included
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(model.get_layer("top").get_weights()[0], top0)
    # unfreezing and recompiling trains it again
    inner.trainable = True
    model.compile(optimizers.SGD(learning_rate=0.1), "mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    after = inner.get_weights()
    assert not np.allclose(after[0], before[0])
    assert not np.allclose(after[4], before[4])  # moving_mean follows the batches again


# ---- the batch methods, initial_epoch, deferred build -------------------------------------------------
def test_batch_methods_return_values():
    r = rng(17)
    x = r.normal(size=(6, 3)).astype(np.float32)
    y = (r.uniform(size=(6, 1)) > 0.5).astype(np.float32)
    model, (W, b) = linear(activation="sigmoid", lr=0.0, loss="binary_crossentropy", metrics=["accuracy"])
    p = sigmoid(x @ W + b)
    expected = [np.mean(bce(y, p)), np.mean((p > 0.5) == y)]
    out = model.train_on_batch(x, y)
    assert isinstance(out, list) and len(out) == 2
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    np.testing.assert_allclose(model.test_on_batch(x, y), expected, rtol=1e-5)
    pred = model.predict_on_batch(x)
    assert isinstance(pred, np.ndarray) and pred.shape == (6, 1)
    np.testing.assert_allclose(pred, p, rtol=1e-5)
    assert model.iterations == 1
    # without metrics: plain floats
    plain, (W, b) = linear(lr=0.1)
    loss = plain.train_on_batch(x, y)
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, np.mean((x @ W + b - y) ** 2), rtol=1e-5)
    assert isinstance(plain.test_on_batch(x, y), float)
    assert isinstance(plain.evaluate(x, y, verbose=0), float)
    np.testing.assert_allclose(plain.evaluate(x, y, verbose=0, return_dict=True)["loss"], plain.test_on_batch(x, y),
                               rtol=1e-6)


def test_train_on_batch_is_one_sgd_step():
    r = rng(18)
    x = r.normal(size=(5, 3)).astype(np.float32)
    y = r.normal(size=(5, 2)).astype(np.float32)
    model, (W, b) = linear(n_out=2, lr=0.1)
    model.train_on_batch(x, y)
    g = 2 * (x @ W + b - y) / y.size
    np.testing.assert_allclose(model.get_weights()[0], W - 0.1 * x.T @ g, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b - 0.1 * g.sum(0), rtol=1e-5, atol=1e-6)


def test_initial_epoch():
    model, _ = linear()
    x, y = np.ones((4, 3), np.float32), np.ones((4, 1), np.float32)
    seen = []
    hist = model.fit(x, y, epochs=5, initial_epoch=3, verbose=0,
                     callbacks=[LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(e))])
    assert seen == [3, 4]
    assert hist.epoch == [3, 4] and len(hist.history["loss"]) == 2
    hist = model.fit(x, y, epochs=2, initial_epoch=2, verbose=0)
    assert hist.epoch == [] and hist.history == {}


def test_sequential_deferred_build_on_first_fit():
    model = Sequential([Dense(4, activation="relu"), Dense(1)])
    assert not model.built and model.outputs == []
    model.compile(optimizers.SGD(learning_rate=0.01), "mse")
    x = rng(19).normal(size=(8, 3)).astype(np.float32)
    model.fit(x, np.zeros((8, 1), np.float32), epochs=1, verbose=0)
    assert model.built and model.input_shape == (None, 3) and model.output_shape == (None, 1)
    assert model.count_params() == 3 * 4 + 4 + 4 + 1
    assert [l.name for l in model.layers] == ["dense_1", "dense_2"]
    assert model.predict(x).shape == (8, 1)
    # predict alone builds too
    lazy = Sequential([Dense(2)])
    assert lazy.predict(x).shape == (8, 2)
    unbuilt = Sequential([Dense(2)])
    unbuilt.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"'sequential_\d+' is not built yet: give the first layer an input_shape"):
        unbuilt.get_learning_rate()


def test_xor_learns():
    x = np.float32([[0, 0], [0, 1], [1, 0], [1, 1]])
    y = np.float32([[0], [1], [1], [0]])
    model = Sequential([Dense(16, activation="relu", input_shape=(2,)), Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="mse", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=500, batch_size=4, verbose=0)
    np.testing.assert_array_equal(model.predict(x).round(), y)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert hist.history["accuracy"][-1] == 1.0


def test_activity_regularizers_count_in_the_loss_also_inside_wrappers(fresh_session):
    """l1 activity penalties, each divided by its output's batch size as Keras does: a graph layer,
    a layer inside TimeDistributed (applied to batch*steps rows), and a layer of a wrapped model."""
    from arena.nn import Input, Model, TimeDistributed, regularizers
    x = np.arange(2 * 3 * 2, dtype="float32").reshape(2, 3, 2) / 10
    y = np.zeros((2, 3, 1), "float32")

    def dense(**kw):
        return Dense(1, kernel_initializer="ones", bias_initializer="zeros", **kw)
    inp = Input(shape=(3, 2))
    plain = Model(inp, TimeDistributed(dense())(inp))
    plain.compile("sgd", "mse")
    base = plain.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(base, np.mean(x.sum(-1) ** 2), rtol=1e-6)

    wrapped = Model(inp, TimeDistributed(dense(activity_regularizer=regularizers.l1(0.1)))(inp))
    wrapped.compile("sgd", "mse")
    np.testing.assert_allclose(wrapped.evaluate(x, y, verbose=0), base + 0.1 * np.abs(x.sum(-1)).sum() / 6,
                               rtol=1e-6)
    np.testing.assert_allclose(wrapped.train_on_batch(x, y), base + 0.1 * np.abs(x.sum(-1)).sum() / 6, rtol=1e-6)

    row = Input(shape=(2,))
    inner = Model(row, dense(activity_regularizer=regularizers.l1(0.2))(row))
    of_model = Model(inp, TimeDistributed(inner)(inp))
    of_model.compile("sgd", "mse")
    np.testing.assert_allclose(of_model.evaluate(x, y, verbose=0), base + 0.2 * np.abs(x.sum(-1)).sum() / 6,
                               rtol=1e-6)
    # A graph-level regularizer still counts once.
    top = Model(inp, dense(activity_regularizer=regularizers.l1(0.1))(inp))
    top.compile("sgd", "mse")
    np.testing.assert_allclose(top.evaluate(x, y, verbose=0), base + 0.1 * np.abs(x.sum(-1)).sum() / 2, rtol=1e-6)


def test_layer_add_loss_counts_in_fit_and_evaluate(fresh_session):
    """Keras' layer.add_loss in call: the added scalar joins the data loss, also from inside a wrapper."""
    import jax.numpy as jnp
    from arena.nn import Input, Model, TimeDistributed
    from arena.nn.layers import Layer

    class Penalised(Layer):
        def call(self, params, x, training=False, key=None):
            self.add_loss(0.5 * jnp.mean(x ** 2))
            return x

        def compute_output_shape(self, input_shape):
            return input_shape
    x = np.arange(12, dtype="float32").reshape(2, 3, 2) / 10
    inp = Input(shape=(3, 2))
    m = Model(inp, Dense(1, kernel_initializer="ones", bias_initializer="zeros")(Penalised()(inp)))
    m.compile("sgd", "mse")
    y = np.zeros((2, 3, 1), "float32")
    mse = np.mean(x.sum(-1) ** 2)
    np.testing.assert_allclose(m.evaluate(x, y, verbose=0), mse + 0.5 * np.mean(x ** 2), rtol=1e-6)
    np.testing.assert_allclose(m.train_on_batch(x, y), mse + 0.5 * np.mean(x ** 2), rtol=1e-6)
    wrapped = Model(inp, TimeDistributed(Penalised())(inp))
    wrapped.compile("sgd", "mse")
    np.testing.assert_allclose(wrapped.evaluate(x, np.zeros_like(x), verbose=0), np.mean(x ** 2) * 1.5, rtol=1e-6)
    with pytest.raises(ValueError, match="add_loss takes a scalar; got shape \\(2,\\)"):
        Penalised().add_loss(jnp.ones(2))
