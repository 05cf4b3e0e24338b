"""Replay buffers: contents round-trip, eviction, sampling, memory, checkpoints."""

import numpy as np
import pytest
from gymnasium import spaces

from arena.envs import CatchEnv
from arena.replay import Batch, FrameStackReplayBuffer, ReplayBuffer

PIX = spaces.Box(0, 255, (80, 80, 4), np.uint8)
ACT = spaces.Discrete(3)


def rollout(buffers, n_envs, steps, seed=0, truncate_p=0.0, frame_size=20, obs_type="pixels",
            delay=()):
    """Run n_envs catch envs with random actions, adding every transition to `buffers`.

    Returns the transitions in the order added: (obs, next_obs, action, reward, terminated,
    truncated). Games are truncated at random with probability `truncate_p` per step (the
    env is then reset), and env i only starts adding after `delay[i]` steps (masked).
    """
    rng = np.random.default_rng(seed)
    envs = [CatchEnv(obs_type=obs_type, frame_size=frame_size) for _ in range(n_envs)]
    obs = [env.reset(seed=seed * 100 + i)[0] for i, env in enumerate(envs)]
    added = []
    for step in range(steps):
        acts = rng.integers(0, 3, n_envs)
        res = [env.step(int(a)) for env, a in zip(envs, acts)]
        nobs = np.stack([r[0] for r in res])
        rew = np.array([r[1] for r in res], np.float32)
        term = np.array([r[2] for r in res])
        trunc = ~term & (rng.random(n_envs) < truncate_p)
        mask = np.array([step >= (delay[i] if i < len(delay) else 0) for i in range(n_envs)])
        for b in buffers:
            b.add(np.stack(obs), nobs, acts, rew, term, trunc, mask=mask)
        added += [(obs[i], nobs[i], int(acts[i]), float(rew[i]), bool(term[i]), bool(trunc[i]))
                  for i in range(n_envs) if mask[i]]
        obs = [env.reset()[0] if term[i] or trunc[i] else nobs[i] for i, env in enumerate(envs)]
    return added


def key(o, no, a, r, d):
    return (o.tobytes(), no.tobytes(), int(a), float(r), bool(d))


def keys_of(transitions):
    return {key(o, no, a, r, term) for o, no, a, r, term, _ in transitions}


def sampled_keys(batch):
    return [key(*x) for x in zip(batch.obs, batch.next_obs, batch.actions, batch.rewards, batch.dones)]


def stack_space(fs=20, k=4):
    return spaces.Box(0, 255, (fs, fs, k), np.uint8)


@pytest.mark.parametrize("n_envs, delay", [(1, ()), (2, (0, 7)), (3, (0, 5, 40))])
def test_frame_stack_buffer_returns_exactly_what_the_env_produced(n_envs, delay):
    buf = FrameStackReplayBuffer(10_000, stack_space(), ACT, n_envs=n_envs)
    added = rollout([buf], n_envs, 150, seed=n_envs, truncate_p=0.03, delay=delay)
    assert len(buf) == len(added) == buf.size
    want = keys_of(added)
    batch = buf.sample(20 * len(added), np.random.default_rng(0))
    got = sampled_keys(batch)
    assert set(got) <= want  # every sampled stack is one the env produced ...
    assert set(got) == want  # ... and every added transition comes back
    # Terminal transitions keep their true final next_obs (ball at y = 340).
    assert any(k[4] for k in got)
    assert sum(1 for t in added if t[4]) >= 2 and any(t[5] for t in added)


