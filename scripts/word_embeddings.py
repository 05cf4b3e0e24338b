"""E5.1-E5.3: the book's word2vec building blocks (``skipgram_example.py``, ``keras_skipgram.py``,
``keras_cbow.py``); the book leaves the two models untrained.

* E5.1: ``Tokenizer`` on "I love green eggs and ham ." (6 words, ids 1-6: the period is filtered),
  then ``skipgrams(ids, vocabulary_size=6)`` (window 4, one negative per positive, shuffled):
  **56 couples** (28 positive + 28 negative); 10 are printed.
* E5.2: the skip-gram model (untrained in the book): word and context each Embedding(5000, 300,
  glorot_uniform, input_length 1) -> Reshape((300,)), their dot product over the 300-d axis (Keras 1's
  ``Merge(mode='dot')``, removed in Keras 2.2: here ``Dot(axes=1)``) -> Dense(1, sigmoid); MSE, adam;
  **3,000,002** parameters.
* E5.3: CBOW (untrained in the book): Embedding(5000, 300, input_length 2) -> the mean over the
  context (a Lambda) -> Dense(5000, softmax); categorical cross-entropy, adam (the book's; the repo
  says adadelta); **3,005,000** parameters.
* E5.4 trains gensim's Word2Vec on the full 17M-word text8; only a ~504k-word subset is offline. A
  trial of the E5.2 model (MSE on a sigmoid of the dot product) on that subset gave no meaningful
  neighbours, so it is not part of this script.
"""
import jax.numpy as jnp

from arena.nn import Dense, Dot, Embedding, Input, Lambda, Model, Reshape, Sequential
from arena.preprocessing.sequence import skipgrams
from arena.preprocessing.text import Tokenizer

try:
    from scripts import common
except ImportError:  # run as `python scripts/word_embeddings.py`
    import common

VOCAB, DIM = 5000, 300
BOOK = {"couples": 56, "skipgram_params": 3_000_002, "cbow_params": 3_005_000}


def skipgram_demo(rng_seed):
    """E5.1: the couples of the book's sentence; returns (couples, labels, id_to_word)."""
    import random
    random.seed(rng_seed)
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(["I love green eggs and ham ."])
    ids = tokenizer.texts_to_sequences(["I love green eggs and ham ."])[0]
    couples, labels = skipgrams(ids, vocabulary_size=len(tokenizer.word_index) + 1)
    return couples, labels, tokenizer.index_word


def skipgram_model(vocab=VOCAB, dim=DIM):
    """E5.2: word and context embeddings, their dot product, a sigmoid unit."""
    word, context = Input(shape=(1,), name="word"), Input(shape=(1,), name="context")
    w = Reshape((dim,))(Embedding(vocab, dim, embeddings_initializer="glorot_uniform", name="word_embedding")(word))
    c = Reshape((dim,))(Embedding(vocab, dim, embeddings_initializer="glorot_uniform")(context))
    out = Dense(1, activation="sigmoid")(Dot(axes=1)([w, c]))
    model = Model([word, context], out, name="skipgram")
    model.compile(loss="mean_squared_error", optimizer="adam")
    return model


def context_mean(x):
    return jnp.mean(x, axis=1)


def cbow_model(vocab=VOCAB, dim=DIM, window=1):
    """E5.3: the mean of the context words' embeddings predicts the word in the middle."""
    model = Sequential([Embedding(vocab, dim, embeddings_initializer="glorot_uniform", input_length=2 * window),
                        Lambda(context_mean, output_shape=(dim,)), Dense(vocab, activation="softmax")],
                       name="cbow")
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    return model


def main(argv=None):
    p = common.parser("word_embeddings", __doc__.splitlines()[0], epochs=1, seed=42)
    args = p.parse_args(argv)
    common.start(args)
    couples, labels, words = skipgram_demo(args.seed)
    print(f"E5.1: {len(couples)} couples ({sum(labels)} positive, {len(labels) - sum(labels)} negative); "
          f"book: {BOOK['couples']}")
    for (a, b), label in list(zip(couples, labels))[:10]:
        print(f"  ({words[a]} ({a}), {words[b]} ({b})) -> {label}")
    measured = {"couples": len(couples), "skipgram_params": skipgram_model().count_params(),
                "cbow_params": cbow_model().count_params()}
    print(f"E5.2 skip-gram parameters: {measured['skipgram_params']:,} (book {BOOK['skipgram_params']:,})")
    print(f"E5.3 CBOW parameters:      {measured['cbow_params']:,} (book {BOOK['cbow_params']:,})")
    return measured


if __name__ == "__main__":
    main()
