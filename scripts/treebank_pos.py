"""E6.3-E6.5: part-of-speech tagging on the NLTK treebank sample (the book repo's Chapter06/treebank_pos_gru.py
and treebank_pos_lstm.py; E6.5 has no script), plus the tagger a Keras user would write today.

    python scripts/treebank_pos.py [--model gru|lstm|bilstm|modern] [--epochs 1] [--seed 42] [--limit SENTENCES]

Data (``arena.datasets.treebank``, NLTK's ``treebank.tagged_sents()`` read without NLTK): ``-NONE-``
trace tokens dropped, words and tags lower-cased: 3,914 sentences, 10,947 distinct words, 45 tags,
longest 249 (book.md). Source ids: the 5,000 most frequent words at 2.., PAD 0, UNK 1 (5,002 ids).
Tag ids: the 45 tags by frequency at 0..44, one-hot over 46; as in the repo, sequences are padded at
the front to 250, the padded steps getting all-zero target rows. ``train_test_split(test_size=0.2,
random_state=42)``: 3,131 / 783 sentences.

Models, as the book builds them (Keras 2.0 RNNs: ``hard_sigmoid`` gates, GRU resetting before the
recurrent matmul, i.e. ``reset_after=False``):

- ``gru`` (E6.3) [705,070]: Embedding(5002, 128) -> SpatialDropout1D(0.2) -> GRU(64, dropout 0.2,
  recurrent_dropout 0.2) -> RepeatVector(250) -> GRU(64, return_sequences) -> TimeDistributed(Dense(46))
  -> softmax.
- ``lstm`` (E6.4) [725,678]: both GRUs become LSTM(64) (the book's listing still says GRU; the repo).
- ``bilstm`` (E6.5) [843,822]: Bidirectional(LSTM(64, dropout 0.2, recurrent_dropout 0.2)) ->
  RepeatVector(250) -> Bidirectional(LSTM(64, return_sequences)).

The repo passes ``SpatialDropout1D(Dropout(0.2))``, a no-op under its Python 2; the intended rate 0.2
is used (book.md section 11). adam, categorical cross-entropy, batch 32, **1 epoch** (the book: more
overfits), the test split as validation data.

- ``modern`` [745,006]: what one writes today: Embedding(5002, 128, mask_zero=True) ->
  Bidirectional(LSTM(64, return_sequences=True)) -> TimeDistributed(Dense(46, softmax)), with today's
  defaults (sigmoid gates), adam, batch 32, 8 epochs by default (test accuracy levels off after 6-8). The mask keeps the padding out of
  the loss, and every step's output comes from that word's own context (no RepeatVector bottleneck).
  Goal: >= 95 % on real tokens. Measured (seed 42, CPU): 93.1 % after 8 epochs, 93.2 % after 10
  (with LSTM dropout 0.4 and 14 epochs, 93.4 %). The limit is the book's 5,000-word vocabulary:
  6.7 % of the test tokens are UNK and only about 57 % of those are tagged right, against about
  96 % for known words, so the goal is out of reach without changing the vocabulary.

The book's figure ("does well after one epoch") is only a screenshot. Its accuracy counts the
padded steps: about 90 % of the 250 steps are padding, and the argmax of an all-zero target row is
0, the most frequent tag. Predicting tag 0 everywhere already scores about 90 %. So the script
reports, on the test split: Keras' accuracy over all steps (``evaluate``, the book's figure), and
the accuracy on real tokens only (steps whose word id is not PAD), computed from ``predict``.
"""
import collections
import os
import sys

import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from arena.datasets import treebank  # noqa: E402
from arena.nn import (GRU, LSTM, Activation, Bidirectional, Dense, Embedding, RepeatVector, Sequential,  # noqa: E402
                      SpatialDropout1D, TimeDistributed)
from arena.preprocessing.sequence import pad_sequences  # noqa: E402
from arena.utils import train_test_split  # noqa: E402

