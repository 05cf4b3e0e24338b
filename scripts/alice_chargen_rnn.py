"""E6.1: character-level SimpleRNN on Alice in Wonderland (the book repo's Chapter06/alice_chargen_rnn.py).

    python scripts/alice_chargen_rnn.py [--epochs 25] [--seed 42] [--limit SAMPLES] [--gen-chars 100]

Data: ``alice_in_wonderland.txt`` line by line: stripped, lower-cased, non-ASCII characters dropped
(which removes the BOM), empty lines skipped, joined with spaces: 142,554 characters, 42 distinct
(book.md). The character index is built from the *sorted* character set (the repo iterates over a
Python ``set``, whose order varies from run to run; book.md section 11).

Samples: every window of 10 characters (step 1) -> the next character, one-hot: 142,544 samples of
(10, 42) -> 42.

Model [27,306 params]: SimpleRNN(128, ``unroll=True``) on (10, 42) -> Dense(42) -> softmax; rmsprop
(Keras' eps outside the square root), categorical cross-entropy, batch 128. The book trains 25
iterations of one epoch each (``--epochs`` counts iterations) and after each one generates 100
characters greedily (argmax) from a random 10-character seed of the text.

Book figure (qualitative): gibberish at first, reasonable spelling by iteration 25. To put a number
on "spells reasonably", each iteration's generated text is split into words (runs of letters and
apostrophes; a word cut off at the end, or continuing the seed's last word, is left out) and the
share of them that occur as words in the Alice text is printed (single letters other than "a"
and "i" do not count as words), with the number of distinct real words.
"""
import os
import re
import sys

import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from arena.datasets import alice  # noqa: E402
from arena.nn import Activation, Dense, SimpleRNN, Sequential  # noqa: E402

SEQLEN, STEP = 10, 1
HIDDEN_SIZE = 128
BATCH_SIZE = 128
NUM_ITERATIONS = 25
NUM_EPOCHS_PER_ITERATION = 1
NUM_PREDS_PER_EPOCH = 100
BOOK_SEED = 42
BOOK_CHARS, BOOK_DISTINCT, BOOK_PARAMS = 142_554, 42, 27_306
_WORD = re.compile(r"[a-z']+")


def load_text():
    """The book's preprocessing: strip, lower-case, ASCII only, skip empty lines, join with spaces."""
    lines = []
    for line in alice.load_data().split("\n"):
        line = line.strip().lower().encode("ascii", "ignore").decode("ascii")
        if line:
            lines.append(line)
    return " ".join(lines)


def make_samples(text, char2index, limit=None):
    """One-hot ``(X, y)``: X (n, 10, nb_chars) windows, y (n, nb_chars) the next character."""
    ids = np.array([char2index[c] for c in text], dtype=np.int32)
    n = len(ids) - SEQLEN
    starts = np.arange(0, n, STEP)
    if limit is not None:
        starts = starts[:limit]
    nb = len(char2index)
    windows = ids[starts[:, None] + np.arange(SEQLEN)]
    x = np.eye(nb, dtype=np.float32)[windows]
    y = np.eye(nb, dtype=np.float32)[ids[starts + SEQLEN]]
    return x, y


def build_model(nb_chars):
    return Sequential([
        SimpleRNN(HIDDEN_SIZE, return_sequences=False, input_shape=(SEQLEN, nb_chars), unroll=True),
        Dense(nb_chars),
        Activation("softmax"),
    ])


def generate(model, seed, char2index, index2char, n_chars):
    """Greedy generation as the repo does it: one-hot the last 10 characters, take the argmax."""
    nb = len(char2index)
    window, out = seed, []
    for _ in range(n_chars):
        x = np.zeros((1, SEQLEN, nb), dtype=np.float32)
        x[0, np.arange(SEQLEN), [char2index[c] for c in window]] = 1.0
        pred = model.predict(x, verbose=0)[0]
        ch = index2char[int(np.argmax(pred))]
        out.append(ch)
        window = window[1:] + ch
    return "".join(out)


def whole_words(seed, generated):
    """The generated words that are wholly generated and not cut off at the end."""
    words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(generated)]
    if words and words[0][0] == 0 and seed and _WORD.fullmatch(seed[-1]):
        words = words[1:]  # continues the seed's last word
    if words and words[-1][1] == len(generated):
        words = words[:-1]  # may be cut off
    return [w.strip("'") for _, _, w in words if w.strip("'")]


