"""HDF5 building blocks shared by model files and agent checkpoints.

* :func:`atomic_h5` -- write a file all-or-nothing: an open ``h5py.File`` on a
  temporary path in the target's directory, renamed over the target only when
  the ``with`` block succeeds.
* :func:`write_pytree` / :func:`read_pytree` -- store a pytree (nested dicts,
  lists, tuples, NamedTuples such as optax states, ``None``, arrays, JAX keys,
  Python numbers and strings) as HDF5 groups and datasets named by its pytree
  path: ``{"mu": {"dense_1": {"kernel": w}}}`` becomes the dataset
  ``mu/dense_1/kernel``.
* :func:`open_h5` -- open an existing file for reading with clear errors (missing file, not
  HDF5, damaged or truncated), each naming the file.

Example (an agent checkpoint)::

    from arena.io import atomic_h5, open_h5, read_pytree, write_pytree
    from arena.nn.saving import load_model, save_model

    with atomic_h5("agent.h5") as f:
        save_model(q_network, f)              # at the root: load_model("agent.h5") still works
        save_model(target_network, f.create_group("target_network"), include_optimizer=False)
        write_pytree(f, {"opt_state": opt_state, "replay": {"obs": obs, "actions": actions},
                         "rng_key": key, "numpy_rng": rng.bit_generator.state, "steps": 1200},
                     name="agent", compression="gzip")

    with open_h5("agent.h5", "agent checkpoint") as f:   # clear errors for missing/foreign/damaged files
        q_network = load_model(f)
        target_network = load_model(f["target_network"])
        agent = read_pytree(f["agent"])                                  # dicts, lists, numpy arrays
        opt_state = read_pytree(f["agent/opt_state"], like=tx.init(q_network.params))  # optax types back

Nothing is ever pickled: a file holds only numbers, strings and the names of containers.
"""
import contextlib
import os
import uuid

import h5py
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["atomic_h5", "write_pytree", "read_pytree", "open_h5"]

_KIND = "pytree_kind"   # attribute naming what a group or dataset holds
_INT64 = (-2**63, 2**63 - 1)


