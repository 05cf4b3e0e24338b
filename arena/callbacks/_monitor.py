"""Shared argument checks and the 'monitored value' logic of the monitoring callbacks."""
import math
import numbers
import warnings

from arena.callbacks.base import monitor_op, to_float


def make_monitor(who, monitor, mode, min_delta=0.0):
    """``(better_fn, initial_best)`` for ``monitor`` under ``mode``, with errors that name ``who``."""
    if not isinstance(monitor, str) or not monitor:
        raise ValueError(f"{who}: monitor must be the name of a logged quantity such as 'val_loss'; "
                         f"got {monitor!r}")
    if not isinstance(min_delta, numbers.Real) or isinstance(min_delta, bool) or not math.isfinite(min_delta):
        raise ValueError(f"{who}: min_delta must be a finite number; got {min_delta!r}")
    try:
        return monitor_op(mode, monitor, min_delta)
    except ValueError as e:
        raise ValueError(f"{who}: {e}") from None


def check_int(who, name, value, minimum):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{who}: {name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def as_number(value):
    """``value`` as a float, or None if it is not a real number (strings, arrays, None)."""
    value = to_float(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


class MissingKeyWarner:
    """Warns once per training run that the monitored key is absent, naming the keys that exist."""

    def __init__(self, who, monitor, consequence):
        self.who, self.monitor, self.consequence = who, monitor, consequence
        self.warned = False

    def reset(self):
        self.warned = False

    def __call__(self, logs):
        if not self.warned:
            self.warned = True
            warnings.warn(f"{self.who}: {self.consequence} '{self.monitor}', which is not in the logs; "
                          f"available keys are {sorted(logs or {})}", RuntimeWarning, stacklevel=3)
