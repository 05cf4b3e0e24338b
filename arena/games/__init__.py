"""Human-playable games (``arena play <name>``). Each module exposes ``play(...)`` and ``main(argv)``."""
