"""UCI ElectricityLoadDiagrams20112014: 15-minute electricity use of 370 Portuguese customers,
2011-2014 (140,256 readings each); the book's E6.6 series."""
import io
import re
import zipfile

import numpy as np

from arena.datasets import _download

URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/00321/LD2011_2014.txt.zip"
MD5 = "0f0fd085f742acd4f36687e7c071e521"
ZIPNAME = "LD2011_2014.txt.zip"
BOOK_CUSTOMER = 250
OFFLINE_NAME = "LD_250_first1000.npy"


def parse_column(lines, column):
    """Readings of numeric column ``column`` (0 = the first customer column) from the lines of
    ``LD2011_2014.txt``: ``;``-separated, decimal commas, a quoted header line, the time stamp
    first. This is the book's ``econs_data.py`` loop (``cols[cid]`` after the time stamp)."""
    out = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith('"";'):
            continue
        fields = line.split(";")[1:]
        out.append(float(re.sub(",", ".", fields[column])))
    return np.asarray(out, dtype=np.float64)


def load_data(customer=BOOK_CUSTOMER, path=None):
    """One customer's readings as a float64 array (kW per quarter hour), in time order.

    ``customer`` is the book's ``cid``: the 0-based index among the customer columns, so the
    default 250 is the file's 251st customer column (the one the book calls "customer 250").

    With ``ARENA_DATA_DIR`` set only the book's customer is available, as the offline file
    ``LD_250_first1000.npy``: its **first 1,000** of 140,256 readings. Otherwise ``path``
    (default ``LD2011_2014.txt.zip``) names the cached copy of UCI's zip (about 250 MB),
    downloaded and md5-checked when missing; the extracted column is cached as
    ``LD_<customer>.npy`` beside it.
    """
    if _download.data_dir() is not None:
        if customer != BOOK_CUSTOMER:
            raise ValueError(f"offline ({_download.DATA_DIR_ENV} is set) only customer {BOOK_CUSTOMER} is "
                             f"available ({OFFLINE_NAME}); got customer={customer}")
        return np.load(_download.offline_file(OFFLINE_NAME), allow_pickle=False)
    if not 0 <= int(customer) < 370:
        raise ValueError(f"customer must be a column index in 0..369; got {customer}")
    cached = _download.cache_dir() / f"LD_{int(customer)}.npy"
    if cached.is_file():
        return np.load(cached, allow_pickle=False)
    source = _download.get_file(path or ZIPNAME, URL, md5=MD5, offline_name=OFFLINE_NAME)
    with zipfile.ZipFile(source) as z, z.open("LD2011_2014.txt") as f:
        data = parse_column(io.TextIOWrapper(f, encoding="ascii"), int(customer))
    tmp = cached.with_suffix(".tmp.npy")
    np.save(tmp, data)
    tmp.replace(cached)
    return data
