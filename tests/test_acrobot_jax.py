"""The JAX Acrobot against Gymnasium's, step for step."""
import gymnasium as gym
import jax
import numpy as np
import pytest

from arena.envs.acrobot_jax import AcrobotJax


@pytest.mark.parametrize("seed", [0, 1])
def test_steps_equal_gymnasium(seed):
    """Every step from Gymnasium's state (float64) gives Gymnasium's next observation to float32
    precision, and the same reward and end; a swinging policy reaches the goal."""
    ref = gym.make("Acrobot-v1").unwrapped
    ref.reset(seed=seed)
    env = AcrobotJax()
    step = jax.jit(env.step_env)
    rng = np.random.default_rng(seed)
    for t in range(500):
        _, state = env.start(*ref.state)
        # push with the links' swing (pumps energy in), with some noise
        action = int(rng.integers(0, 3)) if t % 4 == 0 else (2 if ref.state[2] + ref.state[3] > 0 else 0)
        obs_ref, reward_ref, terminated, _, _ = ref.step(action)
        obs, state, reward, done, _ = step(jax.random.key(t), state, action, env.default_params)
        np.testing.assert_allclose(np.asarray(obs), obs_ref, rtol=1e-4, atol=1e-4)
        assert float(reward) == reward_ref
        assert bool(done) == terminated
        if terminated:
            break
    else:
        pytest.fail("the swinging policy never reached the goal")


def test_the_step_limit_truncates_and_step_resets():
    env = AcrobotJax(max_episode_steps=3)
    obs, state = env.start(0.0, 0.0, 0.0, 0.0)
    for t in range(3):
        obs, state, reward, terminated, truncated, info = env.step(jax.random.key(t), state, 1, env.default_params)
        assert float(reward) == -1.0
    assert bool(truncated) and not bool(terminated) and int(state.steps) == 0
    assert env.observation_space().shape == (6,) and env.action_space().n == 3
    with pytest.raises(ValueError, match="max_episode_steps"):
        AcrobotJax(max_episode_steps=0)


def test_compiled_dqn_learns_acrobot():
    """The `arena train Acrobot-v1` preset: greedy games reach the goal (random play never does in
    500 steps; Gymnasium counts -100 as solved)."""
    from arena.agents import CompiledDQN
    from arena.agents.presets import gym_preset
    preset = gym_preset("Acrobot-v1", "jax")
    agent = CompiledDQN("Acrobot-v1", q_network=preset["network"], **preset["options"])
    agent.learn(total_timesteps=preset["timesteps"], steps_per_epoch=preset["steps_per_epoch"], verbose=0)
    assert float(agent.evaluate(50)["mean_return"][0]) > -150
