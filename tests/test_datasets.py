"""Data set loaders and data helpers. Never downloads: the offline files come from
ARENA_DATA_DIR (set by conftest.py) and the download code is exercised against a
local HTTP server on 127.0.0.1."""
import gzip
import hashlib
import io
import tarfile
import time

import numpy as np
import pytest

from arena.datasets import _download, cifar10, mnist
from arena.utils import to_categorical, train_test_split, train_validation_split


# ---------------------------------------------------------------- helpers



def _fake_mnist_npz(path):
    rng = np.random.default_rng(0)
    arrays = dict(x_train=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
                  y_train=np.arange(6, dtype=np.uint8),
                  x_test=rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
                  y_test=np.array([7, 8], np.uint8))
    np.savez(path, **arrays)
    return arrays


# ---------------------------------------------------------------- mnist

def test_mnist_offline_matches_keras():
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    assert x_train.min() == 0 and x_train.max() == 255
    # Canonical order and class counts of the real MNIST.
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_missing_offline_file_names_path_and_env(monkeypatch, tmp_path):
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError) as err:
        mnist.load_data()
    assert str(tmp_path / "mnist.npz") in str(err.value) and "ARENA_DATA_DIR" in str(err.value)


def test_download_checks_and_caches(server, online, monkeypatch):
    root, url, requests = server
    arrays = _fake_mnist_npz(root / "mnist.npz")
    digest = hashlib.sha256((root / "mnist.npz").read_bytes()).hexdigest()
    monkeypatch.setattr(mnist, "URL", f"{url}/mnist.npz")
    monkeypatch.setattr(mnist, "SHA256", digest)

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    assert sorted(p.name for p in online.iterdir()) == ["mnist.npz"]  # no temp file left
    assert _download.file_digest(online / "mnist.npz") == digest
    assert len(requests) == 1

    mnist.load_data()  # served from the cache
    assert len(requests) == 1


def test_download_bad_checksum_leaves_nothing(server, online, monkeypatch):
    root, url, _ = server
    _fake_mnist_npz(root / "mnist.npz")
    actual = hashlib.sha256((root / "mnist.npz").read_bytes()).hexdigest()
    monkeypatch.setattr(mnist, "URL", f"{url}/mnist.npz")
    with pytest.raises(_download.ChecksumError) as err:
        mnist.load_data()
    message = str(err.value)
    assert "mnist.npz" in message and mnist.SHA256 in message and actual in message
    assert list(online.iterdir()) == []


def test_download_failure_explains_offline_setup(online, tmp_path):
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(_download.DownloadError) as err:
        _download.download(f"http://127.0.0.1:{port}/x.bin", online / "x.bin", sha256="0" * 64)
    assert "network" in str(err.value) and "ARENA_DATA_DIR" in str(err.value)
    assert list(online.iterdir()) == []


def test_http_error_is_download_error(server, online):
    _, url, _ = server
    with pytest.raises(_download.DownloadError, match="ARENA_DATA_DIR.*'missing_offline.bin'"):
        _download.get_file("missing.bin", f"{url}/missing.bin", md5="0" * 32, offline_name="missing_offline.bin")
    assert list(online.iterdir()) == []


# ---------------------------------------------------------------- cifar10

def _fake_cifar_binary(path, per_batch=3):
    """A cifar-10-binary.tar.gz with tiny batches; pixel = (record index + channel * 50) % 256."""
    expected = {}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
        for b, name in enumerate(names):
            labels = (np.arange(per_batch) + b) % 10
            planes = np.zeros((per_batch, 3, 32, 32), np.uint8)
            for i in range(per_batch):
                for ch in range(3):
                    planes[i, ch] = (b * per_batch + i + ch * 50) % 256
                planes[i, 0, 0, 1] = 7  # one marked pixel: row 0, column 1, red
            records = np.concatenate([labels[:, None].astype(np.uint8),
                                      planes.reshape(per_batch, -1)], axis=1)
            data = records.tobytes()
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            expected[name] = (labels, planes)
    path.write_bytes(gzip.compress(buf.getvalue()))
    return expected


