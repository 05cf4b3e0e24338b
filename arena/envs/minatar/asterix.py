"""MinAtar's Asterix in JAX (``arena/MinAtar-Asterix-v0``; gymnax's ``Asterix-MinAtar``).

The player moves freely on rows 1-8; enemies and gold enter the eight lanes from either side (one
every 10 steps at first, into a free lane, gold one time in three) and cross the screen (one cell
every 5 steps at first). +1 for each gold picked up; touching an enemy ends the game. Every 100
steps both speeds ramp up, down to one spawn and one move per step. Channels: player, enemy, trail
(the cell behind each moving thing), gold. Actions: stay, left, up, right, down.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from arena.envs.minatar.base import SIZE, MinAtarJax, i32

SPAWN_INTERVAL, MOVE_INTERVAL, RAMP_INTERVAL, LANES = 10, 5, 100, 8
STAY, LEFT, UP, RIGHT, DOWN = range(5)


class AsterixState(NamedTuple):
    x: jax.Array  # the player's cell
    y: jax.Array
    alive: jax.Array  # (8,) bool: lane i (row i + 1) holds an enemy or gold
    ent_x: jax.Array  # (8,) int32
    ent_right: jax.Array  # (8,) bool: moving right (entered on the left)
    ent_gold: jax.Array  # (8,) bool
    spawn_interval: jax.Array
    spawn_timer: jax.Array
    move_interval: jax.Array
    move_timer: jax.Array
    ramp_timer: jax.Array
    ramp: jax.Array
    last_action: jax.Array
    steps: jax.Array


class AsterixJax(MinAtarJax):
    """MinAtar Asterix; ``play`` draws its spawns from its key, ``play_with`` takes them given."""

    name = "MinAtar-Asterix-jax"
    channels = ("player", "enemy", "trail", "gold")
    actions = ("stay", "left", "up", "right", "down")

    def new_game(self, key):
        no = jnp.zeros(LANES, bool)
        return AsterixState(i32(5), i32(5), no, jnp.zeros(LANES, jnp.int32), no, no, i32(SPAWN_INTERVAL),
                            i32(SPAWN_INTERVAL), i32(MOVE_INTERVAL), i32(MOVE_INTERVAL), i32(RAMP_INTERVAL), i32(0),
                            i32(0), i32(0))

    def play(self, key, state: AsterixState, action):
        k_side, k_gold, k_lane = jax.random.split(key, 3)
        free = ~state.alive
        lane = jax.random.choice(k_lane, LANES, p=free / jnp.maximum(free.sum(), 1))  # a free lane, if any
        spawn = (jax.random.uniform(k_side) < 1 / 2, jax.random.uniform(k_gold) < 1 / 3, lane)
        return self.play_with(state, action, spawn)

    def play_with(self, s: AsterixState, action, spawn):
        """One step; ``spawn`` = (from the left, gold, lane) is what enters if one is due."""
        from_left, gold, lane = spawn
        enters = (s.spawn_timer == 0) & (~s.alive).any()
        new = enters & (jnp.arange(LANES) == lane)
        alive = s.alive | new
        ent_x = jnp.where(new, jnp.where(from_left, 0, SIZE - 1), s.ent_x)
        ent_right = jnp.where(new, from_left, s.ent_right)
        ent_gold = jnp.where(new, gold, s.ent_gold)
        spawn_timer = jnp.where(s.spawn_timer == 0, s.spawn_interval, s.spawn_timer)

        x = jnp.clip(s.x + jnp.where(action == LEFT, -1, jnp.where(action == RIGHT, 1, 0)), 0, SIZE - 1)
        y = jnp.clip(s.y + jnp.where(action == UP, -1, jnp.where(action == DOWN, 1, 0)), 1, SIZE - 2)
        lanes = jnp.arange(1, LANES + 1)

        def meet(alive, ent_x):  # what touches the player: gold is picked up, an enemy ends the game
            touch = alive & (ent_x == x) & (lanes == y)
            return alive & ~(touch & ent_gold), (touch & ent_gold).sum(), (touch & ~ent_gold).any()
        alive, reward, over = meet(alive, ent_x)

        moves = s.move_timer == 0
        ent_x = jnp.where(moves & alive, ent_x + jnp.where(ent_right, 1, -1), ent_x)
        alive = alive & ((ent_x >= 0) & (ent_x <= SIZE - 1))  # gone off the other side
        alive_moved, reward_moved, over_moved = meet(alive, ent_x)
        alive = jnp.where(moves, alive_moved, alive)
        reward = reward + jnp.where(moves, reward_moved, 0)
        over = over | (moves & over_moved)
        move_timer = jnp.where(moves, s.move_interval, s.move_timer)

        # difficulty: every RAMP_INTERVAL + 1 steps, spawns come sooner, and every other time moves too
        ramping = (s.spawn_interval > 1) | (s.move_interval > 1)
        ramps = ramping & (s.ramp_timer < 0)
        move_interval = s.move_interval - (ramps & (s.move_interval > 1) & (s.ramp % 2 == 1))
        spawn_interval = s.spawn_interval - (ramps & (s.spawn_interval > 1))
        ramp_timer = jnp.where(ramps, RAMP_INTERVAL, s.ramp_timer - ramping)
        state = s._replace(x=x, y=y, alive=alive, ent_x=ent_x, ent_right=ent_right, ent_gold=ent_gold,
                           spawn_interval=spawn_interval, spawn_timer=spawn_timer - 1, move_interval=move_interval,
                           move_timer=move_timer - 1, ramp_timer=ramp_timer, ramp=s.ramp + ramps)
        return state, reward, over

    def observation(self, s: AsterixState) -> jax.Array:
        lanes = jnp.arange(1, LANES + 1)
        obs = jnp.zeros((SIZE, SIZE, 4), bool).at[s.y, s.x, 0].set(True)
        col = jnp.clip(s.ent_x, 0, SIZE - 1)
        obs = obs.at[lanes, col, 1].max(s.alive & ~s.ent_gold)
        obs = obs.at[lanes, col, 3].max(s.alive & s.ent_gold)
        back = s.ent_x + jnp.where(s.ent_right, -1, 1)
        shown = s.alive & (back >= 0) & (back <= SIZE - 1)
        return obs.at[lanes, jnp.clip(back, 0, SIZE - 1), 2].max(shown)
