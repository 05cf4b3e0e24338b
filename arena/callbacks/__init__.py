"""Callbacks for the one training loop (Model.fit and agent training)."""
from arena.callbacks.base import Callback, CallbackList, History, LambdaCallback, TerminateOnNaN
from arena.callbacks.progress import ProgbarLogger
from arena.callbacks.checkpoint import ModelCheckpoint
from arena.callbacks.csv_logger import CSVLogger
from arena.callbacks.early_stopping import EarlyStopping
from arena.callbacks.ema import SwapEMAWeights
from arena.callbacks.learning_rate import LearningRateScheduler, ReduceLROnPlateau
from arena.callbacks.samples import SampleGrid, SampleQuality
from arena.callbacks.tensorboard import TensorBoard

__all__ = ["Callback", "CallbackList", "History", "LambdaCallback", "TerminateOnNaN", "ProgbarLogger",
           "ModelCheckpoint", "EarlyStopping", "TensorBoard", "CSVLogger", "LearningRateScheduler",
           "ReduceLROnPlateau", "SampleGrid", "SampleQuality", "SwapEMAWeights"]
