"""Hardening of agents, environments and the `arena` command (issue 15): no code from a checkpoint's env
id, bounded options, tampered checkpoints refused, one run per log directory, exact outputs after a
kill, and every bad input one clear error."""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from gymnasium import spaces

from arena.agents import DQN, CompiledDQN, DQNConfig, evaluate_q_network
from arena.agents.networks import mlp_q_network
from arena.cli import LOCK_NAME, main
from arena.envs.make import check_env_id, make_env
from arena.nn import load_model
from arena.replay import FrameStackReplayBuffer, ReplayBuffer

STATE = {"obs_type": "state"}
TINY = dict(learning_starts=64, buffer_size=512, batch_size=8, target_update_interval=64, n_envs=2, seed=1)
MARKER_MODULE = "arena_probe_marker_mod"


def small_net(space, n):
    return mlp_q_network(space.shape, n, hidden=(8,))


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """A real tiny checkpoint, trained long enough to have learned (updates, a filled optimizer state)."""
    path = str(tmp_path_factory.mktemp("ckpt") / "agent.h5")
    agent = DQN("catch", q_network=small_net, env_kwargs=STATE, **TINY)
    agent.learn(total_games=6, games_per_epoch=3, verbose=0)
    assert int(agent._state.n_updates) > 0
    agent.callback_state = {"ModelCheckpoint:x-best.h5:best": 0.5, "note": "kept"}
    agent.save(path)
    return path


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """A finished `arena train catch --preset state` run (4 games)."""
    run = tmp_path_factory.mktemp("clirun")
    assert main(["train", "catch", "--preset", "state", "--games", "4", "--logdir", str(run), "--verbose", "0"]) == 0
    return run


def edited(src, dst, edit):
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        edit(f)
    return str(dst)


def set_info(**changes):
    def edit(f):
        info = json.loads(f.attrs["arena_agent"])
        for k, v in changes.items():
            if isinstance(v, dict) and isinstance(info.get(k), dict):
                info[k].update(v)
            else:
                info[k] = v
        f.attrs["arena_agent"] = json.dumps(info)
    return edit


def replace(name, value, **kwargs):
    def edit(f):
        attrs = dict(f[name].attrs)
        del f[name]
        ds = f.create_dataset(name, data=value, **kwargs)
        ds.attrs.update(attrs)
    return edit


def one_line_error(capsys):
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    return err


