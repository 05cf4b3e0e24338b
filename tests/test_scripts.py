"""The book's scripts (scripts/*.py) run and learn: each is called through its ``main(argv)``.

Short runs only (small MNIST subsets, few epochs); the full-length figures are in the scripts'
own output and the project notes.
"""
import os
import sys

import h5py
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from scripts import loss_history, mnist_checkpoint, mnist_lenet, mnist_mlp, or_and, small_data, xor  # noqa: E402


def test_xor_learns_with_the_default_seed(tmp_path):
    predictions = xor.main(["--logdir", str(tmp_path / "logs")])
    assert predictions.tolist() == [0, 1, 1, 0]
    assert any(f.startswith("events") for _, _, files in os.walk(tmp_path / "logs") for f in files)


def test_or_and_reach_100_percent_and_expose_the_kernel(tmp_path):
    results = or_and.main(["--outdir", str(tmp_path), "--logdir", str(tmp_path / "logs")])
    assert results["or"]["accuracy"] == 1.0 and results["or"]["classes"] == [0, 1, 1, 1]
    assert results["and"]["accuracy"] == 1.0 and results["and"]["classes"] == [0, 0, 0, 1]
    for gate in ("or", "and"):
        path = tmp_path / f"{gate}.hdf"
        with h5py.File(path, "r") as f:  # Keras 2's layout, as HDFView shows it
            kernel = f["model_weights/dense_1/dense_1/kernel:0"][()]
            bias = f["model_weights/dense_1/dense_1/bias:0"][()]
        assert kernel.shape == (2, 2) and bias.shape == (2,)
        np.testing.assert_allclose(kernel, results[gate]["kernel"])
        assert results[gate]["by_hand_matches"]


def test_short_mnist_mlp_run_learns(tmp_path, capsys):
    result = mnist_mlp.main(["--version", "v4", "--epochs", "2", "--limit", "12000", "--verbose", "0",
                             "--logdir", str(tmp_path)])
    assert result["test"] > 90.0
    assert 0.0 < result["train"] <= 100.0 and result["val"] > 85.0
    out = capsys.readouterr().out
    assert "97.84" in out  # the book's figure is printed beside the measured one


def test_loss_history_records_one_value_per_batch(tmp_path):
    losses = loss_history.main(["--epochs", "2", "--limit", "1000", "--logdir", str(tmp_path)])
    assert len(losses) == 2 * 8  # ceil(1000 / 128) batches per epoch
    assert all(isinstance(v, float) and np.isfinite(v) for v in losses)
    assert losses[-1] < losses[0]


def test_checkpoint_resume(tmp_path):
    out = tmp_path / "ckpt"
    # 1,280 rows: 1,152 train (9 batches of 128) and 128 validate (validation_split 0.1)
    result = mnist_checkpoint.main(["--epochs", "2", "--stop-after", "1", "--limit", "1280", "--verbose", "0",
                                    "--outdir", str(out), "--logdir", str(tmp_path / "logs")])
    assert sorted(os.listdir(out)) == ["model-01.h5", "model-02.h5"]
    assert result["reloaded_epoch"] == 1 and result["last_epoch"] == 2
    assert result["reloaded_steps"] == 9 and result["final_steps"] == 18  # the step counter carried on
    assert result["reloaded_test"] > 50.0 and result["test"] > 50.0  # chance is 10 %


@pytest.mark.parametrize("module", [mnist_lenet, small_data, mnist_mlp, mnist_checkpoint])
def test_scripts_have_the_common_options(module, capsys):
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--epochs" in text and "--seed" in text and "--logdir" in text


# ---- chapters 5-6: SI650 sentiment (full data, one epoch; the 10/20-epoch figures are in the notes)
def test_umich_sentiment_lstm_one_epoch_learns(tmp_path, capsys):
    from scripts import umich_sentiment_lstm
    result = umich_sentiment_lstm.main(["--epochs", "1", "--verbose", "0", "--logdir", str(tmp_path)])
    assert result["params"] == 305_729  # the book's Embedding(2002, 128) -> LSTM(64) -> Dense(1)
    assert result["maxlen"] == 42 and result["test"] > 90.0
    out = capsys.readouterr().out
    assert "book about 99 %" in out and out.count("\n1\t") + out.count("\n0\t") == 5  # 5 sample sentences
    assert (tmp_path / "curves.png").is_file()


