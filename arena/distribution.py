"""Training on several devices with JAX's own SPMD engine (``jax.sharding``), named as Keras 3's
``keras.distribution``: ``list_devices``, ``DeviceMesh``, ``DataParallel``, ``set_distribution``.

Under :class:`DataParallel` the weights, optimizer state and the on-device data set are replicated
on every device of the mesh, and each batch gathered inside the compiled step is sharded along the
mesh's batch axis (:func:`constrain_batch`); XLA partitions the one compiled step accordingly and
adds the gradient reduction itself (no hand-written all-reduce). The same global batch gives the
same result on one device and on N, up to the order of float sums::

    from arena import distribution
    distribution.set_distribution(distribution.DataParallel())   # every device this process sees
    model.fit(x, y, batch_size=128)                              # 128 rows a step, split across them

    with distribution.DataParallel(devices=distribution.list_devices()[:2]).scope():
        model.fit(x, y, batch_size=128)

On a CPU-only machine, ``XLA_FLAGS=--xla_force_host_platform_device_count=4`` (set before JAX
starts) gives 4 CPU devices to try it on.

Several processes (hosts) run one program together after :func:`initialize` (``jax.distributed``):
the mesh holds every process's devices, each process gives ``fit`` its own rows of the data (the
same number on every process) and each global batch is every process's next
``batch_size / process_count`` rows. Outside ``fit`` each process holds the whole weights itself:
``evaluate`` sums over every process's rows, ``predict`` answers for this process's rows. Callbacks
that write (checkpoints, CSV, TensorBoard, the progress bar) run on process 0 only.
"""
import contextlib
import os
import re

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["list_devices", "DeviceMesh", "DataParallel", "ModelParallel", "LayoutMap", "set_distribution",
           "distribution", "initialize", "process_index", "process_count", "is_writer"]

_current = None


def initialize(coordinator_address=None, num_processes=None, process_id=None, local_device_ids=None):
    """Join a run of several processes (``jax.distributed.initialize``); call it first, before
    anything else uses JAX. An argument left out is read from the environment: Keras 3's
    ``KERAS_DISTRIBUTION_JOB_ADDRESSES`` (its first address is the coordinator's),
    ``KERAS_DISTRIBUTION_NUM_PROCESSES``, ``KERAS_DISTRIBUTION_PROCESS_ID``, or JAX's
    ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES``, ``JAX_PROCESS_ID``; and where none is set,
    JAX detects the cluster (SLURM, Open MPI, Kubernetes, Cloud TPU)."""
    def env(value, *names, cast=str):
        if value is not None:
            return value
        for name in names:
            if os.environ.get(name, "").strip():
                raw = os.environ[name].split(",")[0].strip()
                try:
                    return cast(raw)
                except ValueError:
                    raise ValueError(f"arena.distribution.initialize: environment variable {name}={raw!r} is not "
                                     f"an integer") from None
        return None
    coordinator_address = env(coordinator_address, "KERAS_DISTRIBUTION_JOB_ADDRESSES", "JAX_COORDINATOR_ADDRESS")
    num_processes = env(num_processes, "KERAS_DISTRIBUTION_NUM_PROCESSES", "JAX_NUM_PROCESSES", cast=int)
    process_id = env(process_id, "KERAS_DISTRIBUTION_PROCESS_ID", "JAX_PROCESS_ID", cast=int)
    jax.distributed.initialize(coordinator_address=coordinator_address, num_processes=num_processes,
                               process_id=process_id, local_device_ids=local_device_ids)


def process_index():
    """This process's number in a run of several (0 alone)."""
    return jax.process_index()


def process_count():
    """How many processes run this program together (1 without :func:`initialize`)."""
    return jax.process_count()


def is_writer():
    """Whether this process writes the run's files: process 0 (every single-process run)."""
    return jax.process_index() == 0


def list_devices(device_type=None):
    """The devices JAX sees, as Keras names them (``"cpu:0"``, ``"gpu:1"``); ``device_type`` picks a
    platform (``"cpu"``, ``"gpu"``, ``"tpu"``), default JAX's default backend."""
    devices = jax.devices(device_type) if device_type else jax.devices()
    return [f"{d.platform}:{d.id}" for d in devices]


def _device(spec):
    if isinstance(spec, jax.Device):
        return spec
    platform, _, index = str(spec).partition(":")
    for d in jax.devices(platform or None):
        if str(d.id) == index:
            return d
    raise ValueError(f"no device {spec!r}; the devices are {list_devices()}")


