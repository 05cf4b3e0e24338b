"""E3.3-E3.5: the book's CIFAR-10 networks, without and with augmentation.

    python scripts/cifar10_cnn.py [--model simple|deep] [--augment none|generator|layers] [--epochs N]
                                  [--limit ROWS] [--seed 1671]

- ``simple`` (E3.3, ``keras_CIFAR10_simple.py``) [4,200,842 params]: Conv2D(32, 3x3, same) relu ->
  MaxPool 2 -> Dropout .25 -> Flatten -> Dense(512) relu -> Dropout .5 -> Dense(10) softmax; RMSprop(),
  batch 128, 20 epochs, validation_split 0.2. Book: 66.4 % test.
- ``deep`` (E3.4, ``keras_CIFAR10_V1.py``) [1,676,842]: Conv32 same, Conv32 same, MaxPool, Dropout .25,
  Conv64 same, Conv64 3x3 valid, MaxPool, Dropout .25, Flatten, Dense 512, Dropout .5, Dense 10;
  RMSprop(), batch 128, 40 epochs, validation_split 0.2. Book: 76.9 %.
- ``--augment`` (E3.5: the deep net, 50 epochs of 390 batches of 128 over all 50,000 training images,
  no validation; the repo's generator: shifts 0.1 and horizontal flips). Book: 78.3 %.
  ``generator``: ``ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1,
  horizontal_flip=True).flow(...)`` feeds ``fit`` (host work, prepared in a background thread);
  ``layers``: the same augmentation as Keras 3 preprocessing layers in front of the network
  (RandomTranslation(0.1, 0.1, fill_mode='nearest') and RandomFlip('horizontal')), run inside the
  compiled step; identity at inference.

The book's epochs take too long on 2 CPU cores for E3.4 (40 x 144 s = 96 min) and E3.5 (50 x 150 s):
``--cosine`` is the own setting that reaches their figures in fewer epochs (RMSprop's rate falls from
0.001 to 0 along a cosine instead of staying at 0.001; nothing else changes). ``--best`` keeps the
epoch with the best validation accuracy (a ``ModelCheckpoint(save_best_only=True)``), not the last.

Measured (seed 1671, 2 CPU cores):
- E3.4, ``--model deep --epochs 20 --cosine --best``, 144 s an epoch (48 min): **77.26 %** test (book
  76.9); validation 78.57 % at the kept epoch 19. The book's recipe (constant rate) after 20 of its 40
  epochs: 74.56 % test.
- E3.5, ``--augment layers --epochs 25 --cosine`` (390 batches an epoch, 162 s each, 67 min): **77.34 %**
  test (book 78.3; within the issue's 1 point by 0.04). Not run to the end with ``generator`` (the
  same augmentation on the host: 163 s an epoch against the layers' 144 s in ``benchmarks/bench_cifar.py``).
- E3.3, ``--model simple --best``, 20 epochs of 38 s: **65.70 %** test (book 66.4), the weights of epoch 16
  (validation 67.02 %; the net overfits after it: validation 65.84 % in epoch 20). The book's recipe
  (the last epoch's weights): 65.10 %.
- E3.6 with E3.4's files: the first test cat -> cat (p 0.77), the first test dog -> dog (p 0.45).

The offline set is JPEG and sorted by class: the training rows are shuffled (seeded) before the
validation split. The trained network is saved as ``<logdir>/<name>.json`` (architecture) and
``<logdir>/<name>.weights.h5`` for E3.6 (``scripts/cifar10_predict.py``), and whole as
``<logdir>/<name>.h5`` (E4.3's scorer: ``scripts/cifar10_gan.py --classifier``).
"""
import math
import os
import sys

import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from arena.callbacks import ModelCheckpoint  # noqa: E402
from arena.datasets import cifar10  # noqa: E402
from arena.nn import (Activation, Conv2D, Dense, Dropout, Flatten, MaxPooling2D, RandomFlip,  # noqa: E402
                      RandomTranslation, Sequential, optimizers, schedules)
from arena.utils import to_categorical  # noqa: E402

BOOK = {"simple": (None, None, 66.4), "deep": (None, None, 76.9), "augmented": (None, None, 78.3)}
EPOCHS = {"simple": 20, "deep": 40, "augmented": 50}
PARAMS = {"simple": 4_200_842, "deep": 1_676_842}
BOOK_ID = {"simple": "E3.3", "deep": "E3.4", "augmented": "E3.5"}
INPUT = (32, 32, 3)


def load(seed, limit=None):
    """CIFAR-10 as the book prepares it (/255, one-hot), the training rows shuffled with ``seed``."""
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    order = np.random.default_rng(seed).permutation(len(x_train))[:limit]
    x_train, y_train = x_train[order], y_train[order]
    prep = lambda x: x.astype(np.float32) / 255.0  # noqa: E731
    return (prep(x_train), to_categorical(y_train, 10)), (prep(x_test), to_categorical(y_test, 10))


def _shape(input_shape):
    return {} if input_shape is None else {"input_shape": input_shape}


def simple_net(input_shape=INPUT):
    """E3.3's network [4,200,842 params] (``input_shape=None``: behind other layers)."""
    return [Conv2D(32, (3, 3), padding="same", **_shape(input_shape)), Activation("relu"),
            MaxPooling2D(pool_size=(2, 2)), Dropout(0.25),
            Flatten(), Dense(512), Activation("relu"), Dropout(0.5), Dense(10), Activation("softmax")]


