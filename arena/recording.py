"""Write frames to a GIF or MP4 (imageio), atomically."""
import os
import tempfile

import numpy as np


def record_frames(frames, path, fps=30):
    """Write RGB ``frames`` (list of HxWx3 uint8) to ``path`` (.gif or .mp4)."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".gif", ".mp4"):
        raise ValueError(f"record: {path!r} must end in .gif or .mp4")
    if not frames:
        raise ValueError("record: no frames to write")
    import imageio.v2 as imageio
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=ext, dir=directory, prefix=".tmp-")
    os.close(fd)
    try:
        frames = [np.asarray(f, np.uint8) for f in frames]
        if ext == ".gif":
            imageio.mimsave(tmp, frames, format="GIF", duration=1000.0 / fps, loop=0)
        else:
            imageio.mimsave(tmp, frames, format="FFMPEG", fps=fps, codec="libx264", macro_block_size=8)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
