"""E1.1-E1.5: MNIST with the chapter 1 networks (the repo's keras_MINST_V1..V4.py).

    python scripts/mnist_mlp.py --version v1|v2|v3|v4|adam [--epochs N] [--seed 1671] [--limit ROWS]
                                [--dtype-policy mixed_bfloat16] [--devices N]
                                [--coordinator HOST:PORT --num-processes N --process-id I]

  v1    E1.1  Dense(10) softmax regression, SGD(), 200 epochs     book 92.36 / 92.27 / 92.22 %
  v2    E1.2  MLP 2x128 relu, SGD(), 20 epochs                   book 94.50 / 94.63 / 94.41 %
  v3    E1.3  v2 + Dropout(0.3) after each hidden layer, SGD()   book 91.54 / 94.48 / 94.25 % (20 ep)
  v4    E1.4  the v3 net with RMSprop(), 20 epochs               book 97.97 / 97.59 / 97.84 %
  adam  E1.5  the v3 net with Adam(), 20 epochs                  book 98.28 / 98.03 / 97.93 %

(train / validation / test accuracy.) All: 784 inputs /255, one-hot, categorical cross-entropy,
batch 128, validation_split 0.2 (the last 12,000 training rows), seed 1671. The train figure is
Keras' running mean over the epoch with dropout active, so it can sit below validation (v3).

``--dtype-policy`` trains in mixed precision (``mixed_float16``, ``mixed_bfloat16``). ``--devices N``
splits each batch over N devices (``arena.distribution.DataParallel``). With ``--coordinator`` (or
the environment variables :func:`arena.distribution.initialize` reads) the script is one of several
processes: each trains on every N-th training row (its own share), the batch of 128 is the global
one, and process 0 alone writes the TensorBoard log and prints the progress.
"""
import os
import sys

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from arena import distribution  # noqa: E402
from arena.nn import mixed_precision, optimizers  # noqa: E402

# version: (example, network builder, optimizer, book epochs, book train / val / test %)
VERSIONS = {
    "v1": ("E1.1", common.softmax_regression, optimizers.SGD, 200, (92.36, 92.27, 92.22)),
    "v2": ("E1.2", lambda: common.mlp(dropout=0.0), optimizers.SGD, 20, (94.50, 94.63, 94.41)),
    "v3": ("E1.3", lambda: common.mlp(dropout=0.3), optimizers.SGD, 20, (91.54, 94.48, 94.25)),
    "v4": ("E1.4", lambda: common.mlp(dropout=0.3), optimizers.RMSprop, 20, (97.97, 97.59, 97.84)),
    "adam": ("E1.5", lambda: common.mlp(dropout=0.3), optimizers.Adam, 20, (98.28, 98.03, 97.93)),
}
BATCH_SIZE = 128
VALIDATION_SPLIT = 0.2


def main(argv=None):
    pre = common.parser("mnist_mlp", __doc__.splitlines()[0], epochs=None,
                        epochs_help="training epochs (default: the book's, 200 for v1, 20 for the others)")
    pre.add_argument("--version", choices=sorted(VERSIONS), default="v1")
    pre.add_argument("--limit", type=int, default=None, help="train on the first LIMIT training rows only")
    pre.add_argument("--steps-per-execution", type=int, default=1,
                     help="optimizer steps per compiled call (fewer Python round trips)")
    pre.add_argument("--dtype-policy", default="float32", choices=("float32", "mixed_float16", "mixed_bfloat16"),
                     help="compute precision (weights stay float32)")
    pre.add_argument("--devices", type=int, default=None, help="split each batch over this many devices")
    pre.add_argument("--coordinator", default=None, help="HOST:PORT of process 0, to run as one of several processes")
    pre.add_argument("--num-processes", type=int, default=None)
    pre.add_argument("--process-id", type=int, default=None)
    args = pre.parse_args(argv)
    example, build, optimizer, book_epochs, book = VERSIONS[args.version]
    epochs = book_epochs if args.epochs is None else args.epochs
    if args.logdir == os.path.join("runs", "mnist_mlp"):  # one run folder per version under runs/mnist_mlp
        args.logdir = os.path.join(args.logdir, args.version)
    several = args.coordinator or os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES") or \
        os.environ.get("JAX_COORDINATOR_ADDRESS")
    if several:  # first, before JAX starts
        distribution.initialize(args.coordinator, args.num_processes, args.process_id)
    if several or args.devices:
        devices = distribution.list_devices()
        distribution.set_distribution(distribution.DataParallel(devices=devices[:args.devices or len(devices)]))
    mixed_precision.set_dtype_policy(args.dtype_policy)
    common.start(args)

    (x_train, y_train), (x_test, y_test) = common.load_mnist(flat=True, limit=args.limit)
    if several:  # this process's share of the training rows (every process evaluates on its share of the test set)
        share = slice(distribution.process_index(), None, distribution.process_count())
        x_train, y_train, x_test, y_test = x_train[share], y_train[share], x_test[share], y_test[share]
    model = build()
    if args.verbose and distribution.is_writer():
        model.summary()
    model.compile(loss="categorical_crossentropy", optimizer=optimizer(), metrics=["accuracy"],
                  steps_per_execution=args.steps_per_execution)
    with common.Timer() as t:
        history = model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=epochs, verbose=args.verbose,
                            validation_split=VALIDATION_SPLIT, callbacks=[common.tensorboard(args.logdir)])
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
    if not distribution.is_writer():  # process 0 reports for the run
        return None
    if epochs != book_epochs:
        print(f"(the book's figures are for {book_epochs} epochs)")
    rows = f", first {args.limit} training rows" if args.limit else ""
    policy = "" if args.dtype_policy == "float32" else f", {args.dtype_policy}"
    return common.report(f"{example} ({args.version}{rows}{policy})", history, test_acc, book, t.seconds, epochs)


if __name__ == "__main__":
    main()
