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
