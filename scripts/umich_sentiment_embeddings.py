"""E5.5: SI650 sentiment with word embeddings learned from scratch (the book repo's
Chapter05/learn_embedding_from_scratch.py).

    python scripts/umich_sentiment_embeddings.py [--epochs 20] [--seed 42] [--limit ROWS]

Data (book.md's shared SI650 setup): the 7,086 sentences, tokenized then lower-cased. The book calls
NLTK's ``word_tokenize``; its sentence splitter (``punkt``) is not available offline, so the
Treebank word tokenizer alone (``arena.datasets.tokenize.word_tokenize``) runs on each whole line,
as book.md prescribes. Vocabulary: the 5,000 most frequent words at 1.. (SI650 has fewer, so all are
kept); index 0 is both PAD and unknown. Sequences are front-padded to the longest sentence (book:
42). One-hot labels over 2 classes; ``train_test_split(test_size=0.3, random_state=42)`` (4,960 /
2,126); the test split is also the validation data.

Model [100 V + 77,570 params]: Embedding(V, 100) -> SpatialDropout1D(0.2) -> Conv1D(256, 3, valid,
relu) -> GlobalMaxPooling1D -> Dense(2, softmax). The repo passes ``SpatialDropout1D(Dropout(0.2))``,
a no-op under its Python 2; the intended rate 0.2 is used (book.md section 11). adam, categorical
cross-entropy, batch 64, 20 epochs. Book figure: 98.6 % test accuracy.
SI650 holds only 1,410 distinct sentences among its 7,086 rows: about 81 % of the test sentences
also occur verbatim in the training split, so test accuracy mostly measures memorization and sits
near 99 %-99.6 % with any seed.

Printed: the per-epoch curve, then test loss and accuracy beside the book's; the curves are also
saved as ``curves.png`` in the log folder.
"""
import collections
import os
import sys

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from arena.datasets import umich_sentiment  # noqa: E402
from arena.datasets.tokenize import word_tokenize  # noqa: E402
from arena.nn import Conv1D, Dense, Embedding, GlobalMaxPooling1D, Sequential, SpatialDropout1D  # noqa: E402
from arena.preprocessing.sequence import pad_sequences  # noqa: E402
from arena.utils import to_categorical, train_test_split  # noqa: E402

VOCAB_SIZE = 5000
EMBED_SIZE = 100
NUM_FILTERS = 256
NUM_WORDS = 3
BATCH_SIZE = 64
NUM_EPOCHS = 20
BOOK_SEED = 42
BOOK_TEST_ACC = 98.6
BOOK_MAXLEN = 42


def prepare(limit=None, vocab_size=VOCAB_SIZE):
    """``(x, y, maxlen, word2index)``: padded id sequences, one-hot labels and the ids (PAD and
    unknown are 0, so ``vocab_sz = len(word2index) + 1``), the repo's way."""
    sentences, labels = umich_sentiment.load_data()
    if limit is not None:
        sentences, labels = sentences[:limit], labels[:limit]
    token_lists = [[w.lower() for w in word_tokenize(s)] for s in sentences]
    counter = collections.Counter(w for words in token_lists for w in words)
    word2index = {w: i + 1 for i, (w, _) in enumerate(counter.most_common(vocab_size))}
    maxlen = max(len(words) for words in token_lists)
    x = pad_sequences([[word2index.get(w, 0) for w in words] for words in token_lists], maxlen=maxlen)
    return x, to_categorical(labels, 2), maxlen, word2index


def build_model(vocab_sz, maxlen, embed_size=EMBED_SIZE, weights=None, trainable=True):
    """E5.5's network; ``weights=[matrix]`` starts the embedding from pretrained vectors (E5.6-E5.8)."""
    return Sequential([
        Embedding(vocab_sz, embed_size, input_length=maxlen, weights=weights, trainable=trainable),
        SpatialDropout1D(0.2),
        Conv1D(filters=NUM_FILTERS, kernel_size=NUM_WORDS, activation="relu"),
        GlobalMaxPooling1D(),
        Dense(2, activation="softmax"),
    ])


def main(argv=None):
    p = common.parser("umich_sentiment_embeddings", __doc__.splitlines()[0], epochs=NUM_EPOCHS, seed=BOOK_SEED)
    p.add_argument("--limit", type=int, default=None, help="use only the first LIMIT sentences")
    args = p.parse_args(argv)
    common.start(args)

    x, y, maxlen, word2index = prepare(args.limit)
    vocab_sz = len(word2index) + 1
    print(f"{len(x)} sentences, padded to {maxlen} (book {BOOK_MAXLEN}), vocabulary {vocab_sz} ids with PAD")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=42)
    print(f"train {x_train.shape}, test {x_test.shape}")

    model = build_model(vocab_sz, maxlen)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    if args.verbose:
        model.summary()
    with common.Timer() as t:
        history = model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=args.epochs, verbose=args.verbose,
                            validation_data=(x_test, y_test), callbacks=[common.tensorboard(args.logdir)])
    common.print_curves(history)
    png = common.save_curves(history, os.path.join(args.logdir, "curves.png"))
    score, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"\nE5.5: {args.epochs} epoch(s), {t.seconds:.1f} s training" + (f"; curves in {png}" if png else ""))
    print(f"Test score: {score:.3f}, accuracy: {acc:.3f}  (Arena {100 * acc:.2f} %, book {BOOK_TEST_ACC} %)")
    return {"test": 100.0 * acc, "loss": score, "seconds": t.seconds, "history": history.history,
            "params": model.count_params(), "maxlen": maxlen, "vocab": vocab_sz}


if __name__ == "__main__":
    main()
