"""arena.nn: layers, models, losses, metrics, optimizers and their learning-rate schedules."""
from arena.nn import (activations, constraints, initializers, losses, metrics, mixed_precision, optimizers, regularizers,
                      schedules)
from arena.nn.layers import *  # noqa: F401,F403
from arena.nn.layers.base import clear_session
from arena.nn.model import Model, Sequential
from arena.nn.gan import GAN
from arena.nn.gradients import input_gradients
from arena.nn.saving import load_model, model_from_json, save_model
from arena.nn.training import TrainState
from arena.nn.update import Update, make_update
