"""arena.preprocessing behaves as Keras 2's keras.preprocessing.

Keras' outputs were recorded from Keras-Preprocessing 1.1.2 by
tests/fixtures/preprocessing/record_fixtures.py into keras_preprocessing.json.
"""
import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

from arena.preprocessing import sequence as S
from arena.preprocessing import text as T
from arena.preprocessing.sequence import TimeseriesGenerator, make_sampling_table, pad_sequences, skipgrams
from arena.preprocessing.text import Tokenizer, hashing_trick, one_hot, text_to_word_sequence, tokenizer_from_json

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "preprocessing", "keras_preprocessing.json")
with open(FIXTURE) as _f:
    K = json.load(_f)
INPUTS = K["inputs"]
MODES = ("binary", "count", "tfidf", "freq")


def as_array(rec):
    return np.array(rec["data"], dtype=rec["dtype"]).reshape(rec["shape"])


def assert_array_matches(actual, rec):
    expected = as_array(rec)
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    if expected.dtype.kind == "f":  # np.log may differ in the last bit between numpy builds (Keras' was numpy 1.26)
        np.testing.assert_allclose(actual, expected, rtol=1e-14, atol=0)
    else:
        np.testing.assert_array_equal(actual, expected)


def fitted(kwargs):
    tok = Tokenizer(**kwargs)
    tok.fit_on_texts(INPUTS["fit_texts"])
    return tok


# ---------------------------------------------------------------- text: functions

@pytest.mark.parametrize("case", K["text_to_word_sequence"], ids=lambda c: repr(c["text"])[:20])
def test_text_to_word_sequence_matches_keras(case):
    assert text_to_word_sequence(case["text"], **case["kwargs"]) == case["result"]


@pytest.mark.parametrize("case", K["hashing_trick_md5"], ids=lambda c: f"n{c['n']}")
def test_hashing_trick_md5_matches_keras_and_is_stable(case):
    assert hashing_trick(case["text"], case["n"], hash_function="md5") == case["result"]


def test_md5_hashing_is_the_same_in_another_process():
    code = "from arena.preprocessing.text import hashing_trick; print(hashing_trick('the cat sat', 97, 'md5'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout
    assert out.strip() == str(hashing_trick("the cat sat", 97, "md5"))


def test_one_hot_maps_equal_words_to_equal_indices_in_1_to_n_minus_1():
    ids = one_hot("The cat. the CAT, a dog", 5)
    assert len(ids) == 6 and all(1 <= i <= 4 for i in ids)
    assert ids[0] == ids[2] and ids[1] == ids[3]
    assert one_hot("a b", 5) == hashing_trick("a b", 5, hash_function=hash)


def test_hashing_trick_accepts_a_callable():
    assert hashing_trick("a bb ccc", 10, hash_function=len) == [2, 3, 4]


# ---------------------------------------------------------------- text: Tokenizer

@pytest.mark.parametrize("case", K["tokenizers"], ids=lambda c: json.dumps(c["kwargs"]))
def test_tokenizer_vocabulary_matches_keras(case):
    tok = fitted(case["kwargs"])
    assert tok.word_index == case["word_index"]
    assert {str(k): v for k, v in tok.index_word.items()} == case["index_word"]
    assert [list(kv) for kv in tok.word_counts.items()] == case["word_counts"]  # order included
    assert dict(tok.word_docs) == case["word_docs"]
    assert {str(k): v for k, v in tok.index_docs.items()} == case["index_docs"]
    assert tok.document_count == case["document_count"]


@pytest.mark.parametrize("case", K["tokenizers"], ids=lambda c: json.dumps(c["kwargs"]))
def test_tokenizer_conversions_match_keras(case):
    tok = fitted(case["kwargs"])
    assert tok.texts_to_sequences(INPUTS["query_texts"]) == case["texts_to_sequences"]
    assert list(tok.texts_to_sequences_generator(INPUTS["query_texts"])) == case["texts_to_sequences"]
    assert tok.sequences_to_texts(INPUTS["query_sequences"]) == case["sequences_to_texts"]
    for mode in MODES:
        assert_array_matches(tok.texts_to_matrix(INPUTS["query_texts"], mode=mode), case["texts_to_matrix"][mode])
    tok.fit_on_sequences(INPUTS["query_sequences"])
    after = case["after_fit_on_sequences"]
    assert tok.document_count == after["document_count"]
    for mode in MODES:
        assert_array_matches(tok.sequences_to_matrix(INPUTS["query_sequences"], mode=mode),
                             after["sequences_to_matrix"][mode])


