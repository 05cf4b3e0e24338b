"""E2.4: a custom callback that records the loss after every batch.

    python scripts/loss_history.py [--epochs 20] [--limit ROWS]

The book's (and Keras' documentation's) example: ``LossHistory(Callback)`` resets a list in
``on_train_begin`` and appends ``logs['loss']`` in ``on_batch_end``. The model is
Dense(10, kernel_initializer='uniform') -> softmax on MNIST with rmsprop, batch 128 (the book lost
the sizes; these are the Keras documentation's). Arena's batch logs hold the running mean of the
epoch so far, as tf.keras reports it (Keras 2.0 reported the batch's own loss); the values are
device scalars, converted here with ``to_float`` (which waits for that step).
"""
import os
import sys

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from arena.callbacks import Callback  # noqa: E402
from arena.callbacks.base import to_float  # noqa: E402
from arena.nn import Activation, Dense, Sequential  # noqa: E402


class LossHistory(Callback):
    def on_train_begin(self, logs=None):
        self.losses = []

    def on_batch_end(self, batch, logs=None):
        self.losses.append(to_float(logs["loss"]))


def main(argv=None):
    p = common.parser("loss_history", __doc__.splitlines()[0], epochs=20, verbose=0)
    p.add_argument("--limit", type=int, default=None, help="train on the first LIMIT training rows only")
    args = p.parse_args(argv)
    common.start(args)
    (x_train, y_train), _ = common.load_mnist(flat=True, limit=args.limit)

    model = Sequential([Dense(10, input_dim=784, kernel_initializer="uniform"), Activation("softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
    history = LossHistory()
    with common.Timer() as t:
        model.fit(x_train, y_train, batch_size=128, epochs=args.epochs, verbose=args.verbose,
                  callbacks=[history, common.tensorboard(args.logdir)])
    per_epoch = -(-len(x_train) // 128)
    print(f"LossHistory: {len(history.losses)} values ({args.epochs} epochs x {per_epoch} batches) "
          f"in {t.seconds:.1f} s")
    print(f"  first {[round(v, 4) for v in history.losses[:3]]} ... last {[round(v, 4) for v in history.losses[-3:]]}")
    return history.losses


if __name__ == "__main__":
    main()
