"""Keras 3's ``use_ema``: the optimizer's moving average of the weights, fit's final swap to it,
``ema_overwrite_frequency``, the SwapEMAWeights callback, files and exact resume."""
import numpy as np
import pytest

import arena
from arena.callbacks import LambdaCallback, SwapEMAWeights
from arena.nn import BatchNormalization, Dense, Sequential, load_model, optimizers
from arena.nn.layers.base import clear_session

N, BATCH, STEPS = 24, 8, 3  # one epoch = STEPS batches of BATCH rows, taken in order (shuffle=False)


def data(seed=0):
    r = np.random.default_rng(seed)
    return r.normal(size=(N, 3)).astype(np.float32), r.normal(size=(N, 2)).astype(np.float32)


def model(**opt):
    clear_session()
    arena.set_seed(0)
    m = Sequential([Dense(4, activation="tanh", input_shape=(3,)), Dense(2)])
    m.compile(optimizer=optimizers.SGD(0.1, momentum=0.5, **opt), loss="mse")
    return m


def trajectory(epochs=1):
    """The weights after each step of plain SGD (no average), and the starting weights."""
    x, y = data()
    m = model()
    start, seen = m.get_weights(), []
    for _ in range(epochs):
        for i in range(STEPS):
            m.train_on_batch(x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH])
            seen.append(m.get_weights())
    return start, seen


def numpy_ema(seen, momentum):
    ema = [w.copy() for w in seen[0]]  # Keras: the first step copies the weights
    for ws in seen[1:]:
        ema = [momentum * e + (1 - momentum) * w for e, w in zip(ema, ws)]
    return ema


def test_fit_ends_with_the_moving_average_of_the_trajectory():
    _, seen = trajectory(epochs=2)
    x, y = data()
    m = model(use_ema=True, ema_momentum=0.8)
    m.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    for got, want in zip(m.get_weights(), numpy_ema(seen, 0.8)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_train_on_batch_follows_plain_training_and_keeps_the_average_aside():
    _, seen = trajectory()
    x, y = data()
    m = model(use_ema=True, ema_momentum=0.8)
    for i in range(STEPS):
        m.train_on_batch(x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH])
    for got, want in zip(m.get_weights(), seen[-1]):  # the average does not steer training
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    averaged = m._ema_params(m.params)
    want = numpy_ema(seen, 0.8)
    got = [np.asarray(averaged[l.name][k]) for l in m.layers for k in ("kernel", "bias")]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_overwrite_frequency_puts_the_average_into_the_weights():
    x, y = data()
    m = model(use_ema=True, ema_momentum=0.8, ema_overwrite_frequency=2)
    # the reference: plain steps, with the weights set to the average after every second step
    ref = model()
    ema = None
    for i in range(STEPS):
        ref.train_on_batch(x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH])
        ws = ref.get_weights()
        ema = ws if ema is None else [0.8 * e + 0.2 * w for e, w in zip(ema, ws)]
        if (i + 1) % 2 == 0:
            ref.set_weights(ema)
        m.train_on_batch(x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH])
        for got, want in zip(m.get_weights(), ref.get_weights()):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_swap_on_epoch_shows_callbacks_the_average_and_trains_on_from_the_weights():
    _, seen = trajectory(epochs=2)
    x, y = data()
    m = model(use_ema=True, ema_momentum=0.8)
    at_epoch_end = []
    watch = LambdaCallback(on_epoch_end=lambda epoch, logs: at_epoch_end.append(m.get_weights()))
    m.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
          callbacks=[SwapEMAWeights(swap_on_epoch=True), watch])
    for epoch in range(2):
        want = numpy_ema(seen[:(epoch + 1) * STEPS], 0.8)
        for got, w in zip(at_epoch_end[epoch], want):
            np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)
    for got, want in zip(m.get_weights(), numpy_ema(seen, 0.8)):  # epoch 2 trained from the weights
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_validation_and_evaluate_use_the_average_with_the_callback():
    _, seen = trajectory()
    x, y = data()
    xv, yv = data(seed=1)
    m = model(use_ema=True, ema_momentum=0.8)
    plain = m.fit(x, y, batch_size=BATCH, shuffle=False, verbose=0, validation_data=(xv, yv))
    m = model(use_ema=True, ema_momentum=0.8)
    swapped = m.fit(x, y, batch_size=BATCH, shuffle=False, verbose=0, validation_data=(xv, yv),
                    callbacks=[SwapEMAWeights()])
    ref = model()
    ref.set_weights(seen[-1])
    assert plain.history["val_loss"][0] == pytest.approx(ref.evaluate(xv, yv, verbose=0), rel=1e-5)
    ref.set_weights(numpy_ema(seen, 0.8))
    assert swapped.history["val_loss"][0] == pytest.approx(ref.evaluate(xv, yv, verbose=0), rel=1e-5)
    # evaluate with the callback, after train_on_batch steps (no final swap): the average, then back
    m = model(use_ema=True, ema_momentum=0.8)
    for i in range(STEPS):
        m.train_on_batch(x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH])
    assert m.evaluate(xv, yv, verbose=0, callbacks=[SwapEMAWeights()]) == pytest.approx(
        ref.evaluate(xv, yv, verbose=0), rel=1e-5)
    for got, want in zip(m.get_weights(), seen[-1]):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_frozen_layers_and_layer_state_are_left_alone():
    clear_session()
    arena.set_seed(0)
    m = Sequential([Dense(4, input_shape=(3,)), BatchNormalization(), Dense(2)])
    m.layers[0].trainable = False
    m.compile(optimizer=optimizers.Adam(0.01, use_ema=True, ema_momentum=0.9), loss="mse")
    frozen = [np.asarray(w) for w in m.layers[0].get_weights()]
    x, y = data()
    m.fit(x, y, batch_size=BATCH, epochs=2, verbose=0)
    for got, want in zip(m.layers[0].get_weights(), frozen):
        np.testing.assert_array_equal(got, want)
    assert np.all(np.isfinite(m.predict(x)))


