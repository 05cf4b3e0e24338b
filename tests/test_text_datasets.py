"""The text and sequence data set loaders (arena.datasets.umich_sentiment, alice, text8, electricity,
air_quality, babi, reuters, treebank) and the offline word tokenizer. Never downloads: the offline
files come from ARENA_DATA_DIR (conftest.py) and the download paths are exercised against a local
HTTP server on 127.0.0.1."""
import hashlib
import io
import tarfile
import zipfile

import numpy as np
import pytest

from arena.datasets import (_download, air_quality, alice, babi, electricity, reuters, text8, treebank,
                            umich_sentiment, word_tokenize)




# ---------------------------------------------------------------- tokenizer

@pytest.mark.parametrize("text, tokens", [
    ("I didn't like it, (really)!", ["I", "did", "n't", "like", "it", ",", "(", "really", ")", "!"]),
    ('"Hello," she said... I cannot go.', ["``", "Hello", ",", "''", "she", "said", "...", "I", "can", "not",
                                           "go", "."]),
    ("i've read it; it's $5 -- ok?", ["i", "'ve", "read", "it", ";", "it", "'s", "$", "5", "--", "ok", "?"]),
    ("the da vinci code sucks be...", ["the", "da", "vinci", "code", "sucks", "be", "..."]),
    ("", []),
])
def test_word_tokenize_follows_treebank_rules(text, tokens):
    assert word_tokenize(text) == tokens


def test_word_tokenize_rejects_bytes():
    with pytest.raises(TypeError, match="str"):
        word_tokenize(b"abc")


# ---------------------------------------------------------------- umich sentiment

def test_umich_offline_counts_and_order():
    sentences, labels = umich_sentiment.load_data()
    assert len(sentences) == 7086 and labels.shape == (7086,) and labels.dtype == np.int64
    assert int(labels.sum()) == 3995 and int((labels == 0).sum()) == 3091
    assert sentences[0] == "The Da Vinci Code book is just awesome." and labels[0] == 1
    assert all(isinstance(s, str) and s and "\t" not in s for s in sentences)


def test_umich_parse_rejects_a_bad_line():
    sentences, labels = umich_sentiment.parse(b"1\tgood\r\n0\tbad \n\n")
    assert sentences == ["good", "bad"] and labels.tolist() == [1, 0]
    with pytest.raises(ValueError, match="line 2"):
        umich_sentiment.parse(b"1\tgood\nno tab here\n")


def test_umich_download_checks_and_caches(server, online, monkeypatch):
    root, url, _ = server
    data = b"1\tI love it.\n0\tI hate it.\n"
    (root / "training.txt").write_bytes(data)
    monkeypatch.setattr(umich_sentiment, "URL", f"{url}/training.txt")
    monkeypatch.setattr(umich_sentiment, "SHA256", hashlib.sha256(data).hexdigest())
    sentences, labels = umich_sentiment.load_data()
    assert sentences == ["I love it.", "I hate it."] and labels.tolist() == [1, 0]
    assert (online / "umich-sentiment-train.txt").read_bytes() == data


def test_umich_download_with_a_wrong_digest_leaves_nothing(server, online, monkeypatch):
    root, url, _ = server
    (root / "training.txt").write_bytes(b"1\tchanged\n")
    monkeypatch.setattr(umich_sentiment, "URL", f"{url}/training.txt")
    with pytest.raises(_download.ChecksumError):
        umich_sentiment.load_data()
    assert list(online.iterdir()) == []


def test_missing_offline_file_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path))
    for loader, name in ((umich_sentiment.load_data, "umich-sentiment-train.txt"),
                         (alice.load_data, "alice_in_wonderland.txt"),
                         (treebank.load_data, "treebank.zip")):
        with pytest.raises(FileNotFoundError, match=name):
            loader()


# ---------------------------------------------------------------- alice

