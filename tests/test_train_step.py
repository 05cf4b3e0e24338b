"""The public training step: overriding train_step, several optimizers, the one update function shared
with DQN, and the callbacks of evaluate/predict."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from arena.agents import DQN
from arena.callbacks import Callback
from arena.nn import Model, Sequential, TrainState, load_model, regularizers
from arena.nn.layers import Dense, Input, Lambda
from arena.nn.optimizers import SGD, Adam
from arena.replay import Batch


class SquaredError(Model):
    """A custom train_step (Keras 3's "custom train_step in JAX"), with its own log name."""

    def train_step(self, state, batch):
        xs, ys, _ = batch

        def loss_fn(params, layer_state):
            outs, new_state, act = self.forward(params, layer_state, xs, training=True)
            return jnp.mean((outs[0] - ys[0]) ** 2) + act, (new_state, None)
        state, loss, _ = self.apply_update(state, loss_fn)
        return state._replace(step=state.step + 1), {"my_loss": loss}


def test_a_custom_train_step_trains_through_fit_with_its_own_logs(fresh_session):
    x = Input(shape=(3,))
    m = SquaredError(x, Dense(1)(x))
    m.compile(SGD(0.1))  # no loss: the step brings its own
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(64, 3)).astype("float32")
    ys = xs @ np.array([[1.0], [-2.0], [0.5]], "float32")
    history = m.fit(xs, ys, batch_size=16, epochs=5, verbose=0)
    assert list(history.history) == ["my_loss"]
    assert history.history["my_loss"][-1] < 0.2 * history.history["my_loss"][0]
    assert m.iterations == 20 and isinstance(m._train_state, TrainState)
    assert 0.0 < m.train_on_batch(xs, ys) < history.history["my_loss"][0]


def test_several_optimizers_each_update_their_part_and_round_trip(fresh_session, tmp_path):
    a = Sequential([Dense(2, input_shape=(3,))], name="a")
    b = Sequential([Dense(1, input_shape=(2,))], name="b")
    x = Input(shape=(3,))

    class OnlyA(Model):
        def train_step(self, state, batch):
            xs, ys, _ = batch
            b_params = state.params["b"]

            def loss_fn(a_params, a_state):
                h, s, _ = self.get_layer("a").forward(a_params, a_state, xs)
                out, _, _ = self.get_layer("b").forward(b_params, state.state["b"], h)
                return jnp.mean((out[0] - ys[0]) ** 2), (s, None)
            state, loss, _ = self.apply_update(state, loss_fn, "a")
            return state._replace(step=state.step + 1), {"loss_a": loss}

    m = OnlyA(x, b(a(x)))
    m.compile(optimizer={"a": Adam(0.01), "b": SGD(0.1)})
    b_before, a_before = b.get_weights(), a.get_weights()
    m.fit(np.ones((8, 3), "float32"), np.ones((8, 1), "float32"), batch_size=4, verbose=0)
    assert set(m._train_state.opt_state) == {"a", "b"}
    assert all(np.array_equal(p, q) for p, q in zip(b.get_weights(), b_before))
    assert not any(np.array_equal(p, q) for p, q in zip(a.get_weights(), a_before))
    m.save(tmp_path / "m.h5")
    loaded = load_model(tmp_path / "m.h5", custom_objects={"OnlyA": OnlyA})
    assert isinstance(loaded.optimizer, dict) and set(loaded.optimizer) == {"a", "b"}
    jax.tree_util.tree_map(np.testing.assert_array_equal, loaded._train_state.opt_state, m._train_state.opt_state)
    with pytest.raises(ValueError, match="names no layer"):
        m.compile(optimizer={"zzz": "sgd"})


