"""Arena's environments: Gymnasium's (importing this package registers ``arena/Catch-v0`` and
MinAtar's ``arena/MinAtar-Breakout-v0``, ``-SpaceInvaders-v0``, ``-Freeway-v0``, ``-Asterix-v0``) and JAX versions
behind gymnax's interface (:class:`CatchJax`, :class:`CartPoleJax`, :class:`AcrobotJax`, the
MinAtar games)."""

from gymnasium.envs.registration import register, registry

from arena.envs.acrobot_jax import AcrobotJax
from arena.envs.cartpole_jax import CartPoleJax
from arena.envs.catch import CatchEnv
from arena.envs.catch_jax import CatchJax
from arena.envs.jax_env import JaxEnv
from arena.envs.jax_gym import GymnasiumFromJax
from arena.envs.minatar import GAMES as MINATAR_GAMES
from arena.envs.minatar import AsterixJax, BreakoutJax, FreewayJax, SpaceInvadersJax

# idempotent: safe on re-import / reload
if "arena/Catch-v0" not in registry:
    register(id="arena/Catch-v0", entry_point="arena.envs.catch:CatchEnv")
for _id, _game in MINATAR_GAMES.items():
    if _id not in registry:
        register(id=_id, entry_point=_game.gymnasium)

__all__ = ["AcrobotJax", "AsterixJax", "BreakoutJax", "CartPoleJax", "CatchEnv", "CatchJax", "FreewayJax", "GymnasiumFromJax",
           "JaxEnv", "SpaceInvadersJax"]
