"""What every JAX environment shares: gymnax's interface around a game's raw transitions.

A game subclasses :class:`JaxEnv` and writes ``reset_env(key, params) -> (obs, state)`` and
``step_env(key, state, action, params) -> (obs, state, reward, done, info)``, pure functions of an
explicit state, so ``jax.vmap`` plays many games at once and ``jax.lax.scan`` whole training chunks.
:meth:`JaxEnv.step` then starts a new game as soon as one ends, as gymnax's does: the returned
observation and state are the new game's, while ``reward``, ``done`` and ``info`` describe the step
that ended the old one.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp


class JaxEnv:
    """A gymnax-style environment: ``reset(key, params)``, ``step(key, state, action, params)``,
    ``observation_space(params)``, ``action_space(params)`` and ``default_params``."""

    name = "jax-env"
    num_actions: int
    default_params = None
    frame_stacked = False  # observations are uint8 frame stacks a replay buffer may store one frame at a time
    win_reward = None  # a game's final reward that counts as a win (catch), or None where games are not won

    def reset(self, key: jax.Array, params=None):
        return self.reset_env(key, self.default_params if params is None else params)

    def step(self, key: jax.Array, state, action, params=None):
        params = self.default_params if params is None else params
        key_step, key_reset = jax.random.split(key)
        obs, state, reward, done, info = self.step_env(key_step, state, action, params)
        obs_new, state_new = self.reset_env(key_reset, params)
        pick = lambda new, old: jnp.where(done, new, old)  # noqa: E731
        return pick(obs_new, obs), jax.tree_util.tree_map(pick, state_new, state), reward, done, info

    def reset_env(self, key: jax.Array, params):
        raise NotImplementedError

    def step_env(self, key: jax.Array, state, action, params):
        raise NotImplementedError
