"""Arena's Gymnasium environments. Importing this package registers ``arena/Catch-v0``."""

from gymnasium.envs.registration import register, registry

from arena.envs.catch import CatchEnv

if "arena/Catch-v0" not in registry:  # idempotent: safe on re-import / reload
    register(id="arena/Catch-v0", entry_point="arena.envs.catch:CatchEnv")

__all__ = ["CatchEnv"]
