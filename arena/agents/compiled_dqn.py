"""DQN compiled whole for JAX environments: acting, the environments, the replay buffer and the
learning steps run inside one ``lax.scan`` on the device, and ``jax.vmap`` runs many seeds (or
learning rates) of it as one program.

It is the DQN of :mod:`arena.agents.dqn` (the same options, Q-networks, TD target and learning
step: :func:`~arena.agents.dqn.make_functions`) with the host's work moved into compiled code:

    per vector step:  epsilon-greedy actions -> vmapped env.step (resets finished games)
                      -> store the step in the device buffer -> every ``train_freq`` steps after
                      ``learning_starts``: sample ``gradient_steps`` batches and learn

A *chunk* of such steps is one compiled call and one step of the one training loop
(:func:`arena.loop.run`), so callbacks, the progress bar, TensorBoard, CSV logs, checkpoints and
early stopping work as for every other learner. Between chunks the whole run state (networks,
optimizer, buffer, environment states, keys, counters) is an explicit pytree: a checkpoint holds
it all, and a run resumed from an epoch end continues exactly as the uninterrupted one.

    agent = CompiledDQN("catch", env_kwargs={"obs_type": "state"}, seeds=16, learning_rate=1e-3)
    agent.learn(total_games=300)
    agent.evaluate(100)   # greedy wins of every seed, played on the device
"""
import dataclasses
import math
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from arena import distribution, loop
from arena.agents.checkpoint import load_agent, save_agent
from arena.agents.dqn import (_OPTIONS, INT_MAX, AgentState, DQNConfig, _check_callback_state, _check_tree,
                              _counter, _integer, make_functions, read_options, stored_options)
from arena.agents.evaluation import greedy_games_jax
from arena.agents.networks import add_dueling_head, check_q_network, default_q_network
from arena.envs.make_jax import make_jax_env
from arena.nn import optimizers
from arena.nn.update import make_update
from arena.random import seeded
from arena.replay.device import DeviceReplay, DeviceReplayState

MAX_SEEDS = 1024
MAX_CHUNK = 256          # rounds (of train_freq vector steps) per compiled call: one step of the loop
MAX_DEVICE_BYTES = 4 * 2**30


class RunState(NamedTuple):
    """One run between chunks (with seeds: every leaf has a leading seed axis)."""
    agent: AgentState
    replay: DeviceReplayState
    env_state: object      # the environment's state, one per env
    obs: jax.Array         # (n_envs, *obs_shape): the observations to act on
    ep_return: jax.Array   # (n_envs,) the running games' returns so far
    key: jax.Array
    games: jax.Array       # games finished


class ChunkStats(NamedTuple):
    """What a chunk reports (sums over its steps)."""
    games: jax.Array
    wins: jax.Array
    returns: jax.Array
    loss: jax.Array
    q: jax.Array
    updates: jax.Array      # learning steps run


def epsilon_at(progress, cfg):
    """:func:`arena.agents.dqn.linear_epsilon` on traced values."""
    if cfg.exploration_fraction <= 0:
        return jnp.float32(cfg.exploration_final_eps)
    frac = jnp.minimum(1.0, progress / cfg.exploration_fraction)
    return (cfg.exploration_initial_eps + (cfg.exploration_final_eps - cfg.exploration_initial_eps) * frac
            ).astype(jnp.float32)


