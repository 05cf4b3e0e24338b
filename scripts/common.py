"""What the book's scripts share: MNIST prepared the book's way, the book's networks, command-line
options, TensorBoard logging, the "measured vs book" report, and the training curves as a table and
a PNG.

Every script exposes ``main(argv=None)`` so tests can call it; run one as ``python scripts/<name>.py``.
"""
import argparse
import os
import time

import numpy as np

import arena
from arena.callbacks import TensorBoard
from arena.datasets import mnist
from arena.nn import Conv2D, Dense, Dropout, Flatten, MaxPooling2D, Sequential, clear_session
from arena.utils import to_categorical

BOOK_SEED = 1671  # np.random.seed(1671) in the book's chapter 1 and 3 scripts
NB_CLASSES = 10


# ---- command line ----------------------------------------------------------------------------------
def parser(name, description, epochs, seed=BOOK_SEED, verbose=2, epochs_help=None):
    """An ArgumentParser with the options every script has: --epochs, --seed, --logdir, --verbose."""
    p = argparse.ArgumentParser(prog=f"{name}.py", description=description)
    p.add_argument("--epochs", type=int, default=epochs, help=epochs_help or f"training epochs (book: {epochs})")
    p.add_argument("--seed", type=int, default=seed, help=f"random seed (default {seed})")
    p.add_argument("--logdir", default=os.path.join("runs", name),
                   help=f"TensorBoard log folder (default runs/{name})")
    p.add_argument("--verbose", type=int, default=verbose, choices=(0, 1, 2),
                   help="0 silent, 1 progress bar, 2 one line per epoch")
    return p


def start(args):
    """Seed everything and restart layer names (dense_1, ...) so each run is reproducible and
    names its layers as a fresh Keras session would."""
    arena.set_seed(args.seed)
    clear_session()


def tensorboard(logdir):
    """The TensorBoard callback every script passes to ``fit`` (``tensorboard --logdir runs``)."""
    return TensorBoard(log_dir=logdir)


# ---- data --------------------------------------------------------------------------------------------
def load_mnist(flat=True, limit=None):
    """MNIST as the book prepares it: float32 in [0, 1], one-hot labels over 10 classes.

    ``flat``: images as 784-vectors (chapter 1) or 28x28x1 (channels-last LeNet, chapter 3).
    ``limit``: keep only the first ``limit`` training rows (the test set stays whole).
    Returns ``(x_train, y_train), (x_test, y_test)``.
    """
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
    shape = (784,) if flat else (28, 28, 1)

    def prep(x):
        return x.reshape((len(x),) + shape).astype(np.float32) / 255.0

    return ((prep(x_train), to_categorical(y_train, NB_CLASSES)),
            (prep(x_test), to_categorical(y_test, NB_CLASSES)))


# ---- networks --------------------------------------------------------------------------------------
def softmax_regression():
    """E1.1: Dense(10) -> softmax on 784 inputs [7,850 params]."""
    return Sequential([Dense(NB_CLASSES, input_shape=(784,), activation="softmax")])


def mlp(dropout=0.0, hidden=128):
    """E1.2 (no dropout) / E1.3-E1.5 (dropout 0.3): 784 -> Dense(128) relu [-> Dropout]
    -> Dense(128) relu [-> Dropout] -> Dense(10) softmax [118,282 params]."""
    layers = [Dense(hidden, input_shape=(784,), activation="relu")]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(hidden, activation="relu"))
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(NB_CLASSES, activation="softmax"))
    return Sequential(layers)


def lenet():
    """E3.1 LeNet on 28x28x1 [1,256,080 params]: Conv(20, 5x5, same) relu -> MaxPool 2 ->
    Conv(50, 5x5, same) relu -> MaxPool 2 -> Flatten -> Dense(500) relu -> Dense(10) softmax."""
    return Sequential([
        Conv2D(20, kernel_size=5, padding="same", activation="relu", input_shape=(28, 28, 1)),
        MaxPooling2D(pool_size=(2, 2), strides=(2, 2)),
        Conv2D(50, kernel_size=5, padding="same", activation="relu"),
        MaxPooling2D(pool_size=(2, 2), strides=(2, 2)),
        Flatten(),
        Dense(500, activation="relu"),
        Dense(NB_CLASSES, activation="softmax"),
    ])


# ---- reporting --------------------------------------------------------------------------------------
def pct(value):
    return "-" if value is None else f"{100.0 * value:.2f}"


def last(history, key):
    values = history.history.get(key)
    return values[-1] if values else None


def report(title, history, test_acc, book, seconds, epochs, acc="accuracy"):
    """Print train/val/test accuracy (%) of the last epoch beside the book's (train, val, test) figures.

    ``book`` holds percentages (None where the book gives none). Returns the measured dict."""
    measured = {"train": last(history, acc), "val": last(history, f"val_{acc}"), "test": test_acc}
    print(f"\n{title}: {epochs} epoch(s), {seconds:.1f} s")
    print(f"  {'':8s}{'Arena %':>10s}{'book %':>10s}")
    for (name, value), ref in zip(measured.items(), book):
        print(f"  {name:8s}{pct(value):>10s}{'-' if ref is None else f'{ref:.2f}':>10s}")
    return {k: None if v is None else 100.0 * v for k, v in measured.items()}


class Timer:
    """``with Timer() as t: ...``; then ``t.seconds``."""

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start


def save_figure(fig, path):
    """Lay out ``fig``, write it to ``path`` (folders made as needed), close it; returns ``path``."""
    import matplotlib.pyplot as plt
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def print_curves(history, acc="accuracy"):
    """The per-epoch loss and accuracy, train and validation, as a table."""
    h = history.history
    print(f"\n  {'epoch':>5s}{'loss':>9s}{'acc':>9s}{'val_loss':>10s}{'val_acc':>9s}")
    for i in range(len(h["loss"])):
        print(f"  {i + 1:5d}{h['loss'][i]:9.4f}{h[acc][i]:9.4f}{h['val_loss'][i]:10.4f}{h['val_' + acc][i]:9.4f}")


def save_curves(history, path, acc="accuracy", val_label="Validation"):
    """The book's two-panel accuracy / loss plot as a PNG (skipped when matplotlib is missing)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    h = history.history
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6, 6))
    top.set_title("Accuracy")
    top.plot(h[acc], color="g", label="Train")
    top.plot(h["val_" + acc], color="b", label=val_label)
    top.legend(loc="best")
    bottom.set_title("Loss")
    bottom.plot(h["loss"], color="g", label="Train")
    bottom.plot(h["val_loss"], color="b", label=val_label)
    bottom.legend(loc="best")
    return save_figure(fig, path)
