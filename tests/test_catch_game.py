"""The human catch game, driven headless (SDL dummy driver) by scripted key events."""

import os
import subprocess
import sys

import numpy as np
import pytest

from arena.envs.catch import CatchEnv
from arena.games.catch import CatchGame, main, play

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def game():
    g = CatchGame(balls=3, fps=0, seed=0)
    yield g
    g.close()


def key(g, kind, name):
    pg = g.pygame
    return pg.event.Event(getattr(pg, kind), key=getattr(pg, name))


def test_held_and_tapped_arrows_move_the_paddle(game):
    assert game.env.paddle_x == 200
    game.update([key(game, "KEYDOWN", "K_LEFT")])
    game.update()
    game.update()  # held for three frames
    assert game.env.paddle_x == 140
    game.update([key(game, "KEYUP", "K_LEFT")])
    assert game.env.paddle_x == 140
    game.update([key(game, "KEYDOWN", "K_RIGHT"), key(game, "KEYUP", "K_RIGHT")])  # a tap
    game.update()
    assert game.env.paddle_x == 160
    game.update([key(game, "KEYDOWN", "K_LEFT"), key(game, "KEYDOWN", "K_RIGHT")])
    assert game.env.paddle_x == 160  # both arrows: stay


def test_the_human_game_clamps_at_the_walls(game):
    game.env.reset(options={"ball_x": 0, "paddle_x": 200})
    game.update([key(game, "KEYDOWN", "K_LEFT")])
    for _ in range(11):
        game.update()
    assert game.env.paddle_x == 0  # clamped, not bounced back to 20


def test_score_counts_catches_and_misses_and_the_game_ends(game):
    game.env.reset(options={"ball_x": 210, "paddle_x": 200})
    rewards = [game.update() for _ in range(32)]
    assert rewards[-1] == 1.0 and sum(rewards) == 1.0
    assert (game.wins, game.losses, game.played) == (1, 0, 1)
    assert game.env.ball_y == 20 and game.env.paddle_x == 200  # next ball; paddle kept
    game.env.reset(options={"ball_x": 0, "paddle_x": 300})
    assert [game.update() for _ in range(32)][-1] == -1.0
    assert (game.wins, game.losses) == (1, 1) and not game.over
    game.draw()
    for _ in range(32):
        game.update()
    assert game.over and game.played == 3
    game.update()  # no-op once over
    assert game.played == 3
    game.draw()


def test_escape_and_window_close_quit(game):
    game.update([key(game, "KEYDOWN", "K_ESCAPE")])
    assert game.over and game.quit
    g2 = CatchGame(balls=2, fps=0, seed=1)
    g2.update([g2.pygame.event.Event(g2.pygame.QUIT)])
    assert g2.quit
    g2.close()


def test_run_loop_reads_posted_events(game):
    pg = game.pygame
    pg.event.clear()
    pg.event.post(pg.event.Event(pg.KEYDOWN, key=pg.K_RIGHT))
    game.run(max_frames=3)
    assert game.env.paddle_x == 260
    pg.event.post(pg.event.Event(pg.KEYDOWN, key=pg.K_ESCAPE))
    game.run()
    assert game.quit


def test_game_uses_the_env_rules_and_drawing(game):
    assert isinstance(game.env, CatchEnv) and game.env.walls == "clamp"
    np.testing.assert_array_equal(game.screens[-1], game.env.screen())
    game.draw()
    assert game.renderer.window is not None  # a (dummy) window is open


def test_play_saves_the_last_four_screens(tmp_path):
    path = tmp_path / "frames.npy"
    score = play(balls=1, fps=0, seed=0, save_frames=str(path), end_pause=0)
    assert score["wins"] + score["losses"] == 1
    frames = np.load(path)
    assert frames.shape == (4, 400, 400) and frames.dtype == np.uint8
    assert frames[-1][340:360].max() == 255  # the final frame: ball down at y = 340


def test_main_and_the_root_script_run_headless(capsys):
    assert main(["--balls", "1", "--fps", "0", "--end-pause", "0", "--seed", "3"]) == 0
    assert "caught" in capsys.readouterr().out
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    out = subprocess.run([sys.executable, "games/catch.py", "--balls", "1", "--fps", "0",
                          "--end-pause", "0"], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "caught" in out.stdout and "ALSA" not in out.stderr


def test_bad_ball_count():
    with pytest.raises(ValueError, match="balls"):
        CatchGame(balls=0, fps=0)
