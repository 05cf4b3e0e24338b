"""Learning-rate callbacks: LearningRateScheduler and ReduceLROnPlateau.

Both need the trained object to provide ``get_learning_rate()`` (a number) and
``set_learning_rate(value)``; both add the rate used during the epoch to the epoch logs as
``learning_rate`` (Keras 2 wrote it as ``lr``).
"""
import inspect
import math
import numbers

import numpy as np

from arena.callbacks._monitor import MissingKeyWarner, as_number, check_int, make_monitor
from arena.callbacks.base import Callback


def _check_lr_owner(who, model):
    missing = [m for m in ("get_learning_rate", "set_learning_rate") if not callable(getattr(model, m, None))]
    if missing:
        raise AttributeError(f"{who} needs the trained object to provide get_learning_rate() and "
                             f"set_learning_rate(value); {type(model).__name__} lacks {missing}")
    optimizer_lr = getattr(getattr(model, "optimizer", None), "learning_rate", None)
    if callable(optimizer_lr):
        raise ValueError(f"{who}: the optimizer's learning_rate is a schedule, which sets the rate itself at "
                         f"every step and would override this callback; compile with a number instead")


def _current_lr(who, model):
    lr = as_number(model.get_learning_rate())
    if lr is None:
        raise ValueError(f"{who}: the optimizer of {type(model).__name__} exposes no learning rate to change "
                         f"(get_learning_rate() returned None); compile with an arena optimizer such as "
                         f"SGD(learning_rate=0.01) rather than a raw optax transformation")
    return lr


def _wants_lr(schedule):
    """Whether ``schedule`` takes ``(epoch, lr)`` rather than ``(epoch)``."""
    try:
        sig = inspect.signature(schedule)
    except (TypeError, ValueError):
        return None  # unknown (some builtins): try both, like Keras
    positional = 0
    for p in sig.parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            return True
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            positional += 1
    return positional >= 2


class LearningRateScheduler(Callback):
    """At the start of each epoch sets the learning rate to ``schedule(epoch)`` or
    ``schedule(epoch, lr)`` (``epoch`` 0-based, ``lr`` the current rate); the result must be a
    non-negative finite number."""

    reads_weights = False

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise ValueError(f"LearningRateScheduler: schedule must be a function schedule(epoch) or "
                             f"schedule(epoch, lr) returning the learning rate; got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose
        self._wants_lr = _wants_lr(schedule)

    def on_train_begin(self, logs=None):
        _check_lr_owner("LearningRateScheduler", self.model)

    def on_epoch_begin(self, epoch, logs=None):
        lr = _current_lr("LearningRateScheduler", self.model)
        if self._wants_lr is None:
            try:
                new = self.schedule(epoch, lr)
            except TypeError:
                new = self.schedule(epoch)
        else:
            new = self.schedule(epoch, lr) if self._wants_lr else self.schedule(epoch)
        value = None if isinstance(new, (str, bytes)) else as_number(new)
        if value is None or not math.isfinite(value) or value < 0:
            raise ValueError(f"LearningRateScheduler: schedule({epoch}{', lr' if self._wants_lr else ''}) must "
                             f"return a non-negative finite number (the new learning rate); got {new!r}")
        self.model.set_learning_rate(value)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {value}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _current_lr("LearningRateScheduler", self.model)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` (0 < factor < 1) once ``monitor`` has not improved
    by more than ``min_delta`` for ``patience`` epochs, never going below ``min_lr``; then waits
    ``cooldown`` epochs before counting again (Keras 2 semantics)."""

    reads_weights = False

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0, epsilon=None):
        super().__init__()
        if epsilon is not None:  # the Keras 1 / early Keras 2 name of min_delta
            min_delta = epsilon
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be a number with 0 < factor < 1 (the rate is "
                             f"multiplied by it); got {factor!r}")
        if isinstance(min_lr, bool) or not isinstance(min_lr, numbers.Real) or not min_lr >= 0:
            raise ValueError(f"ReduceLROnPlateau: min_lr must be a number >= 0; got {min_lr!r}")
        self._better, self._initial_best = make_monitor("ReduceLROnPlateau", monitor, mode, min_delta)
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = check_int("ReduceLROnPlateau", "patience", patience, 0)
        self.cooldown = check_int("ReduceLROnPlateau", "cooldown", cooldown, 0)
        self.min_lr = float(min_lr)
        self.min_delta = abs(float(min_delta))
        self.mode = mode
        self.verbose = verbose
        self._missing = MissingKeyWarner("ReduceLROnPlateau", monitor, "cannot reduce the learning rate: it monitors")
        self._reset()

    def _reset(self):
        self.best = self._initial_best
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        _check_lr_owner("ReduceLROnPlateau", self.model)
        self._reset()
        self._missing.reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        old_lr = _current_lr("ReduceLROnPlateau", self.model)
        logs["learning_rate"] = old_lr
        current = as_number(logs.get(self.monitor))
        if current is None:
            self._missing(logs)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._better(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and old_lr > np.float32(self.min_lr):
                new_lr = max(old_lr * self.factor, self.min_lr)
                self.model.set_learning_rate(new_lr)
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                self.cooldown_counter = self.cooldown
                self.wait = 0
