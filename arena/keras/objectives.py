"""Keras 1's name of ``keras.losses`` (Keras 2 kept it as an alias)."""
from arena.keras.losses import *  # noqa: F403
from arena.keras.losses import __all__  # noqa: F401