def test_umich_sentiment_embeddings_one_epoch_learns(tmp_path, capsys):
    from scripts import umich_sentiment_embeddings
    result = umich_sentiment_embeddings.main(["--epochs", "1", "--verbose", "0", "--logdir", str(tmp_path)])
    assert result["params"] == 100 * result["vocab"] + 77_570  # book.md's formula for E5.5
    assert result["maxlen"] == 42 and result["test"] > 90.0
    assert "book 98.6 %" in capsys.readouterr().out


def test_sentiment_scripts_have_the_common_options(capsys):
    from scripts import umich_sentiment_embeddings, umich_sentiment_lstm
    for module in (umich_sentiment_lstm, umich_sentiment_embeddings):
        with pytest.raises(SystemExit) as exit_info:
            module.main(["--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
        assert "--epochs" in text and "--seed" in text and "--logdir" in text


def test_econs_stateful_reports_both_rmses(capsys):
    from scripts import econs_stateful
    results = econs_stateful.main(["--epochs", "1", "--verbose", "0"])
    assert set(results) == {"stateless", "stateful"} and all(np.isfinite(r[1]) for r in results.values())
    assert "stateless - stateful RMSE" in capsys.readouterr().out


# ---- chapter 6: Alice character RNN and treebank POS tagging (tiny runs; the full figures are in the notes)
def test_alice_chargen_rnn_generates_and_counts_alice_words(tmp_path, capsys):
    from scripts import alice_chargen_rnn
    result = alice_chargen_rnn.main(["--epochs", "2", "--limit", "2000", "--gen-chars", "30", "--logdir",
                                     str(tmp_path)])
    assert result["params"] == 27_306 and result["distinct"] == 42 and result["chars"] == 142_554
    assert len(result["iterations"]) == 2
    assert result["iterations"][1]["loss"] < result["iterations"][0]["loss"]
    assert all(len(i["text"]) == 30 and 0.0 <= i["share"] <= 1.0 for i in result["iterations"])
    out = capsys.readouterr().out
    assert "Iteration #: 2" in out and "Alice words" in out


def test_alice_word_share_leaves_out_cut_words():
    from scripts import alice_chargen_rnn
    assert alice_chargen_rnn.whole_words("said the q", "ueen to alice and t") == ["to", "alice", "and"]
    vocabulary = alice_chargen_rnn.alice_words("'don't,' said alice; e.g. a t")
    assert {"don't", "said", "alice", "a"} <= vocabulary and "t" not in vocabulary and "e" not in vocabulary


@pytest.mark.parametrize("model", ["gru", "lstm", "bilstm", "modern"])
def test_treebank_pos_models_report_all_steps_and_real_tokens(model, tmp_path, capsys):
    from scripts import treebank_pos
    result = treebank_pos.main(["--model", model, "--epochs", "1", "--limit", "60", "--verbose", "0",
                                "--logdir", str(tmp_path)])
    # 60 sentences hold fewer words and tags than the book's 5,000 / 45, so the counts differ from
    # book.md's; the book's sizes are checked below.
    assert result["params"] > 0 and 0.0 <= result["real_tokens"] <= 100.0 and np.isfinite(result["loss"])
    out = capsys.readouterr().out
    assert "all 250 steps" in out and "real tokens only" in out


def test_treebank_pos_book_parameter_counts():
    from scripts import treebank_pos
    for model, params in treebank_pos.BOOK_PARAMS.items():
        assert treebank_pos.build_model(model, 5002, 46).count_params() == params
    assert treebank_pos.build_model("modern", 4712, 46).count_params() == treebank_pos.modern_params(
        4712, 46, treebank_pos.MODERN_SUFFIXES) == 793_142  # the modern tagger as trained on the full data


def test_treebank_pos_data_matches_the_book():
    from scripts import treebank_pos
    words, tags = treebank_pos.load_sentences()
    x, y, s_vocab, t_vocab, stats = treebank_pos.build_tensors(words, tags)
    assert stats == treebank_pos.BOOK_STATS and (s_vocab, t_vocab) == (5002, 46)
    assert x.shape == (3914, 250) and y.shape == (3914, 250, 46)
    assert np.array_equal(y.sum(-1) > 0, x != 0)  # padded steps have all-zero target rows


# ---- chapter 7: functional API, benzene regression, memory network (tiny runs; full figures in the notes)
def test_functional_api_parameter_counts(capsys):
    from scripts import functional_api
    results = functional_api.main(["--verbose", "0"])
    assert {name: r["params"] for name, r in results.items()} == {
        "sequential": 25_450, "functional": 25_450, "multi": 50_900, "shared": 25_450, "time_distributed": 25_450}
    assert results["multi"]["shapes"] == [(3, 10), (3, 10)]
    assert results["time_distributed"]["shapes"] == [(3, 20, 10)]
    assert results["shared"]["outputs_equal"] and results["time_distributed"]["matches_inner"]
    assert "25,450" in capsys.readouterr().out


def test_air_quality_regression_short_run(tmp_path, capsys):
    from scripts import air_quality_regression
    result = air_quality_regression.main(["--epochs", "1", "--limit", "2000", "--verbose", "0",
                                          "--logdir", str(tmp_path)])
    assert result["params"] == 113 and (result["n_train"], result["n_test"]) == (1400, 600)
    assert all(np.isfinite(result[k]) for k in ("train", "val", "test"))
    assert (tmp_path / "actual_vs_predicted.png").is_file()
    out = capsys.readouterr().out
    assert "0.0016" in out and "Benzene Conc. expected" in out  # the book's val MSE beside ours


def test_air_quality_split_matches_the_book():
    from scripts import air_quality_regression
    (x_train, y_train), (x_test, _), _, names = air_quality_regression.load()
    assert (len(x_train), len(x_test)) == (6549, 2808) and x_train.shape[1] == 12 and y_train.shape[1] == 1
    assert names[3] == "C6H6(GT)"


def test_babi_memnn_short_run(tmp_path, capsys):
    from scripts import babi_memnn
    result = babi_memnn.main(["--epochs", "1", "--limit", "320", "--verbose", "0", "--logdir", str(tmp_path)])
    assert result["params"] == 17_838 and result["vocab"] == 22
    assert (result["story_maxlen"], result["question_maxlen"]) == (14, 4)
    assert 0.0 <= result["test"] <= 100.0 and 0.0 <= result["book_eval"] <= 100.0
    assert (tmp_path / "curves.png").is_file()
    out = capsys.readouterr().out
    assert "> 81" in out and "real test file" in out


def test_babi_story_reset_ceiling():
    from arena.datasets import babi
    from scripts import babi_memnn
    train_lines, test_lines = babi.load_data()
    train, test = babi_memnn.get_data(train_lines), babi_memnn.get_data(test_lines)
    assert (len(train[1]), len(test[1])) == (10_000, 1_000)
    assert all(len(story) == 2 for story in train[0])  # the story resets after every question
    assert round(100 * train[3].mean(), 1) == 74.2 and round(100 * test[3].mean(), 1) == 70.8


def test_chapter7_scripts_have_the_common_options(capsys):
    from scripts import air_quality_regression, babi_memnn, functional_api
    for module in (functional_api, air_quality_regression, babi_memnn):
        with pytest.raises(SystemExit) as exit_info:
            module.main(["--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
        assert "--epochs" in text and "--seed" in text and "--logdir" in text


def test_word_embeddings_reproduces_the_books_counts():
    from scripts import word_embeddings
    measured = word_embeddings.main(["--verbose", "0"])
    assert measured == {"couples": 56, "skipgram_params": 3_000_002, "cbow_params": 3_005_000}


def test_sentence_autoencoder_short_run(tmp_path, capsys):
    from scripts import sentence_autoencoder
    result = sentence_autoencoder.main(["--epochs", "1", "--limit", "64", "--batch-size", "16", "--latent-size", "8",
                                        "--verbose", "0", "--logdir", str(tmp_path)])
    assert (result["n_train"], result["n_test"]) == (45, 19) and result["params"] == 27_376
    assert np.isfinite(result["history"]["loss"][0]) and np.isfinite(result["history"]["val_loss"][0])
    assert len(result["cosines"]) == 19 and np.all(np.abs(result["cosines"]) <= 1.0 + 1e-5)
    assert (tmp_path / "cosine_hist.png").is_file() and (tmp_path / "sent-thoughts-autoencoder.h5").is_file()
    out = capsys.readouterr().out
    assert "embeddings:" in out and "0.9828" in out  # the GloVe-or-random note and the book's cosines


def test_umich_sentiment_glove_modes(tmp_path, monkeypatch, capsys):
    """E5.7-E5.9 on stand-in vectors (the real 50-d GloVe is an optional dependency CI lacks)."""
    from arena.datasets import glove
    from scripts import umich_sentiment_glove

    def fake_matrix(word_index, dim=50, rows=None):
        matrix = np.random.default_rng(0).normal(size=(rows, dim)).astype(np.float32)
        matrix[0] = 0.0
        return matrix, rows - 1
    monkeypatch.setattr(glove, "embedding_matrix", fake_matrix)
    results = umich_sentiment_glove.main(["--epochs", "1", "--verbose", "0", "--logdir", str(tmp_path)])
    assert results["finetune"]["params"] == 50 * results["vocab"] + 39_170
    assert results["frozen"]["params"] == results["finetune"]["params"]
    assert results["summed"]["params"] == 1_698
    assert all(results[m]["test"] > 80.0 for m in ("finetune", "frozen", "summed"))
    out = capsys.readouterr().out
    assert "book 99.1 % with 300-d" in out and "book 96.5 % with 100-d" in out


def test_word2vec_text8_parts():
    """E5.4's pieces on a toy corpus: the vocabulary, the couples and the cosine queries."""
    from scripts import word2vec_text8 as w2v
    words = "the cat sat on the mat the dog sat on the log".split()
    vocab = w2v.vocabulary(words, min_count=2)
    assert vocab == ["the", "sat", "on"]
    ids = [vocab.index(w) + 1 if w in vocab else 0 for w in words]
    w, c, labels = w2v.make_couples(ids, len(vocab) + 1, seed=0, negatives=1.0, subsample=False)
    assert w.dtype == c.dtype == np.int32 and len(w) == len(c) == len(labels) > 0
    assert labels.sum() == len(labels) / 2 and w.min() >= 1 and c.max() <= len(vocab)
    vectors = w2v.Vectors(["a", "b", "c", "d"], np.array([[1.0, 0], [2, 0.1], [0, 1], [-1, 0]]))
    assert vectors.similarity("a", "d") == pytest.approx(-1.0)
    assert [x for x, _ in vectors.most_similar(["a"], topn=3)] == ["b", "c", "d"]
    assert "a" not in [x for x, _ in vectors.most_similar(["b", "c"], ["a"])]


# ---- chapter 4: generative models (tiny runs; the figures are in the scripts' docstrings and the notes) ----
def test_mnist_gan_short_run_scores_and_draws(tmp_path, capsys):
    from scripts import common, mnist_gan
    lenet = common.lenet()  # untrained: the scores only need a classifier with a softmax
    lenet.save(tmp_path / "lenet.h5")
    result = mnist_gan.main(["--limit", "256", "--epochs", "2", "--samples", "100", "--verbose", "0",
                             "--classifier", str(tmp_path / "lenet.h5"), "--logdir", str(tmp_path)])
    assert result["params"] == mnist_gan.BOOK_PARAMS["dcgan"] and len(result["rows"]) == 2
    assert all(1.0 <= r["inception_score"] <= 10.0 and r["frechet_distance"] >= 0 for r in result["rows"])
    assert (tmp_path / "samples-002.png").is_file() and (tmp_path / "gan.h5").is_file()
    assert "goal >= 8.5" in capsys.readouterr().out


def test_book_dcgan_networks_have_the_books_sizes():
    from scripts import mnist_gan
    g, d = mnist_gan.book_networks()
    assert (g.count_params(), d.count_params()) == mnist_gan.BOOK_PARAMS["book"] == (6_763_777, 3_485_441)
    g, d = mnist_gan.pair_networks()
    assert (g.count_params(), d.count_params()) == mnist_gan.BOOK_PARAMS["pair"] == (5_638_145, 9_707_009)


def test_mnist_vae_short_run_writes_its_pictures(tmp_path):
    from scripts import mnist_autoencoders
    result = mnist_autoencoders.main(["--model", "vae", "--limit", "512", "--epochs", "1", "--verbose", "0",
                                      "--logdir", str(tmp_path)])
    assert result["vae"]["params"] == 807_700 and np.isfinite(result["vae"]["test_bce"])
    for name in ("vae_reconstructions.png", "vae_latent_grid.png", "vae_latent_means.png"):
        assert (tmp_path / name).is_file()


def test_cifar10_gan_has_the_books_sizes_and_runs(tmp_path, monkeypatch):
    from arena.datasets import cifar10
    from scripts import cifar10_gan
    rng = np.random.default_rng(0)  # stand-in images: decoding the 60,000 offline JPEGs is not this test's job
    fake = rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8), np.zeros((64, 1), np.uint8)
    monkeypatch.setattr(cifar10, "load_data", lambda: (fake, fake))
    result = cifar10_gan.main(["--epochs", "1", "--limit", "64", "--verbose", "0", "--logdir", str(tmp_path)])
    assert result["params"] == cifar10_gan.BOOK_PARAMS == (1_870_083, 1_035_649)
    assert np.isfinite(result["history"]["d_loss"][0]) and (tmp_path / "samples-001.png").is_file()
