"""The book's catch game written in JAX, for training that stays on the device.

The same rules, spawns, observations and rewards as :class:`arena.envs.catch.CatchEnv` (the numpy
Gymnasium version; a test drives both with the same spawns and actions and compares every frame),
behind gymnax's environment interface: pure functions of an explicit state and a PRNG key, so
``jax.vmap`` runs many games at once and ``jax.lax.scan`` runs whole training chunks compiled.

    env = CatchJax(obs_type="pixels", frame_size=80, frame_stack=4)
    params = env.default_params
    obs, state = env.reset(key, params)
    obs, state, reward, terminated, truncated, info = env.step(key, state, action, params)  # resets itself

``step`` resets a finished game at once (:class:`arena.envs.jax_env.JaxEnv`); ``info`` holds
``ball_x``, ``ball_y``, ``paddle_x`` and ``win`` of the step that ended the old one. ``step_env`` and ``reset_env`` are the raw
transitions without that, and ``start(ball_x, paddle_x)`` a game from given positions.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from gymnasium import spaces

from arena.envs.catch import (BALL, BALL_FALL, BALL_SPAWN_Y, GAME_OVER_Y, LEFT, OBS_TYPES,
                              PADDLE_H, PADDLE_MAX, PADDLE_MOVE, PADDLE_START, PADDLE_W, PADDLE_Y, RIGHT,
                              SCREEN, STEPS_PER_GAME, WALLS, _check_frames, _choice, _spawn_range)
from arena.envs.jax_env import JaxEnv


class CatchParams(NamedTuple):
    """What may vary between games without recompiling: the inclusive ball spawn range and the wall rule."""
    spawn_lo: int = 0
    spawn_hi: int = SCREEN - BALL
    bounce: bool = True  # True: the book env's walls (bounce back 20 px); False: clamp (the human game)


class CatchState(NamedTuple):
    ball_x: jax.Array  # int32 scalars
    ball_y: jax.Array
    paddle_x: jax.Array
    frames: jax.Array  # (frame_size, frame_size, frame_stack) uint8, oldest first; (0, 0, 0) for obs_type="state"
    steps: jax.Array  # agent steps in this game


class CatchJax(JaxEnv):
    """Catch as a gymnax-style environment; the arguments are :class:`CatchEnv`'s (``spawn`` and
    ``walls`` become :attr:`default_params`)."""

    name = "Catch-jax"
    num_actions = 3
    win_reward = 1.0  # the reward of a caught ball (agents count wins by it)
    game_steps = STEPS_PER_GAME  # every game lasts exactly this many steps

    def __init__(self, obs_type: str = "pixels", frame_size: int = 80, frame_stack: int = 4, spawn="arena",
                 walls: str = "bounce"):
        _choice("obs_type", obs_type, OBS_TYPES)
        _choice("walls", walls, WALLS)
        _check_frames(frame_size, frame_stack)
        self.obs_type, self.frame_size, self.frame_stack = obs_type, int(frame_size), int(frame_stack)
        lo, hi = _spawn_range(spawn)
        self.default_params = CatchParams(lo, hi, walls == "bounce")

    @property
    def frame_stacked(self) -> bool:
        """Observations are uint8 frame stacks, oldest first, each game starting with its first frame
        repeated (what a replay buffer may store one frame at a time)."""
        return self.obs_type == "pixels"

    # -- gymnax interface --
    def observation_space(self, params: CatchParams | None = None) -> spaces.Box:
        """CatchEnv's observation space (a Gymnasium space; gymnax returns its own, of the same shape)."""
        if self.obs_type == "pixels":
            return spaces.Box(0, 255, (self.frame_size, self.frame_size, self.frame_stack), np.uint8)
        return spaces.Box(0.0, 1.0, (3,), np.float32)

    def action_space(self, params: CatchParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(3)

    def reset_env(self, key: jax.Array, params: CatchParams):
        return self.start(jax.random.randint(key, (), params.spawn_lo, params.spawn_hi + 1, jnp.int32))

    def start(self, ball_x, paddle_x=PADDLE_START):
        """A new game with the ball at ``ball_x`` and the paddle at ``paddle_x`` (CatchEnv's
        ``reset(options=...)``): ``(obs, state)`` after the book's dummy first "stay" step (ball y 10 -> 20)."""
        ball_x, paddle_x = jnp.asarray(ball_x, jnp.int32), jnp.asarray(paddle_x, jnp.int32)
        ball_y = jnp.int32(BALL_SPAWN_Y + BALL_FALL)
        if self.obs_type == "pixels":
            first = block_frame(ball_x, ball_y, paddle_x, self.frame_size)
            frames = jnp.repeat(first[:, :, None], self.frame_stack, axis=2)  # the first frame fills the stack
        else:
            frames = jnp.zeros((0, 0, 0), jnp.uint8)
        state = CatchState(ball_x, ball_y, paddle_x, frames, jnp.int32(0))
        return self.observation(state), state

    def step_env(self, key: jax.Array, state: CatchState, action, params: CatchParams):
        action = jnp.asarray(action, jnp.int32)
        paddle_x = move_paddle(state.paddle_x, action, params.bounce)
        ball_y = state.ball_y + BALL_FALL
        done = ball_y >= GAME_OVER_Y
        win = done & caught(state.ball_x, ball_y, paddle_x)
        reward = jnp.where(done, jnp.where(win, 1.0, -1.0), 0.0).astype(jnp.float32)
        frames = state.frames
        if self.obs_type == "pixels":
            new = block_frame(state.ball_x, ball_y, paddle_x, self.frame_size)
            frames = jnp.concatenate([frames[:, :, 1:], new[:, :, None]], axis=2)
        state = CatchState(state.ball_x, ball_y, paddle_x, frames, state.steps + 1)
        info = {"ball_x": state.ball_x, "ball_y": ball_y, "paddle_x": paddle_x, "win": win}
        return self.observation(state), state, reward, done, info

    def observation(self, state: CatchState) -> jax.Array:
        if self.obs_type == "pixels":
            return state.frames
        return jnp.stack([state.ball_x, state.ball_y, state.paddle_x]).astype(jnp.float32) / jnp.float32(SCREEN)


# --- rules and drawing, as catch.py's, on traced integers ---------------------------------------------
def move_paddle(paddle_x, action, bounce):
    """Paddle x after ``action`` (0 left, 1 stay, 2 right); ``bounce`` picks the book's wall rule."""
    left = paddle_x - PADDLE_MOVE
    left = jnp.where(left < 0, jnp.where(bounce, PADDLE_MOVE, 0), left)
    right = paddle_x + PADDLE_MOVE
    right = jnp.where(right > PADDLE_MAX, jnp.where(bounce, PADDLE_MAX - PADDLE_MOVE, PADDLE_MAX), right)
    return jnp.where(action == LEFT, left, jnp.where(action == RIGHT, right, paddle_x)).astype(jnp.int32)


def caught(ball_x, ball_y, paddle_x):
    """The ball rect and the paddle rect overlap with positive area."""
    return ((paddle_x - BALL < ball_x) & (ball_x < paddle_x + PADDLE_W)
            & (PADDLE_Y - BALL < ball_y) & (ball_y < PADDLE_Y + PADDLE_H))


def _cover(a0, a1, size):
    """Pixels of the span [a0, a1) (clipped to the screen) inside each of the ``size`` blocks."""
    block = SCREEN // size
    edges = jnp.arange(size + 1, dtype=jnp.int32) * block
    a0, a1 = jnp.clip(a0, 0, SCREEN), jnp.clip(a1, 0, SCREEN)
    return jnp.clip(jnp.minimum(edges[1:], a1) - jnp.maximum(edges[:-1], a0), 0, block)


def block_frame(ball_x, ball_y, paddle_x, frame_size: int = 80):
    """The 0/1 screen area-averaged over (400/frame_size)^2 blocks, x255, rounded half up: uint8 [y, x];
    catch.py's ``block_frame`` as a function of traced positions."""
    def counts(x0, y0, x1, y1):
        return jnp.outer(_cover(y0, y1, frame_size), _cover(x0, x1, frame_size))
    ball = (ball_x, ball_y, ball_x + BALL, ball_y + BALL)
    paddle = (paddle_x, jnp.int32(PADDLE_Y), paddle_x + PADDLE_W, jnp.int32(PADDLE_Y + PADDLE_H))
    both = tuple(f(a, b) for f, a, b in zip((jnp.maximum, jnp.maximum, jnp.minimum, jnp.minimum), ball, paddle))
    covered = counts(*ball) + counts(*paddle) - counts(*both)  # an empty overlap counts 0: clip at 0 above
    area = (SCREEN // frame_size) ** 2
    return ((2 * 255 * covered + area) // (2 * area)).astype(jnp.uint8)