def alice_words(text):
    """The words of the text; single letters other than "a" and "i" (from "e.g.", "t" in "'t", ...)
    are left out, so that a run of "t t t" does not count as real words."""
    words = {w.strip("'") for w in _WORD.findall(text)}
    return {w for w in words if len(w) > 1 or w in ("a", "i")}


def main(argv=None):
    p = common.parser("alice_chargen_rnn", __doc__.splitlines()[0], epochs=NUM_ITERATIONS, seed=BOOK_SEED,
                      verbose=0, epochs_help=f"iterations of one epoch each (book: {NUM_ITERATIONS})")
    p.add_argument("--limit", type=int, default=None, help="train on only the first LIMIT windows")
    p.add_argument("--gen-chars", type=int, default=NUM_PREDS_PER_EPOCH,
                   help=f"characters generated after each iteration (book: {NUM_PREDS_PER_EPOCH})")
    args = p.parse_args(argv)
    common.start(args)
    rng = np.random.RandomState(args.seed)

    text = load_text()
    chars = sorted(set(text))
    char2index = {c: i for i, c in enumerate(chars)}
    index2char = dict(enumerate(chars))
    print(f"{len(text)} characters (book {BOOK_CHARS:,}), {len(chars)} distinct (book {BOOK_DISTINCT})")
    x, y = make_samples(text, char2index, args.limit)
    print(f"X {x.shape}, y {y.shape}")
    vocabulary = alice_words(text)

    model = build_model(len(chars))
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    params = model.count_params()
    print(f"parameters: {params:,} (book {BOOK_PARAMS:,})")
    if len(chars) == BOOK_DISTINCT:
        assert params == BOOK_PARAMS, params
    tb = common.tensorboard(args.logdir)

    iterations, train_seconds = [], 0.0
    n_windows = len(text) - SEQLEN
    for iteration in range(args.epochs):
        with common.Timer() as t:
            history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=iteration + NUM_EPOCHS_PER_ITERATION,
                                initial_epoch=iteration, verbose=args.verbose, callbacks=[tb])
        train_seconds += t.seconds
        start = rng.randint(n_windows)
        seed = text[start:start + SEQLEN]
        generated = generate(model, seed, char2index, index2char, args.gen_chars)
        words = whole_words(seed, generated)
        real = sum(w in vocabulary for w in words)
        distinct = len({w for w in words if w in vocabulary})
        share = real / len(words) if words else 0.0
        loss, acc = history.history["loss"][-1], history.history["accuracy"][-1]
        print("=" * 50)
        print(f"Iteration #: {iteration + 1}  loss {loss:.4f}  acc {acc:.4f}  ({t.seconds:.1f} s)")
        print(f"Generating from seed: {seed}")
        print(f"{seed}{generated}")
        print(f"  Alice words: {real}/{len(words)} ({100 * share:.0f} %), {distinct} distinct")
        iterations.append({"loss": loss, "accuracy": acc, "seed": seed, "text": generated,
                           "words": len(words), "real_words": real, "distinct_real": distinct, "share": share, "seconds": t.seconds})

    print(f"\nE6.1: {args.epochs} iteration(s), {train_seconds:.1f} s training "
          f"({train_seconds / max(args.epochs, 1):.1f} s per iteration)")
    if iterations:
        total = sum(i["words"] for i in iterations[-5:])
        real = sum(i["real_words"] for i in iterations[-5:])
        print(f"  last iteration: loss {iterations[-1]['loss']:.4f}, train accuracy "
              f"{100 * iterations[-1]['accuracy']:.2f} %, Alice words {100 * iterations[-1]['share']:.0f} %")
        print(f"  Alice words over the last {min(5, len(iterations))} generations: {real}/{total} "
              f"({100 * real / max(total, 1):.0f} %); book: gibberish at first, spells reasonably by "
              f"iteration {NUM_ITERATIONS} (qualitative)")
    return {"params": params, "chars": len(text), "distinct": len(chars), "iterations": iterations,
            "seconds": train_seconds}


if __name__ == "__main__":
    main()
