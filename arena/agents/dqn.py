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

from arena import loop
from arena.random import seeded
from arena.agents.checkpoint import load_agent, save_agent
from arena.agents.evaluation import evaluate_q_network
from arena.agents.networks import add_dueling_head, check_q_network, default_q_network, q_values
from arena.envs.make import make_vec_env
from arena.nn import optimizers
from arena.nn.update import make_update
from arena.replay import Batch


@dataclasses.dataclass
class DQNConfig:
    """DQN options; names follow Stable-Baselines3 where one exists."""
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
    n_envs: int = 1
    seed: int = 0

    def __post_init__(self):
        if self.loss not in ("huber", "mse"):
            raise ValueError(f"DQN: loss must be 'huber' or 'mse'; got {self.loss!r}")
        for name in ("buffer_size", "batch_size", "train_freq", "gradient_steps", "target_update_interval",
                     "n_envs"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"DQN: {name} must be >= 1; got {getattr(self, name)!r}")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"DQN: tau must be in (0, 1]; got {self.tau}")


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
        return batch.rewards + config.gamma * (1.0 - batch.dones) * q_next

    def one_update(agent, batch, key):
        target = td_target(agent, batch)
        step_key = jax.random.fold_in(key, agent.n_updates)

        def loss_fn(params, layer_state):
            qs, new_state, act_loss = q_values(model, params, layer_state, batch.obs, training=True, key=step_key)
            q_taken = jnp.take_along_axis(qs, batch.actions[:, None].astype(jnp.int32), axis=-1)[:, 0]
            delta = q_taken - target
            loss = optax.huber_loss(delta).mean() if config.loss == "huber" else jnp.mean(delta ** 2)
            return loss + act_loss, (new_state, q_taken.mean())

        params, state, opt_state, loss, q_mean = update.apply(agent.params, agent.state, agent.opt_state, loss_fn)
        return agent._replace(params=params, state=state, opt_state=opt_state,
                              n_updates=agent.n_updates + 1), (loss, q_mean)

    def sync_target(agent):
        target = optax.incremental_update(agent.params, agent.target_params, config.tau)
        return agent._replace(target_params=target, target_state=agent.state)

    def learn(agent, batches, call, key):
        """The learning step at vector-env call ``call`` (an update is due there): the target syncs
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
            agent, (losses, q_means) = jax.lax.scan(lambda a, b: one_update(a, b, key), agent, batches)
        else:
            outs = []
            for g in range(steps):
                agent, out = one_update(agent, jax.tree_util.tree_map(lambda a: a[g], batches), key)
                outs.append(out)
            losses, q_means = (jnp.stack(v) for v in zip(*outs))
        agent = jax.lax.cond(call % sync_every == 0, sync_target, lambda a: a, agent)
        return agent, losses.mean(), q_means.mean()

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
        self.config = dataclasses.replace(config or DQNConfig(), **options)
        cfg = self.config
        self.env_id = env
        self.env_kwargs = dict(env_kwargs or {})
        self.envs = make_vec_env(env, cfg.n_envs, **self.env_kwargs)
        self.observation_space = self.envs.single_observation_space
        self.action_space = self.envs.single_action_space
        if not isinstance(self.action_space, gym.spaces.Discrete):
            raise ValueError(f"DQN needs a discrete action space; {env!r} has {self.action_space}")
        self.n_actions = int(self.action_space.n)
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
        return {"env_id": self.env_id, "env_kwargs": dict(self.env_kwargs),
                "config": dataclasses.asdict(self.config)}

    @classmethod
    def from_config(cls, config, q_network=None, env=None, **overrides):
        """An agent from :meth:`get_config` (``env`` and ``overrides`` replace the stored ones)."""
        options = {**config["config"], **overrides}
        return cls(env if env is not None else config["env_id"], q_network=q_network,
                   env_kwargs=config.get("env_kwargs"), config=DQNConfig(**options))

    def state_dict(self):
        """Everything that training changes besides the Q-network's weights (which a checkpoint
        stores as a model file): target network, optimizer state, replay, random states, counters."""
        s = self._state
        return {"state": s.state, "target_params": s.target_params, "target_state": s.target_state,
                "opt_state": s.opt_state, "n_updates": int(s.n_updates), "replay": self.replay.state_dict(),
                "numpy_rng": self.rng.bit_generator.state, "key": np.asarray(self.key),
                "global_step": int(self.global_step), "games": int(self.games),
                "epochs_done": int(self.epochs_done)}

    def load_state_dict(self, d, params=None):
        """Restore :meth:`state_dict` (with the online weights ``params``; default: the Q-network's)."""
        self._state = AgentState(
            params=self.q_network.params if params is None else params, state=d["state"],
            target_params=d["target_params"], target_state=d["target_state"], opt_state=d["opt_state"],
            n_updates=jnp.asarray(d["n_updates"], jnp.int32))
        self.q_network.state = d["state"]
        self.replay.load_state_dict(d["replay"])
        self.rng.bit_generator.state = d["numpy_rng"]
        self.key = jnp.asarray(d["key"])
        self.global_step, self.games, self.epochs_done = (int(d["global_step"]), int(d["games"]),
                                                          int(d["epochs_done"]))

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
        """Actions for a batch of observations (greedy unless ``epsilon`` > 0)."""
        obs = np.asarray(obs)
        single = obs.shape == self.observation_space.shape
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
        budget = ("games", int(total_games)) if total_games is not None else ("steps", int(total_timesteps))
        per_epoch = int(games_per_epoch if budget[0] == "games" else steps_per_epoch)
        if budget[1] <= 0 or per_epoch <= 0:
            raise ValueError(f"learn: the budget and the epoch size must be positive; got {budget}, {per_epoch}")
        epochs = math.ceil(budget[1] / per_epoch)
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


def make_replay_buffer(capacity, observation_space, action_space, n_envs):
    """Frame stacks of uint8 images store each frame once; anything else is stored as given."""
    from arena.replay import FrameStackReplayBuffer, ReplayBuffer
    shape = tuple(observation_space.shape or ())
    if len(shape) == 3 and np.dtype(observation_space.dtype) == np.uint8:
        return FrameStackReplayBuffer(capacity, observation_space, action_space, n_envs, validate=False)
    return ReplayBuffer(capacity, observation_space, action_space, n_envs)


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
        agent, cfg = self.agent, self.agent.config
        fns, envs, replay = agent._fns, agent.envs, agent.replay
        obs, _ = envs.reset(seed=self._epoch_seed(epoch))
        n = cfg.n_envs
        returns = np.zeros(n)
        self.ep_returns, self.wins, self.loss_sum, self.n_losses = [], [], 0.0, 0
        self.start_time, self.start_step = time.time(), agent.global_step
        self.epoch_games = self.epoch_steps = 0
        win_reward = self.win_reward
        while (self.epoch_games if self.budget[0] == "games" else self.epoch_steps) < self.per_epoch:
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
            replay.add(obs, real_next, actions, rewards, terminated, truncated)
            returns += rewards
            for i in np.flatnonzero(done):
                self.ep_returns.append(returns[i])
                if win_reward is not None:
                    self.wins.append(rewards[i] >= win_reward)
                returns[i] = 0.0
            finished = int(done.sum())
            agent.games += finished
            self.epoch_games += finished
            self.epoch_steps += n
            agent.global_step += n
            obs = next_obs
            calls = agent.global_step // n  # vector steps so far; a global count keeps resumes exact
            if agent.global_step > cfg.learning_starts and calls % cfg.train_freq == 0:
                # target-network syncs are part of the compiled learning step (see make_functions)
                yield calls, [replay.sample(cfg.batch_size, agent.rng) for _ in range(cfg.gradient_steps)]

    def train_step(self, batch):
        agent = self.agent
        calls, samples = batch
        if len(samples) == 1:  # a view, no copy of the (large) observation arrays
            stacked = Batch(*(np.asarray(getattr(samples[0], f))[None] for f in Batch._fields))
        else:
            stacked = Batch(*(np.stack([getattr(s, f) for s in samples]) for f in Batch._fields))
        stacked = stacked._replace(rewards=stacked.rewards.astype(np.float32, copy=False),
                                   dones=stacked.dones.astype(np.float32, copy=False))
        agent._state, loss, q_mean = agent._fns["learn"](agent._state, stacked, calls, agent.key)
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
