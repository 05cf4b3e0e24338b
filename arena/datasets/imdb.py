"""IMDB movie reviews as word ids, labelled positive (1) or negative (0): ``keras.datasets.imdb``.

25,000 training and 25,000 test reviews from Keras' own ``imdb.npz``; a word's id is its frequency
rank (1 the most frequent). ``load_data`` has Keras' arguments and returns Keras' arrays: object
arrays of lists of ids, shuffled with ``seed``, each starting with ``start_char``, words shifted by
``index_from``. ``get_word_index`` maps words to their unshifted ids.
"""
import numpy as np

from arena.datasets import _sequences

URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
FILENAME = "imdb.npz"
WORD_INDEX_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb_word_index.json"
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"
WORD_INDEX_FILENAME = "imdb_word_index.json"
_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3):
    """``(x_train, y_train), (x_test, y_test)`` as Keras' ``imdb.load_data`` gives them.

    ``x_*`` are object arrays of lists of word ids, ``y_*`` int labels (1 positive). Each set is
    shuffled with ``np.random.RandomState(seed)``; every review starts with ``start_char`` and a word
    of rank ``r`` is ``r + index_from``. With ``maxlen``, reviews of ``maxlen`` or more ids are
    dropped; ids below ``skip_top`` or from ``num_words`` up become ``oov_char`` (dropped when it is
    None). ``num_words`` counts over both sets, as Keras does.

    With ``ARENA_DATA_DIR`` set, ``imdb.npz`` is read from there; otherwise ``path`` names the cached
    copy (in ``ARENA_CACHE_DIR``, default ``~/.arena/datasets``), downloaded and sha256-checked when
    missing. The file's ragged arrays are read without running code from it.
    """
    source = _sequences.source_file(path, FILENAME, URL, sha256=SHA256)
    x_train, y_train, x_test, y_test = _sequences.load_ragged_npz(source, _KEYS)
    rng = np.random.RandomState(seed)
    train = _sequences.shuffle(rng, x_train, y_train)
    test = _sequences.shuffle(rng, x_test, y_test)
    (x_train, y_train), (x_test, y_test) = _sequences.index_words(
        [train, test], num_words, skip_top, maxlen, start_char, oov_char, index_from, "imdb.load_data")
    return (x_train, y_train), (x_test, y_test)


def get_word_index(path="imdb_word_index.json"):
    """``{word: rank}`` for the ids of :func:`load_data` (an id there is ``rank + index_from``)."""
    source = _sequences.source_file(path, WORD_INDEX_FILENAME, WORD_INDEX_URL, md5=WORD_INDEX_MD5)
    return _sequences.load_word_index(source)
