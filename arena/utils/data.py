"""Array helpers for preparing data: one-hot labels and train/validation/test splits."""
import math

import numpy as np


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encode integer class labels (Keras semantics).

    ``y`` of shape ``s`` gives shape ``s + (num_classes,)``, except that a trailing
    axis of size 1 is replaced (``(N, 1)`` -> ``(N, num_classes)``). ``num_classes``
    defaults to ``max(y) + 1``. Labels outside ``[0, num_classes)`` raise ValueError.
    """
    y = np.asarray(y)
    if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
        raise ValueError("to_categorical: labels must be whole numbers")
    y = y.astype(np.int64)
    shape = y.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    y = y.reshape(-1)
    if num_classes is None:
        if y.size == 0:
            raise ValueError("to_categorical: num_classes is required for empty labels")
        num_classes = int(y.max()) + 1
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must lie in [0, {num_classes}); "
                         f"got min {y.min()}, max {y.max()}")
    out = np.zeros((y.size, num_classes), dtype=dtype)
    out[np.arange(y.size), y] = 1
    return out.reshape(shape + (num_classes,))


def _rows(a):
    return a.shape[0] if hasattr(a, "shape") else len(a)


def _same_rows(arrays, where):
    counts = {_rows(a) for a in arrays if a is not None}
    if len(counts) > 1:
        raise ValueError(f"{where}: arrays have different numbers of rows: "
                         f"{[_rows(a) if a is not None else None for a in arrays]}")
    if not counts:
        raise ValueError(f"{where}: no arrays given")
    return counts.pop()


def train_validation_split(*arrays, validation_split=0.2):
    """Split off the LAST ``validation_split`` fraction of rows, as ``fit(validation_split=)`` does.

    No shuffling: rows ``[:split_at]`` train and ``[split_at:]`` validate, with
    ``split_at = floor(n * (1 - validation_split))``. Returns ``(train, val)``: two
    arrays for one input, else two tuples in the order given. ``None`` passes
    through as ``None`` (like an absent ``sample_weight``).
    """
    if not 0 < validation_split < 1:
        raise ValueError(f"validation_split must be between 0 and 1; got {validation_split}")
    n = _same_rows(arrays, "train_validation_split")
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"{n} samples are not enough to split into a training and a validation set "
            f"with validation_split={validation_split}: provide more data or another value")
    train = tuple(None if a is None else a[:split_at] for a in arrays)
    val = tuple(None if a is None else a[split_at:] for a in arrays)
    return (train[0], val[0]) if len(arrays) == 1 else (train, val)


def _take(a, idx):
    if hasattr(a, "shape"):
        return a[idx]
    return [a[i] for i in idx]  # lists stay lists, as in sklearn


def train_test_split(*arrays, test_size=0.25, random_state=None, shuffle=True):
    """Random train/test split reproducing ``sklearn.model_selection.train_test_split``.

    ``n_test = ceil(test_size * n)`` for a float ``test_size`` (an int is a row count);
    with ``shuffle`` the rows are ``p = RandomState(random_state).permutation(n)``,
    test ``p[:n_test]`` and train ``p[n_test:]``, so the same seed gives sklearn's
    exact split. Returns ``[a_train, a_test, b_train, b_test, ...]``.
    """
    n = _same_rows(arrays, "train_test_split")
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        if not 0 < test_size < n:
            raise ValueError(f"test_size={test_size} must be in [1, {n - 1}] for {n} samples")
        n_test = int(test_size)
    elif isinstance(test_size, float) and 0 < test_size < 1:
        n_test = math.ceil(test_size * n)
    else:
        raise ValueError(f"test_size must be a float in (0, 1) or a row count; got {test_size!r}")
    n_train = n - n_test
    if n_train == 0:
        raise ValueError(f"test_size={test_size} leaves no training rows out of {n}")
    if shuffle:
        rng = random_state if isinstance(random_state, np.random.RandomState) else \
            np.random.mtrand._rand if random_state is None else np.random.RandomState(random_state)
        perm = rng.permutation(n)
        train_idx, test_idx = perm[n_test:], perm[:n_test]
    else:
        train_idx, test_idx = np.arange(n_train), np.arange(n_train, n)
    out = []
    for a in arrays:
        out += [_take(a, train_idx), _take(a, test_idx)]
    return out
