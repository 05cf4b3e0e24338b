"""Greedy evaluation of a Q-network: the book's test (E8.4) plays 100 games and counts the wins."""
import numpy as np

from arena import checks
from arena.agents.networks import check_q_network, greedy_policy
from arena.envs.make import make_env


def evaluate_q_network(model, env_id="catch", n_games=100, seed=10_000, env_kwargs=None, render_mode=None,
                       on_frame=None):
    """Play ``n_games`` greedily (argmax Q, no exploration); returns a dict with ``wins``,
    ``games``, ``mean_return``, ``std_return`` and the list of ``returns``.

    Game i is reset with seed ``seed + i``, so an evaluation is reproducible. ``on_frame(env)`` is
    called after every step (used to record videos)."""
    n_games = checks.integer(n_games, "evaluate: n_games", 1, 2**62 - 1)
    seed = checks.integer(seed, "evaluate: seed", 0, 2**62 - 1)
    env = make_env(env_id, render_mode=render_mode, **(env_kwargs or {}))
    check_q_network(model, env.observation_space, env.action_space.n, env_id)
    policy = greedy_policy(model)
    params, state = model.params, model.state
    win_reward = env.unwrapped.metadata.get("win_reward")
    returns, wins = [], 0
    for game in range(n_games):
        obs, _ = env.reset(seed=seed + game)
        if on_frame:
            on_frame(env)
        total, done, reward = 0.0, False, 0.0
        while not done:
            action = int(policy(params, state, obs[None])[0])
            obs, reward, terminated, truncated, _ = env.step(action)
            total += reward
            done = terminated or truncated
            if on_frame:
                on_frame(env)
        returns.append(total)
        if win_reward is not None and reward >= win_reward:
            wins += 1
    env.close()
    return {"wins": wins, "games": n_games, "mean_return": float(np.mean(returns)),
            "std_return": float(np.std(returns)), "returns": returns}
