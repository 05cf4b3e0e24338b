"""A JAX environment played one step at a time from Python, as a Gymnasium environment.

Games written only in JAX (MinAtar's) still get everything a Gymnasium id gets: ``gym.make``,
the host agent, ``arena evaluate``, ``arena watch`` (a window or a GIF). Each call runs the game's
own compiled ``reset_env``/``step_env``, so the host and the device play the same rules.
"""
from __future__ import annotations

import gymnasium as gym
import jax
import numpy as np


class GymnasiumFromJax(gym.Env):
    """``jax_env`` (a :class:`arena.envs.jax_env.JaxEnv`) behind Gymnasium's ``reset``/``step``/``render``.

    Rendering needs the game's ``render_rgb(state)``."""

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 10}

    def __init__(self, jax_env, render_mode=None):
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None; got {render_mode!r}")
        self.jax_env, self.render_mode = jax_env, render_mode
        self.params = jax_env.default_params
        self.observation_space = jax_env.observation_space(self.params)
        self.action_space = jax_env.action_space(self.params)
        self._reset, self._step = jax.jit(jax_env.reset_env), jax.jit(jax_env.step_env)
        self._truncated = jax.jit(jax_env.is_truncated)
        self._key = jax.random.key(0)
        self._state = None
        self._window = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            self._key = jax.random.key(seed)
        self._key, key = jax.random.split(self._key)
        obs, self._state = self._reset(key, self.params)
        if self.render_mode == "human":
            self.render()
        return np.asarray(obs), {}

    def step(self, action):
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        if not self.action_space.contains(int(action)):
            raise ValueError(f"{self.jax_env.name}: action {action!r} is not in {self.action_space}")
        self._key, key = jax.random.split(self._key)
        obs, self._state, reward, terminated, _ = self._step(key, self._state, int(action), self.params)
        terminated = bool(terminated)
        truncated = not terminated and bool(self._truncated(self._state, self.params))
        if self.render_mode == "human":
            self.render()
        return np.asarray(obs), float(reward), terminated, truncated, {}

    def render(self):
        if self._state is None:
            return None
        frame = self.jax_env.render_rgb(self._state)
        if self.render_mode != "human":
            return frame
        from arena.envs.catch import import_pygame
        pg = import_pygame(window=True)
        if self._window is None:
            self._window = pg.display.set_mode(frame.shape[1::-1])
            self._clock = pg.time.Clock()
        pg.event.pump()
        self._window.blit(pg.surfarray.make_surface(frame.transpose(1, 0, 2)), (0, 0))
        pg.display.flip()
        self._clock.tick(self.metadata["render_fps"])
        return None

    def close(self):
        if self._window is not None:
            from arena.envs.catch import import_pygame
            import_pygame(window=True).display.quit()
            self._window = None