def test_cifar10_binary_download_and_parse(server, online, monkeypatch):
    root, url, _ = server
    expected = _fake_cifar_binary(root / "cifar-10-binary.tar.gz")
    monkeypatch.setattr(cifar10, "URL", f"{url}/cifar-10-binary.tar.gz")
    monkeypatch.setattr(cifar10, "MD5", hashlib.md5((root / "cifar-10-binary.tar.gz").read_bytes()).hexdigest())

    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (15, 32, 32, 3) and y_train.shape == (15, 1)
    assert x_test.shape == (3, 32, 32, 3) and y_test.shape == (3, 1)
    assert x_train.dtype == y_train.dtype == np.uint8
    train_labels = np.concatenate([expected[f"data_batch_{i}.bin"][0] for i in range(1, 6)])
    np.testing.assert_array_equal(y_train[:, 0], train_labels)
    planes = np.concatenate([expected[f"data_batch_{i}.bin"][1] for i in range(1, 6)])
    np.testing.assert_array_equal(x_train, planes.transpose(0, 2, 3, 1))  # channels-last
    assert x_train[4, 0, 1, 0] == 7 and x_train[4, 1, 0, 0] != 7
    np.testing.assert_array_equal(x_test[:, 5, 5, 2], (15 + np.arange(3) + 100) % 256)
    assert (online / "cifar-10-binary.tar.gz").is_file()


def test_cifar10_parse_rejects_truncated_batch():
    with pytest.raises(ValueError, match="3073"):
        cifar10.parse_binary_batch(b"\0" * 3000)


@pytest.fixture(scope="module")
def cifar_offline(tmp_path_factory):
    """Decode the offline JPEG archive once, into a temporary cache folder."""
    cache = tmp_path_factory.mktemp("cifar_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARENA_CACHE_DIR", str(cache))
        start = time.perf_counter()
        first = cifar10.load_data()
        decode_s = time.perf_counter() - start
        start = time.perf_counter()
        second = cifar10.load_data()
        cached_s = time.perf_counter() - start
    return cache, first, second, decode_s, cached_s


@pytest.mark.slow
def test_cifar10_offline_decode_and_cache(cifar_offline):
    cache, first, second, decode_s, cached_s = cifar_offline
    (x_train, y_train), (x_test, y_test) = first
    assert x_train.shape == (50000, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (50000, 1) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 32, 32, 3) and y_test.shape == (10000, 1)
    assert np.bincount(y_train[:, 0]).tolist() == [5000] * 10
    assert np.bincount(y_test[:, 0]).tolist() == [1000] * 10
    assert np.all(np.diff(y_train[:, 0].astype(int)) >= 0)  # offline set is sorted by class
    assert np.all(np.diff(y_test[:, 0].astype(int)) >= 0)
    # Per-channel means of real CIFAR-10 (about 125, 123, 114; JPEG moves them a little),
    # on every 10th image to keep the test light.
    np.testing.assert_allclose(x_train[::10].reshape(-1, 3).mean(0), [125.3, 123.0, 113.9], atol=3)
    # Class sanity: ships are bluer than frogs (the set is sorted, 5000 rows per class).
    def blue_minus_red(c):
        rgb = x_train[5000 * c:5000 * (c + 1):10].astype(np.float32)
        return (rgb[..., 2] - rgb[..., 0]).mean()

    assert blue_minus_red(cifar10.CLASSES.index("ship")) > blue_minus_red(cifar10.CLASSES.index("frog")) + 10

    cached = list(cache.glob("cifar10_jpg-decoded-*.npz"))
    assert len(cached) == 1 and not list(cache.glob(".*"))  # no temp file left
    assert all(np.array_equal(a, b) for a, b in zip(first[0] + first[1], second[0] + second[1]))
    assert cached_s < decode_s


# ---------------------------------------------------------------- to_categorical

