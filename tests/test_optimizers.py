"""Optimizers against hand-written numpy updates with Keras 2 semantics.

A tiny linear model (Dense(2) on 3 features, mean squared error) takes optimizer steps with
``train_on_batch`` on a different batch each step; numpy takes the same steps from the same
weights with the analytic gradient and the Keras 2 update rule. Weights must agree after one and
after several steps.
"""
import math

import numpy as np
import optax
import pytest

import arena
from arena.nn import Dense, Sequential, optimizers
from arena.nn.layers.base import clear_session

N_IN, N_OUT, BATCH = 3, 2, 5
TOL = dict(rtol=1e-5, atol=1e-6)


@pytest.fixture(autouse=True)
def fresh():
    clear_session()
    arena.set_seed(0)
    yield


def batches(n_steps, seed=0):
    r = np.random.default_rng(seed)
    return [(r.normal(size=(BATCH, N_IN)).astype(np.float32), r.normal(size=(BATCH, N_OUT)).astype(np.float32))
            for _ in range(n_steps)]


def initial_weights(seed=1):
    r = np.random.default_rng(seed)
    return [r.normal(size=(N_IN, N_OUT)).astype(np.float32), r.normal(size=(N_OUT,)).astype(np.float32)]


def grads(w, x, y):
    """Gradients of mean((x @ W + b - y)**2) over batch and units."""
    W, b = w
    g = 2.0 * (x @ W + b - y) / y.size
    return [x.T @ g, g.sum(0)]


def arena_weights(optimizer, data, w0=None):
    """Weights after each train_on_batch step."""
    model = Sequential([Dense(N_OUT, input_shape=(N_IN,))])
    model.compile(optimizer=optimizer, loss="mse")
    model.set_weights(w0 or initial_weights())
    out = []
    for x, y in data:
        model.train_on_batch(x, y)
        out.append([w.astype(np.float64) for w in model.get_weights()])
    return out, model


def numpy_weights(step, data, w0=None):
    """``step(t, params, grads, slots) -> params``: t counts from 0 (Keras' ``iterations`` before the update)."""
    w = [a.astype(np.float64) for a in (w0 or initial_weights())]
    slots = [dict() for _ in w]
    out = []
    for t, (x, y) in enumerate(data):
        g = grads(w, x.astype(np.float64), y.astype(np.float64))
        w = [step(t, p, gi, s) for p, gi, s in zip(w, g, slots)]
        out.append([a.copy() for a in w])
    return out


def assert_same(got, want, tol=TOL):
    assert len(got) == len(want)
    for t, (a, b) in enumerate(zip(got, want)):
        for wa, wb in zip(a, b):
            np.testing.assert_allclose(wa, wb, err_msg=f"after step {t + 1}", **tol)


# ---- Keras 2 update rules in numpy ------------------------------------------------------------
def sgd(lr, momentum=0.0, nesterov=False, decay=0.0):
    def step(t, p, g, s):
        lr_t = lr / (1.0 + decay * t)
        v = momentum * s.get("v", 0.0) - lr_t * g
        s["v"] = v
        return p + (momentum * v - lr_t * g if nesterov else v)
    return step


def rmsprop(lr, rho=0.9, eps=1e-7, decay=0.0):
    def step(t, p, g, s):
        lr_t = lr / (1.0 + decay * t)
        a = rho * s.get("a", 0.0) + (1 - rho) * g * g
        s["a"] = a
        return p - lr_t * g / (np.sqrt(a) + eps)  # epsilon outside the square root
    return step


def adam(lr, b1=0.9, b2=0.999, eps=1e-7, decay=0.0):
    def step(t, p, g, s):
        lr_t = lr / (1.0 + decay * t) * math.sqrt(1 - b2 ** (t + 1)) / (1 - b1 ** (t + 1))
        m = b1 * s.get("m", 0.0) + (1 - b1) * g
        v = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        s["m"], s["v"] = m, v
        return p - lr_t * m / (np.sqrt(v) + eps)
    return step


def adagrad(lr, eps=1e-7):
    def step(t, p, g, s):
        a = s.get("a", 0.0) + g * g
        s["a"] = a
        return p - lr * g / (np.sqrt(a) + eps)
    return step


def adadelta(lr=1.0, rho=0.95, eps=1e-7):
    def step(t, p, g, s):
        a = rho * s.get("a", 0.0) + (1 - rho) * g * g
        update = g * np.sqrt(s.get("d", 0.0) + eps) / np.sqrt(a + eps)
        s["a"], s["d"] = a, rho * s.get("d", 0.0) + (1 - rho) * update * update
        return p - lr * update
    return step


