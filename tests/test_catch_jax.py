"""The JAX catch game plays exactly as the numpy CatchEnv: same spawns and actions give the same frames,
state observations, rewards and game ends, for every frame size, stack, wall rule and spawn range."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from arena.envs.catch import CatchEnv
from arena.envs.catch_jax import CatchJax


@pytest.mark.parametrize("obs_type,frame_size,frame_stack,spawn,walls", [
    ("pixels", 80, 4, "arena", "bounce"),
    ("pixels", 20, 1, "book", "clamp"),
    ("pixels", 40, 2, (370, 400), "bounce"),
    ("state", 80, 4, "book", "bounce"),
])
def test_same_spawns_and_actions_give_the_numpy_env_s_games(obs_type, frame_size, frame_stack, spawn, walls):
    kwargs = dict(obs_type=obs_type, frame_size=frame_size, frame_stack=frame_stack, spawn=spawn, walls=walls)
    jenv, nenv = CatchJax(**kwargs), CatchEnv(**kwargs)
    params = jenv.default_params
    reset, start, step = jax.jit(jenv.reset_env), jax.jit(jenv.start), jax.jit(jenv.step_env)
    rng = np.random.default_rng(0)

    def same(got, want):  # frames bit for bit; positions / 400 within XLA's rounding (it may multiply by 1/400)
        if obs_type == "pixels":
            np.testing.assert_array_equal(np.asarray(got), want)
        else:
            np.testing.assert_allclose(np.asarray(got), want, rtol=2e-7, atol=0)
    lo, hi = nenv.spawn_range
    for game in range(12):
        _, state = reset(jax.random.PRNGKey(game), params)
        assert lo <= int(state.ball_x) <= hi
        paddle = int(rng.integers(0, 351)) if game % 3 else 200  # also starts at the walls' edges
        obs, state = start(state.ball_x, paddle)
        want, _ = nenv.reset(seed=game, options={"ball_x": int(state.ball_x), "paddle_x": paddle})
        same(obs, want)
        done = False
        while not done:
            action = int(rng.integers(0, 3)) if game % 2 else (0 if game % 4 == 0 else 2)  # random, or run at a wall
            obs, state, reward, done, info = step(jax.random.PRNGKey(1000 + game), state, action, params)
            want, want_reward, want_done, _, want_info = nenv.step(action)
            same(obs, want)
            assert (float(reward), bool(done)) == (want_reward, want_done)
            assert int(info["paddle_x"]) == want_info["paddle_x"]
            done = bool(done)
        assert bool(info["win"]) == want_info["win"] and int(state.steps) == 32


def test_step_resets_a_finished_game_and_vmaps_over_many_games():
    env = CatchJax(frame_size=20, frame_stack=2)
    keys = jax.random.split(jax.random.PRNGKey(0), 256)
    obs, state = jax.vmap(env.reset)(keys)
    assert obs.shape == (256, 20, 20, 2) and obs.dtype == jnp.uint8

    def play(carry, key):
        state = carry
        keys = jax.random.split(key, 256)
        actions = jax.random.randint(key, (256,), 0, 3)
        obs, state, reward, done, truncated, info = jax.vmap(env.step)(keys, state, actions)
        return state, (reward, done, state.steps, info["win"])
    _, (reward, done, steps, win) = jax.lax.scan(play, state, jax.random.split(jax.random.PRNGKey(1), 64))
    done, reward, steps, win = map(np.asarray, (done, reward, steps, win))
    assert done[31].all() and not done[:31].any() and done[63].all()  # every game is 32 steps
    assert (steps[31] == 0).all() and (steps[32] == 1).all()  # reset at once: the next step is a new game's first
    assert set(np.unique(reward[done])) <= {-1.0, 1.0} and (reward[~done] == 0).all()
    np.testing.assert_array_equal(win[done], reward[done] > 0)
    assert 0.05 < win[done].mean() < 0.5  # a random paddle catches some balls, not most


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="frame_size must be a positive divisor of 400"):
        CatchJax(frame_size=30)
    with pytest.raises(ValueError, match="frame_stack must be an int in 1..64"):
        CatchJax(frame_stack=0)
    with pytest.raises(ValueError, match="obs_type must be one of"):
        CatchJax(obs_type="rgb")
