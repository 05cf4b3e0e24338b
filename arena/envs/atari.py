"""Atari games (ale-py, which ships the ROMs) with DQN's standard preprocessing.

``make_env('ALE/Breakout-v5')`` returns the game as DQN sees it (Mnih et al. 2015, with Machado et
al. 2018's sticky actions, which ``-v5`` ids keep at 0.25): up to 30 no-op steps at the start, each
action repeated for 4 frames (the max of the last two frames observed), 84x84 grayscale, the last
4 observations stacked on the last axis as uint8 (so a replay buffer stores each frame once), and
FIRE pressed to start the game and after each lost life where the game needs it. For training
(``training=True``), losing a life also ends an episode (the game itself goes on from there) and
rewards are clipped to [-1, 1]; evaluation plays whole games with the game's own scores.

ale-py is optional: ``pip install 'arena[atari]'``.
"""
import functools

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import AtariPreprocessing, ClipReward, FrameStackObservation, TransformObservation

FRAME_SIZE, FRAME_SKIP, FRAME_STACK, NOOP_MAX = 84, 4, 4, 30


@functools.cache
def register_ale() -> bool:
    """Register ale-py's ids with Gymnasium if ale-py is installed (Gymnasium 1.x no longer loads
    plugins by itself). Returns whether it is installed."""
    try:
        import ale_py
    except ImportError:
        return False
    gym.register_envs(ale_py)
    return True


def is_atari(spec) -> bool:
    """Whether a registered ``EnvSpec`` is an ale-py game."""
    entry = spec.entry_point
    return isinstance(entry, str) and entry.startswith("ale_py")


class FireOnReset(gym.Wrapper):
    """Press FIRE after each reset and each lost life, for games that wait for it (Breakout's ball):
    otherwise a greedy agent that never fires plays on forever without a ball."""

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        obs, _, terminated, truncated, info = self.env.step(1)
        if terminated or truncated:
            obs, info = self.env.reset(**kwargs)
        self.lives = self.env.unwrapped.ale.lives()
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        lives = self.env.unwrapped.ale.lives()
        if lives < self.lives and not (terminated or truncated):
            obs, more, terminated, truncated, info = self.env.step(1)
            reward += more
        self.lives = lives
        return obs, reward, terminated, truncated, info


class EpisodicLife(gym.Wrapper):
    """A lost life ends the episode (``terminated``) but not the game: the next ``reset`` continues
    the same game with a no-op step, and only a real game over resets it (Mnih et al. 2015)."""

    def __init__(self, env):
        super().__init__(env)
        self.lives, self.game_over = 0, True

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.game_over = terminated or truncated
        lives = self.env.unwrapped.ale.lives()
        if 0 < lives < self.lives:
            terminated = True
        self.lives = lives
        return obs, reward, terminated, truncated, info

    def reset(self, **kwargs):
        if self.game_over:
            obs, info = self.env.reset(**kwargs)
        else:
            obs, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:
                obs, info = self.env.reset(**kwargs)
        self.lives = self.env.unwrapped.ale.lives()
        self.game_over = False
        return obs, info


def make_atari(full_id, render_mode=None, training=False, **kwargs):
    """The ale-py game ``full_id`` with DQN's preprocessing (see the module docstring); ``kwargs``
    go to ale-py (``repeat_action_probability``, ``mode``, ``difficulty``, ...)."""
    if kwargs.get("frameskip", 1) != 1:
        raise ValueError(f"{full_id}: frameskip is Arena's preprocessing's ({FRAME_SKIP}); leave it out")
    kwargs["frameskip"] = 1
    env = gym.make(full_id, render_mode=render_mode, **kwargs)
    env = AtariPreprocessing(env, noop_max=NOOP_MAX, frame_skip=FRAME_SKIP, screen_size=FRAME_SIZE,
                             terminal_on_life_loss=False, grayscale_obs=True, scale_obs=False)
    if training:
        env = EpisodicLife(env)
    if "FIRE" in env.unwrapped.get_action_meanings()[1:2]:
        env = FireOnReset(env)
    if training:
        env = ClipReward(env, -1.0, 1.0)
    env = FrameStackObservation(env, FRAME_STACK, padding_type="reset")
    space = gym.spaces.Box(0, 255, (FRAME_SIZE, FRAME_SIZE, FRAME_STACK), np.uint8)
    return TransformObservation(env, lambda obs: np.ascontiguousarray(np.moveaxis(obs, 0, -1)), space)