def test_episode_boundaries_first_frame_repeated_and_terminal_next_obs():
    env = CatchEnv(frame_size=20)
    buf = FrameStackReplayBuffer(1000, env.observation_space, env.action_space)
    obs, _ = env.reset(seed=3)
    for _ in range(2):  # two full games
        done = False
        while not done:
            nobs, r, done, _, _ = env.step(1)
            buf.add(obs[None], nobs[None], [1], [r], [done])
            obs = env.reset()[0] if done else nobs
    assert len(buf) == 64
    e, t = np.flatnonzero(buf.has_tr[0]) * 0, np.flatnonzero(buf.has_tr[0])
    batch = buf._batch(e, t, buf._stacks(e, t), buf._stacks(e, (t + 1) % buf.slots))
    first = batch.obs[0]
    assert all(np.array_equal(first[..., j], first[..., 0]) for j in range(4))
    assert batch.dones[31] == 1.0 and batch.dones[:31].sum() == 0
    assert all(np.array_equal(batch.obs[32][..., j], batch.obs[32][..., 0]) for j in range(4))
    assert not np.array_equal(batch.next_obs[31], batch.obs[32])  # no stack crosses games


def test_frame_stack_buffer_stores_each_frame_once():
    buf = FrameStackReplayBuffer(10_000, stack_space(), ACT)
    rollout([buf], 1, 32 * 5)  # 5 full games, no truncation
    assert int(buf.seq[0]) == 5 * 33  # 32 transitions + 1 start frame per game


@pytest.mark.parametrize("cls", [ReplayBuffer, FrameStackReplayBuffer])
def test_ring_wraps_and_evicts_the_oldest(cls):
    buf = cls(100, stack_space(), ACT)
    added = rollout([buf], 1, 250, seed=1)
    assert len(buf) == 100 and buf.full
    got = set(sampled_keys(buf.sample(5000, np.random.default_rng(1))))
    assert got == keys_of(added[-100:])


def test_frame_overwrites_never_leak_into_stacks():
    # No spare frame slots and very short games: frames run out before the transition
    # count does, so the buffer must drop transitions whose frames are overwritten.
    buf = FrameStackReplayBuffer(60, stack_space(), ACT, n_envs=2, frame_overhead=0.0)
    added = rollout([buf], 2, 400, seed=2, truncate_p=0.4)
    assert 0 < len(buf) < 60
    recent = keys_of(added[-2 * 30:])
    for seed in range(5):
        assert set(sampled_keys(buf.sample(500, np.random.default_rng(seed)))) <= recent


def test_sampling_is_uniform_reproducible_and_vectorised():
    buf = FrameStackReplayBuffer(1000, stack_space(), ACT)
    rollout([buf], 1, 200)
    a = buf.sample(32, np.random.default_rng(5))
    b = buf.sample(32, np.random.default_rng(5))
    c = buf.sample(32, np.random.default_rng(6))
    assert isinstance(a, Batch)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.obs, c.obs)
    assert a.obs.shape == (32, 20, 20, 4) and a.obs.dtype == np.uint8
    assert a.actions.shape == (32,) and a.actions.dtype == np.int64
    assert a.rewards.dtype == np.float32 and a.dones.dtype == np.float32
    # Uniform with replacement: each transition's share of a big sample is ~1/200.
    e, t = buf._sample_slots(200_000, np.random.default_rng(0))
    counts = np.bincount(t, minlength=buf.slots)[buf.has_tr[0]]
    assert counts.size == 200 and abs(counts.mean() - 1000) < 1e-9 and counts.min() > 800


def test_book_memory_fits_in_400_mb():
    buf = FrameStackReplayBuffer(50_000, PIX, ACT)
    naive = 2 * 50_000 * 80 * 80 * 4
    assert buf.nbytes <= 400e6 < naive
    buf8 = FrameStackReplayBuffer(50_000, PIX, ACT, n_envs=8)
    assert buf8.capacity == 50_000 and buf8.nbytes <= 400e6


@pytest.mark.parametrize("cls", [ReplayBuffer, FrameStackReplayBuffer])
def test_state_dict_round_trip_resumes_identically(cls):
    a = cls(300, stack_space(), ACT, n_envs=2)
    rollout([a], 2, 100, seed=4, truncate_p=0.05)
    d = a.state_dict()
    assert all(isinstance(v, (int, np.ndarray)) for v in d.values())
    b = cls(300, stack_space(), ACT, n_envs=2)
    b.load_state_dict(d)
    assert len(b) == len(a)
    for x, y in zip(a.sample(64, np.random.default_rng(9)), b.sample(64, np.random.default_rng(9))):
        np.testing.assert_array_equal(x, y)
    # Keep going past a wrap-around in both: still identical.
    rollout([a, b], 2, 300, seed=5, truncate_p=0.05)
    for x, y in zip(a.sample(64, np.random.default_rng(1)), b.sample(64, np.random.default_rng(1))):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="capacity"):
        cls(200, stack_space(), ACT, n_envs=2).load_state_dict(d)


