"""Reuters-21578 news stories (the SGML distribution 1.0), the book's E7.3 sentence-autoencoder text.

Not Keras' ``reuters`` (pre-tokenized topic classification): these are the raw stories.
"""
import html
import re
import tarfile

from arena.datasets import _download

URL = "https://kdd.ics.uci.edu/databases/reuters21578/reuters21578.tar.gz"
TARNAME = "reuters21578.tar.gz"
OFFLINE_NAME = "reuters21578_sgm.tar.gz"
_SGM = re.compile(r"(^|/)reut2-\d{3}\.sgm$")
_DOC = re.compile(r"<REUTERS([^>]*)>(.*?)</REUTERS>", re.S)
_NEWID = re.compile(r'NEWID="(\d+)"')
_TOPICS = re.compile(r"<TOPICS>(.*?)</TOPICS>", re.S)
_D = re.compile(r"<D>(.*?)</D>", re.S)
_TITLE = re.compile(r"<TITLE>(.*?)</TITLE>", re.S)
_BODY = re.compile(r"<BODY>(.*?)</BODY>", re.S)


def parse_sgm(text: str):
    """The documents of one ``reut2-NNN.sgm`` file as dicts ``{"newid", "topics", "title", "body"}``
    (entities such as ``&lt;`` decoded; a missing title or body is ``""``)."""
    docs = []
    for attrs, inner in _DOC.findall(text):
        newid = _NEWID.search(attrs)
        topics = _TOPICS.search(inner)
        title, body = _TITLE.search(inner), _BODY.search(inner)
        docs.append({
            "newid": int(newid.group(1)) if newid else None,
            "topics": [html.unescape(d) for d in _D.findall(topics.group(1))] if topics else [],
            "title": html.unescape(title.group(1)).strip() if title else "",
            "body": html.unescape(body.group(1).replace("\x03", "")).strip() if body else "",
        })
    return docs


def load_data(path=None):
    """All 21,578 stories as a list of dicts ``{"newid": int, "topics": [str], "title": str,
    "body": str}``, in file order (``reut2-000.sgm`` .. ``reut2-021.sgm``). The files are Latin-1
    SGML; the book keeps the stories that have topics and uses ``title + ". " + body``.

    With ``ARENA_DATA_DIR`` set the archive ``reuters21578_sgm.tar.gz`` (the 22 ``.sgm`` files)
    is read from there. Otherwise ``path`` (default ``reuters21578.tar.gz``) names the cached copy
    of the UCI KDD archive's distribution, downloaded when missing (no published checksum).
    """
    if _download.data_dir() is not None:
        source = _download.offline_file(OFFLINE_NAME)
    else:
        source = _download.get_file(path or TARNAME, URL, offline_name=OFFLINE_NAME)
    docs = []
    with tarfile.open(source, "r:gz") as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and _SGM.search(m.name)),
                         key=lambda m: m.name.rsplit("/", 1)[-1])
        if not members:
            raise ValueError(f"{source} holds no reut2-NNN.sgm files")
        for m in members:
            docs.extend(parse_sgm(tar.extractfile(m).read().decode("latin-1")))
    return docs
