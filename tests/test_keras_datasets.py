"""Keras' word-index data sets (IMDB, Reuters topics): Keras' arguments and return format, read from small
fixtures written here (ARENA_DATA_DIR) or served on 127.0.0.1; never the network."""
import hashlib
import io
import json
import pickle

import numpy as np
import pytest

from arena.datasets import imdb, reuters_topics


def _ragged(seqs):
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = list(s)
    return out


TRAIN = [[1, 2, 3], [4, 1, 5, 6, 7], [2, 2], [8, 9, 1, 1]]
TEST = [[3, 4], [5, 6, 7, 8, 9, 10], [1]]


@pytest.fixture
def imdb_dir(tmp_path, monkeypatch):
    np.savez(tmp_path / "imdb.npz", x_train=_ragged(TRAIN), y_train=np.array([1, 0, 1, 0]),
             x_test=_ragged(TEST), y_test=np.array([0, 1, 1]))
    (tmp_path / "imdb_word_index.json").write_text(json.dumps({"the": 1, "movie": 2}))
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path))
    return tmp_path


def _keras_reference(parts, num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
                     index_from=3):
    """Keras' load_data, written out step by step for the fixture."""
    rng = np.random.RandomState(seed)
    shuffled = []
    for xs, ys in parts:
        idx = np.arange(len(xs))
        rng.shuffle(idx)
        shuffled.append(([list(xs[i]) for i in idx], [ys[i] for i in idx]))
    done = []
    for xs, ys in shuffled:
        xs = [([start_char] if start_char is not None else []) + [w + index_from for w in x] for x in xs]
        if maxlen:
            keep = [i for i, x in enumerate(xs) if len(x) < maxlen]
            xs, ys = [xs[i] for i in keep], [ys[i] for i in keep]
        done.append((xs, ys))
    top = num_words or max(max(x) for xs, _ in done for x in xs)
    return [([[w if skip_top <= w < top else oov_char for w in x] if oov_char is not None else
              [w for w in x if skip_top <= w < top] for x in xs], ys) for xs, ys in done]


@pytest.mark.parametrize("kwargs", [{}, {"num_words": 8, "skip_top": 5}, {"maxlen": 5}, {"seed": 1, "index_from": 0},
                                    {"start_char": None, "oov_char": None, "num_words": 9}])
def test_imdb_load_data_matches_keras(imdb_dir, kwargs):
    (x_train, y_train), (x_test, y_test) = imdb.load_data(**kwargs)
    labels = ([1, 0, 1, 0], [0, 1, 1])
    (rx_train, ry_train), (rx_test, ry_test) = _keras_reference([(TRAIN, labels[0]), (TEST, labels[1])], **kwargs)
    assert x_train.dtype == object and x_train.ndim == 1 and all(isinstance(x, list) for x in x_train)
    assert [list(x) for x in x_train] == rx_train and [list(x) for x in x_test] == rx_test
    assert y_train.tolist() == ry_train and y_test.tolist() == ry_test


def test_imdb_word_index(imdb_dir):
    assert imdb.get_word_index() == {"the": 1, "movie": 2}


def test_imdb_maxlen_that_keeps_nothing_is_a_clear_error(imdb_dir):
    with pytest.raises(ValueError, match="increase maxlen"):
        imdb.load_data(maxlen=1)


def test_reuters_topics_split(tmp_path, monkeypatch):
    seqs = [[i % 7 + 1] * (i % 4 + 1) for i in range(10)]
    np.savez(tmp_path / "reuters.npz", x=_ragged(seqs), y=np.arange(10) % 3)
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path))
    (x_train, y_train), (x_test, y_test) = reuters_topics.load_data(test_split=0.3, num_words=8)
    [(rx, ry)] = _keras_reference([(seqs, list(np.arange(10) % 3))], num_words=8)
    assert len(x_train) == 7 and len(x_test) == 3
    assert [list(x) for x in x_train] + [list(x) for x in x_test] == rx
    assert y_train.tolist() + y_test.tolist() == ry


def test_a_data_file_that_would_run_code_is_refused(tmp_path, monkeypatch):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    pickle.dump(Payload(), buf, protocol=2)
    import zipfile
    with zipfile.ZipFile(tmp_path / "imdb.npz", "w") as z:
        for name in ("x_train", "y_train", "x_test", "y_test"):
            z.writestr(f"{name}.npy", buf.getvalue())
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="refusing to load"):
        imdb.load_data()
    assert not marker.exists()


def test_imdb_downloads_once_checked(server, online, monkeypatch):
    root, url, requests = server
    np.savez(root / "imdb.npz", x_train=_ragged(TRAIN), y_train=np.array([1, 0, 1, 0]), x_test=_ragged(TEST),
             y_test=np.array([0, 1, 1]))
    monkeypatch.setattr(imdb, "URL", f"{url}/imdb.npz")
    monkeypatch.setattr(imdb, "SHA256", hashlib.sha256((root / "imdb.npz").read_bytes()).hexdigest())
    (x_train, _), _ = imdb.load_data()
    imdb.load_data()
    assert len(x_train) == 4 and len(requests) == 1
    assert (online / "imdb.npz").is_file()
