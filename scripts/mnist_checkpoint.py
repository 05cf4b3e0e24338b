"""E2.3: checkpoint every epoch with ModelCheckpoint, then resume from the last checkpoint.

    python scripts/mnist_checkpoint.py [--epochs 20] [--stop-after 10] [--outdir runs/mnist_checkpoint/checkpoints]

The book's use case: training on a VM that may be preempted. The network is the chapter 2 MLP,
Dense relu -> Dropout -> Dense relu -> Dropout -> Dense(10) softmax with rmsprop; the book lost the
sizes and epochs, so this uses Keras' mnist_mlp values (512 / 0.2 / 512 / 0.2, batch 128,
validation_split 0.1, 20 epochs). ``ModelCheckpoint('model-{epoch:02d}.h5')`` writes a full model
file (architecture, weights, optimizer state) after each epoch. Training "is preempted" after
``--stop-after`` epochs; a fresh start then reloads the newest checkpoint with ``load_model``,
evaluates it, and continues to ``--epochs`` with ``initial_epoch`` set, so the epoch numbers (and
the checkpoint names) carry on where they stopped.
"""
import glob
import os
import sys

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from arena.callbacks import ModelCheckpoint  # noqa: E402
from arena.nn import Dense, Dropout, Sequential, load_model  # noqa: E402

PATTERN = "model-{epoch:02d}.h5"


def latest_checkpoint(folder):
    """The newest ``model-NN.h5`` in ``folder`` and its epoch number, or (None, 0)."""
    files = sorted(glob.glob(os.path.join(folder, "model-*.h5")))
    if not files:
        return None, 0
    return files[-1], int(os.path.basename(files[-1])[len("model-"):-len(".h5")])


def build():
    model = Sequential([Dense(512, activation="relu", input_shape=(784,)), Dropout(0.2),
                        Dense(512, activation="relu"), Dropout(0.2), Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    return model


def fit(model, data, args, initial_epoch, epochs):
    x_train, y_train = data
    checkpoint = ModelCheckpoint(os.path.join(args.outdir, PATTERN))
    return model.fit(x_train, y_train, batch_size=128, epochs=epochs, initial_epoch=initial_epoch,
                     validation_split=0.1, verbose=args.verbose,
                     callbacks=[checkpoint, common.tensorboard(args.logdir)])


def main(argv=None):
    p = common.parser("mnist_checkpoint", __doc__.splitlines()[0], epochs=20)
    p.add_argument("--stop-after", type=int, default=None, help="epochs before the simulated preemption "
                   "(default: half of --epochs)")
    p.add_argument("--outdir", default=os.path.join("runs", "mnist_checkpoint", "checkpoints"),
                   help="checkpoint folder (emptied of old model-*.h5 first)")
    p.add_argument("--limit", type=int, default=None, help="train on the first LIMIT training rows only")
    args = p.parse_args(argv)
    stop_after = args.epochs // 2 if args.stop_after is None else args.stop_after
    os.makedirs(args.outdir, exist_ok=True)
    for old in glob.glob(os.path.join(args.outdir, "model-*.h5")):
        os.remove(old)
    common.start(args)
    (x_train, y_train), (x_test, y_test) = common.load_mnist(flat=True, limit=args.limit)

    with common.Timer() as t1:
        model = build()
        fit(model, (x_train, y_train), args, 0, stop_after)
    print(f"\nTrained epochs 1-{stop_after} in {t1.seconds:.1f} s, then 'preempted'. Checkpoints: "
          f"{sorted(os.path.basename(f) for f in glob.glob(os.path.join(args.outdir, 'model-*.h5')))}")
    del model

    path, epoch = latest_checkpoint(args.outdir)
    model = load_model(path)  # compiled, with its optimizer state and step counter
    reloaded_steps = model.iterations
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"Reloaded {path} (epoch {epoch}, {model.iterations} optimizer steps): "
          f"test loss {loss:.4f}, accuracy {100 * acc:.2f} %")

    with common.Timer() as t2:
        history = fit(model, (x_train, y_train), args, epoch, args.epochs)
    loss, final_acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"Resumed at epoch {epoch + 1}, trained to epoch {args.epochs} in {t2.seconds:.1f} s: "
          f"{model.iterations} optimizer steps in all; test loss {loss:.4f}, accuracy {100 * final_acc:.2f} %")
    latest, last_epoch = latest_checkpoint(args.outdir)
    print(f"Newest checkpoint: {latest}")
    result = common.report("E2.3 (Keras mnist_mlp sizes; the book gives no figure)", history, final_acc,
                           (None, None, None), t1.seconds + t2.seconds, args.epochs)
    result.update(reloaded_test=100 * acc, reloaded_epoch=epoch, reloaded_steps=reloaded_steps,
                  final_steps=model.iterations, last_epoch=last_epoch)
    return result


if __name__ == "__main__":
    main()
