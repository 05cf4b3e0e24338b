"""Runs the programs of the book's repository (PacktPublishing/Deep-Learning-with-Keras, chapters 1, 3, 5, 6,
7 and 8) on Arena, with ``keras`` replaced by ``arena.keras`` in their imports and their epochs cut to 1, and
prints a Markdown table: script, status, seconds, reason.

    python benchmarks/run_book_scripts.py [--list] [--chapters 1,3] [--only 'keras_MINST_*'] [--timeout 600]
        [--book PATH] [--data DIR] [--python PY] [--with-non-keras] [--keep] [--json results.json]

The book's code is not part of Arena: it is read at run time from ``--book`` (or ``ARENA_BOOK_REPO``), a clone
or a bare git directory of that repository. Each selected chapter is copied into one temporary folder laid out
as the repository is (``ChapterNN/`` beside a ``data/`` folder, so both ``data/x`` and ``../data/x`` resolve);
the chapter's programs run there one at a time, in name order except that a program whose output another reads
runs first. In every copied file the harness changes only:

* the imports: ``import keras`` -> ``import arena.keras as keras``, ``import keras.X as Y`` ->
  ``import arena.keras.X as Y``, ``from keras[.X] import ...`` -> ``from arena.keras[.X] import ...``;
* in the program run (not in helper modules), the epoch counts: a module-level constant whose name starts with
  ``NB_EPOCH``/``NUM_EPOCH``/``N_EPOCH``/``EPOCH`` or is ``NUM_ITERATIONS``/``NB_ITERATIONS``, assigned an
  integer literal, becomes 1, and so does an integer literal after ``epochs=``/``nb_epoch=``; ``EPOCH_OVERRIDES``
  below sets the two constants of Chapter 8's episode loop (which trains only after its observation games).
  Every rewrite is reported (``--list`` shows them without running).

Data comes from ``--data`` (default ``ARENA_DATA_DIR``, else ``../shared/data`` beside the repository): files are
symlinked where each program opens them, archives unpacked, and the Treebank's sentence and tag files written the
way the book's ``treebank_data.py`` writes them (``NEEDS`` below, per program). A program that needs something not
available offline (GloVe 100d/300d, the GoogleNews vectors, ImageNet weights, the full text8 or electricity series,
the authors' photos, NLTK's punkt and tagger models unless an nltk_data folder has them) is reported as
``data not offline`` without running. Programs that import no Keras (data preparation, the pygame game, plots) are
listed but run only with ``--with-non-keras``; helper modules imported by
other programs of the chapter (``make_tensorboard.py``, ``wrapped_game.py``) are copied, never run.

Besides Keras the programs import scikit-learn, pandas and nltk (Arena's ``book`` extra: ``pip install -e
'.[book]'``); ``--list`` and the results name the packages ``--python`` lacks and the programs that import them.

Each program runs under ``--python`` (default: this interpreter) with a wall-clock limit (``--timeout``), stdin
closed, ``MPLBACKEND=Agg``, ``SDL_VIDEODRIVER=dummy``, ``ARENA_DATA_DIR`` and ``NLTK_DATA`` set and this checkout
first on ``PYTHONPATH``. Status: ``pass`` (exit 0), ``fail`` (the reason is the last error line of its stderr),
``timeout``, ``data not offline``, ``blocked`` (a file another program writes is missing), ``not run``
(non-Keras). Seconds are the program's whole wall time: imports, data preparation, compilation and the one epoch.
Logs stay in the work folder with ``--keep``. The rest of the environment passes through: limit the CPU a run takes
with e.g. ``XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"`` or ``taskset``.
"""
import argparse
import fnmatch
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BOOK = "/work/.mirror/PacktPublishing+Deep-Learning-with-Keras/repo"
CHAPTERS = ("01", "03", "05", "06", "07", "08")

# ---- what each program needs ------------------------------------------------------------------------------------
# kind: "loader" (read by a (arena.)keras.datasets loader from ARENA_DATA_DIR: nothing placed), "link" (symlink
# dest -> DATA/source), "extract" (unpack the archive DATA/source into the folder dest), "treebank" (write the
# two files treebank_data.py writes), "nltk" (an NLTK model: one of the resources in source must be in an
# nltk_data folder, else it is not offline), "output" (another program of the chapter writes dest; source names it; with
# link_to, dest is a symlink to the file that program writes), "missing" (not available offline).
# dest is relative to the chapter's folder.


