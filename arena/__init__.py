"""Arena: a Keras-like deep learning and game-playing toolkit on JAX + optax."""
from arena.host_memory import keep_host_memory

KEEPS_HOST_MEMORY = keep_host_memory()  # first, before JAX starts its threads (see arena.host_memory)

from arena.random import set_seed  # noqa: E402

__version__ = "0.1.0"
__all__ = ["set_seed", "__version__"]