CASES = {
    "sgd": (lambda: optimizers.SGD(learning_rate=0.1), sgd(0.1)),
    "sgd_momentum": (lambda: optimizers.SGD(learning_rate=0.1, momentum=0.9), sgd(0.1, 0.9)),
    "sgd_nesterov": (lambda: optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True), sgd(0.1, 0.9, True)),
    "sgd_decay": (lambda: optimizers.SGD(learning_rate=0.1, decay=0.5), sgd(0.1, decay=0.5)),
    "sgd_momentum_decay": (lambda: optimizers.SGD(learning_rate=0.1, momentum=0.9, decay=0.5),
                           sgd(0.1, 0.9, decay=0.5)),
    "sgd_nesterov_decay": (lambda: optimizers.SGD(learning_rate=0.1, momentum=0.8, nesterov=True, decay=0.3),
                           sgd(0.1, 0.8, True, decay=0.3)),
    "rmsprop": (lambda: optimizers.RMSprop(learning_rate=0.01, rho=0.9, epsilon=1e-7), rmsprop(0.01)),
    "rmsprop_big_eps": (lambda: optimizers.RMSprop(learning_rate=0.01, rho=0.8, epsilon=0.1),
                        rmsprop(0.01, rho=0.8, eps=0.1)),  # eps outside vs inside the sqrt differ here
    "rmsprop_decay": (lambda: optimizers.RMSprop(learning_rate=0.01, epsilon=1e-7, decay=0.2),
                      rmsprop(0.01, decay=0.2)),
    "adam": (lambda: optimizers.Adam(learning_rate=0.01, epsilon=1e-7), adam(0.01)),
    "adam_betas": (lambda: optimizers.Adam(learning_rate=0.05, beta_1=0.5, beta_2=0.9, epsilon=1e-7),
                   adam(0.05, 0.5, 0.9)),
    "adam_decay": (lambda: optimizers.Adam(learning_rate=0.01, epsilon=1e-7, decay=0.1), adam(0.01, decay=0.1)),
    "adagrad": (lambda: optimizers.Adagrad(learning_rate=0.1), adagrad(0.1)),
    "adadelta": (lambda: optimizers.Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-7), adadelta()),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_update_rule_matches_keras(case):
    make, step = CASES[case]
    data = batches(6)
    got, model = arena_weights(make(), data)
    want = numpy_weights(step, data)
    assert_same(got[:1], want[:1])  # one step
    assert_same(got, want)          # several steps
    assert model.iterations == 6


# ---- gradient clipping ---------------------------------------------------------------------------
def clipped_sgd(lr, clip):
    def step(t, p, g, s):
        return p - lr * clip(g)
    return step


def test_clipnorm_is_per_tensor():
    data = [(x * 10, y) for x, y in batches(3)]  # big gradients, so the clip acts

    def clip(g):
        n = np.linalg.norm(g)
        return g * 0.5 / max(n, 0.5)
    got, _ = arena_weights(optimizers.SGD(learning_rate=0.1, clipnorm=0.5), data)
    assert_same(got, numpy_weights(clipped_sgd(0.1, clip), data))


def test_clipvalue():
    data = [(x * 10, y) for x, y in batches(3)]
    got, _ = arena_weights(optimizers.SGD(learning_rate=0.1, clipvalue=0.3), data)
    assert_same(got, numpy_weights(clipped_sgd(0.1, lambda g: np.clip(g, -0.3, 0.3)), data))


def test_global_clipnorm_scales_all_tensors_together():
    data = [(x * 10, y) for x, y in batches(3)]
    w = [a.astype(np.float64) for a in initial_weights()]
    want = []
    for x, y in data:
        g = grads(w, x.astype(np.float64), y.astype(np.float64))
        total = math.sqrt(sum(float(np.sum(gi ** 2)) for gi in g))
        scale = 0.5 / max(total, 0.5)
        w = [p - 0.1 * gi * scale for p, gi in zip(w, g)]
        want.append([a.copy() for a in w])
    got, _ = arena_weights(optimizers.SGD(learning_rate=0.1, global_clipnorm=0.5), data)
    assert_same(got, want)


def test_clipping_combines_with_adam():
    data = [(x * 10, y) for x, y in batches(3)]

    def step_for(base):
        def step(t, p, g, s):
            return base(t, p, np.clip(g, -0.2, 0.2), s)
        return step
    got, _ = arena_weights(optimizers.Adam(learning_rate=0.01, epsilon=1e-7, clipvalue=0.2), data)
    assert_same(got, numpy_weights(step_for(adam(0.01)), data))


