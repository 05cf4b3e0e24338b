"""Shared argument checks and the 'monitored value' logic of the monitoring callbacks."""
import numbers
import warnings

from arena import checks
from arena.callbacks.base import monitor_op, to_float


def make_monitor(who, monitor, mode, min_delta=0.0):
    """``(better_fn, initial_best)`` for ``monitor`` under ``mode``, with errors that name ``who``."""
    if not isinstance(monitor, str) or not monitor:
        raise ValueError(f"{who}: monitor must be the name of a logged quantity such as 'val_loss'; "
                         f"got {monitor!r}")
    min_delta = checks.number(min_delta, f"{who}: min_delta")
    try:
        return monitor_op(mode, monitor, min_delta)
    except ValueError as e:
        raise ValueError(f"{who}: {e}") from None


def check_int(who, name, value, minimum):
    """``value`` as an int >= ``minimum``, or a ValueError naming ``who`` and ``name``."""
    return checks.integer(value, f"{who}: {name}", minimum)


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
