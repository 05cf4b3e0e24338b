"""The book's catch game (Chapter 8) as a Gymnasium environment.

A 20x20 ball falls 10 px per step from a random x at the top of a 400x400
screen; a 50x10 paddle (top edge at y=350) moves 20 px left/right or stays.
One ball per game: +1 if the paddle catches it, -1 if it does not.

Layout follows Gymnasium's classic-control style: the rules are plain numpy
(:func:`move_paddle`, :func:`caught`), the drawing is separate (:func:`draw_screen`
and :func:`block_frame` in numpy, :class:`CatchRenderer` in pygame), and pygame is
imported only when something is actually rendered with it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

# --- constants (the book's repo values) -------------------------------------
SCREEN = 400  # width = height, px
BALL = 20  # ball side, px
BALL_SPAWN_Y = 10  # the dummy first step moves it to 20
BALL_FALL = 10  # px per step
PADDLE_W, PADDLE_H = 50, 10
PADDLE_Y = 350  # top edge
PADDLE_START = 200  # left edge at the start of every game
PADDLE_MOVE = 20  # px per left/right action
PADDLE_MAX = SCREEN - PADDLE_W  # 350
GAME_OVER_Y = PADDLE_Y - BALL // 2  # 340: the ball's last y
LEFT, STAY, RIGHT = 0, 1, 2
STEPS_PER_GAME = (GAME_OVER_Y - (BALL_SPAWN_Y + BALL_FALL)) // BALL_FALL  # 32

SPAWNS = {"arena": (0, SCREEN - BALL), "book": (0, SCREEN)}  # inclusive x ranges
WALLS = ("bounce", "clamp")
OBS_TYPES = ("pixels", "state")
RENDER_MODES = ("human", "rgb_array")
MAX_FRAME_STACK = 64  # a 400x400 stack of 64 frames is 10 MB per observation


# --- rules ------------------------------------------------------------------
def move_paddle(paddle_x: int, action: int, walls: str = "bounce") -> int:
    """Paddle x after ``action`` (0 left, 1 stay, 2 right).

    ``walls="bounce"`` is the book env's rule (left of 0 -> 20, right of 350 -> 330);
    ``"clamp"`` is the human game's rule (clip to [0, 350]).
    """
    if action == LEFT:
        paddle_x -= PADDLE_MOVE
        if paddle_x < 0:
            paddle_x = PADDLE_MOVE if walls == "bounce" else 0
    elif action == RIGHT:
        paddle_x += PADDLE_MOVE
        if paddle_x > PADDLE_MAX:
            paddle_x = PADDLE_MAX - PADDLE_MOVE if walls == "bounce" else PADDLE_MAX
    return paddle_x


def caught(ball_x: int, ball_y: int, paddle_x: int) -> bool:
    """True if the ball rect (x, y, 20, 20) and the paddle rect overlap with positive area."""
    return (
        paddle_x - BALL < ball_x < paddle_x + PADDLE_W
        and PADDLE_Y - BALL < ball_y < PADDLE_Y + PADDLE_H
    )


# --- numpy drawing ----------------------------------------------------------
def _rects(ball_x: int, ball_y: int, paddle_x: int) -> list[tuple[int, int, int, int]]:
    """The two shapes as (x0, y0, x1, y1) half-open rects, clipped to the screen."""
    out = []
    for x, y, w, h in ((ball_x, ball_y, BALL, BALL), (paddle_x, PADDLE_Y, PADDLE_W, PADDLE_H)):
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, SCREEN), min(y + h, SCREEN)
        if x0 < x1 and y0 < y1:
            out.append((x0, y0, x1, y1))
    return out


def draw_screen(ball_x: int, ball_y: int, paddle_x: int) -> np.ndarray:
    """The full 400x400 screen as uint8 0/255, indexed [y, x] (white shapes on black).

    Pixel-identical to :class:`CatchRenderer`'s pygame drawing (any channel).
    """
    screen = np.zeros((SCREEN, SCREEN), np.uint8)
    for x0, y0, x1, y1 in _rects(ball_x, ball_y, paddle_x):
        screen[y0:y1, x0:x1] = 255
    return screen


@lru_cache(maxsize=4096)
def _cover(a0: int, a1: int, block: int) -> tuple[int, np.ndarray]:
    """Blocks touched by the pixel span [a0, a1): (first block, pixels covered in each)."""
    first, last = a0 // block, (a1 - 1) // block
    edges = np.arange(first, last + 2) * block
    lengths = np.minimum(edges[1:], a1) - np.maximum(edges[:-1], a0)
    lengths.flags.writeable = False  # cached: shared between calls
    return first, lengths


@lru_cache(maxsize=16)
def _lut(block: int) -> np.ndarray:
    """Covered-pixel count (0..block^2) -> gray level round(255 * count / block^2), half up."""
    area = block * block
    counts = np.arange(area + 1)
    return ((2 * 255 * counts + area) // (2 * area)).astype(np.uint8)


@lru_cache(maxsize=65536)
def _patch(x0: int, y0: int, x1: int, y1: int, block: int) -> tuple[int, int, np.ndarray]:
    """One rect alone on the block grid: (first row, first col, uint8 gray patch)."""
    c0, cl = _cover(x0, x1, block)
    r0, rl = _cover(y0, y1, block)
    patch = _lut(block)[np.outer(rl, cl)]
    patch.flags.writeable = False  # cached: shared between calls
    return r0, c0, patch


def block_frame(ball_x: int, ball_y: int, paddle_x: int, frame_size: int = 80,
                out: np.ndarray | None = None) -> np.ndarray:
    """The screen area-averaged over (400/frame_size)^2 blocks, x255, rounded: uint8 [y, x].

    Computed analytically from the two rects (separable per-block coverage, cached
    per position), so it costs a few microseconds; equals block-averaging
    :func:`draw_screen` / 255 (rounding half up). ``out`` (frame_size, frame_size)
    uint8 is filled in place if given.
    """
    block = SCREEN // frame_size
    if out is None:
        out = np.zeros((frame_size, frame_size), np.uint8)
    else:
        out.fill(0)
    rects = _rects(ball_x, ball_y, paddle_x)
    patches = [_patch(*r, block) for r in rects]
    if len(patches) == 2:
        (ar0, ac0, a), (br0, bc0, b) = patches
        if (ar0 < br0 + b.shape[0] and br0 < ar0 + a.shape[0]
                and ac0 < bc0 + b.shape[1] and bc0 < ac0 + a.shape[1]):
            _shared_blocks(rects, block, out)
            return out
    for r0, c0, patch in patches:
        out[r0:r0 + patch.shape[0], c0:c0 + patch.shape[1]] = patch
    return out


def _shared_blocks(rects, block: int, out: np.ndarray) -> None:
    """Ball and paddle touch common blocks: count each screen pixel once (a + b - a∩b)."""
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = rects
    x0, y0, x1, y1 = min(ax0, bx0), min(ay0, by0), max(ax1, bx1), max(ay1, by1)
    c0, r0 = x0 // block, y0 // block
    c1, r1 = (x1 - 1) // block + 1, (y1 - 1) // block + 1
    counts = np.zeros((r1 - r0, c1 - c0), np.int64)
    inter = (max(ax0, bx0), max(ay0, by0), min(ax1, bx1), min(ay1, by1))
    terms = [(rects[0], 1), (rects[1], 1)]
    if inter[0] < inter[2] and inter[1] < inter[3]:
        terms.append((inter, -1))
    for (rx0, ry0, rx1, ry1), s in terms:
        cc, cl = _cover(rx0, rx1, block)
        rr, rl = _cover(ry0, ry1, block)
        counts[rr - r0:rr - r0 + len(rl), cc - c0:cc - c0 + len(cl)] += s * np.outer(rl, cl)
    out[r0:r1, c0:c1] = _lut(block)[counts]


# --- pygame drawing -----------------------------------------------------------
def import_pygame(window: bool):
    """Import pygame quietly. Never initialises audio (no ALSA noise).

    With ``window=False`` nothing is initialised at all: drawing on an offscreen
    ``pygame.Surface`` needs no display, so no window can appear.
    """
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    import pygame

    if window:
        pygame.display.init()
        pygame.font.init()
    return pygame


class CatchRenderer:
    """Draws catch states with pygame on an offscreen 400x400 surface.

    ``window=True`` also opens a display window (shown by :meth:`show`, paced to
    ``fps`` frames per second; ``fps=0`` means as fast as possible). Use the
    ``SDL_VIDEODRIVER=dummy`` environment variable to run such a window headless.
    """

    WHITE, BLACK = (255, 255, 255), (0, 0, 0)

    def __init__(self, window: bool = False, fps: int = 30, caption: str = "Arena: Catch"):
        self.pygame = pg = import_pygame(window)
        self.surface = pg.Surface((SCREEN, SCREEN))
        self.fps = fps
        self.window = self.clock = self.font = None
        if window:
            self.window = pg.display.set_mode((SCREEN, SCREEN))
            pg.display.set_caption(caption)
            self.clock = pg.time.Clock()
            self.font = pg.font.Font(None, 24)

    def draw(self, ball_x: int, ball_y: int, paddle_x: int, text: str | None = None):
        """Draw one state (and an optional text line, top-left); returns the surface."""
        pg, s = self.pygame, self.surface
        s.fill(self.BLACK)
        pg.draw.rect(s, self.WHITE, pg.Rect(ball_x, ball_y, BALL, BALL))
        pg.draw.rect(s, self.WHITE, pg.Rect(paddle_x, PADDLE_Y, PADDLE_W, PADDLE_H))
        if text and self.font is not None:
            s.blit(self.font.render(text, True, self.WHITE), (6, 6))
        return s

    def rgb_array(self) -> np.ndarray:
        """The surface as a (400, 400, 3) uint8 array indexed [y, x, rgb]."""
        return np.ascontiguousarray(self.pygame.surfarray.array3d(self.surface).transpose(1, 0, 2))

    def show(self) -> None:
        """Copy the surface to the window and wait for the next frame time."""
        if self.window is None:
            return
        self.pygame.event.pump()  # keeps the window responsive
        self.window.blit(self.surface, (0, 0))
        self.pygame.display.flip()
        self.clock.tick(self.fps)

    def close(self) -> None:
        if self.window is not None:
            self.pygame.display.quit()
            self.window = None


# --- the environment ------------------------------------------------------------
def _choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")


def _check_frames(frame_size, frame_stack) -> None:
    if isinstance(frame_size, bool) or not isinstance(frame_size, (int, np.integer)) \
            or frame_size < 1 or SCREEN % frame_size:
        raise ValueError(f"frame_size must be a positive divisor of {SCREEN} "
                         f"(e.g. 10, 20, 40, 50, 80, 100, 200, 400), got {frame_size!r}")
    if isinstance(frame_stack, bool) or not isinstance(frame_stack, (int, np.integer)) \
            or not 1 <= frame_stack <= MAX_FRAME_STACK:
        raise ValueError(f"frame_stack must be an int in 1..{MAX_FRAME_STACK}, got {frame_stack!r}")


def _spawn_range(spawn) -> tuple[int, int]:
    if isinstance(spawn, str):
        _choice("spawn", spawn, SPAWNS)
        return SPAWNS[spawn]
    try:
        lo, hi = (int(v) for v in spawn)
    except (TypeError, ValueError):
        lo, hi = 1, 0
    if not 0 <= lo <= hi <= SCREEN:
        raise ValueError(f"spawn must be 'arena' (x in 0..380), 'book' (x in 0..400) or an "
                         f"inclusive (lo, hi) range within 0..{SCREEN}, got {spawn!r}")
    return lo, hi


class CatchEnv(gym.Env):
    """The book's catch game, one ball per episode, 32 agent steps per episode.

    ``reset()`` performs the book's dummy "stay" step (ball y 10 -> 20) and returns
    that observation; then every game is exactly 32 steps (ball y 30 ... 340), the
    32nd terminal with reward +1 (caught) or -1 (missed); all others give 0.

    Args:
        obs_type: ``"pixels"``: uint8 (frame_size, frame_size, frame_stack), the last
            frames oldest -> newest on the last axis, each frame the 0/1 screen
            block-averaged to frame_size^2, x255, rounded; at a game's start the first
            frame fills the stack (after step 1: F1 F1 F1 F2). ``"state"``: float32 (3,)
            = (ball x, ball y, paddle x) / 400.
        frame_size: pixel frame side; must divide 400.
        frame_stack: frames per pixel observation (1..64).
        render_mode: None, ``"rgb_array"`` (``render()`` -> (400, 400, 3) uint8) or
            ``"human"`` (a 30 fps pygame window with the running score).
        spawn: ball x range, inclusive: ``"arena"`` (0..380, every ball visible and
            catchable), ``"book"`` (0..400 as the book; x >= 390 cannot be caught from
            the 20-px grid, x = 400 never) or a ``(lo, hi)`` tuple.
        walls: ``"bounce"`` (the book env) or ``"clamp"`` (the human game).

    ``reset(options=...)`` accepts ``{"ball_x": int, "paddle_x": int}`` to fix the
    spawn or the paddle's start. ``info`` holds ``ball_x``, ``ball_y``, ``paddle_x``
    and, at the end of a game, ``win`` (bool).
    """

    # win_reward: a final reward >= this counts as a win (read by arena's agents/evaluation).
    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 30, "win_reward": 1.0}

    def __init__(self, obs_type: str = "pixels", frame_size: int = 80, frame_stack: int = 4,
                 render_mode: str | None = None, spawn="arena", walls: str = "bounce"):
        _choice("obs_type", obs_type, OBS_TYPES)
        _check_frames(frame_size, frame_stack)
        if render_mode is not None:
            _choice("render_mode", render_mode, (None, *RENDER_MODES))
        _choice("walls", walls, WALLS)
        self.obs_type, self.render_mode, self.walls = obs_type, render_mode, walls
        self.frame_size, self.frame_stack = int(frame_size), int(frame_stack)
        self.spawn_range = _spawn_range(spawn)

        self.action_space = spaces.Discrete(3)
        if obs_type == "pixels":
            shape = (self.frame_size, self.frame_size, self.frame_stack)
            self.observation_space = spaces.Box(0, 255, shape, np.uint8)
        else:
            self.observation_space = spaces.Box(0.0, 1.0, (3,), np.float32)

        self.ball_x = self.ball_y = self.paddle_x = None
        self.done = True
        self.wins = self.losses = 0  # running score, shown by the human window
        # Pixel frames in a ring of k contiguous (fs, fs) frames: a step draws only the
        # new frame (frame t in slot t % k); the observation is assembled by k channel
        # writes, which is ~3x faster than copying a strided channel window.
        self._frames = np.zeros((self.frame_stack, self.frame_size, self.frame_size), np.uint8)
        self._t = 0
        self._renderer: CatchRenderer | None = None

    # -- gymnasium API --
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - {"ball_x", "paddle_x"}
        if unknown:
            raise ValueError(f"options keys must be among ['ball_x', 'paddle_x'], got {sorted(unknown)}")
        lo, hi = self.spawn_range
        self.ball_x = int(self.np_random.integers(lo, hi + 1))  # drawn even if overridden: same stream
        if "ball_x" in options:
            self.ball_x = int(options["ball_x"])
            if not 0 <= self.ball_x <= SCREEN:
                raise ValueError(f"options['ball_x'] must be in 0..{SCREEN}, got {self.ball_x}")
        self.paddle_x = int(options.get("paddle_x", PADDLE_START))
        if not 0 <= self.paddle_x <= PADDLE_MAX:
            raise ValueError(f"options['paddle_x'] must be in 0..{PADDLE_MAX}, got {self.paddle_x}")
        self.ball_y = BALL_SPAWN_Y
        self.done = False
        self._advance(STAY)  # the book's dummy first step: ball y 10 -> 20
        if self.obs_type == "pixels":
            self._t = 0
            first = self._draw_frame(0)
            self._frames[1:] = first  # the first frame fills the stack
        if self.render_mode == "human":
            self.render()
        return self._obs(), self._info()

    def step(self, action):
        if self.done:
            raise RuntimeError("CatchEnv.step() called after the game ended; call reset() first")
        # Fast path for plain ints; Discrete.contains handles 0-d arrays and the rest.
        if not ((type(action) is int or isinstance(action, np.integer)) and 0 <= action <= 2) \
                and not self.action_space.contains(action):
            raise ValueError(f"action must be 0 (left), 1 (stay) or 2 (right), got {action!r}")
        reward = self._advance(int(action))
        if self.obs_type == "pixels":
            self._t += 1
            self._draw_frame(self._t)
        info = self._info()
        if self.done:
            info["win"] = reward > 0
            self.wins += reward > 0
            self.losses += reward < 0
        if self.render_mode == "human":
            self.render()
        return self._obs(), reward, self.done, False, info

    def render(self):
        if self.render_mode is None:
            gym.logger.warn("CatchEnv.render() called without a render_mode; pass "
                            "render_mode='rgb_array' or 'human' to the constructor")
            return None
        if self.ball_x is None:
            raise RuntimeError("CatchEnv.render() called before reset()")
        if self._renderer is None:
            self._renderer = CatchRenderer(window=self.render_mode == "human",
                                           fps=self.metadata["render_fps"])
        if self.render_mode == "rgb_array":
            self._renderer.draw(self.ball_x, self.ball_y, self.paddle_x)
            return self._renderer.rgb_array()
        self._renderer.draw(self.ball_x, self.ball_y, self.paddle_x,
                            text=f"wins {self.wins}  losses {self.losses}")
        self._renderer.show()
        return None

    def close(self):
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # -- helpers --
    def screen(self) -> np.ndarray:
        """The current full-resolution screen: (400, 400) uint8 0/255, indexed [y, x]."""
        if self.ball_x is None:
            raise RuntimeError("CatchEnv.screen() called before reset()")
        return draw_screen(self.ball_x, self.ball_y, self.paddle_x)

    def _advance(self, action: int) -> float:
        """One step of the book's rules; returns the reward and sets ``done``."""
        self.paddle_x = move_paddle(self.paddle_x, action, self.walls)
        self.ball_y += BALL_FALL
        if self.ball_y >= GAME_OVER_Y:
            self.done = True
            return 1.0 if caught(self.ball_x, self.ball_y, self.paddle_x) else -1.0
        return 0.0

    def _draw_frame(self, t: int) -> np.ndarray:
        frame = self._frames[t % self.frame_stack]
        return block_frame(self.ball_x, self.ball_y, self.paddle_x, self.frame_size, out=frame)

    def _obs(self) -> np.ndarray:
        if self.obs_type == "state":
            return np.array([self.ball_x, self.ball_y, self.paddle_x], np.float32) / np.float32(SCREEN)
        k = self.frame_stack
        obs = np.empty((self.frame_size, self.frame_size, k), np.uint8)
        for j in range(k):  # oldest (frame t-k+1) first
            obs[:, :, j] = self._frames[(self._t + 1 + j) % k]
        return obs

    def _info(self) -> dict[str, Any]:
        return {"ball_x": self.ball_x, "ball_y": self.ball_y, "paddle_x": self.paddle_x}
