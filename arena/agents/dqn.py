"""Deep Q-learning (Mnih et al. 2015) on any Arena model, trained through the one loop.

Read top to bottom: the options (Stable-Baselines3 names), the pure functions
(``q_values``, ``act``, ``update``), then the agent object that plays the
environment, fills the replay buffer and feeds sampled batches to the loop.

TD target for a sampled transition (s, a, r, s', done):
    y = r + gamma * (1 - done) * max_a' Q_target(s', a')             (DQN)
    y = r + gamma * (1 - done) * Q_target(s', argmax_a' Q(s', a'))    (Double DQN)
loss = mean(huber(Q(s, a) - y)) or mean((Q(s, a) - y) ** 2).
"""
import dataclasses
import math
import time
from typing import NamedTuple

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import optax

from arena import checks, distribution, loop
from arena.random import seeded
from arena.agents.checkpoint import load_agent, save_agent
from arena.agents.evaluation import evaluate_q_network
from arena.agents.networks import add_dueling_head, check_q_network, default_q_network, q_values
from arena.envs.make import MAX_ENVS, check_env_kwargs, make_vec_env
from arena.nn import optimizers, schedules
from arena.nn.update import make_update
from arena.replay import Batch


INT_MAX = 2**31 - 1          # counts and intervals enter compiled code as int32
SEED_MAX = 2**32 - 1
MAX_REPLAY_BYTES = 4 * 2**30  # a replay buffer larger than this is refused (lower buffer_size)
MAX_BATCH_BYTES = 2**30       # observations sampled per learning step (batch_size x gradient_steps)


@dataclasses.dataclass
class DQNConfig:
    """DQN options; names follow Stable-Baselines3 where one exists. Every value is checked on
    creation (type and range), whether it comes from code, the command line or a checkpoint file."""
    learning_rate: float = 1e-4
    buffer_size: int = 50_000
    learning_starts: int = 1_000          # env steps of random play before learning (the book's "observe")
    batch_size: int = 32
    tau: float = 1.0                      # 1.0: hard target updates; < 1: Polyak averaging
    gamma: float = 0.99
    train_freq: int = 1                   # env steps (per env) between updates
    gradient_steps: int = 1               # updates each time
    target_update_interval: int = 1_000   # env steps between target-network updates
    exploration_fraction: float = 0.1     # share of the training budget over which epsilon decays
    exploration_initial_eps: float = 1.0
    exploration_final_eps: float = 0.05
    max_grad_norm: float | None = 10.0
    loss: str = "huber"                   # "huber" or "mse"
    double_q: bool = False
    dueling: bool = False
    n_steps: int = 1                      # n-step returns (the compiled agent, CompiledDQN, only so far)
    prioritized_replay_alpha: float = 0.0  # > 0: prioritized replay (Schaul et al. 2016), CompiledDQN only so far
    prioritized_replay_beta: float = 0.4   # importance-weight exponent at the start, annealed to 1
    n_envs: int = 1
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.loss, str) or self.loss not in ("huber", "mse"):
            raise ValueError(f"DQN: loss must be 'huber' or 'mse'; got {self.loss!r}")
        if isinstance(self.learning_rate, dict):  # a schedule's config, from get_config or a file
            self.learning_rate = schedules.deserialize(self.learning_rate)
        if not callable(self.learning_rate):  # a number, an arena.nn.schedules schedule or an optax schedule
            self.learning_rate = _number("learning_rate", self.learning_rate, 0.0, low_open=True)
        for name in ("buffer_size", "batch_size", "train_freq", "target_update_interval"):
            setattr(self, name, _integer(name, getattr(self, name), 1))
        self.gradient_steps = _integer("gradient_steps", self.gradient_steps, 1, 2**16)
        self.n_steps = _integer("n_steps", self.n_steps, 1, 256)
        self.learning_starts = _integer("learning_starts", self.learning_starts, 0)
        self.n_envs = _integer("n_envs", self.n_envs, 1, MAX_ENVS)
        self.seed = _integer("seed", self.seed, 0, SEED_MAX)
        if self.buffer_size < self.n_envs:
            raise ValueError(f"DQN: buffer_size ({self.buffer_size}) must be >= n_envs ({self.n_envs}): every env "
                             f"keeps buffer_size // n_envs transitions")
        self.tau = _number("tau", self.tau, 0.0, 1.0, low_open=True)
        for name in ("gamma", "exploration_fraction", "exploration_initial_eps", "exploration_final_eps",
                     "prioritized_replay_alpha", "prioritized_replay_beta"):
            setattr(self, name, _number(name, getattr(self, name), 0.0, 1.0))
        if self.max_grad_norm is not None:
            self.max_grad_norm = _number("max_grad_norm", self.max_grad_norm, 0.0, low_open=True)
        for name in ("double_q", "dueling"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"DQN: {name} must be True or False; got {value!r}")
            setattr(self, name, bool(value))