@dataclass(frozen=True)
class Need:
    kind: str
    dest: str | None
    source: str
    note: str = ""
    link_to: str | None = None


DATA = {
    "mnist": Need("loader", None, "mnist.npz", "mnist.load_data() from ARENA_DATA_DIR"),
    "cifar10": Need("loader", None, "cifar10_jpg.tar.gz", "cifar10.load_data() from ARENA_DATA_DIR (JPEG copy)"),
    "umich5": Need("link", "data/umich-sentiment-train.txt", "umich-sentiment-train.txt"),
    "umich6": Need("link", "../data/umich-sentiment-train.txt", "umich-sentiment-train.txt"),
    "alice": Need("link", "../data/alice_in_wonderland.txt", "alice_in_wonderland.txt"),
    "ld250": Need("link", "../data/LD_250.npy", "LD_250_first1000.npy",
                  "the first 1,000 of the series' 140,256 points (what econs_data.py saves, cut)"),
    "treebank": Need("treebank", "../data", "nltk_data/corpora/treebank.zip",
                     "treebank_sents.txt / treebank_poss.txt as treebank_data.py writes them"),
    "treebank_nltk": Need("loader", None, "nltk_data/corpora/treebank.zip", "nltk.corpus.treebank via NLTK_DATA"),
    "reuters6": Need("extract", "../data/reuters-21578", "reuters21578_sgm.tar.gz"),
    "reuters7": Need("extract", "data/reuters-21578", "reuters21578_sgm.tar.gz"),
    "airquality": Need("link", "data/AirQualityUCI.csv", "AirQualityUCI.csv"),
    "babi_train": Need("link", "data/tasks_1-20_v1-2/en/qa1_single-supporting-fact_train.txt",
                       "qa1_single-supporting-fact_train.txt"),
    "babi_test": Need("link", "data/tasks_1-20_v1-2/en/qa1_single-supporting-fact_test.txt",
                      "qa1_single-supporting-fact_test.txt"),
    "cifar_model": Need("output", "cifar10_architecture.json", "keras_CIFAR10_simple.py"),
    "cifar_weights": Need("output", "cifar10_weights.h5", "keras_CIFAR10_simple.py"),
    "text_tsv": Need("output", "data/text.tsv", "sent-thoughts-parse.py"),
    "screenshots": Need("output", "../data/game-screenshots.npy", "game.py"),
    "rl_model": Need("output", "../data/rl-network-4100.h5", "rl-network-train.py",
                     "the model rl-network-train.py saves in this run (rl-network.h5)", link_to="rl-network.h5"),
    "rl_results": Need("output", "../data/rl-network-results-5100.tsv", "rl-network-train.py",
                       "the log rl-network-train.py writes in this run (rl-network-results.tsv)",
                       link_to="rl-network-results.tsv"),
    "punkt": Need("nltk", None, "tokenizers/punkt tokenizers/punkt_tab",
                  "NLTK's punkt tokenizer models (nltk.word_tokenize / sent_tokenize)"),
    "tagger": Need("nltk", None, "taggers/averaged_perceptron_tagger taggers/averaged_perceptron_tagger_eng",
                   "NLTK's averaged perceptron tagger model"),
    # not available offline
    "glove100": Need("missing", "data/glove.6B.100d.txt", "", "GloVe 6B 100d vectors"),
    "glove300": Need("missing", "data/glove.6B.300d.txt", "", "GloVe 6B 300d vectors"),
    "word2vec": Need("missing", "data/GoogleNews-vectors-negative300.bin.gz", "", "GoogleNews word2vec vectors"),
    "text8": Need("missing", "data/text8", "", "the full text8 corpus (only a 3% subset is offline)"),
    "electricity": Need("missing", "../data/LD2011_2014.txt", "", "the full electricity series LD2011_2014.txt"),
    "imagenet": Need("missing", None, "", "ImageNet VGG16 weights"),
    "photos3": Need("missing", "cat.jpg", "", "the authors' photo cat.jpg"),
    "photos3_eval": Need("missing", "cat2.jpg", "", "the authors' photos cat2.jpg, dog.jpg"),
    "photos7": Need("missing", "data/cat.jpg", "", "the authors' photo data/cat.jpg"),
    "monet": Need("missing", "data/JapaneseBridgeMomentCopy.jpg", "", "the style image JapaneseBridgeMomentCopy.jpg"),
    "babi_pos": Need("missing", "../data/babi-sent-train.txt", "",
                     "babi-sent-*/babi-pos-* tagged files (no script or data set makes them)"),
    "reuters_pos": Need("missing", "../data/reuters-sent.txt", "",
                        "reuters-sent.txt / reuters-pos.txt (pos_tagging_data.py tags them with NLTK's punkt and "
                        "perceptron tagger models, not offline)"),
}

