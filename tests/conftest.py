"""Shared pytest setup."""
import os

# Headless pygame for every test: no window, no audio device (no ALSA noise).
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

# Tests never download: the data set loaders read the offline copies in the shared data folder.
os.environ.setdefault(
    "ARENA_DATA_DIR", os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../shared/data")))

import functools  # noqa: E402
import http.server  # noqa: E402
import threading  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture
def fresh_session():
    """Keras-style layer names restart at _1 and the key sequence at seed 0."""
    import arena
    from arena.nn.layers.base import clear_session
    clear_session()
    arena.set_seed(0)
    yield


# ---- the download code, exercised against a local HTTP server (never the network) ----------------
@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/"www" on 127.0.0.1; yields (root folder, base url, list of requested paths)."""
    root = tmp_path / "www"
    root.mkdir()
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            requests.append(self.path)

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}", requests
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def online(monkeypatch, tmp_path):
    """No offline folder, an empty cache folder: the loaders must download."""
    monkeypatch.delenv("ARENA_DATA_DIR", raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("ARENA_CACHE_DIR", str(cache))
    return cache
