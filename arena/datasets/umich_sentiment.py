"""UMich SI650 sentiment sentences (Kaggle "SI650 Winter 2011"), the book's E5.5-E5.10 and E6.2 data."""
import numpy as np

from arena.datasets import _download

URL = "https://www.kaggle.com/c/si650winter11/download/training.txt"
SHA256 = "f62739660ffa9233cae138557dda4f5dac9865aef352645881240e9045df23d9"
FILENAME = "umich-sentiment-train.txt"


def parse(data: bytes):
    """``(sentences, labels)`` from the bytes of a ``label<TAB>sentence`` file (one row a line)."""
    sentences, labels = [], []
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        label, sep, sentence = line.strip().partition("\t")
        if not sep or label not in ("0", "1"):
            raise ValueError(f"{FILENAME} line {number}: expected 'label<TAB>sentence' with label 0 or 1; "
                             f"got {line[:60]!r}")
        sentences.append(sentence.strip())
        labels.append(int(label))
    return sentences, np.asarray(labels, dtype=np.int64)


def load_data(path=None):
    """Load SI650 as ``(sentences, labels)``: 7,086 sentences (list of str, as written, with
    surrounding white space stripped; a few contain non-ASCII characters) and an int64 array
    of their labels, 1 positive (3,995) and 0 negative (3,091), in file order. There is no
    split: the book splits with ``train_test_split(..., random_state=42)``.

    With ``ARENA_DATA_DIR`` set the file ``umich-sentiment-train.txt`` is read from there
    (``path`` is ignored). Otherwise ``path`` (default that name) names the cached copy,
    relative to the cache folder unless absolute; when missing it is downloaded from the
    Kaggle competition page (which asks for a Kaggle login: if the download is refused, save
    ``training.txt`` from https://www.kaggle.com/c/si650winter11/data under that name in the
    cache folder) and sha256-checked.
    """
    if _download.data_dir() is not None:
        source = _download.offline_file(FILENAME)
    else:
        source = _download.get_file(path or FILENAME, URL, sha256=SHA256, offline_name=FILENAME)
    with open(source, "rb") as f:
        return parse(f.read())
