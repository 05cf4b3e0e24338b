"""Feeding data: generators, iterables and Sequences in fit/evaluate/predict (a background thread
prepares the batches), Keras 2's *_generator names, and sample_weight_mode='temporal'.

Generator-fed training is checked against array training on the same batches: the weights after
an epoch and the History must be equal.
"""
import threading
import traceback
import warnings

import numpy as np
import pytest

from arena.callbacks.base import LambdaCallback
from arena.nn import Dense, Sequential, optimizers
from arena.utils import Sequence


pytestmark = pytest.mark.usefixtures("fresh_session")

N, BS = 20, 8  # 3 batches an epoch: 8, 8 and a last one of 4


def data(seed=0, n=N):
    r = np.random.default_rng(seed)
    return r.normal(size=(n, 3)).astype(np.float32), r.normal(size=(n, 1)).astype(np.float32)


def model(lr=0.1, **compile_kw):
    m = Sequential([Dense(1, input_shape=(3,))])
    m.compile(optimizer=optimizers.SGD(learning_rate=lr), loss="mse", **compile_kw)
    m.set_weights([np.linspace(-1, 1, 3, dtype=np.float32).reshape(3, 1), np.full(1, 0.5, np.float32)])
    return m


def batches(x, y, w=None, bs=BS):
    for s in range(0, len(x), bs):
        yield (x[s:s + bs], y[s:s + bs]) if w is None else (x[s:s + bs], y[s:s + bs], w[s:s + bs])


def forever(x, y, w=None, bs=BS):
    while True:
        yield from batches(x, y, w, bs)


class Batches(Sequence):
    def __init__(self, x, y, bs=BS):
        self.x, self.y, self.bs = x, y, bs
        self.asked, self.epochs_ended = [], 0

    def __len__(self):
        return -(-len(self.x) // self.bs)

    def __getitem__(self, i):
        self.asked.append(i)
        return self.x[i * self.bs:(i + 1) * self.bs], self.y[i * self.bs:(i + 1) * self.bs]

    def on_epoch_end(self):
        self.epochs_ended += 1


def same_weights(a, b, tol=0.0):
    for p, q in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(p, q, rtol=tol, atol=tol)


def feeder_threads():
    return [t for t in threading.enumerate() if t.name == "arena-batches" and t.is_alive()]


# ---- generator fit equals array fit ----------------------------------------------------------------
def test_generator_fit_equals_array_fit():
    x, y = data()
    xv, yv = data(1, 12)
    a, b = model(), model()
    ha = a.fit(x, y, batch_size=BS, epochs=3, shuffle=False, verbose=0, validation_data=(xv, yv))
    hb = b.fit(forever(x, y), steps_per_epoch=3, epochs=3, verbose=0,
               validation_data=forever(xv, yv), validation_steps=2)
    same_weights(a, b)
    assert ha.history.keys() == hb.history.keys() == {"loss", "val_loss"}
    for k in ha.history:
        np.testing.assert_allclose(ha.history[k], hb.history[k], rtol=1e-6)
    assert not feeder_threads()


def test_array_fit_with_steps_per_execution_equals_generator_fit():
    x, y = data()
    a = model(steps_per_execution=2)
    b = model()
    a.fit(x, y, batch_size=BS, epochs=2, shuffle=False, verbose=0)
    b.fit(forever(x, y), steps_per_epoch=3, epochs=2, verbose=0)
    same_weights(a, b, 1e-6)


def test_sequence_fit_equals_array_fit_and_calls_on_epoch_end():
    x, y = data()
    a, b = model(), model()
    seq = Batches(x, y)
    ha = a.fit(x, y, batch_size=BS, epochs=2, shuffle=False, verbose=0)
    hb = b.fit(seq, epochs=2, shuffle=False, verbose=0)  # no steps_per_epoch: len(seq)
    same_weights(a, b)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-6)
    assert seq.asked == [0, 1, 2, 0, 1, 2]
    assert seq.epochs_ended == 2


def test_sequence_shuffle_is_a_permutation_per_epoch_and_resumes_exactly():
    x, y = data(0, 80)
    m = model()
    key = m._state().key.copy()  # the train state's buffers are donated by fit: keep a copy
    seq = Batches(x, y)
    m.fit(seq, epochs=3, shuffle=True, verbose=0)
    assert seq.epochs_ended == 3
    per_epoch = [seq.asked[i * 10:(i + 1) * 10] for i in range(3)]
    assert all(sorted(o) == list(range(10)) for o in per_epoch)
    assert per_epoch[0] != per_epoch[1] or per_epoch[1] != per_epoch[2]

    # the same key, in two calls (epoch 0, then epochs 1-2): the same batch order and weights
    r = model()
    r._state()
    r._train_state = r._train_state._replace(key=key)
    seq2 = Batches(x, y)
    r.fit(seq2, epochs=1, shuffle=True, verbose=0)
    r.fit(seq2, epochs=3, initial_epoch=1, shuffle=True, verbose=0)
    assert seq2.asked == seq.asked
    same_weights(m, r)


