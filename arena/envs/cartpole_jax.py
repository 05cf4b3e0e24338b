"""Gymnasium's CartPole-v1 written in JAX, behind gymnax's interface (as :class:`arena.envs.CatchJax`).

The physics, constants, starts and end conditions are Gymnasium's ``CartPoleEnv`` (Euler
integration, +1 per step including the last, 500 steps at most), computed in float32 where
Gymnasium uses float64: a test drives both from the same state with the same actions and compares
every observation. A fall ends a game (``terminated``); the 500-step limit cuts it (``truncated``).

Why not gymnax itself: gymnax 1.0.1 pins ``gymnasium<1.4`` (Arena uses 1.4), and importing it loads
flax (with orbax-checkpoint and tensorstore), seaborn (with pandas), matplotlib and six, for a
20-line step function.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from gymnasium import spaces

from arena import checks
from arena.envs.jax_env import MAX_EPISODE_STEPS, JaxEnv

GRAVITY, MASS_CART, MASS_POLE, HALF_LENGTH, FORCE, TAU = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
TOTAL_MASS = MASS_CART + MASS_POLE
POLE_MASS_LENGTH = MASS_POLE * HALF_LENGTH
THETA_LIMIT = 12 * 2 * math.pi / 360
X_LIMIT = 2.4


class CartPoleParams(NamedTuple):
    max_steps: int = 500


class CartPoleState(NamedTuple):
    x: jax.Array
    x_dot: jax.Array
    theta: jax.Array
    theta_dot: jax.Array
    steps: jax.Array


class CartPoleJax(JaxEnv):
    """CartPole-v1 as a gymnax-style environment: ``reset(key, params)``, ``step(key, state, action,
    params)`` (which starts a new game when one ends), ``reset_env``/``step_env`` without that."""

    name = "CartPole-v1-jax"
    num_actions = 2

    def __init__(self, max_episode_steps: int = 500):
        self.default_params = CartPoleParams(checks.integer(max_episode_steps, "max_episode_steps", 1,
                                                            MAX_EPISODE_STEPS))

    def observation_space(self, params: CartPoleParams | None = None) -> spaces.Box:
        high = np.array([X_LIMIT * 2, np.finfo(np.float32).max, THETA_LIMIT * 2, np.finfo(np.float32).max],
                        np.float32)
        return spaces.Box(-high, high, dtype=np.float32)

    def action_space(self, params: CartPoleParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(2)

    def reset_env(self, key, params: CartPoleParams):
        x, x_dot, theta, theta_dot = jax.random.uniform(key, (4,), jnp.float32, -0.05, 0.05)
        return self.start(x, x_dot, theta, theta_dot)

    def start(self, x, x_dot, theta, theta_dot):
        """A game from the given state (Gymnasium's ``env.unwrapped.state = ...``)."""
        state = CartPoleState(*(jnp.asarray(v, jnp.float32) for v in (x, x_dot, theta, theta_dot)), jnp.int32(0))
        return self.observation(state), state

    def step_env(self, key, state: CartPoleState, action, params: CartPoleParams):
        force = jnp.where(jnp.asarray(action) == 1, FORCE, -FORCE)
        cos, sin = jnp.cos(state.theta), jnp.sin(state.theta)
        temp = (force + POLE_MASS_LENGTH * state.theta_dot ** 2 * sin) / TOTAL_MASS
        theta_acc = (GRAVITY * sin - cos * temp) / (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * cos ** 2 / TOTAL_MASS))
        x_acc = temp - POLE_MASS_LENGTH * theta_acc * cos / TOTAL_MASS
        state = CartPoleState(state.x + TAU * state.x_dot, state.x_dot + TAU * x_acc,
                              state.theta + TAU * state.theta_dot, state.theta_dot + TAU * theta_acc, state.steps + 1)
        fell = (jnp.abs(state.x) > X_LIMIT) | (jnp.abs(state.theta) > THETA_LIMIT)
        return self.observation(state), state, jnp.float32(1.0), fell, {}

    def is_truncated(self, state: CartPoleState, params: CartPoleParams):
        return state.steps >= params.max_steps

    def observation(self, state: CartPoleState):
        return jnp.stack([state.x, state.x_dot, state.theta, state.theta_dot]).astype(jnp.float32)
