"""B.1 (thoughtram blog): XOR with one ReLU hidden layer.

    python scripts/xor.py [--epochs 500] [--seed S]

Dense(16, relu) on 2 inputs -> Dense(1, sigmoid) [65 params]; adam, mean squared error,
binary_accuracy; 500 epochs of the 4 rows as one batch. The post's ``predict(X).round()``
gives 0, 1, 1, 0 (how fast it gets there varies with the initialization; the default seed
is one for which it does).
"""
import os
import sys

import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from arena.nn import Dense, Sequential  # noqa: E402

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
Y = np.array([[0], [1], [1], [0]], np.float32)


def main(argv=None):
    args = common.parser("xor", __doc__.splitlines()[0], epochs=500, seed=0, verbose=0).parse_args(argv)
    common.start(args)
    model = Sequential([Dense(16, input_dim=2, activation="relu"), Dense(1, activation="sigmoid")])
    model.compile(loss="mean_squared_error", optimizer="adam", metrics=["binary_accuracy"])
    with common.Timer() as t:
        history = model.fit(X, Y, epochs=args.epochs, batch_size=4, verbose=args.verbose,
                            callbacks=[common.tensorboard(args.logdir)])
    acc = history.history["binary_accuracy"]
    first_full = next((i + 1 for i, a in enumerate(acc) if a == 1.0), None)
    predictions = model.predict(X).round().astype(int).ravel()
    print(f"XOR: {args.epochs} epochs in {t.seconds:.1f} s; final loss {history.history['loss'][-1]:.4f}, "
          f"binary_accuracy {acc[-1]:.2f} (first 1.0 at epoch {first_full}; the post: ~24)")
    print(f"predict(X).round() = {predictions.tolist()}   (book: [0, 1, 1, 0])")
    return predictions


if __name__ == "__main__":
    main()
