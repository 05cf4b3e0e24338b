"""CSVLogger: one CSV row per epoch."""
import csv
import os

import numpy as np

from arena.callbacks.base import Callback, to_float


class CSVLogger(Callback):
    """Streams the epoch logs to ``filename``: header ``epoch,<keys sorted>``, then one row per epoch
    (0-based epoch, as Keras writes it), flushed every epoch so the file can be watched live.

    A key that appears in a later epoch (an agent's TD loss once learning starts) gets a column: the
    file is rewritten with the new header, earlier rows holding ``NA`` there; an epoch lacking a key
    writes ``NA``. ``append=True`` continues an existing file; rows of epochs at or after the run's
    ``initial_epoch`` (written by a run that was killed after them, before its checkpoint) are
    dropped first, so a resumed run leaves each epoch exactly once. Rewrites are atomic.
    """

    process_zero_only = True  # several processes: one writer

    reads_weights = False

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        filename = os.fspath(filename) if isinstance(filename, os.PathLike) else filename
        if not isinstance(filename, str) or not filename:
            raise ValueError(f"CSVLogger: filename must be a non-empty path string; got {filename!r}")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger: separator must be a single character; got {separator!r}")
        self.filename = filename
        self.sep = separator
        self.append = bool(append)
        self.keys = None
        self.csv_file = None

    def on_train_begin(self, logs=None):
        self.keys = None
        parent = os.path.dirname(self.filename)
        if parent:
            os.makedirs(parent, exist_ok=True)
        if self.append and os.path.exists(self.filename):
            columns, rows = self._read()
            if columns:
                self.keys = [c for c in columns if c != "epoch"]
                start = int((self.params or {}).get("initial_epoch", 0) or 0)
                kept = [r for r in rows if _epoch_of(r) is not None and _epoch_of(r) < start]
                if len(kept) != len(rows):
                    self._rewrite(columns, kept)
            self.csv_file = open(self.filename, "a", newline="")
        else:
            self.csv_file = open(self.filename, "w", newline="")

    def _read(self):
        with open(self.filename, newline="") as f:
            table = list(csv.reader(f, delimiter=self.sep))
        return (table[0], table[1:]) if table else (None, [])

    def _rewrite(self, columns, rows):
        """Replace the file with ``columns`` and ``rows`` (temporary file, then rename)."""
        tmp = f"{self.filename}.{os.getpid()}.tmp"
        try:
            with open(tmp, "w", newline="") as f:
                writer = csv.writer(f, delimiter=self.sep, lineterminator="\n")
                writer.writerow(columns)
                writer.writerows(rows)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.filename)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            csv.writer(self.csv_file, delimiter=self.sep, lineterminator="\n").writerow(["epoch"] + self.keys)
        new = sorted(set(logs) - set(self.keys))
        if new:  # a new key: widen the file (earlier rows get NA) and go on appending
            self.csv_file.close()
            columns, rows = self._read()
            width = len(columns)
            self.keys += new
            self._rewrite(["epoch"] + self.keys, [r + ["NA"] * (width - len(r) + len(new)) for r in rows])
            self.csv_file = open(self.filename, "a", newline="")
        writer = csv.writer(self.csv_file, delimiter=self.sep, lineterminator="\n")
        writer.writerow([epoch] + [_cell(logs[k]) if k in logs else "NA" for k in self.keys])
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.csv_file = None


def _epoch_of(row):
    try:
        return int(row[0])
    except (IndexError, ValueError):
        return None


def _cell(value):
    value = to_float(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(str(v) for v in np.ravel(value)) + "]"
    return value