# ---- 1. no code from an env id; env options and memory bounded ----------------------------------
@pytest.fixture
def marker(tmp_path, monkeypatch):
    """A module on sys.path that writes a file when imported: it must never be imported."""
    flag = tmp_path / "imported.flag"
    (tmp_path / f"{MARKER_MODULE}.py").write_text(f"open({str(flag)!r}, 'w').write('imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield flag
    assert not flag.exists(), "the module named in the env id was imported"
    assert MARKER_MODULE not in sys.modules


def test_env_id_naming_a_module_is_never_imported(ckpt, tmp_path, marker, capsys):
    evil_id = f"{MARKER_MODULE}:Catch-v0"
    bad = edited(ckpt, tmp_path / "evil.h5", set_info(env_id=evil_id))
    with pytest.raises(ValueError, match=r"evil\.h5.*env_id.*module"):
        DQN.load(bad)
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(bad, run / "agent.h5")
    assert main(["train", "catch", "--resume", "--logdir", str(run), "--games", "8", "--verbose", "0"]) == 1
    assert "refusing environment id" in one_line_error(capsys)
    assert main(["evaluate", "catch", "--model", bad, "--games", "1"]) == 1
    assert "refusing environment id" in one_line_error(capsys)
    with pytest.raises(ValueError, match="module"):
        DQN(evil_id, q_network=small_net)
    with pytest.raises(ValueError, match="module"):
        make_env(evil_id)
    assert main(["train", evil_id, "--logdir", str(tmp_path / "r2")]) == 1
    one_line_error(capsys)


@pytest.mark.parametrize("env_id, message", [
    ("NoSuchGame-v9", "Unknown game"), ("", "non-empty"), (42, "non-empty string"), ("x" * 500, "too long"),
])
def test_only_known_env_ids_are_accepted(env_id, message):
    with pytest.raises(ValueError, match=message):
        check_env_id(env_id)


def test_known_ids_and_aliases_are_accepted():
    assert check_env_id("catch") == check_env_id("arena/Catch-v0") == "arena/Catch-v0"
    assert check_env_id("CartPole-v1") == "CartPole-v1"


def test_checkpoint_config_and_env_options_are_checked(ckpt, tmp_path):
    cases = [
        (set_info(env_id="NoSuchGame-v9"), "Unknown game"),
        (set_info(config={"evil_option": 1}), "unknown DQN option.*evil_option"),
        (set_info(extra_key=1), "unknown key.*extra_key"),
        (set_info(config={"gamma": 5}), "gamma must be"),
        (set_info(config={"seed": 2**70}), "seed must be"),
        (set_info(env_kwargs={"obs_type": "state", "bogus": 1}), "takes no option.*bogus"),
        (set_info(env_kwargs={"obs_type": "pixels", "frame_size": 400, "frame_stack": 200_000}), "frame_stack"),
        (set_info(env_kwargs={"obs_type": "pixels", "frame_size": 7}), "frame_size"),
        (set_info(env_kwargs={"obs_type": "pixels", "frame_size": 400, "frame_stack": 64},
                  config={"buffer_size": 10**6}), "GiB"),
        (set_info(config="not a dict"), "must be a dict"),
        (set_info(algorithm="PPO"), "PPO"),
    ]
    for i, (edit, message) in enumerate(cases):
        bad = edited(ckpt, tmp_path / f"bad{i}.h5", edit)
        with pytest.raises(ValueError, match=f"bad{i}.h5") as info:
            DQN.load(bad)
        assert __import__("re").search(message, str(info.value)), (message, str(info.value))


def test_info_that_is_not_json_is_a_clear_error(ckpt, tmp_path):
    def edit(f):
        f.attrs["arena_agent"] = "[" * 100_000
    bad = edited(ckpt, tmp_path / "deep.h5", edit)
    with pytest.raises(ValueError, match="deep.h5.*not valid JSON"):
        DQN.load(bad)


def test_env_options_and_memory_are_bounded_from_the_api():
    with pytest.raises(ValueError, match="frame_stack"):
        DQN("catch", env_kwargs={"frame_stack": 200_000})
    with pytest.raises(ValueError, match="takes no option.*obs_type"):
        make_env("CartPole-v1", obs_type="state")
    with pytest.raises(ValueError, match=r"buffer_size=100000000.*GiB"):
        DQN("catch", env_kwargs={"frame_size": 80, "frame_stack": 4}, buffer_size=10**8)
    with pytest.raises(ValueError, match="batch_size"):
        DQN("catch", env_kwargs={"frame_size": 400, "frame_stack": 64}, buffer_size=100, batch_size=10_000)
    with pytest.raises(ValueError, match="render_mode"):
        DQN("catch", env_kwargs={"render_mode": "human"})


# ---- 2. DQN options -------------------------------------------------------------------------------
@pytest.mark.parametrize("option, value", [
    ("gamma", 5), ("gamma", -1), ("gamma", float("nan")), ("exploration_final_eps", 2),
    ("exploration_initial_eps", -0.1), ("exploration_fraction", 1.5), ("learning_rate", float("nan")),
    ("learning_rate", 0), ("learning_rate", -1e-3), ("learning_rate", float("inf")), ("learning_rate", "0.1"),
    ("tau", 0), ("tau", 1.5), ("batch_size", 0), ("train_freq", 0), ("gradient_steps", 0),
    ("target_update_interval", 0), ("buffer_size", 0), ("buffer_size", 2.5), ("learning_starts", -1),
    ("n_envs", 0), ("n_envs", 10**6), ("seed", -5), ("seed", 2**70), ("seed", 1.5), ("seed", True),
    ("double_q", "yes"), ("loss", "l1"), ("max_grad_norm", 0), ("batch_size", 2**40),
])
def test_bad_dqn_options_are_clear_errors(option, value):
    with pytest.raises((ValueError, TypeError), match=option):
        DQN("catch", env_kwargs=STATE, **{option: value})
    with pytest.raises((ValueError, TypeError), match=option):
        DQNConfig(**{option: value})


def test_unknown_option_and_buffer_smaller_than_envs():
    with pytest.raises(TypeError, match="unknown option.*gama"):
        DQN("catch", env_kwargs=STATE, gama=0.9)
    with pytest.raises(ValueError, match="buffer_size"):
        DQNConfig(buffer_size=2, n_envs=4)
    assert DQNConfig(buffer_size=1e4).buffer_size == 10_000  # integral floats are fine


def test_predict_checks_the_observation_shape():
    agent = DQN("catch", q_network=small_net, env_kwargs=STATE, **TINY)
    assert agent.predict(np.zeros(3, np.float32)).shape == ()
    assert agent.predict(np.zeros((5, 3), np.float32)).shape == (5,)
    for obs in (np.zeros(5), np.zeros((2, 4)), np.zeros((2, 3, 1)), 1.0):
        with pytest.raises(ValueError, match=r"expected|shape \(3,\).*got shape"):
            agent.predict(obs)
    with pytest.raises(ValueError, match="numbers"):
        agent.predict(np.array(["a", "b", "c"]))


def test_learn_checks_its_budget():
    agent = DQN("catch", q_network=small_net, env_kwargs=STATE, **TINY)
    for kwargs, name in [({"total_games": 0}, "total_games"), ({"total_games": 4, "games_per_epoch": 0},
                                                               "games_per_epoch"),
                         ({"total_timesteps": -1}, "total_timesteps"), ({"total_games": 2.5}, "total_games"),
                         ({"total_games": 4, "eval_games": -1}, "eval_games")]:
        with pytest.raises((ValueError, TypeError), match=name):
            agent.learn(verbose=0, **kwargs)


# ---- epochs capped at the budget; exact resume ------------------------------------------------------
def test_a_budget_smaller_than_an_epoch_trains_exactly_that_many_games():
    agent = DQN("catch", q_network=small_net, env_kwargs=STATE, **{**TINY, "n_envs": 4})
    history = agent.learn(total_games=5, games_per_epoch=100, verbose=0)
    assert agent.games == 5 and agent.epochs_done == 1
    assert len(agent.replay) == 5 * 32  # the idle envs' steps are not stored
    assert history.history["games"] == [5]
    agent.learn(total_games=7, games_per_epoch=100, verbose=0)  # continue: only what is left
    assert agent.games == 7 and agent.epochs_done == 2
    with pytest.raises(ValueError, match="already played 7 games"):
        agent.learn(total_games=6, verbose=0)


def test_exact_resume_with_a_last_short_epoch(tmp_path):
    path = str(tmp_path / "agent.h5")
    a = DQN("catch", q_network=small_net, env_kwargs=STATE, **TINY)
    a.learn(total_games=7, games_per_epoch=3, verbose=0)  # epochs of 3, 3, 1 games: 128 + 128 + 64 env steps
    b = DQN("catch", q_network=small_net, env_kwargs=STATE, **TINY)
    b.learn(total_games=3, games_per_epoch=3, verbose=0)
    b.save(path)
    c = DQN.load(path)
    c.learn(total_games=7, games_per_epoch=3, verbose=0)
    assert (c.games, c.global_step, c.epochs_done) == (a.games, a.global_step, a.epochs_done) == (7, 320, 3)
    la, lc = _leaves_by_layer(a), _leaves_by_layer(c)
    assert len(la) == len(lc)
    for x, y in zip(la, lc):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.replay.obs, c.replay.obs)


