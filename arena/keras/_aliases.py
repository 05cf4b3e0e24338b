"""Keras 2 module paths for arena modules that need no translation: ``arena.keras.datasets.mnist`` *is*
``arena.datasets.mnist`` (the same module object, registered under the Keras path so that
``from arena.keras.datasets.mnist import load_data`` works too)."""
import sys


def alias(package, **modules):
    """Register each ``name=module`` as the submodule ``package.name`` (and as its attribute)."""
    pkg = sys.modules[package]
    for name, module in modules.items():
        sys.modules[f"{package}.{name}"] = module
        setattr(pkg, name, module)