def test_iterable_with_len_needs_no_steps():
    x, y = data()

    class Epochs:
        def __iter__(self):
            return batches(x, y)

        def __len__(self):
            return 3

    a, b = model(), model()
    a.fit(x, y, batch_size=BS, epochs=2, shuffle=False, verbose=0)
    b.fit(Epochs(), epochs=2, verbose=0)
    same_weights(a, b)


def test_sample_weight_and_class_weight_batches_equal_arrays():
    x, y = data()
    w = np.random.default_rng(3).uniform(0.5, 2, N).astype(np.float32)
    a, b = model(), model()
    a.fit(x, y, sample_weight=w, batch_size=BS, epochs=1, shuffle=False, verbose=0)
    b.fit(forever(x, y, w), steps_per_epoch=3, verbose=0)
    same_weights(a, b, 1e-6)

    labels = (y > 0).astype(np.float32)
    cw = {0: 1.0, 1: 3.0}
    c, d = model(), model()
    hc = c.fit(x, labels, class_weight=cw, batch_size=BS, shuffle=False, verbose=0)
    hd = d.fit(forever(x, labels), class_weight=cw, steps_per_epoch=3, verbose=0)
    same_weights(c, d, 1e-6)
    np.testing.assert_allclose(hc.history["loss"], hd.history["loss"], rtol=1e-6)


def test_evaluate_and_predict_take_generators_and_sequences():
    x, y = data()
    m = model(metrics=["mae"])
    ref = m.evaluate(x, y, batch_size=BS, verbose=0)
    np.testing.assert_allclose(m.evaluate(batches(x, y), verbose=0), ref, rtol=1e-6)
    np.testing.assert_allclose(m.evaluate(forever(x, y), steps=3, verbose=0), ref, rtol=1e-6)
    np.testing.assert_allclose(m.evaluate(Batches(x, y), verbose=0), ref, rtol=1e-6)
    p = m.predict(x)
    np.testing.assert_allclose(m.predict((bx for bx, _ in batches(x, y))), p, rtol=1e-6)
    np.testing.assert_allclose(m.predict(((bx,) for bx, _ in forever(x, y)), steps=3), p, rtol=1e-6)
    np.testing.assert_allclose(m.predict(Batches(x, y)), p, rtol=1e-6)  # (x, y) batches: y ignored
    assert not feeder_threads()


def test_keras2_generator_names_warn_and_work():
    x, y = data()
    a, b = model(), model()
    a.fit(forever(x, y), steps_per_epoch=3, epochs=2, verbose=0)
    with pytest.warns(DeprecationWarning, match="fit_generator"):
        b.fit_generator(forever(x, y), steps_per_epoch=3, epochs=2, verbose=0, max_queue_size=2, workers=1,
                        use_multiprocessing=False)
    same_weights(a, b)
    with pytest.warns(DeprecationWarning, match="evaluate_generator"):
        loss = b.evaluate_generator(forever(x, y), steps=3)
    np.testing.assert_allclose(loss, b.evaluate(x, y, batch_size=BS, verbose=0), rtol=1e-6)
    with pytest.warns(DeprecationWarning, match="predict_generator"):
        p = b.predict_generator(Batches(x, y))
    np.testing.assert_allclose(p, b.predict(x), rtol=1e-6)


def test_workers_zero_and_multiprocessing_as_threads():
    x, y = data()
    a, b, c = model(), model(), model()
    a.fit(forever(x, y), steps_per_epoch=3, verbose=0)
    b.fit(forever(x, y), steps_per_epoch=3, verbose=0, workers=0)
    with pytest.warns(UserWarning, match="thread"):
        c.fit(forever(x, y), steps_per_epoch=3, verbose=0, use_multiprocessing=True, workers=4)
    same_weights(a, b)
    same_weights(a, c)