MAX_SEQLEN = 250
S_MAX_FEATURES = 5000
EMBED_SIZE = 128
HIDDEN_SIZE = 64
BATCH_SIZE = 32
BOOK_EPOCHS, MODERN_EPOCHS = 1, 8
BOOK_SEED = 42
BOOK_STATS = {"sentences": 3914, "words": 10947, "tags": 45, "longest": 249}
BOOK_PARAMS = {"gru": 705_070, "lstm": 725_678, "bilstm": 843_822, "modern": 745_006}
MODERN_GOAL = 95.0
NAMES = {"gru": "E6.3 GRU", "lstm": "E6.4 LSTM", "bilstm": "E6.5 Bidirectional LSTM",
         "modern": "modern masked Bidirectional LSTM tagger"}


def load_sentences(limit=None):
    """``(word lists, tag lists)``: ``-NONE-`` dropped, words and tags lower-cased."""
    words, tags = [], []
    for sent in treebank.load_data():
        pairs = [(w.lower(), t.lower()) for w, t in sent if t != "-NONE-"]
        words.append([w for w, _ in pairs])
        tags.append([t for _, t in pairs])
    if limit is not None:
        words, tags = words[:limit], tags[:limit]
    return words, tags


def build_tensors(words, tags):
    """X (n, 250) word ids, front-padded; Y (n, 250, 46) one-hot tags, padded steps all zero."""
    s_freqs = collections.Counter(w for ws in words for w in ws)
    t_freqs = collections.Counter(t for ts in tags for t in ts)
    s_word2index = {w: i + 2 for i, (w, _) in enumerate(s_freqs.most_common(S_MAX_FEATURES))}
    s_word2index["PAD"], s_word2index["UNK"] = 0, 1
    t_word2index = {t: i for i, (t, _) in enumerate(t_freqs.most_common())}
    s_vocab = min(len(s_freqs), S_MAX_FEATURES) + 2
    t_vocab = len(t_freqs) + 1  # the repo's depth: 46 for 45 tags
    x = pad_sequences([[s_word2index.get(w, 1) for w in ws] for ws in words], maxlen=MAX_SEQLEN)
    y = np.zeros((len(tags), MAX_SEQLEN, t_vocab), dtype=np.float32)
    for i, ts in enumerate(tags):
        ts = ts[-MAX_SEQLEN:]
        ids = [t_word2index[t] for t in ts]
        y[i, np.arange(MAX_SEQLEN - len(ts), MAX_SEQLEN), ids] = 1.0
    stats = {"sentences": len(words), "words": len(s_freqs), "tags": len(t_freqs),
             "longest": max(len(ws) for ws in words)}
    return x, y, s_vocab, t_vocab, stats


def build_model(kind, s_vocab, t_vocab):
    book_rnn = dict(recurrent_activation="hard_sigmoid")
    if kind == "modern":
        return Sequential([
            Embedding(s_vocab, EMBED_SIZE, input_length=MAX_SEQLEN, mask_zero=True),
            Bidirectional(LSTM(HIDDEN_SIZE, return_sequences=True)),
            TimeDistributed(Dense(t_vocab, activation="softmax")),
        ])
    if kind == "gru":
        rnn = lambda **kw: GRU(HIDDEN_SIZE, reset_after=False, **book_rnn, **kw)  # noqa: E731
    else:
        rnn = lambda **kw: LSTM(HIDDEN_SIZE, **book_rnn, **kw)  # noqa: E731
    wrap = Bidirectional if kind == "bilstm" else (lambda layer: layer)
    return Sequential([
        Embedding(s_vocab, EMBED_SIZE, input_length=MAX_SEQLEN),
        SpatialDropout1D(0.2),
        wrap(rnn(dropout=0.2, recurrent_dropout=0.2)),
        RepeatVector(MAX_SEQLEN),
        wrap(rnn(return_sequences=True)),
        TimeDistributed(Dense(t_vocab)),
        Activation("softmax"),
    ])


def accuracies(model, x, y):
    """Accuracy of argmax predictions against argmax targets on ``(all steps, real tokens, known
    words, UNK words)``."""
    pred = model.predict(x, batch_size=BATCH_SIZE, verbose=0).argmax(axis=-1)
    hit = pred == y.argmax(axis=-1)
    share = lambda sel: float(hit[sel].mean()) if sel.any() else float("nan")  # noqa: E731
    return float(hit.mean()), share(x != 0), share(x > 1), share(x == 1)


