"""Atari Breakout through Gymnasium and ale-py: the host DQN's learning curve over a wall-clock
budget, against random play (to show the path works; 2 CPU cores are far from the 10M+ steps that
published Atari figures need).

    python benchmarks/bench_atari.py [--minutes 60] [--game ALE/Breakout-v5]

The ``arena train ALE/...`` preset (:data:`arena.agents.presets.ATARI_PRESET`: Nature DQN network,
84x84x4 preprocessed frames) with a run sized to the budget: ``--timesteps`` steps, exploration over
their first tenth, and learning from step 20,000 (the preset's 100,000 suits its 10M-step run).
After each epoch: wall time, steps, the training episodes' mean clipped return (an episode is one
life), and the greedy mean score of 5 whole games (unclipped, as the game counts).
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from arena.agents import DQN  # noqa: E402
from arena.agents.presets import gym_preset  # noqa: E402
from arena.callbacks import Callback  # noqa: E402
from arena.envs.make import make_env  # noqa: E402


def random_scores(game, games=10, seed=0):
    env = make_env(game)
    scores = []
    for g in range(games):
        env.reset(seed=seed + g)
        total, done = 0.0, False
        while not done:
            _, r, terminated, truncated, _ = env.step(env.action_space.sample())
            total, done = total + r, terminated or truncated
        scores.append(total)
    return np.mean(scores), np.std(scores)


class Curve(Callback):
    def __init__(self, start, budget):
        super().__init__()
        self.start, self.budget = start, budget

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter() - self.start
        print(f"{now:7.0f} {self.model.global_step:9d} {logs.get('charts/episodic_return', float('nan')):14.2f} "
              f"{logs.get('eval/mean_return', float('nan')):18.2f}", flush=True)
        self.model.stop_training = now >= self.budget


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--game", default="ALE/Breakout-v5")
    p.add_argument("--timesteps", type=int, default=360_000)
    p.add_argument("--epoch", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    mean, std = random_scores(args.game)
    print(f"random policy: {mean:.2f} +- {std:.2f} over 10 games")
    preset = gym_preset(args.game)
    start = time.perf_counter()
    agent = DQN(args.game, q_network=preset["network"], **dict(preset["options"], learning_starts=20_000,
                                                               seed=args.seed))
    print(f"{'wall s':>7} {'steps':>9} {'train return':>14} {'greedy score (5)':>18}")
    agent.learn(total_timesteps=args.timesteps, steps_per_epoch=args.epoch, verbose=0, eval_games=5,
                callbacks=[Curve(start, args.minutes * 60)])
    print(f"done: {agent.global_step} steps in {time.perf_counter() - start:.0f} s")
    os.makedirs(os.path.join("runs", "bench_atari"), exist_ok=True)
    agent.save(os.path.join("runs", "bench_atari", "agent.h5"))


if __name__ == "__main__":
    main()
