"""The compiled agent on catch against the host one, in one run on one machine.

    python benchmarks/bench_compiled_catch.py [--skip-host] [--seeds 16]

Prints:
1. environment steps per second of the JAX catch (pixels 80x80x4 and 10x10x1, state) at 1, 16
   and 256 environments (a compiled scan of random play, compilation excluded), against the
   numpy CatchEnv stepped from Python (alone and in a SyncVectorEnv of 16);
2. FLOPs of one learning step (XLA's cost analysis) of each default preset;
3. the default preset to 99/100 greedy wins: the compiled agent (evaluated on the device every 100
   games) against the host agent (`arena train catch --backend gymnasium`, evaluated every 100
   games), wall time from building the agent, compilation included (and apart);
4. ``--seeds`` seeds of the compiled default preset in one program: wall time, seeds per second,
   and how many seeds reach 99/100 and 95/100.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gymnasium as gym  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from arena.agents import DQN, CompiledDQN  # noqa: E402
from arena.agents.evaluation import evaluate_q_network  # noqa: E402
from arena.agents.presets import catch_preset  # noqa: E402
from arena.callbacks import Callback  # noqa: E402
from arena.envs import CatchEnv, CatchJax  # noqa: E402


def jax_env_rate(env, n_envs, steps):
    """Env steps per second of ``n_envs`` vmapped games under a random policy (compiled, warm)."""
    params = env.default_params

    @jax.jit
    def play(key):
        obs, state = jax.vmap(env.reset, (0, None))(jax.random.split(key, n_envs), params)

        def step(carry, key):
            state, total = carry
            ka, ks = jax.random.split(key)
            actions = jax.random.randint(ka, (n_envs,), 0, 3)
            obs, state, reward, done, _, _ = jax.vmap(env.step, (0, 0, 0, None))(jax.random.split(ks, n_envs), state,
                                                                               actions, params)
            return (state, total + reward.sum() + obs.reshape(n_envs, -1)[:, 0].sum()), None
        return jax.lax.scan(step, (state, 0.0), jax.random.split(key, steps))[0][1]
    jax.block_until_ready(play(jax.random.PRNGKey(0)))
    start = time.perf_counter()
    jax.block_until_ready(play(jax.random.PRNGKey(1)))
    return steps * n_envs / (time.perf_counter() - start)


def numpy_env_rate(make, n_envs, steps):
    if n_envs == 1:
        env = make()
        env.reset(seed=0)
        start = time.perf_counter()
        for a in np.random.default_rng(0).integers(0, 3, steps):
            _, _, terminated, truncated, _ = env.step(int(a))
            if terminated or truncated:
                env.reset()
        return steps / (time.perf_counter() - start)
    venv = gym.vector.SyncVectorEnv([make for _ in range(n_envs)])
    venv.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 3, (steps // n_envs, n_envs))
    start = time.perf_counter()
    for a in actions:
        venv.step(a)
    rate = actions.size / (time.perf_counter() - start)
    venv.close()
    return rate


def env_section():
    print("1. catch environment steps per second (random play)")
    settings = [("pixels 80x80x4", dict(frame_size=80, frame_stack=4)),
                ("pixels 20x20x1", dict(frame_size=20, frame_stack=1)), ("state", dict(obs_type="state"))]
    for name, kw in settings:
        rates = [jax_env_rate(CatchJax(**kw), n, max(200, 20_000 // n)) for n in (1, 16, 256)]
        host = [numpy_env_rate(lambda kw=kw: CatchEnv(**kw), n, 20_000) for n in (1, 16)]
        print(f"   {name:15s} JAX x1 {rates[0]:>12,.0f}  x16 {rates[1]:>12,.0f}  x256 {rates[2]:>12,.0f}   "
              f"numpy x1 {host[0]:>9,.0f}  SyncVectorEnv x16 {host[1]:>9,.0f}   (JAX x256 / numpy x1: "
              f"{rates[2] / host[0]:,.0f}x)")


def learn_flops(agent):
    """FLOPs of one learning step (all its gradient steps) by XLA's cost analysis."""
    cfg = agent.config
    space = agent.observation_space
    obs = jnp.zeros((cfg.gradient_steps, cfg.batch_size) + tuple(space.shape), space.dtype)
    from arena.replay.device import DeviceBatch
    zeros = jnp.zeros((cfg.gradient_steps, cfg.batch_size))
    batch = DeviceBatch(obs, zeros.astype(jnp.int32), zeros, obs, zeros, zeros + cfg.gamma, zeros + 1)
    state = agent._state if isinstance(agent, DQN) else jax.tree_util.tree_map(lambda a: a[0], agent._run.agent)
    if isinstance(agent, DQN):
        batch = batch[:5]
        from arena.replay import Batch
        batch = Batch(*batch)
    compiled = agent._fns["learn"].lower(state, batch, jnp.int32(cfg.learning_starts + 1), jax.random.PRNGKey(0))
    cost = compiled.compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return float(cost.get("flops", float("nan")))


