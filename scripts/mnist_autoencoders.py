"""Autoencoders on MNIST: dense (784-32-784), deep, convolutional, denoising, and a variational one
with a 2-D latent space (the models of the Keras blog's "Building Autoencoders in Keras", which the
book's chapter 4 builds on).

    python scripts/mnist_autoencoders.py [--model all|dense|deep|conv|denoising|vae] [--epochs N]

Data: MNIST scaled to [0, 1]; 60,000 training and 10,000 test images (``--limit`` trains on fewer).
Each model is trained with adam and binary cross-entropy per pixel, batch 256, input = target (the
denoising one gets ``clip(x + 0.5 N(0, 1), 0, 1)`` as input and the clean image as target), the test
set as validation data. Reported per model: the test reconstruction loss (binary cross-entropy and
MSE), the MSE of the mean training image as a baseline every autoencoder must beat, and a PNG of
test originals (top row; for denoising, the noisy inputs in the middle) above their reconstructions.

- ``dense`` [50,992]: Dense(32, relu) -> Dense(784, sigmoid).
- ``deep`` [222,384]: 128-64-32 relu encoder, 64-128-784 decoder.
- ``conv`` [4,385]: Conv2D(16)-MaxPool-Conv2D(8)-MaxPool-Conv2D(8)-MaxPool(same) to a 4x4x8 code, then
  Conv2D(8)-UpSampling-Conv2D(8)-UpSampling-Conv2D(16, valid)-UpSampling-Conv2D(1, sigmoid); 3x3 kernels.
- ``denoising`` [28,353]: Conv2D(32)-MaxPool-Conv2D(32)-MaxPool, then Conv2D(32)-UpSampling-Conv2D(32)-
  UpSampling-Conv2D(1, sigmoid), noise factor 0.5.
- ``vae`` [807,700]: Dense(512, relu) -> z_mean, z_log_var (2-D) -> ``Sampling`` (z = mean + exp(log_var
  / 2) eps, reparameterised so gradients flow through mean and log-variance; it adds the KL term
  ``-0.5 mean_batch sum(1 + log_var - mean^2 - exp(log_var))`` with ``add_loss``) -> Dense(512, relu) ->
  Dense(784, sigmoid); loss 784 x binary cross-entropy (the sum over pixels) + KL. Saved as PNGs: the
  decoder over a 15x15 grid of the latent plane (z from -2 to 2) and the test set's latent means
  coloured by digit.

Measured (seed 42, 2 CPU cores), test MSE against the mean image's 0.0675: dense 0.0098 (20 epochs,
11 s), deep 0.0094 (20, 20 s), conv 0.0129 (20 epochs, 495 s; binary cross-entropy 0.1004, where the
Keras blog's converges to 0.094 after 50; 5 epochs: MSE 0.0199), denoising 0.0115 (20 epochs, 1,036 s;
cross-entropy 0.0975 against the clean images; 5 epochs: 0.0141), VAE 0.0432 (20, 40 s; loss 214 -> 153).
"""
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from arena.callbacks.samples import image_grid, save_png  # noqa: E402
from arena.datasets import mnist  # noqa: E402
from arena.nn import (Conv2D, Dense, Input, MaxPooling2D, Model, Sequential, UpSampling2D,  # noqa: E402
                      clear_session, losses)
from arena.nn.layers import Layer  # noqa: E402

MODELS = ("dense", "deep", "conv", "denoising", "vae")
PARAMS = {"dense": 50_992, "deep": 222_384, "conv": 4_385, "denoising": 28_353, "vae": 807_700}
NOISE = 0.5
BATCH = 256


