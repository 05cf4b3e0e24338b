"""JAX environments by name, for agents that train on the device (:class:`arena.agents.CompiledDQN`).

An id names the same game as in :mod:`arena.envs.make` ('catch' is ``arena/Catch-v0``); the JAX
version takes the same options as the Gymnasium one (checked against its constructor first).
"""
import inspect

from arena.envs.acrobot_jax import AcrobotJax
from arena.envs.cartpole_jax import CartPoleJax
from arena.envs.catch_jax import CatchJax
from arena.envs.make import check_env_id, check_env_kwargs
from arena.envs.minatar import GAMES as MINATAR_GAMES

JAX_ENVS = {"arena/Catch-v0": CatchJax, "CartPole-v1": CartPoleJax, "Acrobot-v1": AcrobotJax, **MINATAR_GAMES}


def has_jax_env(env_id) -> bool:
    """Whether ``env_id`` (a known id) has a JAX version."""
    return check_env_id(env_id) in JAX_ENVS


def make_jax_env(env_id, **env_kwargs):
    """The JAX environment for ``env_id``, built with ``env_kwargs`` (the Gymnasium env's options)."""
    full_id = check_env_id(env_id)
    if full_id not in JAX_ENVS:
        raise ValueError(f"{env_id!r} has no JAX version (JAX environments: {sorted(JAX_ENVS)}); train it with "
                         f"the Gymnasium backend")
    check_env_kwargs(full_id, env_kwargs)
    cls = JAX_ENVS[full_id]
    takes = set(inspect.signature(cls).parameters)
    extra = sorted(set(env_kwargs) - takes)
    if extra:
        raise ValueError(f"{env_id!r}: the JAX version does not take option(s) {extra} (it takes {sorted(takes)})")
    return cls(**env_kwargs)
