"""The one training loop, shared by ``Model.fit`` and agent training.

The loop knows three things: an *owner* (the object callbacks see as
``self.model``: a Model or an agent; it has a ``stop_training`` flag), a *task*
that turns an epoch into batches and runs the compiled step on each, and the
callbacks. It never knows whether batches are MNIST slices or samples from a
replay buffer fed by an environment.

A task provides:
    ``steps_per_epoch``      int or None (progress bars use it)
    ``batches(epoch)``       iterable of batches for one epoch
    ``train_step(batch)``    runs the jit-compiled step, returns batch logs
    ``end_epoch(epoch)``     returns the epoch's logs (validation, RL statistics, ...)
    ``steps_in(batch)``      optional: how many optimizer steps one batch ran (default 1)
"""
from arena.callbacks.base import CallbackList, History
from arena.callbacks.progress import ProgbarLogger


def run(owner, task, *, epochs, initial_epoch=0, callbacks=None, verbose=1, params=None):
    """Run ``task`` from ``initial_epoch`` to ``epochs`` under ``callbacks``; returns the History."""
    history = History()
    # Keras order: History (and the progress bar) after the user's callbacks, so they record the
    # keys callbacks add to the epoch logs (e.g. ``learning_rate``) and see ``stop_training``.
    cbs = list(callbacks or []) + [history]
    if verbose:
        cbs.append(ProgbarLogger(verbose=verbose))
    run_params = {"epochs": epochs, "steps": task.steps_per_epoch, "verbose": verbose,
                  "initial_epoch": initial_epoch, **(params or {})}
    callback_list = CallbackList(cbs, owner, run_params)
    owner.stop_training = False
    owner.history = history
    callback_list.on_train_begin()
    logs = {}
    steps_in = getattr(task, "steps_in", lambda batch: 1)
    for epoch in range(initial_epoch, epochs):
        callback_list.on_epoch_begin(epoch)
        step = 0
        for batch in task.batches(epoch):
            callback_list.on_train_batch_begin(step)
            batch_logs = task.train_step(batch)
            step += steps_in(batch)
            callback_list.on_train_batch_end(step - 1, batch_logs)
            if owner.stop_training:
                break
        logs = task.end_epoch(epoch)
        callback_list.on_epoch_end(epoch, logs)
        if owner.stop_training:
            break
    callback_list.on_train_end(logs)
    return history
