"""Make environments by name: 'catch' (Arena's catch game) or any Gymnasium id."""
import gymnasium as gym
from gymnasium.vector import AutoresetMode, SyncVectorEnv

ALIASES = {"catch": "arena/Catch-v0"}


def resolve_id(env_id):
    return ALIASES.get(str(env_id).lower(), env_id)


def make_env(env_id, render_mode=None, **kwargs):
    """One environment: ``make_env('catch', obs_type='state')`` or ``make_env('CartPole-v1')``."""
    import arena.envs  # noqa: F401  (registers arena/Catch-v0)
    full_id = resolve_id(env_id)
    try:
        return gym.make(full_id, render_mode=render_mode, **kwargs)
    except gym.error.Error as e:
        known = sorted(ALIASES) + ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "LunarLander-v3", "..."]
        raise ValueError(f"Unknown game or environment id {env_id!r} ({e}). Try one of {known}, or any "
                         f"registered Gymnasium id") from None


def make_vec_env(env_id, n_envs=1, **kwargs):
    """``n_envs`` copies in a SyncVectorEnv that resets finished episodes in the same step
    (the final observation is in ``info['final_obs']``)."""
    if n_envs < 1:
        raise ValueError(f"n_envs must be >= 1; got {n_envs}")
    make_env(env_id, **kwargs).close()  # fail early with a clear error for a bad id
    return SyncVectorEnv([lambda: make_env(env_id, **kwargs) for _ in range(n_envs)],
                         autoreset_mode=AutoresetMode.SAME_STEP)