@pytest.mark.parametrize("case", K["tokenizers"], ids=lambda c: json.dumps(c["kwargs"]))
def test_tokenizer_json_is_keras_format_both_ways(case):
    tok = fitted(case["kwargs"])
    ours, theirs = json.loads(tok.to_json()), json.loads(case["to_json"])
    assert ours["class_name"] == theirs["class_name"] == "Tokenizer"
    for key, value in theirs["config"].items():
        mine = ours["config"][key]
        assert (json.loads(mine) if isinstance(value, str) and key.startswith(("word_", "index_")) else mine) == \
            (json.loads(value) if isinstance(value, str) and key.startswith(("word_", "index_")) else value), key
    assert set(ours["config"]) == set(theirs["config"])
    for restored in (tokenizer_from_json(case["to_json"]), tokenizer_from_json(tok.to_json())):
        assert restored.word_index == case["word_index"]
        assert restored.texts_to_sequences(INPUTS["query_texts"]) == case["texts_to_sequences"]
        assert restored.sequences_to_texts(INPUTS["query_sequences"]) == case["sequences_to_texts"]
        assert_array_matches(restored.texts_to_matrix(INPUTS["query_texts"], mode="tfidf"),
                             case["texts_to_matrix"]["tfidf"])


def test_tokenizer_takes_lists_of_tokens_like_keras():
    rec = K["tokenizer_misc"]["token_lists"]
    tok = Tokenizer()
    tok.fit_on_texts(INPUTS["token_list_texts"])
    assert tok.word_index == rec["word_index"]
    assert tok.texts_to_sequences(INPUTS["token_list_texts"]) == rec["texts_to_sequences"]


def test_sequences_to_matrix_after_fit_on_sequences_only_matches_keras():
    tok = Tokenizer(num_words=8)
    tok.fit_on_sequences(INPUTS["query_sequences"])
    for mode in MODES:
        assert_array_matches(tok.sequences_to_matrix(INPUTS["query_sequences"], mode=mode),
                             K["tokenizer_misc"]["fit_on_sequences_only"][mode])


def test_fitting_twice_accumulates_like_keras():
    rec = K["tokenizer_misc"]["two_fits"]
    tok = Tokenizer(oov_token="<OOV>")
    tok.fit_on_texts(INPUTS["fit_texts"][:2])
    tok.fit_on_texts(iter(INPUTS["fit_texts"][2:]))  # a generator works too
    assert tok.word_index == rec["word_index"] and tok.document_count == rec["document_count"]
    assert_array_matches(tok.texts_to_matrix(INPUTS["query_texts"], mode="tfidf"), rec["tfidf"])


def test_umich_vocabulary_matches_keras_on_the_real_file():
    rec = K["umich"]
    path = os.path.join(os.environ["ARENA_DATA_DIR"], "umich-sentiment-train.txt")
    if not os.path.exists(path):
        pytest.skip(f"{path} not available")
    with open(path, encoding="utf-8") as f:
        sentences = [line.rstrip("\n").split("\t", 1)[1] for line in f if line.strip()]
    assert len(sentences) == rec["n_sentences"] == 7086
    tok = Tokenizer()
    tok.fit_on_texts(sentences)
    assert tok.document_count == rec["document_count"]
    assert len(tok.word_index) == rec["vocabulary_size"]
    assert sorted(tok.word_index.items(), key=lambda kv: kv[1])[:30] == [tuple(p) for p in rec["first_30"]]
    assert {w: tok.word_index.get(w) for w in rec["probes"]} == rec["probes"]
    assert {w: tok.word_counts.get(w) for w in rec["probe_counts"]} == rec["probe_counts"]
    import hashlib
    assert hashlib.sha256(json.dumps(tok.word_index, sort_keys=True).encode()).hexdigest() == \
        rec["word_index_sha256"]
    top = Tokenizer(num_words=2000)
    top.fit_on_texts(sentences)
    assert top.texts_to_sequences(sentences[:3]) == rec["num_words_2000_first_3"]
    assert sum(len(s) for s in top.texts_to_sequences(sentences)) == rec["num_words_2000_lengths_sum"]


