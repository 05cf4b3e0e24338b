"""MinAtar's Breakout in JAX (``arena/MinAtar-Breakout-v0``; gymnax's ``Breakout-MinAtar``).

The paddle moves along the bottom row, the ball travels along diagonals, three rows of bricks wait
at the top: +1 per brick broken, a new wall once all are gone, and the game ends when the ball
reaches the bottom row beside the paddle. The ball bounces off the paddle to the left or the right
depending on the side it hits. Channels: paddle, ball, trail (the ball's previous cell, which gives
its direction), brick. Actions: stay, left, right.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from arena.envs.minatar.base import SIZE, MinAtarJax, i32

PADDLE, BALL, TRAIL, BRICK = range(4)
# moves per direction 0..3 (up-left, up-right, down-right, down-left), and the direction after each bounce
DX = jnp.array([-1, 1, 1, -1], jnp.int32)
DY = jnp.array([-1, -1, 1, 1], jnp.int32)
FLIP_X = jnp.array([1, 0, 3, 2], jnp.int32)  # off a side wall
FLIP_Y = jnp.array([3, 2, 1, 0], jnp.int32)  # off the ceiling, a brick or the paddle's near side
CROSS = jnp.array([2, 3, 0, 1], jnp.int32)  # off the paddle's far side: straight back the way it came


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


class BreakoutJax(MinAtarJax):
    """MinAtar Breakout; ``start(from_right)`` a game from either of its two starts."""

    name = "MinAtar-Breakout-jax"
    channels = ("paddle", "ball", "trail", "brick")
    actions = ("stay", "left", "right")

    def new_game(self, key):
        return self.start(jax.random.bernoulli(key))[1]

    def start(self, from_right):
        """A new game, the ball starting at the top-left corner of the open area heading down-right, or
        (``from_right``) at the top-right heading down-left: MinAtar's two starts. Returns (obs, state)."""
        from_right = jnp.asarray(from_right, bool)
        x = jnp.where(from_right, SIZE - 1, 0).astype(jnp.int32)
        state = BreakoutState(x, i32(3), jnp.where(from_right, 3, 2).astype(jnp.int32), i32(4), _wall(),
                              jnp.asarray(False), x, i32(3), i32(0), i32(0))
        return self.observation(state), state

    def play(self, key, state: BreakoutState, action):
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
        lost = bottom & ~near & ~far

        bricks = state.bricks.at[y, x].set(state.bricks[y, x] & ~breaks)
        bricks = jnp.where(bottom & ~bricks.any(), _wall(), bricks)  # a cleared wall is rebuilt
        d = jnp.where(ceiling | breaks | near, FLIP_Y[d], jnp.where(far, CROSS[d], d))
        y = jnp.where(breaks | near | far, state.ball_y, y)
        state = state._replace(ball_x=x, ball_y=y, ball_dir=d, paddle_x=paddle, bricks=bricks, strike=brick,
                               last_x=state.ball_x, last_y=state.ball_y)
        return state, breaks, lost

    def observation(self, state: BreakoutState) -> jax.Array:
        obs = jnp.zeros((SIZE, SIZE, 4), bool)
        obs = obs.at[SIZE - 1, state.paddle_x, PADDLE].set(True)
        obs = obs.at[state.ball_y, state.ball_x, BALL].set(True)
        obs = obs.at[state.last_y, state.last_x, TRAIL].set(True)
        return obs.at[:, :, BRICK].set(state.bricks)