NEEDS = {
    "Chapter01/keras_MINST_V1.py": ["mnist"],
    "Chapter01/keras_MINST_V2.py": ["mnist"],
    "Chapter01/keras_MINST_V3.py": ["mnist"],
    "Chapter01/keras_MINST_V4.py": ["mnist"],
    "Chapter03/keras_CIFAR10_V1.py": ["cifar10"],
    "Chapter03/keras_CIFAR10_simple.py": ["cifar10"],
    "Chapter03/keras_EvaluateCIFAR10.py": ["cifar_model", "cifar_weights", "photos3_eval"],
    "Chapter03/keras_LeNet.py": ["mnist"],
    "Chapter03/keras_VGG16.py": ["photos3", "imagenet"],
    "Chapter05/finetune_glove_embeddings.py": ["umich5", "punkt", "glove300"],
    "Chapter05/finetune_glove_embeddings_tensorboard_embedding.py": ["umich5", "punkt", "glove300"],
    "Chapter05/finetune_word2vec_embeddings.py": ["umich5", "punkt", "word2vec"],
    "Chapter05/finetune_word2vec_embeddings_tensorboard_embedding.py": ["umich5", "punkt", "word2vec"],
    "Chapter05/learn_embedding_from_scratch.py": ["umich5", "punkt"],
    "Chapter05/learn_embedding_from_scratch_tensorboard_embedding.py": ["umich5", "punkt"],
    "Chapter05/transfer_glove_embeddings.py": ["umich5", "punkt", "glove100"],
    "Chapter05/transfer_glove_embeddings_tensorboard_embedding.py": ["umich5", "punkt", "glove100"],
    "Chapter05/transfer_word2vec_embeddings.py": ["umich5", "punkt", "word2vec"],
    "Chapter05/transfer_word2vec_embeddings_tensorboard_embedding.py": ["umich5", "punkt", "word2vec"],
    "Chapter05/word2vec_cbow.py": ["alice", "punkt"],
    "Chapter05/word2vec_skipgram.py": ["alice", "punkt"],
    "Chapter05/word2vec_gensim.py": ["text8"],
    "Chapter06/alice_chargen_rnn.py": ["alice"],
    "Chapter06/econs_data.py": ["electricity"],
    "Chapter06/econs_stateful.py": ["ld250"],
    "Chapter06/pos-tagging-explore.py": ["babi_pos"],
    "Chapter06/pos_tagging_data.py": ["reuters6", "punkt", "tagger"],
    "Chapter06/pos_tagging_gru.py": ["reuters_pos"],
    "Chapter06/treebank_data.py": ["treebank_nltk"],
    "Chapter06/treebank_pos_gru.py": ["treebank"],
    "Chapter06/treebank_pos_lstm.py": ["treebank"],
    "Chapter06/umich_sentiment_lstm.py": ["umich6", "punkt"],
    "Chapter07/air-quality-regression.py": ["airquality"],
    "Chapter07/deep-dream.py": ["photos7", "imagenet"],
    "Chapter07/mem-network.py": ["babi_train", "babi_test", "punkt"],
    "Chapter07/sent-thoughts-parse.py": ["reuters7", "punkt"],
    "Chapter07/sent-thoughts-rnn.py": ["text_tsv", "punkt", "glove100"],
    "Chapter07/style-transfer.py": ["photos7", "monet", "imagenet"],
    "Chapter08/game_screenshots.py": ["screenshots"],
    "Chapter08/rl-network-test.py": ["rl_model"],
    "Chapter08/rl-network-viz.py": ["rl_results"],
}

