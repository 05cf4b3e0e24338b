"""CatchEnv: the book's rules, episode structure, observations, rendering, API checks."""

import importlib
import os
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import arena.envs
from arena.envs.catch import (LEFT, RIGHT, STAY, CatchEnv, block_frame, caught, draw_screen,
                              move_paddle)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def play_out(env, policy, **reset_kw):
    """Play one game; returns (ys, rewards, last info)."""
    env.reset(**reset_kw)
    ys, rewards = [], []
    while True:
        _, r, term, trunc, info = env.step(policy(env))
        ys.append(info["ball_y"])
        rewards.append(r)
        assert not trunc
        if term:
            return ys, rewards, info


def tracker(env):
    """Grid-bound tracker: aim the paddle (on the 20-px grid) under the ball's centre."""
    target = int(np.clip(round((env.ball_x - 15) / 20) * 20, 0, 340))
    return STAY if env.paddle_x == target else (LEFT if env.paddle_x > target else RIGHT)


def reachable_paddles(steps=32, start=200):
    """Every paddle x reachable with the book's bouncing walls after exactly `steps` moves."""
    pos = {start}
    for _ in range(steps):
        pos = {move_paddle(p, a) for p in pos for a in (LEFT, STAY, RIGHT)}
    return pos


def test_reset_does_the_dummy_step():
    env = CatchEnv(obs_type="state")
    obs, info = env.reset(seed=0)
    assert info["ball_y"] == 20 and info["paddle_x"] == 200 and "win" not in info
    assert obs.dtype == np.float32 and obs.shape == (3,)
    np.testing.assert_allclose(obs, np.array([info["ball_x"], 20, 200]) / 400, rtol=1e-6)


def test_every_game_is_32_steps_with_one_reward():
    env = CatchEnv(obs_type="state")
    for seed in range(5):
        ys, rewards, info = play_out(env, lambda e: STAY, seed=seed)
        assert ys == list(range(30, 341, 10)) and len(ys) == 32
        assert rewards[:-1] == [0.0] * 31 and rewards[-1] in (1.0, -1.0)
        assert info["win"] == (rewards[-1] == 1.0)
    with pytest.raises(RuntimeError):
        env.step(STAY)


@pytest.mark.parametrize("ball_x, reward", [
    (210, 1.0), (181, 1.0), (249, 1.0),  # overlap with positive area
    (180, -1.0), (250, -1.0),  # edges only touch: no positive area
    (0, -1.0), (380, -1.0),
])
def test_catch_reward_under_the_paddle(ball_x, reward):
    env = CatchEnv(obs_type="state")
    _, rewards, info = play_out(env, lambda e: STAY, options={"ball_x": ball_x})
    assert rewards[-1] == reward and info["win"] == (reward > 0)
    assert caught(ball_x, 340, 200) == (reward > 0)


def test_walls_bounce_as_the_book():
    assert move_paddle(0, LEFT) == 20 and move_paddle(10, LEFT) == 20
    assert move_paddle(340, RIGHT) == 330 and move_paddle(350, RIGHT) == 330
    assert move_paddle(330, RIGHT) == 350 and move_paddle(20, LEFT) == 0
    assert move_paddle(200, STAY) == 200
    # The human game clamps instead.
    assert move_paddle(0, LEFT, "clamp") == 0 and move_paddle(340, RIGHT, "clamp") == 350
    env = CatchEnv(obs_type="state")
    env.reset(seed=0, options={"paddle_x": 0})
    assert env.step(LEFT)[4]["paddle_x"] == 20
    env.reset(seed=0, options={"paddle_x": 340})
    assert env.step(RIGHT)[4]["paddle_x"] == 330
    env = CatchEnv(obs_type="state", walls="clamp")
    env.reset(seed=0, options={"paddle_x": 0})
    assert env.step(LEFT)[4]["paddle_x"] == 0


def test_reachable_paddle_positions_match_the_book():
    assert reachable_paddles() == set(range(0, 351, 10))


def test_seeding_is_reproducible():
    def spawns(seed):
        env = CatchEnv(obs_type="state")
        xs = [env.reset(seed=seed)[1]["ball_x"]]
        xs += [env.reset()[1]["ball_x"] for _ in range(20)]
        return xs
    assert spawns(3) == spawns(3)
    assert spawns(3) != spawns(4)
    a, b = CatchEnv(), CatchEnv()
    oa, ob = a.reset(seed=7)[0], b.reset(seed=7)[0]
    for act in [0, 2, 2, 1, 0] * 6:
        np.testing.assert_array_equal(oa, ob)
        oa, ob = a.step(act)[0], b.step(act)[0]


