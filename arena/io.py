"""HDF5 building blocks shared by model files and agent checkpoints.

* :func:`atomic_h5` -- write a file all-or-nothing: the HDF5 file is built in memory, then written
  to a temporary file in the target's directory with one plain write, ``fsync`` and rename over the
  target. A failing write (a full disk) is one ``OSError`` naming the file; the old file stays.
* :func:`sweep_stale_temps` -- remove the temporary files that killed writers left behind.
* :func:`write_pytree` / :func:`read_pytree` -- store a pytree (nested dicts, lists, tuples,
  NamedTuples such as optax states, ``None``, arrays, JAX keys, Python numbers and strings) as HDF5
  groups and datasets named by its pytree path: ``{"mu": {"dense_1": {"kernel": w}}}`` becomes the
  dataset ``mu/dense_1/kernel``.
* :func:`open_h5` -- open an existing file for reading with clear errors (missing file, not
  HDF5, damaged or truncated), each naming the file.
* :func:`safe_child` / :func:`check_dataset` -- reading an untrusted file: only objects stored in the
  file itself (hard links; no soft or external links, no external raw storage, no virtual
  datasets, no declared sizes the file does not hold).

Example (an agent checkpoint)::

    from arena.io import atomic_h5, open_h5, read_pytree, safe_child, write_pytree
    from arena.nn.saving import load_model, save_model

    with atomic_h5("agent.h5") as f:
        save_model(q_network, f)              # at the root: load_model("agent.h5") still works
        save_model(target_network, f.create_group("target_network"), include_optimizer=False)
        write_pytree(f, {"opt_state": opt_state, "replay": {"obs": obs, "actions": actions},
                         "rng_key": key, "numpy_rng": rng.bit_generator.state, "steps": 1200},
                     name="agent", compression="gzip")

    with open_h5("agent.h5", "agent checkpoint") as f:   # clear errors for missing/foreign/damaged files
        q_network = load_model(f)
        target_network = load_model(safe_child(f, "target_network"))
        agent = read_pytree(safe_child(f, "agent"))                      # dicts, lists, numpy arrays
        opt_state = read_pytree(safe_child(f, "agent/opt_state"), like=tx.init(q_network.params))

Nothing is ever pickled: a file holds only numbers, strings and the names of containers.
"""
import contextlib
import os
import re
import time
import uuid

import h5py
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["atomic_h5", "write_pytree", "read_pytree", "open_h5", "safe_child", "has_child", "check_dataset",
           "sweep_stale_temps", "UnsafeFileError", "MAX_READ_BYTES"]

_KIND = "pytree_kind"   # attribute naming what a group or dataset holds
_INT64 = (-2**63, 2**63 - 1)
MAX_READ_BYTES = 2**31  # the most one dataset read without a template (read_pytree without like) may hold
_MAX_DEPTH = 100        # the deepest pytree read_pytree follows (optax states nest about ten levels)
# A dataset declaring more than this whose file holds less than 1/_MAX_RATIO of it was never written
# (HDF5 fills it in on reading): a small file asking for gigabytes. gzip packs at most about 1:1030.
_SPARSE_MIN_BYTES = 16 * 2**20
_MAX_RATIO = 4096
STALE_TEMP_AGE_S = 60   # a temporary file of this process (or of an unknown one) older than this is stale


# ---- writing files ---------------------------------------------------------------------------
def _temp_path(path):
    """``.<basename>.<pid>-<hex>.tmp`` beside ``path`` (the pid lets a sweep see whether it is in use)."""
    directory = os.path.dirname(os.path.abspath(path))
    return os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp")


