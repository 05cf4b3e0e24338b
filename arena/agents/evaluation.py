"""Greedy evaluation of a Q-network: the book's test (E8.4) plays 100 games and counts the wins."""
import numpy as np

from arena import checks
from arena.agents.networks import check_q_network, greedy_policy
from arena.envs.jax_env import game_over
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


def greedy_games_jax(q, env, env_params, games, key, max_steps=100_000):
    """Play ``games`` greedy games of the JAX environment ``env`` at once, as a pure function to
    compile (``q(obs_batch) -> Q-values``): ``(wins, total return)`` as traced scalars. A game is over
    at its first ``done``; wins are games whose final reward reaches ``env.win_reward``."""
    import jax
    import jax.numpy as jnp
    win_reward = getattr(env, "win_reward", None)
    win_reward = float("inf") if win_reward is None else win_reward  # games that are not won
    obs, state = jax.vmap(env.reset, (0, None))(jax.random.split(key, games), env_params)

    def cond(c):
        return (~c[2]).any() & (c[5] < max_steps)

    def body(c):
        obs, state, done, ret, won, t, key = c
        key, k = jax.random.split(key)
        actions = jnp.argmax(q(obs), axis=-1)
        obs, state, r, term, _ = jax.vmap(env.step_env, (0, 0, 0, None))(jax.random.split(k, games), state, actions,
                                                                        env_params)
        d = jax.vmap(lambda s, t: game_over(env, s, t, env_params))(state, term)
        live = ~done
        return obs, state, done | d, ret + jnp.where(live, r, 0.0), won | (live & d & (r >= win_reward)), t + 1, key
    init = (obs, state, jnp.zeros(games, bool), jnp.zeros(games), jnp.zeros(games, bool), 0, key)
    out = jax.lax.while_loop(cond, body, init)
    return out[4].sum(), out[3].sum()


def record_catch_jax(model, env, games=3, seed=10_000):
    """Greedy games of :class:`arena.envs.CatchJax` drawn as (400, 400, 3) uint8 frames (the first
    screen of each game, then one per step), and the number of wins."""
    import jax
    import jax.numpy as jnp
    from arena.envs.catch import draw_screen
    policy = greedy_policy(model)
    check_q_network(model, env.observation_space(), env.num_actions, "catch")
    step = jax.jit(env.step_env)
    frames, wins = [], 0
    key = jax.random.PRNGKey(seed)
    for _ in range(games):
        key, k = jax.random.split(key)
        obs, state = env.reset(k, env.default_params)
        done, reward = False, 0.0
        while True:
            screen = draw_screen(int(state.ball_x), int(state.ball_y), int(state.paddle_x))
            frames.append(np.repeat(screen[:, :, None], 3, axis=2))
            if done:
                break
            action = policy(model.params, model.state, obs[None])[0]
            key, k = jax.random.split(key)
            obs, state, reward, done, _ = step(k, state, jnp.asarray(action), env.default_params)
            done = bool(done)
        wins += int(float(reward) >= env.win_reward)
    return frames, wins
