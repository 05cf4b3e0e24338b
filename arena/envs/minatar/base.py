"""What MinAtar's games share (Young & Tian 2019, arXiv:1903.03176), for their JAX versions.

Every game plays on a 10x10 grid and shows it as 10x10xC booleans, one channel per kind of object.
As in gymnax's MinAtar games the agent gets each game's minimal action set, and with probability
``sticky_action_prob`` (MinAtar's default 0.1) the previous action repeats instead; games longer
than ``max_episode_steps`` are cut there (``truncated``). A game writes ``new_game(key)``,
``play(key, state, action) -> (state, reward, game_over)`` and ``observation(state)``; its state
is a NamedTuple with ``last_action`` and ``steps`` fields.

The rules are MinAtar's, checked against games recorded with the ``minatar`` package (GPL-3, not a
dependency: ``tests/fixtures/minatar``).
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from gymnasium import spaces

from arena import checks
from arena.envs.jax_env import MAX_EPISODE_STEPS, JaxEnv

SIZE = 10


class MinAtarParams(NamedTuple):
    sticky_action_prob: float = 0.1
    max_steps: int = 10_000


class MinAtarJax(JaxEnv):
    """A MinAtar game as a gymnax-style environment (``reset``/``step``/spaces; ``step`` auto-resets)."""

    channels: tuple = ()  # the observation's channels, by name
    actions: tuple = ()  # the minimal action set, by name

    def __init__(self, sticky_action_prob: float = 0.1, max_episode_steps: int = 10_000):
        self.default_params = MinAtarParams(
            checks.number(sticky_action_prob, "sticky_action_prob", 0.0, 1.0, max_open=True),
            checks.integer(max_episode_steps, "max_episode_steps", 1, MAX_EPISODE_STEPS))

    @property
    def num_actions(self):
        return len(self.actions)

    @classmethod
    def gymnasium(cls, sticky_action_prob: float = 0.1, max_episode_steps: int = 10_000, render_mode=None):
        """The game as a Gymnasium environment (what its registered id makes)."""
        from arena.envs.jax_gym import GymnasiumFromJax
        return GymnasiumFromJax(cls(sticky_action_prob, max_episode_steps), render_mode)

    def observation_space(self, params=None) -> spaces.Box:
        return spaces.Box(0, 1, (SIZE, SIZE, len(self.channels)), bool)

    def action_space(self, params=None) -> spaces.Discrete:
        return spaces.Discrete(len(self.actions))

    def reset_env(self, key, params: MinAtarParams):
        state = self.new_game(key)
        return self.observation(state), state

    def step_env(self, key, state, action, params: MinAtarParams):
        key_sticky, key_game = jax.random.split(key)
        action = jnp.asarray(action, jnp.int32)
        action = jnp.where(jax.random.uniform(key_sticky) < params.sticky_action_prob, state.last_action, action)
        state, reward, over = self.play(key_game, state, action)
        state = state._replace(last_action=action, steps=state.steps + 1)
        return self.observation(state), state, jnp.asarray(reward, jnp.float32), over, {}

    def is_truncated(self, state, params: MinAtarParams):
        return state.steps >= params.max_steps

    def new_game(self, key):
        raise NotImplementedError

    def play(self, key, state, action):
        raise NotImplementedError

    def observation(self, state) -> jax.Array:
        raise NotImplementedError

    def render_rgb(self, state, scale: int = 24) -> np.ndarray:
        """The grid as an RGB image (``scale`` pixels per cell), for watching and recording."""
        return render_grid(np.asarray(self.observation(state)), scale)


_PALETTE = np.array([[80, 160, 255], [255, 255, 255], [110, 110, 110], [230, 90, 60], [250, 200, 60],
                     [120, 220, 120], [200, 120, 230], [60, 200, 200], [240, 140, 180], [160, 160, 60]], np.uint8)


def render_grid(obs: np.ndarray, scale: int = 24) -> np.ndarray:
    """A MinAtar-style boolean grid (H, W, C) as an RGB image, each cell ``scale`` pixels wide; the
    first channels (the player) are painted last, on top."""
    image = np.zeros(obs.shape[:2] + (3,), np.uint8)
    for channel in reversed(range(obs.shape[-1])):
        image[obs[:, :, channel]] = _PALETTE[channel % len(_PALETTE)]
    return np.kron(image, np.ones((scale, scale, 1), np.uint8))


def i32(value):
    return jnp.asarray(value, jnp.int32)
