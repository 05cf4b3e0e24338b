"""One owner of the weights: every call reads the layers' weights at its start and writes them back at
its end, so weights shared by several models are always current (the book's GAN recipe)."""
import jax.numpy as jnp
import numpy as np
import pytest

from arena.callbacks import Callback, LambdaCallback
from arena.nn import Model, Sequential, load_model
from arena.nn.layers import Dense, Input
from arena.nn.optimizers import SGD


def _gan(fresh):
    d = Sequential([Dense(1, activation="sigmoid", input_shape=(2,), name="d_out")], name="d")
    d.compile(SGD(0.5), "binary_crossentropy")
    g = Sequential([Dense(2, input_shape=(3,), name="g_out")], name="g")
    z = Input(shape=(3,))
    d.trainable = False  # the book's recipe: frozen while the combined model is compiled ...
    gan = Model(z, d(g(z)), name="gan")
    gan.compile(SGD(0.5), "binary_crossentropy")
    d.trainable = True   # ... and trainable again for its own steps
    return d, g, gan


def test_a_shared_discriminator_is_current_in_the_gan(fresh_session):
    d, g, gan = _gan(fresh_session)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 2)).astype("float32"), (rng.random((8, 1)) < 0.5).astype("float32")
    z, ones = rng.normal(size=(8, 3)).astype("float32"), np.ones((8, 1), "float32")
    for _ in range(3):
        before = [w.copy() for w in d.get_weights()]
        d.train_on_batch(x, y)
        after_d = d.get_weights()
        assert not all(np.array_equal(a, b) for a, b in zip(before, after_d))
        # The GAN's loss is computed with the discriminator as it is now ...
        expected = gan.evaluate(z, ones, verbose=0)
        g_before = [w.copy() for w in g.get_weights()]
        assert gan.train_on_batch(z, ones) == pytest.approx(expected, rel=1e-5)
        # ... its step leaves the (frozen there) discriminator as d's own step left it, and moves g.
        for a, b in zip(d.get_weights(), after_d):
            np.testing.assert_array_equal(a, b)
        assert not all(np.array_equal(a, b) for a, b in zip(g_before, g.get_weights()))


def test_set_weights_after_training_is_what_trains_next(fresh_session):
    m = Sequential([Dense(1, input_shape=(2,), name="d")])
    m.compile(SGD(1e-3), "mse")
    x, y = np.ones((4, 2), "float32"), np.zeros((4, 1), "float32")
    m.train_on_batch(x, y)
    m.get_layer("d").set_weights([np.full((2, 1), 100.0), np.zeros(1)])
    assert m.train_on_batch(x, y) == pytest.approx(40_000.0, rel=1e-6)  # (1*100 + 1*100)^2
    assert m.get_layer("d").get_weights()[0][0, 0] < 100.0  # and the step moved them from there


def test_callbacks_read_and_set_current_weights_during_fit(fresh_session):
    m = Sequential([Dense(1, input_shape=(2,), name="d")])
    m.compile(SGD(0.1), "mse")
    x, y = np.random.default_rng(0).normal(size=(32, 2)).astype("float32"), np.ones((32, 1), "float32")
    seen = []
    reset = LambdaCallback(on_epoch_end=lambda epoch, logs: (
        seen.append(m.get_weights()[0].copy()),
        m.get_layer("d").set_weights([np.zeros((2, 1)), np.zeros(1)]) if epoch == 1 else None))

    class PerBatch(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(m.get_layer("d").get_weights()[1].copy())  # readable mid-epoch
    m.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False, callbacks=[reset, PerBatch()])
    epoch_ends = seen[4::5]  # 4 batches then the epoch end, per epoch
    assert len(epoch_ends) == 3 and not np.array_equal(epoch_ends[0], epoch_ends[1])
    # Epoch 3 started from the zeros the callback set: its first batch is one step from zero.
    fresh = Sequential([Dense(1, input_shape=(2,))])
    fresh.set_weights([np.zeros((2, 1)), np.zeros(1)])
    fresh.compile(SGD(0.1), "mse")
    fresh.train_on_batch(x[:8], y[:8])
    np.testing.assert_allclose(seen[10], fresh.get_weights()[1], rtol=1e-6)


def test_weights_stay_usable_after_an_interrupted_fit(fresh_session):
    m = Sequential([Dense(2, input_shape=(3,))])
    m.compile("adam", "mse")
    x, y = np.ones((16, 3), "float32"), np.zeros((16, 2), "float32")

    class Boom(Callback):
        reads_weights = False

        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        m.fit(x, y, batch_size=4, verbose=0, callbacks=[Boom()])
    assert m.iterations == 2
    assert np.all(np.isfinite(m.predict(x)))  # the layers hold the trained weights, not donated buffers
    kernel = m.layers[0].params["kernel"]
    m.train_on_batch(x, y)
    assert kernel.is_deleted()  # the step donated the buffers it was given (and gave the layers new ones)
    m.fit(x, y, batch_size=4, verbose=0)
    assert m.iterations == 7


def test_save_between_calls_writes_the_current_weights(fresh_session, tmp_path):
    d, g, gan = _gan(fresh_session)
    d.train_on_batch(np.ones((4, 2), "float32"), np.ones((4, 1), "float32"))
    gan.train_on_batch(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"))
    gan.save(tmp_path / "gan.h5")
    # d is trainable again when saved, so the reloaded GAN trains d too: its optimizer state has
    # another structure than the one saved (frozen d), and is started fresh, with a warning (as Keras).
    with pytest.warns(UserWarning, match="fresh optimizer state"):
        loaded = load_model(tmp_path / "gan.h5")
    for a, b in zip(loaded.get_weights(), gan.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.get_layer("d").get_weights()[0], d.get_weights()[0])
    assert jnp.asarray(gan.predict(np.ones((2, 3), "float32"))).shape == (2, 1)