def _leaves_by_layer(agent):
    """The learning state's leaves with layer-keyed dicts taken in layer order (the two agents' layers have
    different automatic names, which would order their dicts differently)."""
    import jax
    names = [layer.name for layer in agent.q_network.layers]

    def canon(tree):
        if isinstance(tree, dict):
            keys = [n for n in names if n in tree] if set(tree) <= set(names) else sorted(tree)
            return [canon(tree[k]) for k in keys]
        if isinstance(tree, (list, tuple)):
            return [canon(t) for t in tree]
        return tree
    return jax.tree_util.tree_leaves(canon(jax.tree_util.tree_map(lambda x: x, tuple(agent._state))))


def test_steps_budget_rounds_to_whole_vector_steps():
    agent = DQN("catch", q_network=small_net, env_kwargs=STATE, **TINY)
    agent.learn(total_timesteps=5, steps_per_epoch=3, verbose=0)
    assert agent.global_step == 6  # 2 envs: 5 -> 6 steps, epochs of 3 -> 4 steps: epochs of 4 and 2 steps
    assert agent.epochs_done == 2


# ---- 3. tampered checkpoints ------------------------------------------------------------------------
def _nan_first(group):
    """Put a NaN into the first float dataset under ``group`` (layer names depend on the session)."""
    def edit(f):
        names = []
        f[group].visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) and o.dtype.kind == "f"
                            and o.size else None)
        ds = f[group][names[0]]
        a = ds[()]
        a.flat[0] = np.nan
        ds[...] = a
    return edit


