"""E4.1: GANs on MNIST, scored as numbers: the book's DCGAN (Chapter04/dcgan.py, trained with the
book's own Keras 2 recipe) and a DCGAN trained by ``arena.nn.GAN``.

    python scripts/mnist_gan.py [--model dcgan|book] [--epochs N] [--minutes M] [--seed 42]

Scoring (``arena.nn.sample_quality``): a LeNet (E3.1's network, 6 epochs, >= 99 % test accuracy;
trained once and kept as ``runs/mnist_gan/lenet.h5``, or ``--classifier PATH``) classifies 1,000
samples of one fixed noise batch each epoch: the Inception-score analogue (of at most 10; real test
images score about 9.9), the Frechet distance of the LeNet's 500 penultimate features to those of
the 10,000 test images, and each digit's share of the samples. The fixed-noise grid is saved as
``samples-NNN.png`` in the log folder and shown in TensorBoard. Goal (issue): inception >= 8.5, every
digit 5-15 % of the samples, a Frechet distance that falls, within 60 minutes on 2 CPU cores.

- ``dcgan`` (default), a DCGAN of Arena's design for a CPU budget [generator 673,793, discriminator
  287,297 parameters]: z ~ N(0, 1) of 64 -> Dense(7*7*128) -> BatchNorm -> LeakyReLU(0.2) -> Reshape ->
  Conv2D(128, 3) -> UpSampling2D -> Conv2D(64, 3) -> UpSampling2D -> Conv2D(32, 3) (each convolution
  'same', then BatchNorm and LeakyReLU) -> Conv2D(1, 3, same, tanh); discriminator Conv2D(64, 4,
  strides 2, same) -> LeakyReLU -> Conv2D(128, 4, strides 2, same) -> LeakyReLU -> ``MinibatchStdDev``
  (ProGAN's: one channel more, the spread of each group of 4 samples) -> Conv2D(128, 3, same) ->
  LeakyReLU -> Flatten -> Dense(1, sigmoid). Adam(2e-4, beta_1 0.5) for both, batch 128, one-sided label
  smoothing 0.1, images in [-1, 1]. (Upsampling + convolution: on XLA:CPU twice as fast as
  Conv2DTranspose of the same widths, measured.) Loading its ``gan.h5`` takes
  ``custom_objects={"MinibatchStdDev": MinibatchStdDev}``.
- ``dcgan_lite``, the first design [507,393 / 138,561]: one convolution per resolution in the generator
  (no Conv2D(128) at 7x7, no Conv2D(32) at 28x28) and Flatten -> Dropout(0.3) -> Dense in the
  discriminator, without the minibatch spread. Half its widths (235,265 / 36,513) trains twice as fast
  but levelled off at inception 7.4 after 15 epochs, 19 minutes.
- ``book`` (E4.1) [generator 6,763,777, discriminator 3,485,441]: the networks of book.md, trained as
  the repo does: the discriminator compiled, the combined model built with the discriminator frozen,
  and ``train_on_batch`` alternating on the two; SGD(0.0005, momentum 0.9, nesterov) for both, batch
  128, batches in order, noise U(-1, 1). The book trains 100 epochs (convincing digits "after 32").

- ``pair`` (E4.2) [generator 5,638,145, discriminator 9,707,009]: keras-adversarial's convolutional
  pair (book.md), images in [0, 1], z ~ N(0, 1), generator Adam(1e-4, decay 1e-4), discriminator
  Adam(1e-3, decay 1e-4), batch 32, on ``arena.nn.GAN``: the discriminator and then the generator
  are updated on every batch (keras-adversarial's simultaneous optimizer updates both from the same
  batch at once). Book: acceptable digits after 5-6 epochs.

Measured (seed 42, 2 CPU cores, 60 minutes of training, scored with the generator's average): LeNet
99.21 %; real test images inception 9.83, shares 0.088-0.114.
- ``dcgan``, 5.3 min an epoch: epoch 11 (59.7 min) inception **8.61** (goal 8.5: met), digit shares
  **0.075-0.133** (goal 0.05-0.15: met), Frechet 661.5 (epoch 1) -> **14.0**, falling every epoch.
  Per epoch, inception 1.15, 4.32, 5.77, 7.05, 7.70, 8.05, 8.29, 8.32, 8.47, 8.60, 8.61 (the trained
  weights: 6.31, 7.02, 7.72, 7.91, 7.90, 8.03, 8.47, 8.49, 8.52, 8.49, 8.58); the 12th epoch, past the
  budget (65.1 min): 8.65, shares 0.074-0.124, Frechet 12.1. In 3-epoch trials (two at once, so
  slower) each change alone lifted the trained weights' score over ``dcgan_lite``'s 6.78: the
  minibatch spread (no dropout) 7.16, the deeper generator 7.28.
- ``dcgan_lite``, 3.5 min an epoch (before ``import arena`` kept host memory; see the README): best
  epoch 14 of 17 without the average: inception 7.62 (not reached), shares 0.061-0.184 (not reached:
  one digit kept ~18-20 %), Frechet 165.3 -> 35.5; with the average (15 epochs): 7.59, shares
  0.057-0.195. The half-width version reached 7.37 after 15 epochs (19 minutes).

``--minutes`` stops after the epoch that passes that much training time (the scoring is not counted).
Printed: per epoch, the losses, the scores and the time; at the end, the best epoch against the goal.
"""
import math
import os
import sys
import time

