"""Explicit, reproducible randomness.

Every random draw in Arena takes a JAX key. Objects that need a key and were not
given one (a layer initialising its weights, ``fit`` shuffling its rows) draw it
from one process-wide sequence seeded by :func:`set_seed` (seed 0 by default), so
the same program with the same seed gives the same result.
"""
import jax
import numpy as np

_seed = 0
_counter = 0


def set_seed(seed: int) -> None:
    """Restart the key sequence at ``seed`` (also seeds numpy's global RNG, as Keras users expect)."""
    global _seed, _counter
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"set_seed: seed must be a non-negative integer; got {seed!r}")
    _seed, _counter = int(seed), 0
    np.random.seed(int(seed) % (2**32))


def next_key() -> jax.Array:
    """The next key of the process-wide sequence."""
    global _counter
    _counter += 1
    return jax.random.fold_in(jax.random.PRNGKey(_seed), _counter)


class seeded:
    """``with seeded(s): ...`` draws keys from a sequence seeded by ``s``, then restores the
    process-wide sequence (an agent builds its network reproducibly from its own seed)."""

    def __init__(self, seed):
        self.seed = int(seed)

    def __enter__(self):
        global _seed, _counter
        self._saved = (_seed, _counter)
        _seed, _counter = self.seed, 0
        return self

    def __exit__(self, *exc):
        global _seed, _counter
        _seed, _counter = self._saved
        return False