def test_spawn_ranges():
    env = CatchEnv(obs_type="state")
    xs = [env.reset(seed=0)[1]["ball_x"]] + [env.reset()[1]["ball_x"] for _ in range(1500)]
    assert 0 <= min(xs) and max(xs) <= 380
    book = CatchEnv(obs_type="state", spawn="book")
    xs = [book.reset(seed=0)[1]["ball_x"]] + [book.reset()[1]["ball_x"] for _ in range(1500)]
    assert max(xs) > 380 and max(xs) <= 400
    fixed = CatchEnv(obs_type="state", spawn=(100, 100))
    assert fixed.reset(seed=1)[1]["ball_x"] == 100


def test_every_default_spawn_is_catchable():
    env = CatchEnv(obs_type="state")
    lo, hi = env.spawn_range
    assert (lo, hi) == (0, 380)
    for x in range(lo, hi + 1):
        _, rewards, _ = play_out(env, tracker, options={"ball_x": x})
        assert rewards[-1] == 1.0, f"tracker missed a ball spawned at x={x}"


def test_book_spawns_at_390_and_beyond_are_not_catchable_from_the_grid():
    env = CatchEnv(obs_type="state", spawn="book")
    assert env.spawn_range == (0, 400)
    grid = set(range(0, 341, 20))
    paddles = reachable_paddles()
    for x in range(390, 401):
        assert not any(caught(x, 340, p) for p in grid)
        assert env.spawn_range[0] <= x <= env.spawn_range[1]
        _, rewards, _ = play_out(env, tracker, options={"ball_x": x})
        assert rewards[-1] == -1.0
        # Only the off-grid paddle x = 350 could catch 390..399; nothing catches 400.
        assert {p for p in paddles if caught(x, 340, p)} == ({350} if x < 400 else set())


def test_pixel_observation_stacks_and_first_frame_repeats():
    env = CatchEnv(frame_size=80, frame_stack=4)
    obs, _ = env.reset(seed=1)
    assert obs.shape == (80, 80, 4) and obs.dtype == np.uint8
    for j in range(1, 4):  # the first frame fills the stack
        np.testing.assert_array_equal(obs[..., j], obs[..., 0])
    history = [obs]
    rng = np.random.default_rng(0)
    while True:
        obs, _, term, _, _ = env.step(int(rng.integers(3)))
        prev = history[-1]
        np.testing.assert_array_equal(obs[..., :-1], prev[..., 1:])  # shift by one frame
        history.append(obs)
        if term:
            break
    assert len(history) == 33
    f1, f2 = history[0][..., 0], history[1][..., 3]
    assert not np.array_equal(f1, f2)
    for j in range(3):
        np.testing.assert_array_equal(history[1][..., j], f1)  # F1 F1 F1 F2
    assert len({history[4][..., j].tobytes() for j in range(4)}) == 4  # F2 F3 F4 F5