def _integer(name, value, low, high=INT_MAX):
    """``value`` as an int in ``low..high`` (integral floats such as 1e5 are accepted): a TypeError for
    a value that is no integer, a ValueError for one out of range."""
    return checks.integer(value, f"DQN: {name}", low, high, integral_floats=True, type_error=TypeError)


def _number(name, value, low, high=None, low_open=False):
    """``value`` as a finite float in ``[low, high]`` (``(low, high]`` with ``low_open``; ``high`` None:
    no upper bound): a TypeError for a value that is no number, a ValueError for one out of range."""
    return checks.number(value, f"DQN: {name}", low, high, min_open=low_open, type_error=TypeError)


_OPTIONS = tuple(f.name for f in dataclasses.fields(DQNConfig))


def stored_options(config, who="DQN"):
    """A :class:`DQNConfig` as the dict a config or checkpoint stores (an arena.nn.schedules schedule
    serialized; an opaque callable refused)."""
    options = dataclasses.asdict(config)
    lr = config.learning_rate
    if isinstance(lr, schedules.LearningRateSchedule):
        options["learning_rate"] = schedules.serialize(lr)
    elif callable(lr):
        raise ValueError(f"{who}: the learning rate is an opaque schedule ({lr!r:.60}), which a config or "
                         f"checkpoint cannot store; use a schedule of arena.nn.schedules (e.g. "
                         f"PolynomialDecay) or a number")
    return options


def read_options(config):
    """The DQN options of a stored agent config (its ``config`` entry), checked to be a dict of
    :class:`DQNConfig` field names (their values are checked when the DQNConfig is built)."""
    options = config.get("config", {})
    if not isinstance(options, dict):
        raise ValueError(f"the agent config's 'config' must be a dict of DQN options; got "
                         f"{type(options).__name__}")
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ValueError(f"the agent config has unknown DQN option(s) {unknown}; the options are "
                         f"{list(_OPTIONS)}")
    return options


def linear_epsilon(progress, initial, final, fraction):
    """Epsilon after ``progress`` (0..1) of training: linear from initial to final over ``fraction``."""
    if fraction <= 0:
        return final
    return initial + (final - initial) * min(1.0, progress / fraction)


class AgentState(NamedTuple):
    """Everything the learning step changes: the online network's weights and layer state, the target
    network's, the optimizer state and the update counter."""
    params: dict
    state: dict
    target_params: dict
    target_state: dict
    opt_state: object
    n_updates: jax.Array