# Chapter 8's training loop plays NUM_EPOCHS_OBSERVE + 1 random games and trains only in the games after those:
# one observation game and one training game (32 updates) instead of 100 + 2,000.
EPOCH_OVERRIDES = {
    "Chapter08/rl-network-train.py": {"NUM_EPOCHS_OBSERVE": 0, "NUM_EPOCHS_TRAIN": 2},
}

# ---- rewriting --------------------------------------------------------------------------------------------------
_IMPORT_KERAS = re.compile(r"^(?P<indent>[ \t]*)import[ \t]+keras(?P<sub>(?:\.\w+)*)(?P<alias>[ \t]+as[ \t]+\w+)?"
                           r"(?P<rest>[ \t]*(?:#.*)?)$", re.M)
_FROM_KERAS = re.compile(r"^(?P<indent>[ \t]*)from[ \t]+keras(?P<sub>(?:\.\w+)*)[ \t]+import\b", re.M)
_ANY_KERAS_IMPORT = re.compile(r"^[ \t]*(?:import|from)[ \t]+[^#\n]*\bkeras\b", re.M)
_EPOCH_CONST = re.compile(r"^(?P<lhs>(?P<name>(?:(?:NB|NUM|N)_)?EPOCHS?(?:_[A-Z0-9]+)*|(?:NB|NUM)_ITERATIONS)"
                          r"[ \t]*=(?!=)[ \t]*)(?P<value>\d+)(?![.\w])", re.M)
_EPOCH_KW = re.compile(r"\b(?P<lhs>(?P<name>epochs|nb_epoch)[ \t]*=[ \t]*)(?P<value>\d+)(?![.\w])")
_IMPORTED = re.compile(r"^[ \t]*(?:from[ \t]+(?P<from>[\w.]+)[ \t]+import|import[ \t]+(?P<names>[\w., \t]+))",
                       re.M)


def rewrite_imports(text):
    """``keras`` -> ``arena.keras`` in import statements; returns (text, number of imports rewritten)."""
    count = 0

    def plain(m):
        nonlocal count
        count += 1
        sub, alias = m["sub"], m["alias"]
        if alias:
            return f"{m['indent']}import arena.keras{sub}{alias}{m['rest']}"
        if not sub:  # binds the name keras, as the original did
            return f"{m['indent']}import arena.keras as keras{m['rest']}"
        # `import keras.x` binds `keras` and loads keras.x: do both
        return f"{m['indent']}import arena.keras as keras; import arena.keras{sub}{m['rest']}"

    def from_(m):
        nonlocal count
        count += 1
        return f"{m['indent']}from arena.keras{m['sub']} import"

    text = _IMPORT_KERAS.sub(plain, text)
    text = _FROM_KERAS.sub(from_, text)
    return text, count


def leftover_keras_imports(text):
    """Import lines still naming keras outside ``arena.keras`` (e.g. ``import numpy, keras``)."""
    return [m.group(0).strip() for m in _ANY_KERAS_IMPORT.finditer(text)
            if "arena.keras" not in m.group(0)]


def cut_epochs(text, overrides=None):
    """Epoch counts cut to 1 (``overrides``: name -> value for named constants); returns (text, changes)."""
    overrides = overrides or {}
    changes = []

    def const(m):
        name, value = m["name"], int(m["value"])
        new = overrides.get(name, 1)
        if value == new or (name not in overrides and value < 1):
            return m.group(0)
        changes.append(f"{name} {value}->{new}")
        return f"{m['lhs']}{new}"

    def kw(m):
        value = int(m["value"])
        if value <= 1:
            return m.group(0)
        changes.append(f"{m['name']}={value}->1")
        return f"{m['lhs']}1"

    text = _EPOCH_CONST.sub(const, text)
    text = _EPOCH_KW.sub(kw, text)
    missing = sorted(set(overrides) - {c.split(" ")[0] for c in changes})
    for name in missing:
        changes.append(f"{name}: not found")
    return text, changes


