"""MinAtar games: the compiled agent's learning curve over a wall-clock budget, against random play.

    python benchmarks/bench_minatar.py [--game MinAtar-Breakout] [--minutes 10] [--seed 0]
                                       [--timesteps N] [--n-steps K] [--prioritized ALPHA]

Trains the ``arena train MinAtar-Breakout`` preset (:data:`arena.agents.presets.COMPILED_GYM_PRESETS`)
and after each epoch of 100k steps prints the wall time (the first epoch includes compilation, also
printed apart), steps, the training games' mean return, and 100 greedy games' mean return played
on the device; it stops at the end of the first epoch past the budget. ``--n-steps`` and
``--prioritized`` change the preset's n-step returns and prioritized replay (for ablations). A uniformly random policy's mean return
over 1,000 games is the baseline. For the literature's figures, see the closing note of issue 12
(MinAtar's DQN: Young & Tian 2019, arXiv:1903.03176).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from arena.agents import CompiledDQN  # noqa: E402
from arena.agents.presets import gym_preset  # noqa: E402
from arena.callbacks import Callback  # noqa: E402
from arena.envs.make import check_env_id  # noqa: E402
from arena.envs.make_jax import make_jax_env  # noqa: E402


def random_mean_return(env, games=1000, seed=0):
    """Mean return of uniformly random play over ``games`` games (each to its end), on the device."""
    params = env.default_params

    @jax.jit
    def play(key):
        obs, state = jax.vmap(env.reset, (0, None))(jax.random.split(key, games), params)

        def body(c):
            state, done, total, key = c
            key, ka, ks = jax.random.split(key, 3)
            actions = jax.random.randint(ka, (games,), 0, env.num_actions)
            _, state, r, d, _ = jax.vmap(env.step_env, (0, 0, 0, None))(jax.random.split(ks, games), state,
                                                                         actions, params)
            d = d | jax.vmap(env.is_truncated, (0, None))(state, params)
            return state, done | d, total + jnp.where(done, 0.0, r), key
        out = jax.lax.while_loop(lambda c: (~c[1]).any(), body, (state, jnp.zeros(games, bool), jnp.zeros(games), key))
        return out[2].mean()
    return float(play(jax.random.key(seed)))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--game", default="MinAtar-Breakout")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timesteps", type=int, help="the run's budget (default: the preset's)")
    p.add_argument("--n-steps", type=int, help="n-step returns (default: the preset's)")
    p.add_argument("--prioritized", type=float, default=0.0, help="prioritized replay's alpha (0: uniform)")
    args = p.parse_args()
    print(f"devices: {jax.devices()}")
    game = check_env_id(args.game)
    print(f"{game}: random policy: mean return {random_mean_return(make_jax_env(game), seed=args.seed):.2f} "
          f"over 1000 games")
    preset = gym_preset(game, "jax")
    start = time.perf_counter()
    options = dict(preset["options"], seed=args.seed, prioritized_replay_alpha=args.prioritized)
    if args.n_steps:
        options["n_steps"] = args.n_steps
    print(f"n_steps {options['n_steps']}, prioritized replay alpha {args.prioritized}")
    agent = CompiledDQN(game, q_network=preset["network"], **options)
    print(f"{'wall s':>7} {'steps':>9} {'train return':>12} {'greedy return (100 games)':>26}")
    agent.learn(total_timesteps=args.timesteps or preset["timesteps"], steps_per_epoch=preset["steps_per_epoch"], verbose=0,
                eval_games=100, callbacks=[Curve(start, args.minutes * 60)])
    print(f"done: {agent.global_step} steps in {time.perf_counter() - start:.0f} s")


class Curve(Callback):
    """Prints each epoch's figures; stops the run once the wall-clock budget is spent."""

    def __init__(self, start, budget):
        super().__init__()
        self.start, self.budget, self.epoch_start = start, budget, start

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        if epoch == 0:
            print(f"(first epoch, compilation included: {now - self.epoch_start:.1f} s)")
        print(f"{now - self.start:7.0f} {self.model.global_step:9d} {logs.get('charts/episodic_return', float('nan')):12.2f} "
              f"{logs.get('eval/mean_return', float('nan')):26.2f}", flush=True)
        self.model.stop_training = now - self.start >= self.budget

if __name__ == "__main__":
    main()
