"""``Sequence``: a batch source that knows its length (Keras' ``keras.utils.Sequence``).

Subclass it, implement ``__len__`` (batches per epoch) and ``__getitem__(index)`` (the batch
``index``: ``(x, y)`` or ``(x, y, sample_weight)``; for ``predict``, ``x`` alone), and optionally
``on_epoch_end``. ``Model.fit`` asks for every batch exactly once per epoch (in a shuffled order with
``shuffle=True``) and calls ``on_epoch_end`` after each epoch.
"""


class Sequence:
    """Base class for batch sources with a length (``fit``/``evaluate``/``predict`` take one as ``x``)."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index) returning a batch")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__() returning the number of batches")

    def on_epoch_end(self):
        """Called after each epoch (e.g. to reshuffle the rows between batches)."""

    def __iter__(self):
        """Every batch in order (so a Sequence is also a finite iterable)."""
        for i in range(len(self)):
            yield self[i]
