"""EarlyStopping: stop training when a monitored quantity has stopped improving."""
import numpy as np

from arena.callbacks._monitor import MissingKeyWarner, as_number, check_int, make_monitor
from arena.callbacks.base import Callback


class EarlyStopping(Callback):
    """Stops training (``self.model.stop_training = True``) once ``monitor`` has not improved by more
    than ``min_delta`` for ``patience`` epochs (Keras 2 semantics).

    ``baseline``: training also stops if the quantity does not beat it within ``patience`` epochs.
    ``restore_best_weights``: on stopping, put back the weights of the best epoch (the owner must
    provide ``get_weights()`` / ``set_weights(list)``). ``start_from_epoch``: epochs to ignore first
    (warm-up). After training, ``stopped_epoch`` is the 0-based epoch at which it stopped (0 if it
    did not) and ``best_epoch`` the epoch of the best value.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self._better, self._initial_best = make_monitor("EarlyStopping", monitor, mode, min_delta)
        self.min_delta = abs(float(min_delta))
        self.mode = mode
        self.patience = check_int("EarlyStopping", "patience", patience, 0)
        self.start_from_epoch = check_int("EarlyStopping", "start_from_epoch", start_from_epoch, 0)
        if baseline is not None and as_number(baseline) is None:
            raise ValueError(f"EarlyStopping: baseline must be a number or None; got {baseline!r}")
        self.baseline = None if baseline is None else float(baseline)
        self.verbose = verbose
        self.restore_best_weights = bool(restore_best_weights)
        self._missing = MissingKeyWarner("EarlyStopping", monitor, "cannot stop early: it monitors")
        self._reset()

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self._initial_best
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self._reset()
        self._missing.reset()
        if self.restore_best_weights:
            missing = [m for m in ("get_weights", "set_weights") if not callable(getattr(self.model, m, None))]
            if missing:
                raise AttributeError(f"EarlyStopping(restore_best_weights=True) needs the trained object to "
                                     f"provide get_weights() and set_weights(weights); "
                                     f"{type(self.model).__name__} lacks {missing}")

    def on_epoch_end(self, epoch, logs=None):
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # So that something is restored even if no epoch ever improves.
            self.best_weights = self._snapshot()
        self.wait += 1
        if self._better(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self._snapshot()
            # Only restart the wait if we beat both the baseline and the previous best; an
            # improvement that stays short of the baseline still counts towards stopping.
            if self.baseline is None or self._better(current, self.baseline):
                self.wait = 0
                return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                if self.verbose > 0:
                    print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")

    def _snapshot(self):
        # Copies, so that an owner returning views of live buffers cannot change the saved best.
        return [np.array(w, copy=True) for w in self.model.get_weights()]

    def get_monitor_value(self, logs):
        """The monitored value in ``logs`` as a float, or None (with a one-time warning) if absent."""
        value = as_number((logs or {}).get(self.monitor))
        if value is None:
            self._missing(logs)
        return value
