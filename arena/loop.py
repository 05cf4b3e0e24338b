"""The one training loop, shared by ``Model.fit``, custom training steps and agent training.

The loop knows three things: an *owner* (the object callbacks see as ``self.model``: a Model or an
agent; it has ``stop_training`` and ``history``), a *task* that turns an epoch into batches and runs
the compiled step on each, and the callbacks. It never knows whether batches are MNIST slices or
samples from a replay buffer fed by an environment.
"""
from typing import Any, Iterable, Protocol, runtime_checkable

from arena import distribution
from arena.callbacks.base import CallbackList, History
from arena.callbacks.progress import ProgbarLogger


@runtime_checkable
class Task(Protocol):
    """What :func:`run` needs from a source of training work (``Model.fit``'s and DQN's tasks are two).

    Required:
        ``steps_per_epoch``     int or None (progress bars use it)
        ``batches(epoch)``      iterable of batches for one epoch
        ``train_step(batch)``   runs the jit-compiled step on a batch, returns the batch logs
        ``end_epoch(epoch)``    returns the epoch's logs (validation, RL statistics, ...)
    Optional:
        ``steps_in(batch)``     how many optimizer steps one batch ran (default 1)
        ``publish()``           write the live weights (held by the compiled train state during a
                                run) where callbacks read them: the owner's layers
        ``refresh()``           read them back, so weights a callback set are trained on
        ``bind_callbacks(cbs)`` receives the run's CallbackList before the first epoch (``fit``'s
                                validation fires the ``on_test_*`` hooks through it, as Keras)
    ``publish``/``refresh`` run around the hooks of callbacks whose ``reads_weights`` is True.
    """
    steps_per_epoch: Any

    def batches(self, epoch: int) -> Iterable: ...
    def train_step(self, batch) -> dict: ...
    def end_epoch(self, epoch: int) -> dict: ...


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
    publish, refresh = getattr(task, "publish", None), getattr(task, "refresh", None)
    callback_list = CallbackList(cbs, owner, run_params, sync=(publish, refresh) if publish and refresh else None)
    owner.stop_training = False
    owner.history = history
    if hasattr(task, "bind_callbacks"):
        task.bind_callbacks(callback_list)
    callback_list.on_train_begin()
    logs = {}
    steps_in = getattr(task, "steps_in", lambda batch: 1)
    for epoch in range(initial_epoch, epochs):
        callback_list.on_epoch_begin(epoch)
        step = 0
        for batch in task.batches(epoch):
            callback_list.on_train_batch_begin(step)
            batch_logs = distribution.settle(task.train_step(batch))
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
