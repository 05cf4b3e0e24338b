"""Keras 2's ``keras.utils.data_utils``: ``get_file`` (a checked, cached download) and ``Sequence``."""
import tarfile
import zipfile
from pathlib import Path

from arena.datasets import _download
from arena.utils import Sequence


def _unpack(archive, into, archive_format):
    """Unpack a tar or zip ``archive`` into ``into`` (members that would land outside it are refused)."""
    kinds = ("tar", "zip") if archive_format == "auto" else (archive_format,) if isinstance(archive_format, str) \
        else tuple(archive_format)
    if "tar" in kinds and tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tar:
            tar.extractall(into, filter="data")  # the "data" filter refuses links and paths out of `into`
        return True
    if "zip" in kinds and zipfile.is_zipfile(archive):
        root = Path(into).resolve()
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                if not (root / name).resolve().is_relative_to(root):
                    raise ValueError(f"get_file: {archive} holds {name!r}, which would unpack outside {root}")
            z.extractall(root)
        return True
    return False


def get_file(fname, origin, untar=False, md5_hash=None, file_hash=None, cache_subdir="datasets", hash_algorithm="auto",
             extract=False, archive_format="auto", cache_dir=None):
    """Keras 2's ``get_file``: the local path of ``fname``, downloaded from ``origin`` when it is not cached
    yet and checked against ``file_hash`` (sha256, or md5 for 32 hex digits; ``md5_hash`` is Keras 1's).

    The cache is ``cache_dir/cache_subdir`` when ``cache_dir`` is given, else Arena's cache folder
    (``ARENA_CACHE_DIR``, default ``~/.arena/datasets``). With ``ARENA_DATA_DIR`` set, ``fname`` is read
    from there and nothing is downloaded. ``extract=True`` unpacks a tar or zip archive beside it (the
    archive's path is returned); ``untar=True`` (Keras 1) downloads ``fname + '.tar.gz'``, unpacks it and
    returns ``fname``'s folder.
    """
    expected = file_hash or md5_hash
    algorithm = hash_algorithm if hash_algorithm != "auto" else (
        "md5" if md5_hash or (expected and len(expected) == 32) else "sha256")
    if algorithm not in ("sha256", "md5"):
        raise ValueError(f"get_file: hash_algorithm must be 'auto', 'sha256' or 'md5'; got {hash_algorithm!r}")
    archive_name = f"{fname}.tar.gz" if untar else fname
    if _download.data_dir() is not None:
        path = _download.offline_file(archive_name)
        folder = path.parent
    else:
        folder = Path(cache_dir).expanduser() / cache_subdir if cache_dir is not None else _download.cache_dir()
        path = folder / archive_name
        if not path.is_file():
            _download.download(origin, path, offline_name=archive_name, **({algorithm: expected} if expected else {}))
    if untar:
        target = folder / fname
        if not target.exists() and not _unpack(path, folder, "tar"):
            raise ValueError(f"get_file: {path} is not a tar archive (untar=True)")
        return str(target)
    if extract and not _unpack(path, folder, archive_format):
        raise ValueError(f"get_file: {path} is not a {archive_format} archive (extract=True)")
    return str(path)


__all__ = ["get_file", "Sequence"]