def imported_modules(text):
    """Top-level module names imported by a file (regex: files with Python 2 syntax do not parse)."""
    names = set()
    for m in _IMPORTED.finditer(text):
        if m["from"]:
            if not m["from"].startswith("."):
                names.add(m["from"].split(".")[0])
        else:
            for part in m["names"].split(","):
                part = part.strip().split()
                if part:
                    names.add(part[0].split(".")[0])
    return names


# ---- the book's files -------------------------------------------------------------------------------------------
@dataclass
class Script:
    chapter: str
    name: str
    kind: str = "program"  # program | helper | non-keras
    text: str = ""
    needs: list = field(default_factory=list)
    epochs: list = field(default_factory=list)
    imports_rewritten: int = 0
    leftovers: list = field(default_factory=list)
    syntax: str = ""
    packages: set = field(default_factory=set)
    status: str = ""
    seconds: float | None = None
    reason: str = ""

    @property
    def path(self):
        return f"{self.chapter}/{self.name}"


def materialize(book, chapters, dest):
    """Copies ``ChapterNN`` of the book (a checkout, or a bare git directory read with git archive) into dest."""
    book = Path(book)
    names = [f"Chapter{c}" for c in chapters]
    if all((book / n).is_dir() for n in names):
        for n in names:
            shutil.copytree(book / n, dest / n)
        return
    if not (book / "HEAD").is_file() and not (book / ".git").exists():
        raise SystemExit(f"--book {book}: neither a checkout with {names[0]}/ nor a git directory. Clone "
                         f"PacktPublishing/Deep-Learning-with-Keras and pass its path (or set ARENA_BOOK_REPO).")
    archive = subprocess.run(["git", "-C", str(book), "archive", "--format=tar", "HEAD", *names],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")


def survey(root, chapters):
    """The scripts of each chapter with their kind, rewrites, data needs and imports (texts rewritten in place)."""
    scripts = []
    for chapter in chapters:
        folder = root / f"Chapter{chapter}"
        files = sorted(folder.glob("*.py"))
        texts = {f.name: f.read_text(encoding="utf-8", errors="replace") for f in files}
        local = {Path(n).stem for n in texts}
        imported_locally = set()
        for text in texts.values():
            imported_locally |= imported_modules(text) & local
        for f in files:
            s = Script(f"Chapter{chapter}", f.name, text=texts[f.name])
            mods = imported_modules(s.text)
            if f.stem in imported_locally:
                s.kind = "helper"
            elif "keras" not in mods:
                s.kind = "non-keras"
            new, s.imports_rewritten = rewrite_imports(s.text)
            s.leftovers = leftover_keras_imports(new)
            if s.kind != "helper":
                new, s.epochs = cut_epochs(new, EPOCH_OVERRIDES.get(s.path))
            try:
                compile(new, s.path, "exec")
            except SyntaxError as e:
                s.syntax = f"SyntaxError line {e.lineno}: {e.msg}"
            s.packages = {m for m in mods - local - {"keras", "arena", "__future__"}
                          if m not in sys.stdlib_module_names}
            s.needs = NEEDS.get(s.path, [])
            f.write_text(new, encoding="utf-8")
            scripts.append(s)
    return scripts


# Import names whose pip package is named differently; the book's own needs are Arena's `book` extra
# (pip install -e '.[book]': scikit-learn, pandas, nltk).
PIP_NAMES = {"sklearn": "scikit-learn", "cv2": "opencv-python-headless", "PIL": "pillow", "skimage": "scikit-image"}


def describe_missing(scripts, missing):
    """One line naming the packages ``--python`` lacks and the programs that import them ('' if none)."""
    used = {m: [s.path for s in scripts if m in s.packages] for m in sorted(missing)}
    used = {m: paths for m, paths in used.items() if paths}
    if not used:
        return ""
    names = ", ".join(f"{m} (pip: {PIP_NAMES[m]})" if m in PIP_NAMES else m for m in used)
    count = len({p for paths in used.values() for p in paths})
    return (f"Packages missing from the interpreter: {names}; {count} program(s) import them and fail without "
            f"them (pip install -e '.[book]' installs the book's scikit-learn, pandas and nltk).")


def missing_packages(python, names):
    """The module names ``python`` cannot find."""
    if not names:
        return set()
    code = "import importlib.util, sys; print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))"
    out = subprocess.run([python, "-c", code, *sorted(names)], capture_output=True, text=True)
    return set(out.stdout.split())


# ---- data -------------------------------------------------------------------------------------------------------
def write_treebank(data_dir, folder):
    """treebank_sents.txt and treebank_poss.txt, one sentence a line, ``-NONE-`` tokens dropped (treebank_data.py)."""
    os.environ["ARENA_DATA_DIR"] = str(data_dir)
    sys.path.insert(0, str(REPO_ROOT))
    from arena.datasets import treebank
    sents = treebank.load_data()
    with open(folder / "treebank_sents.txt", "w", encoding="utf-8") as fs, \
            open(folder / "treebank_poss.txt", "w", encoding="utf-8") as fp:
        for sent in sents:
            pairs = [(w, t) for w, t in sent if t != "-NONE-"]
            fs.write(" ".join(w for w, _ in pairs) + "\n")
            fp.write(" ".join(t for _, t in pairs) + "\n")


def nltk_found(need, data_dir):
    """Whether one of the NLTK resources ``need.source`` names is in an nltk_data folder NLTK searches."""
    folders = [data_dir / "nltk_data", *(Path(p) for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p),
               Path.home() / "nltk_data", Path(sys.prefix) / "nltk_data", Path(sys.prefix) / "share" / "nltk_data",
               Path(sys.prefix) / "lib" / "nltk_data", Path("/usr/share/nltk_data"), Path("/usr/local/share/nltk_data"),
               Path("/usr/lib/nltk_data"), Path("/usr/local/lib/nltk_data")]
    return any((f / r).exists() or (f / (r + ".zip")).exists() for f in folders for r in need.source.split())


def absent(keys, data_dir):
    """The notes of the needs that are not available offline."""
    return [DATA[k].note for k in keys
            if DATA[k].kind == "missing" or (DATA[k].kind == "nltk" and not nltk_found(DATA[k], data_dir))]


def place(need, chapter_dir, data_dir, done):
    """Puts one data need where the program looks; returns a line describing it (once per destination)."""
    if need.kind in ("loader", "output", "missing", "nltk") and not need.link_to:
        return None
    dest = Path(os.path.normpath(chapter_dir / need.dest))  # not resolve(): dest may be a symlink already
    if dest in done:
        return None
    done.add(dest)
    if need.kind == "output":  # a symlink to the file the producing program writes
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists() and not dest.is_symlink():
            dest.symlink_to(need.link_to)
        return f"{dest.relative_to(chapter_dir.parent)} -> {need.link_to} ({need.note})"
    source = data_dir / need.source
    if not source.exists():
        raise SystemExit(f"data file {source} not found (needed at {need.dest}); set --data or ARENA_DATA_DIR")
    if need.kind == "link":
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists():
            dest.symlink_to(source)
        return f"{dest.relative_to(chapter_dir.parent)} -> {source}" + (f" ({need.note})" if need.note else "")
    if need.kind == "extract":
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(source) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    member.name = Path(member.name).name
                    tar.extract(member, dest, filter="data")
        return f"{dest.relative_to(chapter_dir.parent)}/ <- files of {source}"
    if need.kind == "treebank":
        dest.mkdir(parents=True, exist_ok=True)
        write_treebank(data_dir, dest)
        return f"{dest.relative_to(chapter_dir.parent)}/treebank_{{sents,poss}}.txt <- {source} ({need.note})"
    raise ValueError(need.kind)


# ---- running ----------------------------------------------------------------------------------------------------
_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Fault|Warning)\b.*|^\w+: .*")