def test_unbuilt_model_builds_from_the_first_batch():
    x, y = data()
    m = Sequential([Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    gen = forever(x, y)
    m.fit(gen, steps_per_epoch=3, epochs=1, verbose=0)
    assert m.get_weights()[0].shape == (3, 1)
    # the batch used to build was trained on: the stream continues at batch 3 (rows 0-7 again)
    np.testing.assert_array_equal(next(gen)[0], x[:BS])


# ---- nothing hangs -------------------------------------------------------------------------------
def test_stop_training_ends_the_thread():
    x, y = data()
    m = model()

    def stop(batch, logs):
        m.stop_training = True

    h = m.fit(forever(x, y), steps_per_epoch=3, epochs=5, verbose=0, max_queue_size=1,
              callbacks=[LambdaCallback(on_train_batch_end=stop)])
    assert len(h.history["loss"]) == 1
    assert not feeder_threads()


def test_running_out_of_data_warns_and_stops():
    x, y = data()
    m = model()
    with pytest.warns(UserWarning, match="ran out"):
        h = m.fit(batches(x, y), steps_per_epoch=2, epochs=5, verbose=0)
    assert len(h.history["loss"]) == 2  # batches 0-1, then 2 and the end
    assert not feeder_threads()


def test_generator_exception_reaches_the_caller_with_its_traceback():
    x, y = data()

    def broken():
        yield x[:BS], y[:BS]
        raise KeyError("no more rows in the database")

    m = model()
    with pytest.raises(KeyError, match="no more rows") as info:
        m.fit(broken(), steps_per_epoch=3, verbose=0)
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "broken" in frames
    assert any("batch 1" in n for n in getattr(info.value, "__notes__", []))
    assert not feeder_threads()


def test_sequence_getitem_error_names_the_batch():
    x, y = data()

    class Bad(Batches):
        def __getitem__(self, i):
            if i == 2:
                raise IndexError("row file missing")
            return super().__getitem__(i)

    m = model()
    with pytest.raises(IndexError, match="row file missing") as info:
        m.fit(Bad(x, y), shuffle=False, verbose=0)
    assert any("__getitem__(2)" in n for n in info.value.__notes__)
    assert not feeder_threads()


# ---- bad input -------------------------------------------------------------------------------------
def test_steps_per_epoch_is_required_for_a_generator():
    x, y = data()
    m = model()
    with pytest.raises(ValueError, match="steps_per_epoch is required"):
        m.fit(forever(x, y), verbose=0)
    with pytest.raises(ValueError, match="validation_steps is required"):
        m.fit(Batches(x, y), validation_data=forever(x, y), verbose=0)


def test_wrong_tuple_size_is_named():
    x, y = data()

    def gen():
        yield x[:BS], y[:BS]
        yield x[:BS], y[:BS], None, None

    with pytest.raises(ValueError, match=r"batch 1 of the generator: .*tuple \(x, y\).*length 4"):
        model().fit(gen(), steps_per_epoch=2, verbose=0)
    with pytest.raises(ValueError, match=r"batch 0 of the generator: .*got a ndarray"):
        model().fit((x[:BS] for _ in range(3)), steps_per_epoch=2, verbose=0)


def test_inconsistent_shapes_are_named():
    x, y = data()

    def gen():
        yield x[:BS], y[:BS]
        yield np.ones((BS, 4), np.float32), y[:BS]

    with pytest.raises(ValueError, match=r"batch 1 of the generator: .*expects arrays of shape \(None, 3\).*\(8, 4\)"):
        model().fit(gen(), steps_per_epoch=2, verbose=0)

    def rows():
        yield x[:BS], y[:BS - 1]

    with pytest.raises(ValueError, match=r"batch 0 of the generator: .*same number of samples"):
        model().fit(rows(), steps_per_epoch=1, verbose=0)
    assert not feeder_threads()


def test_y_or_validation_split_with_a_generator_is_refused():
    x, y = data()
    with pytest.raises(ValueError, match="do not give y"):
        model().fit(forever(x, y), y, steps_per_epoch=3, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model().fit(forever(x, y), steps_per_epoch=3, validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="max_queue_size"):
        model().fit(forever(x, y), steps_per_epoch=3, max_queue_size=0, verbose=0)


# ---- sample_weight_mode='temporal' -----------------------------------------------------------------
def temporal_model(lr=0.0):
    m = Sequential([Dense(2, input_shape=(4, 3))])  # a per-step output: (batch, 4, 2)
    m.compile(optimizer=optimizers.SGD(learning_rate=lr), loss="mse", sample_weight_mode="temporal")
    r = np.random.default_rng(5)
    w = [r.normal(size=(3, 2)).astype(np.float32), r.normal(size=(2,)).astype(np.float32)]
    m.set_weights(w)
    return m, w


def test_temporal_sample_weights_match_numpy():
    r = np.random.default_rng(0)
    x = r.normal(size=(6, 4, 3)).astype(np.float32)
    y = r.normal(size=(6, 4, 2)).astype(np.float32)
    sw = r.uniform(0, 2, size=(6, 4)).astype(np.float32)
    sw[0, 1:] = 0
    sw[3] = 0
    m, (k, b) = temporal_model()
    step_loss = (((x.astype(np.float64) @ k + b) - y) ** 2).mean(-1)  # (6, 4)
    want = (step_loss * sw).mean() / (sw != 0).mean()
    np.testing.assert_allclose(m.evaluate(x, y, sample_weight=sw, batch_size=6, verbose=0), want, rtol=1e-5)
    h = m.fit(x, y, sample_weight=sw, batch_size=6, shuffle=False, verbose=0)
    np.testing.assert_allclose(h.history["loss"][0], want, rtol=1e-5)
    # the same from a generator of (x, y, sample_weight) batches
    m2, _ = temporal_model()
    h2 = m2.fit(iter([(x, y, sw)]), steps_per_epoch=1, verbose=0)
    np.testing.assert_allclose(h2.history["loss"][0], want, rtol=1e-5)


def test_temporal_weights_train_like_numpy_gradient():
    r = np.random.default_rng(1)
    x = r.normal(size=(5, 4, 3)).astype(np.float32)
    y = r.normal(size=(5, 4, 2)).astype(np.float32)
    sw = r.uniform(0, 1, size=(5, 4)).astype(np.float32)
    sw[:, 2] = 0
    lr = 0.1
    m, (k, b) = temporal_model(lr)
    m.fit(x, y, sample_weight=sw, batch_size=5, shuffle=False, verbose=0)
    k, b = k.astype(np.float64), b.astype(np.float64)
    err = x @ k + b - y  # (5, 4, 2)
    scale = sw[..., None] / (sw != 0).mean() * 2 / (err.shape[-1] * sw.size)
    gk = np.einsum("nti,nto->io", x, err * scale)
    gb = (err * scale).sum((0, 1))
    np.testing.assert_allclose(m.get_weights()[0], k - lr * gk, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.get_weights()[1], b - lr * gb, rtol=1e-5, atol=1e-6)


def test_temporal_weight_errors():
    x = np.ones((6, 4, 3), np.float32)
    y = np.ones((6, 4, 2), np.float32)
    m, _ = temporal_model()
    with pytest.raises(ValueError, match=r"\(samples, steps\) = \(6, 4\); got \(6,\)"):
        m.fit(x, y, sample_weight=np.ones(6), verbose=0)
    with pytest.raises(ValueError, match="class_weight is not supported"):
        m.fit(x, y, class_weight={0: 1.0}, verbose=0)
    plain = Sequential([Dense(2, input_shape=(4, 3))])
    plain.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="sample_weight_mode='temporal'"):
        plain.fit(x, y, sample_weight=np.ones((6, 4)), verbose=0)
    with pytest.raises(ValueError, match="sample_weight_mode must be None or 'temporal'"):
        plain.compile(optimizer="sgd", loss="mse", sample_weight_mode="element")


def test_no_warnings_from_a_plain_generator_fit():
    x, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model().fit(forever(x, y), steps_per_epoch=3, epochs=2, verbose=0)


def test_a_custom_train_step_is_fed_by_a_generator():
    import jax.numpy as jnp

    from arena.nn import Input, Model

    class SquaredError(Model):
        def train_step(self, state, batch):
            xs, ys, _ = batch

            def loss_fn(params, layer_state):
                outs, new_state, act = self.forward(params, layer_state, xs, training=True)
                return jnp.mean((outs[0] - ys[0]) ** 2) + act, (new_state, None)
            state, loss, _ = self.apply_update(state, loss_fn)
            return state._replace(step=state.step + 1), {"my_loss": loss}

    x, y = data()
    hs = []
    for feed in ("arrays", "generator"):
        inp = Input(shape=(3,))
        m = SquaredError(inp, Dense(1, kernel_initializer="ones")(inp))
        m.compile(optimizers.SGD(0.1))
        if feed == "arrays":
            hs.append(m.fit(x, y, batch_size=BS, epochs=2, shuffle=False, verbose=0).history)
        else:
            hs.append(m.fit(forever(x, y), steps_per_epoch=3, epochs=2, verbose=0).history)
    assert list(hs[0]) == list(hs[1]) == ["my_loss"]
    np.testing.assert_allclose(hs[0]["my_loss"], hs[1]["my_loss"], rtol=1e-6)