# ---------------------------------------------------------------- text: bad input

def test_matrix_before_fit_asks_for_num_words_or_fit():
    with pytest.raises(ValueError, match="num_words"):
        Tokenizer().texts_to_matrix(["a b"])
    with pytest.raises(ValueError, match="num_words"):
        Tokenizer().sequences_to_matrix([[1]])
    with pytest.raises(ValueError, match="tfidf"):
        Tokenizer(num_words=3).sequences_to_matrix([[1]], mode="tfidf")
    assert Tokenizer(num_words=3).sequences_to_matrix([[1, 2, 7]]).tolist() == [[0.0, 1.0, 1.0]]


def test_unknown_matrix_mode_names_mode():
    tok = fitted({})
    for call in (lambda: tok.texts_to_matrix(["the"], mode="tf"), lambda: tok.sequences_to_matrix([[]], mode="tf")):
        with pytest.raises(ValueError, match="`mode` 'tf'"):
            call()


def test_tokenizer_rejects_bad_arguments():
    with pytest.raises(TypeError, match="unrecognized keyword"):
        Tokenizer(num_wrds=3)
    with pytest.raises(ValueError, match="num_words"):
        Tokenizer(num_words=-1)
    with pytest.raises(ValueError, match="split"):
        Tokenizer(split="")
    with pytest.raises(TypeError, match="`texts` must be a list"):
        Tokenizer().fit_on_texts("a single string")
    with pytest.raises(TypeError, match="string or a list of tokens"):
        Tokenizer().fit_on_texts([3])
    with pytest.raises(TypeError, match="`text` must be a string"):
        text_to_word_sequence(None)
    with pytest.raises(ValueError, match="`n`"):
        hashing_trick("a", 1)
    with pytest.raises(ValueError, match="hash_function"):
        hashing_trick("a", 5, hash_function="sha1")


def test_tokenizer_from_json_rejects_bad_json_clearly():
    with pytest.raises(ValueError, match="not valid JSON"):
        tokenizer_from_json("{nope")
    with pytest.raises(ValueError, match="'config'"):
        tokenizer_from_json("[1, 2]")
    with pytest.raises(ValueError, match="class_name"):
        tokenizer_from_json(json.dumps({"class_name": "Other", "config": {}}))
    with pytest.raises(ValueError, match="unknown config keys"):
        tokenizer_from_json(json.dumps({"class_name": "Tokenizer", "config": {"__reduce__": 1}}))


def test_nb_words_is_the_legacy_name_of_num_words():
    with pytest.warns(UserWarning, match="num_words"):
        assert Tokenizer(nb_words=7).num_words == 7


# ---------------------------------------------------------------- sequence: pad_sequences

@pytest.mark.parametrize("case", K["pad_sequences"], ids=lambda c: json.dumps(c["kwargs"]))
def test_pad_sequences_matches_keras(case):
    assert_array_matches(pad_sequences(case["sequences"], **case["kwargs"]), case["result"])


def test_pad_sequences_accepts_numpy_rows_and_zero_maxlen():
    out = pad_sequences([np.array([1, 2, 3]), np.array([4])], maxlen=2, padding="post")
    assert out.tolist() == [[2, 3], [4, 0]]
    assert pad_sequences([[1, 2], [3]], maxlen=0).shape == (2, 0)
    assert pad_sequences([]).shape == (0, 0)


