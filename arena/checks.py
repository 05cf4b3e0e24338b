"""Argument checks shared by the whole package: "an integer in a range", "a finite number in a range".

Each check returns the value as a plain Python ``int`` or ``float`` (numpy scalars are accepted),
rejects ``bool`` (``True`` is an ``int`` to Python, never a count or a rate to a user), and raises
an error whose message starts with ``what``, the full name of the argument as the user should read
it: ``"fit: steps_per_epoch"``, ``"Dense 'dense_1': units"``, ``"DQN: batch_size"``. Messages read
``"<what> must be <expected>; got <value!r>"``, where ``expected`` is written from the bounds
(``"an integer >= 1"``, ``"a number in [0, 1)"``) unless the caller gives its own wording.

A value of the wrong type raises ``type_error`` (ValueError unless the caller asks for TypeError),
a value out of range always raises ValueError.

This module imports nothing from the rest of arena, so any module may use it.
"""
import math
import numbers

__all__ = ["integer", "number", "optional_seed"]


def integer(value, what, minimum=None, maximum=None, *, integral_floats=False, type_error=ValueError,
            expected=None):
    """``value`` as an ``int`` in ``minimum..maximum`` (both inclusive; None: unbounded on that side).

    ``integral_floats``: accept floats with an integral value (``1e5``, ``np.float32(3.0)``), as a
    config file or a command line may give them. ``expected``: the message's wording of what is
    required (``"a positive integer"``) instead of the one written from the bounds, which names the
    bound that was broken: ``"an integer >= 1"``, or ``"an integer in 1..1024"`` above the maximum."""
    if integral_floats and isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) \
            and math.isfinite(value) and float(value).is_integer():
        value = int(value)
    good_type = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    low = good_type and minimum is not None and value < minimum
    high = good_type and maximum is not None and value > maximum
    if good_type and not low and not high:
        return int(value)
    if expected is None:
        if high:
            expected = f"an integer <= {maximum}" if minimum is None else f"an integer in {minimum}..{maximum}"
        elif minimum is not None:
            expected = f"an integer >= {minimum}"
        else:
            expected = "an integer" if maximum is None else f"an integer <= {maximum}"
    raise (ValueError if good_type else type_error)(f"{what} must be {expected}; got {value!r}")


def number(value, what, minimum=None, maximum=None, *, min_open=False, max_open=False, type_error=ValueError,
           expected=None):
    """``value`` as a finite ``float`` between ``minimum`` and ``maximum`` (None: unbounded on that side;
    each bound is inclusive unless ``min_open`` / ``max_open``). NaN and infinities are always refused.

    ``expected``: the message's wording of what is required instead of the one written from the
    bounds (``"a number in [0, 1)"``, ``"a number > 0 and finite"``, ``"a finite number"``)."""
    good_type = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if good_type:
        try:
            v = float(value)
        except OverflowError:  # an int beyond float range
            v = math.inf
        if math.isfinite(v) and not (minimum is not None and (v < minimum or min_open and v == minimum)) and \
                not (maximum is not None and (v > maximum or max_open and v == maximum)):
            return v
    if expected is None:
        if minimum is not None and maximum is not None:
            left, right = "(" if min_open else "[", ")" if max_open else "]"
            expected = f"a number in {left}{_g(minimum)}, {_g(maximum)}{right}"
        elif minimum is not None:
            expected = f"a number {'>' if min_open else '>='} {_g(minimum)} and finite"
        elif maximum is not None:
            expected = f"a number {'<' if max_open else '<='} {_g(maximum)} and finite"
        else:
            expected = "a finite number"
    raise (ValueError if good_type else type_error)(f"{what} must be {expected}; got {value!r}")


def optional_seed(value, what):
    """None, or a seed: an ``int`` >= 0 (``"<what> must be a non-negative integer or None"``)."""
    return None if value is None else integer(value, what, 0, expected="a non-negative integer or None")


def _g(bound):
    """A bound as the message shows it: ``0`` and ``1``, not ``0.0`` and ``1.0``; ``1e-05``."""
    return f"{bound:g}" if float(bound) == float(f"{bound:g}") else repr(bound)
