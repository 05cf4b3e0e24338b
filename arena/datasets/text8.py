"""text8: the first 10^8 bytes of English Wikipedia cleaned to lower-case a-z words (Matt Mahoney),
the book's E5.4 word2vec corpus."""
import zipfile

from arena.datasets import _download

URL = "http://mattmahoney.net/dc/text8.zip"
ZIPNAME = "text8.zip"
OFFLINE_NAME = "text8_wiki_subset.txt"


def load_data(path=None):
    """The corpus as one str of words separated by single spaces (``.split()`` gives the words).

    With ``ARENA_DATA_DIR`` set this is the offline ``text8_wiki_subset.txt``: Wikipedia text
    cleaned the same way, about 504k words (some 3 % of text8), so word2vec figures on it are not
    the book's. Otherwise ``path`` (default ``text8.zip``) names the cached copy of the full
    corpus (17M words), downloaded when missing (no published checksum: the zip's single member
    ``text8`` is checked to be lower-case a-z and spaces only at its start).
    """
    if _download.data_dir() is not None:
        return _download.offline_file(OFFLINE_NAME).read_text(encoding="ascii").strip()
    source = _download.get_file(path or ZIPNAME, URL, offline_name=OFFLINE_NAME)
    with zipfile.ZipFile(source) as z:
        text = z.read("text8").decode("ascii")
    if set(text[:100_000]) - set("abcdefghijklmnopqrstuvwxyz "):
        raise ValueError(f"{source} is not the text8 corpus (characters other than a-z and space)")
    return text.strip()
