"""The book's human-playable catch game (E8.1).

Arrow keys move the paddle (clamped to the screen), one ball falls at a time at
30 frames per second, +1 per catch, -1 per miss; a game is 100 balls. Esc or
closing the window quits. The rules and drawing are :class:`arena.envs.CatchEnv`'s
(with ``walls="clamp"``); this module only adds keys, score and the frame loop.

Headless (tests): set ``SDL_VIDEODRIVER=dummy`` and drive :class:`CatchGame` with
scripted events, e.g. ``game.update([pygame.event.Event(pygame.KEYDOWN, key=pygame.K_LEFT)])``.
"""

from __future__ import annotations

import argparse
import time
from collections import deque

import numpy as np

from arena.envs.catch import LEFT, RIGHT, STAY, CatchEnv, CatchRenderer


class CatchGame:
    """One human game: state, key handling and one-frame updates, without an event loop.

    Args:
        balls: balls per game.
        fps: frames (= env steps) per second; 0 runs unthrottled.
        spawn: ball x range, as for :class:`CatchEnv` (``"arena"`` 0..380, ``"book"`` 0..400).
        seed: seeds the ball positions.
        window: open a pygame window (headless with ``SDL_VIDEODRIVER=dummy``).
    """

    def __init__(self, balls: int = 100, fps: int = 30, spawn="arena", seed: int | None = None,
                 window: bool = True):
        if int(balls) < 1:
            raise ValueError(f"balls must be >= 1, got {balls!r}")
        self.balls = int(balls)
        self.env = CatchEnv(obs_type="state", spawn=spawn, walls="clamp")
        self.renderer = CatchRenderer(window=window, fps=fps,
                                      caption="Arena: Catch (arrows move, Esc quits)")
        self.pygame = self.renderer.pygame
        self.wins = self.losses = 0
        self.quit = False
        self._held = {LEFT: False, RIGHT: False}
        self._tapped: set[int] = set()  # pressed this frame (a tap shorter than a frame still moves)
        self.screens: deque[np.ndarray] = deque(maxlen=4)  # the last 4 screens, as the book saves
        self.env.reset(seed=seed)
        self.screens.append(self.env.screen())

    @property
    def played(self) -> int:
        return self.wins + self.losses

    @property
    def over(self) -> bool:
        return self.quit or self.played >= self.balls

    def handle(self, events) -> None:
        """Apply pygame events: arrows (held or tapped), Esc / window close quit."""
        pg = self.pygame
        keys = {pg.K_LEFT: LEFT, pg.K_RIGHT: RIGHT}
        for ev in events:
            if ev.type == pg.QUIT or (ev.type == pg.KEYDOWN and ev.key == pg.K_ESCAPE):
                self.quit = True
            elif ev.type == pg.KEYDOWN and ev.key in keys:
                self._held[keys[ev.key]] = True
                self._tapped.add(keys[ev.key])
            elif ev.type == pg.KEYUP and ev.key in keys:
                self._held[keys[ev.key]] = False

    def action(self) -> int:
        """The env action for this frame: LEFT, RIGHT, or STAY (none or both arrows)."""
        left = self._held[LEFT] or LEFT in self._tapped
        right = self._held[RIGHT] or RIGHT in self._tapped
        return LEFT if left and not right else RIGHT if right and not left else STAY

    def update(self, events=()) -> float:
        """Advance one frame with ``events``; returns the reward (+1 catch, -1 miss, 0)."""
        self.handle(events)
        if self.over:
            return 0.0
        _, reward, terminated, _, _ = self.env.step(self.action())
        self._tapped.clear()
        self.screens.append(self.env.screen())
        if terminated:
            self.wins += reward > 0
            self.losses += reward < 0
            if not self.over:  # next ball; the paddle stays where the player left it
                self.env.reset(options={"paddle_x": self.env.paddle_x})
                self.screens.append(self.env.screen())
        return float(reward)

    def draw(self) -> None:
        """Draw the current frame with the score and show it (paced to ``fps``)."""
        env = self.env
        text = f"wins {self.wins}  losses {self.losses}  ball {min(self.played + 1, self.balls)}/{self.balls}"
        if self.over:
            text = f"game over: {self.wins} caught, {self.losses} missed"
        self.renderer.draw(env.ball_x, env.ball_y, env.paddle_x, text=text)
        self.renderer.show()

    def run(self, max_frames: int | None = None) -> None:
        """The frame loop on real pygame events until the game is over (or ``max_frames``)."""
        frames = 0
        self.draw()
        while not self.over and (max_frames is None or frames < max_frames):
            self.update(self.pygame.event.get())
            self.draw()
            frames += 1

    def close(self) -> None:
        self.renderer.close()
        self.env.close()


def play(balls: int = 100, fps: int = 30, spawn="arena", seed: int | None = None,
         save_frames: str | None = None, end_pause: float = 2.0,
         max_frames: int | None = None) -> dict[str, int]:
    """Play one game in a window; returns ``{"wins": w, "losses": l}``.

    ``save_frames``: a ``.npy`` path for the last 4 screens, (4, 400, 400) uint8 [y, x]
    (the book saves them for ``game_screenshots.py``). ``end_pause``: seconds the final
    score stays on screen.
    """
    game = CatchGame(balls=balls, fps=fps, spawn=spawn, seed=seed)
    try:
        game.run(max_frames=max_frames)
        if not game.quit and end_pause > 0:
            game.draw()
            deadline = time.monotonic() + end_pause
            while time.monotonic() < deadline and not game.quit:
                game.handle(game.pygame.event.get())
                time.sleep(0.02)
        if save_frames:
            np.save(save_frames, np.stack(game.screens))
        return {"wins": int(game.wins), "losses": int(game.losses)}
    finally:
        game.close()


def main(argv: list[str] | None = None) -> int:
    """Command line: ``arena play catch [--balls N] [--fps F] [--seed S] [--spawn book]
    [--save-frames F.npy] [--end-pause SECONDS]``; returns the exit status."""
    p = argparse.ArgumentParser(prog="arena play catch", description="Catch the falling ball with the arrow keys.")
    p.add_argument("--balls", type=int, default=100, help="balls per game (default 100)")
    p.add_argument("--fps", type=int, default=30, help="frames per second (default 30, as the book)")
    p.add_argument("--seed", type=int, default=None, help="seed for the ball positions")
    p.add_argument("--spawn", choices=["arena", "book"], default="arena",
                   help="ball x range: arena 0..380 (default) or book 0..400")
    p.add_argument("--save-frames", metavar="PATH", default=None,
                   help="save the last 4 screens to this .npy file")
    p.add_argument("--end-pause", type=float, default=2.0, metavar="SECONDS",
                   help="how long the final score stays on screen (default 2)")
    args = p.parse_args(argv)
    score = play(balls=args.balls, fps=args.fps, spawn=args.spawn, seed=args.seed,
                 save_frames=args.save_frames, end_pause=args.end_pause)
    print(f"caught {score['wins']} of {score['wins'] + score['losses']} balls "
          f"(score {score['wins'] - score['losses']:+d})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
