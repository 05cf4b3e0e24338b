"""E5.4: word vectors trained on text8 and the book's neighbour queries, Arena's skip-gram beside
gensim's ``Word2Vec`` on the same text (the book repo's Chapter05/word2vec_gensim.py).

    python scripts/word2vec_text8.py [--epochs 3] [--dim 300] [--min-count 5] [--no-gensim]

Data (``arena.datasets.text8``): offline, the 504,542-word subset of text8 (about 3 % of the book's
17M words), so the book's figures (e.g. ``most_similar('woman')``: child .7058, girl .7022, man
.6846...) are not reachable; compare the lists qualitatively. The book's ``min_count=30`` would drop
queen, girl, car and bus from this subset (17, 9, 16 and 11 occurrences), so both models keep the
words seen at least 5 times (8,827 words).

- Arena: the book's E5.2 skip-gram network (word and context Embedding(V, d) -> Dot -> Dense(1,
  sigmoid), ``word_embeddings.skipgram_model``) trained as word2vec with negative sampling: couples
  from ``skipgrams`` (window 5, two random negatives per positive, frequent words subsampled with
  ``make_sampling_table``), drawn afresh each epoch; binary cross-entropy instead of the book's MSE,
  adam (lr 0.003), batch 1024, 10 epochs, 100-d. The word vectors are the ``word_embedding`` weights.
- gensim (reference, when ``pip install 'arena[gensim]'``): ``Word2Vec`` skip-gram with the same
  window, negatives, dimension, ``min_count`` and epochs on the text in 50-word sentences, 2 workers.
  The book's own call (CBOW, 300-d, 5 epochs) gives noise on this little text: every similarity
  above .97 (measured), so the reference uses the settings that learn most from it.

Measured (seed 42, CPU, 2 cores): Arena 124 s, gensim 5.9 s (gensim's C loop updates only the rows
a couple touches; Arena's compiled step updates both whole 8,828 x 100 tables with adam).
Neighbours of 'woman': Arena tereshkova, awarded, fetus, pregnant, ...; gensim achieve, offering,
teacher, ..., child. woman + king - man: neither finds queen (17 occurrences). Similarities
girl/woman, girl/man, girl/car, bus/car: Arena .19 .27 .06 .35, gensim .53 .56 .30 .66 (book on
17M words: .70 .57 .29 .48). Both keep girl/car and bus/car in the book's order only partly: with
53 occurrences of 'woman' and 9 of 'girl', 504k words are too few for the book's lists.

Printed for each: training time, the 10 nearest words of 'woman', woman + king - man (3CosAdd, the
query words excluded), and the similarities girl/woman, girl/man, girl/car, bus/car.
"""
import collections
import os
import sys
import time

import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from scripts.word_embeddings import skipgram_model  # noqa: E402
from arena.datasets import text8  # noqa: E402
from arena.nn.optimizers import Adam  # noqa: E402
from arena.preprocessing.sequence import make_sampling_table, skipgrams  # noqa: E402

WINDOW = 5
BATCH_SIZE = 1024
NEGATIVES = 2
CHUNK = 50_000  # words per skipgrams call: bounds the Python lists it builds
PAIRS = (("girl", "woman"), ("girl", "man"), ("girl", "car"), ("bus", "car"))
BOOK = {"woman": "child .7058, girl .7022, man .6846, herself .6293, lady .6230",
        "analogy": "queen .6238, prince .5639, elizabeth .5558, princess .5456, throne .5440",
        "pairs": {("girl", "woman"): .7022, ("girl", "man"): .5743, ("girl", "car"): .2893, ("bus", "car"): .4839}}


class Vectors:
    """Unit-normalized word vectors with the two queries the book runs (cosine similarity)."""

    def __init__(self, words, matrix):
        self.words, self.index = list(words), {w: i for i, w in enumerate(words)}
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        self.unit = matrix / np.maximum(norms, 1e-12)

    def similarity(self, a, b):
        return float(self.unit[self.index[a]] @ self.unit[self.index[b]])

    def most_similar(self, positive, negative=(), topn=10):
        query = sum(self.unit[self.index[w]] for w in positive) - sum((self.unit[self.index[w]] for w in negative),
                                                                     np.zeros(self.unit.shape[1]))
        scores = self.unit @ (query / np.linalg.norm(query))
        excluded = {self.index[w] for w in (*positive, *negative)}
        best = [i for i in np.argsort(-scores) if i not in excluded][:topn]
        return [(self.words[i], float(scores[i])) for i in best]


def vocabulary(words, min_count):
    """Words seen at least ``min_count`` times, most frequent first (their ids are 1..; 0 = dropped)."""
    counts = collections.Counter(words)
    return [w for w, n in counts.most_common() if n >= min_count]