class DeviceMesh:
    """Devices laid out in a grid with named axes: ``DeviceMesh((4,), ["batch"])`` (a
    ``jax.sharding.Mesh``, as :attr:`mesh`)."""

    def __init__(self, shape, axis_names, devices=None):
        shape, axis_names = tuple(int(s) for s in shape), list(axis_names)
        if len(shape) != len(axis_names):
            raise ValueError(f"DeviceMesh: shape {shape} has {len(shape)} axes but {len(axis_names)} axis names "
                             f"{axis_names}")
        devices = [_device(d) for d in (devices if devices is not None else jax.devices())]
        if int(np.prod(shape)) != len(devices):
            raise ValueError(f"DeviceMesh: shape {shape} holds {int(np.prod(shape))} devices; got {len(devices)} "
                             f"({[f'{d.platform}:{d.id}' for d in devices]})")
        self.shape, self.axis_names, self.devices = shape, axis_names, devices
        self.mesh = Mesh(np.array(devices, dtype=object).reshape(shape), tuple(axis_names))


class DataParallel:
    """Replicated weights, batches split along the mesh's ``batch_dim_name`` axis (Keras 3's
    ``DataParallel``). Give a ``device_mesh`` or ``devices`` (default: every device)."""

    def __init__(self, device_mesh=None, devices=None, batch_dim_name=None):
        if device_mesh is None:
            devices = devices if devices is not None else jax.devices()
            device_mesh = DeviceMesh((len(devices),), [batch_dim_name or "batch"], devices)
        self.device_mesh = device_mesh
        self.batch_dim_name = batch_dim_name or device_mesh.axis_names[0]
        if self.batch_dim_name not in device_mesh.axis_names:
            raise ValueError(f"DataParallel: batch_dim_name {self.batch_dim_name!r} is not an axis of the mesh "
                             f"{device_mesh.axis_names}")
        mesh = device_mesh.mesh
        self.num_shards = mesh.shape[self.batch_dim_name]
        self.replicated = NamedSharding(mesh, PartitionSpec())
        self.batch_sharding = NamedSharding(mesh, PartitionSpec(self.batch_dim_name))

    def place_state(self, tree):
        """``tree``'s arrays (weights, optimizer state) placed on the mesh: on every device here;
        :class:`ModelParallel` splits the weights its layout names."""
        return jax.tree_util.tree_map(lambda a: _put(a, self.replicated), tree)

    def check_batch_size(self, batch_size, what):
        if batch_size % self.num_shards:
            raise ValueError(f"{what}: batch_size={batch_size} cannot be split evenly across the {self.num_shards} "
                             f"devices of the {self.batch_dim_name!r} axis (DataParallel); use a multiple of "
                             f"{self.num_shards}")

    @contextlib.contextmanager
    def scope(self):
        """``with dist.scope():`` makes this the distribution for the block."""
        global _current
        before, _current = _current, self
        try:
            yield self
        finally:
            _current = before


class LayoutMap(dict):
    """Weight-path patterns -> how to split those weights over the mesh's axes (Keras 3's
    ``LayoutMap``): ``layout_map["dense.*kernel"] = (None, "model")`` splits every Dense kernel's
    columns over the ``model`` axis. A path is ``<layer>/<weight>`` (``dense_1/kernel``, a nested
    model's ``encoder/dense_3/kernel``); patterns are searched (``re.search``) in it; a weight no
    pattern matches is replicated; two matching patterns are an error."""

    def __init__(self, device_mesh):
        super().__init__()
        self.device_mesh = device_mesh

    def __setitem__(self, pattern, layout):
        layout = tuple(layout)
        bad = [a for a in layout if a is not None and a not in self.device_mesh.axis_names]
        if bad:
            raise ValueError(f"LayoutMap[{pattern!r}]: {bad} are not axes of the mesh {self.device_mesh.axis_names}")
        super().__setitem__(pattern, layout)

    def layout_for(self, path):
        found = [(p, l) for p, l in self.items() if re.search(p, path)]
        if len(found) > 1:
            raise ValueError(f"LayoutMap: weight {path!r} matches several patterns {[p for p, _ in found]}")
        return found[0][1] if found else None


