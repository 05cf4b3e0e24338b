"""B.3 (the HDFView blog post): learn OR and AND with one softmax layer, save each model to HDF5
and recompute its predictions by hand from the kernel and bias stored in the file.

    python scripts/or_and.py [--epochs 50] [--seed S] [--outdir runs/or_and]

Dense(2) -> softmax on 2 inputs [a 2x2 kernel and a bias of 2]; SGD(lr=0.2), binary_crossentropy,
accuracy (binary accuracy, as Keras resolves it for that loss); 50 epochs at batch 128, i.e. 50
full-batch steps. The post says a run sometimes misses 100 % and should be repeated; here the
default seed is one for which both OR and AND reach 100 %.
"""
import os
import sys

import h5py
import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from arena.nn import Dense, Sequential, optimizers  # noqa: E402
from arena.utils import to_categorical  # noqa: E402

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
TRUTH = {"or": [0, 1, 1, 1], "and": [0, 0, 0, 1]}
DEFAULT_SEED = 1  # the first seed for which both OR and AND reach 100 % (seeds 0, 5 and 11 of 0-11 miss)


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def fmt(a):
    """A nested list with 4 decimals: [[-1.5582, 0.9989], [-0.9153, 0.4223]]."""
    return "[" + ", ".join(fmt(r) for r in a) + "]" if np.ndim(a) else f"{a:.4f}"


def train(gate, args):
    """Train, evaluate and save one gate; returns its results (a dict)."""
    y = to_categorical(TRUTH[gate], 2)
    model = Sequential([Dense(2, input_dim=2, activation="softmax")])
    model.compile(loss="binary_crossentropy", optimizer=optimizers.SGD(learning_rate=0.2), metrics=["accuracy"])
    model.fit(X, y, epochs=args.epochs, batch_size=128, verbose=args.verbose,
              callbacks=[common.tensorboard(os.path.join(args.logdir, gate))])
    loss, acc = model.evaluate(X, y, verbose=0)
    proba = model.predict(X)
    path = os.path.join(args.outdir, f"{gate}.hdf")
    model.save(path)

    # What HDFView shows: plain datasets at Keras 2's path model_weights/<layer>/<layer>/<weight>:0.
    layer = model.layers[-1].name
    with h5py.File(path, "r") as f:
        kernel = f[f"model_weights/{layer}/{layer}/kernel:0"][()]
        bias = f[f"model_weights/{layer}/{layer}/bias:0"][()]
    by_hand = softmax(X @ kernel + bias)  # the post's spreadsheet: dot product + bias -> softmax

    print(f"\n{gate.upper()}: loss {loss:.4f}, accuracy {100 * acc:.1f} %  (post: 100 %, rerun if not); "
          f"saved {path}")
    print(f"  {path}: model_weights/{layer}/{layer}/kernel:0 = {fmt(kernel)}, bias:0 = {fmt(bias)}")
    print(f"  {'input':8s}{'truth':>6s}{'P(True) predict':>17s}{'P(True) by hand':>17s}{'class':>7s}")
    for xi, t, p, h in zip(X.astype(int).tolist(), TRUTH[gate], proba[:, 1], by_hand[:, 1]):
        print(f"  {str(xi):8s}{t:>6d}{p:>17.4f}{h:>17.4f}{int(p > 0.5):>7d}")
    match = bool(np.allclose(by_hand, proba, atol=1e-5))
    print(f"  hand computation matches predict: {match}")
    return {"accuracy": acc, "loss": loss, "classes": proba.argmax(-1).tolist(), "path": path,
            "kernel": kernel, "bias": bias, "by_hand_matches": match}


def main(argv=None):
    p = common.parser("or_and", __doc__.splitlines()[0], epochs=50, seed=DEFAULT_SEED, verbose=0)
    p.add_argument("--outdir", default=os.path.join("runs", "or_and"), help="where or.hdf / and.hdf go")
    args = p.parse_args(argv)
    os.makedirs(args.outdir, exist_ok=True)
    results = {}
    for gate in ("or", "and"):
        common.start(args)  # the same seed for each gate; both layers are named dense_1, as in the post
        results[gate] = train(gate, args)
    return results


if __name__ == "__main__":
    main()
