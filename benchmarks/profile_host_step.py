"""Where a host DQN step's time goes: acting, the environments, storing, sampling, learning, and
everything else (the loop, bookkeeping).

    python benchmarks/profile_host_step.py [--repo PATH] [--preset default] [--games 300] [--cartpole]

Trains the host agent (``arena train catch --backend gymnasium``) on a catch preset (or, with
``--cartpole``, Gymnasium's CartPole-v1 with its preset: 128 updates every 256 steps) and times
each part of every vector step with wrappers around the agent's own functions (a compiled call is
waited for, so its time is its own). ``--repo`` profiles another checkout of Arena (for a before /
after comparison of two commits with this same script). Prints milliseconds per vector step.
"""
import argparse
import os
import sys
import time
from collections import defaultdict

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--repo", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
p.add_argument("--preset", default="default")
p.add_argument("--games", type=int, default=300)
p.add_argument("--warmup", type=int, default=100, help="games played (and compiled) before timing")
p.add_argument("--cartpole", action="store_true", help="CartPole-v1 (budgets: 100 steps per 'game')")
args = p.parse_args()
sys.path.insert(0, os.path.abspath(args.repo))

import arena  # noqa: E402
import jax  # noqa: E402

from arena.agents import DQN  # noqa: E402
from arena.agents.presets import GYM_PRESETS, PRESETS  # noqa: E402

TIMES = defaultdict(float)


def timed(name, fn):
    def wrapper(*a, **k):
        start = time.perf_counter()
        out = jax.block_until_ready(fn(*a, **k))
        TIMES[name] += time.perf_counter() - start
        return out
    return wrapper


if args.cartpole:
    preset = GYM_PRESETS["CartPole-v1"]
    agent = DQN("CartPole-v1", q_network=preset["network"], **preset["options"])
else:
    preset = PRESETS[args.preset]
    agent = DQN("catch", q_network=preset["network"], env_kwargs=preset["env_kwargs"], **preset["options"])


def learn(games):
    if args.cartpole:
        agent.learn(total_timesteps=100 * games, steps_per_epoch=100 * games, verbose=0)
    else:
        agent.learn(total_games=games, games_per_epoch=games, verbose=0)


learn(args.warmup)  # compiles, fills the buffer
agent._fns = dict(agent._fns, act=timed("act", agent._fns["act"]), learn=timed("learn", agent._fns["learn"]))
agent.envs.step = timed("envs", agent.envs.step)
agent.replay.add = timed("store", agent.replay.add)
agent.replay.sample = timed("sample", agent.replay.sample)
steps_before = agent.global_step
start = time.perf_counter()
learn(args.warmup + args.games)
total = time.perf_counter() - start
calls = (agent.global_step - steps_before) // agent.config.n_envs
game = "CartPole-v1" if args.cartpole else f"catch preset {args.preset}"
print(f"arena from {os.path.dirname(arena.__file__)}; {game}: {agent.config.n_envs} envs, "
      f"{agent.config.gradient_steps} updates of {agent.config.batch_size} per learning step; {calls} vector steps, "
      f"{total:.1f} s")
other = total - sum(TIMES.values())
for name in ("act", "envs", "store", "sample", "learn"):
    print(f"  {name:7s} {1000 * TIMES[name] / calls:7.3f} ms / step ({100 * TIMES[name] / total:4.1f} %)")
print(f"  {'other':7s} {1000 * other / calls:7.3f} ms / step ({100 * other / total:4.1f} %)")
print(f"  {'total':7s} {1000 * total / calls:7.3f} ms / step")
