"""Training presets for catch: observations, Q-network and learning settings that go together.

- ``default``: pixels, each screen downscaled to 20x20 and 2 frames stacked, a small CNN.
- ``book``: the book's 80x80x4 pixels and network (E8.3), 100 random "observe" games, the book's
  epsilon 0.1 -> 0.0001 over the whole run; learning settings chosen for 1,000 games.
- ``state``: (ball x, ball y, paddle x) observations and a small MLP.

The compiled agent (:class:`arena.agents.CompiledDQN`) has its own ``default`` (see
:data:`COMPILED_PRESETS`); ``book`` and ``state`` are the same games with the same settings.
"""
from arena.agents.networks import book_q_network, mlp_q_network, nature_q_network, small_conv_q_network
from arena.envs.minatar import GAMES as MINATAR_GAMES
from arena.nn.schedules import PolynomialDecay

CATCH_GAME_STEPS = 32  # every catch game is exactly 32 agent steps

# Fast learning on catch: 4 games at once, 2 updates of 64 samples per step, decay over half the run.
_FAST = dict(learning_rate=1e-3, buffer_size=20_000, batch_size=64, train_freq=1, gradient_steps=2,
             target_update_interval=256, gamma=0.99, exploration_initial_eps=1.0, exploration_final_eps=0.01,
             exploration_fraction=0.5, loss="huber", max_grad_norm=10.0, n_envs=4)

PRESETS = {
    "default": {
        "env_kwargs": {"obs_type": "pixels", "frame_size": 20, "frame_stack": 2},
        "network": lambda space, n: small_conv_q_network(space.shape, n, filters=16, hidden=128),
        "games": 800,
        "games_per_epoch": 100,
        "options": dict(_FAST, learning_starts=50 * CATCH_GAME_STEPS),
    },
    "book": {
        "env_kwargs": {"obs_type": "pixels", "frame_size": 80, "frame_stack": 4},
        "network": lambda space, n: book_q_network(space.shape, n),
        "games": 1000,
        "games_per_epoch": 100,
        "options": dict(learning_rate=2.5e-4, buffer_size=50_000, learning_starts=100 * CATCH_GAME_STEPS,
                        batch_size=32, train_freq=4, gradient_steps=1, target_update_interval=512,
                        gamma=0.99, exploration_initial_eps=0.1, exploration_final_eps=0.0001,
                        exploration_fraction=1.0, loss="huber", max_grad_norm=10.0, n_envs=1),
    },
    "state": {
        "env_kwargs": {"obs_type": "state"},
        "network": lambda space, n: mlp_q_network(space.shape, n, hidden=(64, 64)),
        "games": 500,
        "games_per_epoch": 100,
        "options": dict(_FAST, learning_starts=20 * CATCH_GAME_STEPS),
    },
}

# Gymnasium classics (any discrete-action env works with the generic defaults). CartPole uses the
# settings tuned by the RL Baselines3 Zoo: long pauses between bursts of 128 updates.
GYM_PRESETS = {
    "CartPole-v1": {
        "network": lambda space, n: mlp_q_network(space.shape, n, hidden=(256, 256)),
        "timesteps": 50_000,
        "steps_per_epoch": 5_000,
        "eval_games": 10,
        "options": dict(learning_rate=2.3e-3, buffer_size=100_000, learning_starts=1_000, batch_size=64,
                        train_freq=256, gradient_steps=128, target_update_interval=10, gamma=0.99,
                        exploration_initial_eps=1.0, exploration_final_eps=0.04, exploration_fraction=0.16,
                        loss="huber", max_grad_norm=10.0, n_envs=1),
    },
}


# The compiled agent (CompiledDQN, `arena train catch --backend jax`): whole runs are compiled, so a
# step costs little beyond its arithmetic, and what counts is learning per FLOP. Catch's ball falls
# straight down, so one frame shows all there is; 20x20 frames keep every position readable (10x10
# frames do not: a 20 px ball inside a 40 px block looks the same anywhere in it, and agents then
# miss whole ranges of spawns), and an MLP on them costs far less than a CNN. 8-step returns carry
# the one reward at a game's end back through its 32 steps in few updates; 32 games per step and 2
# updates make 8x fewer updates per game than the host preset; the learning rate decays 30-fold and
# the last exploration goes to 0, which steadies the final policy (without them, some seeds end
# below 90/100). Chosen from 8- and 16-seed sweeps: with these settings all 16 seeds caught the
# ball from >= 99.2% of the 381 spawns (16 envs and 3,072 games: one seed at 94%, in 1.6x the time).
# Prioritized replay (prioritized_replay_alpha=0.6) made 8 seeds of the 16-env settings more even
# (all >= 99.5% of the spawns, against a worst seed at 94.2% without it) but left one single-seed
# run at 93/100 for its last 1,500 games: not the default until that is understood.
_COMPILED_GAMES = 4096  # 16 epochs of 256 games (8 rounds of the 32 envs each)
_COMPILED_ENVS = 32
_COMPILED = dict(_FAST, n_steps=8, n_envs=_COMPILED_ENVS, exploration_fraction=0.25, exploration_final_eps=0.0,
                 learning_starts=20 * CATCH_GAME_STEPS,
                 learning_rate=PolynomialDecay(3e-3, _COMPILED_GAMES * CATCH_GAME_STEPS // _COMPILED_ENVS * 2,
                                               end_learning_rate=1e-4))

