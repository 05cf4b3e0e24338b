"""Input data for ``fit``, ``evaluate`` and ``predict``: arrays put on the device once, and batch
sources (generators, iterators, iterables, ``arena.utils.Sequence``) read in a background thread
into a bounded queue while the compiled step runs."""
import itertools
import queue
import threading
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from arena import checks, distribution


def _on_device(*groups):
    """Each group (a list of arrays: inputs, targets, sample weights) with its arrays on the device;
    a missing group (no targets for a custom train_step) stays None."""
    return tuple(None if group is None else [distribution.place_data(_to_device(a)) for a in group]
                 for group in groups)


def _to_device(a):
    """A device array holding a private copy of the numpy array ``a``.

    On CPU, ``jnp.asarray`` copies through a slow path (~1 GB/s: 0.1 s for MNIST's training set,
    paid again by every ``fit``); a 64-byte-aligned host copy that the device array aliases
    (``may_alias``) costs one memcpy. The copy is ours, so later writes to ``a`` cannot reach it.
    """
    if a is None or isinstance(a, jax.Array):
        return a
    a = np.asarray(a)
    if jax.default_backend() != "cpu" or a.nbytes < (1 << 20):
        return jnp.asarray(a)
    buf = np.empty(a.nbytes + 64, np.uint8)
    start = -buf.ctypes.data % 64
    copy = buf[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    copy[...] = a
    return jax.device_put(copy, may_alias=True)


# ---- generators, iterables and Sequences ------------------------------------------------------------
def _is_sequence(x):
    from arena.utils.sequence import Sequence
    return isinstance(x, Sequence)


def _is_batch_source(x):
    """Whether ``x`` is a source of batches (generator, iterator, iterable, Sequence), not array data."""
    if _is_sequence(x):
        return True
    if x is None or isinstance(x, (np.ndarray, jax.Array, list, tuple, dict, str, bytes, int, float)) or \
            hasattr(x, "__array__"):
        return False
    return hasattr(x, "__next__") or hasattr(x, "__iter__")


_END = object()  # the end of a batch stream


class _Prefetcher:
    """Pulls the items of an iterator in a background thread into a bounded queue.

    ``get`` returns the next item, ``_END`` at the end, or raises the exception the iterator raised
    (with its traceback). ``close`` stops the thread: it never blocks on a full queue for long.
    ``threaded=False`` (``workers=0``) reads the iterator in the caller's thread instead."""

    def __init__(self, items, max_queue_size, threaded=True):
        self._items, self._threaded = items, threaded
        self._stop = threading.Event()
        self._queue = queue.Queue(max_queue_size)
        self._done = False
        self._thread = None
        if threaded:
            self._thread = threading.Thread(target=self._work, name="arena-batches", daemon=True)
            self._thread.start()

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def _work(self):
        try:
            for item in self._items:
                if not self._put((True, item)):
                    return
            self._put((True, _END))
        except BaseException as e:  # noqa: BLE001 -- handed to the caller's thread, raised there
            self._put((False, e))

    def get(self):
        if self._done:
            return _END
        if not self._threaded:
            try:
                return next(self._items)
            except StopIteration:
                self._done = True
                return _END
        while True:
            try:
                ok, item = self._queue.get(timeout=0.05)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    self._done = True
                    return _END
        if not ok:
            self._done = True
            raise item
        if item is _END:
            self._done = True
        return item

    def close(self):
        self._stop.set()
        if self._thread is not None:
            while True:  # empty the queue: a producer waiting to put sees the stop flag
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
            self._thread.join(timeout=10.0)
            self._thread = None
        self._done = True


class _Feed:
    """Batches from a generator, iterator, iterable or Sequence, checked (``_prepare``: shapes, sample
    and class weights) and put on the device in a background thread, ``steps`` per pass.

    A generator or iterator is one stream for the whole call: each pass (epoch) takes the next
    ``steps`` batches, as Keras 2's ``fit_generator`` did. A Sequence is read in the given order of
    indices each pass (cycled when ``steps`` exceeds its length), an iterable with ``len`` anew."""

    def __init__(self, model, data, kind, steps, steps_arg, what=None, class_weight=None, max_queue_size=10,
                 workers=1, use_multiprocessing=False, required=True):
        call = "fit" if kind == "fit" or what == "validation_data" else kind
        max_queue_size = checks.integer(max_queue_size, f"{call}: max_queue_size", 1)
        workers = checks.integer(workers, f"{call}: workers", 0)
        if use_multiprocessing:
            warnings.warn(f"{call}: use_multiprocessing=True runs as a background thread in Arena (JAX cannot "
                          f"run in forked worker processes)", UserWarning, stacklevel=4)
        self.model, self.data, self.kind, self.class_weight = model, data, kind, class_weight
        self.max_queue_size, self.threaded = max_queue_size, workers > 0
        self.is_sequence = _is_sequence(data)
        self.stream = not self.is_sequence and hasattr(data, "__next__")
        self.what = what or ("Sequence" if self.is_sequence else "generator")
        length = None
        if self.is_sequence or (not self.stream and hasattr(data, "__len__")):
            length = len(data)
            if length < 1:
                raise ValueError(f"{call}: the {self.what} is empty (len() is {length})")
        self.steps = steps if steps is not None else length
        if self.steps is None and required:
            src = "validation_data" if what == "validation_data" else "x"
            raise ValueError(f"{call}: {steps_arg} is required when {src} is a generator or an iterator (it has "
                             f"no len(): Arena cannot tell how many batches make an epoch). Give {steps_arg}"
                             f"=number of batches, or use an arena.utils.Sequence")
        self._iter = iter(data) if self.stream else None
        self._pf = None
        self.ran_out = False
        if not model.outputs:  # build the model from the first batch, here in the caller's thread
            model._ensure_built_for(self._x_of(self._first()))
        else:
            model._ensure_built_for(None)

    def _first(self):
        try:
            if self.is_sequence:
                return self.data[0]
            if self.stream:
                first = next(self._iter)
                self._iter = itertools.chain([first], self._iter)
                return first
            return next(iter(self.data))
        except StopIteration:
            raise ValueError(f"Model '{self.model.name}': the {self.what} yielded no batches") from None

    def _x_of(self, raw):
        if self.kind == "predict":
            return raw[0] if isinstance(raw, tuple) and 1 <= len(raw) <= 3 else raw
        return raw[0] if isinstance(raw, (tuple, list)) and len(raw) in (2, 3) else raw

    def _get(self, i):
        try:
            return self.data[i]
        except Exception as e:
            e.add_note(f"(raised by {type(self.data).__name__}.__getitem__({i}), batch {i} of the {self.what})")
            raise

    def _read(self, items, noted):
        it = iter(items)
        count = 0
        while True:
            try:
                index, raw = next(it)
            except StopIteration:
                return
            except Exception as e:
                if not noted:
                    e.add_note(f"(raised by the {self.what} while Arena read its batch {count})")
                raise
            count += 1
            yield self._check(index, raw)

    def _check(self, index, raw):
        """A raw batch checked as ``fit``'s arrays are, on the device; errors name the batch."""
        model = self.model
        try:
            if self.kind == "predict":
                xs = model._standardize(self._x_of(raw), model.input_names, [t.shape for t in model.inputs],
                                        "input")
                return [_to_device(a) for a in xs]
            custom = model._has_custom_step()  # its batches may be x alone (Keras 3's unpacking)
            if custom and not isinstance(raw, (tuple, list)):
                raw = (raw,)
            if not isinstance(raw, (tuple, list)) or len(raw) not in ((1, 2, 3) if custom else (2, 3)):
                got = f"a {type(raw).__name__} of length {len(raw)}" if isinstance(raw, (tuple, list)) else \
                    f"a {type(raw).__name__}"
                raise ValueError(f"each batch must be a tuple (x, y) or (x, y, sample_weight); got {got}")
            y = raw[1] if len(raw) > 1 else None
            if y is None and not custom:
                raise ValueError("the batch has no targets (y is None)")
            xs, ys, sws, _ = model._prepare(raw[0], y, raw[2] if len(raw) == 3 else None, self.class_weight)
        except ValueError as e:
            raise ValueError(f"batch {index} of the {self.what}: {e}") from None
        return _on_device(xs, ys, sws)

    def epoch(self, order=None):
        """One pass: the next ``steps`` prepared batches (all of them when ``steps`` is None)."""
        if self.stream:
            if self._pf is None:
                self._pf = _Prefetcher(self._read(enumerate(self._iter), False), self.max_queue_size, self.threaded)
        else:
            self.close()
            if self.is_sequence:
                order = np.arange(len(self.data)) if order is None else np.asarray(order)
                if self.steps is not None and self.steps != len(order):
                    order = np.resize(order, self.steps)
                items, noted = ((int(i), self._get(int(i))) for i in order), True
            else:
                items, noted = enumerate(iter(self.data)), False
            self._pf = _Prefetcher(self._read(items, noted), self.max_queue_size, self.threaded)
        pf, n = self._pf, 0
        while self.steps is None or n < self.steps:
            item = pf.get()
            if item is _END:
                self.ran_out = self.steps is not None
                return
            n += 1
            yield item

    def end_epoch(self):
        """After a pass: a Sequence's ``on_epoch_end``; the pass's thread stops (a stream's keeps going)."""
        if not self.stream:
            self.close()
        if self.is_sequence:
            self.data.on_epoch_end()

    def close(self):
        if self._pf is not None:
            self._pf.close()
            self._pf = None


# ---- fit's tasks for the one loop (arena/loop.py) ----------------------------------------------------
def epoch_order(key, step, n):
    """The shuffled row order of an epoch of ``n`` rows that starts at optimizer step ``step``."""
    seed = [int(v) for v in np.asarray(jax.random.key_data(key) if jnp.issubdtype(
        key.dtype, jax.dtypes.prng_key) else key).ravel()] + [int(step)]
    return np.random.default_rng(seed).permutation(n)


def _validation_on_device(val):
    """fit's validation data: a :class:`_Feed` as it is, arrays ``(xs, ys, sws, n)`` put on the device
    once (not at every validation)."""
    if val is None or isinstance(val, _Feed):
        return val
    return _on_device(*val[:3]) + (val[3],)


class _FitTask:
    """Supervised batches for the one loop: shuffled index batches into on-device arrays."""

    callbacks = None  # the run's CallbackList (bind_callbacks), for the validation's on_test_* hooks

    def __init__(self, model, xs, ys, sws, n, batch_size, shuffle, val, validation_freq, steps_per_epoch):
        self.model = model
        self.data = _on_device(xs, ys, sws)
        self.n, self.batch_size, self.shuffle = n, batch_size, shuffle
        self.val, self.validation_freq = _validation_on_device(val), validation_freq
        self.k = max(1, model.steps_per_execution)
        full = n // batch_size
        self.steps_per_epoch = steps_per_epoch or (full + (1 if n % batch_size else 0))
        model._ensure_log_names(self.data)

    def batches(self, epoch):
        model = self.model
        # The epoch's logs average its own batches only (train_on_batch leaves its batch in the sums).
        ts = model._train_state = model._train_state._replace(sums=model._zero_sums())
        order = epoch_order(ts.key, ts.step, self.n) if self.shuffle else np.arange(self.n)
        order = order.astype(np.int32)
        bs, full = self.batch_size, self.n // self.batch_size
        idx = order[:full * bs].reshape(full, bs)
        steps = 0
        for c in range(0, full, self.k):
            chunk = idx[c:c + self.k][: self.steps_per_epoch - steps]
            if len(chunk) == 0:
                return
            steps += len(chunk)
            yield chunk
        if self.n % bs and steps < self.steps_per_epoch:
            yield order[full * bs:][None]

    def steps_in(self, batch):
        return len(batch)

    def train_step(self, idx):
        model = self.model
        # idx stays numpy: jit's C++ dispatch moves it to the device faster than jnp.asarray.
        model._train_state, logs = model._fns["train_chunk"](model._train_state, self.data, idx)
        return logs

    def publish(self):
        self.model._return_weights(keep=True)

    def refresh(self):
        self.model._reread_weights()

    def end_epoch(self, epoch):
        model = self.model
        ts = model._train_state
        count = float(ts.sums["_count"])
        logs = {k: float(ts.sums[k]) / max(count, 1.0) for k in model.metrics_names}
        model._train_state = ts._replace(sums=model._zero_sums())
        if self.val is not None and (epoch + 1) % self.validation_freq == 0:
            # Keras fires the on_test_* hooks of fit's callbacks during its validation too.
            val_logs = model._run_evaluation(lambda: (model._train_state.params, model._train_state.state),
                                             self.val, self.batch_size, self.callbacks)
            logs.update({f"val_{k}": v for k, v in val_logs.items()})
        return logs

    def bind_callbacks(self, callbacks):
        self.callbacks = callbacks


class _FeedFitTask(_FitTask):
    """Supervised batches for the one loop from a :class:`_Feed`, each run by the compiled
    ``train_batch`` (one ``train_step`` on a batch passed in)."""

    def __init__(self, model, feed, shuffle, val, validation_freq, batch_size):
        self.model, self.feed, self.shuffle = model, feed, shuffle
        self.val, self.validation_freq, self.batch_size = _validation_on_device(val), validation_freq, batch_size
        self.k = 1
        self.steps_per_epoch = feed.steps

    def batches(self, epoch):
        model = self.model
        ts = model._train_state = model._train_state._replace(sums=model._zero_sums())
        order = None
        if self.feed.is_sequence and self.shuffle:  # a function of (key, step): a resumed run is exact
            order = epoch_order(ts.key, ts.step, len(self.feed.data))
        yield from self.feed.epoch(order)
        if self.feed.ran_out:
            warnings.warn(f"fit: the {self.feed.what} ran out of batches; training stops (it must yield "
                          f"steps_per_epoch * epochs = {self.feed.steps} * epochs batches)", UserWarning)
            model.stop_training = True

    def steps_in(self, batch):
        return 1

    def train_step(self, batch):
        model = self.model
        if model._log_names is None:  # a custom train_step: its log names, from this first batch
            model._ensure_log_names(batch)
        return _train_on(model, batch)

    def end_epoch(self, epoch):
        self.feed.end_epoch()
        return super().end_epoch(epoch)


class _ProcessFitTask(_FitTask):
    """Supervised batches for the one loop in a run of several processes: each process holds its
    own ``n`` rows (the same ``n`` on every process) and gives each global batch its next
    ``batch_size / process_count`` rows, in the epoch's order (every process shuffles alike: the
    key is the same). An epoch's last, short batch is left out where its rows do not split evenly
    over the devices; shuffled, it is other rows each epoch."""

    def __init__(self, model, xs, ys, sws, n, batch_size, shuffle, val, validation_freq, steps_per_epoch):
        distribution.check_same_rows(n, f"Model '{model.name}'.fit")
        self.model, self.n, self.shuffle = model, n, shuffle
        self.data = tuple(None if g is None else [None if a is None else np.asarray(a) for a in g] for g in (xs, ys, sws))
        self.val, self.validation_freq = val, validation_freq
        self.batch_size, self.rows = batch_size, distribution.local_rows(batch_size)
        self.k = 1
        rest = n % self.rows
        self.last = rest if rest and distribution.fits_locally(rest) else 0
        if rest and not self.last:
            warnings.warn(f"fit: each epoch leaves out {rest} rows on each process (a last batch of {rest} rows "
                          f"per process does not split evenly over its devices); shuffle=True makes them other "
                          f"rows each epoch", UserWarning, stacklevel=4)
        self.steps_per_epoch = steps_per_epoch or (n // self.rows + (1 if self.last else 0))
        model._ensure_log_names(self.data)

    def batches(self, epoch):
        model = self.model
        ts = model._train_state = model._train_state._replace(sums=model._zero_sums())
        order = epoch_order(ts.key, ts.step, self.n) if self.shuffle else np.arange(self.n)
        starts = list(range(0, self.n - self.last - self.rows + 1, self.rows))
        cuts = [(s, s + self.rows) for s in starts] + ([(self.n - self.last, self.n)] if self.last else [])
        for lo, hi in cuts[:self.steps_per_epoch]:
            rows = order[lo:hi]
            yield tuple(None if g is None else [None if a is None else a[rows] for a in g] for g in self.data)

    def steps_in(self, batch):
        return 1

    def train_step(self, batch):
        return _train_on(self.model, batch)


def _train_on(model, batch):
    """The compiled ``train_batch`` on a batch passed in (with several processes, this process's rows
    of the global batch); returns the logs."""
    batch = distribution.global_batch(batch, f"Model '{model.name}'.fit")
    model._train_state, logs = model._fns["train_batch"](model._train_state, batch)
    return logs
