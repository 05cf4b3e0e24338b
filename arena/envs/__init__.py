"""Arena's environments: Gymnasium's (importing this package registers ``arena/Catch-v0``) and the
same catch game in JAX (:class:`CatchJax`, gymnax's interface)."""

from gymnasium.envs.registration import register, registry

from arena.envs.catch import CatchEnv
from arena.envs.catch_jax import CatchJax

if "arena/Catch-v0" not in registry:  # idempotent: safe on re-import / reload
    register(id="arena/Catch-v0", entry_point="arena.envs.catch:CatchEnv")

__all__ = ["CatchEnv", "CatchJax"]
