"""Arena's environments: Gymnasium's (importing this package registers ``arena/Catch-v0``) and JAX
versions behind gymnax's interface (:class:`CatchJax`, :class:`CartPoleJax`)."""

from gymnasium.envs.registration import register, registry

from arena.envs.cartpole_jax import CartPoleJax
from arena.envs.catch import CatchEnv
from arena.envs.catch_jax import CatchJax

if "arena/Catch-v0" not in registry:  # idempotent: safe on re-import / reload
    register(id="arena/Catch-v0", entry_point="arena.envs.catch:CatchEnv")

__all__ = ["CartPoleJax", "CatchEnv", "CatchJax"]
