"""Keras 2's ``keras.layers.merge`` (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot and
their functions ``add([a, b])``, ...) and Keras 1's ``Merge``/``merge(mode=...)``, which build the same
Keras 2 layers (see :data:`arena.keras.legacy.MERGE_MODES`)."""
from arena.keras import legacy
from arena.nn.layers import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average,
                             concatenate, dot, maximum, minimum, multiply, subtract)
from arena.nn.layers import Lambda
from arena.nn.layers.base import unique_name
from arena.nn.model import Model

_KERAS2 = {"sum": "add([...]) / Add()", "mul": "multiply([...]) / Multiply()", "ave": "average([...]) / Average()",
           "max": "maximum([...]) / Maximum()", "concat": "concatenate([...], axis=...) / Concatenate(axis=...)",
           "dot": "dot([...], axes=...) / Dot(axes=...)", "cos": "dot([...], axes=..., normalize=True)"}


def _unsupported(where, **given):
    bad = sorted(k for k, v in given.items() if v is not None)
    if bad:
        raise TypeError(f"{where}: {bad} are Keras 1 arguments Arena does not take; Keras 2's merge layers "
                        f"compute masks themselves and take the tensors to merge as a list")


def merge(inputs, mode="sum", concat_axis=-1, dot_axes=-1, output_shape=None, output_mask=None, arguments=None,
          name=None):
    """Keras 1's functional merge of a list of tensors: ``merge([a, b], mode='concat', concat_axis=-1)``.
    A function as ``mode`` becomes a Lambda layer on the list (``output_shape`` as Lambda's)."""
    _unsupported("merge", output_mask=output_mask)
    if callable(mode):
        legacy.warn("merge", "merge(mode=function) is Keras 1; use Lambda(function)([...])")
        return Lambda(mode, output_shape=output_shape, arguments=arguments, name=name)(inputs)
    legacy.warn("merge", f"merge(mode={mode!r}) is Keras 1; use {_KERAS2.get(mode, 'the Keras 2 merge layers')}")
    return legacy.merge_layer(mode, concat_axis, dot_axes, name)(inputs)


def Merge(layers=None, mode="sum", concat_axis=-1, dot_axes=-1, output_shape=None, output_mask=None, arguments=None,
          node_indices=None, tensor_indices=None, name=None):
    """Keras 1's Merge layer. ``Merge(mode='sum')`` is the Keras 2 merge layer for ``mode`` (call it on a list
    of tensors); ``Merge([model_a, model_b], mode=...)``, Keras 1's branches, is one model taking both
    models' inputs and giving the merge of their outputs, which a Sequential may start with."""
    _unsupported("Merge", output_shape=output_shape, output_mask=output_mask, arguments=arguments,
                 node_indices=node_indices, tensor_indices=tensor_indices)
    legacy.warn("Merge", f"Merge(mode={mode!r}) is Keras 1; use {_KERAS2.get(mode, 'the Keras 2 merge layers')}")
    if layers is None:
        return legacy.merge_layer(mode, concat_axis, dot_axes, name)
    return MergedBranches(layers, legacy.merge_layer(mode, concat_axis, dot_axes), name=name)


class MergedBranches(Model):
    """Keras 1's ``Merge([model_a, model_b, ...])``: a model from the branches' inputs to the merge of their
    outputs; ``layers`` are the branches, as Keras 1 listed them. It has no Keras 2 config (Keras 2 has no
    such layer), so a model holding it cannot be saved: write it as a functional Model to save it."""

    def __init__(self, branches, merge_layer, name=None):
        branches = list(branches)
        for b in branches:
            if not isinstance(b, Model) or not b.outputs:
                raise TypeError(f"Merge([...]): each branch must be a built model (e.g. a Sequential whose first layer "
                                f"has input_shape); got {b!r}. To merge tensors, use merge([a, b], mode=...)")
        inputs = [t for b in branches for t in b.inputs]
        super().__init__(inputs, merge_layer([b.output for b in branches]), name=name or unique_name("merge"))
        self.branches = branches

    @property
    def layers(self):
        return list(self.branches)

    def get_config(self):
        raise TypeError(f"'{self.name}' is Keras 1's Merge of models, which has no Keras 2 config, so it cannot be "
                        f"saved. Build the model with the functional API instead, e.g. "
                        f"Model([a.input, b.input], Dense(1)(dot([a.output, b.output], axes=1)))")


__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "add", "subtract",
           "multiply", "average", "maximum", "minimum", "concatenate", "dot", "Merge", "merge"]
