"""Headless catch env throughput with pixel observations (80x80x4) under a random policy.

    python benchmarks/bench_catch_env.py [--steps 100000]

Prints steps/second for the raw env, the env from ``gymnasium.make`` (with its
checker / order-enforcing wrappers) and a SyncVectorEnv of 8 envs (env steps summed).
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gymnasium as gym  # noqa: E402

import arena.envs  # noqa: E402,F401  (registers arena/Catch-v0)
from arena.envs import CatchEnv  # noqa: E402


def run_single(env, steps: int, seed: int = 0) -> float:
    actions = np.random.default_rng(seed).integers(0, 3, steps)  # the random policy
    env.reset(seed=seed)
    start = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(int(a))
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def run_vector(n_envs: int, steps: int, seed: int = 0) -> float:
    venv = gym.vector.SyncVectorEnv([lambda: CatchEnv() for _ in range(n_envs)])
    venv.reset(seed=seed)
    actions = np.random.default_rng(seed).integers(0, 3, (steps // n_envs, n_envs))
    start = time.perf_counter()
    for a in actions:
        venv.step(a)  # autoreset happens inside
    rate = actions.size / (time.perf_counter() - start)
    venv.close()
    return rate


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100_000)
    args = p.parse_args(argv)
    print(f"catch env steps/s (pixels 80x80x4): {run_single(CatchEnv(), args.steps):,.0f}")
    made = gym.make("arena/Catch-v0")
    print(f"catch env steps/s (pixels 80x80x4, gym.make wrappers): {run_single(made, args.steps):,.0f}")
    print(f"catch env steps/s (pixels 80x80x4, SyncVectorEnv x8): {run_vector(8, args.steps):,.0f}")
    state = CatchEnv(obs_type="state")
    print(f"catch env steps/s (state): {run_single(state, args.steps):,.0f}")


if __name__ == "__main__":
    main()
