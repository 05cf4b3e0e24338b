"""The NLTK 10 % sample of the Penn Treebank (Wall Street Journal, 199 files, 3,914 sentences),
the book's E6.3-E6.5 part-of-speech data; read without NLTK."""
import re
import zipfile

from arena.datasets import _download

URL = "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora/treebank.zip"
SHA256 = "9da92d76c3666cfb6cddeaed0f7e86b344cce0f0928a286d439e555f19c37399"
ZIPNAME = "treebank.zip"
OFFLINE_NAME = "nltk_data/corpora/treebank.zip"
_MRG = re.compile(r"^treebank/combined/wsj_\d{4}\.mrg$")
_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def parse_mrg(text: str):
    """The tagged sentences of one bracketed ``.mrg`` file: a list of ``[(word, tag), ...]``, one
    per top-level tree, as NLTK's ``treebank.tagged_sents()`` gives them (``-NONE-`` traces kept)."""
    sents, stack, current = [], [], None
    tokens = _TOKEN.findall(text)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "(":
            if not stack:
                current = []
            # (TAG word) is a leaf: a label followed by a plain token and ")"
            if i + 3 < len(tokens) and tokens[i + 1] not in "()" and tokens[i + 2] not in "()" \
                    and tokens[i + 3] == ")":
                current.append((tokens[i + 2], tokens[i + 1]))
                i += 4
                if not stack:
                    sents.append(current)
                continue
            stack.append(tok)
        elif tok == ")":
            if not stack:
                raise ValueError("unbalanced ')' in a .mrg file")
            stack.pop()
            if not stack:
                sents.append(current)
        i += 1
    if stack:
        raise ValueError("unbalanced '(' in a .mrg file")
    return sents


def load_data(path=None):
    """All tagged sentences as a list of ``[(word, tag), ...]`` lists, files in order
    (``wsj_0001.mrg`` ..), as ``nltk.corpus.treebank.tagged_sents()``: 3,914 sentences with
    ``-NONE-`` trace tokens still in (the book drops them and lower-cases words and tags).

    With ``ARENA_DATA_DIR`` set ``nltk_data/corpora/treebank.zip`` is read from there. Otherwise
    ``path`` (default ``treebank.zip``) names the cached copy of NLTK's corpus zip, downloaded
    from the nltk_data repository and sha256-checked when missing.
    """
    if _download.data_dir() is not None:
        source = _download.offline_file(OFFLINE_NAME)
    else:
        source = _download.get_file(path or ZIPNAME, URL, sha256=SHA256, offline_name=OFFLINE_NAME)
    sents = []
    with zipfile.ZipFile(source) as z:
        names = sorted(n for n in z.namelist() if _MRG.match(n))
        if not names:
            raise ValueError(f"{source} holds no treebank/combined/wsj_NNNN.mrg files")
        for name in names:
            sents.extend(parse_mrg(z.read(name).decode("ascii")))
    return sents
