"""MinAtar's Freeway in JAX (``arena/MinAtar-Freeway-v0``; gymnax's ``Freeway-MinAtar``).

A chicken starts at the bottom of column 4 and crosses eight lanes of cars, moving one row at most
every 3 steps: +1 each time it reaches the top (it then starts again at the bottom, and every car
gets a new random speed and direction); a car that hits it sends it back to the bottom. Cars move
one cell every 1 to 5 steps and wrap around. The game ends after 2,500 steps. Channels: chicken,
car, and five trail channels, one per car speed, at the cell behind each car. Actions: stay, up, down.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from arena.envs.minatar.base import SIZE, MinAtarJax, i32

PLAYER_SPEED, TIME_LIMIT, COLUMN, LANES = 3, 2500, 4, 8
STAY, UP, DOWN = range(3)


class FreewayState(NamedTuple):
    pos: jax.Array  # the chicken's row
    move_timer: jax.Array
    time_left: jax.Array
    car_x: jax.Array  # (8,) int32: lane i is row i + 1
    car_timer: jax.Array  # (8,) steps until the car moves
    car_speed: jax.Array  # (8,) +-1..5: steps per move, signed by direction
    last_action: jax.Array
    steps: jax.Array


def random_speeds(key):
    """Eight car speeds: 1-5 steps per move, each car going left or right."""
    k_speed, k_dir = jax.random.split(key)
    return jax.random.randint(k_speed, (LANES,), 1, 6) * jnp.where(jax.random.bernoulli(k_dir, shape=(LANES,)), 1, -1)


class FreewayJax(MinAtarJax):
    """MinAtar Freeway; ``play`` draws new speeds from its key, ``play_with`` takes them given."""

    name = "MinAtar-Freeway-jax"
    channels = ("chicken", "car", "speed1", "speed2", "speed3", "speed4", "speed5")
    actions = ("stay", "up", "down")

    def new_game(self, key):
        return self.start(random_speeds(key))

    def start(self, speeds):
        """A new game with these car speeds (every car starts at column 0)."""
        speeds = jnp.asarray(speeds, jnp.int32)
        return FreewayState(i32(SIZE - 1), i32(PLAYER_SPEED), i32(TIME_LIMIT), jnp.zeros(LANES, jnp.int32),
                            jnp.abs(speeds), speeds, i32(0), i32(0))

    def play(self, key, state: FreewayState, action):
        return self.play_with(state, action, random_speeds(key))

    def play_with(self, s: FreewayState, action, new_speeds):
        """One step; ``new_speeds`` become the cars' speeds if the chicken reaches the top."""
        can_move = s.move_timer == 0
        up, down = can_move & (action == UP), can_move & (action == DOWN)
        pos = jnp.where(up, jnp.maximum(s.pos - 1, 0), jnp.where(down, jnp.minimum(s.pos + 1, SIZE - 1), s.pos))
        move_timer = jnp.where(up | down, PLAYER_SPEED, s.move_timer)
        crossed = pos == 0
        pos = jnp.where(crossed, SIZE - 1, pos)
        speed = jnp.where(crossed, new_speeds, s.car_speed)
        timer = jnp.where(crossed, jnp.abs(new_speeds), s.car_timer)

        lanes = jnp.arange(1, LANES + 1)
        hit = ((s.car_x == COLUMN) & (lanes == pos)).any()  # a car already in the chicken's cell
        moves = timer == 0
        car_x = jnp.where(moves, (s.car_x + jnp.sign(speed)) % SIZE, s.car_x)
        hit = hit | (moves & (car_x == COLUMN) & (lanes == pos)).any()  # a car moving into it
        timer = jnp.where(moves, jnp.abs(speed), timer - 1)
        state = s._replace(pos=jnp.where(hit, SIZE - 1, pos), move_timer=move_timer - (move_timer > 0),
                           time_left=s.time_left - 1, car_x=car_x, car_timer=timer, car_speed=speed)
        return state, crossed, state.time_left < 0

    def observation(self, s: FreewayState) -> jax.Array:
        lanes = jnp.arange(1, LANES + 1)
        obs = jnp.zeros((SIZE, SIZE, len(self.channels)), bool).at[s.pos, COLUMN, 0].set(True)
        obs = obs.at[lanes, s.car_x, 1].set(True)
        behind = (s.car_x - jnp.sign(s.car_speed)) % SIZE
        return obs.at[lanes, behind, 1 + jnp.abs(s.car_speed)].set(True)