import jax.numpy as jnp
import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from arena.callbacks import Callback, SampleGrid, SampleQuality, SwapEMAWeights  # noqa: E402
from arena.datasets import mnist  # noqa: E402
from arena.nn import (GAN, Activation, BatchNormalization, Conv2D, Dense, Dropout, Flatten,  # noqa: E402
                      Input, LeakyReLU, MaxPooling2D, Model, Reshape, Sequential, UpSampling2D, load_model)
from arena.nn.layers import Layer  # noqa: E402
from arena.nn.optimizers import SGD, Adam  # noqa: E402

GOAL = {"inception_score": 8.5, "share_low": 0.05, "share_high": 0.15}
BOOK_PARAMS = {"book": (6_763_777, 3_485_441), "pair": (5_638_145, 9_707_009), "dcgan": (673_793, 287_297),
               "dcgan_lite": (507_393, 138_561)}


# ---- data and the scoring classifier -------------------------------------------------------------
def load_images():
    """MNIST as (x_train in [-1, 1], x_test in [0, 1], y_test), 28x28x1 float32."""
    (x_train, _), (x_test, y_test) = mnist.load_data()
    x_train = ((x_train.astype(np.float32) - 127.5) / 127.5)[..., None]
    return x_train, (x_test.astype(np.float32) / 255.0)[..., None], y_test


def classifier(path, x_test, y_test, verbose):
    """The scoring LeNet: loaded from ``path``, or trained (6 epochs) and saved there."""
    if os.path.isfile(path):
        model = load_model(path)
    else:
        (x_train, y_train), _ = common.load_mnist(flat=False)
        model = common.lenet()
        model.compile(loss="categorical_crossentropy", optimizer=Adam(), metrics=["accuracy"])
        model.fit(x_train, y_train, batch_size=128, epochs=6, verbose=verbose)
        model.save(path)
    acc = float(np.mean(model.predict(x_test, batch_size=500).argmax(1) == y_test))
    print(f"scoring classifier: LeNet {path}, test accuracy {100 * acc:.2f} %")
    return model, acc


