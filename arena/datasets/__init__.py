"""Keras-shaped data set loaders: ``mnist.load_data()``, ``cifar10.load_data()``.

Files come from ``ARENA_DATA_DIR`` when it is set (offline), else from a cache
folder (``ARENA_CACHE_DIR``, default ``~/.arena/datasets``) filled by checked
downloads from each data set's canonical address.
"""
from arena.datasets import cifar10, mnist

__all__ = ["cifar10", "mnist"]