@contextlib.contextmanager
def atomic_h5(path, **file_kwargs):
    """``with atomic_h5(path) as f:`` yields a new, writable ``h5py.File`` on a temporary file in the
    directory of ``path``; on success the file is closed and renamed over ``path`` (``os.replace``,
    atomic on POSIX and Windows). On any error the temporary file is removed, the exception
    propagates and an existing file at ``path`` is left untouched."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot write '{path}': directory '{directory}' does not exist")
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{uuid.uuid4().hex[:12]}.tmp")
    file_kwargs.setdefault("track_order", True)
    try:
        with h5py.File(tmp, "x", **file_kwargs) as f:
            yield f
        with open(tmp, "rb") as fh:  # the data is on disk before the rename makes it visible
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


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
            hint = (" It is a zip archive (a Keras 3 '.keras' file or a numpy .npz); Arena reads HDF5: in Keras, "
                    "re-save it with model.save('model.h5').")
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


# ---- reading -------------------------------------------------------------------------------
_MISSING = object()


def read_pytree(node, like=None):
    """Read a pytree written by :func:`write_pytree` from ``node`` (the group or dataset written).

    Without ``like``: dicts, lists, tuples, ``None``, numpy arrays and Python scalars/strings;
    NamedTuples and other pytree nodes come back as dicts keyed by field name.
    With ``like`` (a pytree of the expected structure, e.g. a fresh optimizer state): the result has
    ``like``'s structure and container types, each leaf cast to the dtype of ``like``'s leaf and
    returned as the same kind (a JAX array for a JAX array, a numpy array for a numpy array); a
    missing entry or a different shape raises ``ValueError`` naming the path.
    """
    if like is None:
        return _read_plain(node)
    return _read_like(node, like)


def _kind(node):
    k = node.attrs.get(_KIND)
    if k is None:
        return "dict" if isinstance(node, h5py.Group) else "array"
    return k.decode() if isinstance(k, bytes) else str(k)


def _read_plain(node):
    kind = _kind(node)
    if isinstance(node, h5py.Dataset):
        return _read_leaf(node)
    if kind == "none":
        return None
    names = _children(node)
    if kind in ("list", "tuple"):
        values = [_read_plain(node[str(i)]) for i in range(len(names))]
        return values if kind == "list" else tuple(values)
    int_keys = node.attrs.get("key_type") in ("int", b"int")
    return {(int(_decode(n)) if int_keys else _decode(n)): _read_plain(node[n]) for n in names}


def _read_leaf(ds):
    kind = _kind(ds)
    if kind == "str":
        return ds.asstr()[()]
    if kind == "str_array":
        return np.asarray(ds.asstr()[()], dtype=str)
    if kind == "bigint":
        return int(ds.asstr()[()])
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
        value = np.asarray(value).view(jnp.dtype(ds.attrs["dtype"]))
    if kind == "prng_key":
        impl = ds.attrs["impl"]
        return jax.random.wrap_key_data(jnp.asarray(value), impl=impl.decode() if isinstance(impl, bytes) else impl)
    return value


def _read_like(node, like):
    where = _path(node)
    if like is None:
        return None
    if isinstance(like, dict):
        _expect_group(node, where, "a dict")
        return {k: _read_like(_child(node, _encode(str(k)), where), v) for k, v in like.items()}
    if _is_namedtuple(like):
        _expect_group(node, where, type(like).__name__)
        return type(like)(*[_read_like(_child(node, f, where), v) for f, v in zip(type(like)._fields, like)])
    if isinstance(like, (list, tuple)):
        _expect_group(node, where, type(like).__name__)
        values = [_read_like(_child(node, str(i), where), v) for i, v in enumerate(like)]
        extra = len(_children(node)) - len(like)
        if extra:
            raise ValueError(f"read_pytree: '{where}' in {node.file.filename} holds {len(_children(node))} "
                             f"items; expected {len(like)}")
        return values if isinstance(like, list) else tuple(values)
    if _is_container(like) and not _is_leaf_value(like):
        _expect_group(node, where, type(like).__name__)
        names, values, treedef = _one_level(like)
        return jax.tree_util.tree_unflatten(
            treedef, [_read_like(_child(node, _encode(n), where), v) for n, v in zip(names, values)])
    if not isinstance(node, h5py.Dataset):
        raise ValueError(f"read_pytree: '{where}' in {node.file.filename} is a group; expected a value like "
                         f"{type(like).__name__}")
    value = _read_leaf(node)
    if isinstance(like, (bool, int, float, complex, str, bytes)):
        return type(like)(value)
    if isinstance(like, (np.ndarray, np.generic, jax.Array)):
        if isinstance(like, jax.Array) and jnp.issubdtype(like.dtype, jax.dtypes.prng_key):
            if not (isinstance(value, jax.Array) and jnp.issubdtype(value.dtype, jax.dtypes.prng_key)):
                value = jax.random.wrap_key_data(jnp.asarray(value), impl=jax.random.key_impl(like))
            return value
        arr = np.asarray(value)
        if arr.shape != np.shape(like):
            raise ValueError(f"read_pytree: '{where}' in {node.file.filename} has shape {arr.shape}; expected "
                             f"{tuple(np.shape(like))}")
        arr = arr.astype(like.dtype, copy=False)
        if isinstance(like, jax.Array):
            return jnp.asarray(arr)
        return arr if isinstance(like, np.ndarray) else arr[()]
    return value


def _child(group, name, where):
    if name not in group:
        raise ValueError(f"read_pytree: '{where}/{name}' is missing from {group.file.filename}: the file holds "
                         f"{[_decode(n) for n in _children(group)]} there (was it written for another model or "
                         f"optimizer?)")
    return group[name]


def _expect_group(node, where, what):
    if not isinstance(node, h5py.Group):
        raise ValueError(f"read_pytree: '{where}' in {node.file.filename} is a single value; expected {what}")
