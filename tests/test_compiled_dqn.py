"""The compiled DQN: it learns, seeds vmap exactly, a killed run resumes exactly, the one loop's
callbacks see it, and what does not fit is refused clearly."""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium import spaces

from arena.agents import CompiledDQN
from arena.agents.networks import mlp_q_network, q_values
from arena.agents.presets import CATCH_GAME_STEPS
from arena.callbacks import CSVLogger, ModelCheckpoint
from arena.callbacks.base import Callback
from arena.envs.catch_jax import CatchJax
from arena.nn import load_model
from arena.replay.device import DeviceBatch

STATE = {"obs_type": "state"}
FAST = dict(learning_rate=1e-3, buffer_size=5_000, batch_size=32, train_freq=1, gradient_steps=1,
            target_update_interval=128, exploration_fraction=0.5, exploration_final_eps=0.02, n_envs=4,
            learning_starts=10 * CATCH_GAME_STEPS)


def mlp(space, n):
    return mlp_q_network(space.shape, n, hidden=(32,))


def test_a_short_run_beats_random_play():
    options = {**FAST, "learning_rate": 3e-3, "batch_size": 64, "gradient_steps": 2, "n_steps": 4}
    agent = CompiledDQN("catch", q_network=mlp, env_kwargs=STATE, **options)
    random_wins = CompiledDQN("catch", q_network=mlp, env_kwargs=STATE, **options).evaluate(200)["wins"][0]
    agent.learn(total_games=400, games_per_epoch=100, verbose=0)
    assert agent.games == 400 and agent.global_step == 400 * CATCH_GAME_STEPS
    wins = agent.evaluate(200)["wins"][0]
    assert wins >= 150 and wins >= random_wins + 80, (wins, random_wins)


def test_pixels_with_frame_stacks_and_n_step_returns_learn():
    agent = CompiledDQN("catch", q_network=mlp, env_kwargs={"obs_type": "pixels", "frame_size": 10, "frame_stack": 2},
                        n_steps=4, **{**FAST, "learning_rate": 3e-3, "batch_size": 64, "gradient_steps": 2})
    agent.learn(total_games=400, games_per_epoch=200, verbose=0)
    assert agent.evaluate(100)["wins"][0] >= 60


def _final(agent, i=0):
    return jax.tree_util.tree_map(lambda a: np.asarray(a[i]), agent._run)


def test_vmapped_seeds_equal_the_same_seeds_run_one_at_a_time():
    both = CompiledDQN("catch", q_network=mlp, env_kwargs=STATE, seeds=2, seed=3, **FAST)
    both.learn(total_games=20, games_per_epoch=20, verbose=0)
    for i in range(2):
        one = CompiledDQN("catch", q_network=mlp, env_kwargs=STATE, seed=3 + i, **FAST)
        one.learn(total_games=20, games_per_epoch=20, verbose=0)
        both.published_seed = i
        for a, b in zip(both.get_weights(), one.get_weights()):  # in layer order (the agents' names differ)
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        for a, b in zip(jax.tree_util.tree_leaves(_final(both, i)._replace(agent=None)),
                        jax.tree_util.tree_leaves(_final(one)._replace(agent=None))):
            np.testing.assert_array_equal(a, b)  # buffer, environments, keys, counters


def test_a_learning_rate_sweep_gives_each_run_its_rate():
    agent = CompiledDQN("catch", q_network=mlp, env_kwargs=STATE, seeds=2, learning_rates=[1e-3, 1e-2], **FAST)
    from arena.nn.optimizers import get_learning_rate
    np.testing.assert_allclose(np.asarray(get_learning_rate(agent._run.agent.opt_state)), [1e-3, 1e-2])
    with pytest.raises(ValueError, match="one positive rate per seed"):
        CompiledDQN("catch", q_network=mlp, env_kwargs=STATE, seeds=3, learning_rates=[1e-3, 1e-2], **FAST)


