"""Q-networks for value-based agents, built from Arena layers, and what every user of a Q-network
shares: observation preprocessing, the fit check, the greedy policy and the custom objects that
reload a dueling network."""
import weakref

import jax
import jax.numpy as jnp

from arena.nn import Model
from arena.nn import layers as L
from arena.nn.layers import Dense, Flatten, Input, Lambda


def book_q_network(input_shape=(80, 80, 4), n_actions=3, kernel_initializer="glorot_uniform"):
    """The book's catch network (E8.3): conv 32 8x8/4, conv 64 4x4/2, conv 64 3x3/1 (all 'same', relu),
    dense 512 relu, dense n_actions linear: 3,356,835 parameters for 80x80x4 and 3 actions.
    (The book initialises with N(0, 0.05); pass kernel_initializer='normal' for that.)"""
    x = inp = Input(shape=input_shape)
    x = L.Conv2D(32, 8, strides=4, padding="same", activation="relu", kernel_initializer=kernel_initializer)(x)
    x = L.Conv2D(64, 4, strides=2, padding="same", activation="relu", kernel_initializer=kernel_initializer)(x)
    x = L.Conv2D(64, 3, strides=1, padding="same", activation="relu", kernel_initializer=kernel_initializer)(x)
    x = Flatten()(x)
    x = Dense(512, activation="relu", kernel_initializer=kernel_initializer)(x)
    return Model(inp, Dense(n_actions, kernel_initializer=kernel_initializer)(x), name="book_q_network")


def nature_q_network(input_shape=(84, 84, 4), n_actions=4):
    """The Nature DQN network (Mnih et al. 2015) for 84x84x4 Atari frames: conv 32 8x8/4, conv 64
    4x4/2, conv 64 3x3/1 (all 'valid', relu), dense 512 relu, dense n_actions: 1,686,180 parameters
    for 4 actions."""
    x = inp = Input(shape=input_shape)
    x = L.Conv2D(32, 8, strides=4, activation="relu")(x)
    x = L.Conv2D(64, 4, strides=2, activation="relu")(x)
    x = L.Conv2D(64, 3, strides=1, activation="relu")(x)
    x = Dense(512, activation="relu")(Flatten()(x))
    return Model(inp, Dense(n_actions)(x), name="nature_q_network")


def small_conv_q_network(input_shape, n_actions, filters=16, hidden=128):
    """A small convolutional Q-network for low-resolution frames."""
    x = inp = Input(shape=input_shape)
    x = L.Conv2D(filters, 3, strides=1, padding="same", activation="relu")(x)
    x = L.Conv2D(filters * 2, 3, strides=2, padding="same", activation="relu")(x)
    x = Flatten()(x)
    x = Dense(hidden, activation="relu")(x)
    return Model(inp, Dense(n_actions)(x), name="conv_q_network")


def mlp_q_network(input_dim, n_actions, hidden=(64, 64)):
    """A multilayer perceptron Q-network for vector observations."""
    x = inp = Input(shape=(input_dim,) if isinstance(input_dim, int) else tuple(input_dim))
    if len(inp.shape) > 2:
        x = Flatten()(x)
    for h in hidden:
        x = Dense(h, activation="relu")(x)
    return Model(inp, Dense(n_actions)(x), name="mlp_q_network")


def dueling_combine(streams):
    """Q = V + A - mean(A): the dueling architecture's aggregation (Wang et al. 2016)."""
    value, advantage = streams
    return value + advantage - advantage.mean(axis=-1, keepdims=True)


def add_dueling_head(torso, n_actions):
    """Replace ``torso``'s output with value and advantage streams combined by :func:`dueling_combine`.
    Load such a model with ``custom_objects={'dueling_combine': dueling_combine}``."""
    feats = torso._nodes[-1].inputs[0]  # the features feeding the torso's final Q layer
    value = Dense(1, name=f"{torso.name}_value")(feats)
    advantage = Dense(n_actions, name=f"{torso.name}_advantage")(feats)
    q = Lambda(dueling_combine, output_shape=(n_actions,), name=f"{torso.name}_dueling")([value, advantage])
    return Model(torso.inputs[0], q, name=torso.name + "_dueling")


def default_q_network(observation_space, n_actions):
    """A Q-network that fits the observation space: a small CNN for images, an MLP otherwise."""
    shape = observation_space.shape
    if len(shape) == 3:
        return small_conv_q_network(shape, n_actions)
    return mlp_q_network(shape, n_actions)


def custom_objects():
    """What ``load_model`` needs to rebuild any Q-network made here (the dueling head's function)."""
    return {"dueling_combine": dueling_combine}


def preprocess_observation(obs):
    """uint8 pixels to [0, 1] floats inside the compiled function (replay stores them compactly as uint8)."""
    return obs.astype(jnp.float32) / 255.0 if obs.dtype == jnp.uint8 else obs.astype(jnp.float32)


def q_values(model, params, state, obs, training=False, key=None):
    """``(Q-values of a batch of observations, new layer state, activity penalty)``, pure."""
    outs, new_state, act = model.forward(params, state, [preprocess_observation(obs)], training=training, key=key)
    return outs[0], new_state, act


_policies = weakref.WeakKeyDictionary()


def greedy_policy(model):
    """A jitted ``policy(params, state, obs) -> argmax_a Q(obs, a)`` for a batch of observations;
    one per model, so evaluating after every epoch compiles it once."""
    if model not in _policies:
        _policies[model] = jax.jit(lambda params, state, obs: q_values(model, params, state, obs)[0].argmax(-1))
    return _policies[model]


def check_q_network(model, observation_space, n_actions, env_id="env"):
    """Clear errors when a Q-network does not fit the environment."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(f"A Q-network needs one input and one output; model '{model.name}' has "
                         f"{len(model.inputs)} and {len(model.outputs)}")
    expected = tuple(observation_space.shape)
    got = tuple(model.inputs[0].shape[1:])
    if got != expected:
        raise ValueError(f"Model '{model.name}' takes inputs of shape {got}, but {env_id!r} gives observations "
                         f"of shape {expected}: choose the env options (e.g. obs_type, frame_size, frame_stack) "
                         f"the model was trained with")
    out = model.outputs[0].shape
    if len(out) != 2 or out[-1] != n_actions:
        raise ValueError(f"Model '{model.name}' outputs shape {out}, but {env_id!r} has {n_actions} actions: "
                         f"a Q-network outputs (None, {n_actions})")
