"""Arena: a Keras-like deep learning and game-playing toolkit on JAX + optax."""
from arena.random import set_seed

__version__ = "0.1.0"
__all__ = ["set_seed", "__version__"]
