"""The one update function: a gradient step of a model's weights under its training rules.

``make_update(model, tx)`` is used by every learner that trains Arena layers: ``Model.train_step``
(fit, train_on_batch), DQN's TD update and custom steps such as a GAN's. It owns what makes a step
of a Keras model right, so no learner repeats it:

* frozen layers (``trainable=False``, also inside nested models) get no gradient and no update;
* weight penalties (the regularizers declared with the weights) are added to the loss;
* constraints project the trained weights after each step (frozen ones are left alone);
* layer state (batch-norm statistics, RNN carries) returned by the loss is threaded through;
* dynamic loss scaling (``loss_scale``: float16 layers), which skips steps with non-finite gradients.

Activity penalties come from the forward pass (``Model.forward`` returns them): a loss function
adds the ones of the forward passes it differentiates.
"""
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax


class Update(NamedTuple):
    """``init(params) -> opt_state``; ``apply(params, layer_state, opt_state, loss_fn) ->
    (params, layer_state, opt_state, loss, aux)`` where ``loss_fn(params, layer_state) ->
    (loss, (new_layer_state, aux))`` and the returned ``loss`` includes the weight penalties."""
    init: Callable
    apply: Callable


class LossScaleState(NamedTuple):
    """Dynamic loss scaling's state, after the optimizer's: the scale and the finite steps in a row."""
    scale: jnp.ndarray
    good_steps: jnp.ndarray


def make_update(model, tx, loss_scale=None):
    """The update of ``model``'s weights (a Model, or any layer) by the optax transformation ``tx``,
    with the trainable mask, penalties and constraints as they are now (as Keras fixes them at
    ``compile``). ``loss_scale=(initial_scale, growth_steps)`` adds dynamic loss scaling (see
    :class:`arena.nn.optimizers.LossScaleOptimizer`); the optimizer state is then
    ``(tx's state, LossScaleState)``."""
    mask = model.trainable_mask()
    all_trainable = all(jax.tree_util.tree_leaves(mask))
    if not all_trainable:
        labels = jax.tree_util.tree_map(lambda m: "train" if m else "frozen", mask)
        tx = optax.multi_transform({"train": tx, "frozen": optax.set_to_zero()}, labels)
    constrained = model.has_constraints

    def objective(params, layer_state, loss_fn):
        if not all_trainable:
            params = jax.tree_util.tree_map(lambda p, m: p if m else jax.lax.stop_gradient(p), params, mask)
        loss, (new_state, aux) = loss_fn(params, layer_state)
        return loss + model.regularization_loss(params), (new_state, aux)

    def step(params, opt_state, grads):
        updates, opt_state = tx.update(grads, opt_state, params)
        new_params = optax.apply_updates(params, updates)
        if constrained:
            new_params = model.apply_constraints(new_params)
            if not all_trainable:  # Keras constrains only the weights it trains
                new_params = jax.tree_util.tree_map(lambda new, old, m: new if m else old,
                                                    new_params, params, mask)
        return new_params, opt_state

    def apply(params, layer_state, opt_state, loss_fn):
        (loss, (new_state, aux)), grads = jax.value_and_grad(objective, has_aux=True)(
            params, layer_state, loss_fn)
        new_params, opt_state = step(params, opt_state, grads)
        return new_params, new_state, opt_state, loss, aux

    if loss_scale is None:
        return Update(tx.init, apply)
    initial_scale, growth_steps = float(loss_scale[0]), int(loss_scale[1])

    def init(params):
        return tx.init(params), LossScaleState(jnp.asarray(initial_scale, jnp.float32), jnp.zeros((), jnp.int32))

    def scaled_objective(params, layer_state, loss_fn, scale):
        loss, aux = objective(params, layer_state, loss_fn)
        return loss.astype(jnp.float32) * scale, (loss, aux)

    def apply_scaled(params, layer_state, opt_state, loss_fn):
        inner, ls = opt_state
        (_, (loss, (new_state, aux))), grads = jax.value_and_grad(scaled_objective, has_aux=True)(
            params, layer_state, loss_fn, ls.scale)
        grads = jax.tree_util.tree_map(lambda g: g / ls.scale.astype(g.dtype), grads)
        finite = jnp.all(jnp.asarray([jnp.all(jnp.isfinite(g)) for g in jax.tree_util.tree_leaves(grads)]))
        new_params, new_inner = step(params, inner, grads)
        # A step with overflowed gradients changes nothing but the scale (halved).
        keep = lambda new, old: jnp.where(finite, new, old)  # noqa: E731
        new_params = jax.tree_util.tree_map(keep, new_params, params)
        new_inner = jax.tree_util.tree_map(keep, new_inner, inner)
        grow = finite & (ls.good_steps + 1 >= growth_steps)
        scale = jnp.where(finite, jnp.where(grow, ls.scale * 2.0, ls.scale), jnp.maximum(ls.scale * 0.5, 1.0))
        good = jnp.where(finite & ~grow, ls.good_steps + 1, 0).astype(jnp.int32)
        return new_params, new_state, (new_inner, LossScaleState(scale, good)), loss, aux

    return Update(init, apply_scaled)
