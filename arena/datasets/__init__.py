"""Keras-shaped data set loaders: ``mnist.load_data()``, ``cifar10.load_data()``, ``imdb.load_data()`` and
``reuters_topics.load_data()`` (Keras' ``reuters``), and the book's
text and sequence sets (``umich_sentiment``, ``alice``, ``text8``, ``treebank``, ``babi``, ``reuters``,
``electricity``, ``air_quality``, ``glove`` vectors), each with ``load_data()`` returning plain Python / numpy data;
``word_tokenize`` is the offline Treebank-style tokenizer the book's text scripts use.

Files come from ``ARENA_DATA_DIR`` when it is set (offline), else from a cache
folder (``ARENA_CACHE_DIR``, default ``~/.arena/datasets``) filled by checked
downloads from each data set's canonical address.
"""
from arena.datasets import cifar10, imdb, mnist, reuters_topics
from arena.datasets import air_quality, alice, babi, electricity, glove, reuters, text8, treebank, umich_sentiment
from arena.datasets.tokenize import word_tokenize

__all__ = ["cifar10", "imdb", "mnist", "reuters_topics"]
__all__ += ["air_quality", "alice", "babi", "electricity", "glove", "reuters", "text8", "treebank", "umich_sentiment",
            "word_tokenize"]
