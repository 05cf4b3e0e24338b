"""Reuters newswires as word ids, labelled with one of 46 topics: ``keras.datasets.reuters``.

11,228 newswires from Keras' own ``reuters.npz`` (Keras' preprocessing of Reuters-21578; the raw
stories are :mod:`arena.datasets.reuters`). ``load_data`` has Keras' arguments and returns Keras'
arrays; ``get_word_index`` maps words to their unshifted ids.
"""
import numpy as np

from arena.datasets import _sequences

URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters.npz"
SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
FILENAME = "reuters.npz"
WORD_INDEX_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters_word_index.json"
WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"
WORD_INDEX_FILENAME = "reuters_word_index.json"


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113, start_char=1,
              oov_char=2, index_from=3):
    """``(x_train, y_train), (x_test, y_test)`` as Keras' ``reuters.load_data`` gives them: the newswires
    shuffled with ``np.random.RandomState(seed)``, processed as :func:`arena.datasets.imdb.load_data`
    does, then the last ``test_split`` of them (``int(n * (1 - test_split))`` on) as the test set.
    Files as for IMDB: ``reuters.npz`` in ``ARENA_DATA_DIR``, or downloaded into the cache."""
    if not 0 <= test_split < 1:
        raise ValueError(f"reuters.load_data: test_split must be in [0, 1); got {test_split!r}")
    source = _sequences.source_file(path, FILENAME, URL, sha256=SHA256)
    xs, labels = _sequences.load_ragged_npz(source, ("x", "y"))
    [(xs, labels)] = _sequences.index_words([_sequences.shuffle(np.random.RandomState(seed), xs, labels)], num_words,
                                            skip_top, maxlen, start_char, oov_char, index_from, "reuters.load_data")
    idx = int(len(xs) * (1 - test_split))
    return (xs[:idx], labels[:idx]), (xs[idx:], labels[idx:])


def get_word_index(path="reuters_word_index.json"):
    """``{word: rank}`` for the ids of :func:`load_data` (an id there is ``rank + index_from``)."""
    source = _sequences.source_file(path, WORD_INDEX_FILENAME, WORD_INDEX_URL, md5=WORD_INDEX_MD5)
    return _sequences.load_word_index(source)