class ModelParallel(DataParallel):
    """Weights split over the mesh as ``layout_map`` says, batches split along ``batch_dim_name``
    (Keras 3's ``ModelParallel``). Optimizer slots follow their weights' layout."""

    def __init__(self, layout_map, batch_dim_name=None):
        if not isinstance(layout_map, LayoutMap):
            raise TypeError(f"ModelParallel expects a LayoutMap; got {type(layout_map).__name__}")
        super().__init__(device_mesh=layout_map.device_mesh,
                         batch_dim_name=batch_dim_name or layout_map.device_mesh.axis_names[0])
        self.layout_map = layout_map

    def sharding_for(self, path, leaf):
        """The sharding of the weight (or optimizer slot) at ``path`` with ``leaf``'s shape; a layout
        that does not fit the weight is an error naming both."""
        layout = self.layout_map.layout_for(path)
        if layout is None:
            return self.replicated
        shape = np.shape(leaf)
        mesh = self.device_mesh.mesh
        if len(layout) != len(shape):
            raise ValueError(f"ModelParallel: the layout {layout} for weight {path!r} has {len(layout)} axes; the "
                             f"weight has shape {shape}")
        for dim, axis in zip(shape, layout):
            if axis is not None and dim % mesh.shape[axis]:
                raise ValueError(f"ModelParallel: weight {path!r} of shape {shape} cannot be split by the layout "
                                 f"{layout}: {dim} is not a multiple of the {mesh.shape[axis]} devices of axis "
                                 f"{axis!r}")
        return NamedSharding(mesh, PartitionSpec(*layout))

    def place_state(self, tree):
        def put(path, leaf):
            names = [str(k.key) for k in path if isinstance(k, jax.tree_util.DictKey)]
            return _put(leaf, self.sharding_for("/".join(names), leaf) if names else self.replicated)
        return jax.tree_util.tree_map_with_path(put, tree)


def _put(a, sharding):
    """``a`` placed with ``sharding``. With several processes, an array one process holds goes over
    as a host copy: every process holds the same value (same program, same seed), and JAX moves an
    array between hosts' devices only by a host copy on CPU."""
    if jax.process_count() > 1 and isinstance(a, jax.Array) and a.is_fully_addressable:
        a = np.asarray(a)
    return jax.device_put(a, sharding)


def require_one_process(what):
    """Agents gather their own experience: with several processes each would hold other data, which
    Arena does not join yet (``fit`` does); a clear error rather than silently mixed replicas."""
    if jax.process_count() > 1:
        raise NotImplementedError(f"{what} runs in one process (this run has {jax.process_count()}): agents' experience "
                                  f"is not shared across processes; use one process with several devices")


def set_distribution(value):
    """Make ``value`` (a :class:`DataParallel`, or None for one device) the distribution of every
    later ``fit``/``evaluate``/``predict``."""
    global _current
    if value is not None and not isinstance(value, DataParallel):
        raise TypeError(f"set_distribution expects a DataParallel, a ModelParallel or None; got "
                        f"{type(value).__name__}")
    _current = value


def distribution():
    """The distribution in effect (None: one device)."""
    return _current


def constrain_batch(tree):
    """Inside a compiled step: each array of the batch ``tree`` sharded along the batch axis of the
    distribution in effect (read when the step is traced). A batch whose rows do not split evenly
    (an epoch's last, short batch) stays replicated: every device computes it whole."""
    dist = _current
    if dist is None:
        return tree

    def place(a):
        if getattr(a, "ndim", 0) >= 1 and a.shape[0] % dist.num_shards == 0:
            return jax.lax.with_sharding_constraint(a, dist.batch_sharding)
        return a
    return jax.tree_util.tree_map(place, tree)


def shard_leading(tree, what):
    """``tree``'s arrays split along their first axis over the distribution's batch axis (the seeds
    of a compiled agent: each device runs its share of them); unchanged without a distribution."""
    dist = _current
    if dist is None:
        return tree
    require_one_process(what)
    leaves = jax.tree_util.tree_leaves(tree)
    if leaves and leaves[0].shape[0] % dist.num_shards:
        raise ValueError(f"{what} cannot be split evenly across the {dist.num_shards} devices of the "
                         f"{dist.batch_dim_name!r} axis (DataParallel); use a multiple of {dist.num_shards}")
    return jax.tree_util.tree_map(lambda a: jax.device_put(a, dist.batch_sharding), tree)


