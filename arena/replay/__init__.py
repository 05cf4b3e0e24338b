"""Experience replay buffers (numpy ring buffers, uniform sampling)."""

from arena.replay.buffer import Batch, FrameStackReplayBuffer, ReplayBuffer

__all__ = ["Batch", "FrameStackReplayBuffer", "ReplayBuffer"]