class _UntilTarget(Callback):
    def __init__(self, evaluate, target, start):
        super().__init__()
        self.evaluate, self.target, self.start = evaluate, target, start
        self.curve, self.reached, self.eval_seconds = [], None, 0.0

    def on_epoch_end(self, epoch, logs=None):
        t = time.time()
        wins = self.evaluate()
        self.eval_seconds += time.time() - t
        elapsed = time.time() - self.start - self.eval_seconds
        self.curve.append((logs["games"], wins, elapsed))
        if self.reached is None and wins >= self.target:
            self.reached = (logs["games"], elapsed)
            self.model.stop_training = True


def to_target(backend, games, target=99):
    preset = catch_preset("default", backend)
    start = time.time()
    if backend == "jax":
        agent = CompiledDQN("catch", q_network=preset["network"], env_kwargs=preset["env_kwargs"], **preset["options"])
        evaluate = lambda: int(agent.evaluate(100)["wins"][0])  # noqa: E731
    else:
        agent = DQN("catch", q_network=preset["network"], env_kwargs=preset["env_kwargs"], **preset["options"])
        evaluate = lambda: evaluate_q_network(agent.q_network, "catch", 100, env_kwargs=preset["env_kwargs"])["wins"]  # noqa: E731
    built = time.time() - start
    counted = time.time()
    flops = learn_flops(agent)
    start += time.time() - counted  # the FLOP count's compilation is not part of training
    cb = _UntilTarget(evaluate, target, start)
    agent.learn(total_games=games, games_per_epoch=100, callbacks=[cb], verbose=0)
    return agent, cb, built, flops


def target_section(skip_host, games):
    print("\n2-3. the default preset to 99/100 greedy wins (wall time excludes the greedy evaluations)")
    for backend in ("jax",) + (() if skip_host else ("gymnasium",)):
        agent, cb, built, flops = to_target(backend, games)
        cfg = agent.config
        updates_per_game = 32 / cfg.n_envs / cfg.train_freq * cfg.gradient_steps
        curve = ", ".join(f"{g}:{w}" for g, w, _ in cb.curve)
        print(f"   {backend:10s} FLOPs per learning step {flops:,.0f} ({cfg.gradient_steps} x batch {cfg.batch_size}); "
              f"{updates_per_game:g} updates per game; built in {built:.1f} s")
        if cb.reached:
            print(f"   {backend:10s} reached 99/100 after {cb.reached[0]} games ({cb.reached[0] * updates_per_game:,.0f} "
                  f"updates) in {cb.reached[1]:.1f} s of wall time, compilation included")
        else:
            print(f"   {backend:10s} did not reach 99/100 in {cb.curve[-1][0]} games ({cb.curve[-1][2]:.1f} s)")
        print(f"   {backend:10s} curve (games:wins/100): {curve}")


def seeds_section(seeds):
    print(f"\n4. {seeds} seeds of the compiled default preset in one program")
    preset = catch_preset("default", "jax")
    start = time.time()
    agent = CompiledDQN("catch", q_network=preset["network"], env_kwargs=preset["env_kwargs"], seeds=seeds,
                        **preset["options"])
    agent.learn(total_games=preset["games"], games_per_epoch=preset["games_per_epoch"], verbose=0)
    trained = time.time() - start
    wins = agent.evaluate(100)["wins"]
    print(f"   {seeds} seeds x {preset['games']} games in {trained:.1f} s (compilation included): "
          f"{seeds / trained:.2f} seeds/s; greedy wins/100 per seed {wins.tolist()}")
    print(f"   {(wins >= 99).sum()} seeds >= 99/100, {(wins >= 95).sum()} >= 95/100 (goal: all >= 95, 14 >= 99, "
          f"within 60 s)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--skip-host", action="store_true", help="skip the host agent's (minutes long) run")
    p.add_argument("--seeds", type=int, default=16)
    p.add_argument("--games", type=int, default=3000, help="the most games each agent trains for the target")
    args = p.parse_args(argv)
    print(f"JAX {jax.__version__} on {jax.devices()[0].platform}")
    env_section()
    target_section(args.skip_host, args.games)
    seeds_section(args.seeds)


if __name__ == "__main__":
    main()