class Sampling(Layer):
    """``[z_mean, z_log_var] -> z = z_mean + exp(z_log_var / 2) * eps``, eps ~ N(0, 1) from the step's
    key (the mean when no key is given), and the KL divergence to N(0, I) added as a loss. A script's
    own layer, as a Keras user writes it: not registered, so loading a saved VAE takes
    ``custom_objects={"Sampling": Sampling}``."""

    def call(self, params, inputs, training=False, key=None):
        mean, log_var = inputs
        kl = -0.5 * jnp.mean(jnp.sum(1.0 + log_var - mean ** 2 - jnp.exp(log_var), axis=-1))
        self.add_loss(kl)
        if key is None:
            return mean
        return mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, mean.shape)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def pixel_sum_bce(y_true, y_pred):
    """Binary cross-entropy summed over the pixels (the VAE's reconstruction term)."""
    return 784.0 * losses.binary_crossentropy(y_true, y_pred)


def build(kind):
    """``(autoencoder, extras)``: extras holds the VAE's encoder and decoder."""
    flat = kind in ("dense", "deep", "vae")
    if kind == "dense":
        return Sequential([Dense(32, activation="relu", input_shape=(784,)), Dense(784, activation="sigmoid")],
                          name="dense_ae"), {}
    if kind == "deep":
        return Sequential([Dense(128, activation="relu", input_shape=(784,)), Dense(64, activation="relu"),
                           Dense(32, activation="relu"), Dense(64, activation="relu"), Dense(128, activation="relu"),
                           Dense(784, activation="sigmoid")], name="deep_ae"), {}
    if kind == "conv":
        return Sequential([
            Conv2D(16, 3, activation="relu", padding="same", input_shape=(28, 28, 1)), MaxPooling2D(padding="same"),
            Conv2D(8, 3, activation="relu", padding="same"), MaxPooling2D(padding="same"),
            Conv2D(8, 3, activation="relu", padding="same"), MaxPooling2D(padding="same"),
            Conv2D(8, 3, activation="relu", padding="same"), UpSampling2D(),
            Conv2D(8, 3, activation="relu", padding="same"), UpSampling2D(),
            Conv2D(16, 3, activation="relu"), UpSampling2D(),
            Conv2D(1, 3, activation="sigmoid", padding="same")], name="conv_ae"), {}
    if kind == "denoising":
        return Sequential([
            Conv2D(32, 3, activation="relu", padding="same", input_shape=(28, 28, 1)), MaxPooling2D(padding="same"),
            Conv2D(32, 3, activation="relu", padding="same"), MaxPooling2D(padding="same"),
            Conv2D(32, 3, activation="relu", padding="same"), UpSampling2D(),
            Conv2D(32, 3, activation="relu", padding="same"), UpSampling2D(),
            Conv2D(1, 3, activation="sigmoid", padding="same")], name="denoising_ae"), {}
    assert kind == "vae" and flat
    x = Input(shape=(784,), name="image")
    h = Dense(512, activation="relu")(x)
    z_mean, z_log_var = Dense(2, name="z_mean")(h), Dense(2, name="z_log_var")(h)
    encoder = Model(x, [z_mean, z_log_var], name="encoder")
    decoder = Sequential([Dense(512, activation="relu", input_shape=(2,)), Dense(784, activation="sigmoid")],
                         name="decoder")
    mean, log_var = encoder(x)
    vae = Model(x, decoder(Sampling(name="sampling")([mean, log_var])), name="vae")
    return vae, {"encoder": encoder, "decoder": decoder}


def load(limit=None):
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train, x_test = x_train.astype(np.float32) / 255.0, x_test.astype(np.float32) / 255.0
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
    return (x_train, y_train), (x_test, y_test)


def reconstruction_png(path, originals, reconstructions, noisy=None, n=10):
    rows = [originals[:n]] + ([noisy[:n]] if noisy is not None else []) + [reconstructions[:n]]
    return save_png(image_grid(np.concatenate(rows).reshape(-1, 28, 28), rows=len(rows), value_range=(0, 1)), path)


