"""MinAtar's Space Invaders in JAX (``arena/MinAtar-SpaceInvaders-v0``; gymnax's ``SpaceInvaders-MinAtar``).

The cannon moves along the bottom row and fires upward (one shot per 5 steps); a 4x6 block of
aliens marches sideways, steps down and turns at each wall, and the alien nearest the cannon's
column fires every 10 steps. +1 per alien shot; a cleared wave is replaced by a faster one (the
march interval falls from 12 to 6 steps), and fewer aliens march faster too. The game ends when an
alien or an alien's bullet reaches the cannon, or the aliens reach the bottom row. Channels:
cannon, alien, alien marching left, alien marching right, the cannon's bullets, the aliens'
bullets. Actions: stay, left, right, fire. The game has no randomness of its own.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from arena.envs.minatar.base import SIZE, MinAtarJax, i32

SHOT_COOL_DOWN, MOVE_INTERVAL, SHOT_INTERVAL, FASTEST = 5, 12, 10, 6
STAY, LEFT, RIGHT, FIRE = range(4)


class SpaceInvadersState(NamedTuple):
    pos: jax.Array  # the cannon's column
    bullets: jax.Array  # (10, 10) bool: the cannon's, moving up
    enemy_bullets: jax.Array  # (10, 10) bool, moving down
    aliens: jax.Array  # (10, 10) bool
    alien_dir: jax.Array  # -1 left, +1 right
    move_interval: jax.Array  # steps between marches of a full wave (ramps down from 12 to 6)
    move_timer: jax.Array
    shot_timer: jax.Array  # the aliens'
    cool_down: jax.Array  # the cannon's
    ramp: jax.Array  # waves cleared while speeding up
    last_action: jax.Array
    steps: jax.Array


def _wave():
    return jnp.zeros((SIZE, SIZE), bool).at[0:4, 2:8].set(True)


class SpaceInvadersJax(MinAtarJax):
    """MinAtar Space Invaders."""

    name = "MinAtar-SpaceInvaders-jax"
    channels = ("cannon", "alien", "alien_left", "alien_right", "friendly_bullet", "enemy_bullet")
    actions = ("stay", "left", "right", "fire")

    def new_game(self, key):
        empty = jnp.zeros((SIZE, SIZE), bool)
        return SpaceInvadersState(i32(5), empty, empty, _wave(), i32(-1), i32(MOVE_INTERVAL), i32(MOVE_INTERVAL),
                                  i32(SHOT_INTERVAL), i32(0), i32(0), i32(0), i32(0))

    def play(self, key, s: SpaceInvadersState, action):
        fires = (action == FIRE) & (s.cool_down == 0)
        bullets = s.bullets.at[SIZE - 1, s.pos].set(s.bullets[SIZE - 1, s.pos] | fires)
        cool_down = jnp.where(fires, SHOT_COOL_DOWN, s.cool_down)
        pos = jnp.clip(s.pos + jnp.where(action == LEFT, -1, jnp.where(action == RIGHT, 1, 0)), 0, SIZE - 1)
        bullets = jnp.roll(bullets, -1, axis=0).at[SIZE - 1, :].set(False)
        enemy_bullets = jnp.roll(s.enemy_bullets, 1, axis=0).at[0, :].set(False)
        over = enemy_bullets[SIZE - 1, pos] | s.aliens[SIZE - 1, pos]

        # the aliens march when their timer runs out: sideways, or down (turning) at a wall
        marches = s.move_timer == 0
        at_wall = ((s.aliens[:, 0].any() & (s.alien_dir < 0)) | (s.aliens[:, SIZE - 1].any() & (s.alien_dir > 0)))
        down = marches & at_wall
        over = over | (down & s.aliens[SIZE - 1, :].any())
        aliens = jnp.where(down, jnp.roll(s.aliens, 1, axis=0),
                           jnp.where(marches, jnp.roll(s.aliens, s.alien_dir, axis=1), s.aliens))
        alien_dir = jnp.where(down, -s.alien_dir, s.alien_dir)
        move_timer = jnp.where(marches, jnp.minimum(s.aliens.sum(), s.move_interval), s.move_timer)
        over = over | (marches & aliens[SIZE - 1, pos])

        # the alien nearest the cannon's column (the lower column on a tie) fires from its lowest alien
        shoots = s.shot_timer == 0
        columns = jnp.arange(SIZE)
        order = jnp.where(aliens.any(axis=0), jnp.abs(columns - pos) * SIZE + columns, SIZE * SIZE)
        col = jnp.argmin(order)
        row = jnp.max(jnp.where(aliens[:, col], columns, -1))
        enemy_bullets = enemy_bullets.at[row, col].set(enemy_bullets[row, col] | shoots)
        shot_timer = jnp.where(shoots, SHOT_INTERVAL, s.shot_timer)

        hits = aliens & bullets
        aliens, bullets = aliens & ~hits, bullets & ~hits
        cleared = ~aliens.any()
        faster = cleared & (s.move_interval > FASTEST)
        state = s._replace(pos=pos, bullets=bullets, enemy_bullets=enemy_bullets,
                           aliens=jnp.where(cleared, _wave(), aliens), alien_dir=alien_dir,
                           move_interval=s.move_interval - faster, move_timer=move_timer - 1,
                           shot_timer=shot_timer - 1, cool_down=cool_down - (cool_down > 0), ramp=s.ramp + faster)
        return state, hits.sum(), over

    def observation(self, s: SpaceInvadersState) -> jax.Array:
        cannon = jnp.zeros((SIZE, SIZE), bool).at[SIZE - 1, s.pos].set(True)
        left, right = s.aliens & (s.alien_dir < 0), s.aliens & (s.alien_dir > 0)
        return jnp.stack([cannon, s.aliens, left, right, s.bullets, s.enemy_bullets], axis=-1)