# ---- the networks -----------------------------------------------------------------------------------
class MinibatchStdDev(Layer):
    """Appends one channel: the standard deviation of each feature over a group of ``group_size``
    neighbouring samples, averaged over the features (ProGAN's minibatch standard deviation). A
    discriminator that sees how varied a group is can tell a generator that repeats itself from real
    data. Groups are contiguous, so when real and generated samples are stacked in one batch (as
    ``GAN`` does) with a batch divisible by the group size, no group mixes the two."""

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1:
            raise ValueError(f"MinibatchStdDev '{self.name}': group_size must be an int >= 1; got {group_size!r}")
        self.group_size = group_size

    def call(self, params, x, training=False, key=None):
        n = x.shape[0]
        group = math.gcd(n, self.group_size)  # a batch the size does not divide: smaller groups
        grouped = x.reshape((n // group, group) + x.shape[1:])
        spread = jnp.sqrt(jnp.var(grouped, axis=1) + 1e-8).mean(axis=tuple(range(1, x.ndim)))
        channel = jnp.broadcast_to(jnp.repeat(spread, group).reshape((n,) + (1,) * (x.ndim - 1)),
                                   x.shape[:-1] + (1,))
        return jnp.concatenate([x, channel.astype(x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (input_shape[-1] + 1,)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


def dcgan_networks(latent=64):
    g = Sequential([
        Dense(7 * 7 * 128, input_shape=(latent,)), BatchNormalization(), LeakyReLU(0.2), Reshape((7, 7, 128)),
        Conv2D(128, 3, padding="same"), BatchNormalization(), LeakyReLU(0.2),
        UpSampling2D(), Conv2D(64, 3, padding="same"), BatchNormalization(), LeakyReLU(0.2),
        UpSampling2D(), Conv2D(32, 3, padding="same"), BatchNormalization(), LeakyReLU(0.2),
        Conv2D(1, 3, padding="same", activation="tanh"),
    ], name="generator")
    d = Sequential([
        Conv2D(64, 4, strides=2, padding="same", input_shape=(28, 28, 1)), LeakyReLU(0.2),
        Conv2D(128, 4, strides=2, padding="same"), LeakyReLU(0.2),
        MinibatchStdDev(4), Conv2D(128, 3, padding="same"), LeakyReLU(0.2),
        Flatten(), Dense(1, activation="sigmoid"),
    ], name="discriminator")
    return g, d


def dcgan_lite_networks(latent=64):
    """The first design (see the docstring): one convolution per resolution, dropout in the discriminator."""
    g = Sequential([
        Dense(7 * 7 * 128, input_shape=(latent,)), BatchNormalization(), LeakyReLU(0.2), Reshape((7, 7, 128)),
        UpSampling2D(), Conv2D(64, 3, padding="same"), BatchNormalization(), LeakyReLU(0.2),
        UpSampling2D(), Conv2D(1, 3, padding="same", activation="tanh"),
    ], name="generator")
    d = Sequential([
        Conv2D(64, 4, strides=2, padding="same", input_shape=(28, 28, 1)), LeakyReLU(0.2),
        Conv2D(128, 4, strides=2, padding="same"), LeakyReLU(0.2),
        Flatten(), Dropout(0.3), Dense(1, activation="sigmoid"),
    ], name="discriminator")
    return g, d


def book_networks():
    """E4.1's generator and discriminator (book.md; Keras 1's ``border_mode`` is ``padding``)."""
    g = Sequential([
        Dense(1024, input_shape=(100,)), Activation("tanh"),
        Dense(128 * 7 * 7), BatchNormalization(), Activation("tanh"), Reshape((7, 7, 128)),
        UpSampling2D(size=(2, 2)), Conv2D(64, (5, 5), padding="same"), Activation("tanh"),
        UpSampling2D(size=(2, 2)), Conv2D(1, (5, 5), padding="same"), Activation("tanh"),
    ], name="generator")
    d = Sequential([
        Conv2D(64, (5, 5), padding="same", input_shape=(28, 28, 1)), Activation("tanh"),
        MaxPooling2D(pool_size=(2, 2)),
        Conv2D(128, (5, 5)), Activation("tanh"), MaxPooling2D(pool_size=(2, 2)),
        Flatten(), Dense(1024), Activation("tanh"), Dense(1), Activation("sigmoid"),
    ], name="discriminator")
    return g, d


def pair_networks():
    """E4.2's adversarial pair (keras-adversarial's example_gan_convolutional.py): images in [0, 1]."""
    g = Sequential([
        Dense(256 * 14 * 14, input_shape=(100,)), BatchNormalization(), Activation("relu"),
        Reshape((14, 14, 256)), UpSampling2D(size=(2, 2)),
        Conv2D(128, (3, 3), padding="same"), BatchNormalization(), Activation("relu"),
        Conv2D(64, (3, 3), padding="same"), BatchNormalization(), Activation("relu"),
        Conv2D(1, (1, 1), padding="same", activation="sigmoid"),
    ], name="generator")
    d = Sequential([
        Conv2D(256, (5, 5), strides=2, padding="same", activation="relu", input_shape=(28, 28, 1)), LeakyReLU(0.2),
        Dropout(0.5),
        Conv2D(512, (5, 5), strides=2, padding="same", activation="relu"), LeakyReLU(0.2), Dropout(0.5),
        Flatten(), Dense(256), LeakyReLU(0.2), Dropout(0.5), Dense(1, activation="sigmoid"),
    ], name="discriminator")
    return g, d


# ---- a stop after a training-time budget ---------------------------------------------------------------
class TimeBudget(Callback):
    """Stops after the epoch in which the training time (without the scoring callbacks) passes ``minutes``."""

    reads_weights = False

    def __init__(self, minutes):
        super().__init__()
        self.minutes, self.trained, self._start = minutes, 0.0, None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.trained += time.perf_counter() - self._start  # the user callbacks before this one have run
        logs["train_minutes"] = self.trained / 60
        if self.minutes and self.trained >= 60 * self.minutes:
            self.model.stop_training = True


class RawScore(Callback):
    """Logs the trained generator's inception score as ``raw_inception_score`` (before SwapEMAWeights)."""

    def __init__(self, quality):
        super().__init__()
        self.quality = quality

    def on_epoch_end(self, epoch, logs=None):
        logs["raw_inception_score"] = self.quality.score()["inception_score"]


def report_epoch(epoch, logs):
    print(f"epoch {epoch + 1:3d}  d_loss {logs['d_loss']:.3f}  g_loss {logs['g_loss']:.3f}  inception "
          f"{logs['inception_score']:.3f}  frechet {logs['frechet_distance']:8.3f}  digit shares "
          f"{logs['class_share_min']:.3f}..{logs['class_share_max']:.3f}  trained {logs['train_minutes']:.1f} min"
          + (f"  (trained weights: inception {logs['raw_inception_score']:.3f})" if "raw_inception_score" in logs
             else ""), flush=True)


def summarize(rows, reference, minutes):
    """The best epoch that ended within the training budget (the last epoch passes it) against the goal."""
    within = [r for r in rows if not minutes or r["train_minutes"] <= minutes] or rows[:1]
    best = max(within, key=lambda r: r["inception_score"])
    ok_share = GOAL["share_low"] <= best["class_share_min"] and best["class_share_max"] <= GOAL["share_high"]
    fd = [r["frechet_distance"] for r in rows]
    print(f"\nreal test images: inception {reference['inception_score']:.3f}, digit shares "
          f"{reference['class_share_min']:.3f}..{reference['class_share_max']:.3f}")
    print(f"best epoch {best['epoch']}: inception {best['inception_score']:.3f} (goal >= {GOAL['inception_score']}: "
          f"{'met' if best['inception_score'] >= GOAL['inception_score'] else 'NOT met'}), digit shares "
          f"{best['class_share_min']:.3f}..{best['class_share_max']:.3f} (goal 0.05..0.15: "
          f"{'met' if ok_share else 'NOT met'}), frechet {fd[0]:.2f} -> {best['frechet_distance']:.2f} "
          f"(last {fd[-1]:.2f}) after {best['train_minutes']:.1f} min of training (budget {minutes} min)"
          + (f"; the last epoch, past the budget: inception {rows[-1]['inception_score']:.3f}"
             if rows[-1] not in within else ""))
    return best


def main(argv=None):
    p = common.parser("mnist_gan", __doc__.splitlines()[0], epochs=60, seed=42,
                      epochs_help="at most this many epochs (default 60; --minutes usually stops first)")
    p.add_argument("--model", choices=("dcgan", "dcgan_lite", "book", "pair"), default="dcgan",
                   help="dcgan (default), dcgan_lite (the first design), book (E4.1) or pair (E4.2)")
    p.add_argument("--minutes", type=float, default=60.0, help="training-time budget in minutes (0: none)")
    p.add_argument("--classifier", default=None, help="scoring LeNet file (default: <logdir>/lenet.h5)")
    p.add_argument("--limit", type=int, default=None, help="train on the first LIMIT images only")
    p.add_argument("--samples", type=int, default=1000, help="samples scored per epoch (default 1000)")
    p.add_argument("--ema", type=float, default=0.999,
                   help="dcgan: the generator's optimizer keeps this moving average of its weights (use_ema), "
                        "which is scored and shown (default 0.999; 0: none)")
    args = p.parse_args(argv)
    common.start(args)
    os.makedirs(args.logdir, exist_ok=True)
    x_train, x_test, y_test = load_images()
    if args.limit:
        x_train = x_train[:args.limit]
    lenet, lenet_acc = classifier(args.classifier or os.path.join(args.logdir, "lenet.h5"), x_test, y_test,
                                  args.verbose)
    common.start(args)
    g, d = {"book": book_networks, "pair": pair_networks, "dcgan": dcgan_networks,
            "dcgan_lite": dcgan_lite_networks}[args.model]()
    print(f"{args.model}: generator {g.count_params():,} parameters (expected {BOOK_PARAMS[args.model][0]:,}), "
          f"discriminator {d.count_params():,} (expected {BOOK_PARAMS[args.model][1]:,})")
    unit = args.model == "pair"  # E4.2's generator ends in a sigmoid: its images are in [0, 1]
    if unit:
        x_train = (x_train + 1.0) / 2.0
    quality = SampleQuality(x_test, lenet, n=args.samples, verbose=0,
                            to_classifier=(lambda x: x) if unit else (lambda x: (x + 1.0) / 2.0))
    board = common.tensorboard(args.logdir)
    grid = SampleGrid(os.path.join(args.logdir, "samples-{epoch:03d}.png"), n=100, rows=10, tensorboard=board,
                      value_range=(0, 1) if unit else (-1, 1))
    budget = TimeBudget(args.minutes)
    rows = []

    def record(epoch, logs):
        rows.append({"epoch": epoch + 1, **logs})
        report_epoch(epoch, logs)
    from arena.callbacks import CSVLogger, LambdaCallback
    callbacks = [budget, quality, grid, LambdaCallback(on_epoch_end=record),
                 CSVLogger(os.path.join(args.logdir, f"{args.model}.csv")), board]
    if args.model in ("dcgan", "dcgan_lite"):
        gan = GAN(g, d, label_smoothing=0.1)
        ema = dict(use_ema=True, ema_momentum=args.ema) if args.ema else {}
        gan.compile(d_optimizer=Adam(2e-4, beta_1=0.5), g_optimizer=Adam(2e-4, beta_1=0.5, **ema))
        if args.ema:  # score the trained generator too, then the average (SwapEMAWeights) for the rest
            callbacks[1:1] = [RawScore(quality), SwapEMAWeights(swap_on_epoch=True)]
        gan.fit(x_train, epochs=args.epochs, batch_size=128, verbose=0, callbacks=callbacks)
        gan.save(os.path.join(args.logdir, "gan.h5"))
    elif args.model == "pair":  # the repo's optimizers and batch; both players each batch (alternating here)
        gan = GAN(g, d)
        gan.compile(d_optimizer=Adam(1e-3, decay=1e-4), g_optimizer=Adam(1e-4, decay=1e-4))
        gan.fit(x_train, epochs=args.epochs, batch_size=32, verbose=0, callbacks=callbacks)
        gan.save(os.path.join(args.logdir, "gan.h5"))
    else:
        train_book(g, d, x_train, args, callbacks, quality, grid)
    best = summarize(rows, quality.reference, args.minutes)
    return {"rows": rows, "best": best, "reference": quality.reference, "lenet_accuracy": lenet_acc,
            "params": (g.count_params(), d.count_params())}


def train_book(g, d, x_train, args, callbacks, quality, grid):
    """The repo's loop: D on real + generated (labels 1 / 0), then G through the frozen D (label 1)."""
    d_optim = SGD(learning_rate=0.0005, momentum=0.9, nesterov=True)
    g_optim = SGD(learning_rate=0.0005, momentum=0.9, nesterov=True)
    d.trainable = False
    z = Input(shape=(100,))
    d_on_g = Model(z, d(g(z)), name="d_on_g")
    d_on_g.compile(loss="binary_crossentropy", optimizer=g_optim)
    d.trainable = True
    d.compile(loss="binary_crossentropy", optimizer=d_optim)
    holder = Model(z, d(g(z)), name="book_gan")  # what the callbacks see: .generator, .noise, .stop_training
    holder.generator, holder.noise = g, "uniform"
    for cb in callbacks:
        cb.set_model(holder)
    rng = np.random.default_rng(args.seed)
    batch, steps = 128, len(x_train) // 128
    holder.stop_training = False
    for cb in callbacks:
        cb.on_train_begin()
    for epoch in range(args.epochs):
        for cb in callbacks:
            cb.on_epoch_begin(epoch)
        d_losses, g_losses = [], []
        for i in range(steps):
            images = x_train[i * batch:(i + 1) * batch]
            noise = rng.uniform(-1, 1, size=(batch, 100)).astype(np.float32)
            fake = g.predict(noise, batch_size=batch)
            d_losses.append(d.train_on_batch(np.concatenate([images, fake]), np.array([1] * batch + [0] * batch)))
            noise = rng.uniform(-1, 1, size=(batch, 100)).astype(np.float32)
            g_losses.append(d_on_g.train_on_batch(noise, np.ones(batch)))
        logs = {"d_loss": float(np.mean(d_losses)), "g_loss": float(np.mean(g_losses))}
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs)
        if holder.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end({})


if __name__ == "__main__":
    main()