def run(kind, data, args):
    clear_session()
    (x_train, _), (x_test, y_test) = data
    model, parts = build(kind)
    shape = (-1, 784) if kind in ("dense", "deep", "vae") else (-1, 28, 28, 1)
    train, test = x_train.reshape(shape), x_test.reshape(shape)
    inputs, test_inputs = train, test
    if kind == "denoising":
        rng = np.random.default_rng(args.seed)
        inputs = np.clip(train + NOISE * rng.normal(size=train.shape), 0, 1).astype(np.float32)
        test_inputs = np.clip(test + NOISE * rng.normal(size=test.shape), 0, 1).astype(np.float32)
    model.compile(optimizer="adam", loss=pixel_sum_bce if kind == "vae" else "binary_crossentropy")
    print(f"\n{kind}: {model.count_params():,} parameters (expected {PARAMS[kind]:,})", flush=True)
    with common.Timer() as t:
        history = model.fit(inputs, train, batch_size=BATCH, epochs=args.epochs, verbose=args.verbose,
                            validation_data=(test_inputs, test),
                            callbacks=[common.tensorboard(os.path.join(args.logdir, kind))])
    out = model.predict(test_inputs, batch_size=BATCH)
    bce = float(np.mean(losses.binary_crossentropy(test.reshape(len(test), -1), out.reshape(len(out), -1))))
    mse = float(np.mean((out - test) ** 2))
    baseline = float(np.mean((train.mean(axis=0) - test) ** 2))
    png = reconstruction_png(os.path.join(args.logdir, f"{kind}_reconstructions.png"), test, out,
                             test_inputs if kind == "denoising" else None)
    loss = history.history["loss"]
    print(f"{kind}: loss {loss[0]:.4f} -> {loss[-1]:.4f}; test binary cross-entropy {bce:.4f}, MSE {mse:.4f} "
          f"(mean image: MSE {baseline:.4f}); {t.seconds:.0f} s; {png}", flush=True)
    result = {"params": model.count_params(), "loss": loss, "val_loss": history.history["val_loss"],
              "test_bce": bce, "test_mse": mse, "mean_image_mse": baseline, "seconds": t.seconds}
    if kind == "vae":
        result.update(vae_pictures(parts["encoder"], parts["decoder"], test, y_test, args.logdir))
    return result


def vae_pictures(encoder, decoder, x_test, y_test, logdir, n=15):
    """The decoded latent grid and the test set's latent means (PNG files)."""
    axis = np.linspace(-2, 2, n, dtype=np.float32)
    z = np.array([[a, b] for b in axis[::-1] for a in axis], np.float32)
    grid = save_png(image_grid(decoder.predict(z).reshape(-1, 28, 28), rows=n, value_range=(0, 1), pad=0),
                    os.path.join(logdir, "vae_latent_grid.png"))
    means = encoder.predict(x_test, batch_size=BATCH)[0]
    scatter = os.path.join(logdir, "vae_latent_means.png")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 6))
    points = ax.scatter(means[:, 0], means[:, 1], c=y_test, cmap="tab10", s=2)
    fig.colorbar(points, ax=ax, label="digit")
    ax.set(xlabel="z[0]", ylabel="z[1]", title="VAE: test images' latent means")
    common.save_figure(fig, scatter)
    print(f"vae: latent grid {grid}, latent means {scatter}")
    return {"latent_grid": grid, "latent_means": scatter}


def main(argv=None):
    p = common.parser("mnist_autoencoders", __doc__.splitlines()[0], epochs=20, seed=42)
    p.add_argument("--model", choices=("all",) + MODELS, default="all")
    p.add_argument("--limit", type=int, default=None, help="train on the first LIMIT images only")
    args = p.parse_args(argv)
    common.start(args)
    os.makedirs(args.logdir, exist_ok=True)
    data = load(args.limit)
    results = {}
    for kind in (MODELS if args.model == "all" else (args.model,)):
        common.start(args)
        results[kind] = run(kind, data, args)
    return results


if __name__ == "__main__":
    main()
