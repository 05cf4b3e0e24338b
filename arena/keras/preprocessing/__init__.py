"""Keras 2's ``keras.preprocessing``: the ``text``, ``sequence`` and ``image`` modules (arena.preprocessing's)."""
from arena.keras._aliases import alias
from arena.preprocessing import image, sequence, text

alias(__name__, text=text, sequence=sequence, image=image)

__all__ = ["text", "sequence", "image"]