def test_a_killed_run_resumes_exactly(tmp_path):
    kwargs = dict(q_network=mlp, env_kwargs={"obs_type": "pixels", "frame_size": 10, "frame_stack": 2}, seeds=2,
                  n_steps=3, **FAST)
    whole = CompiledDQN("catch", **kwargs)
    whole.learn(total_games=40, games_per_epoch=20, verbose=0)

    first = CompiledDQN("catch", **kwargs)
    path = str(tmp_path / "agent.h5")
    first.learn(total_games=40, games_per_epoch=20, verbose=0,
                callbacks=[ModelCheckpoint(path), _StopAfter(1)])
    assert first.games == 20 * 2
    resumed = CompiledDQN.load(path)
    assert (resumed.games, resumed.global_step, resumed.epochs_done) == (40, 20 * CATCH_GAME_STEPS, 1)
    resumed.learn(total_games=40, games_per_epoch=20, verbose=0)
    for a, b in zip(jax.tree_util.tree_leaves(whole._run), jax.tree_util.tree_leaves(resumed._run)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


class _StopAfter(Callback):
    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.epochs:
            self.model.stop_training = True


class _Record(Callback):
    def __init__(self):
        super().__init__()
        self.batches, self.epochs = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(dict(logs))

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(dict(logs))


def test_callbacks_see_the_compiled_run(tmp_path):
    record = _Record()
    csv = str(tmp_path / "progress.csv")
    best = str(tmp_path / "best.h5")
    agent = CompiledDQN("catch", q_network=mlp, env_kwargs=STATE, seeds=3, **FAST)
    agent.learn(total_games=60, games_per_epoch=30, verbose=0, eval_games=10,
                callbacks=[record, CSVLogger(csv), ModelCheckpoint(best, monitor="eval/mean_return",
                                                                   save_best_only=True)])
    assert len(record.epochs) == 2 and record.batches
    logs = record.epochs[-1]
    for key in ("global_step", "games", "charts/epsilon", "charts/SPS", "charts/episodic_return", "charts/win_rate",
                "losses/td_loss", "wins", "charts/win_rate_min", "charts/win_rate_max", "seeds/2/win_rate",
                "eval/mean_return", "eval/wins"):
        assert key in logs, key
    assert logs["games"] == 60 * 3 and logs["global_step"] == 60 * CATCH_GAME_STEPS
    assert logs["charts/win_rate_min"] <= logs["charts/win_rate"] <= logs["charts/win_rate_max"]
    assert "losses/td_loss" in record.batches[-1] and "epoch_games" in record.batches[-1]
    with open(csv) as f:
        assert len(f.read().strip().splitlines()) == 3
    model = load_model(best, compile=False)  # the checkpoint's root is a plain model file
    assert model.outputs[0].shape[-1] == 3


def test_the_td_target_by_hand():
    agent = CompiledDQN("catch", q_network=mlp, env_kwargs=STATE, n_steps=3, double_q=True, **FAST)
    a = jax.tree_util.tree_map(lambda x: x[0], agent._run.agent)
    a = a._replace(target_params=jax.tree_util.tree_map(lambda p: p * 1.5, a.params))
    rng = np.random.default_rng(0)
    next_obs = rng.uniform(size=(5, 3)).astype(np.float32)
    batch = DeviceBatch(obs=next_obs, actions=np.zeros(5, np.int32), rewards=np.arange(5, dtype=np.float32),
                        next_obs=next_obs, dones=np.array([0, 1, 0, 0, 1], np.float32),
                        discounts=np.array([0.9, 0.9, 0.81, 0.5, 0.9], np.float32), weights=np.ones(5, np.float32))
    online = np.asarray(q_values(agent.q_network, a.params, a.state, jnp.asarray(next_obs))[0])
    target = np.asarray(q_values(agent.q_network, a.target_params, a.target_state, jnp.asarray(next_obs))[0])
    best = online.argmax(-1)
    expect = batch.rewards + batch.discounts * (1 - batch.dones) * target[np.arange(5), best]
    np.testing.assert_allclose(np.asarray(agent._fns["td_target"](a, batch)), expect, rtol=1e-5)


class _BoxActions(CatchJax):
    def action_space(self, params=None):
        return spaces.Box(-1.0, 1.0, (1,), np.float32)


def test_clear_errors():
    with pytest.raises(ValueError, match="Unknown game"):
        CompiledDQN("NoSuchGame-v9")
    with pytest.raises(ValueError, match="no JAX version"):
        CompiledDQN("MountainCar-v0")
    with pytest.raises(ValueError, match="discrete action space"):
        CompiledDQN(_BoxActions(obs_type="state"))
    with pytest.raises(ValueError, match=r"inputs of shape \(5,\)"):
        CompiledDQN("catch", q_network=mlp_q_network((5,), 3), env_kwargs=STATE)
    with pytest.raises(ValueError, match="3 actions"):
        CompiledDQN("catch", q_network=mlp_q_network((3,), 4), env_kwargs=STATE)
    with pytest.raises(TypeError, match="unknown option"):
        CompiledDQN("catch", env_kwargs=STATE, learning_rat=1e-3)
    agent = CompiledDQN("catch", q_network=mlp, env_kwargs=STATE, **FAST)
    with pytest.raises(ValueError, match="varying length|total_timesteps"):
        agent.learn()


def test_the_cli_trains_compiled_seeds_and_resumes(tmp_path, capsys):
    from arena.cli import main
    logdir = str(tmp_path / "run")
    code = main(["train", "catch", "--preset", "state", "--seeds", "2", "--games", "40", "--games-per-epoch", "20",
                 "--logdir", logdir, "--verbose", "0"])
    assert code == 0
    out = capsys.readouterr().out
    assert "2 seeds:" in out and "won >= 99/100" in out
    assert os.path.exists(os.path.join(logdir, "agent.h5"))
    assert main(["train", "catch", "--games", "60", "--games-per-epoch", "20", "--logdir", logdir, "--resume",
                 "--verbose", "0"]) == 0
    assert "Trained 120 games" in capsys.readouterr().out  # 2 seeds x 60 games
    gif = str(tmp_path / "catch.gif")
    assert main(["watch", "catch", "--model", os.path.join(logdir, "agent.h5"), "--record", gif, "--games", "2",
                 "--backend", "jax"]) == 0
    assert "recorded 66 frames of 2 games of the JAX environment" in capsys.readouterr().out  # 33 screens a game
    assert os.path.getsize(gif) > 0
    assert main(["train", "catch", "--logdir", logdir, "--resume", "--backend", "gymnasium"]) == 1
    assert "trained with --backend jax" in capsys.readouterr().err
    assert main(["train", "MountainCar-v0", "--seeds", "2", "--logdir", str(tmp_path / "cp")]) == 1
    assert "--backend jax" in capsys.readouterr().err


def test_cartpole_in_jax_learns():
    from arena.agents.presets import gym_preset
    preset = gym_preset("CartPole-v1", "jax")
    agent = CompiledDQN("CartPole-v1", q_network=preset["network"], **preset["options"])
    before = agent.evaluate(20)["mean_return"][0]
    agent.learn(total_timesteps=20_000, steps_per_epoch=10_000, verbose=0)
    after = agent.evaluate(20)["mean_return"][0]
    assert after >= 100 and after >= 5 * before, (before, after)
    assert agent.predict(np.zeros(4, np.float32)) in (0, 1)
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        agent.predict(np.zeros(3))
