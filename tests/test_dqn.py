"""DQN: the TD target, epsilon, learning on catch, exact resume, callbacks, and clear errors."""

import jax
import numpy as np
import pytest

from arena.agents import DQN, evaluate_q_network
from arena.agents.dqn import Batch, linear_epsilon
from arena.agents.networks import mlp_q_network
from arena.agents.presets import catch_preset
from arena.callbacks import LambdaCallback, ModelCheckpoint, TensorBoard
from arena.nn import clear_session, load_model

SMALL = dict(learning_starts=64, buffer_size=2000, batch_size=16, target_update_interval=64, n_envs=2, seed=3,
             exploration_fraction=0.5)


def small_net(space, n):
    return mlp_q_network(space.shape, n, hidden=(16,))


def tree_equal(a, b):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    return len(la) == len(lb) and all(np.array_equal(x, y) for x, y in zip(la, lb))


def test_epsilon_is_linear_then_constant():
    assert linear_epsilon(0.0, 1.0, 0.1, 0.5) == 1.0
    assert linear_epsilon(0.25, 1.0, 0.1, 0.5) == pytest.approx(0.55)
    assert linear_epsilon(0.5, 1.0, 0.1, 0.5) == pytest.approx(0.1)
    assert linear_epsilon(0.9, 1.0, 0.1, 0.5) == pytest.approx(0.1)


@pytest.mark.parametrize("double_q", [False, True])
def test_td_target_matches_hand_computation(double_q):
    agent = DQN("catch", q_network=small_net, env_kwargs={"obs_type": "state"}, double_q=double_q, gamma=0.9,
                **{**SMALL, "n_envs": 1})
    rng = np.random.default_rng(0)
    # Make online and target networks differ so Double DQN's choice matters.
    target = jax.tree_util.tree_map(lambda p: p + 0.3 * rng.standard_normal(p.shape).astype(p.dtype),
                                    agent._state.params)
    agent._state = agent._state._replace(target_params=target)
    batch = Batch(obs=rng.random((5, 3), np.float32), actions=rng.integers(0, 3, 5),
                  rewards=np.array([0, 1, -1, 0, 0.5], np.float32), next_obs=rng.random((5, 3), np.float32),
                  dones=np.array([0, 1, 1, 0, 0], np.float32))
    got = np.asarray(agent._fns["td_target"](agent._state, batch))

    def q(params, x):  # the MLP by hand: relu(x W1 + b1) W2 + b2
        (l1, l2) = [params[k] for k in params]
        return np.maximum(x @ np.asarray(l1["kernel"]) + np.asarray(l1["bias"]), 0) @ np.asarray(l2["kernel"]) \
            + np.asarray(l2["bias"])
    q_target = q(target, batch.next_obs)
    if double_q:
        best = q(agent._state.params, batch.next_obs).argmax(1)
        q_next = q_target[np.arange(5), best]
    else:
        q_next = q_target.max(1)
    want = batch.rewards + 0.9 * (1 - batch.dones) * q_next
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_training_on_catch_beats_random_play():
    preset = catch_preset("state")
    agent = DQN("catch", q_network=preset["network"], env_kwargs=preset["env_kwargs"], **preset["options"])
    random_wins = evaluate_q_network(agent.q_network, "catch", 100, env_kwargs=preset["env_kwargs"])["wins"]
    agent.learn(total_games=400, games_per_epoch=100, verbose=0)
    wins = evaluate_q_network(agent.q_network, "catch", 100, env_kwargs=preset["env_kwargs"])["wins"]
    assert wins >= 80, (wins, random_wins)
    assert wins >= random_wins + 40


def test_resume_from_checkpoint_equals_uninterrupted_run(tmp_path):
    path = str(tmp_path / "agent.h5")
    # The same layer names in both runs: parameter trees flatten in name order (which fixes, e.g., the
    # order of the global-norm sum), so runs whose names sort differently differ in the last bits.
    clear_session()
    a = DQN("catch", q_network=small_net, env_kwargs={"obs_type": "state"}, **SMALL)
    a.learn(total_games=40, games_per_epoch=10, verbose=0)
    clear_session()
    b = DQN("catch", q_network=small_net, env_kwargs={"obs_type": "state"}, **SMALL)

    def kill(epoch, logs):
        if epoch == 1:
            b.stop_training = True  # as if the process died after the epoch-2 checkpoint
    b.learn(total_games=40, games_per_epoch=10, verbose=0,
            callbacks=[ModelCheckpoint(path), LambdaCallback(on_epoch_end=kill)])
    assert b.games == 20
    c = DQN.load(path)
    assert (c.games, c.epochs_done) == (20, 2)
    c.learn(total_games=40, games_per_epoch=10, verbose=0)
    assert (c.games, c.global_step) == (a.games, a.global_step)
    assert tree_equal(a._state, c._state)