def _write_file(path, data):
    """Write the bytes ``data`` to ``path`` all-or-nothing (temporary file, fsync, rename); an OSError
    names ``path``, the temporary file is removed and an existing file at ``path`` stays as it was."""
    tmp = _temp_path(path)
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())  # the data is on disk before the rename makes it visible
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        reason = e.strerror or str(e) or type(e).__name__
        err = OSError(f"Cannot write '{path}': {reason}")
        err.errno = e.errno
        raise err from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (best effort)
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_h5(path, **file_kwargs):
    """``with atomic_h5(path) as f:`` yields a new, writable ``h5py.File`` held in memory; when the
    ``with`` block succeeds its image is written to a temporary file in the directory of ``path``
    (one plain write, ``fsync``) and renamed over ``path`` (``os.replace``, atomic on POSIX and
    Windows). On any error nothing is written, the exception propagates and an existing file at
    ``path`` is left untouched; a failing write (full disk, file size limit) raises
    ``OSError("Cannot write '<path>': <reason>")``. No HDF5 object ever refers to a file on disk, so
    a failing disk cannot leave h5py handles behind."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot write '{path}': directory '{directory}' does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot write '{path}': it is a directory")
    file_kwargs.setdefault("track_order", True)
    file_kwargs.setdefault("driver", "core")
    if file_kwargs["driver"] == "core":
        file_kwargs.setdefault("backing_store", False)
        file_kwargs.setdefault("block_size", 2**20)  # the memory grows by 1 MiB steps
    # The name only identifies the in-memory file (nothing is created under it).
    f = h5py.File(f"{_temp_path(path)}.mem", "w", **file_kwargs)
    try:
        yield f
        f.flush()
        image = f.id.get_file_image()
    finally:
        f.close()
    _write_file(path, image)


_TEMP_RE = r"^\.{}\.(?:(\d+)-)?[0-9a-f]+\.tmp$"


def _process_alive(pid):
    if pid <= 0:
        return False  # not a writer's pid (0 would ask about our own process group)
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, ValueError):
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by another user
    return True


def sweep_stale_temps(path, max_age_s=STALE_TEMP_AGE_S):
    """Remove the temporary files that interrupted writes of ``path`` left behind (``.<basename>.<pid>-
    <hex>.tmp`` in its directory, also the older ``.<basename>.<hex>.tmp``) and return their paths.

    A temporary file counts as stale when its writer process is gone; one of a live other process
    only when it is older than an hour (the pid may have been reused); one of this process or of an
    unknown writer when it is older than ``max_age_s`` seconds (a write in progress is left alone)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    pattern = re.compile(_TEMP_RE.format(re.escape(os.path.basename(path))))
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    now = time.time()
    for name in names:
        m = pattern.match(name)
        if not m:
            continue
        full = os.path.join(directory, name)
        try:
            st = os.lstat(full)
        except OSError:
            continue
        if not os.path.isfile(full) or os.path.islink(full):
            continue
        age = now - st.st_mtime
        pid = int(m.group(1)) if m.group(1) else None
        if pid is not None and pid != os.getpid():
            stale = not _process_alive(pid) or age > 3600
        else:
            stale = age > max_age_s
        if stale:
            with contextlib.suppress(OSError):
                os.remove(full)
                removed.append(full)
    return removed