COMPILED_PRESETS = {
    "default": {
        "env_kwargs": {"obs_type": "pixels", "frame_size": 20, "frame_stack": 1},
        "network": lambda space, n: mlp_q_network(space.shape, n, hidden=(64,)),
        "games": _COMPILED_GAMES,
        "games_per_epoch": 256,
        "options": _COMPILED,
    },
    "book": PRESETS["book"],    # the same settings as the host agent's
    "state": PRESETS["state"],
}

# CartPole-v1 compiled (arena.envs.CartPoleJax): the RL Baselines3 Zoo settings above with a 64x64
# MLP (the 256x256 one costs 2.5x the time for the same result here).
#
# MinAtar Breakout compiled (arena.envs.BreakoutJax): 16 games at once and 2 updates of 64 per vector
# step (one update per 8 frames), 3-step returns, an MLP(256, 256) on the 10x10x4 booleans (3x the
# steps per second of MinAtar's own conv network on 2 CPU cores, and it learned as fast per step in
# a 400k-step trial: greedy 20.6 against MinAtar's DQN at 16.7 after 5M frames). About 10 minutes
# on 2 cores; benchmarks/bench_minatar.py prints the curve against a random policy. The same
# settings serve MinAtar's other games.
_MINATAR_STEPS = 3_000_000
_MINATAR = {
    "network": lambda space, n: mlp_q_network(space.shape, n, hidden=(256, 256)),
    "timesteps": _MINATAR_STEPS,
    "steps_per_epoch": 100_000,
    "eval_games": 100,
    "options": dict(n_envs=16, buffer_size=100_000, batch_size=64, learning_starts=5_000, train_freq=1,
                    gradient_steps=2, target_update_interval=2_000, gamma=0.99, n_steps=3,
                    exploration_initial_eps=1.0, exploration_final_eps=0.01, exploration_fraction=0.03,
                    learning_rate=PolynomialDecay(1e-3, _MINATAR_STEPS // 16 * 2, end_learning_rate=1e-4),
                    loss="huber", max_grad_norm=10.0),
}
COMPILED_GYM_PRESETS = {
    "CartPole-v1": {**GYM_PRESETS["CartPole-v1"],
                    "network": lambda space, n: mlp_q_network(space.shape, n, hidden=(64, 64))},
    # Acrobot-v1 compiled (arena.envs.AcrobotJax): the Zoo's DQN settings (learning rate 6.3e-4, batches
    # of 128, target sync every 250 steps, epsilon to 0.1 over 12%) on 8 games at once with one update
    # per env step and 3-step returns: greedy -82 over 100 games after 50k steps in 12 s (solved: -100).
    "Acrobot-v1": {
        "network": lambda space, n: mlp_q_network(space.shape, n, hidden=(128, 128)),
        "timesteps": 50_000,
        "steps_per_epoch": 10_000,
        "eval_games": 20,
        "options": dict(n_envs=8, learning_rate=6.3e-4, batch_size=128, buffer_size=50_000, learning_starts=1_000,
                        gamma=0.99, target_update_interval=250, train_freq=1, gradient_steps=2, n_steps=3,
                        exploration_fraction=0.12, exploration_final_eps=0.1, loss="huber", max_grad_norm=10.0),
    },
    **{game: _MINATAR for game in MINATAR_GAMES},
}

# Every Atari game (ale-py ids, preprocessed by arena.envs.atari): the Nature DQN network with the
# RL Baselines3 Zoo's DQN settings for Atari (Adam 1e-4, 100k replay, one update of 32 every 4
# steps, target sync every 1,000 steps, epsilon 1 -> 0.01 over the first tenth), 10M steps. On 2 CPU
# cores a learning step is the cost: give --timesteps for a shorter run (exploration scales with it).
ATARI_PRESET = {
    "network": lambda space, n: nature_q_network(space.shape, n),
    "timesteps": 10_000_000,
    "steps_per_epoch": 50_000,
    "eval_games": 5,
    "options": dict(learning_rate=1e-4, buffer_size=100_000, learning_starts=100_000, batch_size=32, train_freq=4,
                    gradient_steps=1, target_update_interval=1_000, gamma=0.99, exploration_initial_eps=1.0,
                    exploration_final_eps=0.01, exploration_fraction=0.1, loss="huber", max_grad_norm=10.0,
                    n_envs=1),
}

BACKENDS = ("jax", "gymnasium")


def gym_preset(env_id, backend="gymnasium", default=None):
    """The preset of a Gymnasium id for the compiled agent (``backend='jax'``) or the host one."""
    if env_id.startswith("ALE/") and backend == "gymnasium":
        return ATARI_PRESET
    return (COMPILED_GYM_PRESETS if backend == "jax" else GYM_PRESETS).get(env_id, default)


def catch_preset(name, backend="gymnasium"):
    """The preset ``name`` for the compiled agent (``backend='jax'``) or the host one."""
    presets = COMPILED_PRESETS if backend == "jax" else PRESETS
    if name not in presets:
        raise ValueError(f"Unknown catch preset {name!r}; choose one of {sorted(presets)}")
    return presets[name]