def test_a_checkpoint_resumes_the_average_exactly(tmp_path):
    from arena.callbacks import ModelCheckpoint
    x, y = data()
    m = model(use_ema=True, ema_momentum=0.8)
    m.fit(x, y, batch_size=BATCH, epochs=4, shuffle=True, verbose=0,
          callbacks=[ModelCheckpoint(str(tmp_path / "epoch-{epoch}.h5"))])
    whole = m.get_weights()
    again = load_model(tmp_path / "epoch-2.h5")  # as if killed after epoch 2
    assert again.optimizer.use_ema and again.optimizer.ema_momentum == 0.8
    again.fit(x, y, batch_size=BATCH, epochs=4, initial_epoch=2, shuffle=True, verbose=0)
    for got, want in zip(again.get_weights(), whole):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_bad_arguments_and_a_model_without_an_average():
    with pytest.raises(ValueError, match="Adam: ema_momentum"):
        optimizers.Adam(use_ema=True, ema_momentum=1.0)
    with pytest.raises(ValueError, match="SGD: ema_overwrite_frequency"):
        optimizers.SGD(use_ema=True, ema_overwrite_frequency=0)
    cfg = optimizers.Adam(use_ema=True, ema_momentum=0.95, ema_overwrite_frequency=3).get_config()
    again = optimizers.get(cfg)
    assert (again.use_ema, again.ema_momentum, again.ema_overwrite_frequency) == (True, 0.95, 3)
    x, y = data()
    m = model()
    with pytest.raises(ValueError, match="has no optimizer with use_ema=True"):
        m.fit(x, y, batch_size=BATCH, verbose=0, callbacks=[SwapEMAWeights(swap_on_epoch=True)])
