"""ModelCheckpoint: save the model (or its weights) every epoch, every N batches, or when it improves."""
import os
import warnings

import numpy as np

from arena.callbacks._monitor import MissingKeyWarner, as_number, check_int, make_monitor
from arena.callbacks.base import Callback, to_float


class ModelCheckpoint(Callback):
    """Saves ``self.model`` to ``filepath`` during training (Keras 2 arguments).

    ``filepath`` is formatted with ``epoch`` (1-based) and the logs, e.g.
    ``'model-{epoch:02d}-{val_loss:.2f}.h5'``; with ``save_freq=N`` (batches) also ``batch``
    (1-based, within the epoch). ``save_best_only`` saves only when ``monitor`` improves on the best
    value seen (by ``min`` / ``max`` / ``auto`` ``mode``). The owner must provide ``save(path)``, or
    ``save_weights(path)`` for ``save_weights_only=True``. ``period``: with ``save_freq='epoch'``,
    save every ``period`` epochs.
    """

    process_zero_only = True  # several processes: one writer

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", period=1, initial_value_threshold=None):
        super().__init__()
        filepath = os.fspath(filepath) if isinstance(filepath, os.PathLike) else filepath
        if not isinstance(filepath, str) or not filepath:
            raise ValueError(f"ModelCheckpoint: filepath must be a non-empty path string; got {filepath!r}")
        self.filepath = filepath
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = mode
        self._better, best = make_monitor("ModelCheckpoint", monitor, mode)
        if initial_value_threshold is not None:
            if as_number(initial_value_threshold) is None:
                raise ValueError(f"ModelCheckpoint: initial_value_threshold must be a number; "
                                 f"got {initial_value_threshold!r}")
            best = float(initial_value_threshold)
        self._initial_best = best
        self.best = best
        if save_freq != "epoch":
            if isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1:
                raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive number of batches; "
                                 f"got {save_freq!r}")
        self.save_freq = save_freq
        self.period = check_int("ModelCheckpoint", "period", period, 1)
        self.epochs_since_last_save = 0
        self._batches_since_save = 0
        self._last_batch = -1
        self._current_epoch = 0
        self._missing = MissingKeyWarner("ModelCheckpoint(save_best_only=True)", monitor,
                                         "cannot save the best model: it monitors")

    def on_train_begin(self, logs=None):
        self._check_owner()
        self._missing.reset()
        self._batches_since_save = 0
        if self.save_best_only and (self.params or {}).get("initial_epoch"):
            # A resumed run goes on from the best score the checkpoint recorded, so the best model
            # file is never replaced by a worse one after a restart.
            saved = as_number(self._callback_state().get(self._state_key))
            if saved is not None:
                self.best = saved

    @property
    def _state_key(self):
        return f"ModelCheckpoint:{self.filepath}:best"

    def _callback_state(self):
        """``owner.callback_state``: a dict the owner saves in its checkpoints (agents), else a dummy."""
        state = getattr(self.model, "callback_state", None)
        return state if isinstance(state, dict) else {}

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch
        self._last_batch = -1

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        # ``batch`` is the index of the last optimizer step done; one call may cover several
        # (steps_per_execution), so count the steps since the previous call.
        self._batches_since_save += batch - self._last_batch
        self._last_batch = batch
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_since_last_save += 1
        if self.save_freq == "epoch" and self.epochs_since_last_save >= self.period:
            self.epochs_since_last_save = 0
            self._save(epoch, None, logs or {})

    # ---- helpers ----------------------------------------------------------------------------
    def _weights_finite(self):
        get_weights = getattr(self.model, "get_weights", None)
        if not callable(get_weights):
            return True
        return all(np.all(np.isfinite(w)) for w in get_weights() if np.issubdtype(np.asarray(w).dtype, np.floating))

    def _check_owner(self):
        method = "save_weights" if self.save_weights_only else "save"
        if not callable(getattr(self.model, method, None)):
            raise AttributeError(f"ModelCheckpoint(save_weights_only={self.save_weights_only}) needs the trained "
                                 f"object to provide {method}(path); {type(self.model).__name__} has none")

    def _file_path(self, epoch, batch, logs):
        values = {k: to_float(v) for k, v in logs.items()}
        values["epoch"] = epoch + 1
        if batch is not None:
            values["batch"] = batch + 1
        try:
            return self.filepath.format(**values)
        except KeyError as e:
            raise KeyError(f"ModelCheckpoint: cannot format filepath {self.filepath!r}: no value for {e}; "
                           f"available keys are {sorted(values)}") from None
        except (ValueError, IndexError) as e:
            raise ValueError(f"ModelCheckpoint: cannot format filepath {self.filepath!r} with "
                             f"{values}: {e}") from None

    def _save(self, epoch, batch, logs):
        where = f"Epoch {epoch + 1}" + (f", batch {batch + 1}" if batch is not None else "")
        current = None
        if self.save_best_only:
            current = as_number(logs.get(self.monitor))
            if current is None:
                self._missing(logs)
                return
            if not self._better(current, self.best):
                if self.verbose:
                    print(f"\n{where}: {self.monitor} did not improve from {self.best:.5f}")
                return
        path = self._file_path(epoch, batch, logs)
        if not self._weights_finite():
            warnings.warn(f"ModelCheckpoint: {where}: the weights are not finite (NaN or infinite); {path} is not "
                          f"written, so the last good checkpoint stays", RuntimeWarning, stacklevel=2)
            return
        if self.verbose:
            print(f"\n{where}: {self.monitor} improved from {self.best:.5f} to {current:.5f}, saving model to {path}"
                  if self.save_best_only else f"\n{where}: saving model to {path}")
        if self.save_best_only:
            self.best = current
            self._callback_state()[self._state_key] = float(current)
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
