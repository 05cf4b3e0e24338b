"""Experience replay: preallocated numpy ring buffers with uniform sampling.

Two buffers share one API (Stable-Baselines3 style)::

    buf = ReplayBuffer(capacity, observation_space, action_space, n_envs=1)
    buf.add(obs, next_obs, action, reward, terminated, truncated)  # leading n_envs axis
    batch = buf.sample(batch_size, rng)  # Batch(obs, actions, rewards, next_obs, dones)

* :class:`ReplayBuffer` stores obs and next_obs as given (any observation).
* :class:`FrameStackReplayBuffer` is for frame-stacked uint8 images (H, W, k): it
  stores each frame once and rebuilds the stacks when sampling (about 8x smaller).

Both keep one FIFO lane per env (``capacity // n_envs`` transitions each), so envs
may add interleaved transitions, and sample uniformly with replacement over every
stored transition of every lane.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from gymnasium import spaces


def _int_field(d: dict, k: str) -> int:
    if k not in d:
        raise ValueError(f"replay/{k} is missing (damaged checkpoint)")
    a = np.asarray(d[k])
    if a.shape != () or a.dtype.kind not in "iub":
        raise ValueError(f"replay/{k} must be an integer; got {_describe(d[k])}")
    return int(a)


def _array_field(d: dict, k: str, shape: tuple, dtype) -> np.ndarray:
    if k not in d:
        raise ValueError(f"replay/{k} is missing (damaged checkpoint)")
    v = d[k]
    if not isinstance(v, np.ndarray) or v.shape != tuple(shape) or v.dtype != dtype:
        raise ValueError(f"replay/{k} must be an array of shape {tuple(shape)} and dtype {np.dtype(dtype)}; "
                         f"got {_describe(v)}")
    return v


def _describe(v) -> str:
    if isinstance(v, (np.ndarray, np.generic)):
        return f"shape {v.shape} and dtype {v.dtype}"
    return f"a {type(v).__name__}"


def _item_nbytes(space: spaces.Space, default=np.float32) -> int:
    shape = tuple(getattr(space, "shape", None) or ())
    dtype = np.dtype(space.dtype if getattr(space, "dtype", None) is not None else default)
    return int(math.prod(shape)) * dtype.itemsize


class Batch(NamedTuple):
    """A sampled batch; B = batch size."""

    obs: np.ndarray  # (B, *obs_shape), the observation dtype
    actions: np.ndarray  # (B, *action_shape), the action space's dtype (int64 for Discrete)
    rewards: np.ndarray  # (B,) float32
    next_obs: np.ndarray  # (B, *obs_shape)
    dones: np.ndarray  # (B,) float32: 1.0 where the episode *terminated* (no bootstrap);
    # truncated transitions have dones = 0 and bootstrap from next_obs.


class _LaneBuffer:
    """Shared parts: per-env lanes of ``slots`` entries, a mask of the entries that
    hold a sampleable transition, uniform sampling over that mask."""

    def __init__(self, capacity: int, observation_space: spaces.Space, action_space: spaces.Space,
                 n_envs: int, slots: int):
        if int(n_envs) < 1:
            raise ValueError(f"n_envs must be >= 1, got {n_envs!r}")
        if int(capacity) < n_envs:
            raise ValueError(f"capacity must be >= n_envs ({n_envs}), got {capacity!r}")
        self.n_envs = int(n_envs)
        self.lane_capacity = int(capacity) // self.n_envs
        self.capacity = self.lane_capacity * self.n_envs  # rounded down to a multiple of n_envs
        self.observation_space, self.action_space = observation_space, action_space
        self.obs_shape = tuple(observation_space.shape)
        self.obs_dtype = np.dtype(observation_space.dtype)
        self.action_shape = tuple(action_space.shape or ())
        self.action_dtype = np.dtype(action_space.dtype if action_space.dtype is not None else np.float32)
        self.slots = int(slots)
        shape = (self.n_envs, self.slots)
        # np.zeros: the OS commits pages only when written, so an unfilled buffer is cheap.
        self.actions = np.zeros(shape + self.action_shape, self.action_dtype)
        self.rewards = np.zeros(shape, np.float32)
        self.terminated = np.zeros(shape, bool)
        self.truncated = np.zeros(shape, bool)
        self.has_tr = np.zeros(shape, bool)  # slot holds a sampleable transition
        self.count = np.zeros(self.n_envs, np.int64)  # sampleable transitions per lane
        self._valid_idx: np.ndarray | None = None  # cached flat indices of has_tr

    # -- sizes --
    def __len__(self) -> int:
        return int(self.count.sum())

    @property
    def size(self) -> int:
        """Number of stored (sampleable) transitions, all envs together."""
        return len(self)

    @property
    def full(self) -> bool:
        """True once every lane holds ``capacity // n_envs`` transitions."""
        return bool((self.count >= self.lane_capacity).all())

    @property
    def nbytes(self) -> int:
        """Bytes of all preallocated storage arrays."""
        return int(sum(a.nbytes for a in self._arrays().values()))

    # -- input checks --
    def _batch_arg(self, name: str, x, shape: tuple, dtype) -> np.ndarray:
        x = np.asarray(x)
        want = (self.n_envs,) + shape
        if x.shape != want:
            if x.shape == shape and self.n_envs == 1:
                x = x[None]  # tolerate a missing env axis when there is one env
            else:
                raise ValueError(f"{name} must have shape {want} (leading n_envs axis), got {x.shape}")
        return x.astype(dtype, copy=False)

    def _common_args(self, action, reward, terminated, truncated, mask):
        action = self._batch_arg("action", action, self.action_shape, self.action_dtype)
        reward = self._batch_arg("reward", reward, (), np.float32)
        terminated = self._batch_arg("terminated", terminated, (), bool)
        truncated = (np.zeros(self.n_envs, bool) if truncated is None
                     else self._batch_arg("truncated", truncated, (), bool))
        mask = (np.ones(self.n_envs, bool) if mask is None
                else self._batch_arg("mask", mask, (), bool))
        return action, reward, terminated, truncated, mask

    def _store_step(self, e: int, t: int, action, reward, terminated, truncated) -> None:
        self.actions[e, t] = action
        self.rewards[e, t] = reward
        self.terminated[e, t] = terminated
        self.truncated[e, t] = truncated
        self.has_tr[e, t] = True
        self.count[e] += 1

    def _drop(self, e: int, t: int) -> None:
        if self.has_tr[e, t]:
            self.has_tr[e, t] = False
            self.count[e] -= 1

    # -- sampling --
    def _sample_slots(self, batch_size: int, rng: np.random.Generator):
        if len(self) == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        if self._valid_idx is None:
            self._valid_idx = np.flatnonzero(self.has_tr)
        pick = self._valid_idx[rng.integers(0, len(self._valid_idx), size=int(batch_size))]
        return pick // self.slots, pick % self.slots  # (env, slot), each (B,)

    def _batch(self, e, t, obs, next_obs) -> Batch:
        return Batch(obs, self.actions[e, t], self.rewards[e, t], next_obs,
                     self.terminated[e, t].astype(np.float32))

    # -- checkpointing --
    def _arrays(self) -> dict[str, np.ndarray]:
        return {"actions": self.actions, "rewards": self.rewards, "terminated": self.terminated,
                "truncated": self.truncated, "has_tr": self.has_tr}

    def _header(self) -> dict[str, int]:
        return {"capacity": self.capacity, "n_envs": self.n_envs, "slots": self.slots}

    def _used_slots(self) -> int:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """A flat dict of numpy arrays and ints (plain names, no "/") restoring the
        exact buffer state, so the same RNG then samples the same batches.

        Only the slots written so far are saved (an unfilled buffer saves small).
        """
        used = self._used_slots()
        d = {k: a[:, :used].copy() for k, a in self._arrays().items()}
        d.update({k: a.copy() for k, a in self._lane_state().items()})
        d.update(self._header())
        d["used_slots"] = used
        return d

    def load_state_dict(self, d: dict) -> None:
        """Restore :meth:`state_dict` output (into a buffer built with the same arguments).

        Everything is checked before anything is changed (a damaged or tampered state raises a
        ``ValueError`` naming the field, ``replay/<name>``, and leaves the buffer as it was): the
        header, every array's shape and dtype, the counters (per-lane counts within the capacity
        and equal to the stored transitions, positions in range) and the values (actions in the
        action space, finite rewards and float observations)."""
        if not isinstance(d, dict):
            raise ValueError(f"replay: the replay state must be a dict of arrays; got {type(d).__name__}")
        for k, v in self._header().items():
            got = _int_field(d, k)
            if got != v:
                raise ValueError(f"replay/{k}={got} does not match this buffer's {k}={v} (a checkpoint of "
                                 f"another configuration, or a damaged one)")
        used = _int_field(d, "used_slots")
        if not 0 <= used <= self.slots:
            raise ValueError(f"replay/used_slots={used} is out of range 0..{self.slots}")
        arrays = {k: _array_field(d, k, (self.n_envs, used) + a.shape[2:], a.dtype)
                  for k, a in self._arrays().items()}
        lanes = {k: _array_field(d, k, a.shape, a.dtype) for k, a in self._lane_state().items()}
        self._check_loaded(arrays, lanes, used)
        for k, a in self._arrays().items():
            a[:, :used] = arrays[k]
            a[:, used:] = 0
        for k, a in self._lane_state().items():
            a[...] = lanes[k]
        self._valid_idx = None

    def check_stored_shapes(self, shapes: dict) -> None:
        """Check the shapes a stored state declares (e.g. HDF5 dataset metadata), ``{name: shape}``,
        before reading it: a damaged or hostile file cannot make the reader allocate more than this
        buffer holds."""
        expected = {k: (self.n_envs, None) + a.shape[2:] for k, a in self._arrays().items()}
        expected.update({k: a.shape for k, a in self._lane_state().items()})
        expected.update({k: () for k in [*self._header(), "used_slots"]})
        for k, shape in shapes.items():
            if k not in expected:
                raise ValueError(f"replay/{k} is not part of a {type(self).__name__} state")
            want, shape = expected[k], tuple(shape)
            if len(shape) != len(want) or not all(s == w or (w is None and 0 <= s <= self.slots)
                                                  for s, w in zip(shape, want)):
                shown = tuple(f"0..{self.slots}" if w is None else w for w in want)
                raise ValueError(f"replay/{k} is stored with shape {shape}; expected {shown}")

    def _check_loaded(self, arrays: dict, lanes: dict, used: int) -> None:
        """Consistency of a loaded state (see :meth:`load_state_dict`)."""
        count, seq, has_tr = lanes["count"], lanes["seq"], arrays["has_tr"]
        if (seq < 0).any():
            raise ValueError(f"replay/seq must be >= 0; got {seq.tolist()}")
        if used != int(min(seq.max(initial=0), self.slots)):
            raise ValueError(f"replay/used_slots={used} does not match replay/seq={seq.tolist()}")
        if (count < 0).any() or (count > self.lane_capacity).any():
            raise ValueError(f"replay/count={count.tolist()}: each lane holds 0..{self.lane_capacity} transitions")
        stored = has_tr.sum(axis=1)
        if not np.array_equal(count, stored):
            raise ValueError(f"replay/count={count.tolist()} does not match the {stored.tolist()} stored "
                             f"transitions (replay/has_tr)")
        for e in range(self.n_envs):  # no transition in slots never written
            written = int(min(seq[e], self.slots))
            if has_tr[e, written:].any():
                raise ValueError(f"replay/has_tr marks transitions in slots lane {e} never wrote (seq {seq[e]})")
        if isinstance(self.action_space, spaces.Discrete):
            lo = int(self.action_space.start)
            acts = arrays["actions"]
            if acts.size and (acts.min() < lo or acts.max() >= lo + int(self.action_space.n)):
                raise ValueError(f"replay/actions holds actions outside the action space {self.action_space} "
                                 f"(range {acts.min()}..{acts.max()})")
        for k, a in arrays.items():
            if a.dtype.kind == "f" and a.size and not np.isfinite(a).all():
                raise ValueError(f"replay/{k} holds non-finite values (NaN or infinity)")

    def reset_episodes(self) -> None:
        """Forget the envs' running episodes: the next transition of every env starts a new one
        (call when the envs are reset without a terminal transition, e.g. at an epoch start)."""

    def _lane_state(self) -> dict[str, np.ndarray]:
        return {"count": self.count}

    @classmethod
    def planned_nbytes(cls, capacity: int, observation_space: spaces.Space, action_space: spaces.Space,
                       n_envs: int = 1) -> int:
        """Bytes the storage arrays of such a buffer take once filled (to refuse buffers too large
        before allocating them; the allocation itself is lazy)."""
        raise NotImplementedError


