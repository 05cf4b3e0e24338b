"""Where data set files come from: the offline folder, the cache, or a checked download.

Resolution order for every loader:

1. ``ARENA_DATA_DIR`` set: read the offline copy there (machines without network).
   A missing file is an error, never a silent download.
2. Otherwise the cache folder (``ARENA_CACHE_DIR``, default ``~/.arena/datasets``);
   a missing file is downloaded from its canonical address, checked against its
   known digest and only then renamed into place, so a file present in the cache
   is a verified one.
"""
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

DATA_DIR_ENV = "ARENA_DATA_DIR"
CACHE_DIR_ENV = "ARENA_CACHE_DIR"
_CHUNK = 1 << 20
_UMASK = os.umask(0o022)  # read once at import: os.umask can only be read by setting it
os.umask(_UMASK)


class ChecksumError(ValueError):
    """A downloaded file's digest differs from the expected one."""


class DownloadError(OSError):
    """A file could not be fetched from its address."""


def data_dir() -> Path | None:
    """The offline data folder named by ``ARENA_DATA_DIR``, or None when it is unset."""
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """The cache folder (``ARENA_CACHE_DIR`` or ``~/.arena/datasets``), created if needed."""
    path = Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".arena" / "datasets").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def offline_file(name: str) -> Path:
    """``ARENA_DATA_DIR/name``; FileNotFoundError naming both when it is missing."""
    root = data_dir()
    if root is None:
        raise RuntimeError(f"{DATA_DIR_ENV} is not set")
    path = root / name
    if not path.is_file():
        raise FileNotFoundError(
            f"offline data file {path} not found: {DATA_DIR_ENV}={root} is set, so Arena reads "
            f"'{name}' from that folder and does not download. Put the file there or unset "
            f"{DATA_DIR_ENV} to download it into the cache.")
    return path


def file_digest(path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _temp_beside(dest: Path, suffix: str):
    # Same folder as the destination so os.replace is an atomic rename, not a copy.
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=suffix)
    # mkstemp makes the file 0600; give it the permissions an ordinary open() would.
    os.chmod(tmp, 0o666 & ~_UMASK)
    return os.fdopen(fd, "wb"), Path(tmp)


def download(url: str, dest, *, sha256: str | None = None, md5: str | None = None,
             timeout: float = 60.0, offline_name: str | None = None) -> Path:
    """Stream ``url`` to ``dest`` through a temp file, check its digest, then rename atomically.

    Raises DownloadError when the address cannot be reached and ChecksumError when
    the digest differs; in both cases no partial or bad file is left behind.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    algorithm, expected = ("sha256", sha256) if sha256 else ("md5", md5) if md5 else (None, None)
    hasher = hashlib.new(algorithm) if algorithm else None
    out, tmp = _temp_beside(dest, ".part")
    try:
        with out:
            print(f"Downloading data from {url}", file=sys.stderr)
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
                        if hasher:
                            hasher.update(chunk)
            # Network failures only: a local OSError (disk full) must not read as "no network".
            except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", exc)
                offline = f"'{offline_name}'" if offline_name else "Arena's offline data files"
                raise DownloadError(
                    f"could not download {url} ({reason}): no network connection? Either copy "
                    f"'{dest.name}' into {dest.parent} by hand, or work offline: set "
                    f"{DATA_DIR_ENV}=/path/to/folder holding {offline}.") from exc
        if hasher:
            actual = hasher.hexdigest()
            if actual != expected.lower():
                raise ChecksumError(
                    f"{algorithm} mismatch for {dest.name} downloaded from {url}: expected "
                    f"{expected}, got {actual}. The bad file was deleted; try again.")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def get_file(fname: str, url: str, *, sha256: str | None = None, md5: str | None = None,
             offline_name: str | None = None) -> Path:
    """The cached file ``fname`` (relative to the cache folder, or absolute), downloaded if missing.

    ``offline_name`` is the file's name in ``ARENA_DATA_DIR``, quoted in the error
    raised when the download fails.
    """
    dest = cache_dir() / fname
    if not dest.is_file():
        download(url, dest, sha256=sha256, md5=md5, offline_name=offline_name)
    return dest


def atomic_save_npz(path, **arrays) -> Path:
    """Write an uncompressed .npz so that readers never see a half-written file."""
    path = Path(path)
    out, tmp = _temp_beside(path, ".npz")
    try:
        with out:
            np.savez(out, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_npz(path, keys) -> tuple:
    """The named arrays of an .npz, read without unpickling."""
    with np.load(path, allow_pickle=False) as f:
        missing = [k for k in keys if k not in f.files]
        if missing:
            raise ValueError(f"{path} lacks arrays {missing}; it has {f.files}")
        return tuple(f[k] for k in keys)
