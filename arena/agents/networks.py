"""Q-networks for DQN, built from Arena layers."""
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
