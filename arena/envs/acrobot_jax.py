"""Gymnasium's Acrobot-v1 written in JAX, behind gymnax's interface (as :class:`arena.envs.CartPoleJax`).

Two links hang from a fixed joint; the agent applies a torque of -1, 0 or +1 at the joint between
them, and the game ends (reward 0) when the free end swings above one link's length over the fixed
joint; every other step costs -1; 500 steps at most. The dynamics are Gymnasium's ``AcrobotEnv``
("book" equations, one RK4 step of 0.2 s, angles wrapped to [-pi, pi], speeds clipped), computed in
float32 where Gymnasium uses float64: a test drives both from the same states with the same actions.
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

DT = 0.2
M1 = M2 = 1.0  # link masses
L1 = 1.0  # the first link's length
LC1 = LC2 = 0.5  # centres of mass
MOI = 1.0  # both links' moments of inertia
G = 9.8
MAX_VEL_1, MAX_VEL_2 = 4 * math.pi, 9 * math.pi
TORQUES = jnp.array([-1.0, 0.0, 1.0], jnp.float32)


class AcrobotParams(NamedTuple):
    max_steps: int = 500


class AcrobotState(NamedTuple):
    theta1: jax.Array
    theta2: jax.Array  # relative to the first link
    dtheta1: jax.Array
    dtheta2: jax.Array
    steps: jax.Array


def derivatives(s, torque):
    """d/dt of (theta1, theta2, dtheta1, dtheta2): Sutton and Barto's equations, as Gymnasium's ``_dsdt``."""
    theta1, theta2, dtheta1, dtheta2 = s
    d1 = M1 * LC1**2 + M2 * (L1**2 + LC2**2 + 2 * L1 * LC2 * jnp.cos(theta2)) + 2 * MOI
    d2 = M2 * (LC2**2 + L1 * LC2 * jnp.cos(theta2)) + MOI
    phi2 = M2 * LC2 * G * jnp.cos(theta1 + theta2 - math.pi / 2)
    phi1 = (-M2 * L1 * LC2 * dtheta2**2 * jnp.sin(theta2) - 2 * M2 * L1 * LC2 * dtheta2 * dtheta1 * jnp.sin(theta2)
            + (M1 * LC1 + M2 * L1) * G * jnp.cos(theta1 - math.pi / 2) + phi2)
    ddtheta2 = ((torque + d2 / d1 * phi1 - M2 * L1 * LC2 * dtheta1**2 * jnp.sin(theta2) - phi2)
                / (M2 * LC2**2 + MOI - d2**2 / d1))
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return jnp.stack([dtheta1, dtheta2, ddtheta1, ddtheta2])


def _wrap(x):
    return jnp.where(x > math.pi, x - 2 * math.pi, jnp.where(x < -math.pi, x + 2 * math.pi, x))


class AcrobotJax(JaxEnv):
    """Acrobot-v1 as a gymnax-style environment (``step`` auto-resets; ``start`` a game from a given state)."""

    name = "Acrobot-v1-jax"
    num_actions = 3

    def __init__(self, max_episode_steps: int = 500):
        self.default_params = AcrobotParams(checks.integer(max_episode_steps, "max_episode_steps", 1,
                                                           MAX_EPISODE_STEPS))

    def observation_space(self, params=None) -> spaces.Box:
        high = np.array([1.0, 1.0, 1.0, 1.0, MAX_VEL_1, MAX_VEL_2], np.float32)
        return spaces.Box(-high, high, dtype=np.float32)

    def action_space(self, params=None) -> spaces.Discrete:
        return spaces.Discrete(3)

    def reset_env(self, key, params: AcrobotParams):
        return self.start(*jax.random.uniform(key, (4,), jnp.float32, -0.1, 0.1))

    def start(self, theta1, theta2, dtheta1, dtheta2):
        """A game from the given state (Gymnasium's ``env.unwrapped.state = ...``)."""
        state = AcrobotState(*(jnp.asarray(v, jnp.float32) for v in (theta1, theta2, dtheta1, dtheta2)), jnp.int32(0))
        return self.observation(state), state

    def step_env(self, key, state: AcrobotState, action, params: AcrobotParams):
        torque = TORQUES[jnp.asarray(action, jnp.int32)]
        s = jnp.stack(state[:4])
        k1 = derivatives(s, torque)
        k2 = derivatives(s + DT / 2 * k1, torque)
        k3 = derivatives(s + DT / 2 * k2, torque)
        k4 = derivatives(s + DT * k3, torque)
        s = s + DT / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        state = AcrobotState(_wrap(s[0]), _wrap(s[1]), jnp.clip(s[2], -MAX_VEL_1, MAX_VEL_1),
                             jnp.clip(s[3], -MAX_VEL_2, MAX_VEL_2), state.steps + 1)
        up = -jnp.cos(state.theta1) - jnp.cos(state.theta2 + state.theta1) > 1.0
        return self.observation(state), state, jnp.where(up, 0.0, -1.0).astype(jnp.float32), up, {}

    def is_truncated(self, state: AcrobotState, params: AcrobotParams):
        return state.steps >= params.max_steps

    def observation(self, state: AcrobotState):
        t1, t2 = state.theta1, state.theta2
        return jnp.stack([jnp.cos(t1), jnp.sin(t1), jnp.cos(t2), jnp.sin(t2), state.dtheta1, state.dtheta2]
                         ).astype(jnp.float32)
