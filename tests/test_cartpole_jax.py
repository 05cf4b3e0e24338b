"""The JAX CartPole against Gymnasium's, step for step."""
import gymnasium as gym
import jax
import numpy as np
import pytest

from arena.envs.cartpole_jax import CartPoleJax


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_steps_equal_gymnasium(seed):
    """Every step from Gymnasium's state (float64) gives Gymnasium's next observation to float32
    precision; the ends agree (trajectories themselves drift apart: the pole is chaotic)."""
    ref = gym.make("CartPole-v1").unwrapped
    ref.reset(seed=seed)
    env = CartPoleJax()
    step = jax.jit(env.step_env)
    rng = np.random.default_rng(seed)
    for t in range(500):
        _, state = env.start(*ref.state)
        action = int(rng.integers(0, 2)) if t % 3 else int(ref.state[2] > 0)  # some balancing, some noise
        obs_ref, reward_ref, terminated, truncated, _ = ref.step(action)
        obs, state, reward, fell, _ = step(jax.random.PRNGKey(t), state, action, env.default_params)
        np.testing.assert_allclose(np.asarray(obs), obs_ref, rtol=1e-5, atol=1e-6)
        assert float(reward) == reward_ref == 1.0
        assert bool(fell) == terminated
        if terminated:
            break
    else:
        pytest.fail("the game never ended")


def test_the_step_limit_ends_a_game_and_step_resets():
    env = CartPoleJax(max_episode_steps=3)
    obs, state = env.start(0.0, 0.0, 0.0, 0.0)
    for t in range(3):
        obs, state, reward, terminated, truncated, info = env.step(jax.random.PRNGKey(t), state, t % 2,
                                                                   env.default_params)
    assert bool(truncated) and not bool(terminated) and info["final_observation"].shape == (4,)
    assert int(state.steps) == 0 and np.all(np.abs(np.asarray(obs)) <= 0.05)  # a new game started
    obs, state = jax.vmap(env.reset, (0, None))(jax.random.split(jax.random.PRNGKey(0), 8), env.default_params)
    assert obs.shape == (8, 4) and env.observation_space().shape == (4,) and env.action_space().n == 2