def deep_net(input_shape=INPUT):
    """E3.4's network [1,676,842 params] (the repo's ``Conv2D(64, 3, 3)`` is a 3x3 kernel, stride 1)."""
    return [Conv2D(32, (3, 3), padding="same", **_shape(input_shape)), Activation("relu"),
            Conv2D(32, (3, 3), padding="same"), Activation("relu"),
            MaxPooling2D(pool_size=(2, 2)), Dropout(0.25),
            Conv2D(64, (3, 3), padding="same"), Activation("relu"),
            Conv2D(64, (3, 3)), Activation("relu"),
            MaxPooling2D(pool_size=(2, 2)), Dropout(0.25),
            Flatten(), Dense(512), Activation("relu"), Dropout(0.5), Dense(10), Activation("softmax")]


def augmentation_layers():
    """E3.5's augmentation as on-device preprocessing layers (active in training only)."""
    return [RandomTranslation(0.1, 0.1, fill_mode="nearest", input_shape=INPUT), RandomFlip("horizontal")]


def build(model, augment):
    net = simple_net if model == "simple" else deep_net
    if augment == "layers":
        return Sequential(augmentation_layers() + net(input_shape=None))
    return Sequential(net())


def main(argv=None):
    p = common.parser("cifar10_cnn", __doc__.splitlines()[0], epochs=None,
                      epochs_help="training epochs (book: simple 20, deep 40, augmented 50)")
    p.add_argument("--model", choices=("simple", "deep"), default="simple", help="E3.3 simple or E3.4 deep")
    p.add_argument("--augment", choices=("none", "generator", "layers"), default="none",
                   help="E3.5: augment with ImageDataGenerator or with preprocessing layers (the deep net)")
    p.add_argument("--limit", type=int, default=None, help="train on the first LIMIT (shuffled) rows only")
    p.add_argument("--steps", type=int, default=None, help="augmented: batches per epoch (book: 390)")
    p.add_argument("--cosine", action="store_true",
                   help="own setting: RMSprop's learning rate falls from 0.001 to 0 along a cosine over the run "
                        "(the book keeps it constant), to reach the book's figure in fewer epochs")
    p.add_argument("--best", action="store_true",
                   help="keep the weights of the epoch with the best validation accuracy "
                        "(ModelCheckpoint(save_best_only=True)); not with --augment, which has no validation")
    args = p.parse_args(argv)
    augmented = args.augment != "none"
    if args.best and augmented:
        p.error("--best needs the validation split, which the augmented run (E3.5) does not have")
    common.start(args)
    name = "augmented" if augmented else args.model
    model_name = "deep" if augmented else args.model
    epochs = args.epochs or EPOCHS[name]
    (x_train, y_train), (x_test, y_test) = load(args.seed, args.limit)

    model = build(model_name, args.augment)
    print(f"{BOOK_ID[name]} {name}: {model.count_params():,} parameters "
          f"(book {PARAMS[model_name]:,})" + (f", augmentation: {args.augment}" if augmented else ""))
    steps = (args.steps or len(x_train) // 128) if augmented else math.ceil(len(x_train) * 0.8 / 128)
    learning_rate = schedules.CosineDecay(1e-3, epochs * steps) if args.cosine else 1e-3
    model.compile(loss="categorical_crossentropy", optimizer=optimizers.RMSprop(learning_rate),
                  metrics=["accuracy"])
    os.makedirs(args.logdir, exist_ok=True)
    stem = os.path.join(args.logdir, name if args.augment != "layers" else "augmented_layers")
    callbacks = [common.tensorboard(stem)]
    if args.best:
        callbacks.append(ModelCheckpoint(stem + ".best.weights.h5", monitor="val_accuracy", save_best_only=True,
                                         save_weights_only=True))
    with common.Timer() as t:
        if args.augment == "generator":
            from arena.preprocessing.image import ImageDataGenerator
            datagen = ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True)
            datagen.fit(x_train)  # a no-op for these options, as in the book
            history = model.fit(datagen.flow(x_train, y_train, batch_size=128, seed=args.seed),
                                steps_per_epoch=steps, epochs=epochs, verbose=args.verbose, callbacks=callbacks)
        elif args.augment == "layers":
            history = model.fit(x_train, y_train, batch_size=128, epochs=epochs, steps_per_epoch=steps,
                                verbose=args.verbose, callbacks=callbacks)
        else:
            history = model.fit(x_train, y_train, batch_size=128, epochs=epochs, validation_split=0.2,
                                verbose=args.verbose, callbacks=callbacks)
    if args.best:
        model.load_weights(stem + ".best.weights.h5")
        val = history.history["val_accuracy"]
        print(f"kept the weights of epoch {int(np.argmax(val)) + 1} (validation {100 * max(val):.2f} %)")
    _, test_acc = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    with open(stem + ".json", "w") as f:
        f.write(model.to_json())
    model.save_weights(stem + ".weights.h5")
    model.save(stem + ".h5")  # the whole model: a classifier for cifar10_gan.py --classifier
    print(f"saved {stem}.json, {stem}.weights.h5 and {stem}.h5; {t.seconds / epochs:.1f} s per epoch")
    result = common.report(f"{BOOK_ID[name]} CIFAR-10 {name}", history, test_acc, BOOK[name], t.seconds, epochs)
    result["seconds_per_epoch"] = t.seconds / epochs
    return result


if __name__ == "__main__":
    main()