@pytest.mark.parametrize("kwargs, match", [
    ({"padding": "middle"}, "`padding` must be 'pre' or 'post'"),
    ({"truncating": "both"}, "`truncating` must be 'pre' or 'post'"),
    ({"maxlen": -1}, "`maxlen` must be None or a non-negative integer"),
    ({"maxlen": 2.5}, "`maxlen`"),
    ({"value": "PAD"}, "`dtype` int32 is not compatible"),
])
def test_pad_sequences_bad_options_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pad_sequences([[1, 2, 3]], **kwargs)


@pytest.mark.parametrize("sequences, match", [
    (5, "`sequences` must be a list of sequences"),
    ("abc", "`sequences` must be a list of sequences"),
    ([[1, 2], 3], "element 1 is int"),
    ([[[1, 2]], [[1, 2, 3]]], "shape of sample"),
])
def test_pad_sequences_bad_sequences_are_named(sequences, match):
    with pytest.raises(ValueError, match=match):
        pad_sequences(sequences)


# ---------------------------------------------------------------- sequence: sampling table, skipgrams

@pytest.mark.parametrize("case", K["make_sampling_table"], ids=lambda c: f"{c['size']}-{c['sampling_factor']}")
def test_make_sampling_table_matches_keras(case):
    assert_array_matches(make_sampling_table(case["size"], case["sampling_factor"]), case["result"])


SG = K["skipgrams"]


def _skip_kwargs(case):
    kw = {k: v for k, v in case.items() if k != "global_seed"}
    if "sampling_table" in kw:
        kw["sampling_table"] = make_sampling_table(*kw["sampling_table"])
    return kw


@pytest.mark.parametrize("case", SG["exact"], ids=lambda c: json.dumps(c["kwargs"]))
def test_skipgrams_positive_couples_and_seeded_shuffle_match_keras(case):
    couples, labels = skipgrams(SG["sequence"], SG["vocabulary_size"], **case["kwargs"])
    assert couples == case["couples"] and labels == case["labels"]


@pytest.mark.parametrize("case", SG["global_seeded"], ids=lambda c: json.dumps(c["kwargs"]))
def test_skipgrams_without_seed_draw_keras_stream_from_global_random(case):
    random.seed(case["kwargs"]["global_seed"])
    couples, labels = skipgrams(SG["sequence"], SG["vocabulary_size"], **_skip_kwargs(case["kwargs"]))
    assert couples == case["couples"] and labels == case["labels"]


def _positive_and_negative(couples, labels):
    pos = [tuple(c) for c, lab in zip(couples, labels) if lab in (1, [0, 1])]
    neg = [tuple(c) for c, lab in zip(couples, labels) if lab in (0, [1, 0])]
    assert len(pos) + len(neg) == len(couples) == len(labels)
    return pos, neg


@pytest.mark.parametrize("case", SG["seeded"], ids=lambda c: json.dumps(c["kwargs"]))
def test_seeded_skipgrams_agree_with_keras_on_what_the_seed_does_not_decide(case):
    kw = case["kwargs"]
    couples, labels = skipgrams(SG["sequence"], SG["vocabulary_size"], **kw)
    assert (couples, labels) == skipgrams(SG["sequence"], SG["vocabulary_size"], **kw)  # reproducible
    pos, neg = _positive_and_negative(couples, labels)
    k_pos, k_neg = _positive_and_negative(case["couples"], case["labels"])
    assert sorted(pos) == sorted(k_pos)
    assert len(neg) == len(k_neg) == int(len(pos) * kw["negative_samples"])
    assert {w for w, _ in neg} <= {w for w, _ in pos}
    assert all(1 <= c < SG["vocabulary_size"] for _, c in neg)


def test_book_e51_skipgrams_give_56_couples_half_negative():
    rec = SG["e51"]
    tok = Tokenizer()
    tok.fit_on_texts([rec["text"]])
    assert tok.word_index == rec["word_index"]
    ids = tok.texts_to_sequences([rec["text"]])[0]
    assert ids == rec["ids"]
    couples, labels = skipgrams(ids, vocabulary_size=len(tok.word_index), seed=1)
    assert len(couples) == len(rec["couples"]) == 56 and sum(labels) == sum(rec["labels"]) == 28
    pos, neg = _positive_and_negative(couples, labels)
    assert sorted(pos) == sorted(_positive_and_negative(rec["couples"], rec["labels"])[0])
    assert all(1 <= c <= 5 for _, c in neg)  # book hazard: the last id (6) is never a negative