def main(argv=None):
    p = common.parser("treebank_pos", __doc__.splitlines()[0], epochs=None, seed=BOOK_SEED,
                      epochs_help=f"training epochs (book: {BOOK_EPOCHS}; default {MODERN_EPOCHS} for --model modern)")
    p.add_argument("--model", choices=tuple(BOOK_PARAMS), default="gru",
                   help="gru (E6.3), lstm (E6.4), bilstm (E6.5) or modern (masked tagger); default gru")
    p.add_argument("--limit", type=int, default=None, help="use only the first LIMIT sentences")
    args = p.parse_args(argv)
    if args.epochs is None:
        args.epochs = MODERN_EPOCHS if args.model == "modern" else BOOK_EPOCHS
    common.start(args)

    words, tags = load_sentences(args.limit)
    x, y, s_vocab, t_vocab, stats = build_tensors(words, tags)
    print(", ".join(f"{v:,} {k} (book {BOOK_STATS[k]:,})" for k, v in stats.items()))
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42)
    padding = float((x_test == 0).mean())
    print(f"train {x_train.shape}, test {x_test.shape}; {100 * padding:.1f} % of the test steps are padding; "
          f"word ids {s_vocab:,}, tag depth {t_vocab}")

    model = build_model(args.model, s_vocab, t_vocab)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    params = model.count_params()
    source = "derived" if args.model == "modern" else "book.md"
    print(f"{NAMES[args.model]}: {params:,} parameters ({source} {BOOK_PARAMS[args.model]:,})")
    if s_vocab == S_MAX_FEATURES + 2 and t_vocab == BOOK_STATS["tags"] + 1:
        assert params == BOOK_PARAMS[args.model], params
    if args.verbose:
        model.summary()
    with common.Timer() as t:
        history = model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=args.epochs, verbose=args.verbose,
                            validation_data=(x_test, y_test), callbacks=[common.tensorboard(args.logdir)])
    score, acc = model.evaluate(x_test, y_test, batch_size=BATCH_SIZE, verbose=0)
    all_steps, real_tokens, known, unknown = accuracies(model, x_test, y_test)
    baseline_all = float((y_test.argmax(-1) == 0).mean())  # tag 0 everywhere
    baseline_real = float((y_test.argmax(-1) == 0)[x_test != 0].mean())

    print(f"\n{NAMES[args.model]}: {args.epochs} epoch(s), {t.seconds:.1f} s training "
          f"({t.seconds / max(args.epochs, 1):.1f} s per epoch)")
    print(f"  train accuracy (all steps, dropout on): {100 * history.history['accuracy'][-1]:.2f} %")
    print(f"  test loss {score:.4f}")
    print(f"  {'test accuracy':34s}{'Arena %':>9s}{'tag 0 everywhere %':>20s}")
    print(f"  {'all 250 steps (the book metric)':34s}{100 * acc:9.2f}{100 * baseline_all:20.2f}")
    print(f"  {'real tokens only':34s}{100 * real_tokens:9.2f}{100 * baseline_real:20.2f}")
    unk_share = float((x_test == 1).sum() / max((x_test != 0).sum(), 1))
    print(f"  {'  known words':34s}{100 * known:9.2f}")
    print(f"  {'  UNK (beyond the 5,000 words)':34s}{100 * unknown:9.2f}   ({100 * unk_share:.1f} % of real tokens)")
    if abs(all_steps - acc) > 1e-3:
        print(f"  (all steps recomputed from predict: {100 * all_steps:.2f} %)")
    if args.model == "modern":
        print(f"  goal: >= {MODERN_GOAL:.0f} % on real tokens: {'met' if 100 * real_tokens >= MODERN_GOAL else 'NOT met'}")
    else:
        print("  book: \"does well after one epoch\" (numbers only in a screenshot; they count padding)")
    return {"model": args.model, "params": params, "test": 100 * acc, "all_steps": 100 * all_steps,
            "real_tokens": 100 * real_tokens, "known": 100 * known, "unk": 100 * unknown,
            "baseline_all": 100 * baseline_all,
            "baseline_real": 100 * baseline_real, "loss": score, "seconds": t.seconds, "stats": stats,
            "history": history.history}


if __name__ == "__main__":
    main()
