"""Shared pytest setup."""
import os

# Headless pygame for every test: no window, no audio device (no ALSA noise).
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

# Tests never download: the data set loaders read the offline copies in the shared data folder.
os.environ.setdefault(
    "ARENA_DATA_DIR", os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../shared/data")))

import pytest  # noqa: E402


@pytest.fixture
def fresh_session():
    """Keras-style layer names restart at _1 and the key sequence at seed 0."""
    import arena
    from arena.nn.layers.base import clear_session
    clear_session()
    arena.set_seed(0)
    yield
