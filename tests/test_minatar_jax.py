"""MinAtar Breakout in JAX against games recorded with the reference ``minatar`` package."""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from arena.envs.minatar import AsterixJax, BreakoutJax, FreewayJax, SpaceInvadersJax

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "minatar")


def _replay(name, env, start, play):
    """Replays the recorded games of ``name`` (one compiled scan a game): every step's observation,
    reward and end must equal MinAtar's. ``start(games, g)`` gives a new game's state and
    ``play(state, action, extra)`` one step (``extra``: the step's recorded random draws)."""
    with np.load(os.path.join(FIXTURES, f"{name}_games.npz")) as data:
        games = dict(data)  # (an NpzFile decompresses an array at every access)
    extras = games["extra"] if "extra" in games else np.zeros(len(games["actions"]))

    lengths = games["lengths"]
    game = np.repeat(np.arange(len(lengths)), lengths)
    first = np.zeros(len(game), bool)
    first[np.cumsum(lengths) - lengths] = True
    starts = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *[start(games, g) for g in range(len(lengths))])

    @jax.jit
    def run(actions, extra, game, first):
        def body(state, inputs):
            action, extra, g, new = inputs
            fresh = jax.tree_util.tree_map(lambda leaf: leaf[g], starts)
            state = jax.tree_util.tree_map(lambda a, b: jnp.where(new, a, b), fresh, state)
            state, reward, over = play(state, action, extra)
            return state, (env.observation(state), reward, over)
        init = jax.tree_util.tree_map(lambda leaf: leaf[0], starts)
        return jax.lax.scan(body, init, (actions, extra, game, first))[1]
    obs, rewards, over = (np.asarray(a) for a in run(games["actions"], extras, game, first))
    for t in range(len(game)):  # step by step, for a message that says where
        np.testing.assert_array_equal(obs[t], games["states"][t], err_msg=f"{name} game {game[t]}, step {t}")
    np.testing.assert_array_equal(rewards, games["rewards"])
    np.testing.assert_array_equal(over, games["terminals"])
    return games


def test_breakout_replays_minatar_games_frame_for_frame():
    env = BreakoutJax(sticky_action_prob=0.0)
    games = _replay("breakout", env, lambda games, g: env.start(bool(games["starts"][g]))[1],
                    lambda state, action, _: env.play(jax.random.key(0), state, action))
    bricks = games["states"][..., 3].sum(axis=(1, 2))
    assert (np.diff(bricks) > 0).sum() >= 2  # the recordings clear and rebuild the wall


def test_space_invaders_replays_minatar_games_frame_for_frame():
    env = SpaceInvadersJax(sticky_action_prob=0.0)
    games = _replay("space_invaders", env, lambda games, g: env.reset(jax.random.key(0))[1],
                    lambda state, action, _: env.play(jax.random.key(0), state, action))
    assert games["rewards"].sum() > 100 and (games["states"][..., 4].any() & games["states"][..., 5].any())


def test_freeway_replays_minatar_games_frame_for_frame():
    """Freeway draws new car speeds at each crossing: the replay gives the recorded ones."""
    env = FreewayJax(sticky_action_prob=0.0)
    games = _replay("freeway", env, lambda games, g: env.start(games["starts"][g]), env.play_with)
    assert games["rewards"].sum() > 20 and len(np.unique(games["extra"], axis=0)) > 10


def test_asterix_replays_minatar_games_frame_for_frame():
    """Asterix draws what enters (side, gold, lane): the replay gives the recorded draws."""
    env = AsterixJax(sticky_action_prob=0.0)
    games = _replay("asterix", env, lambda games, g: env.reset(jax.random.key(0))[1],
                    lambda state, action, spawn: env.play_with(state, action, (spawn[0] == 1, spawn[1] == 1, spawn[2])))
    assert games["rewards"].sum() > 10 and games["lengths"].max() > 200  # gold picked up; the speeds ramped


def test_random_draws_follow_minatar():
    """Asterix's spawns: a free lane only, from either side evenly, gold one time in three; Freeway's
    speeds: 1-5 steps per move, either direction."""
    env = AsterixJax(sticky_action_prob=0.0)
    state = env.reset(jax.random.key(0))[1]._replace(spawn_timer=jnp.int32(0), alive=jnp.arange(8) < 6)
    new = jax.vmap(lambda k: env.play(k, state, 0)[0])(jax.random.split(jax.random.key(1), 3000))
    entered = new.alive[:, 6:]
    assert bool((entered.sum(axis=1) == 1).all()) and abs(float(entered[:, 0].mean()) - 0.5) < 0.05
    lane = jnp.argmax(entered, axis=1) + 6
    gold = new.ent_gold[jnp.arange(3000), lane]
    from_left = new.ent_right[jnp.arange(3000), lane]
    assert abs(float(gold.mean()) - 1 / 3) < 0.04 and abs(float(from_left.mean()) - 0.5) < 0.04
    from arena.envs.minatar.freeway import random_speeds
    speeds = np.asarray(jax.vmap(random_speeds)(jax.random.split(jax.random.key(2), 500)))
    assert set(np.abs(speeds).ravel()) == {1, 2, 3, 4, 5} and abs((speeds > 0).mean() - 0.5) < 0.05


