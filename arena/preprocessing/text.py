"""Text preprocessing with Keras 2 semantics (``keras.preprocessing.text``).

Same argument names, defaults, outputs and JSON format as Keras-Preprocessing 1.1.2,
so a tokenizer saved by Keras with ``to_json`` loads here and vice versa.
Tokenizers are serialized as JSON only, never pickled.
"""
import json
import warnings
from collections import OrderedDict, defaultdict
from hashlib import md5

import numpy as np

from arena import checks

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
MATRIX_MODES = ("binary", "count", "tfidf", "freq")


def _check_text(text, fn):
    if not isinstance(text, str):
        raise TypeError(f"{fn}: `text` must be a string, got {type(text).__name__}")


def text_to_word_sequence(text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """Split ``text`` into words: optionally lower-case, replace every character of ``filters``
    by ``split``, split on ``split`` and drop empty tokens."""
    _check_text(text, "text_to_word_sequence")
    if not isinstance(split, str) or not split:
        raise ValueError(f"text_to_word_sequence: `split` must be a non-empty string, got {split!r}")
    if lower:
        text = text.lower()
    text = text.translate(str.maketrans({c: split for c in filters}))
    return [w for w in text.split(split) if w]


def hashing_trick(text, n, hash_function=None, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """Map each word of ``text`` to an index in ``[1, n - 1]`` by hashing (collisions possible; 0 is never used).

    ``hash_function``: None (Python's ``hash``), ``'md5'``, or a callable from str to int.
    Python's ``hash`` of a string is salted per process (``PYTHONHASHSEED``), so its indices
    are NOT stable across runs; use ``hash_function='md5'`` for indices that are.
    """
    _check_text(text, "hashing_trick")
    checks.integer(n, "hashing_trick: `n`", 2, expected="an integer >= 2 (size of the hashing space)")
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        def hash_function(w):
            return int(md5(w.encode()).hexdigest(), 16)
    elif not callable(hash_function):
        raise ValueError(f"hashing_trick: `hash_function` must be None, 'md5' or a callable, got {hash_function!r}")
    seq = text_to_word_sequence(text, filters=filters, lower=lower, split=split)
    return [hash_function(w) % (n - 1) + 1 for w in seq]


def one_hot(text, n, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """``hashing_trick`` with Python's ``hash``: indices in ``[1, n - 1]``, not unique, and not stable
    across processes (string hashing is salted); use ``hashing_trick(..., hash_function='md5')`` for that."""
    return hashing_trick(text, n, hash_function=hash, filters=filters, lower=lower, split=split)


class Tokenizer:
    """Turn texts into integer sequences or count / tf-idf matrices (Keras' ``Tokenizer``).

    Words are indexed by decreasing frequency from 1 (0 is reserved; ties keep first-seen order);
    ``oov_token``, if given, gets index 1 and replaces unknown words. ``num_words`` keeps only
    indices below ``num_words`` when converting (the ``num_words - 1`` most frequent words);
    ``word_index`` always holds the whole vocabulary. ``char_level=True`` makes every character
    a token; a text given as a list is taken as its list of tokens.
    """

    def __init__(self, num_words=None, filters=DEFAULT_FILTERS, lower=True, split=" ", char_level=False,
                 oov_token=None, document_count=0, **kwargs):
        if "nb_words" in kwargs:
            warnings.warn("The `nb_words` argument in `Tokenizer` has been renamed `num_words`.")
            num_words = kwargs.pop("nb_words")
        if kwargs:
            raise TypeError(f"Tokenizer: unrecognized keyword arguments: {sorted(kwargs)}")
        if num_words is not None and (isinstance(num_words, bool) or not isinstance(num_words, (int, np.integer))
                                      or num_words < 0):
            raise ValueError(f"Tokenizer: `num_words` must be None or a non-negative integer, got {num_words!r}")
        if not isinstance(split, str) or not split:
            raise ValueError(f"Tokenizer: `split` must be a non-empty string, got {split!r}")
        if not isinstance(filters, str):
            raise ValueError(f"Tokenizer: `filters` must be a string of characters, got {type(filters).__name__}")
        self.word_counts = OrderedDict()
        self.word_docs = defaultdict(int)
        self.filters = filters
        self.split = split
        self.lower = lower
        self.num_words = num_words
        self.document_count = document_count
        self.char_level = char_level
        self.oov_token = oov_token
        self.index_docs = defaultdict(int)
        self.word_index = {}
        self.index_word = {}

    def _tokens(self, text, method):
        if isinstance(text, list):
            return [t.lower() for t in text] if self.lower else text
        if not isinstance(text, str):
            raise TypeError(f"Tokenizer.{method}: each text must be a string or a list of tokens, "
                            f"got {type(text).__name__}")
        if self.char_level:
            return text.lower() if self.lower else text
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    @staticmethod
    def _check_collection(texts, method, arg="texts"):
        if isinstance(texts, (str, bytes)):
            raise TypeError(f"Tokenizer.{method}: `{arg}` must be a list of texts, not a single string")
        if not hasattr(texts, "__iter__"):
            raise TypeError(f"Tokenizer.{method}: `{arg}` must be an iterable, got {type(texts).__name__}")

    def fit_on_texts(self, texts):
        """Update the vocabulary (counts and indices) from a list (or generator) of texts."""
        self._check_collection(texts, "fit_on_texts")
        for text in texts:
            seq = self._tokens(text, "fit_on_texts")
            self.document_count += 1
            for w in seq:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(seq):
                self.word_docs[w] += 1
        wcounts = sorted(self.word_counts.items(), key=lambda x: x[1], reverse=True)  # stable: ties keep order
        sorted_voc = [] if self.oov_token is None else [self.oov_token]
        sorted_voc.extend(w for w, _ in wcounts)
        self.word_index = dict(zip(sorted_voc, range(1, len(sorted_voc) + 1)))
        self.index_word = {c: w for w, c in self.word_index.items()}
        for w, c in list(self.word_docs.items()):
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences):
        """Update document frequencies (for tf-idf) from integer sequences."""
        self._check_collection(sequences, "fit_on_sequences", "sequences")
        sequences = list(sequences)
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    def texts_to_sequences(self, texts):
        """List of integer sequences, one per text (unknown words dropped, or ``oov_token``'s index)."""
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        """Generator version of ``texts_to_sequences``."""
        self._check_collection(texts, "texts_to_sequences")
        num_words = self.num_words
        oov_index = self.word_index.get(self.oov_token)
        for text in texts:
            vect = []
            for w in self._tokens(text, "texts_to_sequences"):
                i = self.word_index.get(w)
                if i is not None:
                    if num_words and i >= num_words:
                        if oov_index is not None:
                            vect.append(oov_index)
                    else:
                        vect.append(i)
                elif self.oov_token is not None:
                    vect.append(oov_index)
            yield vect

    def sequences_to_texts(self, sequences):
        """Inverse of ``texts_to_sequences``: space-joined words (unknown indices dropped or ``oov_token``)."""
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        """Generator version of ``sequences_to_texts``."""
        self._check_collection(sequences, "sequences_to_texts", "sequences")
        num_words = self.num_words
        oov_index = self.word_index.get(self.oov_token)
        for seq in sequences:
            vect = []
            for num in seq:
                word = self.index_word.get(num)
                if word is not None:
                    if num_words and num >= num_words:
                        if oov_index is not None:
                            vect.append(self.index_word[oov_index])
                    else:
                        vect.append(word)
                elif self.oov_token is not None:
                    vect.append(self.index_word[oov_index])
            yield " ".join(vect)

    def texts_to_matrix(self, texts, mode="binary"):
        """``(len(texts), num_words)`` float64 matrix in ``mode`` 'binary', 'count', 'tfidf' or 'freq'."""
        self._check_mode(mode, "texts_to_matrix")
        if not self.num_words and not self.word_index:
            raise ValueError("Tokenizer.texts_to_matrix: the tokenizer has no vocabulary; call fit_on_texts first "
                             "or give a dimension with the `num_words` argument")
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    @staticmethod
    def _check_mode(mode, method):
        if mode not in MATRIX_MODES:
            raise ValueError(f"Tokenizer.{method}: unknown `mode` {mode!r}; expected one of {MATRIX_MODES}")

    def sequences_to_matrix(self, sequences, mode="binary"):
        """``(len(sequences), num_words)`` float64 matrix; indices ``>= num_words`` are ignored.

        tf-idf uses ``(1 + log(count)) * log(1 + document_count / (1 + document_frequency))``.
        """
        self._check_mode(mode, "sequences_to_matrix")
        self._check_collection(sequences, "sequences_to_matrix", "sequences")
        if not self.num_words:
            if not self.word_index:
                raise ValueError("Tokenizer.sequences_to_matrix: specify a dimension (`num_words` argument), "
                                 "or fit on some text data first")
            num_words = len(self.word_index) + 1
        else:
            num_words = self.num_words
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Tokenizer.sequences_to_matrix: fit the Tokenizer on some data before using "
                             "mode='tfidf'")
        sequences = list(sequences)
        x = np.zeros((len(sequences), num_words))
        for i, seq in enumerate(sequences):
            if not len(seq):
                continue
            counts = defaultdict(int)
            for j in seq:
                if j >= num_words:
                    continue
                counts[j] += 1
            for j, c in counts.items():
                if mode == "count":
                    x[i][j] = c
                elif mode == "freq":
                    x[i][j] = c / len(seq)
                elif mode == "binary":
                    x[i][j] = 1
                else:
                    tf = 1 + np.log(c)
                    idf = np.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    x[i][j] = tf * idf
        return x

    def get_config(self):
        """Keras' config dict (the vocabularies as JSON strings)."""
        return {
            "num_words": self.num_words,
            "filters": self.filters,
            "lower": self.lower,
            "split": self.split,
            "char_level": self.char_level,
            "oov_token": self.oov_token,
            "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts),
            "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs),
            "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs):
        """JSON string in Keras' format; ``kwargs`` go to ``json.dumps``. Load with ``tokenizer_from_json``."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()}, **kwargs)


_CONFIG_KEYS = {"num_words", "filters", "lower", "split", "char_level", "oov_token", "document_count"}
_VOCAB_KEYS = ("word_counts", "word_docs", "index_docs", "index_word", "word_index")


def tokenizer_from_json(json_string):
    """Rebuild a ``Tokenizer`` from ``Tokenizer.to_json()`` output (Arena's or Keras')."""
    try:
        data = json.loads(json_string)
    except (TypeError, ValueError) as e:
        raise ValueError(f"tokenizer_from_json: `json_string` is not valid JSON: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise ValueError("tokenizer_from_json: expected an object with a 'config' object (Tokenizer.to_json output)")
    if data.get("class_name", "Tokenizer") != "Tokenizer":
        raise ValueError(f"tokenizer_from_json: class_name is {data.get('class_name')!r}, expected 'Tokenizer'")
    config = dict(data["config"])
    vocab = {}
    for key in _VOCAB_KEYS:
        raw = config.pop(key, "{}")
        try:
            value = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError as e:
            raise ValueError(f"tokenizer_from_json: config[{key!r}] is not valid JSON: {e}") from None
        if not isinstance(value, dict):
            raise ValueError(f"tokenizer_from_json: config[{key!r}] must encode an object")
        vocab[key] = value
    unknown = set(config) - _CONFIG_KEYS
    if unknown:
        raise ValueError(f"tokenizer_from_json: unknown config keys {sorted(unknown)}")
    tokenizer = Tokenizer(**config)
    try:
        tokenizer.word_counts = OrderedDict(vocab["word_counts"])
        tokenizer.word_docs = defaultdict(int, vocab["word_docs"])
        # JSON turns integer keys into strings.
        tokenizer.index_docs = defaultdict(int, {int(k): v for k, v in vocab["index_docs"].items()})
        tokenizer.index_word = {int(k): v for k, v in vocab["index_word"].items()}
    except ValueError as e:
        raise ValueError(f"tokenizer_from_json: index keys must be integers: {e}") from None
    tokenizer.word_index = vocab["word_index"]
    return tokenizer
