"""Keras 2's ``keras.callbacks`` (arena.callbacks: the one training loop's callbacks)."""
from arena.callbacks import (CSVLogger, Callback, CallbackList, EarlyStopping, History, LambdaCallback,
                             LearningRateScheduler, ModelCheckpoint, ProgbarLogger, ReduceLROnPlateau, TensorBoard,
                             TerminateOnNaN)

__all__ = ["Callback", "CallbackList", "History", "LambdaCallback", "TerminateOnNaN", "ProgbarLogger",
           "ModelCheckpoint", "EarlyStopping", "TensorBoard", "CSVLogger", "LearningRateScheduler",
           "ReduceLROnPlateau"]