def test_to_categorical_matches_numpy():
    y = np.array([0, 2, 1, 2, 4])
    out = to_categorical(y)
    np.testing.assert_array_equal(out, np.eye(5, dtype=np.float32)[y])
    assert out.dtype == np.float32
    assert to_categorical(y, num_classes=7).shape == (5, 7)
    assert to_categorical([[1], [0]], 3).shape == (2, 3)  # trailing 1 axis is replaced
    np.testing.assert_array_equal(to_categorical(np.array([[0, 1], [2, 0]]), 3),
                                  np.eye(3)[[[0, 1], [2, 0]]])
    assert to_categorical(1, 3).tolist() == [0, 1, 0]
    assert to_categorical(y, dtype="uint8").dtype == np.uint8


def test_to_categorical_rejects_bad_labels():
    with pytest.raises(ValueError):
        to_categorical([0, 3], num_classes=3)
    with pytest.raises(ValueError):
        to_categorical([-1, 0])
    with pytest.raises(ValueError):
        to_categorical([0.5, 1.0])


# ---------------------------------------------------------------- splits

def test_train_validation_split_takes_last_rows():
    x = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    (x_tr, y_tr, w_tr), (x_val, y_val, w_val) = train_validation_split(x, y, None, validation_split=0.25)
    # floor(10 * 0.75) = 7 training rows, as Keras' fit(validation_split=0.25)
    np.testing.assert_array_equal(y_tr, np.arange(7))
    np.testing.assert_array_equal(y_val, [7, 8, 9])
    np.testing.assert_array_equal(x_val, x[7:])
    assert w_tr is None and w_val is None
    tr, val = train_validation_split(y)  # one array in, two arrays out
    assert tr.tolist() == list(range(8)) and val.tolist() == [8, 9]


def test_train_validation_split_errors():
    with pytest.raises(ValueError):
        train_validation_split(np.arange(5), validation_split=1.0)
    with pytest.raises(ValueError):
        train_validation_split(np.arange(5), np.arange(4))
    with pytest.raises(ValueError, match="not enough"):
        train_validation_split(np.arange(1), validation_split=0.5)


def test_train_test_split_reproduces_sklearn():
    # Expected values produced by scikit-learn 1.x with the same arguments.
    x_tr, x_te = train_test_split(np.arange(10), test_size=0.3, random_state=42)
    assert x_tr.tolist() == [0, 7, 2, 9, 4, 3, 6] and x_te.tolist() == [8, 1, 5]
    a_tr, a_te, b_tr, b_te = train_test_split(np.arange(7), list("abcdefg"), test_size=0.33, random_state=0)
    assert a_tr.tolist() == [3, 0, 5, 4] and a_te.tolist() == [6, 2, 1]
    assert b_tr == list("dafe") and b_te == list("gcb")
    x_tr, x_te = train_test_split(np.arange(10), test_size=3, random_state=1)
    assert x_tr.tolist() == [4, 0, 3, 1, 7, 8, 5] and x_te.tolist() == [2, 9, 6]
    x_tr, x_te = train_test_split(np.arange(10), test_size=0.3, shuffle=False)
    assert x_tr.tolist() == list(range(7)) and x_te.tolist() == [7, 8, 9]


def test_train_test_split_rule_and_errors():
    n, s = 101, 7
    perm = np.random.RandomState(s).permutation(n)
    n_test = int(np.ceil(0.2 * n))
    x_tr, x_te = train_test_split(np.arange(n), test_size=0.2, random_state=s)
    np.testing.assert_array_equal(x_te, perm[:n_test])
    np.testing.assert_array_equal(x_tr, perm[n_test:])
    with pytest.raises(ValueError):
        train_test_split(np.arange(4), np.arange(5), test_size=0.5, random_state=0)
    with pytest.raises(ValueError):
        train_test_split(np.arange(4), test_size=1.5, random_state=0)
    with pytest.raises(ValueError):
        train_test_split(np.arange(4), test_size=4, random_state=0)
