"""E4.3: the adversarial pair on CIFAR-10 (keras-adversarial's example_gan_cifar10.py) on ``arena.nn.GAN``.

    python scripts/cifar10_gan.py [--epochs N] [--minutes M] [--classifier PATH] [--limit N]

Networks (book.md) [generator 1,870,083, discriminator 1,035,649], every kernel with L1L2(1e-7, 1e-7):
- generator: z ~ N(0, 1) of 100 -> Dense(4096) -> BatchNorm -> Reshape(4, 4, 256) -> 3 x [Conv2D(5x5,
  same) -> BatchNorm -> LeakyReLU(0.2) -> UpSampling2D] with 128, 128 and 64 filters -> Conv2D(3, 5x5,
  same) -> sigmoid, 32x32x3 in [0, 1];
- discriminator: [Conv2D(5x5, same) -> MaxPool -> LeakyReLU(0.2)] with 64, 128 and 256 filters ->
  Conv2D(1, 5x5, same) -> AveragePooling(4) -> Flatten -> sigmoid. (This is the repo's; the book's text
  adds SpatialDropout2D and a second discriminator copy via keras-adversarial's ``player_models``.)
Training (repo): generator Adam(1e-4, decay 1e-5), discriminator Adam(1e-3, decay 1e-5), batch 32,
images x / 255; the repo runs 100 epochs (the notebook logs ~1,580 s an epoch). The discriminator
and then the generator are updated on every batch (keras-adversarial updates both at once).

Each epoch a 10x10 fixed-noise grid is saved as ``samples-NNN.png`` (and to TensorBoard). With
``--classifier`` (an Arena CIFAR-10 classifier file taking [0, 1] images), the samples are scored as
in ``mnist_gan.py`` (inception-score analogue, Frechet distance to the test images, class shares).
"""
import os
import sys

import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from scripts.mnist_gan import TimeBudget  # noqa: E402
from arena.callbacks import CSVLogger, SampleGrid, SampleQuality  # noqa: E402
from arena.datasets import cifar10  # noqa: E402
from arena.nn import (GAN, Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Flatten,  # noqa: E402
                      LeakyReLU, MaxPooling2D, Reshape, Sequential, UpSampling2D, load_model, regularizers)
from arena.nn.optimizers import Adam  # noqa: E402

BOOK_PARAMS = (1_870_083, 1_035_649)


def networks():
    def reg():
        return regularizers.L1L2(1e-7, 1e-7)
    layers = [Dense(4 * 4 * 256, input_shape=(100,), kernel_regularizer=reg()), BatchNormalization(),
              Reshape((4, 4, 256))]
    for filters in (128, 128, 64):
        layers += [Conv2D(filters, (5, 5), padding="same", kernel_regularizer=reg()), BatchNormalization(),
                   LeakyReLU(0.2), UpSampling2D(size=(2, 2))]
    layers += [Conv2D(3, (5, 5), padding="same", kernel_regularizer=reg()), Activation("sigmoid")]
    g = Sequential(layers, name="generator")
    layers = []
    for filters in (64, 128, 256):
        layers += [Conv2D(filters, (5, 5), padding="same", kernel_regularizer=reg(),
                          **({"input_shape": (32, 32, 3)} if filters == 64 else {})),
                   MaxPooling2D(pool_size=(2, 2)), LeakyReLU(0.2)]
    layers += [Conv2D(1, (5, 5), padding="same", kernel_regularizer=reg()), AveragePooling2D(pool_size=(4, 4)),
               Flatten(), Activation("sigmoid")]
    return g, Sequential(layers, name="discriminator")


def main(argv=None):
    p = common.parser("cifar10_gan", __doc__.splitlines()[0], epochs=100, seed=42)
    p.add_argument("--minutes", type=float, default=0.0, help="training-time budget in minutes (0: none)")
    p.add_argument("--classifier", default=None, help="an Arena CIFAR-10 classifier file to score samples with")
    p.add_argument("--limit", type=int, default=None, help="train on the first LIMIT (shuffled) images only")
    p.add_argument("--samples", type=int, default=1000, help="samples scored per epoch with --classifier")
    args = p.parse_args(argv)
    common.start(args)
    os.makedirs(args.logdir, exist_ok=True)
    (x_train, _), (x_test, _) = cifar10.load_data()
    order = np.random.default_rng(args.seed).permutation(len(x_train))  # the offline set is sorted by class
    x_train = x_train[order][:args.limit].astype(np.float32) / 255.0
    x_test = x_test.astype(np.float32) / 255.0
    g, d = networks()
    print(f"E4.3: generator {g.count_params():,} parameters (book {BOOK_PARAMS[0]:,}), discriminator "
          f"{d.count_params():,} (book {BOOK_PARAMS[1]:,}); {len(x_train):,} training images")
    board = common.tensorboard(args.logdir)
    budget = TimeBudget(args.minutes)
    callbacks = [budget]
    if args.classifier:
        callbacks.append(SampleQuality(x_test, load_model(args.classifier), n=args.samples, verbose=1))
    callbacks += [SampleGrid(os.path.join(args.logdir, "samples-{epoch:03d}.png"), n=100, rows=10,
                             value_range=(0, 1), tensorboard=board),
                  CSVLogger(os.path.join(args.logdir, "history.csv")), board]
    gan = GAN(g, d)
    gan.compile(d_optimizer=Adam(1e-3, decay=1e-5), g_optimizer=Adam(1e-4, decay=1e-5))
    history = gan.fit(x_train, epochs=args.epochs, batch_size=32, verbose=args.verbose, callbacks=callbacks)
    gan.save(os.path.join(args.logdir, "gan.h5"))
    h = history.history
    print(f"E4.3: {len(h['d_loss'])} epoch(s) in {budget.trained / 60:.1f} min: d_loss {h['d_loss'][0]:.3f} -> "
          f"{h['d_loss'][-1]:.3f}, g_loss {h['g_loss'][0]:.3f} -> {h['g_loss'][-1]:.3f}")
    return {"params": (g.count_params(), d.count_params()), "history": h}


if __name__ == "__main__":
    main()
