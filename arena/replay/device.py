"""Experience replay that lives on the device: a ring buffer of JAX arrays, written and sampled
inside compiled code (the compiled DQN's ``lax.scan``).

Every environment of a vector env has a lane, and all lanes advance together (a JAX vector env
steps every env at every step), so one slot index serves every lane and a transition's next
observation is simply the following slot's observation: each observation is stored once.
Frame stacks of uint8 images (H, W, k), oldest first, that start every game with the first frame
repeated (:class:`arena.envs.CatchJax`, Gymnasium's ``padding_type="reset"``) store only their
newest frame, with its position in the game (saturating at k - 1), and are rebuilt when sampled,
as :class:`arena.replay.FrameStackReplayBuffer` does on the host.

The transition at slot t of a lane is ``(obs_t, action_t, reward_t, obs_{t+1}, done_t)``. At a
game's end the slot after it holds the next game's first observation, not the final one: the
final observation is not needed, because a finished game has no bootstrap term (``done`` = 1).
JAX environments report one ``done`` flag (gymnax makes no difference between a time limit and a
terminal state), and it is treated as terminal, as gymnax and PureJaxRL do.

With ``n_step`` > 1 a sample carries the n-step return: ``reward`` is
``sum_{i<m} gamma^i r_{t+i}`` up to the game's end or m = n steps, ``next_obs`` the observation m
steps on, ``dones`` whether the game ended within them, and ``discounts`` = gamma^m.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp


class DeviceReplayState(NamedTuple):
    """The buffer's arrays; lanes first, then slots."""
    obs: jax.Array       # (n_envs, slots, *obs_shape), or (n_envs, slots, H, W) newest frames of frame stacks
    ep_pos: jax.Array    # (n_envs, slots) uint8: frames since the game's start, at most k - 1 (frame stacks)
    actions: jax.Array   # (n_envs, slots) int32
    rewards: jax.Array   # (n_envs, slots) float32
    dones: jax.Array     # (n_envs, slots) bool: the game ended with this transition
    next_pos: jax.Array  # (n_envs,) uint8: ep_pos of the observation to be written next
    written: jax.Array   # int32: steps written so far (each writes one slot of every lane)
    priorities: jax.Array  # (n_envs, slots) float32 (prioritized replay; (n_envs, 0) otherwise)
    max_priority: jax.Array  # float32: new transitions get the largest priority seen


class DeviceBatch(NamedTuple):
    """A sampled batch (B = batch size); ``discounts`` is gamma^m for the m steps summed."""
    obs: jax.Array
    actions: jax.Array
    rewards: jax.Array
    next_obs: jax.Array
    dones: jax.Array       # float32: 1.0 where the game ended (no bootstrap)
    discounts: jax.Array   # float32
    weights: jax.Array     # float32 importance weights (1 for uniform sampling)


