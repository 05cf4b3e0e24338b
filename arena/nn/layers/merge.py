"""Merge layers: combine a list of tensors (Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, Dot) and their functional helpers (``add([a, b])``, ``concatenate([a, b], axis=-1)``, ...).

A merge layer is called on a list: ``Add()([a, b])``; its ``input_shape`` is a list of shapes.
"""
import functools

import jax
import jax.numpy as jnp

from arena.nn.layers.base import Layer, register


def _fmt(shapes):
    return ", ".join(str(tuple(s)) for s in shapes)


class _Merge(Layer):
    """Element-wise merge of >= 2 inputs. Non-batch axes broadcast as in Keras: equal sizes, or 1;
    an input of lower rank gets size-1 axes inserted right after its batch axis."""

    min_inputs, max_inputs = 2, None
    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        """A step is kept where every input that has a mask keeps it."""
        masks = [m for m in (mask or []) if m is not None]
        return functools.reduce(jnp.logical_and, masks) if masks else None

    def _check_list(self, input_shape):
        cls = type(self).__name__
        if not isinstance(input_shape, list):
            raise ValueError(f"{cls} '{self.name}' must be called on a list of at least {self.min_inputs} "
                             f"inputs, e.g. {cls}()([a, b]); got a single input of shape {input_shape}")
        n = len(input_shape)
        if n < self.min_inputs or (self.max_inputs is not None and n > self.max_inputs):
            want = (f"exactly {self.max_inputs}" if self.max_inputs == self.min_inputs
                    else f"at least {self.min_inputs}")
            raise ValueError(f"{cls} '{self.name}' must be called on a list of {want} inputs; got {n} "
                             f"input(s) of shape(s) {_fmt(input_shape)}")
        batches = {s[0] for s in input_shape if s and s[0] is not None}
        if len(batches) > 1:
            raise ValueError(f"{cls} '{self.name}': inputs have different batch sizes: {_fmt(input_shape)}")

    def _broadcast(self, s1, s2, shapes):
        """Keras' element-wise output shape of two non-batch shapes."""
        if len(s1) < len(s2):
            s1, s2 = s2, s1
        if not s2:
            return tuple(s1)
        out = list(s1[:len(s1) - len(s2)])
        for i, j in zip(s1[len(s1) - len(s2):], s2):
            if i is None or j is None:
                out.append(None)
            elif i == 1 or j == 1:
                out.append(j if i == 1 else i)
            elif i != j:
                raise ValueError(f"{type(self).__name__} '{self.name}': inputs of shapes {_fmt(shapes)} cannot be "
                                 f"combined element-wise: each non-batch axis must have the same size (or 1) "
                                 f"in every input")
            else:
                out.append(i)
        return tuple(out)

    def build(self, input_shape):
        self._check_list(input_shape)
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        out = tuple(input_shape[0][1:])
        for s in input_shape[1:]:
            out = self._broadcast(out, tuple(s[1:]), input_shape)
        batch = next((s[0] for s in input_shape if s[0] is not None), None)
        return (batch,) + out

    def call(self, params, x, training=False, key=None):
        rank = max(a.ndim for a in x)
        xs = [a.reshape(a.shape[:1] + (1,) * (rank - a.ndim) + a.shape[1:]) for a in x]
        return self._merge(xs)

    def _merge(self, xs):
        raise NotImplementedError


@register
class Add(_Merge):
    """Sum of the inputs: ``y = x1 + x2 + ...``; all shapes equal (or broadcastable), output that shape."""

    def _merge(self, xs):
        return functools.reduce(jnp.add, xs)


@register
class Subtract(_Merge):
    """Difference of exactly two inputs: ``y = x1 - x2``; output the common shape."""

    max_inputs = 2

    def _merge(self, xs):
        return xs[0] - xs[1]


@register
class Multiply(_Merge):
    """Element-wise product of the inputs: ``y = x1 * x2 * ...``; output the common shape."""

    def _merge(self, xs):
        return functools.reduce(jnp.multiply, xs)


@register
class Average(_Merge):
    """Element-wise mean of the inputs: ``y = (x1 + ... + xn) / n``; output the common shape."""

    def _merge(self, xs):
        return functools.reduce(jnp.add, xs) / len(xs)


@register
class Maximum(_Merge):
    """Element-wise maximum of the inputs; output the common shape."""

    def _merge(self, xs):
        return functools.reduce(jnp.maximum, xs)


@register
class Minimum(_Merge):
    """Element-wise minimum of the inputs; output the common shape."""

    def _merge(self, xs):
        return functools.reduce(jnp.minimum, xs)


