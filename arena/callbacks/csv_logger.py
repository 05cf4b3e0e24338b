"""CSVLogger: one CSV row per epoch."""
import csv
import os
import warnings

import numpy as np

from arena.callbacks.base import Callback, to_float


class CSVLogger(Callback):
    """Streams the epoch logs to ``filename``: header ``epoch,<keys sorted>``, then one row per epoch
    (0-based epoch, as Keras writes it), flushed every epoch so the file can be watched live.

    The columns are fixed by the first epoch's logs; a later epoch lacking a key writes ``NA``.
    ``append=True`` continues an existing file (reusing its header's columns).
    """

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
        self.writer = None
        self.csv_file = None

    def on_train_begin(self, logs=None):
        self.keys = None
        self._warned = False
        write_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as f:
                header = f.readline().rstrip("\r\n")
            if header:
                write_header = False
                columns = next(csv.reader([header], delimiter=self.sep))
                self.keys = [c for c in columns if c != "epoch"]
        parent = os.path.dirname(self.filename)
        if parent:
            os.makedirs(parent, exist_ok=True)
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="")
        self._write_header = write_header
        self.writer = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        extra = sorted(set(logs) - set(self.keys))
        if extra and not self._warned:
            self._warned = True
            warnings.warn(f"CSVLogger: keys {extra} appeared after the columns of {self.filename!r} were fixed "
                          f"to {self.keys}; they are not written", RuntimeWarning, stacklevel=2)
        if self.writer is None:
            self.writer = csv.writer(self.csv_file, delimiter=self.sep, lineterminator="\n")
            if self._write_header:
                self.writer.writerow(["epoch"] + self.keys)
        self.writer.writerow([epoch] + [_cell(logs[k]) if k in logs else "NA" for k in self.keys])
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.csv_file = None
        self.writer = None


def _cell(value):
    value = to_float(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(str(v) for v in np.ravel(value)) + "]"
    return value
