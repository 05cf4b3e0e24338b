"""Keras 2's ``keras.datasets``: ``mnist``, ``cifar10``, ``imdb`` and ``reuters``, each with Keras'
``load_data(...)`` (and, for the word sets, ``get_word_index``). Files come from ``ARENA_DATA_DIR`` when
it is set, else from Arena's cache, downloaded and checked once. ``reuters`` is Keras' newswire topics
set (:mod:`arena.datasets.reuters_topics`), not the raw stories of :mod:`arena.datasets.reuters`."""
from arena.datasets import cifar10, imdb, mnist, reuters_topics
from arena.keras._aliases import alias

alias(__name__, mnist=mnist, cifar10=cifar10, imdb=imdb, reuters=reuters_topics)

__all__ = ["mnist", "cifar10", "imdb", "reuters"]
