"""Gradients with respect to a model's input: what Keras users built with ``K.gradients`` and
``K.function`` (deep dreaming, style transfer, saliency maps, adversarial examples).

Pick the (intermediate) outputs with a model, as in Keras, and give a function of them::

    features = Model(vgg.input, vgg.get_layer("block5_conv1").output)
    step = input_gradients(features, lambda out: jnp.mean(out[..., 3]))
    value, grad = step(image)          # one compiled call; image += lr * grad ascends

The objective is traced with ``jax.numpy`` and compiled once (with the weights as arguments, so a
model trained or reloaded later is differentiated with its new weights).
"""
import inspect

import jax
import jax.numpy as jnp
import numpy as np

from arena import random

__all__ = ["input_gradients"]


def input_gradients(model, objective, training=False):
    """A compiled ``f(x) -> (value, gradient)``: ``value = objective(outputs)`` (or
    ``objective(outputs, x)`` when it takes two arguments, for penalties on the input itself such as
    total variation), a scalar, and its gradient with respect to the input ``x`` (a list for a model
    with several inputs, as ``x`` is). ``outputs`` is the model's output (a list for several).
    ``training=True`` runs the layers in training mode (dropout, batch statistics)."""
    if not callable(objective):
        raise TypeError(f"input_gradients: objective must be a function of the outputs of model '{model.name}'; "
                        f"got {type(objective).__name__}")
    takes_input = len(inspect.signature(objective).parameters) >= 2
    several_in, several_out = len(model.inputs) > 1, len(model.outputs) > 1

    def value(xs, params, state, key):
        outs, _, _ = model.forward(params, state, xs, training=training, key=key)
        out = outs if several_out else outs[0]
        v = objective(out, xs if several_in else xs[0]) if takes_input else objective(out)
        v = jnp.asarray(v)
        if v.shape != ():
            raise ValueError(f"input_gradients: the objective must return a scalar; it returned shape {v.shape} "
                             f"(reduce it, e.g. with jnp.mean)")
        return v

    compiled = jax.jit(jax.value_and_grad(value))

    def f(x):
        xs = model._standardize(x, model.input_names, [t.shape for t in model.inputs], "input")
        xs = [jnp.asarray(np.asarray(a, np.float32)) if not isinstance(a, jax.Array) else a.astype(jnp.float32)
              for a in xs]
        v, grads = compiled(xs, model.params, model.state, random.next_key())
        return v, (grads if several_in else grads[0])
    return f
