"""Arena's compiled agent on gymnax's own environments, with Arena's presets.

gymnax 1.0.1 pins gymnasium<1.4 (Arena uses 1.4), so run this from a separate environment that has
gymnax and Arena's other dependencies, with Arena on the path:

    python -m venv /tmp/gx && /tmp/gx/bin/pip install gymnax six seaborn optax h5py tensorboardX tqdm \\
        pygame imageio matplotlib pillow scipy
    PYTHONPATH=. /tmp/gx/bin/python benchmarks/bench_gymnax.py [CartPole-v1 Breakout-MinAtar ...]

For each gymnax id: the matching Arena preset's network and settings, its training budget, the
wall time (building and compilation included) and 100 greedy games' mean return.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gymnax  # noqa: E402

from arena.agents import CompiledDQN  # noqa: E402
from arena.agents.presets import gym_preset  # noqa: E402

PRESETS = {"CartPole-v1": "CartPole-v1", "Acrobot-v1": "Acrobot-v1",
           "Breakout-MinAtar": "arena/MinAtar-Breakout-v0", "Asterix-MinAtar": "arena/MinAtar-Asterix-v0",
           "Freeway-MinAtar": "arena/MinAtar-Freeway-v0", "SpaceInvaders-MinAtar": "arena/MinAtar-SpaceInvaders-v0"}


def main(ids):
    for gymnax_id in ids or ["CartPole-v1"]:
        env, params = gymnax.make(gymnax_id)
        preset = gym_preset(PRESETS[gymnax_id], "jax")
        start = time.perf_counter()
        agent = CompiledDQN(env, q_network=preset["network"], **preset["options"])
        agent.learn(total_timesteps=preset["timesteps"], steps_per_epoch=preset["steps_per_epoch"], verbose=0)
        seconds = time.perf_counter() - start
        score = float(agent.evaluate(100)["mean_return"][0])
        print(f"gymnax {gymnax_id}: {preset['timesteps']} steps in {seconds:.1f} s (compilation included); "
              f"greedy mean return over 100 games {score:.1f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