def test_learning_rate_schedule_is_saved_with_the_agent(tmp_path):
    from arena.nn import schedules
    schedule = schedules.PolynomialDecay(1e-3, 100, end_learning_rate=1e-4)
    agent = DQN("catch", q_network=small_net, env_kwargs={"obs_type": "state"}, **{**SMALL, "learning_rate": schedule})
    agent.learn(total_games=10, games_per_epoch=10, verbose=0)
    path = str(tmp_path / "agent.h5")
    agent.save(path)
    loaded = DQN.load(path)
    assert loaded.config.learning_rate.get_config() == schedule.get_config()
    assert int(loaded._state.n_updates) == int(agent._state.n_updates) > 0
    opaque = DQN("catch", q_network=small_net, env_kwargs={"obs_type": "state"},
                 **{**SMALL, "learning_rate": lambda step: 1e-3})
    with pytest.raises(ValueError, match="opaque schedule"):
        opaque.save(str(tmp_path / "opaque.h5"))


def test_checkpoint_holds_a_loadable_q_network(tmp_path):
    agent = DQN("catch", q_network=small_net, env_kwargs={"obs_type": "state"}, **SMALL)
    agent.learn(total_games=10, games_per_epoch=10, verbose=0)
    path = str(tmp_path / "agent.h5")
    agent.save(path)
    model = load_model(path, compile=False)
    obs = np.random.default_rng(0).random((4, 3), np.float32)
    q = np.asarray(agent._fns["q_values"](agent._state.params, agent._state.state, obs))
    np.testing.assert_allclose(model.predict(obs), q, rtol=1e-6)


def test_pixel_agent_with_frame_stacks_trains_a_few_games():
    preset = catch_preset("default")
    agent = DQN("catch", q_network=preset["network"], env_kwargs=preset["env_kwargs"],
                **{**preset["options"], "learning_starts": 64, "n_envs": 2})
    agent.learn(total_games=6, games_per_epoch=6, verbose=0)
    batch = agent.replay.sample(8, np.random.default_rng(0))
    assert batch.obs.shape == (8, 20, 20, 2) and batch.obs.dtype == np.uint8
    assert agent.games == 6 and agent._state.n_updates > 0


def test_double_and_dueling_options_build_and_train():
    agent = DQN("catch", q_network=small_net, env_kwargs={"obs_type": "state"}, double_q=True, dueling=True,
                **SMALL)
    assert agent.q_network.layers[-1].name.endswith("_dueling")
    agent.learn(total_games=6, games_per_epoch=6, verbose=0)
    assert agent._state.n_updates > 0


def test_gymnasium_env_with_timestep_budget():
    agent = DQN("CartPole-v1", q_network=small_net, learning_starts=100, buffer_size=1000, seed=0)
    history = agent.learn(total_timesteps=600, steps_per_epoch=300, verbose=0)
    assert agent.global_step == 600
    assert "charts/episodic_return" in history.history
    assert "charts/win_rate" not in history.history  # CartPole has no wins


def test_tensorboard_logs_rl_scalars(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    agent = DQN("catch", q_network=small_net, env_kwargs={"obs_type": "state"}, **SMALL)
    agent.learn(total_games=20, games_per_epoch=10, verbose=0, callbacks=[TensorBoard(str(tmp_path))])
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    for tag in ("charts/episodic_return", "charts/win_rate", "losses/td_loss", "charts/epsilon", "charts/SPS"):
        assert tag in tags, tags
    steps = [e.step for e in acc.Scalars("charts/win_rate")]
    assert steps == [320, 640]  # logged against environment steps (10 games of 32 steps an epoch)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="discrete action space"):
        DQN("Pendulum-v1")
    with pytest.raises(ValueError, match="Unknown game or environment id 'NoSuchGame-v9'"):
        DQN("NoSuchGame-v9")
    wrong = mlp_q_network((5,), 3)
    with pytest.raises(ValueError, match=r"takes inputs of shape \(5,\).*observations of shape \(3,\)"):
        DQN("catch", q_network=wrong, env_kwargs={"obs_type": "state"})
    with pytest.raises(ValueError, match=r"has 3 actions"):
        DQN("catch", q_network=mlp_q_network((3,), 4), env_kwargs={"obs_type": "state"})
    with pytest.raises(FileNotFoundError):
        DQN.load(str(tmp_path / "missing.h5"))
    bad = tmp_path / "corrupt.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises((ValueError, OSError), match="corrupt.h5"):
        DQN.load(str(bad))
    with pytest.raises(ValueError, match="give exactly one"):
        DQN("catch", q_network=small_net, env_kwargs={"obs_type": "state"}).learn()
