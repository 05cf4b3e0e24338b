"""Dtype policies (Keras 3's names): which dtype a layer computes in and which its weights are
stored in. ``mixed_float16`` and ``mixed_bfloat16`` compute in 16 bits with float32 weights, so
updates are not lost to rounding and files keep float32 weights::

    from arena.nn import mixed_precision
    mixed_precision.set_dtype_policy("mixed_bfloat16")   # layers made from now on
    model = Sequential([...,  Dense(10), Activation("softmax", dtype="float32")])

Each layer's inputs and weights are cast to its compute dtype when it runs (``autocast``); losses
and metrics are computed in float32. A model with float16 layers is compiled with a
:class:`~arena.nn.optimizers.LossScaleOptimizer` (dynamic loss scaling), as in Keras.
"""
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["DTypePolicy", "set_dtype_policy", "dtype_policy", "set_global_policy", "global_policy", "Policy"]

_FLOATS = ("float16", "bfloat16", "float32", "float64")


class DTypePolicy:
    """``DTypePolicy("mixed_float16")``: ``compute_dtype`` float16, ``variable_dtype`` float32; a plain
    dtype name (``"float32"``, ``"bfloat16"``, ``"int32"``) is both."""

    def __init__(self, name="float32"):
        if isinstance(name, DTypePolicy):
            name = name.name
        if not isinstance(name, str):
            name = np.dtype(name).name if name is not None else "float32"
        if name.startswith("mixed_"):
            compute = name[len("mixed_"):]
            if compute not in ("float16", "bfloat16"):
                raise ValueError(f"DTypePolicy: unknown mixed policy {name!r}; expected 'mixed_float16' or "
                                 f"'mixed_bfloat16'")
            variable = "float32"
        else:
            try:
                compute = variable = jnp.dtype(name).name
            except TypeError:
                raise ValueError(f"DTypePolicy: {name!r} is neither a dtype nor a policy ('float32', "
                                 f"'mixed_float16', 'mixed_bfloat16')") from None
        self.name, self.compute_dtype, self.variable_dtype = name, compute, variable

    def get_config(self):
        return {"name": self.name}

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return f'<DTypePolicy "{self.name}">'


Policy = DTypePolicy  # Keras 2's name

_global = DTypePolicy("float32")


def set_dtype_policy(policy):
    """The policy of every layer made from now on without a ``dtype`` of its own."""
    global _global
    _global = get(policy)


def dtype_policy():
    """The global policy (``float32`` unless set)."""
    return _global


set_global_policy, global_policy = set_dtype_policy, dtype_policy  # Keras 2 / tf.keras names


def get(value):
    """A :class:`DTypePolicy` from a name, a policy, a saved config (``{"class_name": "DTypePolicy",
    "config": {"name": ...}}``) or None (the global policy)."""
    if value is None:
        return _global
    if isinstance(value, DTypePolicy):
        return value
    if isinstance(value, dict):
        value = (value.get("config") or {}).get("name", value.get("name"))
    return DTypePolicy(value)


def cast_floats(tree, dtype):
    """``tree`` with each floating array in ``dtype`` (integer arrays, token ids, stay as they are)."""
    dtype = jnp.dtype(dtype)

    def cast(a):
        if hasattr(a, "dtype") and jnp.issubdtype(a.dtype, jnp.floating) and a.dtype != dtype:
            return a.astype(dtype)
        return a
    return jax.tree_util.tree_map(cast, tree)


_LOW = (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16))


def autocast(tree, compute_dtype):
    """What a layer computing in ``compute_dtype`` does to its inputs and weights: a 16-bit policy
    casts every floating array to its dtype; a float32 layer casts 16-bit arrays (a mixed layer's
    outputs) up to float32 and leaves float64 alone (as JAX's x64 mode and gradient checks use it)."""
    compute = jnp.dtype(compute_dtype)
    if compute in _LOW:
        return cast_floats(tree, compute)

    def up(a):
        return a.astype(compute) if getattr(a, "dtype", None) in _LOW else a
    return jax.tree_util.tree_map(up, tree)


def needs_loss_scale(layers):
    """Whether any of ``layers`` computes in float16 (whose gradients underflow without scaling)."""
    return any(getattr(l, "compute_dtype", None) == "float16" for l in layers)
