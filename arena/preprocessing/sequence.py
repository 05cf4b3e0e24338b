"""Sequence preprocessing with Keras 2 semantics (``keras.preprocessing.sequence``).

Same argument names, defaults and outputs as Keras-Preprocessing 1.1.2.
"""
import random

import numpy as np

from arena import checks
from arena.utils import Sequence


def _is_int(x):
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pad (or truncate) a list of sequences to one array of shape ``(len(sequences), maxlen) + sample_shape``.

    ``maxlen`` defaults to the longest sequence. ``padding`` / ``truncating`` ('pre' or 'post') say
    whether ``value`` is added / elements are dropped at the start or the end. Elements may be
    arrays of one common shape (``sample_shape``). For strings use ``dtype=object`` (or a str dtype).
    """
    if padding not in ("pre", "post"):
        raise ValueError(f"pad_sequences: `padding` must be 'pre' or 'post', got {padding!r}")
    if truncating not in ("pre", "post"):
        raise ValueError(f"pad_sequences: `truncating` must be 'pre' or 'post', got {truncating!r}")
    if maxlen is not None:
        checks.integer(maxlen, "pad_sequences: `maxlen`", 0, expected="None or a non-negative integer")
    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences: `sequences` must be a list of sequences, got {type(sequences).__name__}")
    lengths = []
    sample_shape = ()
    found_shape = False
    for idx, s in enumerate(sequences):
        if isinstance(s, (str, bytes)) or not hasattr(s, "__len__"):
            raise ValueError(f"pad_sequences: `sequences` must be a list of sequences; element {idx} is "
                             f"{type(s).__name__}: {s!r}")
        lengths.append(len(s))
        if not found_shape and len(s):
            sample_shape = np.asarray(s).shape[1:]
            found_shape = True
    if maxlen is None:
        maxlen = max(lengths, default=0)
    if isinstance(value, str) and np.dtype(dtype).kind not in "OSU":
        raise ValueError(f"pad_sequences: `dtype` {dtype} is not compatible with `value`'s type: {type(value)}; "
                         "use dtype=object for variable length strings")
    x = np.full((len(sequences), maxlen) + sample_shape, value, dtype=dtype)
    if maxlen == 0:
        return x
    for idx, s in enumerate(sequences):
        if not len(s):
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError(f"pad_sequences: shape of sample {trunc.shape[1:]} of sequence at position {idx} "
                             f"is different from expected shape {sample_shape}")
        if padding == "post":
            x[idx, :len(trunc)] = trunc
        else:
            x[idx, -len(trunc):] = trunc
    return x


def make_sampling_table(size, sampling_factor=1e-5):
    """Word2vec's keep-probability by word rank (Zipf approximation): entry ``i`` is the probability of
    keeping the ``i``-th most frequent word, ``min(1, sqrt(f / sampling_factor) / (f / sampling_factor))``."""
    checks.integer(size, "make_sampling_table: `size`", 1, expected="a positive integer")
    gamma = 0.577
    rank = np.arange(size)
    rank[0] = 1
    inv_fq = rank * (np.log(rank) + gamma) + 0.5 - 1.0 / (12.0 * rank)
    f = sampling_factor * inv_fq
    return np.minimum(1.0, f / np.sqrt(f))


def skipgrams(sequence, vocabulary_size, window_size=4, negative_samples=1.0, shuffle=True, categorical=False,
              sampling_table=None, seed=None):
    """Skip-gram word couples from a sequence of word indices (index 0 is a non-word and skipped).

    Returns ``(couples, labels)``: ``[word, context]`` pairs within ``window_size`` labelled 1, then
    ``int(n_positive * negative_samples)`` pairs ``[word, random index in [1, vocabulary_size)]`` labelled 0
    (``[0, 1]`` / ``[1, 0]`` if ``categorical``); ``sampling_table[w]`` is the chance of keeping word ``w``.
    ``shuffle`` shuffles couples and labels alike.

    Randomness: with ``seed=None`` draws come from Python's global ``random`` module in the same
    order as Keras, so ``random.seed(n)`` reproduces Keras' output exactly (without Keras' side
    effect of reseeding the global generator). With a ``seed``, every draw comes from
    ``random.Random(seed)``, so the whole result is reproducible; the shuffle is the permutation
    Keras applies for that seed.
    """
    if isinstance(sequence, (str, bytes)) or not hasattr(sequence, "__len__"):
        raise ValueError(f"skipgrams: `sequence` must be a list of word indices, got {type(sequence).__name__}")
    checks.integer(vocabulary_size, "skipgrams: `vocabulary_size`", 2)
    checks.integer(window_size, "skipgrams: `window_size`", 0, expected="a non-negative integer")
    if negative_samples < 0:
        raise ValueError(f"skipgrams: `negative_samples` must be >= 0, got {negative_samples!r}")
    if sampling_table is not None and len(sampling_table) < vocabulary_size:
        raise ValueError(f"skipgrams: `sampling_table` has {len(sampling_table)} entries, fewer than "
                         f"`vocabulary_size`={vocabulary_size}")
    rng = random if seed is None else random.Random(seed)
    couples = []
    labels = []
    n = len(sequence)
    for i, wi in enumerate(sequence):
        if not wi:
            continue
        if sampling_table is not None and sampling_table[wi] < rng.random():
            continue
        for j in range(max(0, i - window_size), min(n, i + window_size + 1)):
            if j != i:
                wj = sequence[j]
                if not wj:
                    continue
                couples.append([wi, wj])
                labels.append([0, 1] if categorical else 1)
    if negative_samples > 0:
        num_negative = int(len(labels) * negative_samples)
        words = [c[0] for c in couples]
        rng.shuffle(words)
        couples += [[words[i % len(words)], rng.randint(1, vocabulary_size - 1)] for i in range(num_negative)]
        labels += [[1, 0] if categorical else 0 for _ in range(num_negative)]
    if shuffle:
        if seed is None:
            seed = rng.randint(0, 10 ** 7)
        random.Random(seed).shuffle(couples)
        random.Random(seed).shuffle(labels)
    return couples, labels


class TimeseriesGenerator(Sequence):
    """Batches of ``(samples, targets)`` windows over a time series (an ``arena.utils.Sequence``).

    Sample ``row`` is ``data[row - length:row:sampling_rate]`` with target ``targets[row]``, for rows
    ``start_index + length, ... , end_index`` every ``stride`` steps (``end_index`` defaults to the last
    index). ``shuffle`` draws ``batch_size`` random rows per batch from ``np.random`` (as Keras);
    ``reverse`` reverses each sample's time axis. Indexing past the end raises ``IndexError``.
    """

    def __init__(self, data, targets, length, sampling_rate=1, stride=1, start_index=0, end_index=None,
                 shuffle=False, reverse=False, batch_size=128):
        if len(data) != len(targets):
            raise ValueError(f"TimeseriesGenerator: `data` and `targets` have to be of same length; "
                             f"data length is {len(data)} while targets length is {len(targets)}")
        for name, v, low in (("length", length, 1), ("sampling_rate", sampling_rate, 1), ("stride", stride, 1),
                             ("batch_size", batch_size, 1), ("start_index", start_index, 0)):
            checks.integer(v, f"TimeseriesGenerator: `{name}`", low)
        if end_index is not None and not _is_int(end_index):
            raise ValueError(f"TimeseriesGenerator: `end_index` must be None or an integer, got {end_index!r}")
        self.data = data
        self.targets = targets
        self.length = length
        self.sampling_rate = sampling_rate
        self.stride = stride
        self.start_index = start_index + length
        self.end_index = len(data) - 1 if end_index is None else end_index
        self.shuffle = shuffle
        self.reverse = reverse
        self.batch_size = batch_size
        if self.start_index > self.end_index:
            raise ValueError(f"TimeseriesGenerator: `start_index+length={self.start_index} > "
                             f"end_index={self.end_index}` is disallowed, as no part of the sequence would be "
                             "left to be used as current step")

    def __len__(self):
        step = self.batch_size * self.stride
        return (self.end_index - self.start_index + step) // step

    def __getitem__(self, index):
        n = len(self)
        if not _is_int(index):
            raise TypeError(f"TimeseriesGenerator: batch index must be an integer, got {type(index).__name__}")
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"TimeseriesGenerator: batch index out of range for {n} batches")
        if self.shuffle:
            rows = np.random.randint(self.start_index, self.end_index + 1, size=self.batch_size)
        else:
            i = self.start_index + self.batch_size * self.stride * index
            rows = np.arange(i, min(i + self.batch_size * self.stride, self.end_index + 1), self.stride)
        samples = np.array([self.data[row - self.length:row:self.sampling_rate] for row in rows])
        targets = np.array([self.targets[row] for row in rows])
        if self.reverse:
            return samples[:, ::-1, ...], targets
        return samples, targets