def test_alice_offline_gives_the_books_42_characters():
    text = alice.load_data()
    assert text.startswith("CHAPTER I. Down the Rabbit-Hole\n") and "\r" not in text and "\ufeff" not in text
    # E6.1's preprocessing: strip, lower-case, ASCII only, skip empty lines, join with spaces.
    lines = [line.strip().lower().encode("ascii", "ignore").decode("ascii") for line in text.split("\n")]
    joined = " ".join(line for line in lines if line)
    assert len(joined) == 142_554 and len(set(joined)) == 42


def test_alice_download_strips_the_gutenberg_licence(server, online, monkeypatch):
    root, url, _ = server
    book = ("\ufeffThe Project Gutenberg eBook\r\n*** START OF THE PROJECT GUTENBERG EBOOK ALICE ***\r\n\r\n"
            "CHAPTER I.\r\nAlice was\r\n\r\n*** END OF THE PROJECT GUTENBERG EBOOK ALICE ***\r\nlicence\r\n")
    (root / "11-0.txt").write_bytes(book.encode("utf-8"))
    monkeypatch.setattr(alice, "URL", f"{url}/11-0.txt")
    assert alice.load_data() == "CHAPTER I.\nAlice was"
    assert (online / "alice_in_wonderland.txt").is_file()


def test_alice_download_that_is_not_a_gutenberg_text_is_refused(server, online, monkeypatch):
    root, url, _ = server
    (root / "11-0.txt").write_bytes(b"<html>login</html>")
    monkeypatch.setattr(alice, "URL", f"{url}/11-0.txt")
    with pytest.raises(ValueError, match="START OF"):
        alice.load_data()


# ---------------------------------------------------------------- text8

def test_text8_offline_subset():
    text = text8.load_data()
    words = text.split()
    assert 500_000 < len(words) < 510_000
    assert set(text) <= set("abcdefghijklmnopqrstuvwxyz ")
    assert words[:3] == ["anarchism", "is", "a"]


def test_text8_download_reads_the_zip(server, online, monkeypatch):
    root, url, _ = server
    with zipfile.ZipFile(root / "text8.zip", "w") as z:
        z.writestr("text8", " the quick brown fox")
    monkeypatch.setattr(text8, "URL", f"{url}/text8.zip")
    assert text8.load_data() == "the quick brown fox"


# ---------------------------------------------------------------- electricity

def test_electricity_offline_first_1000_readings():
    data = electricity.load_data()
    assert data.shape == (1000,) and data.dtype == np.float64
    assert data.min() == pytest.approx(36.5045430251203) and data.max() == pytest.approx(135.734901122394)
    with pytest.raises(ValueError, match="only customer 250"):
        electricity.load_data(customer=3)


def test_electricity_download_parses_the_books_column(server, online, monkeypatch):
    root, url, _ = server
    header = '"";' + ";".join(f'"MT_{i:03d}"' for i in range(1, 371))
    rows = [f'"2011-01-01 00:{m:02d}:00";' + ";".join("0" if c != 250 else f"{m},5" for c in range(370))
            for m in (15, 30, 45)]
    payload = io.BytesIO()
    with zipfile.ZipFile(payload, "w") as z:
        z.writestr("LD2011_2014.txt", "\n".join([header] + rows) + "\n")
    (root / "ld.zip").write_bytes(payload.getvalue())
    monkeypatch.setattr(electricity, "URL", f"{url}/ld.zip")
    monkeypatch.setattr(electricity, "MD5", hashlib.md5(payload.getvalue()).hexdigest())
    assert electricity.load_data().tolist() == [15.5, 30.5, 45.5]
    assert (online / "LD_250.npy").is_file()
    (root / "ld.zip").unlink()  # the extracted column is cached: no second download
    assert electricity.load_data().tolist() == [15.5, 30.5, 45.5]


# ---------------------------------------------------------------- air quality

def test_air_quality_offline_keeps_the_missing_markers():
    names, values, stamps = air_quality.load_data()
    assert values.shape == (9357, 13) and len(stamps) == 9357 and len(names) == 13
    assert names[3] == "C6H6(GT)" and names[0] == "CO(GT)" and names[-1] == "AH"
    assert stamps[0] == "10/03/2004 18.00.00"
    assert values[0, :4].tolist() == [2.6, 1360.0, 150.0, 11.9]
    assert (values == air_quality.MISSING).any() and np.isfinite(values).all()