class CompiledDQN:
    """DQN compiled for a JAX environment (see the module docstring).

    ``env`` is an id with a JAX version ('catch'); ``q_network`` a ready Arena model (every seed
    then starts from its weights) or a function ``(observation_space, n_actions) -> Model`` (each
    seed builds its own, from seed ``seed + i``); ``seeds`` independent runs are trained at once;
    ``learning_rates`` (one per seed) makes them a learning-rate sweep. The options are
    :class:`~arena.agents.dqn.DQNConfig`'s."""

    plain_state = ("callback_state",)  # read from checkpoints without a template (see load_agent)

    def __init__(self, env="catch", q_network=None, env_kwargs=None, config=None, seeds=1, learning_rates=None,
                 **options):
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise TypeError(f"CompiledDQN: unknown option(s) {unknown}; the options are {list(_OPTIONS)}")
        if config is not None and not isinstance(config, DQNConfig):
            raise TypeError(f"CompiledDQN: config must be a DQNConfig; got {type(config).__name__}")
        self.config = cfg = dataclasses.replace(config or DQNConfig(), **options)
        if env_kwargs is not None and not isinstance(env_kwargs, dict):
            raise TypeError(f"CompiledDQN: env_kwargs must be a dict; got {type(env_kwargs).__name__}")
        self.seeds = _integer("seeds", seeds, 1, MAX_SEEDS)
        if learning_rates is not None:
            learning_rates = [float(r) for r in learning_rates]
            if len(learning_rates) != self.seeds or not all(0 < r < math.inf for r in learning_rates):
                raise ValueError(f"CompiledDQN: learning_rates must hold one positive rate per seed ({self.seeds}); "
                                 f"got {learning_rates}")
            if callable(cfg.learning_rate):
                raise ValueError("CompiledDQN: a learning-rate sweep needs a number as learning_rate, not a schedule")
        self.learning_rates = learning_rates
        self.env_kwargs = dict(env_kwargs or {})
        if isinstance(env, str):
            self.env_id, self.env = env, make_jax_env(env, **self.env_kwargs)
        elif all(hasattr(env, a) for a in ("reset", "step", "default_params", "observation_space", "action_space")):
            self.env_id, self.env = None, env  # a gymnax-style environment object (not stored in checkpoints)
        else:
            raise TypeError(f"CompiledDQN: env must be a game id or a gymnax-style environment; got {env!r}")
        self.env_params = self.env.default_params
        self.observation_space = self.env.observation_space(self.env_params)
        self.action_space = self.env.action_space(self.env_params)
        if not hasattr(self.action_space, "n"):
            raise ValueError(f"DQN needs a discrete action space; {env!r} has {self.action_space}")
        self.n_actions = int(self.action_space.n)
        obs_shape, obs_dtype = tuple(self.observation_space.shape), np.dtype(self.observation_space.dtype)
        # frame stacks (each game starting with its first frame repeated) store one frame per step
        frame_stack = bool(getattr(self.env, "frame_stacked", False))
        self.replay = DeviceReplay(cfg.buffer_size, obs_shape, obs_dtype, cfg.n_envs, frame_stack=frame_stack,
                                   n_step=cfg.n_steps, gamma=cfg.gamma, alpha=cfg.prioritized_replay_alpha)
        if self.replay.nbytes() * self.seeds > MAX_DEVICE_BYTES:
            raise ValueError(f"CompiledDQN: {self.seeds} replay buffer(s) of {cfg.buffer_size} transitions of "
                             f"{obs_shape} would take {self.replay.nbytes() * self.seeds / 2**30:.1f} GiB, more than "
                             f"{MAX_DEVICE_BYTES / 2**30:g} GiB: lower buffer_size or seeds")
        models = self._build_networks(q_network)
        self.q_network = models[0]
        check_q_network(self.q_network, self.observation_space, self.n_actions,
                        self.env_id or getattr(self.env, "name", "env"))
        self.optimizer = optimizers.Adam(self.learning_rates[0] if self.learning_rates else cfg.learning_rate,
                                         global_clipnorm=cfg.max_grad_norm)
        self._update = make_update(self.q_network, self.optimizer.build())
        self._fns = make_functions(self.q_network, self._update, cfg, self.n_actions)
        self._run = self._initial_runs(models)
        self._chunks = {}
        self.global_step = 0
        self.games = 0
        self.epochs_done = 0
        self.published_seed = 0
        self.last_wins = None       # per seed: wins / games of the last epoch
        self.callback_state = {}
        self.stop_training = False
        self.history = None

    # ---- construction ----------------------------------------------------------------------
    def _build_networks(self, q_network):
        if hasattr(q_network, "forward"):
            return [q_network] * self.seeds  # a ready model: every seed starts from its weights
        models = []
        for i in range(self.seeds):
            with seeded(self.config.seed + i):
                model = (q_network or default_q_network)(self.observation_space, self.n_actions)
                if self.config.dueling:
                    model = add_dueling_head(model, self.n_actions)
            models.append(model)
        return models

    def _initial_runs(self, models):
        """Every seed's starting :class:`RunState`, stacked (built by one compiled function)."""
        stack = lambda trees: jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *trees)  # noqa: E731
        first, own = models[0], models[0].get_weights()
        trees = []
        for m in models:  # each seed's weights in the first model's structure (its layers' names)
            first.set_weights(m.get_weights())
            trees.append((first.params, first.state))
        first.set_weights(own)
        params, states = stack([t[0] for t in trees]), stack([t[1] for t in trees])
        rates = jnp.asarray(self.learning_rates or [0.0] * self.seeds, jnp.float32)
        seeds = jnp.arange(self.seeds, dtype=jnp.uint32) + jnp.uint32(self.config.seed)
        n, env, env_params = self.config.n_envs, self.env, self.env_params

        def one(params, state, rate, seed):
            opt_state = self._update.init(params)
            if self.learning_rates:
                opt_state = optimizers.set_learning_rate(opt_state, rate)
            agent = AgentState(params, state, params, state, opt_state, jnp.zeros((), jnp.int32))
            key, reset_key = jax.random.split(jax.random.PRNGKey(seed))
            obs, env_state = jax.vmap(env.reset, (0, None))(jax.random.split(reset_key, n), env_params)
            return RunState(agent, self.replay.init(), env_state, obs, jnp.zeros(n, jnp.float32), key, jnp.int32(0))
        return _jit(jax.vmap(one))(params, states, rates, seeds)

    # ---- the compiled chunk ------------------------------------------------------------------
    def _chunk_fn(self, rounds, learns=None):
        """The jitted ``(runs, calls, budget_steps) -> (runs, ChunkStats)`` of ``rounds`` rounds, vmapped
        over seeds. A round is ``train_freq`` vector steps (act, step the envs, store) and then the
        learning step if learning has started (``learns``: None decides inside, by ``lax.cond``;
        True or False decides when compiling, for a single round: see :func:`_rounds_per_call`)."""
        if (rounds, learns) in self._chunks:
            return self._chunks[rounds, learns]
        cfg, env, params, replay, fns = self.config, self.env, self.env_params, self.replay, self._fns
        n = cfg.n_envs
        win_reward = getattr(env, "win_reward", None)

        # ``calls`` (vector steps played) is the same for every seed: it enters unbatched, so the
        # learning step's lax.cond stays a branch under vmap (a batched predicate would make it a
        # select that runs the learning step at every round, due or not).
        def env_step(carry, _):
            run, calls, stats, budget = carry
            key, k_act, k_env = jax.random.split(run.key, 3)
            played = calls * n
            eps = jnp.where(played < cfg.learning_starts, 1.0, epsilon_at(played / budget, cfg))
            actions = fns["act"](run.agent.params, run.agent.state, run.obs, k_act, eps)
            # a game cut by a time limit counts as ended: the buffer's next slot is the new game's
            # first observation, so a cut game's last one (to bootstrap from) is not kept
            obs, env_state, rewards, terminated, truncated, _ = jax.vmap(env.step, (0, 0, 0, None))(
                jax.random.split(k_env, n), run.env_state, actions, params)
            dones = terminated | truncated
            buf = replay.add(run.replay, run.obs, actions, rewards, dones)
            returns = run.ep_return + rewards
            finished = dones.sum().astype(jnp.int32)
            won = (dones & (rewards >= win_reward)).sum() if win_reward is not None else 0
            stats = stats._replace(games=stats.games + finished, wins=stats.wins + won,
                                   returns=stats.returns + jnp.where(dones, returns, 0.0).sum())
            run = run._replace(replay=buf, env_state=env_state, obs=obs, ep_return=jnp.where(dones, 0.0, returns),
                               key=key, games=run.games + finished)
            return (run, calls + 1, stats, budget), None

        def learn(agent, buf, calls, progress, key):
            k_sample, k_learn = jax.random.split(key)
            keys = jax.random.split(k_sample, cfg.gradient_steps)
            if replay.alpha:  # prioritized; beta anneals to 1 over the run
                beta = cfg.prioritized_replay_beta + (1.0 - cfg.prioritized_replay_beta) * jnp.minimum(progress, 1.0)
                lanes, slots, weights = jax.vmap(lambda k: replay.sample_prioritized(buf, k, cfg.batch_size, beta))(
                    keys)
            else:
                (lanes, slots), weights = jax.vmap(lambda k: replay.sample_indices(buf, k, cfg.batch_size))(keys), None
            batches = jax.vmap(lambda lane, slot, w: replay.gather(buf, lane, slot, w))(lanes, slots, weights)
            agent, loss, q, td_errors = fns["learn"](agent, batches, calls, k_learn)
            if replay.alpha:
                buf = replay.update_priorities(buf, lanes.reshape(-1), slots.reshape(-1), td_errors.reshape(-1))
            return agent, buf, loss, q

        def skip(agent, buf, calls, progress, key):
            return agent, buf, jnp.float32(0), jnp.float32(0)

        def one_round(carry, _):
            (run, calls, stats, budget), _ = jax.lax.scan(env_step, carry, None, length=cfg.train_freq)
            key, k_learn = jax.random.split(run.key)
            due = calls * n > cfg.learning_starts  # (and calls is a multiple of train_freq)
            args = (run.agent, run.replay, calls, calls * n / budget, k_learn)
            if learns is None:
                agent, buf, loss, q = jax.lax.cond(due, learn, skip, *args)
            else:
                agent, buf, loss, q = (learn if learns else skip)(*args)
            stats = stats._replace(loss=stats.loss + loss, q=stats.q + q, updates=stats.updates + due)
            return (run._replace(agent=agent, replay=buf, key=key), calls, stats, budget), None

        def chunk(run, calls, budget):
            zero = ChunkStats(jnp.int32(0), jnp.int32(0), jnp.float32(0), jnp.float32(0), jnp.float32(0),
                              jnp.int32(0))
            if rounds == 1:  # no loop around the learning step (see _rounds_per_call)
                (run, _, stats, _), _ = one_round((run, calls, zero, budget), None)
            else:
                (run, _, stats, _), _ = jax.lax.scan(one_round, (run, calls, zero, budget), None, length=rounds)
            return run, stats
        fn = _jit(jax.vmap(chunk, in_axes=(0, None, None)), donate_argnums=0)
        self._chunks[rounds, learns] = fn
        return fn

    # ---- what callbacks use (the surface of a Model) ------------------------------------------
    def _seed_tree(self, tree, i=None):
        i = self.published_seed if i is None else i
        return jax.tree_util.tree_map(lambda a: a[i], tree)

    @property
    def params(self):
        return self._seed_tree(self._run.agent.params)

    def publish(self):
        """Write the published seed's online weights to the Q-network's layers."""
        self.q_network.params = self._seed_tree(self._run.agent.params)
        self.q_network.state = self._seed_tree(self._run.agent.state)

    def refresh(self):
        """Take the Q-network layers' weights (set by a callback) into the published seed's run."""
        i = self.published_seed
        agent = self._run.agent
        agent = agent._replace(
            params=jax.tree_util.tree_map(lambda a, v: a.at[i].set(v), agent.params, self.q_network.params),
            state=jax.tree_util.tree_map(lambda a, v: a.at[i].set(v), agent.state, self.q_network.state))
        self._run = self._run._replace(agent=agent)

    def get_weights(self):
        self.publish()
        return self.q_network.get_weights()

    def set_weights(self, weights):
        self.q_network.set_weights(weights)
        self.refresh()

    def get_learning_rate(self):
        return float(np.asarray(optimizers.get_learning_rate(self._run.agent.opt_state)).reshape(-1)[0])

    def set_learning_rate(self, value):
        """Set every seed's learning rate to ``value``."""
        opt = optimizers.set_learning_rate(self._run.agent.opt_state, jnp.full((self.seeds,), value))
        self._run = self._run._replace(agent=self._run.agent._replace(opt_state=opt))

    # ---- configuration and checkpoints ---------------------------------------------------------
    def get_config(self):
        if self.env_id is None:
            raise ValueError("CompiledDQN: an agent built on an environment object cannot be stored in a checkpoint "
                             "(it has no id to rebuild it from); build it from a game id such as 'catch'")
        return {"env_id": self.env_id, "env_kwargs": dict(self.env_kwargs),
                "config": stored_options(self.config, "CompiledDQN"), "seeds": self.seeds,
                "learning_rates": self.learning_rates}

    @classmethod
    def from_config(cls, config, q_network=None, env=None, **overrides):
        """An agent from :meth:`get_config` (checked as :meth:`DQN.from_config` checks it)."""
        if not isinstance(config, dict):
            raise ValueError(f"the agent config must be a dict; got {type(config).__name__}")
        unknown = sorted(set(config) - {"algorithm", "env_id", "env_kwargs", "config", "seeds", "learning_rates"})
        if unknown:
            raise ValueError(f"the agent config has unknown key(s) {unknown}")
        options = read_options(config)
        env_kwargs = config.get("env_kwargs")
        if env_kwargs is not None and not isinstance(env_kwargs, dict):
            raise ValueError("the agent config's env_kwargs must be a dict")
        rates = config.get("learning_rates")
        if rates is not None and (not isinstance(rates, list) or len(rates) > MAX_SEEDS
                                  or not all(isinstance(r, (int, float)) for r in rates)):
            raise ValueError("the agent config's learning_rates must be a list of numbers")
        return cls(env if env is not None else config.get("env_id"), q_network=q_network, env_kwargs=env_kwargs,
                   config=DQNConfig(**{**options, **overrides}), seeds=config.get("seeds", 1),
                   learning_rates=rates)

    def state_dict(self):
        """The whole run state (every seed's networks, optimizer, buffer, environments, keys) and
        the counters; the root of a checkpoint holds the published seed's Q-network besides."""
        return {"run": self._run, "global_step": int(self.global_step), "games": int(self.games),
                "epochs_done": int(self.epochs_done), "published_seed": int(self.published_seed),
                "callback_state": dict(self.callback_state)}

    def load_state_dict(self, d, params=None):
        """Restore :meth:`state_dict`, checking it first (``params`` is ignored: every seed's weights
        are in the run state)."""
        if not isinstance(d, dict):
            raise ValueError(f"agent state must be a dict; got {type(d).__name__}")
        missing = [k for k in ("run", "global_step", "games", "epochs_done") if d.get(k) is None]
        if missing:
            raise ValueError(f"agent state lacks {missing} (damaged checkpoint)")
        run = d["run"]
        _check_tree("run", run, self._run)
        counters = {k: _counter(k, d[k]) for k in ("global_step", "games", "epochs_done")}
        n = self.config.n_envs
        if counters["global_step"] % n:
            raise ValueError(f"agent/global_step={counters['global_step']} is not a multiple of n_envs={n}")
        calls = counters["global_step"] // n
        if (np.asarray(run.replay.written) != calls).any():
            raise ValueError(f"agent/run/replay/written must equal the {calls} vector steps played "
                             f"(agent/global_step / n_envs)")
        games = np.asarray(run.games)
        if (games < 0).any() or (games > calls * n).any() or counters["games"] != int(games.sum()):
            raise ValueError(f"agent/games={counters['games']} does not match the runs' games {games.tolist()}")
        updates = np.asarray(run.agent.n_updates)
        if (updates < 0).any() or (updates > self.config.gradient_steps * (calls // self.config.train_freq)).any():
            raise ValueError(f"agent/run/agent/n_updates={updates.tolist()} is more than the steps played allow")
        if counters["epochs_done"] > calls:
            raise ValueError(f"agent/epochs_done={counters['epochs_done']} is more than the vector steps played")
        actions = np.asarray(run.replay.actions)
        if actions.size and (actions.min() < 0 or actions.max() >= self.n_actions):
            raise ValueError(f"agent/run/replay/actions holds actions outside 0..{self.n_actions - 1}")
        if np.asarray(run.replay.ep_pos).max(initial=0) >= self.replay.k or \
                np.asarray(run.replay.next_pos).max(initial=0) >= self.replay.k:
            raise ValueError(f"agent/run/replay/ep_pos holds positions above frame_stack - 1 ({self.replay.k - 1})")
        published = _counter("published_seed", d.get("published_seed", 0), self.seeds - 1)
        self.callback_state = _check_callback_state(d.get("callback_state") or {})
        self._run = jax.tree_util.tree_map(jnp.asarray, run)
        self.global_step, self.games, self.epochs_done = (counters[k] for k in ("global_step", "games", "epochs_done"))
        self.published_seed = published
        self.publish()

    def save(self, path):
        save_agent(self, path)

    def save_weights(self, path):
        self.publish()
        self.q_network.save_weights(path)

    @classmethod
    def load(cls, path, env=None, **overrides):
        return load_agent(cls, path, env=env, **overrides)

    # ---- playing ------------------------------------------------------------------------------
    def predict(self, obs, deterministic=True):
        """Greedy actions of the published seed for one observation or a batch."""
        expected = tuple(self.observation_space.shape)
        obs = np.asarray(obs)
        if obs.shape != expected and obs.shape[1:] != expected or obs.dtype.kind not in "biuf":
            raise ValueError(f"CompiledDQN.predict: observations must be numbers of shape {expected} (one) or "
                             f"(batch, {', '.join(map(str, expected))}); got shape {obs.shape} and dtype {obs.dtype}")
        single = obs.shape == expected
        batch = obs[None] if single else obs
        qs = self._fns["q_values"](self.params, self._seed_tree(self._run.agent.state), batch)
        actions = np.asarray(jnp.argmax(qs, axis=-1))
        return actions[0] if single else actions

    def evaluate(self, games=100, seed=10_000, max_steps=100_000):
        """Greedy play of ``games`` games by every seed, on the device: a dict of per-seed numpy
        arrays ``wins`` (games whose final reward is the env's winning one) and ``mean_return``."""
        games = _integer("games", games, 1, 10**6)
        fn = self._evaluate_fn(games, max_steps)
        wins, returns = fn(self._run.agent.params, self._run.agent.state, jax.random.PRNGKey(seed))
        return {"wins": np.asarray(wins), "mean_return": np.asarray(returns) / games, "games": games}

    def _evaluate_fn(self, games, max_steps):
        key_ = ("eval", games, max_steps)
        if key_ not in self._chunks:
            env, params, q = self.env, self.env_params, self._fns["q_values"]

            def one_seed(net_params, net_state, key):
                return greedy_games_jax(lambda obs: q(net_params, net_state, obs), env, params, games, key, max_steps)
            self._chunks[key_] = _jit(jax.vmap(one_seed, in_axes=(0, 0, None)))
        return self._chunks[key_]

    # ---- training -------------------------------------------------------------------------------
    def learn(self, total_games=None, total_timesteps=None, games_per_epoch=100, steps_per_epoch=10_000,
              callbacks=None, verbose=1, eval_games=0):
        """Train every seed until ``total_games`` games (environments whose games all last the same
        number of steps, such as catch) or ``total_timesteps`` env steps, through the one loop; an
        epoch is ``games_per_epoch`` games (or ``steps_per_epoch`` env steps). The environments play
        in lock step, so game counts round up to multiples of ``n_envs`` (step counts too). With ``eval_games``, every epoch ends with a greedy evaluation on the device,
        logged as ``eval/mean_return`` (and ``eval/wins``)."""
        if (total_games is None) == (total_timesteps is None):
            raise ValueError("learn: give exactly one of total_games or total_timesteps")
        n = self.config.n_envs
        if total_games is not None:  # games are played n_envs at a time: budgets round up to whole rounds
            length = getattr(self.env, "game_steps", None)
            if length is None:
                raise ValueError(f"learn: {self.env_id!r} has games of varying length; give total_timesteps")
            total_calls = -(-_integer("total_games", total_games, 1, 2**40) // n) * length
            calls_per_epoch = -(-_integer("games_per_epoch", games_per_epoch, 1, 2**40) // n) * length
        else:  # env steps come n_envs at a time
            total_calls = -(-_integer("total_timesteps", total_timesteps, 1, 2**40) // n)
            calls_per_epoch = -(-_integer("steps_per_epoch", steps_per_epoch, 1, 2**40) // n)
        # ... and then to whole rounds of train_freq vector steps (each ends with its learning step)
        freq = self.config.train_freq
        total_calls, calls_per_epoch = (-(-c // freq) * freq for c in (total_calls, calls_per_epoch))
        if total_calls * n > INT_MAX:
            raise ValueError(f"learn: {total_calls * n} env steps is more than compiled counters hold ({INT_MAX})")
        done = self.global_step // n
        if done > total_calls:
            raise ValueError(f"learn: this agent has already played {self.global_step} env steps, more than the "
                             f"budget of {total_calls * n}: give a larger budget to continue training")
        eval_games = _integer("eval_games", eval_games, 0, 10**6)
        epochs = self.epochs_done + math.ceil((total_calls - done) / calls_per_epoch)
        task = _CompiledTask(self, total_calls, calls_per_epoch, eval_games)
        unit = "game" if total_games is not None else "step"
        return loop.run(self, task, epochs=epochs, initial_epoch=self.epochs_done, callbacks=callbacks,
                        verbose=verbose, params={"unit": unit, "progress_key": f"epoch_{unit}s"})

    def epsilon(self, progress):
        cfg = self.config
        return float(epsilon_at(jnp.float32(progress), cfg))


def _jit(fn, **kwargs):
    """``jax.jit`` with XLA:CPU's older loop emitters and optimization level 1 on the CPU: these
    programs (a whole training step with its environment) then compile about 2.5x faster and run
    about 1.4x faster than with XLA:CPU's defaults (measured on 2 cores, JAX 0.10)."""
    if jax.default_backend() == "cpu":
        kwargs["compiler_options"] = {"xla_cpu_use_fusion_emitters": False, "xla_backend_optimization_level": 1}
    return jax.jit(fn, **kwargs)


def _chunk_length(rounds, most=MAX_CHUNK):
    """The largest divisor of ``rounds`` that is at most ``most`` (every chunk of an epoch then has
    the same length, compiled once)."""
    for length in range(min(rounds, most), 0, -1):
        if rounds % length == 0:
            return length
    return 1


def _rounds_per_call(model):
    """How many rounds one compiled call may loop over. On XLA:CPU a convolution's gradient inside a
    loop or a ``lax.cond`` branch runs about 10x slower than at the top of a program (measured: the
    book's network, one update of 32 samples, 39 ms alone, 362 ms inside ``lax.scan``, 396 ms inside
    ``lax.cond``, JAX 0.10), so a convolutional Q-network on the CPU learns outside any loop or
    branch: one round per call, with or without its learning step compiled in. Everything else
    runs up to :data:`MAX_CHUNK` rounds per call."""
    if jax.default_backend() == "cpu" and any("Conv" in type(layer).__name__ for layer in _all_layers(model)):
        return 1
    return MAX_CHUNK


def _all_layers(model):
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _all_layers(layer)


class _CompiledTask:
    """The one loop's task: a batch is a chunk of vector steps, its train step the compiled chunk."""

    def __init__(self, agent, total_calls, calls_per_epoch, eval_games):
        self.agent, self.total_calls, self.calls_per_epoch = agent, total_calls, calls_per_epoch
        self.eval_games = eval_games
        self.budget = jnp.float32(total_calls * agent.config.n_envs)
        self.steps_per_epoch = None

    def batches(self, epoch):
        agent = self.agent
        n, freq = agent.config.n_envs, agent.config.train_freq
        done = agent.global_step // n
        rounds = min(self.calls_per_epoch, self.total_calls - done) // freq
        length = _chunk_length(rounds, _rounds_per_call(agent.q_network))
        self.steps_per_epoch = rounds // length
        self.totals = np.zeros((6, agent.seeds))
        self.start_time, self.start_step = time.time(), agent.global_step
        self.epoch_games = self.epoch_steps = 0
        for _ in range(rounds // length):
            if length == 1:  # whether the round learns is known here (see _rounds_per_call)
                learns = (agent.global_step // n + freq) * n > agent.config.learning_starts
                yield agent._chunk_fn(1, learns), freq
            else:
                yield agent._chunk_fn(length), length * freq

    def train_step(self, batch):
        fn, length = batch
        agent = self.agent
        # Under a distribution the seeds are split across its devices (a no-op once they are).
        run = distribution.shard_leading(agent._run, f"CompiledDQN: seeds={agent.seeds}")
        agent._run, stats = fn(run, jnp.int32(agent.global_step // agent.config.n_envs), self.budget)
        stats = np.stack([np.asarray(s, np.float64) for s in stats])  # (6, seeds)
        self.totals += stats
        n = agent.config.n_envs
        agent.global_step += length * n
        agent.games += int(stats[0].sum())
        self.epoch_steps += length * n
        self.epoch_games += int(stats[0].sum())
        updates = max(stats[5].sum(), 1)
        logs = {"losses/td_loss": stats[3].sum() / updates, "losses/q_values": stats[4].sum() / updates,
                "charts/epsilon": agent.epsilon(agent.global_step / float(self.budget)),
                "epoch_games": self.epoch_games, "epoch_steps": self.epoch_steps}
        if getattr(agent.env, "win_reward", None) is not None and stats[0].sum():
            logs["charts/win_rate"] = stats[1].sum() / stats[0].sum()
        return logs

    def publish(self):
        self.agent.publish()

    def refresh(self):
        self.agent.refresh()

    def end_epoch(self, epoch):
        agent = self.agent
        agent.epochs_done = epoch + 1
        games, wins, returns, loss, q, updates = self.totals
        elapsed = max(time.time() - self.start_time, 1e-9)
        logs = {"global_step": agent.global_step, "games": agent.games,
                "charts/epsilon": agent.epsilon(agent.global_step / float(self.budget)),
                "charts/SPS": (agent.global_step - self.start_step) * agent.seeds / elapsed}
        if games.sum():
            logs["charts/episodic_return"] = float(returns.sum() / games.sum())
        if updates.sum():
            logs["losses/td_loss"] = float(loss.sum() / updates.sum())
        has_wins = getattr(agent.env, "win_reward", None) is not None
        if has_wins and games.sum():
            rate = wins / np.maximum(games, 1)
            agent.last_wins = rate
            logs["charts/win_rate"] = float(rate.mean())
            logs["wins"] = int(wins.sum() // agent.seeds) if agent.seeds > 1 else int(wins[0])
            if agent.seeds > 1:
                logs["charts/win_rate_min"], logs["charts/win_rate_max"] = float(rate.min()), float(rate.max())
                for i, r in enumerate(rate):
                    logs[f"seeds/{i}/win_rate"] = float(r)
            agent.published_seed = int(np.argmax(rate))  # checkpoints hold the best seed's network
        if self.eval_games:
            started = time.time()
            result = agent.evaluate(self.eval_games)
            logs["eval/mean_return"] = float(result["mean_return"].mean())
            logs["eval/seconds"] = time.time() - started
            if has_wins:
                logs["eval/wins"] = float(result["wins"].mean())
                if agent.seeds > 1:
                    logs["eval/wins_min"], logs["eval/wins_max"] = (float(result["wins"].min()),
                                                                    float(result["wins"].max()))
            agent.published_seed = int(np.argmax(result["mean_return"]))
        agent.publish()
        return logs