def make_functions(model, update, config, n_actions):
    """The pure, jit-compiled pieces: Q-values, epsilon-greedy acting, the TD target and the learning
    step (gradient steps and target-network syncs in one compiled function). ``update`` is the
    network's :func:`~arena.nn.update.make_update`: frozen layers, penalties, constraints and layer
    state are handled as ``fit`` handles them."""
    n_envs = config.n_envs
    sync_every = max(1, config.target_update_interval // n_envs)  # in vector-env calls
    first_call = config.learning_starts // n_envs  # calls at or before it play randomly, learn nothing

    def q(params, state, obs):
        return q_values(model, params, state, obs)[0]

    def act(params, state, obs, key, epsilon):
        greedy = jnp.argmax(q(params, state, obs), axis=-1)
        k1, k2 = jax.random.split(key)
        random_actions = jax.random.randint(k1, greedy.shape, 0, n_actions)
        explore = jax.random.uniform(k2, greedy.shape) < epsilon
        return jnp.where(explore, random_actions, greedy)

    def td_target(agent, batch):
        q_next_target = q(agent.target_params, agent.target_state, batch.next_obs)
        if config.double_q:
            best = jnp.argmax(q(agent.params, agent.state, batch.next_obs), axis=-1)
            q_next = jnp.take_along_axis(q_next_target, best[:, None], axis=-1)[:, 0]
        else:
            q_next = jnp.max(q_next_target, axis=-1)
        # n-step batches (the device replay's) carry each sample's discount gamma^m; others gamma
        discount = getattr(batch, "discounts", config.gamma)
        return batch.rewards + discount * (1.0 - batch.dones) * q_next

    def one_update(agent, batch, key):
        target = td_target(agent, batch)
        step_key = jax.random.fold_in(key, agent.n_updates)

        weights = getattr(batch, "weights", None)  # prioritized replay's importance weights

        def loss_fn(params, layer_state):
            qs, new_state, act_loss = q_values(model, params, layer_state, batch.obs, training=True, key=step_key)
            q_taken = jnp.take_along_axis(qs, batch.actions[:, None].astype(jnp.int32), axis=-1)[:, 0]
            delta = q_taken - target
            losses = optax.huber_loss(delta) if config.loss == "huber" else delta ** 2
            loss = (losses * weights).mean() if weights is not None else losses.mean()
            return loss + act_loss, (new_state, (q_taken.mean(), jnp.abs(delta)))

        params, state, opt_state, loss, (q_mean, td_error) = update.apply(agent.params, agent.state, agent.opt_state,
                                                                          loss_fn)
        return agent._replace(params=params, state=state, opt_state=opt_state,
                              n_updates=agent.n_updates + 1), (loss, q_mean, td_error)

    def sync_target(agent):
        target = optax.incremental_update(agent.params, agent.target_params, config.tau)
        return agent._replace(target_params=target, target_state=agent.state)

    def learn(agent, batches, call, key):
        """``(agent, mean loss, mean Q, |TD errors| (gradient_steps, batch))``: the learning step at
        vector-env call ``call`` (an update is due there): the target syncs
        due since the previous update (Stable-Baselines3 syncs every ``target_update_interval`` env
        steps once learning has started; the weights did not change since), then ``gradient_steps``
        updates over stacked batches (leading axis), then the sync due at this call, if any.
        A few steps are unrolled (on XLA:CPU convolution gradients inside ``lax.scan`` run 5-10x
        slower); many (e.g. 128 for CartPole) are scanned, which keeps compilation short."""
        since = jnp.maximum(call - config.train_freq, first_call)
        due = jnp.maximum((call - 1) // sync_every - since // sync_every, 0)
        agent = jax.lax.fori_loop(0, due, lambda _, a: sync_target(a), agent)
        steps = batches.obs.shape[0]
        if steps > 8:
            agent, (losses, q_means, td_errors) = jax.lax.scan(lambda a, b: one_update(a, b, key), agent, batches)
        else:
            outs = []
            for g in range(steps):
                agent, out = one_update(agent, jax.tree_util.tree_map(lambda a: a[g], batches), key)
                outs.append(out)
            losses, q_means, td_errors = (jnp.stack(v) for v in zip(*outs))
        agent = jax.lax.cond(call % sync_every == 0, sync_target, lambda a: a, agent)
        return agent, losses.mean(), q_means.mean(), td_errors

    return {"q_values": jax.jit(q), "act": jax.jit(act), "learn": jax.jit(learn), "td_target": jax.jit(td_target)}


class DQN:
    """A DQN agent. ``env`` is 'catch', a Gymnasium id, or an env factory's id with ``env_kwargs``;
    ``q_network`` is any Arena model from observations to one Q-value per action, used as given, or
    a function ``(observation_space, n_actions) -> Model`` (default: a small CNN for images, an MLP
    otherwise), to which ``dueling=True`` adds a dueling head.

    >>> agent = DQN("CartPole-v1", learning_rate=1e-3)
    >>> agent.learn(total_timesteps=50_000)
    """

    def __init__(self, env, q_network=None, env_kwargs=None, config=None, **options):
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise TypeError(f"DQN: unknown option(s) {unknown}; the options are {list(_OPTIONS)}")
        if config is not None and not isinstance(config, DQNConfig):
            raise TypeError(f"DQN: config must be a DQNConfig; got {type(config).__name__}")
        self.config = dataclasses.replace(config or DQNConfig(), **options)
        cfg = self.config
        if env_kwargs is not None and not isinstance(env_kwargs, dict):
            raise TypeError(f"DQN: env_kwargs must be a dict of environment options; got {type(env_kwargs).__name__}")
        if cfg.n_steps != 1 or cfg.prioritized_replay_alpha:
            raise ValueError("DQN: n-step returns (n_steps > 1) and prioritized replay (prioritized_replay_alpha > 0) "
                             "are implemented by the compiled agent (CompiledDQN, `arena train --backend jax`) only")
        self.env_id = env
        self.env_kwargs = dict(env_kwargs or {})
        check_env_kwargs(env, self.env_kwargs)  # a known id (never 'module:Env'), options its constructor takes
        self.envs = make_vec_env(env, cfg.n_envs, training=True, **self.env_kwargs)
        self.observation_space = self.envs.single_observation_space
        self.action_space = self.envs.single_action_space
        if not isinstance(self.action_space, gym.spaces.Discrete):
            raise ValueError(f"DQN needs a discrete action space; {env!r} has {self.action_space}")
        self.n_actions = int(self.action_space.n)
        check_memory(cfg, self.observation_space, self.action_space)
        if hasattr(q_network, "forward"):
            model = q_network  # a ready model is used as it is (dueling or not)
        else:
            with seeded(cfg.seed):  # the same seed builds the same initial network
                model = (q_network or default_q_network)(self.observation_space, self.n_actions)
                if cfg.dueling:
                    model = add_dueling_head(model, self.n_actions)
        check_q_network(model, self.observation_space, self.n_actions, env)
        self.q_network = model
        self.optimizer = optimizers.Adam(cfg.learning_rate, global_clipnorm=cfg.max_grad_norm)
        self._update = make_update(model, self.optimizer.build())
        self._fns = make_functions(model, self._update, cfg, self.n_actions)
        params, state = model.params, model.state
        copy = lambda tree: jax.tree_util.tree_map(jnp.array, tree)  # noqa: E731 - the target's own buffers
        self._state = AgentState(params, state, copy(params), copy(state), self._update.init(params),
                                 jnp.zeros((), jnp.int32))
        self.replay = make_replay_buffer(cfg.buffer_size, self.observation_space, self.action_space, cfg.n_envs)
        self.rng = np.random.default_rng(cfg.seed)
        self.key = jax.random.PRNGKey(cfg.seed)
        self.global_step = 0      # env steps, all envs counted
        self.games = 0            # finished episodes
        self.epochs_done = 0
        self.callback_state = {}  # callbacks' own state kept in checkpoints (e.g. ModelCheckpoint's best score)
        self.stop_training = False
        self.history = None

    # ---- what callbacks use (the same surface as a Model) ------------------------------
    @property
    def params(self):
        return self._state.params

    def publish(self):
        """Write the learning state's online weights to the Q-network's layers (where saving,
        evaluation and callbacks read them)."""
        self.q_network.params, self.q_network.state = self._state.params, self._state.state

    def refresh(self):
        """Take the Q-network layers' weights (set by a callback) into the learning state."""
        self._state = self._state._replace(params=self.q_network.params, state=self.q_network.state)

    def get_weights(self):
        self.publish()
        return self.q_network.get_weights()

    def set_weights(self, weights):
        self.q_network.set_weights(weights)
        self.refresh()

    def get_learning_rate(self):
        return float(optimizers.get_learning_rate(self._state.opt_state))

    def set_learning_rate(self, value):
        self._state = self._state._replace(opt_state=optimizers.set_learning_rate(self._state.opt_state, value))

    # ---- configuration and training state (what a checkpoint holds) ---------------------------
    def get_config(self):
        """What rebuilds this agent (with its Q-network): env id, env options and the DQN options."""
        return {"env_id": self.env_id, "env_kwargs": dict(self.env_kwargs), "config": stored_options(self.config)}

    @classmethod
    def from_config(cls, config, q_network=None, env=None, **overrides):
        """An agent from :meth:`get_config` (``env`` and ``overrides`` replace the stored ones).
        The config may come from a file: its keys are checked against :class:`DQNConfig`'s fields, its
        env id against Arena's games and Gymnasium's registry (never a ``module:`` id) and its env
        options against the env's constructor, before anything is built."""
        if not isinstance(config, dict):
            raise ValueError(f"the agent config must be a dict; got {type(config).__name__}")
        unknown = sorted(set(config) - {"algorithm", "env_id", "env_kwargs", "config"})
        if unknown:
            raise ValueError(f"the agent config has unknown key(s) {unknown}")
        options = read_options(config)
        env_id = env if env is not None else config.get("env_id")
        env_kwargs = config.get("env_kwargs")
        check_env_kwargs(env_id, env_kwargs)
        return cls(env_id, q_network=q_network, env_kwargs=env_kwargs,
                   config=DQNConfig(**{**options, **overrides}))

    def state_dict(self):
        """Everything that training changes besides the Q-network's weights (which a checkpoint
        stores as a model file): target network, optimizer state, replay, random states, counters,
        and ``callback_state`` (callbacks' own state, e.g. the best score of ``ModelCheckpoint``)."""
        s = self._state
        return {"state": s.state, "target_params": s.target_params, "target_state": s.target_state,
                "opt_state": s.opt_state, "n_updates": int(s.n_updates), "replay": self.replay.state_dict(),
                "numpy_rng": self.rng.bit_generator.state, "key": np.asarray(self.key),
                "global_step": int(self.global_step), "games": int(self.games),
                "epochs_done": int(self.epochs_done), "callback_state": dict(self.callback_state)}

    def load_state_dict(self, d, params=None):
        """Restore :meth:`state_dict` (with the online weights ``params``; default: the Q-network's).

        Everything is checked first (a ``ValueError`` names the field): counters are non-negative
        integers consistent with each other (games <= env steps, epochs and updates no more than the
        steps allow, stored transitions no more than the steps played), networks and optimizer state
        have this agent's structure and shapes and are finite, the replay buffer's arrays have the
        buffer's shapes and dtypes (see ``ReplayBuffer.load_state_dict``). Checkpoints from before
        ``callback_state`` existed load with ``{}``."""
        if not isinstance(d, dict):
            raise ValueError(f"agent state must be a dict; got {type(d).__name__}")
        missing = [k for k in ("state", "target_params", "target_state", "opt_state", "n_updates", "replay",
                               "numpy_rng", "key", "global_step", "games", "epochs_done") if k not in d]
        if missing:
            raise ValueError(f"agent state lacks {missing} (damaged checkpoint)")
        cfg = self.config
        counters = {k: _counter(k, d[k]) for k in ("global_step", "games", "epochs_done")}
        n_updates = _counter("n_updates", d["n_updates"], INT_MAX)
        steps = counters["global_step"]
        if steps % cfg.n_envs:
            raise ValueError(f"agent/global_step={steps} is not a multiple of n_envs={cfg.n_envs}")
        calls = steps // cfg.n_envs  # vector-env steps
        if counters["games"] > steps:
            raise ValueError(f"agent/games={counters['games']} is more than the {steps} env steps played "
                             f"(agent/global_step)")
        if counters["epochs_done"] > calls:
            raise ValueError(f"agent/epochs_done={counters['epochs_done']} is more than the {calls} vector-env "
                             f"steps played allow (agent/global_step={steps})")
        if n_updates > cfg.gradient_steps * (calls // cfg.train_freq):
            raise ValueError(f"agent/n_updates={n_updates} is more than {steps} env steps allow (gradient_steps="
                             f"{cfg.gradient_steps}, train_freq={cfg.train_freq})")
        params = self.q_network.params if params is None else params
        current = self._state
        _check_tree("params", params, current.params)
        trees = {k: d[k] for k in ("state", "target_params", "target_state", "opt_state")}
        for k, tree in trees.items():
            _check_tree(k, tree, getattr(current, k))
        for leaf_path, leaf in jax.tree_util.tree_leaves_with_path(trees["opt_state"]):
            a = np.asarray(leaf)
            if a.dtype.kind in "iu" and a.size and (a.min() < 0 or a.max() > n_updates):
                raise ValueError(f"agent/opt_state{jax.tree_util.keystr(leaf_path)}={a.tolist()}: an optimizer "
                                 f"step count must be in 0..n_updates ({n_updates})")
        key = np.asarray(d["key"])
        if key.shape != np.shape(self.key) or key.dtype != np.uint32:
            raise ValueError(f"agent/key must be a uint32 array of shape {np.shape(self.key)}; got shape "
                             f"{key.shape} and dtype {key.dtype}")
        callback_state = _check_callback_state(d.get("callback_state") or {})
        count = d["replay"].get("count") if isinstance(d["replay"], dict) else None
        if isinstance(count, np.ndarray) and count.dtype.kind in "iu" and count.sum() > steps:
            raise ValueError(f"replay/count: {int(count.sum())} stored transitions is more than the {steps} env "
                             f"steps played (agent/global_step)")
        try:
            if not isinstance(d["numpy_rng"], dict) or \
                    d["numpy_rng"].get("bit_generator") != self.rng.bit_generator.state["bit_generator"]:
                raise ValueError("not a state of this generator")
            rng = np.random.Generator(type(self.rng.bit_generator)())
            rng.bit_generator.state = d["numpy_rng"]  # numpy checks the state
        except (ValueError, TypeError, KeyError, OverflowError) as e:
            raise ValueError(f"agent/numpy_rng is not a valid {type(self.rng.bit_generator).__name__} state "
                             f"({e})") from None
        self.replay.load_state_dict(d["replay"])  # checks everything before changing the buffer
        self._state = AgentState(params=params, state=trees["state"], target_params=trees["target_params"],
                                 target_state=trees["target_state"], opt_state=trees["opt_state"],
                                 n_updates=jnp.asarray(n_updates, jnp.int32))
        self.q_network.state = trees["state"]
        self.rng = rng
        self.key = jnp.asarray(key)
        self.global_step, self.games, self.epochs_done = steps, counters["games"], counters["epochs_done"]
        self.callback_state = callback_state

    def save(self, path):
        """A checkpoint: the Q-network as an Arena model file plus everything needed to resume exactly."""
        save_agent(self, path)

    def save_weights(self, path):
        self.publish()
        self.q_network.save_weights(path)

    @classmethod
    def load(cls, path, env=None, **overrides):
        """Resume from a checkpoint written by :meth:`save`."""
        return load_agent(cls, path, env=env, **overrides)

    # ---- acting -------------------------------------------------------------------------
    def predict(self, obs, deterministic=True, epsilon=0.0):
        """Actions for one observation or a batch of them (greedy unless ``epsilon`` > 0)."""
        expected = tuple(self.observation_space.shape)
        try:
            obs = np.asarray(obs)
        except ValueError as e:  # ragged nested lists
            raise ValueError(f"DQN.predict: observations must be an array of shape {expected} or (batch, "
                             f"*{expected}); got a ragged sequence ({e})") from None
        if obs.shape != expected and obs.shape[1:] != expected:
            raise ValueError(f"DQN.predict: observations must have shape {expected} (one) or (batch, "
                             f"{', '.join(map(str, expected))}) (a batch); got shape {obs.shape}")
        if obs.dtype.kind not in "biuf":
            raise ValueError(f"DQN.predict: observations must be numbers; got dtype {obs.dtype}")
        if not deterministic:
            epsilon = _number("epsilon", epsilon, 0.0, 1.0)
        single = obs.shape == expected
        batch = obs[None] if single else obs
        self.key, sub = jax.random.split(self.key)
        actions = np.asarray(self._fns["act"](self._state.params, self._state.state, batch, sub,
                                              0.0 if deterministic else epsilon))
        return actions[0] if single else actions

    # ---- training -----------------------------------------------------------------------
    def learn(self, total_games=None, total_timesteps=None, games_per_epoch=100, steps_per_epoch=10_000,
              callbacks=None, verbose=1, eval_games=0):
        """Train until ``total_games`` episodes (or ``total_timesteps`` env steps) through the one loop.
        An epoch is ``games_per_epoch`` games (or ``steps_per_epoch`` steps); callbacks see the agent as
        ``self.model``. With ``eval_games`` > 0, every epoch ends with a greedy evaluation on that many
        games, logged as ``eval/mean_return`` (and ``eval/wins`` for games that have wins).
        Calling again after :meth:`load` continues where the checkpoint stopped."""
        if (total_games is None) == (total_timesteps is None):
            raise ValueError("learn: give exactly one of total_games or total_timesteps")
        n = self.config.n_envs
        if total_games is not None:
            budget = ("games", _integer("total_games", total_games, 1, 2**62))
            per_epoch = _integer("games_per_epoch", games_per_epoch, 1, 2**62)
            done = self.games
        else:  # env steps come n_envs at a time: budgets are rounded up to a multiple of n_envs
            budget = ("steps", -(-_integer("total_timesteps", total_timesteps, 1, 2**62) // n) * n)
            per_epoch = -(-_integer("steps_per_epoch", steps_per_epoch, 1, 2**62) // n) * n
            done = self.global_step
        eval_games = _integer("eval_games", eval_games, 0, 10**6)
        if done > budget[1]:
            raise ValueError(f"learn: this agent has already played {done} {budget[0]}, more than the budget of "
                             f"{budget[1]}: give a larger budget to continue training")
        # An epoch is per_epoch games or steps, the last one only what is left of the budget.
        epochs = self.epochs_done + math.ceil((budget[1] - done) / per_epoch)
        task = _DQNTask(self, budget, per_epoch, eval_games)
        return loop.run(self, task, epochs=epochs, initial_epoch=self.epochs_done, callbacks=callbacks,
                        verbose=verbose, params={"unit": budget[0][:-1], "progress_key": "epoch_" + budget[0]})

    def _progress(self, budget):
        done = self.games if budget[0] == "games" else self.global_step
        return done / budget[1]

    def epsilon(self, budget):
        cfg = self.config
        return linear_epsilon(self._progress(budget), cfg.exploration_initial_eps, cfg.exploration_final_eps,
                              cfg.exploration_fraction)


def _replay_class(observation_space):
    from arena.replay import FrameStackReplayBuffer, ReplayBuffer
    shape = tuple(observation_space.shape or ())
    if len(shape) == 3 and np.dtype(observation_space.dtype) == np.uint8:
        return FrameStackReplayBuffer
    return ReplayBuffer


def make_replay_buffer(capacity, observation_space, action_space, n_envs):
    """Frame stacks of uint8 images store each frame once; anything else is stored as given."""
    cls = _replay_class(observation_space)
    kwargs = {"validate": False} if cls.__name__ == "FrameStackReplayBuffer" else {}
    return cls(capacity, observation_space, action_space, n_envs, **kwargs)


def check_memory(cfg, observation_space, action_space):
    """Refuse settings whose replay buffer or sampled batches would take more memory than
    :data:`MAX_REPLAY_BYTES` / :data:`MAX_BATCH_BYTES` (before anything is allocated)."""
    shape = tuple(observation_space.shape or ())
    dtype = np.dtype(observation_space.dtype or np.float32)
    replay = _replay_class(observation_space).planned_nbytes(cfg.buffer_size, observation_space, action_space,
                                                              cfg.n_envs)
    if replay > MAX_REPLAY_BYTES:
        raise ValueError(f"DQN: a replay buffer of buffer_size={cfg.buffer_size} transitions of {shape} {dtype} "
                         f"observations would take {replay / 2**30:.1f} GiB, more than the "
                         f"{MAX_REPLAY_BYTES / 2**30:g} GiB limit (arena.agents.dqn.MAX_REPLAY_BYTES): lower "
                         f"buffer_size or the observation size")
    batch = 2 * cfg.batch_size * cfg.gradient_steps * math.prod(shape) * dtype.itemsize
    if batch > MAX_BATCH_BYTES:
        raise ValueError(f"DQN: batch_size={cfg.batch_size} x gradient_steps={cfg.gradient_steps} samples of "
                         f"{shape} observations would take {batch / 2**30:.1f} GiB per learning step, more than "
                         f"the {MAX_BATCH_BYTES / 2**30:g} GiB limit (arena.agents.dqn.MAX_BATCH_BYTES)")


def _counter(name, value, high=2**62):
    """A stored counter as a Python int in 0..high, or a ValueError naming ``agent/<name>``."""
    a = np.asarray(value) if isinstance(value, (int, np.integer, np.ndarray)) and not isinstance(value, bool) \
        else None
    if a is None or a.shape != () or a.dtype.kind not in "iu":
        raise ValueError(f"agent/{name} must be an integer; got {value!r}")
    v = int(a)
    if not 0 <= v <= high:
        raise ValueError(f"agent/{name}={v} is out of range 0..{high}")
    return v


def _check_tree(name, tree, like):
    """``tree`` has ``like``'s structure, leaf shapes and dtypes and finite floating-point values."""
    try:
        treedef, like_def = jax.tree_util.tree_structure(tree), jax.tree_util.tree_structure(like)
    except Exception as e:  # noqa: BLE001 - not a pytree at all
        raise ValueError(f"agent/{name} is not a tree of arrays ({e})") from None
    if treedef != like_def:
        raise ValueError(f"agent/{name} does not have this agent's structure ({treedef} instead of {like_def})")
    for (path, leaf), ref in zip(jax.tree_util.tree_leaves_with_path(tree), jax.tree_util.tree_leaves(like)):
        where = f"agent/{name}{jax.tree_util.keystr(path)}"
        if isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            continue
        a = np.asarray(leaf)
        if a.shape != np.shape(ref):
            raise ValueError(f"{where} has shape {a.shape}; expected {tuple(np.shape(ref))}")
        if a.dtype.kind == "f" or a.dtype.name == "bfloat16":
            if not np.isfinite(a.astype(np.float32)).all():
                raise ValueError(f"{where} holds non-finite values (NaN or infinity)")


def _check_callback_state(value):
    """Callbacks' state: a dict of string keys to numbers (not NaN) or strings."""
    if not isinstance(value, dict) or len(value) > 10_000:
        raise ValueError(f"agent/callback_state must be a dict (of at most 10,000 entries); got "
                         f"{type(value).__name__}")
    out = {}
    for k, v in value.items():
        if isinstance(v, np.ndarray) and v.shape == ():
            v = v[()]
        if isinstance(v, (np.generic,)):
            v = v.item()
        if not isinstance(k, str) or not (isinstance(v, str) and len(v) <= 100_000 or
                                          isinstance(v, (int, float)) and not isinstance(v, bool)):
            raise ValueError(f"agent/callback_state[{k!r}] must be a number or a string; got {v!r}")
        if isinstance(v, float) and math.isnan(v):
            raise ValueError(f"agent/callback_state[{k!r}] is NaN")
        out[k] = v
    return out


class _DQNTask:
    """The RL batch source for the one loop: play, store, sample; the step is the jitted TD update."""

    def __init__(self, agent, budget, per_epoch, eval_games=0):
        self.agent, self.budget, self.per_epoch, self.eval_games = agent, budget, per_epoch, eval_games
        # Games that define a winning reward (catch: +1) also log win rates.
        self.win_reward = agent.envs.envs[0].unwrapped.metadata.get("win_reward")
        self.steps_per_epoch = per_epoch

    def _epoch_seed(self, epoch):
        # Envs restart at every epoch from a seed fixed by (seed, epoch): a run resumed from an
        # epoch-end checkpoint then plays exactly the games an uninterrupted run plays.
        return int(self.agent.config.seed) * 1_000_003 + epoch * 7919

    def batches(self, epoch):
        """One epoch: ``per_epoch`` games or steps, or what is left of the budget if that is less.
        With a games budget, the envs claim the epoch's games in env order as they start them; an env
        with no game left to claim plays on idle (its steps count as env steps, but its transitions
        are not stored and its games not counted), so an epoch is exactly its number of games."""
        agent, cfg = self.agent, self.agent.config
        fns, envs, replay = agent._fns, agent.envs, agent.replay
        obs, _ = envs.reset(seed=self._epoch_seed(epoch))
        replay.reset_episodes()  # the envs start new games: no stored game continues
        n = cfg.n_envs
        by_games = self.budget[0] == "games"
        quota = min(self.per_epoch, self.budget[1] - (agent.games if by_games else agent.global_step))
        active = np.ones(n, bool)
        claimed = min(n, quota)
        if by_games:
            active[claimed:] = False
        returns = np.zeros(n)
        self.ep_returns, self.wins, self.loss_sum, self.n_losses = [], [], 0.0, 0
        self.start_time, self.start_step = time.time(), agent.global_step
        self.epoch_games = self.epoch_steps = 0
        win_reward = self.win_reward
        while (self.epoch_games if by_games else self.epoch_steps) < quota:
            self.epsilon = agent.epsilon(self.budget)
            if agent.global_step < cfg.learning_starts:
                actions = agent.rng.integers(0, agent.n_actions, size=n)
            else:
                key = jax.random.fold_in(agent.key, agent.global_step)
                actions = np.asarray(fns["act"](agent._state.params, agent._state.state, obs, key, self.epsilon))
            next_obs, rewards, terminated, truncated, infos = envs.step(actions)
            done = terminated | truncated
            real_next = next_obs
            if done.any():
                real_next = next_obs.copy()
                for i in np.flatnonzero(done):
                    real_next[i] = infos["final_obs"][i]
            replay.add(obs, real_next, actions, rewards, terminated, truncated,
                       mask=None if active.all() else active.copy())
            returns += rewards
            finished = 0
            for i in np.flatnonzero(done):
                if active[i]:
                    self.ep_returns.append(returns[i])
                    if win_reward is not None:
                        self.wins.append(rewards[i] >= win_reward)
                    finished += 1
                returns[i] = 0.0
                if by_games:  # the env starts a new game: it plays it if one is left to claim
                    active[i] = claimed < quota
                    claimed += int(active[i])
            agent.games += finished
            self.epoch_games += finished
            self.epoch_steps += n
            agent.global_step += n
            obs = next_obs
            calls = agent.global_step // n  # vector steps so far; a global count keeps resumes exact
            if agent.global_step > cfg.learning_starts and calls % cfg.train_freq == 0:
                # target-network syncs are part of the compiled learning step (see make_functions)
                # every gradient step's batch in one draw (one vectorised gather, no stacking)
                sample = replay.sample(cfg.batch_size * cfg.gradient_steps, agent.rng)
                yield calls, Batch(*(np.asarray(a).reshape((cfg.gradient_steps, cfg.batch_size) + np.shape(a)[1:])
                                     for a in sample))

    def train_step(self, batch):
        agent = self.agent
        calls, stacked = batch  # (gradient_steps, batch_size, ...) arrays
        stacked = stacked._replace(rewards=stacked.rewards.astype(np.float32, copy=False),
                                   dones=stacked.dones.astype(np.float32, copy=False))
        # Under a distribution: the weights on every device, each batch's rows split across them.
        if distribution.distribution() is not None:
            distribution.require_one_process("DQN training under a distribution")
        state, stacked = distribution.place(agent._state), distribution.place(stacked, batch_axis=1)
        agent._state, loss, q_mean, _ = agent._fns["learn"](state, stacked, calls, agent.key)
        self.loss_sum = self.loss_sum + loss
        self.n_losses += 1
        logs = {"losses/td_loss": loss, "losses/q_values": q_mean, "charts/epsilon": self.epsilon,
                "epoch_games": self.epoch_games, "epoch_steps": self.epoch_steps}
        if self.wins:
            logs["charts/win_rate"] = float(np.mean(self.wins[-100:]))
        return logs

    def publish(self):
        self.agent.publish()

    def refresh(self):
        self.agent.refresh()

    def end_epoch(self, epoch):
        agent = self.agent
        agent.epochs_done = epoch + 1
        agent.publish()
        elapsed = max(time.time() - self.start_time, 1e-9)
        logs = {"global_step": agent.global_step, "games": agent.games,
                "charts/epsilon": agent.epsilon(self.budget),
                "charts/SPS": (agent.global_step - self.start_step) / elapsed}
        if self.ep_returns:
            logs["charts/episodic_return"] = float(np.mean(self.ep_returns))
        if self.wins:
            logs["charts/win_rate"] = float(np.mean(self.wins))
            logs["wins"] = int(np.sum(self.wins))
        if self.n_losses:
            logs["losses/td_loss"] = float(self.loss_sum) / self.n_losses
        if self.eval_games:
            started = time.time()
            result = evaluate_q_network(agent.q_network, agent.env_id, self.eval_games,
                                        env_kwargs=agent.env_kwargs)
            logs["eval/mean_return"] = result["mean_return"]
            logs["eval/seconds"] = time.time() - started
            if self.win_reward is not None:
                logs["eval/wins"] = result["wins"]
        return logs