def test_air_quality_parse_skips_empty_rows():
    text = "Date;Time;A;B;;\r\n10/03/2004;18.00.00;2,5;-200;;\r\n;;;;;\r\n"
    names, values, stamps = air_quality.parse(text)
    assert names == ["A", "B"] and values.tolist() == [[2.5, -200.0]] and stamps == ["10/03/2004 18.00.00"]


# ---------------------------------------------------------------- bAbI

def test_babi_task1_offline():
    train, test = babi.load_data()
    assert sum(a is not None for _, _, a, _ in train) == 10_000
    assert sum(a is not None for _, _, a, _ in test) == 1_000
    assert train[0] == (1, "Mary moved to the bathroom.", None, [])
    assert train[2] == (3, "Where is Mary?", "bathroom", [1])


def test_babi_download_reads_the_archive(server, online, monkeypatch):
    root, url, _ = server
    with tarfile.open(root / "babi.tar.gz", "w:gz") as tar:
        for split, body in (("train", b"1 A is here.\n2 Where is A? \there\t1\n"), ("test", b"1 B.\n")):
            info = tarfile.TarInfo(f"tasks_1-20_v1-2/en-10k/qa1_single-supporting-fact_{split}.txt")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    monkeypatch.setattr(babi, "URL", f"{url}/babi.tar.gz")
    train, test = babi.load_data()
    assert train == [(1, "A is here.", None, []), (2, "Where is A?", "here", [1])] and test == [(1, "B.", None, [])]
    with pytest.raises(ValueError, match="en-1k"):
        babi.load_data(variant="en-1k")


# ---------------------------------------------------------------- reuters

def test_reuters_offline_documents():
    docs = reuters.load_data()
    assert len(docs) == 21_578
    assert docs[0]["newid"] == 1 and docs[0]["title"] == "BAHIA COCOA REVIEW" and docs[0]["topics"] == ["cocoa"]
    assert sum(1 for d in docs if d["topics"]) == 11_367
    assert not any("&lt;" in d["body"] or "\x03" in d["body"] for d in docs)


def test_reuters_parse_sgm():
    sgm = ('<REUTERS TOPICS="YES" NEWID="7">\n<TOPICS><D>earn</D><D>acq</D></TOPICS>\n<TEXT>'
           '<TITLE>A &amp; B</TITLE><BODY>Profit &lt;up&gt;.\n\x03</BODY></TEXT>\n</REUTERS>\n'
           '<REUTERS NEWID="8"><TOPICS></TOPICS><TEXT>no body</TEXT></REUTERS>')
    assert reuters.parse_sgm(sgm) == [
        {"newid": 7, "topics": ["earn", "acq"], "title": "A & B", "body": "Profit <up>."},
        {"newid": 8, "topics": [], "title": "", "body": ""}]


# ---------------------------------------------------------------- treebank

def test_treebank_offline_matches_the_books_counts():
    sents = treebank.load_data()
    assert len(sents) == 3914
    assert sents[0][:3] == [("Pierre", "NNP"), ("Vinken", "NNP"), (",", ",")]
    # E6.3's preprocessing: drop -NONE-, lower-case words and tags.
    clean = [[(w.lower(), t.lower()) for w, t in s if t != "-NONE-"] for s in sents]
    assert len({w for s in clean for w, _ in s}) == 10_947
    assert len({t for s in clean for _, t in s}) == 45
    assert max(len(s) for s in clean) == 249


def test_treebank_parse_mrg():
    mrg = "( (S (NP-SBJ (NNP Pierre) (-NONE- *-1)) (VP (VBZ is) (ADJP (JJ old))) (. .)) )\n( (X (CD 1)) )"
    assert treebank.parse_mrg(mrg) == [[("Pierre", "NNP"), ("*-1", "-NONE-"), ("is", "VBZ"), ("old", "JJ"),
                                        (".", ".")], [("1", "CD")]]
    with pytest.raises(ValueError, match="unbalanced"):
        treebank.parse_mrg("( (S (NN a) )")
