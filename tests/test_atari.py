"""Atari through ale-py with DQN's preprocessing (arena.envs.atari)."""
import numpy as np
import pytest

pytest.importorskip("ale_py")
pytest.importorskip("cv2")

from arena.envs.atari import EpisodicLife, FireOnReset  # noqa: E402
from arena.envs.make import check_env_id, make_env  # noqa: E402

GAME = "ALE/Breakout-v5"


def _wrappers(env):
    found = []
    while hasattr(env, "env"):
        found.append(type(env))
        env = env.env
    return found


def test_frames_are_84x84x4_uint8_stacks_that_shift_by_one_frame():
    env = make_env(GAME)
    assert env.observation_space.shape == (84, 84, 4) and env.observation_space.dtype == np.uint8
    obs, _ = env.reset(seed=0)
    assert obs.shape == (84, 84, 4) and obs.dtype == np.uint8
    assert all(np.array_equal(obs[..., 0], obs[..., i]) for i in range(4))  # a game starts with its frame repeated
    for _ in range(20):
        nxt, *_ = env.step(env.action_space.sample())
        np.testing.assert_array_equal(nxt[..., :-1], obs[..., 1:])  # what the replay buffer relies on
        obs = nxt
    assert obs[..., -1].max() > obs[..., -1].min()  # a real screen, not a blank one
    assert FireOnReset in _wrappers(env) and EpisodicLife not in _wrappers(env)


def test_training_ends_episodes_at_lost_lives_and_clips_rewards_evaluation_plays_whole_games():
    train = make_env(GAME, training=True)
    assert EpisodicLife in _wrappers(train)
    train.reset(seed=1)
    ale = train.unwrapped.ale
    lives, rewards, episodes = ale.lives(), [], 0
    while episodes < 2:
        _, r, terminated, truncated, _ = train.step(train.action_space.sample())
        rewards.append(r)
        if terminated or truncated:
            episodes += 1
            assert ale.lives() == lives - 1  # one life lost: the episode ends, the game goes on
            lives = ale.lives()
            train.reset()
            assert ale.lives() == lives  # the reset continued the same game
    assert max(rewards) <= 1.0

    whole = make_env(GAME)
    whole.reset(seed=1)
    lengths = 0
    while True:
        _, r, terminated, truncated, _ = whole.step(whole.action_space.sample())
        lengths += 1
        if terminated or truncated:
            break
    assert whole.unwrapped.ale.lives() == 0 and terminated  # one episode is the whole game, all 5 lives


def test_atari_options_and_ids_are_checked():
    with pytest.raises(ValueError, match="frameskip"):
        make_env(GAME, frameskip=4)
    with pytest.raises(ValueError, match="Unknown game"):
        check_env_id("ALE/NoSuchGame-v5")
    assert check_env_id(GAME) == GAME


def test_cli_trains_and_evaluates_an_atari_game(tmp_path, capsys):
    """`arena train ALE/Breakout-v5` builds the Nature DQN on preprocessed frames (a few steps
    here; learning itself is benchmarks/bench_atari.py's), then `arena evaluate` plays whole games."""
    import h5py

    from arena.cli import main
    out = str(tmp_path / "agent.h5")
    assert main(["train", "ALE/Breakout-v5", "--timesteps", "300", "--steps-per-epoch", "300", "--eval-games", "0",
                 "--logdir", str(tmp_path), "--out", out, "--verbose", "0"]) == 0
    with h5py.File(out) as f:
        assert "nature_q_network" in f.attrs["model_config"]
    assert main(["evaluate", "ALE/Breakout-v5", "--model", out, "--games", "1"]) == 0
    assert "mean return over 1 games" in capsys.readouterr().out