def test_skipgrams_sampling_table_with_probability_one_keeps_every_word():
    table = np.ones(7)
    assert skipgrams(SG["sequence"], 7, negative_samples=0.0, shuffle=False, sampling_table=table) == \
        skipgrams(SG["sequence"], 7, negative_samples=0.0, shuffle=False)
    assert skipgrams(SG["sequence"], 7, sampling_table=np.zeros(7), seed=0) == ([], [])


@pytest.mark.parametrize("kwargs, match", [
    ({"sequence": "abc"}, "`sequence`"),
    ({"vocabulary_size": 1}, "`vocabulary_size`"),
    ({"window_size": -1}, "`window_size`"),
    ({"negative_samples": -0.5}, "`negative_samples`"),
    ({"sampling_table": np.ones(3)}, "`sampling_table`"),
])
def test_skipgrams_bad_arguments_are_named(kwargs, match):
    args = {"sequence": [1, 2, 3], "vocabulary_size": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        skipgrams(**args)


def test_make_sampling_table_rejects_bad_size():
    with pytest.raises(ValueError, match="`size`"):
        make_sampling_table(0)


# ---------------------------------------------------------------- sequence: TimeseriesGenerator

TS = K["timeseries"]


@pytest.mark.parametrize("case", TS["cases"], ids=lambda c: json.dumps(c["kwargs"]))
def test_timeseries_generator_batches_match_keras(case):
    gen = TimeseriesGenerator(as_array(TS["data"]), as_array(TS["targets"]), **case["kwargs"])
    assert len(gen) == case["len"]
    for i, (x, y) in enumerate(case["batches"]):
        gx, gy = gen[i]
        assert_array_matches(gx, x)
        assert_array_matches(gy, y)
    assert len(list(gen)) == len(gen)  # iteration stops at the end (IndexError)
    assert_array_matches(gen[-1][0], case["batches"][-1][0])


def test_shuffled_timeseries_generator_draws_keras_rows_from_np_random():
    rec = TS["shuffle"]
    kw = {k: v for k, v in rec["case"].items() if k not in ("np_seed", "n_batches")}
    gen = TimeseriesGenerator(as_array(TS["data"]), as_array(TS["targets"]), **kw)
    assert len(gen) == rec["len"]
    np.random.seed(rec["case"]["np_seed"])
    for i, (x, y) in enumerate(rec["batches"]):
        gx, gy = gen[i]
        assert_array_matches(gx, x)
        assert_array_matches(gy, y)


def test_timeseries_generator_is_a_sequence():
    from arena.utils import Sequence
    gen = TimeseriesGenerator(np.arange(10), np.arange(10), length=2, batch_size=3)
    assert isinstance(gen, Sequence)
    assert callable(gen.on_epoch_end) and gen.on_epoch_end() is None
    with pytest.raises(IndexError):
        gen[len(gen)]


@pytest.mark.parametrize("kwargs, match", [
    ({"targets": np.arange(9)}, "same length"),
    ({"length": 0}, "`length`"),
    ({"sampling_rate": 0}, "`sampling_rate`"),
    ({"stride": 1.5}, "`stride`"),
    ({"batch_size": 0}, "`batch_size`"),
    ({"start_index": 8}, "start_index\\+length=10 > end_index=9"),
    ({"end_index": 1}, "end_index=1"),
])
def test_timeseries_generator_bad_arguments_are_named(kwargs, match):
    args = {"data": np.arange(10), "targets": np.arange(10), "length": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        TimeseriesGenerator(**args)


def test_package_exports():
    import arena.preprocessing as P
    assert P.text is T and P.sequence is S
    assert P.Tokenizer is Tokenizer and P.pad_sequences is pad_sequences
