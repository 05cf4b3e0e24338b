"""What every JAX environment shares: gymnax's interface (gymnax 1.0) around a game's raw transitions.

A game subclasses :class:`JaxEnv` and writes ``reset_env(key, params) -> (obs, state)``,
``step_env(key, state, action, params) -> (obs, state, reward, terminated, info)`` (``terminated``:
the game itself ended) and, where games are cut by a time limit, ``is_truncated(state, params)``:
pure functions of an explicit state, so ``jax.vmap`` plays many games at once and ``jax.lax.scan``
whole training chunks. :meth:`JaxEnv.step` then returns ``(obs, state, reward, terminated,
truncated, info)`` and starts a new game as soon as one ends, as gymnax's does: the returned
observation and state are the new game's, while ``reward``, ``terminated``, ``truncated`` and
``info`` describe the step that ended the old one (whose last observation is
``info['final_observation']``).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

MAX_EPISODE_STEPS = 10**7  # a time limit beyond this is a mistake (games' step counters are int32)


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
        obs_end, state_end, reward, terminated, info = self.step_env(key_step, state, action, params)
        truncated = jnp.asarray(self.is_truncated(state_end, params)) & ~terminated
        done = terminated | truncated
        obs_new, state_new = self.reset_env(key_reset, params)
        pick = lambda new, old: jnp.where(done, new, old)  # noqa: E731
        info = {**info, "final_observation": obs_end}
        return (pick(obs_new, obs_end), jax.tree_util.tree_map(pick, state_new, state_end), reward, terminated,
                truncated, info)

    def is_truncated(self, state, params) -> jax.Array:
        """Whether a time limit cuts the game at ``state`` (never, unless a game says otherwise)."""
        return jnp.asarray(False)

    def reset_env(self, key: jax.Array, params):
        raise NotImplementedError

    def step_env(self, key: jax.Array, state, action, params):
        raise NotImplementedError


def game_over(env, state, terminated, params):
    """``terminated`` or cut by the time limit: the end of a game played with ``step_env`` (for any
    gymnax-style environment; one without ``is_truncated`` is never cut)."""
    cut = getattr(env, "is_truncated", None)
    return terminated | (jnp.asarray(cut(state, params)) if cut is not None else False)