def settle(result):
    """``result`` of a compiled call, waited for when several CPU devices run it: XLA:CPU's
    collectives can deadlock when calls are queued ahead of each other on more devices than cores
    (seen with 4 devices on 2 cores after a few hundred queued steps; waiting for each costs nothing
    there, the CPU is busy anyway). Accelerators keep JAX's asynchronous dispatch."""
    dist = _current
    if dist is not None and dist.num_shards > 1 and dist.device_mesh.devices[0].platform == "cpu":
        jax.block_until_ready(result)
    return result


def place_data(a):
    """An array of the data set where the distribution in effect needs it (replicated), or as it is.
    With several processes each keeps its own rows where they are (:func:`global_batch` joins them)."""
    dist = _current
    if dist is None or a is None or jax.process_count() > 1:
        return a
    return jax.device_put(a, dist.replicated)


def global_batch(tree, what="the batch"):
    """With several processes: each array of ``tree`` (this process's rows of a batch) as its part
    of one global batch split along the mesh's batch axis (``jax.make_array_from_process_local_data``);
    the global batch is every process's rows in process order. As it is with one process."""
    dist = _current
    if jax.process_count() == 1:
        return tree
    if dist is None:
        raise RuntimeError(f"{what}: this run has {jax.process_count()} processes but no distribution; "
                           f"call arena.distribution.set_distribution(DataParallel()) first")
    return jax.tree_util.tree_map(
        lambda a: jax.make_array_from_process_local_data(dist.batch_sharding, np.asarray(a)), tree)


def local_rows(batch_size):
    """How many of a global batch's ``batch_size`` rows each process gives."""
    return batch_size // jax.process_count()


def fits_locally(rows):
    """Whether this process's ``rows`` split evenly over its devices on the batch axis."""
    dist = _current
    return dist is None or rows % max(1, dist.num_shards // jax.process_count()) == 0


def local(tree):
    """With several processes: ``tree``'s arrays as this process's own copies of their whole values
    (a replicated array's local copy; a split one gathered from every process, which every process
    must then call alike). As it is with one process."""
    if jax.process_count() == 1:
        return tree
    from jax.experimental import multihost_utils

    def own(a):
        if not isinstance(a, jax.Array) or a.is_fully_addressable:
            return a
        if a.is_fully_replicated:
            return a.addressable_data(0)
        return jax.numpy.asarray(multihost_utils.process_allgather(a, tiled=True))
    return jax.tree_util.tree_map(own, tree)


def total(tree):
    """With several processes: the sum over processes of each of ``tree``'s per-process values
    (evaluation sums and row counts); as it is with one process."""
    if jax.process_count() == 1:
        return tree
    from jax.experimental import multihost_utils
    gathered = multihost_utils.process_allgather(jax.tree_util.tree_map(np.asarray, tree))
    return jax.tree_util.tree_map(lambda a: np.sum(a, axis=0), gathered)


def check_same_rows(n, what):
    """With several processes: every process must give ``what`` the same number of rows ``n``."""
    if jax.process_count() == 1:
        return
    from jax.experimental import multihost_utils
    counts = [int(c) for c in np.ravel(multihost_utils.process_allgather(np.asarray(n, np.int64)))]
    if len(set(counts)) > 1:
        raise ValueError(f"{what}: each process must give the same number of rows; processes 0..{len(counts) - 1} "
                         f"gave {counts}")


@contextlib.contextmanager
def process_local():
    """Within the block, compiled calls run on this process's devices alone (evaluate and predict
    with several processes: each on its own rows, with its own copy of the weights)."""
    global _current
    if jax.process_count() == 1:
        yield
        return
    before, _current = _current, None
    try:
        yield
    finally:
        _current = before


def place(tree, batch_axis=None):
    """``tree``'s arrays on the distribution's devices, before a compiled call: replicated, or with
    ``batch_axis`` split over the batch axis where its length divides evenly; unchanged without one."""
    dist = _current
    if dist is None:
        return tree

    if batch_axis is None:
        return dist.place_state(tree)

    def put(a):
        if np.ndim(a) > batch_axis and np.shape(a)[batch_axis] % dist.num_shards == 0:
            spec = PartitionSpec(*([None] * batch_axis), dist.batch_dim_name)
            return jax.device_put(a, NamedSharding(dist.device_mesh.mesh, spec))
        return jax.device_put(a, dist.replicated)
    return jax.tree_util.tree_map(put, tree)
