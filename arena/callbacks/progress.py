"""Progress display for the loop (tqdm): a bar per epoch (verbose=1) or a line per epoch (verbose=2)."""
import sys
import time

from tqdm.auto import tqdm

from arena.callbacks.base import Callback, to_float


def format_logs(logs):
    parts = []
    for k, v in logs.items():
        v = to_float(v)
        parts.append(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}")
    return " - ".join(parts)


class ProgbarLogger(Callback):
    """Shows training progress; log values are read only when the display refreshes,
    so the compiled steps are never made to wait every batch."""

    process_zero_only = True  # several processes: one writer

    reads_weights = False

    def __init__(self, verbose=1, refresh_seconds=0.5):
        super().__init__()
        self.verbose = verbose
        self.refresh_seconds = refresh_seconds

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.time()
        self._last = 0.0
        self._seen = 0
        epochs = self.params.get("epochs")
        if self.verbose == 1:
            print(f"Epoch {epoch + 1}/{epochs}", file=sys.stderr, flush=True)
            self._bar = tqdm(total=self.params.get("steps"), file=sys.stderr, dynamic_ncols=True,
                             leave=True, unit=self.params.get("unit", "step"), mininterval=self.refresh_seconds)

    def on_train_batch_end(self, batch, logs=None):
        if self.verbose != 1:
            return
        # RL counts progress in games/steps played (params["progress_key"] names the log entry).
        key = self.params.get("progress_key")
        position = int(logs[key]) if key and logs and key in logs else batch + 1
        self._bar.update(position - self._seen)
        self._seen = position
        now = time.time()
        if logs and now - self._last >= self.refresh_seconds:
            self._last = now
            self._bar.set_postfix_str(format_logs(logs), refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.time() - self._start
        if self.verbose == 1:
            self._bar.set_postfix_str(format_logs(logs or {}), refresh=True)
            self._bar.close()
        elif self.verbose == 2:
            print(f"Epoch {epoch + 1}/{self.params.get('epochs')} - {elapsed:.0f}s - {format_logs(logs or {})}",
                  flush=True)
