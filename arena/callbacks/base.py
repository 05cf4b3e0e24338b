"""The Callback base class (Keras hooks), CallbackList, History, LambdaCallback, TerminateOnNaN."""
import math

import numpy as np

from arena import distribution


def to_float(value):
    """A log value (Python number, numpy or JAX scalar) as a float; reading a JAX value waits for it."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


class Callback:
    """Base class: override any hook. ``self.model`` is the Model or agent being trained;
    ``self.params`` holds ``epochs``, ``steps``, ``verbose``.

    During training the weights live in the compiled train state; before a hook of a callback whose
    ``reads_weights`` is True (the default) the loop writes them back to the layers, and reads them
    again after it, so the hook may read, save or set weights. Callbacks that only look at the logs
    set ``reads_weights = False`` and cost nothing per batch.

    In a run of several processes (``arena.distribution``), the hooks of callbacks whose
    ``process_zero_only`` is True (those that write files or the terminal) run on process 0 only."""

    reads_weights = True
    process_zero_only = False

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): self.on_batch_begin(batch, logs)
    def on_train_batch_end(self, batch, logs=None): self.on_batch_end(batch, logs)
    def on_batch_begin(self, batch, logs=None): pass  # Keras 2 names
    def on_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


_KERAS2_ALIAS = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


def _acts_on(cb, hook):
    """Whether ``cb`` does anything in ``hook``: the base class's hooks do nothing, and skipping
    them keeps the per-batch cost of a long callback list near zero."""
    if hook in vars(cb):  # set on the instance, e.g. by LambdaCallback
        return True
    if getattr(type(cb), hook, None) is not getattr(Callback, hook, None):
        return True
    alias = _KERAS2_ALIAS.get(hook)  # the base on_train_batch_* call the Keras 2 on_batch_*
    return alias is not None and _acts_on(cb, alias)


class CallbackList:
    """Calls every callback's hook in order."""

    def __init__(self, callbacks, model, params, sync=None):
        """``sync``: ``(publish, refresh)``, called around hooks of callbacks that read weights."""
        self.sync = sync
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances; got {type(cb).__name__}")
            cb.set_model(model)
            cb.set_params(params)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        # Like Keras, every hook gets a logs dict ({} when the loop has none), so user hooks written
        # as ``def on_epoch_begin(self, epoch, logs)`` or ``lambda logs: ...`` work.
        n_index = 1 if ("epoch" in hook or "batch" in hook) else 0
        acting = [cb for cb in self.callbacks if _acts_on(cb, hook)]
        writer = distribution.is_writer()
        methods = [getattr(cb, hook) for cb in acting if writer or not cb.process_zero_only]
        # Decided over every callback, so that every process publishes the weights alike.
        sync = self.sync if self.sync and any(cb.reads_weights for cb in acting) else None

        def call(*args):
            if len(args) == n_index:
                args = args + ({},)
            elif len(args) > n_index and args[n_index] is None:
                args = args[:n_index] + ({},) + args[n_index + 1:]
            if sync:
                sync[0]()
            for method in methods:
                method(*args)
            if sync:
                sync[1]()
        setattr(self, hook, call)  # built once per hook (the callbacks are fixed for the run)
        return call


class History(Callback):
    """Records each epoch's logs: ``history.history['loss']`` is a list of floats."""

    reads_weights = False

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(to_float(v))


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None, on_batch_end=None,
                 on_train_begin=None, on_train_end=None, **kwargs):
        super().__init__()
        for name, fn in dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                             on_batch_begin=on_batch_begin, on_batch_end=on_batch_end,
                             on_train_begin=on_train_begin, on_train_end=on_train_end, **kwargs).items():
            if fn is not None:
                setattr(self, name, fn)


class TerminateOnNaN(Callback):
    """Stops training as soon as a loss in the batch logs becomes NaN or infinite: ``loss``, or for
    agents the keys whose last ``/`` part ends in ``loss`` (e.g. ``losses/td_loss``)."""

    reads_weights = False

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            if key != "loss" and not key.rsplit("/", 1)[-1].endswith("loss"):
                continue
            value = to_float(value)
            if isinstance(value, float) and not math.isfinite(value):
                print(f"Batch {batch}: invalid {key} {value}, terminating training")
                self.model.stop_training = True
                return


def monitor_op(mode, monitor, min_delta=0.0):
    """The comparison 'is ``current`` better than ``best``' for a monitored quantity."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max'; got {mode!r}")
    if mode == "auto":
        mode = "max" if ("acc" in monitor or monitor.endswith("win_rate") or "return" in monitor) else "min"
    if mode == "min":
        return (lambda current, best: current < best - abs(min_delta)), np.inf
    return (lambda current, best: current > best + abs(min_delta)), -np.inf