def last_error_line(text):
    lines = [ln.strip() for ln in re.split(r"[\r\n]+", text) if ln.strip()]
    for ln in reversed(lines):
        if _ERROR_LINE.match(ln) and not ln.startswith(("Traceback", "warnings.warn")):
            return ln
    return lines[-1] if lines else ""


def run_one(s, root, python, env, timeout):
    cwd = root / s.chapter
    log_out, log_err = root / "logs" / f"{s.chapter}_{s.name}.out", root / "logs" / f"{s.chapter}_{s.name}.err"
    start = time.perf_counter()
    with open(log_out, "wb") as out, open(log_err, "wb") as err:
        proc = subprocess.Popen([python, s.name], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = None
    s.seconds = time.perf_counter() - start
    if rc is None:
        s.status, s.reason = "timeout", f"still running after {timeout:g} s"
    elif rc == 0:
        s.status = "pass"
    else:
        s.status = "fail"
        s.reason = last_error_line(log_err.read_text(encoding="utf-8", errors="replace")) or f"exit code {rc}"


def run_order(scripts):
    """Name order, except that a program another one's data comes from runs before it."""
    by_name = {s.name: s for s in scripts}
    order, seen = [], set()

    def visit(s):
        if s.name in seen:
            return
        seen.add(s.name)
        for key in s.needs:
            need = DATA[key]
            if need.kind == "output" and need.source in by_name:
                visit(by_name[need.source])
        order.append(s)

    for s in scripts:
        visit(s)
    return order


def child_env(data_dir):
    env = dict(os.environ)
    env.update(MPLBACKEND="Agg", SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1",
               ARENA_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1",
               NLTK_DATA=os.pathsep.join(p for p in (str(data_dir / "nltk_data"), os.environ.get("NLTK_DATA")) if p),
               PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p))
    return env


