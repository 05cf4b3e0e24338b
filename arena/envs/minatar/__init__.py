"""MinAtar's games in JAX (Young & Tian 2019): Asterix, Breakout, Freeway and Space Invaders, by Gymnasium id."""
from arena.envs.minatar.asterix import AsterixJax
from arena.envs.minatar.base import MinAtarJax, MinAtarParams, render_grid
from arena.envs.minatar.breakout import BreakoutJax
from arena.envs.minatar.freeway import FreewayJax
from arena.envs.minatar.space_invaders import SpaceInvadersJax

GAMES = {"arena/MinAtar-Breakout-v0": BreakoutJax, "arena/MinAtar-SpaceInvaders-v0": SpaceInvadersJax,
         "arena/MinAtar-Freeway-v0": FreewayJax, "arena/MinAtar-Asterix-v0": AsterixJax}
# 'minatar-breakout' and gymnax's 'breakout-minatar' (lower case) name the same game
ALIASES = {alias: full_id for full_id in GAMES for name in [full_id.split("-")[1].lower()]
           for alias in (f"minatar-{name}", f"{name}-minatar")}

__all__ = ["ALIASES", "GAMES", "AsterixJax", "BreakoutJax", "FreewayJax", "MinAtarJax", "MinAtarParams", "SpaceInvadersJax",
           "render_grid"]