# ---- learning rate: schedules, get/set ---------------------------------------------------------
def test_optax_schedule_as_learning_rate():
    schedule = optax.exponential_decay(init_value=0.1, transition_steps=1, decay_rate=0.5)
    data = batches(4)
    got, model = arena_weights(optimizers.SGD(learning_rate=schedule), data)

    def step(t, p, g, s):
        return p - 0.1 * 0.5 ** t * g
    assert_same(got, numpy_weights(step, data))
    np.testing.assert_allclose(model.get_learning_rate(), 0.1 * 0.5 ** 3, rtol=1e-6)  # the rate of the last step


def test_get_and_set_learning_rate_change_the_next_step():
    data = batches(4)
    model = Sequential([Dense(N_OUT, input_shape=(N_IN,))])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1, momentum=0.5), loss="mse")
    model.set_weights(initial_weights())
    np.testing.assert_allclose(model.get_learning_rate(), 0.1, rtol=1e-7)
    model.train_on_batch(*data[0])
    model.set_learning_rate(0.02)
    np.testing.assert_allclose(model.get_learning_rate(), 0.02, rtol=1e-6)
    for x, y in data[1:]:
        model.train_on_batch(x, y)

    rates = [0.1, 0.02, 0.02, 0.02]

    def step(t, p, g, s):
        v = 0.5 * s.get("v", 0.0) - rates[t] * g
        s["v"] = v
        return p + v
    assert_same([[w.astype(np.float64) for w in model.get_weights()]], numpy_weights(step, data)[-1:])


def test_learning_rate_of_a_raw_optax_transform():
    data = batches(3)
    got, model = arena_weights(optax.sgd(0.1), data)
    assert_same(got, numpy_weights(sgd(0.1), data))
    assert model.get_learning_rate() is None
    with pytest.raises(ValueError, match=r"no settable learning rate.*Adam\(learning_rate"):
        model.set_learning_rate(0.01)


# ---- lookup ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,cls,lr", [("sgd", optimizers.SGD, 0.01), ("rmsprop", optimizers.RMSprop, 0.001),
                                         ("adam", optimizers.Adam, 0.001), ("Adagrad", optimizers.Adagrad, 0.01),
                                         ("adadelta", optimizers.Adadelta, 1.0),
                                         ("adamax", optimizers.Adamax, 0.002), ("nadam", optimizers.Nadam, 0.002)])
def test_optimizer_by_name_has_keras_defaults(name, cls, lr):
    opt = optimizers.get(name)
    assert type(opt) is cls
    assert opt.learning_rate == lr


def test_sgd_by_name_trains_with_lr_0_01():
    data = batches(2)
    got, model = arena_weights("sgd", data)
    assert isinstance(model.optimizer, optimizers.SGD)
    assert_same(got, numpy_weights(sgd(0.01), data))


def test_optimizer_by_object_and_by_config():
    opt = optimizers.Adam(learning_rate=0.05, beta_1=0.5, beta_2=0.9, epsilon=1e-7)
    assert optimizers.get(opt) is opt
    data = batches(3)
    got, model = arena_weights(opt, data)
    assert model.optimizer is opt
    assert_same(got, numpy_weights(adam(0.05, 0.5, 0.9), data))
    # Keras 2 spelling lr= and a Keras config dict
    assert optimizers.SGD(lr=0.3).learning_rate == 0.3
    from_dict = optimizers.get({"class_name": "SGD", "config": {"lr": 0.2, "momentum": 0.9, "nesterov": True}})
    assert (from_dict.learning_rate, from_dict.momentum, from_dict.nesterov) == (0.2, 0.9, True)
    again = optimizers.Adam.from_config(opt.get_config())
    assert again.get_config() == opt.get_config()


def test_unknown_optimizer_is_a_clear_error():
    with pytest.raises(ValueError, match=r"Unknown optimizer 'adamw'.*'adam'.*'sgd'"):
        optimizers.get("adamw")
    model = Sequential([Dense(1, input_shape=(2,))])
    with pytest.raises(ValueError, match=r"Unknown optimizer 'sgdd'"):
        model.compile(optimizer="sgdd", loss="mse")
    with pytest.raises(ValueError, match=r"learning_rate must be a finite non-negative number"):
        optimizers.SGD(learning_rate=-1.0)
