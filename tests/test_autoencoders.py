"""The autoencoders of scripts/mnist_autoencoders.py learn on a slice of MNIST, and the VAE's sampling
layer is differentiable with the closed-form KL term."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from arena.nn.layers.base import collecting_activity_losses
from arena.nn.optimizers import Adam


@pytest.mark.parametrize("kind", ["dense", "deep", "conv", "denoising", "vae"])
def test_each_autoencoder_learns_and_beats_the_mean_image(fresh_session, kind):
    from scripts import mnist_autoencoders as ae
    (x_train, _), (x_test, _) = ae.load(limit=2048)
    x_test = x_test[:500]
    model, _ = ae.build(kind)
    assert model.count_params() == ae.PARAMS[kind]
    shape = (-1, 784) if kind in ("dense", "deep", "vae") else (-1, 28, 28, 1)
    train, test = x_train.reshape(shape), x_test.reshape(shape)
    inputs = train
    if kind == "denoising":
        inputs = np.clip(train + ae.NOISE * np.random.default_rng(0).normal(size=train.shape), 0, 1).astype("f")
    model.compile(Adam(3e-3), ae.pixel_sum_bce if kind == "vae" else "binary_crossentropy")
    history = model.fit(inputs, train, batch_size=128, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]
    baseline = np.mean((train.mean(axis=0) - test) ** 2)
    assert np.mean((model.predict(test) - test) ** 2) < baseline


def test_sampling_is_reparameterised_and_adds_the_closed_form_kl(fresh_session):
    from scripts.mnist_autoencoders import Sampling
    layer = Sampling()
    rng = np.random.default_rng(0)
    mean, log_var = rng.normal(size=(5, 2)).astype("f"), rng.normal(size=(5, 2)).astype("f")
    key = jax.random.PRNGKey(3)
    with collecting_activity_losses() as added:
        z, _ = layer.apply({}, {}, [jnp.asarray(mean), jnp.asarray(log_var)], training=True, key=key)
    kl = -0.5 * np.mean(np.sum(1 + log_var - mean ** 2 - np.exp(log_var), axis=-1))
    assert float(added[0]) == pytest.approx(kl, rel=1e-5)
    eps = np.asarray(jax.random.normal(key, mean.shape))
    np.testing.assert_allclose(z, mean + np.exp(0.5 * log_var) * eps, rtol=1e-5)

    def total(m, lv):
        with collecting_activity_losses():
            out, _ = layer.apply({}, {}, [m, lv], training=True, key=key)
        return jnp.sum(out)
    d_mean, d_log_var = jax.grad(total, argnums=(0, 1))(jnp.asarray(mean), jnp.asarray(log_var))
    np.testing.assert_allclose(d_mean, np.ones_like(mean))  # z moves one for one with the mean
    np.testing.assert_allclose(d_log_var, 0.5 * np.exp(0.5 * log_var) * eps, rtol=1e-5)