def test_dqn_update_moves_weights_as_fit_does(fresh_session):
    """A Q-network with a frozen layer and an L2 penalty: DQN's learning step and fit on the same TD
    loss, batch and optimizer move the same weights by the same amounts (and the frozen one not at all)."""
    def q_network():
        x = Input(shape=(3,))
        h = Dense(8, activation="relu", trainable=False, name="frozen")(x)
        return Model(x, Dense(3, kernel_regularizer=regularizers.l2(0.1), name="head")(h))
    net = q_network()
    start = net.get_weights()
    agent = DQN("catch", q_network=net, env_kwargs={"obs_type": "state"}, learning_rate=0.05, max_grad_norm=10.0,
                learning_starts=0, target_update_interval=10_000, gamma=0.9)
    rng = np.random.default_rng(0)
    batch = Batch(obs=rng.random((16, 3), np.float32), actions=rng.integers(0, 3, 16),
                  rewards=rng.choice([-1.0, 0.0, 1.0], 16).astype(np.float32),
                  next_obs=rng.random((16, 3), np.float32), dones=(rng.random(16) < 0.2).astype(np.float32))
    target = np.asarray(agent._fns["td_target"](agent._state, batch))
    stacked = jax.tree_util.tree_map(lambda a: a[None], batch)
    state, _, _, _ = agent._fns["learn"](agent._state, stacked, 1, agent.key)  # call 1: no target sync due
    dqn_weights = [np.asarray(w) for w in jax.tree_util.tree_leaves(state.params)]

    y = np.full((16, 3), -1e9, np.float32)
    y[np.arange(16), batch.actions] = target

    def td_loss(y_true, y_pred):  # huber(Q(s, a) - y) on the taken action only
        taken = y_true > -1e8
        return optax.huber_loss(jnp.where(taken, y_pred - y_true, 0.0)).sum(-1)
    fitted = q_network()
    fitted.set_weights(start)
    fitted.compile(Adam(0.05, global_clipnorm=10.0), td_loss)
    fitted.train_on_batch(batch.obs, y)
    fit_weights = [np.asarray(w) for w in jax.tree_util.tree_leaves(fitted.params)]
    for d, f in zip(dqn_weights, fit_weights):
        np.testing.assert_allclose(d, f, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(fitted.get_layer("frozen").get_weights()[0], start[0])
    assert not np.allclose(fitted.get_layer("head").get_weights()[0], start[2])


class Hooks(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if name.startswith("on_") and ("test" in name or "predict" in name):
            return lambda *args: self.calls.append((name,) + tuple(a for a in args if isinstance(a, int)))
        return super().__getattribute__(name)


def test_evaluate_and_predict_dispatch_their_callback_hooks(fresh_session):
    m = Sequential([Dense(1, input_shape=(2,))])
    m.compile("sgd", "mse")
    x, y = np.ones((25, 2), "float32"), np.zeros((25, 1), "float32")
    cb = Hooks()
    for hook in ("on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_end",
                 "on_predict_begin", "on_predict_batch_begin", "on_predict_batch_end", "on_predict_end"):
        setattr(cb, hook, getattr(cb, hook))  # instance attributes: the callback list calls them
    m.evaluate(x, y, batch_size=10, verbose=0, callbacks=[cb])
    assert cb.calls == [("on_test_begin",), ("on_test_batch_begin", 0), ("on_test_batch_end", 0),
                        ("on_test_batch_begin", 1), ("on_test_batch_end", 1), ("on_test_batch_begin", 2),
                        ("on_test_batch_end", 2), ("on_test_end",)]
    cb.calls.clear()
    m.predict(x, batch_size=20, callbacks=[cb])
    assert [c[0] for c in cb.calls] == ["on_predict_begin", "on_predict_batch_begin", "on_predict_batch_end",
                                        "on_predict_batch_begin", "on_predict_batch_end", "on_predict_end"]


def test_fit_validation_fires_the_test_hooks_with_current_weights(fresh_session):
    """As Keras: fit's validation runs the on_test_* hooks of fit's callbacks, each epoch it validates,
    and a callback reading the weights there sees the ones being validated."""
    m = Sequential([Dense(1, input_shape=(2,), kernel_initializer="zeros")])
    m.compile("sgd", "mse")
    x, y = np.ones((8, 2), "float32"), np.ones((8, 1), "float32")

    class Seen(Callback):
        def __init__(self):
            super().__init__()
            self.calls, self.kernels = [], []

        def on_test_begin(self, logs=None):
            self.calls.append("begin")
            self.kernels.append(float(self.model.get_weights()[0][0, 0]))

        def on_test_batch_end(self, batch, logs=None):
            self.calls.append(batch)

        def on_test_end(self, logs=None):
            self.calls.append(("end", sorted(logs)))

    seen = Seen()
    h = m.fit(x, y, batch_size=4, epochs=4, verbose=0, validation_data=(x[:5], y[:5]), validation_freq=2,
              callbacks=[seen])
    assert seen.calls == ["begin", 0, 1, ("end", ["loss"])] * 2  # epochs 2 and 4, two batches of 4 and 1
    assert seen.kernels[0] != 0.0 and seen.kernels[1] != seen.kernels[0]
    assert len(h.history["val_loss"]) == 2


def test_predict_and_validation_compile_once(fresh_session):
    traces = []

    def counted(x):
        traces.append(1)
        return x
    x = Input(shape=(2,))
    m = Model(x, Dense(1)(Lambda(counted)(x)))
    data = np.ones((8, 2), "float32")
    m.predict(data)
    n = len(traces)
    m.predict(data)
    m.predict(data)
    assert len(traces) == n  # an uncompiled model's predict is compiled once, not per call
    m.compile("sgd", "mse")
    val = (data, np.zeros((8, 1), "float32"))
    m.fit(data, np.zeros((8, 1), "float32"), batch_size=8, epochs=1, verbose=0, validation_data=val)
    n = len(traces)
    m.fit(data, np.zeros((8, 1), "float32"), batch_size=8, epochs=3, verbose=0, validation_data=val)
    assert len(traces) == n