@register
class Concatenate(_Merge):
    """Join the inputs along ``axis`` (default -1): all inputs have the same rank and the same sizes
    on every other axis; the output's ``axis`` size is the sum of theirs."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        ranks = {len(s) for s in input_shape}
        if len(ranks) != 1:
            raise ValueError(f"Concatenate '{self.name}': all inputs must have the same rank; got shapes "
                             f"{_fmt(input_shape)}")
        rank = ranks.pop()
        if not -rank <= self.axis < rank:
            raise ValueError(f"Concatenate '{self.name}': axis {self.axis} is out of range for inputs of rank "
                             f"{rank}: {_fmt(input_shape)}")
        axis = self.axis % rank
        if axis == 0:
            raise ValueError(f"Concatenate '{self.name}': cannot concatenate along the batch axis (axis "
                             f"{self.axis}); inputs {_fmt(input_shape)}")
        out = list(input_shape[0])
        for s in input_shape[1:]:
            for i, (a, b) in enumerate(zip(out, s)):
                if i == axis:
                    continue
                if a is not None and b is not None and a != b:
                    raise ValueError(f"Concatenate '{self.name}' (axis={self.axis}) needs inputs with matching "
                                     f"shapes except on the concatenation axis; got {_fmt(input_shape)} "
                                     f"(axis {i} differs)")
                out[i] = a if a is not None else b
        sizes = [s[axis] for s in input_shape]
        out[axis] = None if any(d is None for d in sizes) else sum(sizes)
        return tuple(out)

    def call(self, params, x, training=False, key=None):
        return jnp.concatenate(x, axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        """As Keras: masks (ones for unmasked inputs) joined along ``axis``, kept where all features are."""
        if mask is None or all(m is None for m in mask):
            return None
        full = [jnp.ones(x.shape, bool) if m is None else (m[..., None] if m.ndim < x.ndim else m)
                for x, m in zip(inputs, mask)]
        return jnp.all(jnp.concatenate([jnp.broadcast_to(m, x.shape) for m, x in zip(full, inputs)],
                                       axis=self.axis), axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@register
class Dot(_Merge):
    """Batch dot product of two inputs over ``axes`` (an int, or one axis per input; axes count the
    batch axis as 0, so ``axes=1`` on (batch, n) inputs is the row-wise dot product).

    ``y[b, ...1, ...2] = sum_k x1[b, ..., k, ...] * x2[b, ..., k, ...]``: the output keeps x1's free
    axes then x2's; a result with no free axes has shape (batch, 1). With ``normalize=True`` both
    inputs are first L2-normalised along their ``axes``, so the result is the cosine similarity.
    """

    min_inputs = max_inputs = 2
    supports_masking = False  # the free axes of a dot product have no steps to mask (as Keras)

    def compute_mask(self, inputs, mask=None):
        return None

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, int):
            self.axes = int(axes)
        else:
            axes = tuple(axes)
            if len(axes) != 2 or not all(isinstance(a, int) for a in axes):
                raise ValueError(f"Dot '{self.name}': axes must be an int or a pair of ints; got {axes!r}")
            self.axes = axes
        self.normalize = bool(normalize)

    def _axes_for(self, r1, r2):
        if isinstance(self.axes, int):
            axes = (self.axes % r1, self.axes % r2) if self.axes < 0 else (self.axes, self.axes)
        else:
            axes = tuple(a % r if a < 0 else a for a, r in zip(self.axes, (r1, r2)))
        return axes

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        s1, s2 = (list(s) for s in input_shape)
        if len(s1) < 2 or len(s2) < 2:
            raise ValueError(f"Dot '{self.name}' needs inputs of rank >= 2 (batch, ...); got {_fmt(input_shape)}")
        a1, a2 = self._axes_for(len(s1), len(s2))
        if not (1 <= a1 < len(s1) and 1 <= a2 < len(s2)):
            raise ValueError(f"Dot '{self.name}': axes {self.axes} are out of range (or the batch axis 0) for "
                             f"inputs {_fmt(input_shape)}")
        if s1[a1] is not None and s2[a2] is not None and s1[a1] != s2[a2]:
            raise ValueError(f"Dot '{self.name}': dimension incompatibility: axis {a1} of {tuple(s1)} has size "
                             f"{s1[a1]} but axis {a2} of {tuple(s2)} has size {s2[a2]}")
        s1.pop(a1)
        s2.pop(a2)
        s2.pop(0)
        out = s1 + s2
        if len(out) == 1:
            out.append(1)
        return tuple(out)

    def call(self, params, x, training=False, key=None):
        x1, x2 = x
        a1, a2 = self._axes_for(x1.ndim, x2.ndim)
        if self.normalize:
            x1 = x1 / jnp.sqrt(jnp.maximum(jnp.sum(jnp.square(x1), axis=a1, keepdims=True), 1e-12))
            x2 = x2 / jnp.sqrt(jnp.maximum(jnp.sum(jnp.square(x2), axis=a2, keepdims=True), 1e-12))
        y = jax.lax.dot_general(x1, x2, (((a1,), (a2,)), ((0,), (0,))))
        return y[:, None] if y.ndim == 1 else y

    def get_config(self):
        axes = list(self.axes) if isinstance(self.axes, tuple) else self.axes
        return {**super().get_config(), "axes": axes, "normalize": self.normalize}


def add(inputs, **kwargs):
    """Functional form of :class:`Add`: ``add([a, b])``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of :class:`Subtract`: ``subtract([a, b])``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of :class:`Multiply`."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of :class:`Average`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of :class:`Maximum`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of :class:`Minimum`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of :class:`Concatenate`: ``concatenate([a, b], axis=-1)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes, normalize=False, **kwargs):
    """Functional form of :class:`Dot`: ``dot([a, b], axes=1)``."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
