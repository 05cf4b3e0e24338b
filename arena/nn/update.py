"""The one update function: a gradient step of a model's weights under its training rules.

``make_update(model, tx)`` is used by every learner that trains Arena layers: ``Model.train_step``
(fit, train_on_batch), DQN's TD update and custom steps such as a GAN's. It owns what makes a step
of a Keras model right, so no learner repeats it:

* frozen layers (``trainable=False``, also inside nested models) get no gradient and no update;
* weight penalties (the regularizers declared with the weights) are added to the loss;
* constraints project the trained weights after each step (frozen ones are left alone);
* layer state (batch-norm statistics, RNN carries) returned by the loss is threaded through.

Activity penalties come from the forward pass (``Model.forward`` returns them): a loss function
adds the ones of the forward passes it differentiates.
"""
from typing import Callable, NamedTuple

import jax
import optax


class Update(NamedTuple):
    """``init(params) -> opt_state``; ``apply(params, layer_state, opt_state, loss_fn) ->
    (params, layer_state, opt_state, loss, aux)`` where ``loss_fn(params, layer_state) ->
    (loss, (new_layer_state, aux))`` and the returned ``loss`` includes the weight penalties."""
    init: Callable
    apply: Callable


def make_update(model, tx):
    """The update of ``model``'s weights (a Model, or any layer) by the optax transformation ``tx``,
    with the trainable mask, penalties and constraints as they are now (as Keras fixes them at
    ``compile``)."""
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

    def apply(params, layer_state, opt_state, loss_fn):
        (loss, (new_state, aux)), grads = jax.value_and_grad(objective, has_aux=True)(
            params, layer_state, loss_fn)
        updates, opt_state = tx.update(grads, opt_state, params)
        new_params = optax.apply_updates(params, updates)
        if constrained:
            new_params = model.apply_constraints(new_params)
            if not all_trainable:  # Keras constrains only the weights it trains
                new_params = jax.tree_util.tree_map(lambda new, old, m: new if m else old,
                                                    new_params, params, mask)
        return new_params, new_state, opt_state, loss, aux

    return Update(tx.init, apply)