def reference_frame(screen, fs):
    """Block average of the 0/255 screen as 0/1, x255, rounded half up."""
    b = 400 // fs
    cover = (screen // 255).astype(np.int64).reshape(fs, b, fs, b).sum(axis=(1, 3))
    return np.floor(cover * 255 / (b * b) + 0.5).astype(np.uint8)


@pytest.mark.parametrize("fs", [80, 40, 100, 8])
def test_frames_equal_the_block_averaged_screen(fs):
    env = CatchEnv(frame_size=fs, frame_stack=2)
    rng = np.random.default_rng(fs)
    for game in range(6):
        obs, _ = env.reset(seed=game, options={"ball_x": int(rng.integers(0, 401))})
        np.testing.assert_array_equal(obs[..., -1], reference_frame(env.screen(), fs))
        done = False
        while not done:
            obs, _, done, _, _ = env.step(int(rng.integers(3)))
            np.testing.assert_array_equal(obs[..., -1], reference_frame(env.screen(), fs))
    for _ in range(500):  # arbitrary states, incl. ball and paddle sharing blocks
        bx, by, px = int(rng.integers(0, 401)), int(rng.integers(300, 400)), int(rng.integers(0, 351))
        np.testing.assert_array_equal(block_frame(bx, by, px, fs),
                                      reference_frame(draw_screen(bx, by, px), fs))


def test_frame_is_indexed_row_y_col_x():
    frame = block_frame(0, 100, 350, 80)  # ball top-left area, paddle bottom-right
    assert frame[20:24, 0:4].min() == 255 and frame[:, 4:].max() == 255
    assert frame[70:72, 70:80].min() == 255 and frame[0:20].max() == 0


def test_numpy_screen_equals_pygame_drawing():
    env = CatchEnv(obs_type="state", render_mode="rgb_array")
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    states = [(400, 340, 350), (381, 20, 0), (0, 0, 0), (390, 345, 350)]
    states += [tuple(int(v) for v in (rng.integers(0, 401), rng.integers(0, 400), rng.integers(0, 351)))
               for _ in range(150)]
    for env.ball_x, env.ball_y, env.paddle_x in states:
        img = env.render()
        assert img.shape == (400, 400, 3) and img.dtype == np.uint8
        screen = env.screen()
        assert set(np.unique(screen)) <= {0, 255}
        for c in range(3):
            np.testing.assert_array_equal(img[..., c], screen)
    env.close()


def test_state_observation():
    env = CatchEnv(obs_type="state")
    obs, info = env.reset(seed=5)
    obs2, _, _, _, info2 = env.step(RIGHT)
    np.testing.assert_allclose(obs2 * 400, [info2["ball_x"], 30, 220], atol=1e-4)
    assert env.observation_space.contains(obs) and env.observation_space.contains(obs2)


@pytest.mark.parametrize("obs_type", ["pixels", "state"])
def test_env_checker_passes(obs_type):
    env = gym.make("arena/Catch-v0", obs_type=obs_type)
    with warnings.catch_warnings(record=True) as caught_warnings:
        warnings.simplefilter("always")
        check_env(env.unwrapped)  # also makes and checks the rgb_array and human modes
    assert not [w for w in caught_warnings if "gymnasium" in str(w.filename) or "arena" in str(w.filename)]
    env.close()


def test_registration_is_idempotent_and_makes_the_env():
    importlib.reload(arena.envs)
    env = gym.make("arena/Catch-v0", obs_type="pixels", frame_size=40, frame_stack=2)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (40, 40, 2)
    assert env.metadata["render_fps"] == 30
    env.close()


def test_headless_use_imports_no_pygame_and_opens_no_window():
    code = (
        "import sys, numpy as np\n"
        "from arena.envs import CatchEnv\n"
        "env = CatchEnv(); env.reset(seed=0)\n"
        "for _ in range(40):\n"
        "    if env.step(1)[2]: env.reset()\n"
        "assert 'pygame' not in sys.modules, 'pygame imported without rendering'\n"
        "env = CatchEnv(render_mode='rgb_array'); env.reset(seed=0)\n"
        "assert env.render().shape == (400, 400, 3)\n"
        "import pygame\n"
        "assert not pygame.display.get_init(), 'rgb_array initialised a display'\n"
        "print('ok')\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SDL_")}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=clean,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok" and "ALSA" not in out.stderr and "pygame" not in out.stdout


def test_human_mode_runs_headless_with_a_score():
    env = CatchEnv(obs_type="state", render_mode="human")
    env.metadata = {**env.metadata, "render_fps": 0}  # unthrottled for the test
    env.reset(seed=0, options={"ball_x": 210})
    done = False
    while not done:
        _, _, done, _, _ = env.step(STAY)
    assert env.wins == 1 and env.losses == 0
    env.close()


@pytest.mark.parametrize("kwargs, name", [
    ({"obs_type": "rgb"}, "obs_type"),
    ({"frame_size": 30}, "frame_size"),
    ({"frame_size": 0}, "frame_size"),
    ({"frame_stack": 0}, "frame_stack"),
    ({"render_mode": "window"}, "render_mode"),
    ({"spawn": "wide"}, "spawn"),
    ({"spawn": (0, 401)}, "spawn"),
    ({"walls": "wrap"}, "walls"),
])
def test_bad_arguments_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        CatchEnv(**kwargs)


@pytest.mark.parametrize("action", [3, -1, 1.0, "left", np.array([1, 2])])
def test_bad_action_raises_value_error(action):
    env = CatchEnv(obs_type="state")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(action)


def test_numpy_integer_actions_are_accepted():
    env = CatchEnv(obs_type="state")
    env.reset(seed=0)
    assert env.step(np.int64(2))[4]["paddle_x"] == 220
    assert env.step(np.array(0))[4]["paddle_x"] == 200