def test_state_dict_of_a_partly_filled_buffer_is_small():
    buf = FrameStackReplayBuffer(50_000, PIX, ACT)
    rollout([buf], 1, 64, frame_size=80)
    d = buf.state_dict()
    assert sum(v.nbytes for v in d.values() if isinstance(v, np.ndarray)) < 3e6


def test_plain_buffer_with_state_observations():
    env = CatchEnv(obs_type="state")
    buf = ReplayBuffer(500, env.observation_space, env.action_space, n_envs=2)
    added = rollout([buf], 2, 80, obs_type="state", truncate_p=0.05)
    batch = buf.sample(2000, np.random.default_rng(0))
    assert batch.obs.shape == (2000, 3) and batch.obs.dtype == np.float32
    assert set(sampled_keys(batch)) == keys_of(added)
    # dones are terminations only: truncated transitions bootstrap.
    trunc = [t for t in added if t[5]]
    assert trunc and all(not t[4] for t in trunc)


def test_validation_rejects_non_shifted_stacks():
    buf = FrameStackReplayBuffer(100, stack_space(), ACT)
    obs = np.random.default_rng(0).integers(0, 255, (1, 20, 20, 4), dtype=np.uint8)
    with pytest.raises(ValueError, match="shifted"):
        buf.add(obs, obs[:, :, :, ::-1], [0], [0.0], [False])


def test_a_mid_game_first_add_is_stored_exactly():
    env = CatchEnv(frame_size=20)
    obs, _ = env.reset(seed=0)
    for _ in range(6):  # four distinct frames in the stack by now
        obs = env.step(2)[0]
    nobs, r, term, _, _ = env.step(0)
    buf = FrameStackReplayBuffer(100, env.observation_space, env.action_space)
    buf.add(obs[None], nobs[None], [0], [r], [term])
    batch = buf.sample(1, np.random.default_rng(0))
    np.testing.assert_array_equal(batch.obs[0], obs)
    np.testing.assert_array_equal(batch.next_obs[0], nobs)


@pytest.mark.parametrize("cls", [ReplayBuffer, FrameStackReplayBuffer])
def test_bad_inputs_raise(cls):
    buf = cls(100, stack_space(), ACT, n_envs=2)
    o = np.zeros((2, 20, 20, 4), np.uint8)
    with pytest.raises(ValueError, match="obs"):
        buf.add(o[:1], o, [0, 0], [0, 0], [False, False])
    with pytest.raises(ValueError, match="action"):
        buf.add(o, o, [0], [0, 0], [False, False])
    with pytest.raises(ValueError, match="empty"):
        buf.sample(4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_envs"):
        cls(100, stack_space(), ACT, n_envs=0)


def test_frame_stack_buffer_needs_uint8_stacks():
    with pytest.raises(ValueError, match="observation_space"):
        FrameStackReplayBuffer(100, spaces.Box(0, 1, (3,), np.float32), ACT)


def test_state_dict_survives_hdf5(tmp_path):
    h5py = pytest.importorskip("h5py")
    a = FrameStackReplayBuffer(200, stack_space(), ACT, n_envs=2)
    rollout([a], 2, 60, seed=6)
    with h5py.File(tmp_path / "buf.h5", "w") as f:
        for k, v in a.state_dict().items():
            f[k] = v
    with h5py.File(tmp_path / "buf.h5", "r") as f:
        d = {k: f[k][()] for k in f}
    b = FrameStackReplayBuffer(200, stack_space(), ACT, n_envs=2)
    b.load_state_dict(d)
    for x, y in zip(a.sample(64, np.random.default_rng(2)), b.sample(64, np.random.default_rng(2))):
        np.testing.assert_array_equal(x, y)