def _nan_callback_value(f):
    del f["agent/callback_state/note"]
    f["agent/callback_state"].create_dataset("note", data=np.float64(np.nan)).attrs["pytree_kind"] = "float"


def _declare_huge(name):
    def edit(f):
        attrs = dict(f[name].attrs)
        del f[name]
        ds = f.create_dataset(name, shape=(2, 10**8, 3), dtype="f4", chunks=(1, 4096, 3), compression="gzip")
        ds.attrs.update(attrs)
    return edit


TAMPERED = {
    "replay count 10**9": (replace("agent/replay/count", np.array([10**9, 10**9])), "replay/count"),
    "replay count off by one": (replace("agent/replay/count", None), "replay/count"),  # filled in below
    "observations a scalar": (replace("agent/replay/obs", np.float32(0.5)), "replay/obs"),
    "observations float64": (None, "replay/obs"),
    "declared-huge observations": (_declare_huge("agent/replay/obs"), "replay/obs"),
    "actions out of range": (None, "replay/actions"),
    "used_slots out of range": (replace("agent/replay/used_slots", 10**9), "replay/used_slots"),
    "negative seq": (replace("agent/replay/seq", np.array([-1, 5])), "replay/seq"),
    "games -10**6": (replace("agent/games", -10**6), "agent/games"),
    "epochs_done 10**6": (replace("agent/epochs_done", 10**6), "agent/epochs_done"),
    "n_updates 10**6": (replace("agent/n_updates", 10**6), "agent/n_updates"),
    "global_step odd": (replace("agent/global_step", 193), "global_step"),
    "games beyond steps": (replace("agent/games", 10**5), "agent/games"),
    "negative optimizer step": (replace("agent/opt_state/1/inner_state/0/count", np.int32(-5)), "opt_state"),
    "NaN optimizer moment": (_nan_first("agent/opt_state/1/inner_state/0/mu"), "opt_state.*non-finite"),
    "NaN target network": (_nan_first("agent/target_params"), "target_params.*non-finite"),
    "NaN online network": (_nan_first("model_weights"), "params.*non-finite"),
    "NaN callback state": (_nan_callback_value, "callback_state"),
    "bad numpy rng": (replace("agent/numpy_rng/bit_generator", "MT19937"), "numpy_rng"),
    "replay capacity": (replace("agent/replay/capacity", 7), "replay/capacity"),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_tampered_checkpoints_do_not_load(ckpt, tmp_path, case):
    edit, field = TAMPERED[case]
    if case == "replay count off by one":
        with h5py.File(ckpt) as f:
            count = f["agent/replay/count"][()]
        edit = replace("agent/replay/count", count + np.array([1, 0]))
    elif case == "observations float64":
        with h5py.File(ckpt) as f:
            obs = f["agent/replay/obs"][()]
        edit = replace("agent/replay/obs", obs.astype(np.float64))
    elif case == "actions out of range":
        with h5py.File(ckpt) as f:
            acts = f["agent/replay/actions"][()]
        acts[0, 0] = 7
        edit = replace("agent/replay/actions", acts)
    bad = edited(ckpt, tmp_path / "tampered.h5", edit)
    with pytest.raises(ValueError, match=f"tampered.h5.*{field}"):
        DQN.load(bad)


def test_untampered_checkpoint_keeps_callback_state(ckpt, tmp_path):
    agent = DQN.load(ckpt)
    assert agent.callback_state == {"ModelCheckpoint:x-best.h5:best": 0.5, "note": "kept"}

    def drop(f):
        del f["agent/callback_state"]
    old = DQN.load(edited(ckpt, tmp_path / "old.h5", drop))  # a checkpoint from before callback_state
    assert old.callback_state == {}
    old.learn(total_games=8, games_per_epoch=2, verbose=0)  # and it trains on


def test_replay_load_state_dict_checks_before_changing_anything():
    space, act = spaces.Box(0, 1, (3,), np.float32), spaces.Discrete(3)
    buf = ReplayBuffer(40, space, act, n_envs=2)
    rng = np.random.default_rng(0)
    for _ in range(7):
        buf.add(rng.random((2, 3), np.float32), rng.random((2, 3), np.float32), [0, 2], [0, 1], [False, True])
    good = buf.state_dict()
    for change, field in [({"count": np.array([10**9, 0])}, "count"), ({"obs": np.float32(1)}, "obs"),
                          ({"rewards": np.full_like(good["rewards"], np.inf)}, "rewards"),
                          ({"has_tr": np.zeros_like(good["has_tr"])}, "count"), ({"used_slots": "7"}, "used_slots"),
                          ({"seq": np.array([7, 9])}, "used_slots")]:
        fresh = ReplayBuffer(40, space, act, n_envs=2)
        with pytest.raises(ValueError, match=f"replay/{field}"):
            fresh.load_state_dict({**good, **change})
        assert len(fresh) == 0
    with pytest.raises(ValueError, match="replay/obs is stored with shape"):
        buf.check_stored_shapes({"obs": (2, 10**9, 3)})
    pix = spaces.Box(0, 255, (8, 8, 2), np.uint8)
    fs = FrameStackReplayBuffer(40, pix, act, n_envs=1)
    with pytest.raises(ValueError, match="replay/ep_pos"):
        fs.load_state_dict({**fs.state_dict(), "ep_pos": np.zeros((1, 0, 1), np.uint8)})


# ---- 4. one run per log directory ------------------------------------------------------------------
def test_a_second_run_on_a_locked_logdir_is_refused(tmp_path, capsys):
    lock = tmp_path / LOCK_NAME
    holder = json.dumps({"pid": os.getpid(), "host": __import__("socket").gethostname()})
    lock.write_text(holder)
    assert main(["train", "catch", "--preset", "state", "--games", "4", "--logdir", str(tmp_path),
                 "--verbose", "0"]) == 1
    assert "another `arena train`" in one_line_error(capsys)
    assert lock.read_text() == holder  # the holder's lock is left alone
    assert not (tmp_path / "progress.csv").exists()


def test_a_stale_lock_is_taken_over_and_released(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": dead.pid, "host": __import__("socket").gethostname()}))
    assert main(["train", "catch", "--preset", "state", "--games", "4", "--logdir", str(tmp_path),
                 "--verbose", "0"]) == 0
    assert not (tmp_path / LOCK_NAME).exists()


def test_lock_is_released_on_errors(tmp_path, capsys):
    assert main(["train", "catch", "--preset", "nope", "--logdir", str(tmp_path)]) == 1
    one_line_error(capsys)
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_finished_logdir_is_not_reused_without_resume(cli_run, capsys):
    assert main(["train", "catch", "--preset", "state", "--games", "4", "--logdir", str(cli_run),
                 "--verbose", "0"]) == 1
    assert "already holds a run" in one_line_error(capsys) and not (cli_run / LOCK_NAME).exists()


# ---- 6./7. CLI numbers and errors --------------------------------------------------------------------
@pytest.mark.parametrize("argv, name", [
    (["train", "catch", "--games", "0"], "--games"),
    (["train", "catch", "--envs", "0"], "--envs"),
    (["train", "catch", "--games-per-epoch", "0"], "--games-per-epoch"),
    (["train", "CartPole-v1", "--timesteps", "0"], "--timesteps"),
    (["train", "catch", "--seed", str(2**70)], "--seed"),
    (["train", "catch", "--seed", "2**70"], "--seed"),
    (["train", "catch", "--eval-games", "-1"], "--eval-games"),
    (["evaluate", "catch", "--model", "x.h5", "--seed", "-5"], "--seed"),
    (["evaluate", "catch", "--model", "x.h5", "--games", "0"], "--games"),
    (["watch", "catch", "--model", "x.h5", "--fps", "0"], "--fps"),
    (["watch", "catch", "--model", "x.h5", "--games", "0"], "--games"),
    (["play", "catch", "--balls", "0"], "--balls"),
])
def test_bad_numbers_on_the_command_line(argv, name, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = one_line_error(capsys)
    assert name in err and "error" in err


def test_games_5_trains_5_games(tmp_path, capsys):
    assert main(["train", "catch", "--preset", "state", "--games", "5", "--games-per-epoch", "2",
                 "--logdir", str(tmp_path), "--verbose", "0", "--backend", "gymnasium"]) == 0
    assert "Trained 5 games" in capsys.readouterr().out
    # the compiled agent plays its 4 envs in lock step: whole rounds of 4 games
    assert main(["train", "catch", "--preset", "state", "--games", "5", "--games-per-epoch", "2",
                 "--logdir", str(tmp_path / "jax"), "--verbose", "0"]) == 0
    assert "Trained 8 games" in capsys.readouterr().out
    with open(tmp_path / "progress.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert [float(r["games"]) for r in rows] == [2, 4, 5]


def test_resume_conflicts_are_named(cli_run, capsys):
    base = ["train", "catch", "--resume", "--logdir", str(cli_run), "--games", "4", "--verbose", "0"]
    for extra, name in [(["--envs", "2"], "--envs 2"), (["--seed", "7"], "--seed 7"),
                        (["--preset", "book"], "--preset book")]:
        assert main(base + extra) == 1
        err = one_line_error(capsys)
        assert name in err and "checkpoint" in err
    # the checkpoint's own values are accepted (nothing left to train: 4 of 4 games played)
    assert main(base + ["--envs", "4", "--seed", "0", "--preset", "state"]) == 0
    capsys.readouterr()
    assert main(["train", "CartPole-v1", "--resume", "--logdir", str(cli_run), "--verbose", "0"]) == 1
    assert "is a checkpoint of 'catch', not of 'CartPole-v1'" in one_line_error(capsys)


def test_unwritable_out_fails_before_training(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["train", "catch", "--preset", "state", "--games", "4", "--logdir", str(tmp_path / "run"),
                 "--out", str(tmp_path / "afile" / "agent.h5"), "--verbose", "0"]) == 1
    assert "--out" in one_line_error(capsys)
    assert not (tmp_path / "run" / "progress.csv").exists()
    assert main(["train", "catch", "--logdir", str(tmp_path / "afile" / "run")]) == 1
    assert "--logdir" in one_line_error(capsys)


def test_errors_are_one_line_and_debug_shows_the_traceback(tmp_path, capsys):
    missing = str(tmp_path / "missing.h5")
    assert main(["evaluate", "catch", "--model", missing]) == 1
    assert one_line_error(capsys).startswith("arena: error: ")
    with pytest.raises(FileNotFoundError):
        main(["--debug", "evaluate", "catch", "--model", missing])
    with pytest.raises(FileNotFoundError):
        main(["evaluate", "catch", "--model", missing, "--debug"])
    assert main(["train", "catch", "--games", "3", "--timesteps", "3", "--logdir", str(tmp_path / "r")]) == 1
    assert "not both" in one_line_error(capsys)
    assert main(["train", "CartPole-v1", "--preset", "state", "--logdir", str(tmp_path / "r")]) == 1
    assert "--preset" in one_line_error(capsys)


# ---- 8. plot -------------------------------------------------------------------------------------------
def test_plot_reads_na_cells_and_draws_late_columns(tmp_path, monkeypatch):
    from matplotlib.figure import Figure
    (tmp_path / "progress.csv").write_text(
        "epoch,charts/win_rate,games,losses/td_loss\n"
        "0,0.3,100,NA\n"
        "1,0.4,200,0.5\n"
        "2,NA,300,\n"
        "3,0.6,400,0.25\n")
    figures = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: (figures.append(self), save(self, *a, **k))[1])
    assert main(["plot", str(tmp_path)]) == 0
    loss_axes, wins_axes = figures[0].axes
    np.testing.assert_allclose(loss_axes.lines[0].get_xydata(), [[200, 0.5], [400, 0.25]])
    np.testing.assert_allclose(wins_axes.lines[0].get_xydata(), [[100, 30], [200, 40], [400, 60]])


# ---- 5. kill and resume: the outputs are exact -------------------------------------------------------------
def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("backend", ["gymnasium", "jax"])
def test_kill_and_resume_keeps_outputs_exact(tmp_path, backend):
    run = tmp_path / "run"
    games = 240 if backend == "gymnasium" else 1200  # the compiled agent's epochs take milliseconds
    argv = [sys.executable, "-m", "arena.cli", "train", "catch", "--preset", "state", "--games", str(games),
            "--games-per-epoch", "8", "--eval-games", "3", "--logdir", str(run), "--verbose", "0",
            "--backend", backend]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:  # the first checkpoint, a few epochs in
            if (run / "agent.h5").exists() and (run / "progress.csv").exists() and \
                    len(_rows(run / "progress.csv")) >= 3:
                break
            time.sleep(0.01)
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()}"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert (run / LOCK_NAME).exists()  # the killed run's lock: stale, taken over below
    done = subprocess.run(argv + ["--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"Trained {games} games" in done.stdout
    rows = _rows(run / "progress.csv")
    epochs = games // 8
    assert [int(r["epoch"]) for r in rows] == list(range(epochs))  # each epoch exactly once
    assert [float(r["games"]) for r in rows] == [8.0 * (i + 1) for i in range(epochs)]
    # The best model never regressed: it is the model of the best evaluation of the whole run.
    best_score = max(float(r["eval/mean_return"]) for r in rows)
    model = load_model(str(run / "agent-best.h5"), compile=False)
    if backend == "gymnasium":  # (the compiled agent evaluates on the device, in other games)
        assert evaluate_q_network(model, "catch", 3, env_kwargs=STATE)["mean_return"] == best_score
    agent = (DQN if backend == "gymnasium" else CompiledDQN).load(str(run / "agent.h5"))
    kept = {k: v for k, v in agent.callback_state.items() if k.endswith(":best")}
    assert list(kept.values()) == [best_score], agent.callback_state
    leftovers = [n for n in os.listdir(run) if n.endswith(".tmp") or n == LOCK_NAME]
    assert not leftovers, leftovers


@pytest.mark.parametrize("backend", ["gymnasium", "jax"])
def test_checkpoint_holds_the_best_score_just_updated(tmp_path, monkeypatch, backend):
    """The best-model ModelCheckpoint runs before the run's checkpoint, so every checkpoint written
    holds the best evaluation score so far (a resumed run starts from it)."""
    saves = []
    cls = DQN if backend == "gymnasium" else CompiledDQN
    original = cls.save

    def recording_save(self, path):
        saves.append((os.path.basename(path), dict(self.callback_state)))
        original(self, path)
    monkeypatch.setattr(cls, "save", recording_save)
    assert main(["train", "catch", "--preset", "state", "--games", "12", "--games-per-epoch", "4",
                 "--eval-games", "2", "--logdir", str(tmp_path), "--verbose", "0", "--backend", backend]) == 0
    scores = [float(r["eval/mean_return"]) for r in _rows(tmp_path / "progress.csv")]
    checkpoints = [state for name, state in saves if name == "agent.h5"]
    assert len(checkpoints) == 3
    for epoch, state in enumerate(checkpoints):
        best = [v for k, v in state.items() if k.endswith("agent-best.h5:best")]
        assert best == [max(scores[:epoch + 1])], (epoch, state, scores)
    assert saves[0][0] == "agent-best.h5"  # the first evaluation always improves on nothing


@pytest.mark.parametrize("where", ["agent", "agent/replay", "agent/opt_state"])
def test_links_in_an_agent_checkpoint_are_refused(ckpt, tmp_path, where):
    """An external link to another HDF5 file (or a soft link) anywhere in the training state is refused."""
    other = tmp_path / "other.h5"
    shutil.copy(ckpt, other)

    def edit(f):
        del f[where]
        f[where] = h5py.ExternalLink(str(other), "/" + where)
    path = edited(ckpt, tmp_path / "linked.h5", edit)
    with pytest.raises(ValueError, match="external link"):
        DQN.load(path)

    def soft(f):
        f.move(where, where + "_moved")
        f[where] = h5py.SoftLink("/" + where + "_moved")
    with pytest.raises(ValueError, match="soft link"):
        DQN.load(edited(ckpt, tmp_path / "soft.h5", soft))
