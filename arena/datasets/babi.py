"""bAbI question answering tasks (Facebook AI Research, v1.2), the book's E7.4 data (task 1)."""
import tarfile

from arena.datasets import _download

URL = "https://s3.amazonaws.com/text-datasets/babi_tasks_1-20_v1-2.tar.gz"
TARNAME = "babi_tasks_1-20_v1-2.tar.gz"
TASK_1 = "qa1_single-supporting-fact"


def parse(text: str):
    """The lines of a bAbI file as ``(id, text, answer, supporting)`` tuples: ``id`` the line number
    within its story (1 starts a new story), ``text`` a statement or question; for a question
    ``answer`` is its answer and ``supporting`` the ids of the supporting statements, for a
    statement ``None`` and ``[]``."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        nid, _, rest = line.strip().partition(" ")
        if not nid.isdigit():
            raise ValueError(f"bAbI line {number}: expected '<id> <text>'; got {line[:60]!r}")
        if "\t" in rest:
            question, answer, supporting = (rest.split("\t") + ["", ""])[:3]
            out.append((int(nid), question.strip(), answer.strip(), [int(s) for s in supporting.split()]))
        else:
            out.append((int(nid), rest.strip(), None, []))
    return out


def load_data(task=TASK_1, variant="en-10k", path=None):
    """Load one task as ``(train, test)``, each a list of ``(id, text, answer, supporting)`` line
    tuples (see ``parse``). The book's task 1 in ``en-10k`` has 10,000 train and 1,000 test questions.

    With ``ARENA_DATA_DIR`` set the files ``<task>_train.txt`` and ``<task>_test.txt`` are read
    from there (only task 1, en-10k, is in Arena's offline folder; ``variant`` is then ignored).
    Otherwise ``path`` (default the archive name) names the cached copy of the bAbI v1.2 archive
    (the address Keras' examples use), downloaded when missing, and the files are read from its
    ``tasks_1-20_v1-2/<variant>/`` folder.
    """
    names = [f"{task}_{split}.txt" for split in ("train", "test")]
    if _download.data_dir() is not None:
        texts = [_download.offline_file(n).read_text(encoding="utf-8") for n in names]
    else:
        source = _download.get_file(path or TARNAME, URL, offline_name=names[0])
        with tarfile.open(source, "r:gz") as tar:
            texts = []
            for n in names:
                member = f"tasks_1-20_v1-2/{variant}/{n}"
                try:
                    texts.append(tar.extractfile(member).read().decode("utf-8"))
                except KeyError:
                    raise ValueError(f"{source} has no {member}: check task and variant") from None
    return parse(texts[0]), parse(texts[1])
