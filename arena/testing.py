"""A contract test for layers, modelled on Keras' ``run_layer_test``.

:func:`check_layer` builds a layer from its class and constructor arguments and checks that it keeps
the promises every Arena layer makes: symbolic and concrete output shapes agree, eager and jitted
forward passes agree, weights are counted and ordered as in Keras, the configuration survives JSON,
``from_config`` and an HDF5 save/load, one SGD step trains exactly the weights it should, and masks
flow through layers that support them. Use it in the tests of any new layer::

    from arena.testing import check_layer
    check_layer(Dense, {"units": 3}, (2, 4), (2, 3), expected_num_trainable_weights=2)
"""
import json
import os
import tempfile

import jax
import jax.numpy as jnp
import numpy as np

from arena.random import seeded

__all__ = ["check_layer"]

_RTOL, _ATOL = 1e-5, 1e-5


def _declared(layer, prefix=""):
    own = [(prefix + w.name, w) for w in layer._weights if not w.runtime]
    return own + [d for sub in layer._sublayers for d in _declared(sub, f"{prefix}{sub.name}/")]


def _at(tree, name):
    """The value at a weight name (``inner/kernel`` descends into a sublayer's dict)."""
    for part in name.split("/"):
        tree = tree[part]
    return tree


def check_layer(layer_cls, init_kwargs, input_shape, expected_output_shape=None, *, input_dtype="float32",
                call_kwargs=None, expected_num_trainable_weights=None, expected_num_non_trainable_weights=None,
                supports_masking=None, custom_objects=None, run_training_check=True, seed=0):
    """Check the layer contract of ``layer_cls(**init_kwargs)``; raise ``AssertionError`` naming the
    layer class and the check that failed.

    ``input_shape`` has a concrete batch size, e.g. ``(2, 5, 3)``, or is a list of such shapes for a
    merge layer; ``expected_output_shape`` has the batch size too (symbolically it is None).
    ``call_kwargs`` are passed at the layer's call in the graph; ``custom_objects`` maps names to
    Lambda functions and to layer classes that are not registered. ``seed`` fixes the random inputs,
    targets, keys and the layer's initial weights. Checks:

    * shapes: in ``Model(Input(...), layer(x))`` the symbolic output shape equals
      ``compute_output_shape`` and ``expected_output_shape`` (batch None); the forward pass, in
      inference and in training mode, gives arrays of the expected shape, eagerly and under
      ``jax.jit``, with the same values (and the same new state) both ways;
    * weights: the trainable / non-trainable counts (where given); ``weight_names`` lists the
      declared trainable weights then the non-trainable ones, in declaration order, and
      ``get_weights`` returns arrays of the declared shapes in that order;
    * serialization: ``get_config()`` is JSON; the layer rebuilt from the JSON config (by
      ``deserialize_layer``, with ``custom_objects``) has the same config and, given the same
      weights, the same output; ``model.save`` / ``load_model`` give the same outputs and the
      same ``get_weights()`` arrays in the same order;
    * training (``run_training_check``, a layer with trainable weights and a float output): one
      ``train_on_batch`` with SGD(0.1) and mse changes every trainable weight, leaves every
      non-trainable weight that the layer's training-mode ``apply`` does not update unchanged
      (and changes those it updates), keeps constrained weights on their constraint; a copy with
      ``trainable = False`` moves no weight at all;
    * masking: ``layer.supports_masking == supports_masking`` (where given); when True, for a single
      rank-3 input (batch, steps, features) behind ``Masking(0.0)`` whose last step is zeros, an
      output that keeps the steps axis has the input's mask (False on the last step).

    Returns ``{"layer", "model", "inputs", "output"}`` (the layer, its functional model, the random
    inputs and the inference output as numpy) for further checks.
    """
    from arena.nn import optimizers
    from arena.nn.layers.base import apply_layer
    from arena.nn.layers.core import Input, Masking
    from arena.nn.model import Model, deserialize_layer
    from arena.nn.saving import load_model

    name = layer_cls.__name__
    call_kwargs = dict(call_kwargs or {})
    multi = isinstance(input_shape, list)
    shapes = [tuple(int(d) for d in s) for s in (input_shape if multi else [input_shape])]
    batch = shapes[0][0]
    rng = np.random.default_rng(seed)
    key = jax.random.PRNGKey(seed)
    xs = [_random(rng, s, input_dtype) for s in shapes]

    def fail(check, detail=""):
        raise AssertionError(f"{name}: {check}" + (f": {detail}" if detail else ""))

    def same(a, b, check, exact=False):
        if np.shape(a) != np.shape(b):
            fail(check, f"shapes differ: {np.shape(a)} vs {np.shape(b)}")
        if exact:
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=f"{name}: {check}")
        else:
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=_RTOL, atol=_ATOL,
                                       err_msg=f"{name}: {check}")

    def functional(layer, seed_):
        """``Model(inputs, layer(inputs))`` on fresh symbolic inputs; the layer's weights from ``seed_``."""
        inputs = [Input(batch_shape=(None,) + s[1:], dtype=input_dtype) for s in shapes]
        with seeded(seed_):
            y = layer(inputs if multi else inputs[0], **call_kwargs)
        return Model(inputs if multi else inputs[0], y), inputs, y

    def forward(model, training):
        outs, new_state, _ = model.forward(model.params, model.state, xs, training=training, key=key)
        return outs[0], new_state

    # ---- output shape: symbolic, eager, jitted ------------------------------------------------------
    layer = layer_cls(**init_kwargs)
    model, inputs, y = functional(layer, seed)
    if isinstance(y, list):
        fail("output shape", f"check_layer handles single-output layers; got {len(y)} outputs")
    sym_in = [t.shape for t in inputs] if multi else inputs[0].shape
    if tuple(layer.compute_output_shape(sym_in)) != y.shape:
        fail("output shape", f"symbolic output {y.shape} != compute_output_shape({sym_in}) = "
                             f"{layer.compute_output_shape(sym_in)}")
    if expected_output_shape is not None:
        expected_sym = (None,) + tuple(expected_output_shape[1:])
        if y.shape != expected_sym:
            fail("output shape", f"symbolic output {y.shape} != expected {expected_sym}")
    concrete = (batch,) + tuple(y.shape[1:])
    jitted = jax.jit(lambda p, s, a, k, training: model.forward(p, s, a, training=training, key=k)[:2],
                     static_argnames="training")
    output = None
    for training in (False, True):
        mode = "training" if training else "inference"
        eager_out, eager_state = forward(model, training)
        jit_outs, jit_state = jitted(model.params, model.state, xs, key, training=training)
        for what, arr in (("eager", eager_out), ("jitted", jit_outs[0])):
            if tuple(arr.shape) != concrete:
                fail("output shape", f"{what} {mode} forward gives shape {tuple(arr.shape)}; expected {concrete}")
        same(eager_out, jit_outs[0], f"eager vs jitted {mode} forward")
        for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(eager_state), jax.tree_util.tree_leaves(jit_state)):
            same(a, b, f"eager vs jitted {mode} new state {jax.tree_util.keystr(path)}")
        if not training:
            output = np.asarray(eager_out)

    # ---- weights: counts and Keras order -------------------------------------------------------------
    declared = _declared(layer)  # (name as in weight_names, Weight): the layer's own, then its sublayers'
    trainable = [n for n, w in declared if w.trainable]
    non_trainable = [n for n, w in declared if not w.trainable]
    own_trainable = [w.name for w in layer._weights if w.trainable and not w.runtime]
    if list(layer._params) != own_trainable:
        fail("weights", f"params {list(layer._params)} != declared trainable weights {own_trainable}")
    if expected_num_trainable_weights is not None and len(trainable) != expected_num_trainable_weights:
        fail("weight count", f"{len(trainable)} trainable weights {trainable}; expected "
                             f"{expected_num_trainable_weights}")
    if expected_num_non_trainable_weights is not None and len(non_trainable) != expected_num_non_trainable_weights:
        fail("weight count", f"{len(non_trainable)} non-trainable weights {non_trainable}; expected "
                             f"{expected_num_non_trainable_weights}")
    if layer.weight_names != trainable + non_trainable:
        fail("weight order", f"weight_names {layer.weight_names} != trainable then non-trainable "
                             f"{trainable + non_trainable}")
    weights = layer.get_weights()
    got = [tuple(np.shape(w)) for w in weights]
    want = [w.shape for _, w in sorted(declared, key=lambda d: not d[1].trainable)]
    if got != want:
        fail("weights", f"get_weights() shapes {got} != declared shapes {want}")

    # ---- serialization: JSON config, from_config, HDF5 -------------------------------------------------
    config = layer.get_config()
    try:
        text = json.dumps(config)
    except TypeError as e:
        fail("get_config", f"not JSON-serializable: {e}")
    clone = deserialize_layer({"class_name": name, "config": json.loads(text)}, custom_objects)
    if type(clone) is not layer_cls:
        fail("from_config", f"rebuilt a {type(clone).__name__}")
    clone_model, _, _ = functional(clone, seed + 1)
    if json.loads(json.dumps(clone.get_config())) != json.loads(text):
        fail("from_config", f"the rebuilt layer's config differs:\n{clone.get_config()}\n!= {config}")
    if clone.weight_names != layer.weight_names:
        fail("from_config", f"rebuilt weight_names {clone.weight_names} != {layer.weight_names}")
    clone.set_weights(weights)
    same(forward(clone_model, False)[0], output, "from_config output with the same weights")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "layer.h5")
        model.save(path)
        loaded = load_model(path, custom_objects=custom_objects)
    same(forward(loaded, False)[0], output, "HDF5 round trip output")
    before, after = model.get_weights(), loaded.get_weights()
    if len(before) != len(after):
        fail("HDF5 round trip", f"{len(after)} weight arrays after loading; saved {len(before)}")
    for i, (a, b) in enumerate(zip(before, after)):
        same(b, a, f"HDF5 round trip weight {i} ({layer.weight_names[i]})", exact=True)

    # ---- training: one SGD step -------------------------------------------------------------------------
    float_out = np.issubdtype(output.dtype, np.floating)
    if run_training_check and trainable and float_out:
        target = rng.standard_normal(concrete).astype(output.dtype)
        arg = [jnp.asarray(x) for x in xs] if multi else jnp.asarray(xs[0])
        _, trained_state = apply_layer(layer, layer.params, layer.state, arg, training=True, key=key, **call_kwargs)
        updated = {n for n in non_trainable if not np.array_equal(_at(trained_state, n), _at(layer.state, n))}
        model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
        before = layer.get_weights()
        model.train_on_batch(xs if multi else xs[0], target)
        after = layer.get_weights()
        for n, b, a in zip(layer.weight_names, before, after):
            if n in trainable and np.array_equal(a, b):
                fail("training step", f"trainable weight {n!r} did not change")
            if n in updated and np.array_equal(a, b):
                fail("training step", f"non-trainable weight {n!r}, which the layer updates in training, "
                                      f"did not change")
            if n not in trainable and n not in updated:
                same(a, b, f"training step: non-trainable weight {n!r} (not updated by the layer) changed", exact=True)
        for n, w in declared:
            if w.constraint is not None:
                value = after[layer.weight_names.index(n)]
                same(w.constraint(jnp.asarray(value)), value, f"training step: weight {n!r} off its constraint")
        clone.trainable = False
        clone_model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
        before = clone.get_weights()
        clone_model.train_on_batch(xs if multi else xs[0], target)
        for n, b, a in zip(clone.weight_names, before, clone.get_weights()):
            same(a, b, f"training step with trainable=False: weight {n!r} changed", exact=True)

    # ---- masking --------------------------------------------------------------------------------------
    if supports_masking is not None and bool(layer.supports_masking) != bool(supports_masking):
        fail("supports_masking", f"is {layer.supports_masking}; expected {supports_masking}")
    if supports_masking and not multi and len(shapes[0]) == 3:
        inp = Input(batch_shape=(None,) + shapes[0][1:], dtype=input_dtype)
        out = layer(Masking(0.0)(inp), **call_kwargs)
        if len(out.shape) >= 2 and out.shape[1] == shapes[0][1]:
            masked_model = Model(inp, out)
            x = np.array(xs[0])
            x[:, -1, :] = 0
            _, _, _, masks = masked_model.run_graph(masked_model.params, masked_model.state, [x], key=key)
            want_mask = np.any(x != 0, axis=-1)
            if masks[0] is None:
                fail("masking", "the output has no mask behind Masking(0.0)")
            same(masks[0], want_mask, "masking: output mask != input mask", exact=True)

    return {"layer": layer, "model": model, "inputs": xs, "output": output}


def _random(rng, shape, dtype):
    """Random inputs: standard normal floats, small non-negative integers otherwise."""
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.floating):
        return rng.standard_normal(shape).astype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    return rng.integers(0, 8, size=shape).astype(dtype)
