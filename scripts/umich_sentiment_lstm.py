"""E6.2: LSTM sentiment on UMich SI650 (the book repo's Chapter06/umich_sentiment_lstm.py).

    python scripts/umich_sentiment_lstm.py [--epochs 10] [--seed 42] [--limit ROWS]

Data: the 7,086 SI650 sentences, each decoded as ASCII (other characters dropped), lower-cased
and tokenized word by word. The book calls NLTK's ``word_tokenize``, whose sentence splitter
(``punkt``) is not available offline; this script uses the Treebank word tokenizer alone
(``arena.datasets.tokenize.word_tokenize``, NLTK's ``TreebankWordTokenizer`` rules) on the whole
line, as book.md prescribes. The book's counts (longest sentence 42 tokens, 2,313 distinct words)
are printed beside ours: a line holding two sentences keeps an inner period attached to its word
here, so the counts differ slightly.

Vocabulary: the 2,000 most frequent words at indices 2.., PAD 0, UNK 1 (2,002 ids). Sequences are
padded and truncated at the front to 40; ``train_test_split(test_size=0.2, random_state=42)``
(5,668 / 1,418), scalar 0/1 labels.

Model [305,729 params]: Embedding(2002, 128) -> SpatialDropout1D(0.2) -> LSTM(64, dropout 0.2,
recurrent_dropout 0.2) -> Dense(1) -> sigmoid. The repo passes ``SpatialDropout1D(Dropout(0.2))``,
a no-op under its Python 2; the intended rate 0.2 is used (book.md section 11). The LSTM keeps Keras
2.0's ``hard_sigmoid`` gates, as the book's Keras had. adam, binary cross-entropy, batch 32, 10
epochs, the test split as validation data. Book figure: about 99 % test accuracy.
SI650 holds only 1,410 distinct sentences among its 7,086 rows: about 81 % of the test sentences
also occur verbatim in the training split, so test accuracy mostly measures memorization and sits
near 99 %-99.6 % with any seed.

Printed: the per-epoch curve (the book's plot), test loss and accuracy beside the book's, and 5
random test sentences with prediction and label; the curves are also saved as ``curves.png`` in the
log folder.
"""
import collections
import os
import sys

import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from arena.datasets import umich_sentiment  # noqa: E402
from arena.datasets.tokenize import word_tokenize  # noqa: E402
from arena.nn import LSTM, Activation, Dense, Embedding, Sequential, SpatialDropout1D  # noqa: E402
from arena.preprocessing.sequence import pad_sequences  # noqa: E402
from arena.utils import train_test_split  # noqa: E402

MAX_FEATURES = 2000
MAX_SENTENCE_LENGTH = 40
EMBEDDING_SIZE = 128
HIDDEN_LAYER_SIZE = 64
BATCH_SIZE = 32
NUM_EPOCHS = 10
BOOK_SEED = 42
BOOK_TEST_ACC = 99.0  # "about 99 %"
BOOK_MAXLEN, BOOK_WORDS = 42, 2313


def tokenize(sentence):
    """The book's per-sentence preprocessing: ASCII only, lower case, Treebank word tokens."""
    return word_tokenize(sentence.encode("ascii", "ignore").decode("ascii").lower())


def load_tokens(limit=None):
    """``(token lists, labels)`` for the SI650 sentences (the first ``limit`` rows when given)."""
    sentences, labels = umich_sentiment.load_data()
    if limit is not None:
        sentences, labels = sentences[:limit], labels[:limit]
    return [tokenize(s) for s in sentences], labels


def build_vocabulary(token_lists, max_features=MAX_FEATURES):
    """E6.2's vocabulary: the ``max_features`` most frequent words at 2.., PAD 0, UNK 1."""
    freqs = collections.Counter(w for words in token_lists for w in words)
    word2index = {w: i + 2 for i, (w, _) in enumerate(freqs.most_common(max_features))}
    word2index["PAD"], word2index["UNK"] = 0, 1
    return word2index, freqs


def build_model(vocab_size, maxlen=MAX_SENTENCE_LENGTH):
    return Sequential([
        Embedding(vocab_size, EMBEDDING_SIZE, input_length=maxlen),
        SpatialDropout1D(0.2),
        LSTM(HIDDEN_LAYER_SIZE, dropout=0.2, recurrent_dropout=0.2, recurrent_activation="hard_sigmoid"),
        Dense(1),
        Activation("sigmoid"),
    ])


def main(argv=None):
    p = common.parser("umich_sentiment_lstm", __doc__.splitlines()[0], epochs=NUM_EPOCHS, seed=BOOK_SEED)
    p.add_argument("--limit", type=int, default=None, help="use only the first LIMIT sentences")
    args = p.parse_args(argv)
    common.start(args)

    token_lists, labels = load_tokens(args.limit)
    word2index, freqs = build_vocabulary(token_lists)
    index2word = {i: w for w, i in word2index.items()}
    maxlen = max(len(words) for words in token_lists)
    print(f"{len(token_lists)} sentences, longest {maxlen} tokens (book {BOOK_MAXLEN}), "
          f"{len(freqs)} distinct words (book {BOOK_WORDS})")
    vocab_size = min(MAX_FEATURES, len(freqs)) + 2
    x = pad_sequences([[word2index.get(w, 1) for w in words] for words in token_lists],
                      maxlen=MAX_SENTENCE_LENGTH)
    # (n, 1): Keras 2 also took the (n,) label vector for a (None, 1) output; Arena asks for the shape.
    y = labels.astype(np.float32)[:, None]
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42)
    print(f"train {x_train.shape}, test {x_test.shape}")

    model = build_model(vocab_size)
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    if args.verbose:
        model.summary()
    with common.Timer() as t:
        history = model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=args.epochs, verbose=args.verbose,
                            validation_data=(x_test, y_test), callbacks=[common.tensorboard(args.logdir)])
    common.print_curves(history)
    png = common.save_curves(history, os.path.join(args.logdir, "curves.png"))
    score, acc = model.evaluate(x_test, y_test, batch_size=BATCH_SIZE, verbose=0)
    print(f"\nE6.2: {args.epochs} epoch(s), {t.seconds:.1f} s training"
          + (f"; curves in {png}" if png else ""))
    print(f"Test score: {score:.3f}, accuracy: {acc:.3f}  (Arena {100 * acc:.2f} %, book about "
          f"{BOOK_TEST_ACC:.0f} %)")
    rng = np.random.RandomState(args.seed)
    predictions = model.predict(x_test, verbose=0)[:, 0]
    for idx in rng.randint(len(x_test), size=5):
        sentence = " ".join(index2word[int(i)] for i in x_test[idx] if i != 0)
        print(f"{predictions[idx]:.0f}\t{int(y_test[idx, 0])}\t{sentence}")
    return {"test": 100.0 * acc, "loss": score, "seconds": t.seconds, "history": history.history,
            "params": model.count_params(), "maxlen": maxlen, "words": len(freqs)}


if __name__ == "__main__":
    main()