def md_cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def print_list(scripts, missing, data_dir):
    print("| script | kind | data | epochs cut | notes |")
    print("|---|---|---|---|---|")
    for s in scripts:
        data = []
        for key in s.needs:
            n = DATA[key]
            if n.kind == "missing" or (n.kind == "nltk" and not nltk_found(n, data_dir)):
                data.append(f"NOT OFFLINE: {n.note}")
            elif n.kind == "nltk":
                data.append(f"{n.note} (found)")
            elif n.kind == "output":
                data.append(f"{n.dest} from {n.source}")
            elif n.kind == "loader":
                data.append(n.note)
            elif n.kind == "treebank":
                data.append(f"{n.dest}/treebank_sents.txt, treebank_poss.txt made from {n.source}")
            else:
                data.append(f"{n.dest} <- {n.source}")
        notes = []
        if s.syntax:
            notes.append(s.syntax)
        if s.packages & missing:
            notes.append("missing packages: " + ", ".join(sorted(s.packages & missing)))
        if s.leftovers:
            notes.append("keras import not rewritten: " + "; ".join(s.leftovers))
        if s.kind == "helper":
            notes.append("imported by the chapter's programs")
        print(f"| {s.path} | {s.kind} | {md_cell('; '.join(data))} | {md_cell(', '.join(s.epochs))} | "
              f"{md_cell('; '.join(notes))} |")