class DeviceReplay:
    """A device ring buffer of ``capacity // n_envs`` sampleable transitions per lane (its methods
    are pure functions of a :class:`DeviceReplayState`).

    ``frame_stack``: True stores frame stacks (uint8, (H, W, k)) one frame per step; False stores
    observations as given. ``n_step`` and ``gamma``: the return each sample carries (see the module
    docstring). ``alpha`` > 0: prioritized replay (Schaul et al. 2016, proportional variant):
    transitions are drawn with probability proportional to ``priority ** alpha``, new ones get the
    largest priority seen, and :meth:`update_priorities` sets those of a sampled batch to their
    absolute TD errors."""

    def __init__(self, capacity: int, obs_shape, obs_dtype, n_envs: int, frame_stack: bool = False,
                 n_step: int = 1, gamma: float = 0.99, alpha: float = 0.0):
        self.n_envs = int(n_envs)
        if self.n_envs < 1 or int(capacity) < self.n_envs:
            raise ValueError(f"DeviceReplay: capacity ({capacity}) must be >= n_envs ({n_envs}) >= 1")
        self.obs_shape, self.obs_dtype = tuple(obs_shape), jnp.dtype(obs_dtype)
        self.frame_stack = bool(frame_stack)
        if self.frame_stack and (len(self.obs_shape) != 3 or self.obs_dtype != jnp.uint8):
            raise ValueError(f"DeviceReplay: frame stacks are uint8 (H, W, k); got {self.obs_shape} {self.obs_dtype}")
        self.k = self.obs_shape[2] if self.frame_stack else 1
        self.n_step, self.gamma, self.alpha = int(n_step), float(gamma), float(alpha)
        if self.n_step < 1:
            raise ValueError(f"DeviceReplay: n_step must be >= 1; got {n_step}")
        self.lane_capacity = int(capacity) // self.n_envs
        # The newest n_step slots wait for their next observation, and once the ring wraps the
        # oldest k - 1 may hold stacks whose first frames are overwritten: neither is sampled.
        self.slots = self.lane_capacity + self.n_step + self.k - 1

    # -- sizes --
    def item_shape(self):
        return self.obs_shape[:2] if self.frame_stack else self.obs_shape

    def nbytes(self) -> int:
        per_slot = math.prod(self.item_shape()) * self.obs_dtype.itemsize + 1 + 4 + 4 + 1 + 4 * (self.alpha > 0)
        return self.n_envs * self.slots * per_slot

    def init(self) -> DeviceReplayState:
        lanes = (self.n_envs, self.slots)
        return DeviceReplayState(
            obs=jnp.zeros(lanes + self.item_shape(), self.obs_dtype), ep_pos=jnp.zeros(lanes, jnp.uint8),
            actions=jnp.zeros(lanes, jnp.int32), rewards=jnp.zeros(lanes, jnp.float32),
            dones=jnp.zeros(lanes, bool), next_pos=jnp.zeros(self.n_envs, jnp.uint8), written=jnp.int32(0),
            priorities=jnp.zeros((self.n_envs, self.slots if self.alpha else 0), jnp.float32),
            max_priority=jnp.float32(1.0))

    # -- writing --
    def add(self, buf: DeviceReplayState, obs, actions, rewards, dones) -> DeviceReplayState:
        """Store one step of every lane: ``obs`` (n_envs, *obs_shape) is the observation acted on
        (the previous step's next observation, after any reset), then its action, reward and done."""
        t = buf.written % self.slots
        item = obs[..., -1] if self.frame_stack else obs
        next_pos = jnp.where(dones, 0, jnp.minimum(buf.next_pos + 1, self.k - 1)).astype(jnp.uint8)
        return DeviceReplayState(
            obs=buf.obs.at[:, t].set(item.astype(self.obs_dtype)), ep_pos=buf.ep_pos.at[:, t].set(buf.next_pos),
            actions=buf.actions.at[:, t].set(actions.astype(jnp.int32)),
            rewards=buf.rewards.at[:, t].set(rewards.astype(jnp.float32)),
            dones=buf.dones.at[:, t].set(dones.astype(bool)), next_pos=next_pos, written=buf.written + 1,
            priorities=buf.priorities.at[:, t].set(buf.max_priority) if self.alpha else buf.priorities,
            max_priority=buf.max_priority)

    # -- which transitions may be sampled --
    def span(self, buf: DeviceReplayState):
        """``(first, count)``: the sampleable transitions of every lane are the ``count`` slots from
        ring position ``first`` on (the oldest first)."""
        stored = jnp.minimum(buf.written, self.slots)
        skip = jnp.where(buf.written > self.slots, self.k - 1, 0)  # stacks reaching into overwritten frames
        count = jnp.maximum(stored - self.n_step - skip, 0)
        first = (buf.written - stored + skip) % self.slots
        return first, count

    def size(self, buf: DeviceReplayState):
        """Sampleable transitions, all lanes together."""
        return self.span(buf)[1] * self.n_envs

    # -- reading --
    def _observations(self, buf, lanes, slots):
        if not self.frame_stack:
            return buf.obs[lanes, slots]
        back = jnp.minimum(jnp.arange(self.k - 1, -1, -1)[None, :], buf.ep_pos[lanes, slots][:, None].astype(jnp.int32))
        src = (slots[:, None] - back) % self.slots
        return jnp.moveaxis(buf.obs[lanes[:, None], src], 1, -1)  # (B, k, H, W) -> (B, H, W, k)

    def gather(self, buf: DeviceReplayState, lanes, slots, weights=None) -> DeviceBatch:
        """The transitions at ring slots ``slots`` of lanes ``lanes`` (each (B,) int)."""
        lanes, slots = jnp.asarray(lanes, jnp.int32), jnp.asarray(slots, jnp.int32)
        # the n-step return, stopping at the game's end: step i counts while no earlier step ended it
        span = (slots[:, None] + jnp.arange(self.n_step)) % self.slots
        dones = buf.dones[lanes[:, None], span]
        live = jnp.cumsum(dones, axis=1) - dones == 0
        powers = self.gamma ** jnp.arange(self.n_step, dtype=jnp.float32)
        rewards = jnp.where(live, powers * buf.rewards[lanes[:, None], span], 0.0).sum(axis=1)
        steps = live.sum(axis=1).astype(jnp.int32)
        ended = (live & dones).any(axis=1)
        after = (slots + steps) % self.slots
        return DeviceBatch(self._observations(buf, lanes, slots), buf.actions[lanes, slots], rewards,
                           self._observations(buf, lanes, after), ended.astype(jnp.float32),
                           (self.gamma ** steps.astype(jnp.float32)).astype(jnp.float32),
                           jnp.ones(slots.shape, jnp.float32) if weights is None else weights)

    def sample_indices(self, buf: DeviceReplayState, key, batch_size: int):
        """``(lanes, slots)`` of ``batch_size`` transitions drawn uniformly with replacement."""
        first, count = self.span(buf)
        k1, k2 = jax.random.split(key)
        lanes = jax.random.randint(k1, (batch_size,), 0, self.n_envs)
        age = jax.random.randint(k2, (batch_size,), 0, jnp.maximum(count, 1))
        return lanes, (first + age) % self.slots

    def sample_prioritized(self, buf: DeviceReplayState, key, batch_size: int, beta):
        """``(lanes, slots, weights)``: transitions drawn with probability P proportional to
        ``priority ** alpha`` among the sampleable ones, and their importance weights
        ``(N * P) ** -beta`` divided by the largest of the batch."""
        first, count = self.span(buf)
        age = (jnp.arange(self.slots) - first) % self.slots
        p = jnp.where((age < count)[None, :], buf.priorities ** self.alpha, 0.0).reshape(-1)
        cumulative = jnp.cumsum(p)
        total = cumulative[-1]  # not p.sum(): a draw must fall below the cumulative sum's own end
        flat = jnp.searchsorted(cumulative, jax.random.uniform(key, (batch_size,)) * total, side="right")
        # a draw that rounds up to the end would land past the last sampleable transition (p = 0,
        # an infinite weight): it takes that last one
        last = p.size - 1 - jnp.argmax(p[::-1] > 0)
        flat = jnp.minimum(flat, last)
        weights = (count * self.n_envs * p[flat] / total) ** -beta
        return ((flat // self.slots).astype(jnp.int32), (flat % self.slots).astype(jnp.int32),
                (weights / weights.max()).astype(jnp.float32))

    def update_priorities(self, buf: DeviceReplayState, lanes, slots, td_errors, eps: float = 1e-6):
        """Set the priorities of the transitions at ``(lanes, slots)`` to ``|td_errors| + eps``."""
        new = jnp.abs(td_errors).astype(jnp.float32) + eps
        return buf._replace(priorities=buf.priorities.at[lanes, slots].set(new),
                            max_priority=jnp.maximum(buf.max_priority, new.max()))

    def sample(self, buf: DeviceReplayState, key, batch_size: int) -> DeviceBatch:
        """``batch_size`` transitions drawn uniformly with replacement over every sampleable one."""
        return self.gather(buf, *self.sample_indices(buf, key, batch_size))