@contextlib.contextmanager
def open_h5(path, what="file"):
    """Open an existing HDF5 file for reading, turning h5py's low-level errors into clear ones:
    ``FileNotFoundError`` (no such file), ``ValueError`` (not HDF5, e.g. a Keras 3 ``.keras`` zip,
    a ``.npz``) or ``OSError`` (damaged or truncated). ``what`` names the file's role in messages."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"Cannot read {what} '{path}': no such file")
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot read {what} '{path}': it is a directory (Keras' TensorFlow "
                                f"SavedModel folders are not supported; save an .h5 file)")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not h5py.is_hdf5(path):
        hint = ""
        if head.startswith(b"PK"):
            hint = (" It is a zip archive (a numpy .npz, or a Keras 3 '.keras' model, which load_model reads; "
                    "its weights load with model.load_weights from a '.weights.h5' file).")
        elif not head:
            hint = " The file is empty (an interrupted write?)."
        raise ValueError(f"Cannot read {what} '{path}': it is not an HDF5 file (it starts with {head!r}).{hint}")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise OSError(f"Cannot read {what} '{path}': the HDF5 file is damaged or truncated ({e})") from None
    try:
        yield f
    finally:
        f.close()


# ---- names ---------------------------------------------------------------------------------
def _encode(key):
    """A dict key as an HDF5 link name ('/' and '%' escaped; '.' alone is reserved by HDF5)."""
    if not isinstance(key, str):
        raise TypeError(f"write_pytree: dict keys must be strings or ints; got {key!r}")
    if key == "":
        raise ValueError("write_pytree: dict keys must not be empty strings (HDF5 names cannot be empty)")
    name = key.replace("%", "%25").replace("/", "%2F")
    if name in (".", ".."):
        name = name.replace(".", "%2E")
    return name


def _decode(name):
    return name.replace("%2E", ".").replace("%2F", "/").replace("%25", "%")


def _tracks_order(group):
    return bool(group.id.get_create_plist().get_link_creation_order())


def _children(group):
    """Child names in the order they were written."""
    if "pytree_keys" in group.attrs:
        return [k.decode() if isinstance(k, bytes) else str(k) for k in group.attrs["pytree_keys"]]
    return list(group.keys())


def _path(node):
    return node.name


# ---- writing -------------------------------------------------------------------------------
def write_pytree(group, tree, name=None, compression=None):
    """Write ``tree`` into ``group`` (an ``h5py.Group`` or ``File``), or into a new child ``name``.

    Containers become groups (dict keys, list indices and NamedTuple field names are the child
    names; the attribute ``pytree_kind`` says ``dict``/``list``/``tuple``/``namedtuple``/``none``/
    ``node``), leaves become datasets: arrays keep their shape and dtype (bfloat16 is stored as its
    uint16 bits), typed JAX keys store their key data, Python ``int``/``float``/``bool``/``str`` come
    back as the same Python types (ints beyond 64 bits, e.g. a numpy PCG64 state, as decimal text).
    ``compression`` (e.g. ``"gzip"``) applies to arrays with more than 1024 elements.
    Returns the group or dataset written.
    """
    if name is not None:
        if name in group:
            raise ValueError(f"write_pytree: '{group.name}' already has a member {name!r}")
        return _write_node(group, _encode(name), tree, compression)
    if not _is_container(tree):
        raise TypeError(f"write_pytree: writing into group '{group.name}' itself needs a container (dict, "
                        f"list, tuple, NamedTuple); give a name=... to store a {type(tree).__name__}")
    _fill_group(group, tree, compression)
    return group


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _is_container(x):
    if x is None or isinstance(x, (dict, list, tuple)):
        return True
    return not _is_leaf_value(x) and not jax.tree_util.treedef_is_leaf(jax.tree_util.tree_structure(x))


def _is_leaf_value(x):
    return isinstance(x, (np.ndarray, np.generic, jax.Array, int, float, bool, complex, str, bytes))


def _one_level(node):
    """Children of a registered pytree node, with their key names."""
    pairs, treedef = jax.tree_util.tree_flatten_with_path(node, is_leaf=lambda x: x is not node)
    names = [_key_name(path[0]) if path else str(i) for i, (path, _) in enumerate(pairs)]
    return names, [v for _, v in pairs], treedef


def _key_name(k):
    for attr in ("key", "name", "idx"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return str(k)


def _fill_group(g, node, compression):
    if node is None:
        g.attrs[_KIND] = "none"
        return
    if isinstance(node, dict):
        keys = list(node)
        int_keys = bool(keys) and all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in keys)
        g.attrs[_KIND] = "dict"
        if int_keys:
            g.attrs["key_type"] = "int"
        names = [_encode(str(int(k)) if int_keys else k) for k in keys]
        items = zip(names, node.values())
    elif _is_namedtuple(node):
        g.attrs[_KIND] = "namedtuple"
        g.attrs["type"] = f"{type(node).__module__}.{type(node).__qualname__}"
        names = list(type(node)._fields)
        items = zip(names, node)
    elif isinstance(node, (list, tuple)):
        g.attrs[_KIND] = "list" if isinstance(node, list) else "tuple"
        names = [str(i) for i in range(len(node))]
        items = zip(names, node)
    else:
        names, values, _ = _one_level(node)
        g.attrs[_KIND] = "node"
        g.attrs["type"] = f"{type(node).__module__}.{type(node).__qualname__}"
        names = [_encode(n) for n in names]
        items = zip(names, values)
    if not _tracks_order(g) and len(names) > 1:
        g.attrs["pytree_keys"] = np.array(names, dtype=h5py.string_dtype())
    for child_name, value in items:
        _write_node(g, child_name, value, compression)


def _write_node(parent, name, node, compression):
    if _is_container(node) and not _is_leaf_value(node):
        g = parent.create_group(name, track_order=True)
        _fill_group(g, node, compression)
        return g
    return _write_leaf(parent, name, node, compression)


def _write_leaf(parent, name, leaf, compression):
    attrs = {}
    if isinstance(leaf, bool):
        data, attrs[_KIND] = np.bool_(leaf), "bool"
    elif isinstance(leaf, int):
        if _INT64[0] <= leaf <= _INT64[1]:
            data, attrs[_KIND] = np.int64(leaf), "int"
        else:
            data, attrs[_KIND] = str(leaf), "bigint"
    elif isinstance(leaf, float):
        data, attrs[_KIND] = np.float64(leaf), "float"
    elif isinstance(leaf, complex):
        data, attrs[_KIND] = np.complex128(leaf), "complex"
    elif isinstance(leaf, str):
        data, attrs[_KIND] = leaf, "str"
    elif isinstance(leaf, bytes):
        data, attrs[_KIND] = np.void(leaf), "bytes"
    elif isinstance(leaf, (np.ndarray, np.generic, jax.Array)):
        if isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            attrs["impl"] = str(jax.random.key_impl(leaf))
            attrs[_KIND] = "prng_key"
            leaf = jax.random.key_data(leaf)
        else:
            attrs[_KIND] = "array"
        data = np.asarray(leaf)
        if data.dtype.kind == "V" or data.dtype.name in ("bfloat16",) or data.dtype.name.startswith("float8"):
            attrs["dtype"] = data.dtype.name  # h5py has no such type: keep the bits
            data = data.view(f"u{data.dtype.itemsize}")
        elif data.dtype.kind == "O":
            raise TypeError(f"write_pytree: cannot store an object array at '{parent.name}/{name}'")
        elif data.dtype.kind == "U":
            data = data.astype(h5py.string_dtype())
            attrs[_KIND] = "str_array"
    else:
        raise TypeError(f"write_pytree: cannot store a {type(leaf).__name__} at '{parent.name}/{name}': only "
                        f"arrays, numbers, strings and containers (dict, list, tuple, NamedTuple, registered "
                        f"pytree nodes) are stored (never pickled objects)")
    kwargs = {}
    if compression and isinstance(data, np.ndarray) and data.size > 1024:
        kwargs = {"compression": compression, "chunks": True}
    if isinstance(data, str):
        ds = parent.create_dataset(name, data=data, dtype=h5py.string_dtype())
    else:
        ds = parent.create_dataset(name, data=data, **kwargs)
    for k, v in attrs.items():
        ds.attrs[k] = v
    return ds


# ---- reading untrusted files ------------------------------------------------------------------
class UnsafeFileError(ValueError):
    """A file asks Arena to read something that is not stored in it (a soft or external link, external
    raw storage, a virtual dataset) or declares data it does not hold: the file is refused."""


def is_numeric_dtype(dtype):
    """Plain numbers (bool, int, float, complex): no strings, references, compounds or variable lengths."""
    return dtype.kind in "biufc" and dtype.names is None and h5py.check_vlen_dtype(dtype) is None \
        and h5py.check_ref_dtype(dtype) is None


def _fname(obj):
    try:
        return obj.file.filename
    except Exception:  # noqa: BLE001 - a closed or odd object: messages still name something
        return "?"


def _join(group, name):
    base = group.name if group.name != "/" else ""
    return f"{base}/{name}"


def _link(group, part):
    try:
        return group.get(part, getlink=True)
    except (KeyError, OSError, TypeError, ValueError) as e:
        raise ValueError(f"'{_fname(group)}': cannot read the link '{_join(group, part)}' ({e})") from None


def _split(name, group):
    name = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"'{_fname(group)}': refusing the object name {name!r} under '{group.name}' "
                         f"(names inside a file are relative, without empty, '.' or '..' parts)")
    return parts


def has_child(group, name):
    """Whether ``group`` has a member ``name`` (a relative path), without following soft or external
    links (``name in group`` opens the file an external link names). A link that is not a hard link
    counts as present, so that :func:`safe_child` can then refuse it by name."""
    node = group
    for part in _split(name, group):
        if not isinstance(node, h5py.Group):
            return False
        link = _link(node, part)
        if link is None:
            return False
        if not isinstance(link, h5py.HardLink):
            return True
        node = node[part]
    return True


def safe_child(group, name, what=None):
    """``group[name]`` for an untrusted file: every link on the path must be a hard link (an object
    stored in this file; soft links and external links to other files are refused) and a dataset
    must pass :func:`check_dataset`. ``name`` is a relative path (``"dense_1/kernel:0"``).
    Raises ``ValueError`` naming the file and the object (``what`` says what it should be) when the
    member is missing or refused."""
    node = group
    done = []
    label = f" ({what})" if what else ""
    for part in _split(name, group):
        where = "/".join(done + [part])
        if not isinstance(node, h5py.Group):
            raise ValueError(f"'{_fname(group)}': '{_join(group, '/'.join(done))}' is a dataset, not a group; "
                             f"cannot read '{_join(group, where)}'{label}")
        link = _link(node, part)
        if link is None:
            raise ValueError(f"'{_fname(group)}' has no '{_join(group, where)}'{label} (damaged file, or written "
                             f"for another model)")
        if isinstance(link, h5py.SoftLink):
            raise UnsafeFileError(f"Refusing '{_fname(group)}': '{_join(group, where)}'{label} is a soft link to "
                             f"'{link.path}'; Arena reads only objects stored directly in the file (hard links)")
        if isinstance(link, h5py.ExternalLink):
            raise UnsafeFileError(f"Refusing '{_fname(group)}': '{_join(group, where)}'{label} is an external link to "
                             f"'{link.path}' in the file '{link.filename}'; Arena never follows links to "
                             f"other files")
        if not isinstance(link, h5py.HardLink):
            raise UnsafeFileError(f"Refusing '{_fname(group)}': '{_join(group, where)}'{label} is a "
                             f"{type(link).__name__}, not an object stored in the file")
        try:
            node = node[part]
        except (KeyError, OSError, ValueError) as e:
            raise ValueError(f"'{_fname(group)}': cannot open '{_join(group, where)}'{label} ({e})") from None
        done.append(part)
    if isinstance(node, h5py.Dataset):
        check_dataset(node, what)
    elif not isinstance(node, h5py.Group):
        raise UnsafeFileError(f"Refusing '{_fname(group)}': '{node.name}'{label} is a {type(node).__name__}, "
                         f"neither a group nor a dataset")
    return node


def check_dataset(ds, what=None):
    """Refuse (``ValueError`` naming the file) a dataset whose data is not stored in its own file:
    external raw storage (its bytes come from another file on the host, e.g. ``/etc/passwd``), a
    virtual dataset (assembled from other files), or a declared size that the file does not hold
    (more than 16 MiB declared, less than 1/4096 of it stored: HDF5 would hand out gigabytes of
    fill values for a small file). Returns ``ds``."""
    label = f" ({what})" if what else ""
    where = f"'{_fname(ds)}': dataset '{ds.name}'{label}"
    try:
        virtual = ds.is_virtual
        dcpl = ds.id.get_create_plist()
        external = dcpl.get_external_count()
    except (OSError, ValueError, RuntimeError) as e:
        raise ValueError(f"Cannot read {where}: its storage cannot be inspected ({e})") from None
    if external > 0:
        try:
            target = dcpl.get_external(0)[0]
            target = target.decode("utf-8", "replace") if isinstance(target, bytes) else str(target)
        except Exception:  # noqa: BLE001 - the name only makes the message nicer
            target = "?"
        raise UnsafeFileError(f"Refusing {where}: its data is stored outside the file (HDF5 external storage in "
                         f"'{target}'); Arena reads only data stored in the file itself")
    if virtual:
        raise UnsafeFileError(f"Refusing {where}: it is a virtual dataset (its data comes from other files); Arena "
                         f"reads only data stored in the file itself")
    declared = _declared_bytes(ds)
    if declared > _SPARSE_MIN_BYTES:
        try:
            stored = ds.id.get_storage_size()
        except (OSError, ValueError, RuntimeError):
            stored = 0
        if stored * _MAX_RATIO < declared:
            raise UnsafeFileError(f"Refusing {where}: it declares shape {ds.shape} ({declared:,} bytes) but the file "
                             f"stores only {stored:,} bytes of it (the data was never written)")
    return ds


def _declared_bytes(ds):
    shape = ds.shape or ()
    n = 1
    for d in shape:
        n *= int(d)
    return n * ds.dtype.itemsize


# ---- reading pytrees -----------------------------------------------------------------------
def read_pytree(node, like=None, max_bytes=MAX_READ_BYTES):
    """Read a pytree written by :func:`write_pytree` from ``node`` (the group or dataset written).

    Without ``like``: dicts, lists, tuples, ``None``, numpy arrays and Python scalars/strings;
    NamedTuples and other pytree nodes come back as dicts keyed by field name. One dataset may
    hold at most ``max_bytes`` (2 GiB by default).
    With ``like`` (a pytree of the expected structure, e.g. a fresh optimizer state): the result has
    ``like``'s structure and container types, each leaf cast to the dtype of ``like``'s leaf and
    returned as the same kind (a JAX array for a JAX array, a numpy array for a numpy array); a
    missing entry or a different shape raises ``ValueError`` naming the path, before anything is read.

    Only objects stored in the file itself are read (see :func:`safe_child`): a soft or external
    link, external raw storage or a virtual dataset raises ``ValueError``. Pass a member obtained
    with ``safe_child(group, name)`` rather than ``group[name]`` (which follows links)."""
    if isinstance(node, h5py.Dataset):
        check_dataset(node)
    if like is None:
        return _read_plain(node, max_bytes, 0)
    return _read_like(node, like)


def _kind(node):
    k = node.attrs.get(_KIND)
    if k is None:
        return "dict" if isinstance(node, h5py.Group) else "array"
    return k.decode() if isinstance(k, bytes) else str(k)


def _too_deep(node, depth):
    if depth > _MAX_DEPTH:
        raise ValueError(f"read_pytree: '{node.name}' in {_fname(node)} nests deeper than {_MAX_DEPTH} levels "
                         f"(damaged or hostile file)")


def _read_plain(node, max_bytes, depth):
    _too_deep(node, depth)
    kind = _kind(node)
    if isinstance(node, h5py.Dataset):
        return _read_leaf(node, max_bytes)
    if kind == "none":
        return None
    names = _children(node)
    where = _path(node)
    if kind in ("list", "tuple"):
        values = [_read_plain(_child(node, str(i), where), max_bytes, depth + 1) for i in range(len(names))]
        return values if kind == "list" else tuple(values)
    int_keys = node.attrs.get("key_type") in ("int", b"int")
    out = {}
    for n in names:
        key = _decode(n)
        if int_keys:
            try:
                key = int(key)
            except ValueError:
                raise ValueError(f"read_pytree: '{where}' in {_fname(node)} has integer keys, but holds {key!r}")
        out[key] = _read_plain(_child(node, n, where), max_bytes, depth + 1)
    return out


def _leaf_error(ds, problem):
    return ValueError(f"read_pytree: '{ds.name}' in {_fname(ds)} {problem}")


def _read_leaf(ds, max_bytes=MAX_READ_BYTES):
    kind = _kind(ds)
    dtype = ds.dtype
    if kind in ("str", "bigint", "str_array"):
        if h5py.check_string_dtype(dtype) is None:
            raise _leaf_error(ds, f"should hold text ({kind}) but holds {dtype}")
        if kind != "str_array" and ds.shape != ():
            raise _leaf_error(ds, f"should hold one {kind} but has shape {ds.shape}")
    elif not is_numeric_dtype(dtype) and not (kind == "bytes" and dtype.kind == "V" and dtype.names is None):
        raise _leaf_error(ds, f"holds {dtype}, which is not a number type Arena stores")
    elif kind in ("bool", "int", "float", "complex", "bytes") and ds.shape != ():
        raise _leaf_error(ds, f"should hold one {kind} but has shape {ds.shape}")
    if ds.shape is None:
        raise _leaf_error(ds, "holds no data (an empty dataspace)")
    declared = _declared_bytes(ds)
    if declared > max_bytes:
        raise _leaf_error(ds, f"has shape {ds.shape} ({declared:,} bytes): more than the {max_bytes:,} bytes "
                              f"one entry may hold")
    if kind == "str":
        return ds.asstr()[()]
    if kind == "str_array":
        return np.asarray(ds.asstr()[()], dtype=str)
    if kind == "bigint":
        text = ds.asstr()[()]
        try:
            return int(text)
        except ValueError as e:
            raise _leaf_error(ds, f"should hold an integer; got {text[:40]!r} ({e})") from None
    value = ds[()]
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "complex":
        return complex(value)
    if kind == "bytes":
        return value.tobytes()
    if "dtype" in ds.attrs:
        value = _view_as(ds, value)
    if kind == "prng_key":
        impl = ds.attrs.get("impl")
        impl = impl.decode() if isinstance(impl, bytes) else str(impl)
        try:
            return jax.random.wrap_key_data(jnp.asarray(value), impl=impl)
        except (ValueError, TypeError, KeyError) as e:
            raise _leaf_error(ds, f"is not a valid {impl!r} JAX key ({e})") from None
    return value


def _view_as(ds, value):
    """Arrays stored as their bits (bfloat16, float8): back to their type (same item size only)."""
    name = ds.attrs["dtype"]
    name = name.decode() if isinstance(name, bytes) else str(name)
    try:
        target = jnp.dtype(name)
    except (TypeError, ValueError):
        raise _leaf_error(ds, f"names the unknown dtype {name!r}") from None
    value = np.asarray(value)
    if target.kind not in "biufcV" or target.hasobject or target.itemsize != value.dtype.itemsize:
        raise _leaf_error(ds, f"names dtype {name!r}, which its {value.dtype} data cannot hold")
    return value.view(target)


def _read_like(node, like, depth=0):
    where = _path(node)
    _too_deep(node, depth)
    if like is None:
        return None
    if isinstance(like, dict):
        _expect_group(node, where, "a dict")
        return {k: _read_like(_child(node, _encode(str(k)), where), v, depth + 1) for k, v in like.items()}
    if _is_namedtuple(like):
        _expect_group(node, where, type(like).__name__)
        return type(like)(*[_read_like(_child(node, f, where), v, depth + 1)
                            for f, v in zip(type(like)._fields, like)])
    if isinstance(like, (list, tuple)):
        _expect_group(node, where, type(like).__name__)
        values = [_read_like(_child(node, str(i), where), v, depth + 1) for i, v in enumerate(like)]
        extra = len(_children(node)) - len(like)
        if extra:
            raise ValueError(f"read_pytree: '{where}' in {_fname(node)} holds {len(_children(node))} "
                             f"items; expected {len(like)}")
        return values if isinstance(like, list) else tuple(values)
    if _is_container(like) and not _is_leaf_value(like):
        _expect_group(node, where, type(like).__name__)
        names, values, treedef = _one_level(like)
        return jax.tree_util.tree_unflatten(
            treedef, [_read_like(_child(node, _encode(n), where), v, depth + 1) for n, v in zip(names, values)])
    if not isinstance(node, h5py.Dataset):
        raise ValueError(f"read_pytree: '{where}' in {_fname(node)} is a group; expected a value like "
                         f"{type(like).__name__}")
    _check_leaf_shape(node, like, where)
    value = _read_leaf(node)
    if isinstance(like, (bool, int, float, complex, str, bytes)):
        try:
            return type(like)(value)
        except (TypeError, ValueError, OverflowError) as e:
            raise ValueError(f"read_pytree: '{where}' in {_fname(node)} holds {value!r:.60}; expected a "
                             f"{type(like).__name__} ({e})") from None
    if isinstance(like, (np.ndarray, np.generic, jax.Array)):
        if isinstance(like, jax.Array) and jnp.issubdtype(like.dtype, jax.dtypes.prng_key):
            if not (isinstance(value, jax.Array) and jnp.issubdtype(value.dtype, jax.dtypes.prng_key)):
                value = jax.random.wrap_key_data(jnp.asarray(value), impl=jax.random.key_impl(like))
            return value
        arr = np.asarray(value)
        if arr.shape != np.shape(like):
            raise ValueError(f"read_pytree: '{where}' in {_fname(node)} has shape {arr.shape}; expected "
                             f"{tuple(np.shape(like))}")
        if arr.dtype.kind == "c" and np.dtype(like.dtype).kind != "c":
            raise ValueError(f"read_pytree: '{where}' in {_fname(node)} holds complex numbers; expected "
                             f"{like.dtype}")
        arr = arr.astype(like.dtype, copy=False)
        if isinstance(like, jax.Array):
            return jnp.asarray(arr)
        return arr if isinstance(like, np.ndarray) else arr[()]
    return value


def _check_leaf_shape(ds, like, where):
    """The stored shape against the template's, from the metadata (nothing is read yet)."""
    if isinstance(like, (bool, int, float, complex, bytes)):
        want = ()
    elif isinstance(like, str):
        want = ()
    elif isinstance(like, jax.Array) and jnp.issubdtype(like.dtype, jax.dtypes.prng_key):
        want = tuple(jax.random.key_data(like).shape)
    elif isinstance(like, (np.ndarray, np.generic, jax.Array)):
        want = tuple(np.shape(like))
    else:
        return  # an unknown leaf type: read as stored (bounded by MAX_READ_BYTES)
    if ds.shape != want:
        raise ValueError(f"read_pytree: '{where}' in {_fname(ds)} has shape {ds.shape}; expected {want}")


def _child(group, name, where):
    link = _link(group, name) if isinstance(name, str) and name and "/" not in name else None
    if link is None:
        if isinstance(name, str) and "/" in name:
            raise ValueError(f"read_pytree: '{where}' in {_fname(group)} names a child {name!r}; names of "
                             f"stored entries hold no '/'")
        raise ValueError(f"read_pytree: '{where}/{name}' is missing from {_fname(group)}: the file holds "
                         f"{[_decode(n) for n in _children(group)][:50]} there (was it written for another "
                         f"model or optimizer?)")
    return safe_child(group, name)


def _expect_group(node, where, what):
    if not isinstance(node, h5py.Group):
        raise ValueError(f"read_pytree: '{where}' in {_fname(node)} is a single value; expected {what}")