def test_space_invaders_clears_a_wave_and_speeds_up():
    """The last alien shot: a new wave at the top, marching one step more often (hand-built state)."""
    env = SpaceInvadersJax(sticky_action_prob=0.0)
    _, state = env.reset(jax.random.key(0))
    alien = jnp.zeros((10, 10), bool).at[5, 3].set(True)
    state = state._replace(aliens=alien, bullets=jnp.zeros((10, 10), bool).at[6, 3].set(True), move_timer=3)
    state, reward, over = env.play(jax.random.key(0), state, 0)
    assert float(reward) == 1 and not bool(over)
    np.testing.assert_array_equal(np.asarray(state.aliens), np.asarray(jnp.zeros((10, 10), bool).at[0:4, 2:8].set(True)))
    assert int(state.move_interval) == 11 and int(state.ramp) == 1 and not bool(state.bullets.any())


def test_breakout_start_sticky_actions_and_time_limit():
    env = BreakoutJax(sticky_action_prob=0.0, max_episode_steps=5)
    obs, state = env.start(True)
    assert obs.shape == (10, 10, 4) and obs.dtype == jnp.bool_
    assert obs[3, 9, 1] and obs[9, 4, 0] and obs[:, :, 3].sum() == 30 and obs[1:4, :, 3].all()
    assert env.observation_space().shape == (10, 10, 4) and env.action_space().n == 3
    starts = jax.vmap(env.reset)(jax.random.split(jax.random.key(1), 400))[1].ball_x
    assert 150 < int((starts == 9).sum()) < 250  # either start, evenly

    # sticky actions: the previous action repeats with probability p
    sticky = BreakoutJax(sticky_action_prob=0.25)
    _, s0 = sticky.start(False)
    s0 = s0._replace(last_action=jnp.int32(1))
    keys = jax.random.split(jax.random.key(2), 4000)
    taken = jax.vmap(lambda k: sticky.step_env(k, s0, 2, sticky.default_params)[1].last_action)(keys)
    assert abs(float((taken == 1).mean()) - 0.25) < 0.03

    # the time limit ends a game; step() then starts a new one
    key = jax.random.key(3)
    for i in range(5):
        obs, state, reward, terminated, truncated, info = env.step(key, state, 0, env.default_params)
    assert bool(truncated) and not bool(terminated) and int(state.steps) == 0


@pytest.mark.parametrize("bad", [{"sticky_action_prob": 1.0}, {"sticky_action_prob": -0.1}, {"max_episode_steps": 0}])
def test_breakout_refuses_bad_options(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        BreakoutJax(**bad)


def test_the_gymnasium_version_plays_the_same_game():
    """``arena/MinAtar-Breakout-v0`` (also 'MinAtar-Breakout', gymnax's 'Breakout-MinAtar') is the JAX
    game stepped from Python: Gymnasium's checker passes, and it renders frames."""
    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env

    from arena.envs import GymnasiumFromJax
    from arena.envs.make import check_env_id, make_env
    assert check_env_id("MinAtar-Breakout") == check_env_id("Breakout-MinAtar") == "arena/MinAtar-Breakout-v0"
    env = make_env("MinAtar-Breakout", render_mode="rgb_array", sticky_action_prob=0.0)
    assert isinstance(env.unwrapped, GymnasiumFromJax)
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=3)
    assert obs.shape == (10, 10, 4) and obs.dtype == bool and env.render().shape == (240, 240, 3)
    total, done = 0.0, False
    while not done:  # stay put: the ball comes down beside the paddle, or onto it
        obs, r, terminated, truncated, _ = env.step(0)
        total, done = total + r, terminated or truncated
    assert terminated and not truncated
    with pytest.raises(ValueError, match="action"):
        env.step(3)
    short = gym.make("arena/MinAtar-Breakout-v0", max_episode_steps=2)  # Gymnasium's own time limit
    short.reset(seed=0)
    short.step(0)
    assert short.step(0)[3]


def test_compiled_dqn_learns_breakout_far_beyond_random():
    """A short run of the `arena train MinAtar-Breakout` preset: greedy play breaks several times
    more bricks than random play (0.4 a game)."""
    from arena.agents import CompiledDQN
    from arena.agents.presets import gym_preset
    preset = gym_preset("arena/MinAtar-Breakout-v0", "jax")
    agent = CompiledDQN("MinAtar-Breakout", q_network=preset["network"], **preset["options"])
    agent.learn(total_timesteps=60_000, steps_per_epoch=30_000, verbose=0)
    assert float(agent.evaluate(50)["mean_return"][0]) > 2.0


def test_cli_trains_evaluates_and_records_minatar(tmp_path, capsys):
    import imageio.v2 as imageio

    from arena.cli import main
    out = str(tmp_path / "agent.h5")
    assert main(["train", "MinAtar-Breakout", "--timesteps", "4000", "--steps-per-epoch", "2000", "--logdir",
                 str(tmp_path), "--out", out, "--verbose", "0", "--eval-games", "2"]) == 0
    assert main(["evaluate", "MinAtar-Breakout", "--model", out, "--games", "3"]) == 0
    assert "mean return over 3 games" in capsys.readouterr().out
    gif = str(tmp_path / "breakout.gif")
    assert main(["watch", "MinAtar-Breakout", "--model", out, "--record", gif, "--games", "1"]) == 0
    assert imageio.mimread(gif)[0].shape[:2] == (240, 240)


@pytest.mark.parametrize("game", ["MinAtar-SpaceInvaders", "Freeway-MinAtar", "Asterix-MinAtar"])
def test_every_minatar_game_is_a_gymnasium_env(game):
    from gymnasium.utils.env_checker import check_env

    from arena.envs.make import make_env
    env = make_env(game, render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert obs.dtype == bool and obs.shape == env.observation_space.shape and env.render().shape == (240, 240, 3)
