"""MinAtar's Breakout (Young & Tian 2019, arXiv:1903.03176) written in JAX, behind gymnax's interface.

A 10x10 grid: the paddle moves along the bottom row, the ball travels along diagonals, three rows
of bricks wait at the top; +1 per brick broken, a new wall of bricks once all are gone, and the game
ends when the ball reaches the bottom row beside the paddle. The ball bounces off the paddle to
the left or the right depending on the side it hits. Observations are MinAtar's 10x10x4 booleans:
paddle, ball, trail (the ball's previous cell, which gives its direction) and bricks.

The rules are MinAtar's (a test replays games recorded with the ``minatar`` package, frame for frame;
that package is GPL and is not a dependency). As gymnax's ``Breakout-MinAtar`` the agent gets the
minimal action set (0 stay, 1 left, 2 right), and with probability ``sticky_action_prob`` (MinAtar's
default 0.1) the previous action repeats. Games longer than ``max_episode_steps`` are cut there.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from gymnasium import spaces

from arena.envs.jax_env import JaxEnv

SIZE = 10
PADDLE, BALL, TRAIL, BRICK = range(4)
# moves per direction 0..3 (up-left, up-right, down-right, down-left), and the direction after each bounce
DX = jnp.array([-1, 1, 1, -1], jnp.int32)
DY = jnp.array([-1, -1, 1, 1], jnp.int32)
FLIP_X = jnp.array([1, 0, 3, 2], jnp.int32)  # off a side wall
FLIP_Y = jnp.array([3, 2, 1, 0], jnp.int32)  # off the ceiling, a brick or the paddle's near side
CROSS = jnp.array([2, 3, 0, 1], jnp.int32)  # off the paddle's far side: straight back the way it came


class BreakoutParams(NamedTuple):
    sticky_action_prob: float = 0.1
    max_steps: int = 10_000


class BreakoutState(NamedTuple):
    ball_x: jax.Array  # int32 scalars
    ball_y: jax.Array
    ball_dir: jax.Array
    paddle_x: jax.Array
    bricks: jax.Array  # (10, 10) bool
    strike: jax.Array  # the ball broke a brick on the previous step (it cannot break two in a row)
    last_x: jax.Array
    last_y: jax.Array
    last_action: jax.Array
    steps: jax.Array


def _wall():
    return jnp.zeros((SIZE, SIZE), bool).at[1:4, :].set(True)


class BreakoutJax(JaxEnv):
    """MinAtar Breakout as a gymnax-style environment (``reset``/``step``/spaces; ``step`` auto-resets)."""

    name = "MinAtar-Breakout-jax"
    num_actions = 3

    def __init__(self, sticky_action_prob: float = 0.1, max_episode_steps: int = 10_000):
        if not 0.0 <= float(sticky_action_prob) < 1.0:
            raise ValueError(f"sticky_action_prob must be in [0, 1); got {sticky_action_prob!r}")
        if isinstance(max_episode_steps, bool) or not 1 <= int(max_episode_steps) <= 10**7:
            raise ValueError(f"max_episode_steps must be an int in 1..10**7; got {max_episode_steps!r}")
        self.default_params = BreakoutParams(float(sticky_action_prob), int(max_episode_steps))

    def observation_space(self, params=None) -> spaces.Box:
        return spaces.Box(0, 1, (SIZE, SIZE, 4), bool)

    def action_space(self, params=None) -> spaces.Discrete:
        return spaces.Discrete(3)

    def reset_env(self, key, params: BreakoutParams):
        return self.start(jax.random.bernoulli(key))

    def start(self, from_right):
        """A new game, the ball starting at the top-left corner of the open area heading down-right, or
        (``from_right``) at the top-right heading down-left: MinAtar's two starts."""
        from_right = jnp.asarray(from_right, bool)
        x = jnp.where(from_right, SIZE - 1, 0).astype(jnp.int32)
        i = lambda v: jnp.asarray(v, jnp.int32)  # noqa: E731
        state = BreakoutState(x, i(3), jnp.where(from_right, 3, 2).astype(jnp.int32), i(4), _wall(),
                              jnp.asarray(False), x, i(3), i(0), i(0))
        return self.observation(state), state

    def step_env(self, key, state: BreakoutState, action, params: BreakoutParams):
        action = jnp.asarray(action, jnp.int32)
        action = jnp.where(jax.random.uniform(key) < params.sticky_action_prob, state.last_action, action)
        paddle = jnp.clip(state.paddle_x + jnp.where(action == 1, -1, jnp.where(action == 2, 1, 0)), 0, SIZE - 1)

        d = state.ball_dir
        x, y = state.ball_x + DX[d], state.ball_y + DY[d]
        off_side = (x < 0) | (x > SIZE - 1)
        x = jnp.clip(x, 0, SIZE - 1)
        d = jnp.where(off_side, FLIP_X[d], d)

        ceiling = y < 0
        y = jnp.maximum(y, 0)
        brick = ~ceiling & state.bricks[y, x]
        breaks = brick & ~state.strike
        bottom = ~ceiling & ~brick & (y == SIZE - 1)
        near = bottom & (state.ball_x == paddle)  # the paddle is under the ball's column: straight back up
        far = bottom & ~near & (x == paddle)  # the ball lands on the paddle's side: back the way it came
        done_ball = bottom & ~near & ~far

        bricks = state.bricks.at[y, x].set(state.bricks[y, x] & ~breaks)
        bricks = jnp.where(bottom & ~bricks.any(), _wall(), bricks)  # a cleared wall is rebuilt
        d = jnp.where(ceiling | breaks | near, FLIP_Y[d], jnp.where(far, CROSS[d], d))
        y = jnp.where(breaks | near | far, state.ball_y, y)

        steps = state.steps + 1
        state = BreakoutState(x, y, d, paddle, bricks, brick, state.ball_x, state.ball_y, action, steps)
        truncated = ~done_ball & (steps >= params.max_steps)
        info = {"lost_ball": done_ball, "truncated": truncated}
        return self.observation(state), state, breaks.astype(jnp.float32), done_ball | truncated, info

    def observation(self, state: BreakoutState) -> jax.Array:
        obs = jnp.zeros((SIZE, SIZE, 4), bool)
        obs = obs.at[SIZE - 1, state.paddle_x, PADDLE].set(True)
        obs = obs.at[state.ball_y, state.ball_x, BALL].set(True)
        obs = obs.at[state.last_y, state.last_x, TRAIL].set(True)
        return obs.at[:, :, BRICK].set(state.bricks)

    def render_rgb(self, state: BreakoutState, scale: int = 24) -> np.ndarray:
        """The grid as an RGB image (``scale`` pixels per cell), for watching and recording."""
        return render_grid(np.asarray(self.observation(state)), scale)


def breakout_gymnasium(sticky_action_prob: float = 0.1, max_episode_steps: int = 10_000, render_mode=None):
    """MinAtar Breakout as a Gymnasium environment (``gym.make('arena/MinAtar-Breakout-v0')``)."""
    from arena.envs.jax_gym import GymnasiumFromJax
    return GymnasiumFromJax(BreakoutJax(sticky_action_prob, max_episode_steps), render_mode)


# one colour per channel (paddle, ball, trail, brick), painted in that order so the ball shows over its trail
_COLOURS = np.array([[80, 160, 255], [255, 255, 255], [110, 110, 110], [230, 90, 60]], np.uint8)


def render_grid(obs: np.ndarray, scale: int = 24) -> np.ndarray:
    """A MinAtar-style boolean grid (H, W, C) as an RGB image, each cell ``scale`` pixels wide."""
    image = np.zeros(obs.shape[:2] + (3,), np.uint8)
    for channel in (BRICK, TRAIL, PADDLE, BALL):
        image[obs[:, :, channel]] = _COLOURS[channel]
    return np.kron(image, np.ones((scale, scale, 1), np.uint8))