class ReplayBuffer(_LaneBuffer):
    """Uniform replay storing obs and next_obs explicitly, for any observation space.

    Storage per env lane: ``capacity // n_envs`` transitions, FIFO (the oldest is
    overwritten). Arrays: obs / next_obs (n_envs, C, *obs_shape), actions
    (n_envs, C, *action_shape), rewards / terminated / truncated (n_envs, C).
    """

    def __init__(self, capacity: int, observation_space: spaces.Space, action_space: spaces.Space,
                 n_envs: int = 1):
        super().__init__(capacity, observation_space, action_space, n_envs,
                         slots=int(capacity) // max(int(n_envs), 1))
        shape = (self.n_envs, self.slots) + self.obs_shape
        self.obs = np.zeros(shape, self.obs_dtype)
        self.next_obs = np.zeros(shape, self.obs_dtype)
        self.seq = np.zeros(self.n_envs, np.int64)  # transitions ever added per lane

    def add(self, obs, next_obs, action, reward, terminated, truncated=None, mask=None) -> None:
        """Store one transition per env. Shapes: obs / next_obs (n_envs, *obs_shape),
        action (n_envs, *action_shape), reward / terminated / truncated / mask (n_envs,).

        next_obs must be the true next observation (at a terminal step: the final
        observation, not the reset one). ``mask`` (bool) skips envs whose step is not a
        real transition (e.g. a vector env's autoreset step).
        """
        obs = self._batch_arg("obs", obs, self.obs_shape, self.obs_dtype)
        next_obs = self._batch_arg("next_obs", next_obs, self.obs_shape, self.obs_dtype)
        action, reward, terminated, truncated, mask = self._common_args(
            action, reward, terminated, truncated, mask)
        for e in np.flatnonzero(mask):
            t = int(self.seq[e] % self.slots)
            self._drop(e, t)  # evicts the lane's oldest transition once full
            self.obs[e, t] = obs[e]
            self.next_obs[e, t] = next_obs[e]
            self._store_step(e, t, action[e], reward[e], terminated[e], truncated[e])
            self.seq[e] += 1
        self._valid_idx = None

    def sample(self, batch_size: int, rng: np.random.Generator) -> Batch:
        """``batch_size`` transitions drawn uniformly with replacement (vectorised)."""
        e, t = self._sample_slots(batch_size, rng)
        return self._batch(e, t, self.obs[e, t], self.next_obs[e, t])

    def _arrays(self):
        return {**super()._arrays(), "obs": self.obs, "next_obs": self.next_obs}

    def _lane_state(self):
        return {**super()._lane_state(), "seq": self.seq}

    def _used_slots(self) -> int:
        return int(min(self.seq.max(), self.slots))

    def _check_loaded(self, arrays, lanes, used):
        super()._check_loaded(arrays, lanes, used)
        count, seq = lanes["count"], lanes["seq"]
        if (count > np.minimum(seq, self.slots)).any():
            raise ValueError(f"replay/count={count.tolist()} is more than the transitions added "
                             f"(replay/seq={seq.tolist()})")

    @classmethod
    def planned_nbytes(cls, capacity, observation_space, action_space, n_envs=1):
        slots = int(capacity) // max(int(n_envs), 1)
        per_slot = 2 * _item_nbytes(observation_space) + _item_nbytes(action_space, np.int64) + 4 + 3
        return int(n_envs) * slots * per_slot


class FrameStackReplayBuffer(_LaneBuffer):
    """Uniform replay for frame-stacked uint8 images that stores every frame once.

    Observations are (H, W, k) uint8 stacks, oldest -> newest on the last axis, where
    an env's next_obs is its obs shifted by one frame (``next_obs[..., :-1] ==
    obs[..., 1:]``) and a game starts with its first frame repeated (F1 F1 F1 F1,
    then F1 F1 F1 F2, ...), as :class:`arena.envs.CatchEnv` and Gymnasium's
    ``FrameStackObservation(padding_type="reset")`` produce.

    Design: each env has a lane, a ring of ``slots`` single frames (H, W). Adding a
    transition appends only next_obs's newest frame; the transition itself (action,
    reward, flags) sits at the slot of obs's newest frame, so its next frame is the
    following slot. ``ep_pos`` per slot counts the frames since the chain start
    (saturating at k-1), so a stack is rebuilt as the slots t-min(j, ep_pos[t]) for
    j = k-1..0: the start frame repeats, and no stack crosses into another game. A
    new chain starts when the previous transition ended the episode (or, with
    ``validate``, when obs is not the previous next_obs); it stores obs's frames
    after its leading repeats (one frame for a fresh game). So a game of L steps
    costs L+1 frames, and the terminal next_obs is kept exactly.

    Capacity: each lane keeps at most ``capacity // n_envs`` transitions (FIFO: the
    oldest is dropped) in ``slots = C + ceil(C * frame_overhead) + k + 1`` frames; the
    extra slots hold the one extra frame per game (enough for games of
    >= 1/frame_overhead steps; with shorter games the oldest frames are overwritten
    first and the buffer holds fewer than C transitions). Whenever a frame is
    overwritten every transition whose obs or next_obs uses it is dropped, so a
    sampled stack never contains an overwritten frame.

    ``validate=True`` checks the shift property on every add (a ValueError names the
    env) and compares obs with the previous next_obs, so a wrong call order can never
    corrupt the stacks; ``validate=False`` trusts terminated/truncated instead.

    Memory for the book (50,000 transitions, 80x80x4, one env): 53,130 frames of
    6,400 B = 340 MB plus ~1 MB of per-slot data (a naive layout needs 2.56 GB).
    """

    def __init__(self, capacity: int, observation_space: spaces.Space, action_space: spaces.Space,
                 n_envs: int = 1, frame_overhead: float = 1 / 16, validate: bool = True):
        shape = tuple(getattr(observation_space, "shape", None) or ())
        if len(shape) != 3 or np.dtype(observation_space.dtype) != np.uint8:
            raise ValueError("observation_space must be uint8 frame stacks of shape (H, W, k), got "
                             f"shape {shape} dtype {getattr(observation_space, 'dtype', None)}")
        if not frame_overhead >= 0:
            raise ValueError(f"frame_overhead must be >= 0, got {frame_overhead!r}")
        self.k = shape[2]
        lane = int(capacity) // max(int(n_envs), 1)
        super().__init__(capacity, observation_space, action_space, n_envs,
                         slots=lane + math.ceil(lane * frame_overhead) + self.k + 1)
        self.validate = bool(validate)
        h, w = shape[:2]
        self.frames = np.zeros((self.n_envs, self.slots, h, w), np.uint8)
        self.ep_pos = np.zeros((self.n_envs, self.slots), np.uint8)
        self.seq = np.zeros(self.n_envs, np.int64)  # frames ever written per lane
        self.tail = np.zeros(self.n_envs, np.int64)  # no sampleable transition before this seq
        self.live = np.zeros(self.n_envs, bool)  # the lane's last transition continues
        # The last next_obs per env, to recognise a continuing chain (validate only).
        self.last_next = np.zeros((self.n_envs,) + shape if self.validate else (0,), np.uint8)
        self._offsets = np.arange(self.k - 1, -1, -1)  # look-back of channels 0..k-1

    def add(self, obs, next_obs, action, reward, terminated, truncated=None, mask=None) -> None:
        """Store one transition per env. Shapes: obs / next_obs (n_envs, H, W, k) uint8,
        action (n_envs, *action_shape), reward / terminated / truncated / mask (n_envs,).

        next_obs must be the true next observation (at a terminal step: the final
        observation, not the reset one). ``mask`` (bool) skips envs whose step is not a
        real transition (e.g. a vector env's autoreset step).
        """
        obs = self._batch_arg("obs", obs, self.obs_shape, np.uint8)
        next_obs = self._batch_arg("next_obs", next_obs, self.obs_shape, np.uint8)
        action, reward, terminated, truncated, mask = self._common_args(
            action, reward, terminated, truncated, mask)
        k = self.k
        for e in np.flatnonzero(mask):
            o, no = obs[e], next_obs[e]
            if self.validate and not all(np.array_equal(no[..., j], o[..., j + 1]) for j in range(k - 1)):
                raise ValueError(f"env {e}: next_obs must be obs shifted by one frame "
                                 "(next_obs[..., :-1] == obs[..., 1:]); use ReplayBuffer for other observations")
            cont = self.live[e] and (not self.validate or np.array_equal(o, self.last_next[e]))
            if not cont:  # a new chain: obs's frames after its leading repeats
                s = 0
                while s + 1 < k and np.array_equal(o[..., s + 1], o[..., 0]):
                    s += 1
                for j in range(s, k):
                    self._write_frame(e, o[..., j], j - s)
            t = int((self.seq[e] - 1) % self.slots)  # slot of obs's newest frame
            self._store_step(e, t, action[e], reward[e], terminated[e], truncated[e])
            self._write_frame(e, no[..., -1], min(int(self.ep_pos[e, t]) + 1, k - 1))
            self.live[e] = not (terminated[e] or truncated[e])
            if self.validate:
                self.last_next[e] = no
            while self.count[e] > self.lane_capacity:  # FIFO: drop the lane's oldest
                u = max(int(self.tail[e]), int(self.seq[e]) - self.slots)
                while not self.has_tr[e, u % self.slots]:
                    u += 1
                self._drop(e, u % self.slots)
                self.tail[e] = u + 1
        self._valid_idx = None

    def _write_frame(self, e: int, frame: np.ndarray, ep_pos: int) -> None:
        n, s = int(self.seq[e]), self.slots
        t = n % s
        if n >= s:  # overwriting the lane's oldest frame: drop every transition using it
            self._drop(e, t)
            for j in range(1, self.k):  # later slots whose obs stack reaches back to t
                u = (t + j) % s
                if self.ep_pos[e, u] >= j:
                    self._drop(e, u)
        self.frames[e, t] = frame
        self.ep_pos[e, t] = ep_pos
        self.has_tr[e, t] = False
        self.seq[e] = n + 1

    def _stacks(self, e: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Rebuild (B, H, W, k) stacks ending at slots t of lanes e."""
        back = np.minimum(self._offsets[None, :], self.ep_pos[e, t][:, None])
        src = (t[:, None] - back) % self.slots
        out = np.empty((len(t),) + self.obs_shape, np.uint8)
        for j in range(self.k):  # per-channel writes: ~6x faster than a transposed copy
            out[..., j] = self.frames[e, src[:, j]]
        return out

    def sample(self, batch_size: int, rng: np.random.Generator) -> Batch:
        """``batch_size`` transitions drawn uniformly with replacement (vectorised);
        obs / next_obs are rebuilt (B, H, W, k) uint8 stacks."""
        e, t = self._sample_slots(batch_size, rng)
        return self._batch(e, t, self._stacks(e, t), self._stacks(e, (t + 1) % self.slots))

    def _arrays(self):
        return {**super()._arrays(), "frames": self.frames, "ep_pos": self.ep_pos}

    def _lane_state(self):
        return {**super()._lane_state(), "seq": self.seq, "tail": self.tail, "live": self.live,
                "last_next": self.last_next}

    def _header(self):
        return {**super()._header(), "frame_stack": self.k, "validate": int(self.validate)}

    def _used_slots(self) -> int:
        return int(min(self.seq.max(), self.slots))

    def reset_episodes(self) -> None:
        self.live[:] = False

    def _check_loaded(self, arrays, lanes, used):
        super()._check_loaded(arrays, lanes, used)
        seq, tail, has_tr = lanes["seq"], lanes["tail"], arrays["has_tr"]
        if (tail < 0).any() or (tail > seq).any():
            raise ValueError(f"replay/tail={tail.tolist()} must be in 0..seq (replay/seq={seq.tolist()})")
        if arrays["ep_pos"].size and arrays["ep_pos"].max() > self.k - 1:
            raise ValueError(f"replay/ep_pos holds positions above {self.k - 1} (frame_stack - 1)")
        for e in range(self.n_envs):  # a transition's next frame is written after it
            if 0 < seq[e] <= self.slots and has_tr[e, seq[e] - 1]:
                raise ValueError(f"replay/has_tr marks a transition without its next frame in lane {e}")

    @classmethod
    def planned_nbytes(cls, capacity, observation_space, action_space, n_envs=1, frame_overhead=1 / 16):
        shape = tuple(observation_space.shape)
        lane = int(capacity) // max(int(n_envs), 1)
        slots = lane + math.ceil(lane * frame_overhead) + shape[2] + 1
        per_slot = shape[0] * shape[1] + 1 + _item_nbytes(action_space, np.int64) + 4 + 3
        return int(n_envs) * slots * per_slot
