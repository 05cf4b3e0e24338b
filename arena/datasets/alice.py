"""Alice's Adventures in Wonderland (Project Gutenberg eBook #11), the book's E6.1 text."""
import re

from arena.datasets import _download

URL = "https://www.gutenberg.org/files/11/11-0.txt"
FILENAME = "alice_in_wonderland.txt"
_START = re.compile(r"^\*\*\* ?START OF (THE|THIS) PROJECT GUTENBERG EBOOK.*$", re.M | re.I)
_END = re.compile(r"^\*\*\* ?END OF (THE|THIS) PROJECT GUTENBERG EBOOK.*$", re.M | re.I)


def strip_gutenberg(text: str) -> str:
    """The text between Project Gutenberg's ``*** START OF`` and ``*** END OF`` lines (the
    whole text when they are absent), without surrounding blank lines."""
    start, end = _START.search(text), _END.search(text)
    if start:
        text = text[start.end():end.start() if end and end.start() > start.end() else None]
    elif end:
        text = text[:end.start()]
    return text.strip("\n")


def load_data(path=None):
    """The book as one str: UTF-8 decoded, the byte-order mark removed and line ends turned
    into ``"\\n"`` (the file has CRLF), licence header and footer removed. The book's E6.1 then
    strips, lower-cases and ASCII-filters each line (42 distinct characters).

    With ``ARENA_DATA_DIR`` set the file ``alice_in_wonderland.txt`` is read from there (it is
    already without the licence text). Otherwise ``path`` (default that name) names the cached
    copy of Gutenberg's plain-text file, downloaded when missing. Gutenberg revises its files
    now and then, so there is no fixed checksum: a download is checked for its start/end markers.
    """
    if _download.data_dir() is not None:
        source = _download.offline_file(FILENAME)
        raw = source.read_bytes().decode("utf-8-sig")
        return strip_gutenberg(raw.replace("\r\n", "\n").replace("\r", "\n"))
    source = _download.get_file(path or FILENAME, URL, offline_name=FILENAME)
    raw = source.read_bytes().decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    if not _START.search(raw):
        raise ValueError(f"{source} does not look like a Project Gutenberg text (no '*** START OF' line); "
                         f"delete it to download it again")
    return strip_gutenberg(raw)
