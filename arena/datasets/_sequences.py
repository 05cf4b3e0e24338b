"""What Keras' word-index data sets (IMDB, Reuters topics) share: their ``.npz`` of ragged sequences, read
with an unpickler that can build numpy arrays and nothing else, and Keras' ``load_data`` processing
(shuffle, start and out-of-vocabulary marks, ``num_words``/``skip_top``/``maxlen``)."""
import io
import json
import pickle
import zipfile

import numpy as np

from arena.datasets import _download

# The only globals numpy needs to rebuild an object array of Python lists (numpy < 2 and >= 2 spellings).
_NUMPY_GLOBALS = frozenset({("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
                            ("numpy._core.multiarray", "_reconstruct")})


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: a data set file holds arrays only (a "
                                     f"damaged or hostile file?)")


def _read_npy(buffer, source, member):
    try:
        return np.lib.format.read_array(buffer, allow_pickle=False)
    except ValueError:  # an object array: numpy stores it as a pickle after the header
        buffer.seek(0)
        major, _ = np.lib.format.read_magic(buffer)
        if major == 1:
            np.lib.format.read_array_header_1_0(buffer)
        elif major in (2, 3):  # 3.0 only changes the header's text encoding; its length field is 2.0's
            np.lib.format.read_array_header_2_0(buffer)
        else:
            raise ValueError(f"{source}: {member} is an .npy of unknown version {major}") from None
        try:
            return _ArrayUnpickler(buffer).load()
        except (pickle.UnpicklingError, EOFError, AttributeError, TypeError) as e:
            raise ValueError(f"{source}: cannot read {member}: {e}") from None


def source_file(path, filename, url, **digest):
    """The file to read: ``ARENA_DATA_DIR/filename`` when that is set (``path`` is then ignored), else the
    cached ``path`` (relative to the cache folder unless absolute), downloaded from ``url`` and checked
    against ``digest`` (``sha256=`` or ``md5=``) when missing."""
    if _download.data_dir() is not None:
        return _download.offline_file(filename)
    return _download.get_file(path or filename, url, offline_name=filename, **digest)


def load_ragged_npz(path, keys):
    """The named arrays of an ``.npz`` whose arrays may be object arrays of lists (ragged sequences)."""
    out = {}
    with zipfile.ZipFile(path) as archive:
        names = {n[:-4]: n for n in archive.namelist() if n.endswith(".npy")}
        missing = [k for k in keys if k not in names]
        if missing:
            raise ValueError(f"{path} lacks arrays {missing}; it has {sorted(names)}")
        for k in keys:
            out[k] = _read_npy(io.BytesIO(archive.read(names[k])), path, names[k])
    return tuple(out[k] for k in keys)


def load_word_index(path):
    """A ``{word: index}`` JSON file."""
    with open(path, encoding="utf-8") as f:
        index = json.load(f)
    if not isinstance(index, dict):
        raise ValueError(f"{path} is not a word index (a JSON object of word -> index)")
    return index


def _remove_long(maxlen, xs, labels):
    kept = [(x, y) for x, y in zip(xs, labels) if len(x) < maxlen]  # Keras keeps len < maxlen
    return [x for x, _ in kept], [y for _, y in kept]


def shuffle(rng, xs, labels):
    """``xs`` and ``labels`` in the order of ``rng.shuffle(arange(n))``, as Keras' loaders shuffle."""
    indices = np.arange(len(xs))
    rng.shuffle(indices)
    return xs[indices], labels[indices]


def index_words(parts, num_words, skip_top, maxlen, start_char, oov_char, index_from, what):
    """Keras' processing of ``[(sequences, labels), ...]`` (already shuffled): each word id ``w`` becomes
    ``w + index_from`` after an optional ``start_char``; with ``maxlen`` the sequences of ``maxlen`` or
    more words are dropped; ids outside ``[skip_top, num_words)`` become ``oov_char`` (or are dropped
    when it is None). ``num_words`` defaults to the largest id over all parts. Returns
    ``[(object array of lists, label array), ...]``."""
    prepared = []
    for xs, labels in parts:
        if start_char is not None:
            xs = [[start_char] + [int(w) + index_from for w in x] for x in xs]
        else:
            xs = [[int(w) + index_from for w in x] for x in xs]
        labels = list(labels)
        if maxlen:
            xs, labels = _remove_long(maxlen, xs, labels)
            if not xs:
                raise ValueError(f"{what}: no sequence is shorter than maxlen={maxlen}; increase maxlen")
        prepared.append((xs, labels))
    if not num_words:
        num_words = max(max(x) for xs, _ in prepared for x in xs if x)
    out = []
    for xs, labels in prepared:
        if oov_char is not None:
            xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
        else:
            xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
        arr = np.empty(len(xs), dtype=object)  # a 1-D array of lists, even when they have one length
        for i, x in enumerate(xs):
            arr[i] = x
        out.append((arr, np.asarray(labels)))
    return out
