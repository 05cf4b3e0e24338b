"""The `arena` command end to end: train, resume, evaluate, watch --record, plot, and its errors."""
import os

import h5py
import imageio.v2 as imageio
import pytest

from arena.cli import main
from arena.nn import Sequential
from arena.nn.layers import Dense


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    out = str(run / "agent.h5")
    rc = main(["train", "catch", "--preset", "state", "--games", "200", "--games-per-epoch", "100",
               "--logdir", str(run), "--out", out, "--verbose", "0"])
    assert rc == 0
    return run, out


def test_train_writes_checkpoint_logs_and_csv(trained):
    run, out = trained
    assert os.path.exists(out)
    assert os.path.exists(run / "progress.csv")
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(run))
    with h5py.File(out) as f:
        assert "model_config" in f.attrs and "agent" in f


def test_resume_continues_the_run(trained, capsys):
    run, out = trained
    rc = main(["train", "catch", "--preset", "state", "--games", "300", "--games-per-epoch", "100",
               "--logdir", str(run), "--out", out, "--resume", "--verbose", "0"])
    assert rc == 0
    assert "Trained 300 games" in capsys.readouterr().out


def test_evaluate_prints_wins_out_of_100(trained, capsys):
    _, out = trained
    assert main(["evaluate", "catch", "--model", out, "--games", "100"]) == 0
    text = capsys.readouterr().out
    assert "wins: " in text and "/100" in text


def test_watch_records_a_gif_headless(trained, tmp_path):
    _, out = trained
    gif = str(tmp_path / "catch.gif")
    assert main(["watch", "catch", "--model", out, "--record", gif, "--games", "1"]) == 0
    frames = imageio.mimread(gif)
    assert len(frames) == 33 and frames[0].shape[:2] == (400, 400)


def test_plot_writes_png(trained, tmp_path):
    run, _ = trained
    png = str(tmp_path / "plot.png")
    assert main(["plot", str(run), "--out", png]) == 0
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_errors_are_clear(tmp_path, capsys):
    assert main(["evaluate", "catch", "--model", str(tmp_path / "nope.h5")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "NoSuchGame-v9", "--timesteps", "10", "--logdir", str(tmp_path)]) == 1
    assert "Unknown game or environment id" in capsys.readouterr().err
    wrong = Sequential([Dense(3, input_shape=(5,))])
    path = str(tmp_path / "wrong.h5")
    wrong.save(path)
    assert main(["evaluate", "catch", "--model", path]) == 1
    assert "takes inputs of shape (5,)" in capsys.readouterr().err
    bad = tmp_path / "corrupt.h5"
    bad.write_bytes(b"not an hdf5 file")
    assert main(["train", "catch", "--preset", "state", "--resume", "--out", str(bad), "--logdir",
                 str(tmp_path), "--games", "10"]) == 1
    assert "corrupt.h5" in capsys.readouterr().err
    assert main(["train", "catch", "--preset", "nope", "--logdir", str(tmp_path)]) == 1
    assert "Unknown catch preset" in capsys.readouterr().err
