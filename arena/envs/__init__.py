"""Arena's environments: Gymnasium's (importing this package registers ``arena/Catch-v0`` and
``arena/MinAtar-Breakout-v0``) and JAX versions behind gymnax's interface (:class:`CatchJax`,
:class:`CartPoleJax`, :class:`AcrobotJax`, :class:`BreakoutJax`)."""

from gymnasium.envs.registration import register, registry

from arena.envs.acrobot_jax import AcrobotJax
from arena.envs.cartpole_jax import CartPoleJax
from arena.envs.catch import CatchEnv
from arena.envs.catch_jax import CatchJax
from arena.envs.jax_env import JaxEnv
from arena.envs.jax_gym import GymnasiumFromJax
from arena.envs.minatar_breakout import BreakoutJax

# idempotent: safe on re-import / reload
if "arena/Catch-v0" not in registry:
    register(id="arena/Catch-v0", entry_point="arena.envs.catch:CatchEnv")
if "arena/MinAtar-Breakout-v0" not in registry:
    register(id="arena/MinAtar-Breakout-v0", entry_point="arena.envs.minatar_breakout:breakout_gymnasium")

__all__ = ["AcrobotJax", "BreakoutJax", "CartPoleJax", "CatchEnv", "CatchJax", "GymnasiumFromJax", "JaxEnv"]
