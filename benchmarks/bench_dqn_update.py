"""The book's Q-network update at batch 32 (TD target from a target network included):
Arena's DQN update step over a hand-written ``jax.jit`` + optax step of the same network, loss
and optimizer, measured in the same run on the same batches. Goal: ratio <= 1.10.

    python benchmarks/bench_dqn_update.py [--dtype-policy mixed_bfloat16]

``--dtype-policy`` also times Arena's step with the Q-network in that dtype policy
(``arena.nn.mixed_precision``) against its float32 step (a GPU's 16-bit units; on a CPU it costs)."""
import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from arena.agents import DQN
from arena.agents.dqn import Batch, _DQNTask
from arena.agents.networks import book_q_network

GAMMA, LR, CLIP = 0.99, 2.5e-4, 10.0


def hand_written(params):
    """What a competent JAX user writes: the same convs and denses with lax/jnp, one jitted step."""
    def conv(x, w, b, s):
        y = jax.lax.conv_general_dilated(x, w, (s, s), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return jax.nn.relu(y + b)

    names = [n for n in params if params[n]]  # the five layers with weights

    def q(p, x):
        x = x.astype(jnp.float32) / 255.0
        c1, c2, c3, d1, d2 = (p[n] for n in names)
        x = conv(x, c1["kernel"], c1["bias"], 4)
        x = conv(x, c2["kernel"], c2["bias"], 2)
        x = conv(x, c3["kernel"], c3["bias"], 1)
        x = jax.nn.relu(x.reshape(x.shape[0], -1) @ d1["kernel"] + d1["bias"])
        return x @ d2["kernel"] + d2["bias"]

    tx = optax.chain(optax.clip_by_global_norm(CLIP), optax.adam(LR))

    @jax.jit
    def step(p, target, opt_state, obs, actions, rewards, next_obs, dones):
        y = rewards + GAMMA * (1.0 - dones) * q(target, next_obs).max(-1)

        def loss(p):
            qa = jnp.take_along_axis(q(p, obs), actions[:, None], axis=-1)[:, 0]
            return optax.huber_loss(qa - y).mean()
        l, g = jax.value_and_grad(loss)(p)
        u, opt_state = tx.update(g, opt_state, p)
        return optax.apply_updates(p, u), opt_state, l
    return step, tx


def timeit(fn, n):
    start = time.perf_counter()
    for _ in range(n):
        out = fn()
    jax.block_until_ready(out)
    return (time.perf_counter() - start) / n


def make_agent():
    return DQN("catch", q_network=lambda s, n: book_q_network(s.shape, n),
                env_kwargs={"obs_type": "pixels", "frame_size": 80, "frame_stack": 4},
               learning_rate=LR, max_grad_norm=CLIP, gamma=GAMMA, loss="huber", batch_size=32, buffer_size=1000)


def arena_stepper(agent, batch):
    """What the loop calls for one learning step: stack the batch, then the jitted update."""
    task = _DQNTask(agent, ("games", 1), 1)
    task.loss_sum, task.n_losses, task.epsilon, task.epoch_games, task.epoch_steps, task.wins = 0.0, 0, 0.1, 0, 0, []
    calls = agent.config.learning_starts + 1  # a vector-env call at which an update is due, no target sync

    stacked = Batch(*(np.asarray(a)[None] for a in batch))  # (gradient_steps=1, batch, ...), as the task yields

    def arena_step():
        task.train_step((calls, stacked))
        return agent._state.params
    return arena_step


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dtype-policy", default=None, help="also time Arena's step in this dtype policy")
    opts = p.parse_args()
    agent = make_agent()
    rng = np.random.default_rng(0)
    batch = Batch(obs=rng.integers(0, 256, (32, 80, 80, 4), dtype=np.uint8), actions=rng.integers(0, 3, 32),
                  rewards=rng.choice([-1.0, 0.0, 1.0], 32).astype(np.float32),
                  next_obs=rng.integers(0, 256, (32, 80, 80, 4), dtype=np.uint8),
                  dones=(rng.random(32) < 0.1).astype(np.float32))
    arena_step = arena_stepper(agent, batch)

    step, tx = hand_written(agent._state.params)
    hp = {"p": agent._state.params, "o": tx.init(agent._state.params)}
    target = agent._state.target_params
    args = [jnp.asarray(batch.obs), jnp.asarray(batch.actions), jnp.asarray(batch.rewards),
            jnp.asarray(batch.next_obs), jnp.asarray(batch.dones)]

    def hand_step():
        hp["p"], hp["o"], l = step(hp["p"], target, hp["o"], *[np.asarray(a) for a in args])
        return hp["p"]

    arena_step(), hand_step()  # compile
    n, rounds = 20, 5
    a_times, h_times = [], []
    for _ in range(rounds):  # interleaved, medians: the machine is shared
        a_times.append(timeit(arena_step, n))
        h_times.append(timeit(hand_step, n))
    a, h = statistics.median(a_times), statistics.median(h_times)
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()})")
    print(f"book Q-network update, batch 32: arena {a * 1e3:.2f} ms, hand-written jax.jit+optax {h * 1e3:.2f} ms, "
          f"ratio {a / h:.3f} (goal <= 1.10)")
    if opts.dtype_policy:
        from arena.nn import mixed_precision
        mixed_precision.set_dtype_policy(opts.dtype_policy)
        low = arena_stepper(make_agent(), batch)
        mixed_precision.set_dtype_policy("float32")
        low()  # compile
        m_times, a_times = [], []
        for _ in range(rounds):
            m_times.append(timeit(low, n))
            a_times.append(timeit(arena_step, n))
        m, a = statistics.median(m_times), statistics.median(a_times)
        print(f"book Q-network update, batch 32: arena {opts.dtype_policy} {m * 1e3:.2f} ms, float32 {a * 1e3:.2f} ms, "
              f"ratio {m / a:.3f}")


if __name__ == "__main__":
    main()
