"""arena.checks: the shared argument checks (integer, number, optional_seed)."""
from fractions import Fraction

import numpy as np
import pytest

from arena import checks


def test_integer_accepts_python_and_numpy_ints_and_returns_a_python_int():
    for value in (3, np.int64(3), np.uint8(3), np.int32(3)):
        result = checks.integer(value, "f: n", 1)
        assert result == 3 and type(result) is int


@pytest.mark.parametrize("value", [True, False, np.bool_(True), 2.0, 2.5, "2", None, np.array(2)])
def test_integer_rejects_bools_floats_and_other_types(value):
    with pytest.raises(ValueError, match=r"^f: n must be an integer >= 0; got "):
        checks.integer(value, "f: n", 0)


def test_integer_bounds_and_messages():
    assert checks.integer(0, "f: n", 0) == 0 and checks.integer(5, "f: n", 0, 5) == 5
    with pytest.raises(ValueError, match=r"^fit: steps_per_epoch must be an integer >= 1; got 0$"):
        checks.integer(0, "fit: steps_per_epoch", 1)
    with pytest.raises(ValueError, match=r"^f: n must be an integer >= 1; got -3$"):
        checks.integer(-3, "f: n", 1, 10)  # below the minimum: that bound
    with pytest.raises(ValueError, match=r"^f: n must be an integer in 1\.\.10; got 11$"):
        checks.integer(11, "f: n", 1, 10)  # above the maximum: the range
    with pytest.raises(ValueError, match=r"^f: n must be an integer <= 10; got 11$"):
        checks.integer(11, "f: n", maximum=10)
    assert checks.integer(-(10**30), "f: n") == -(10**30)  # no bounds: any integer
    with pytest.raises(ValueError, match=r"^f: n must be an integer; got 'x'$"):
        checks.integer("x", "f: n")


def test_integer_custom_wording_and_type_error():
    with pytest.raises(ValueError, match=r"^Dense 'd': units must be a positive integer; got 0$"):
        checks.integer(0, "Dense 'd': units", 1, expected="a positive integer")
    with pytest.raises(TypeError, match=r"^DQN: batch_size must be an integer >= 1; got 'a'$"):
        checks.integer("a", "DQN: batch_size", 1, type_error=TypeError)
    with pytest.raises(ValueError, match="DQN: batch_size"):  # out of range stays a ValueError
        checks.integer(0, "DQN: batch_size", 1, type_error=TypeError)


def test_integer_integral_floats_only_when_asked():
    assert checks.integer(1e5, "f: n", 1, integral_floats=True) == 100_000
    assert type(checks.integer(np.float32(3.0), "f: n", integral_floats=True)) is int
    for value in (2.5, float("nan"), float("inf"), True):
        with pytest.raises(TypeError):
            checks.integer(value, "f: n", 1, integral_floats=True, type_error=TypeError)
    with pytest.raises(ValueError, match="in 1..10"):
        checks.integer(1e30, "f: n", 1, 10, integral_floats=True)


def test_number_accepts_reals_and_returns_a_float():
    for value in (1, 0.5, np.float32(0.5), np.int64(1), Fraction(1, 2)):
        result = checks.number(value, "f: x", 0, 1)
        assert result == float(value) and type(result) is float


@pytest.mark.parametrize("value", [True, np.bool_(False), "0.5", None, np.array(0.5), 1j])
def test_number_rejects_bools_and_other_types(value):
    with pytest.raises(ValueError, match=r"^f: x must be a finite number; got "):
        checks.number(value, "f: x")
    with pytest.raises(TypeError, match="f: x"):
        checks.number(value, "f: x", type_error=TypeError)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), np.float64("nan"), 10**400])
def test_number_refuses_nan_and_infinities(value):
    with pytest.raises(ValueError, match=r"^f: x must be a finite number; got "):
        checks.number(value, "f: x")


def test_number_bounds_and_messages():
    assert checks.number(0, "f: x", 0, 1, max_open=True) == 0.0
    with pytest.raises(ValueError, match=r"^fit: validation_split must be a number in \[0, 1\); got 1$"):
        checks.number(1, "fit: validation_split", 0, 1, max_open=True)
    with pytest.raises(ValueError, match=r"^f: tau must be a number in \(0, 1\]; got 0$"):
        checks.number(0, "f: tau", 0, 1, min_open=True)
    assert checks.number(1, "f: tau", 0, 1, min_open=True) == 1.0
    with pytest.raises(ValueError, match=r"^f: x must be a number >= 0 and finite; got -0\.5$"):
        checks.number(-0.5, "f: x", 0)
    with pytest.raises(ValueError, match=r"must be a number > 0 and finite; got inf"):
        checks.number(float("inf"), "f: x", 0, min_open=True)
    with pytest.raises(ValueError, match=r"must be a number < 2\.5 and finite; got 2\.5"):
        checks.number(2.5, "f: x", maximum=2.5, max_open=True)
    with pytest.raises(ValueError, match=r"in \[1e-05, 0\.3\]"):
        checks.number(0.5, "f: x", 1e-5, 0.3)
    with pytest.raises(ValueError, match=r"^f: x must be in \[0, 1\); got 2$"):
        checks.number(2, "f: x", 0, 1, max_open=True, expected="in [0, 1)")


def test_optional_seed():
    assert checks.optional_seed(None, "Dropout 'd': seed") is None
    assert checks.optional_seed(np.int64(7), "Dropout 'd': seed") == 7
    for bad in (-1, True, 1.0, "1"):
        with pytest.raises(ValueError, match=r"^Dropout 'd': seed must be a non-negative integer or None; got "):
            checks.optional_seed(bad, "Dropout 'd': seed")
