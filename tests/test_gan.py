"""GAN on the public training step: it learns, each update moves only its network, it runs through the
loop's callbacks, files and exact resume, and bad pairs or bad custom steps are clear errors."""
import jax.numpy as jnp
import numpy as np
import pytest

import arena
from arena.callbacks import Callback, EarlyStopping, ModelCheckpoint
from arena.nn import GAN, Dense, Input, Model, Sequential, load_model
from arena.nn.optimizers import SGD, Adam

TARGET_MEAN = np.array([2.0, -1.0], "float32")


def pair(latent=4):
    g = Sequential([Dense(16, activation="relu", input_shape=(latent,)), Dense(2)], name="gen")
    d = Sequential([Dense(16, activation="relu", input_shape=(2,)), Dense(1, activation="sigmoid")], name="disc")
    return g, d


def real_points(n=1024, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 2)) * [0.5, 0.1] + TARGET_MEAN).astype("float32")


def test_gan_learns_a_gaussian(fresh_session):
    g, d = pair()
    gan = GAN(g, d)
    gan.compile(Adam(2e-3), Adam(2e-3))
    z = np.random.default_rng(1).normal(size=(500, 4)).astype("float32")
    before = np.abs(g.predict(z).mean(0) - TARGET_MEAN).max()
    history = gan.fit(real_points(), epochs=20, batch_size=64, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss"}
    after = np.abs(g.predict(z).mean(0) - TARGET_MEAN).max()
    assert before > 1.0 and after < 0.25 * before  # the samples moved onto the data (GANs oscillate near it)
    assert gan.iterations == 20 * 16


@pytest.mark.parametrize("frozen", ["generator", "discriminator"])
def test_each_update_moves_only_its_network(fresh_session, frozen):
    """With one network's learning rate 0, the other network's update must leave it exactly as it was."""
    g, d = pair()
    gan = GAN(g, d)
    rates = {"generator": 1e-2, "discriminator": 1e-2, frozen: 0.0}
    gan.compile(d_optimizer=SGD(rates["discriminator"]), g_optimizer=SGD(rates["generator"]))
    still, moving = (g, d) if frozen == "generator" else (d, g)
    still_before, moving_before = still.get_weights(), moving.get_weights()
    gan.fit(real_points(256), epochs=1, batch_size=64, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(still.get_weights(), still_before))
    assert any(not np.array_equal(a, b) for a, b in zip(moving.get_weights(), moving_before))


def test_several_discriminator_steps_and_label_smoothing(fresh_session):
    g, d = pair()
    gan = GAN(g, d, d_steps=3, label_smoothing=0.1)
    gan.compile(Adam(1e-3), Adam(1e-3))
    gan.fit(real_points(128), epochs=1, batch_size=64, verbose=0)
    counts = {name: int(np.asarray(state[0].count)) for name, state in gan._train_state.opt_state.items()}
    assert counts == {"disc": 6, "gen": 2}  # 2 batches: 3 discriminator updates and 1 generator update each
    with pytest.raises(ValueError, match=r"label_smoothing must be a number in \[0, 1\)"):
        GAN(*pair(), label_smoothing=1.0)
    with pytest.raises(ValueError, match="d_steps must be an integer >= 1"):
        GAN(*pair(), d_steps=0)


def test_callbacks_checkpoints_and_early_stopping_see_both_losses(fresh_session, tmp_path):
    g, d = pair()
    gan = GAN(g, d, noise="uniform")
    gan.compile(Adam(1e-3), Adam(1e-3))
    seen = []

    class Record(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(sorted(logs))
    stop = EarlyStopping(monitor="d_loss", patience=0, mode="max", min_delta=10.0)  # stops after epoch 2
    path = tmp_path / "gan-{epoch}.h5"
    gan.fit(real_points(256), epochs=5, batch_size=64, verbose=0,
            callbacks=[Record(), stop, ModelCheckpoint(str(path), monitor="g_loss")])
    assert seen == [["d_loss", "g_loss"]] * 2
    loaded = load_model(tmp_path / "gan-2.h5")
    assert isinstance(loaded, GAN) and loaded.noise == "uniform"
    assert loaded.generator.name == "gen" and loaded.discriminator.name == "disc"
    assert set(loaded.optimizer) == {"gen", "disc"}
    z = np.ones((3, 4), "float32")
    np.testing.assert_allclose(loaded.generator.predict(z), g.predict(z), rtol=1e-6)
    # Each network is an ordinary model file too.
    g.save(tmp_path / "gen.h5")
    np.testing.assert_allclose(load_model(tmp_path / "gen.h5").predict(z), g.predict(z), rtol=1e-6)


def test_a_saved_gan_resumes_exactly(fresh_session, tmp_path):
    data = real_points(256)

    def fresh():
        arena.set_seed(3)
        gan = GAN(*pair())
        gan.compile(Adam(1e-3), Adam(1e-3))
        return gan
    straight = fresh()
    straight.fit(data, epochs=2, batch_size=64, verbose=0)
    arena.nn.clear_session()
    first = fresh()
    first.fit(data, epochs=1, batch_size=64, verbose=0)
    first.save(tmp_path / "half.h5")
    resumed = load_model(tmp_path / "half.h5")
    resumed.fit(data, epochs=2, initial_epoch=1, batch_size=64, verbose=0)
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_bad_pairs_and_bad_data_are_clear_errors(fresh_session):
    g, _ = pair()
    d3 = Sequential([Dense(1, activation="sigmoid", input_shape=(3,))], name="d3")
    with pytest.raises(ValueError, match=r"generator 'gen' makes samples of shape \(2,\), but the discriminator "
                                         r"'d3' takes inputs of shape \(3,\)"):
        GAN(g, d3)
    d2 = Sequential([Dense(2, input_shape=(2,))], name="d2")
    with pytest.raises(ValueError, match="must output one probability per sample"):
        GAN(g, d2)
    with pytest.raises(TypeError, match="must be an Arena model"):
        GAN(g, Dense(1))
    gan = GAN(g, Sequential([Dense(1, input_shape=(2,))], name="dd"))
    gan.compile()
    with pytest.raises(ValueError, match="fit takes real samples x only"):
        gan.fit(real_points(8), np.ones(8), verbose=0)
    with pytest.raises(ValueError, match=r"real samples must have shape \(n,\) \+ \(2,\)"):
        gan.fit(np.ones((8, 3), "float32"), verbose=0)


def test_a_custom_step_returning_the_wrong_structure_is_a_clear_error(fresh_session):
    class NoState(Model):
        def train_step(self, state, batch):
            return {"loss": jnp.zeros(())}

    class Growing(Model):
        def train_step(self, state, batch):
            return state._replace(extras={"new": jnp.zeros(())}), {"loss": jnp.zeros(())}

    class VectorLog(Model):
        def train_step(self, state, batch):
            return state._replace(step=state.step + 1), {"loss": jnp.zeros(3)}
    for cls, error, match in [(NoState, TypeError, r"NoState '.*'.train_step must return \(state, logs\)"),
                              (Growing, ValueError, r"changed the structure of state.extras"),
                              (VectorLog, ValueError, r"logs must be scalars; got shapes \{'loss': \(3,\)\}")]:
        x = Input(shape=(2,))
        m = cls(x, Dense(1)(x))
        m.compile("sgd")
        with pytest.raises(error, match=match):
            m.fit(np.ones((4, 2), "float32"), np.ones((4, 1), "float32"), verbose=0)


def test_gan_fit_takes_batches_of_samples_from_a_generator_or_sequence(fresh_session):
    """Keras 3 unpacking: a custom step's batches may be x alone (a GAN's are real samples)."""
    from arena.utils import Sequence
    data = real_points(256)

    def batches():
        while True:
            for i in range(0, 256, 64):
                yield data[i:i + 64]

    class Samples(Sequence):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return (data[i * 64:(i + 1) * 64],)
    for source, kw in ((batches(), {"steps_per_epoch": 4}), (Samples(), {})):
        gan = GAN(*pair())
        gan.compile(Adam(1e-3), Adam(1e-3))
        history = gan.fit(source, epochs=2, verbose=0, **kw)
        assert len(history.history["g_loss"]) == 2 and gan.iterations == 8
        arena.nn.clear_session()
    gan = GAN(*pair())
    gan.compile()
    with pytest.raises(ValueError, match="fit takes real samples x only"):
        gan.fit(iter([(data[:64], np.ones(64))]), steps_per_epoch=1, verbose=0)


def test_a_short_mnist_gan_run_raises_the_score(fresh_session):
    """A small classifier (an MLP trained here in seconds) scores a small DCGAN before and after a
    short run on 4,096 MNIST digits: the inception score must rise."""
    from arena.callbacks import SampleQuality
    from arena.datasets import mnist
    from arena.nn import BatchNormalization, Conv2D, Dropout, Flatten, LeakyReLU, Reshape, UpSampling2D
    (x, y), (x_test, _) = mnist.load_data()
    x, x_test = x[:4096].astype("float32") / 255.0, x_test[:1000].astype("float32") / 255.0
    clf = Sequential([Flatten(input_shape=(28, 28)), Dense(128, activation="relu"),
                      Dense(10, activation="softmax")], name="mlp")
    clf.compile(Adam(1e-3), "sparse_categorical_crossentropy")
    clf.fit(x, y[:4096], epochs=15, batch_size=64, verbose=0)
    g = Sequential([  # mnist_gan.py's DCGAN at half its widths: the short run needs a fast learner
        Dense(7 * 7 * 64, input_shape=(64,)), BatchNormalization(), LeakyReLU(0.2), Reshape((7, 7, 64)),
        UpSampling2D(), Conv2D(32, 3, padding="same"), BatchNormalization(), LeakyReLU(0.2),
        UpSampling2D(), Conv2D(1, 3, padding="same", activation="tanh")], name="generator")
    d = Sequential([
        Conv2D(32, 4, strides=2, padding="same", input_shape=(28, 28, 1)), LeakyReLU(0.2),
        Conv2D(64, 4, strides=2, padding="same"), LeakyReLU(0.2), Flatten(), Dropout(0.3),
        Dense(1, activation="sigmoid")], name="discriminator")
    gan = GAN(g, d, label_smoothing=0.1)
    gan.compile(Adam(2e-4, beta_1=0.5), Adam(2e-4, beta_1=0.5))
    quality = SampleQuality(x_test, clf, n=500, verbose=0, to_classifier=lambda s: (s[..., 0] + 1.0) / 2.0)
    quality.set_model(gan)
    before = quality.score()["inception_score"]
    history = gan.fit(x[..., None] * 2.0 - 1.0, epochs=3, batch_size=64, verbose=0, callbacks=[quality])
    after = history.history["inception_score"][-1]
    assert quality.reference["inception_score"] > 7.5, quality.reference  # the MLP is a usable judge
    assert after > before + 1.0, (before, history.history["inception_score"])


def test_minibatch_stddev_matches_numpy_and_never_mixes_real_with_generated(fresh_session, tmp_path):
    """mnist_gan.py's MinibatchStdDev: the appended channel is each contiguous group's feature spread
    (numpy), so with real and generated samples stacked as GAN stacks them no group spans both."""
    from scripts.mnist_gan import MinibatchStdDev, dcgan_networks
    x = np.random.default_rng(0).normal(size=(8, 3, 3, 2)).astype("float32")
    out = np.asarray(MinibatchStdDev(4).call({}, jnp.asarray(x)))
    assert out.shape == (8, 3, 3, 3)
    np.testing.assert_array_equal(out[..., :2], x)
    for i in range(8):
        group = x[(i // 4) * 4:(i // 4) * 4 + 4]
        want = np.sqrt(group.var(axis=0) + 1e-8).mean()
        np.testing.assert_allclose(out[i, ..., 2], want, rtol=1e-5)
    x[4:] = 0.0  # the second half identical: its spread is ~0 whatever the first half holds
    out = np.asarray(MinibatchStdDev(4).call({}, jnp.asarray(x)))
    assert out[4:, ..., 2].max() < 1e-3 < out[:4, ..., 2].min()
    assert np.asarray(MinibatchStdDev(4).call({}, jnp.asarray(x[:3]))).shape == (3, 3, 3, 3)  # groups of 1
    with pytest.raises(ValueError, match="group_size must be an int >= 1; got 0"):
        MinibatchStdDev(0)
    g, d = dcgan_networks()
    assert (g.count_params(), d.count_params()) == (673_793, 287_297)
    gan = GAN(g, d)
    gan.compile()
    gan.save(tmp_path / "gan.h5")
    back = load_model(tmp_path / "gan.h5", custom_objects={"MinibatchStdDev": MinibatchStdDev})
    images = np.random.default_rng(1).uniform(-1, 1, size=(4, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(back.discriminator.predict(images), d.predict(images), rtol=1e-5, atol=1e-6)
