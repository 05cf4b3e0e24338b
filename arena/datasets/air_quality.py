"""UCI Air Quality: hourly readings of a gas multisensor device in an Italian city, March 2004 -
April 2005 (9,357 rows); the book's E7.2 benzene regression."""
import io
import zipfile

import numpy as np

from arena.datasets import _download

URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/00360/AirQualityUCI.zip"
FILENAME = "AirQualityUCI.csv"
ZIPNAME = "AirQualityUCI.zip"
MISSING = -200.0  # the data set's marker for a missing value (kept as a value, as the book does)


def parse(text: str):
    """``(names, values, timestamps)`` from the text of ``AirQualityUCI.csv``: ``;``-separated,
    decimal commas, two empty trailing columns, and empty ``;;...`` rows (dropped)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header = [h for h in lines[0].split(";") if h]
    if header[:2] != ["Date", "Time"]:
        raise ValueError(f"{FILENAME}: expected a header starting 'Date;Time'; got {lines[0][:40]!r}")
    names = header[2:]
    rows, stamps = [], []
    for number, line in enumerate(lines[1:], 2):
        fields = line.split(";")
        if not any(f.strip() for f in fields):
            continue
        if len(fields) < len(header):
            raise ValueError(f"{FILENAME} line {number}: {len(fields)} fields; expected {len(header)}")
        stamps.append(f"{fields[0]} {fields[1]}")
        rows.append([float(f.replace(",", ".")) for f in fields[2:len(header)]])
    return names, np.asarray(rows, dtype=np.float64), stamps


def load_data(path=None):
    """Load as ``(names, values, timestamps)``: the 13 measurement column names (``CO(GT)``,
    ``PT08.S1(CO)``, ..., ``C6H6(GT)`` is column 3, ..., ``AH``), a float64 array (9357, 13) in file
    order with ``-200`` marking a missing reading (not replaced), and the ``"dd/mm/yyyy hh.mm.ss"``
    time stamps. The all-empty rows and the two empty trailing columns are dropped.

    With ``ARENA_DATA_DIR`` set ``AirQualityUCI.csv`` is read from there. Otherwise ``path``
    (default ``AirQualityUCI.zip``) names the cached copy of UCI's zip, downloaded when missing
    (UCI publishes no checksum; the parsed header is checked).
    """
    if _download.data_dir() is not None:
        data = _download.offline_file(FILENAME).read_bytes()
    else:
        source = _download.get_file(path or ZIPNAME, URL, offline_name=FILENAME)
        with zipfile.ZipFile(source) as z:
            data = z.read(FILENAME)
    return parse(io.BytesIO(data).read().decode("latin-1"))