def make_couples(ids, vocab_size, seed, negatives=NEGATIVES, subsample=True):
    """All skip-gram couples of the corpus as int32 arrays ``(words, contexts, labels)``; ``subsample``
    drops frequent words by ``make_sampling_table``'s Zipf estimate (ids must rank by frequency)."""
    table = make_sampling_table(vocab_size) if subsample else None
    parts = []
    for start in range(0, len(ids), CHUNK):
        couples, labels = skipgrams(ids[start:start + CHUNK], vocab_size, window_size=WINDOW,
                                    negative_samples=negatives, sampling_table=table, seed=seed + start)
        if couples:
            pairs = np.asarray(couples, dtype=np.int32)
            parts.append((pairs[:, 0], pairs[:, 1], np.asarray(labels, dtype=np.float32)))
    return tuple(np.concatenate(column) for column in zip(*parts))


def train_arena(words, vocab, args):
    index = {w: i + 1 for i, w in enumerate(vocab)}
    ids = [index.get(w, 0) for w in words]
    model = skipgram_model(len(vocab) + 1, args.dim)
    model.compile(loss="binary_crossentropy", optimizer=Adam(args.lr))
    board = common.tensorboard(args.logdir)
    with common.Timer() as t:
        for epoch in range(args.epochs):  # fresh subsampling and negatives each epoch, as word2vec does
            w, c, labels = make_couples(ids, len(vocab) + 1, args.seed + 1000 * epoch)
            if epoch == 0:
                print(f"Arena: {len(labels):,} couples per epoch ({int(labels.sum()):,} positive)")
            model.fit([w[:, None], c[:, None]], labels, batch_size=BATCH_SIZE, initial_epoch=epoch,
                      epochs=epoch + 1, verbose=args.verbose, callbacks=[board])
    matrix = np.asarray(model.get_layer("word_embedding").get_weights()[0])[1:]
    return Vectors(vocab, matrix), t.seconds


def train_gensim(words, args):
    from gensim.models import Word2Vec
    sentences = [words[i:i + 50] for i in range(0, len(words), 50)]
    start = time.perf_counter()
    model = Word2Vec(sentences, vector_size=args.dim, window=WINDOW, min_count=args.min_count, sg=1,
                     negative=NEGATIVES, workers=2, seed=args.seed, epochs=args.epochs)
    seconds = time.perf_counter() - start
    return Vectors(model.wv.index_to_key, model.wv.vectors), seconds


def report(name, vectors, seconds):
    def fmt(pairs):
        return ", ".join(f"{w} {s:.4f}" for w, s in pairs)
    print(f"\n{name}: trained in {seconds:.1f} s")
    print(f"  most_similar('woman'):  {fmt(vectors.most_similar(['woman']))}")
    print(f"  woman + king - man:     {fmt(vectors.most_similar(['woman', 'king'], ['man']))}")
    sims = {pair: vectors.similarity(*pair) for pair in PAIRS}
    print("  similarity: " + ", ".join(f"{a}/{b} {s:.4f}" for (a, b), s in sims.items()))
    return {"woman": vectors.most_similar(["woman"]), "analogy": vectors.most_similar(["woman", "king"], ["man"]),
            "pairs": sims, "seconds": seconds}


def main(argv=None):
    p = common.parser("word2vec_text8", __doc__.splitlines()[0], epochs=10, seed=42)
    p.add_argument("--dim", type=int, default=100, help="vector size (book: 300)")
    p.add_argument("--min-count", type=int, default=5, help="keep words seen this often (book: 30; see above)")
    p.add_argument("--lr", type=float, default=0.001, help="adam learning rate")
    p.add_argument("--no-gensim", action="store_true", help="skip the gensim reference")
    p.add_argument("--limit", type=int, default=None, help="use only the first LIMIT words")
    args = p.parse_args(argv)
    common.start(args)

    words = text8.load_data().split()[:args.limit]
    vocab = vocabulary(words, args.min_count)
    missing = [w for pair in PAIRS for w in pair if w not in set(vocab)] + [w for w in ("king", "man")
                                                                            if w not in set(vocab)]
    if missing:
        raise SystemExit(f"query words {sorted(set(missing))} occur fewer than {args.min_count} times; "
                         f"lower --min-count or use more text")
    print(f"text8: {len(words):,} words, {len(vocab):,} seen at least {args.min_count} times")
    print(f"book (gensim on the full 17M-word text8): most_similar('woman'): {BOOK['woman']} ...; "
          f"woman + king - man: {BOOK['analogy']} ...; similarity: "
          + ", ".join(f"{a}/{b} {s}" for (a, b), s in BOOK["pairs"].items()))
    results = {"arena": report("Arena skip-gram (E5.2 network, negative sampling)", *train_arena(words, vocab, args))}
    if not args.no_gensim:
        try:
            results["gensim"] = report("gensim Word2Vec (skip-gram)", *train_gensim(words, args))
        except ImportError:
            print("\ngensim is not installed (pip install 'arena[gensim]'): no reference run")
    return results


if __name__ == "__main__":
    main()
