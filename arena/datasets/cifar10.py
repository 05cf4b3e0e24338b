"""CIFAR-10 small images, shaped like ``keras.datasets.cifar10``.

Two sources, the same output:

* online: the canonical *binary* archive (``cifar-10-binary.tar.gz``), parsed with
  numpy. Arena never uses the pickled "python version": it never unpickles.
* offline (``ARENA_DATA_DIR``): ``cifar10_jpg.tar.gz`` holding
  ``[prefix/]{train,test}/<class>/NNNN.jpg``. Decoding 60,000 JPEGs takes a while,
  so the decoded arrays are cached once as an .npz in the cache folder, keyed on
  the archive's size and mtime.
"""
import io
import tarfile
from pathlib import Path

import numpy as np

from arena.datasets import _download

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
FILENAME = "cifar-10-binary.tar.gz"
OFFLINE_FILENAME = "cifar10_jpg.tar.gz"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck")
_SIDE, _RECORD = 32, 1 + 3 * 32 * 32
_TRAIN_BATCHES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
_TEST_BATCH = "test_batch.bin"
_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_data():
    """Load CIFAR-10 as ``(x_train, y_train), (x_test, y_test)``.

    ``x_train`` is uint8 (50000, 32, 32, 3) channels-last, ``y_train`` uint8 (50000, 1)
    with classes in :data:`CLASSES` order (airplane 0 ... truck 9); the test set has
    10000 rows. The loader does not shuffle: the downloaded set comes in the
    canonical batch order, but the offline JPEG set is sorted by class (all airplanes
    first), so shuffle with a seed before splitting off validation data. The offline
    images are lossy JPEGs, close to but not equal to the canonical pixels.
    """
    if _download.data_dir() is not None:
        x_train, y_train, x_test, y_test = _load_offline(_download.offline_file(OFFLINE_FILENAME))
    else:
        archive = _download.get_file(FILENAME, URL, md5=MD5, offline_name=OFFLINE_FILENAME)
        x_train, y_train, x_test, y_test = read_binary_archive(archive)
    return (x_train, y_train), (x_test, y_test)


def parse_binary_batch(raw: bytes):
    """Parse records of 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32) to (x, y)."""
    if len(raw) % _RECORD:
        raise ValueError(f"CIFAR-10 binary batch of {len(raw)} bytes is not a whole number "
                         f"of {_RECORD}-byte records")
    records = np.frombuffer(raw, np.uint8).reshape(-1, _RECORD)
    y = records[:, :1].copy()
    # Stored channel-first per image; Keras' default layout is channels-last.
    x = np.ascontiguousarray(records[:, 1:].reshape(-1, 3, _SIDE, _SIDE).transpose(0, 2, 3, 1))
    return x, y


def read_binary_archive(path):
    """(x_train, y_train, x_test, y_test) from ``cifar-10-binary.tar.gz``, read in one pass."""
    wanted = set(_TRAIN_BATCHES) | {_TEST_BATCH}
    batches = {}
    # One sequential pass: random access into a .tar.gz re-decompresses from the start.
    with tarfile.open(path, "r:gz") as tar:
        for member in tar:
            name = Path(member.name).name
            if member.isfile() and name in wanted:
                batches[name] = parse_binary_batch(tar.extractfile(member).read())
    missing = sorted(wanted - batches.keys())
    if missing:
        raise ValueError(f"{path} is not the CIFAR-10 binary archive: it lacks {missing}")
    x_train = np.concatenate([batches[n][0] for n in _TRAIN_BATCHES])
    y_train = np.concatenate([batches[n][1] for n in _TRAIN_BATCHES])
    return x_train, y_train, batches[_TEST_BATCH][0], batches[_TEST_BATCH][1]


def decode_jpeg_archive(path):
    """(x_train, y_train, x_test, y_test) decoded from the offline JPEG archive, sorted by class then file name."""
    from PIL import Image  # only the offline path needs pillow

    labels = {name: i for i, name in enumerate(CLASSES)}
    found = {"train": [], "test": []}
    with tarfile.open(path, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if not member.isfile() or not member.name.endswith(".jpg") or len(parts) < 3:
                continue
            split, cls, fname = parts[-3:]
            if split not in found or cls not in labels:
                raise ValueError(f"{path}: unexpected member {member.name}; expected "
                                 f"{{train,test}}/<class>/NNNN.jpg with class in {CLASSES}")
            with Image.open(io.BytesIO(tar.extractfile(member).read())) as img:
                pixels = np.asarray(img.convert("RGB"), dtype=np.uint8)
            if pixels.shape != (_SIDE, _SIDE, 3):
                raise ValueError(f"{path}: {member.name} is {pixels.shape}, not 32x32 RGB")
            found[split].append((labels[cls], fname, pixels))
    out = []
    for split in ("train", "test"):
        if not found[split]:
            raise ValueError(f"{path} holds no {split}/<class>/*.jpg images")
        items = sorted(found[split], key=lambda t: (t[0], t[1]))
        out.append(np.stack([t[2] for t in items]))
        out.append(np.array([[t[0]] for t in items], dtype=np.uint8))
    return tuple(out)


def _load_offline(archive: Path):
    stat = archive.stat()
    stem = OFFLINE_FILENAME.removesuffix(".tar.gz")
    cached = _download.cache_dir() / f"{stem}-decoded-{stat.st_size}-{stat.st_mtime_ns}.npz"
    if cached.is_file():
        return _download.load_npz(cached, _KEYS)
    arrays = decode_jpeg_archive(archive)
    _download.atomic_save_npz(cached, **dict(zip(_KEYS, arrays)))
    # A changed archive gets a new key; drop the decodes of older versions (~200 MB each).
    for old in cached.parent.glob(f"{stem}-decoded-*.npz"):
        if old != cached:
            old.unlink(missing_ok=True)
    return arrays