def print_results(programs, missing=frozenset()):
    print("| script | status | seconds | reason |")
    print("|---|---|---|---|")
    for s in programs:
        secs = f"{s.seconds:.1f}" if s.seconds is not None else ""
        print(f"| {s.path} | {s.status} | {secs} | {md_cell(s.reason)} |")
    keras = [s for s in programs if s.kind == "program"]
    counts = {}
    for s in keras:
        counts[s.status] = counts.get(s.status, 0) + 1
    print()
    print(f"Keras programs: {len(keras)}; ran: {counts.get('pass', 0)}; "
          + "; ".join(f"{k}: {v}" for k, v in sorted(counts.items()) if k != "pass"))
    others = [s for s in programs if s.kind == "non-keras"]
    if others:
        ran = sum(s.status == "pass" for s in others)
        print(f"Programs without Keras: {len(others)}; ran: {ran}")
    if describe_missing(programs, missing):
        print(describe_missing(programs, missing))
    cut = [s for s in programs if s.epochs]
    if cut:
        print("\nEpochs cut:\n" + "\n".join(f"- {s.path}: {', '.join(s.epochs)}" for s in cut), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--book", default=os.environ.get("ARENA_BOOK_REPO", DEFAULT_BOOK),
                   help="clone or bare git directory of PacktPublishing/Deep-Learning-with-Keras "
                        "(default: ARENA_BOOK_REPO, else %(default)s)")
    p.add_argument("--data", default=os.environ.get("ARENA_DATA_DIR", str(REPO_ROOT.parent / "shared" / "data")),
                   help="offline data folder (default: ARENA_DATA_DIR, else ../shared/data)")
    p.add_argument("--chapters", default=",".join(CHAPTERS), help="comma-separated chapter numbers (default: all)")
    p.add_argument("--only", action="append", default=[],
                   help="run only scripts whose name or ChapterNN/name matches this glob (repeatable)")
    p.add_argument("--timeout", type=float, default=600, help="seconds per program (default 600)")
    p.add_argument("--list", action="store_true", help="show scripts, data needs and epoch rewrites; run nothing")
    p.add_argument("--python", default=sys.executable, help="interpreter for the programs (default: this one)")
    p.add_argument("--with-non-keras", action="store_true", help="also run the programs that import no Keras")
    p.add_argument("--keep", action="store_true", help="keep the work folder (copies, data links, logs)")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)

    chapters = []
    for c in args.chapters.split(","):
        c = c.strip().removeprefix("Chapter").zfill(2)
        if c not in CHAPTERS:
            p.error(f"--chapters: {c} is not one of {', '.join(CHAPTERS)}")
        chapters.append(c)
    data_dir = Path(args.data).resolve()

    root = Path(tempfile.mkdtemp(prefix="book_scripts_"))
    try:
        materialize(args.book, chapters, root)
        scripts = survey(root, chapters)
        if args.only:
            scripts = [s for s in scripts
                       if any(fnmatch.fnmatch(s.name, g) or fnmatch.fnmatch(s.path, g) for g in args.only)]
        missing = missing_packages(args.python, set().union(*(s.packages for s in scripts)) if scripts else set())
        if args.list:
            print_list(scripts, missing, data_dir)
            if describe_missing(scripts, missing):
                print("\n" + describe_missing(scripts, missing))
            return 0
        if not data_dir.is_dir():
            p.error(f"--data {data_dir} is not a folder")
        (root / "data").mkdir(exist_ok=True)
        (root / "logs").mkdir()
        env = child_env(data_dir)
        programs = [s for s in scripts if s.kind != "helper"]
        placed, done = [], set()
        results = []
        for chapter in chapters:
            chapter_dir = root / f"Chapter{chapter}"
            for s in run_order([s for s in programs if s.chapter == f"Chapter{chapter}"]):
                results.append(s)
                not_offline = absent(s.needs, data_dir)
                if not_offline:
                    s.status, s.reason = "data not offline", "; ".join(not_offline)
                    continue
                if s.kind == "non-keras" and not args.with_non_keras:
                    s.status, s.reason = "not run", "imports no Keras (--with-non-keras runs it)"
                    continue
                for key in s.needs:
                    line = place(DATA[key], chapter_dir, data_dir, done)
                    if line:
                        placed.append(line)
                blocked = [DATA[k] for k in s.needs if DATA[k].kind == "output"
                           and not (chapter_dir / DATA[k].dest).exists()]
                if blocked:
                    s.status = "blocked"
                    s.reason = "; ".join(f"needs {n.dest}, written by {n.source} "
                                         f"({next((r.status for r in results if r.name == n.source), 'not run')})"
                                         for n in blocked)
                    continue
                if s.packages & missing:
                    print(f"  {s.path} imports {', '.join(sorted(s.packages & missing))}, missing here",
                          file=sys.stderr, flush=True)
                print(f"running {s.path} ...", file=sys.stderr, flush=True)
                run_one(s, root, args.python, env, args.timeout)
                print(f"  {s.status} in {s.seconds:.1f} s {s.reason}", file=sys.stderr, flush=True)
        if placed:
            print("Data placed (paths in the work folder, laid out as the book's repository):\n" + "\n".join(f"- {line}" for line in placed) + "\n")
        print_results(results, missing)
        if args.json:
            Path(args.json).write_text(json.dumps(
                [{"script": s.path, "kind": s.kind, "status": s.status, "seconds": s.seconds, "reason": s.reason,
                  "epochs_cut": s.epochs, "needs": s.needs} for s in results], indent=1))
        return 0
    finally:
        if args.keep and not args.list:
            print(f"\nwork folder kept: {root} (logs in {root / 'logs'})", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
