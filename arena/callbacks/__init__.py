"""Callbacks for the one training loop (Model.fit and agent training)."""
from arena.callbacks.base import Callback, CallbackList, History, LambdaCallback, TerminateOnNaN
from arena.callbacks.progress import ProgbarLogger
