"""Sample-quality scores on inputs whose values are known in closed form, and the callbacks that
watch a GAN's samples."""
import numpy as np
import pytest

from arena.callbacks import SampleGrid, SampleQuality, TensorBoard
from arena.callbacks.samples import image_grid
from arena.nn import GAN, Dense, Sequential
from arena.nn import sample_quality as sq
from arena.nn.optimizers import Adam

K = 4


def perfect_classifier():
    """Inputs are one-hot class codes; a sharp softmax over them is (numerically) the true label."""
    m = Sequential([Dense(K, activation="softmax", use_bias=False, input_shape=(K,))], name="oracle")
    m.set_weights([60.0 * np.eye(K, dtype="float32")])
    return m


def test_a_perfect_classifier_on_balanced_data_scores_the_class_count(fresh_session):
    x = np.eye(K, dtype="float32")[np.arange(400) % K]
    assert sq.inception_score(x, perfect_classifier()) == pytest.approx(K, rel=1e-6)
    # Unbalanced shares p: exp(entropy of p).
    labels = np.repeat(np.arange(K), [10, 20, 30, 40])
    p = np.array([0.1, 0.2, 0.3, 0.4])
    assert sq.inception_score(np.eye(K, dtype="float32")[labels], perfect_classifier()) == pytest.approx(
        np.exp(-(p * np.log(p)).sum()), rel=1e-6)
    np.testing.assert_allclose(sq.class_shares(np.eye(K, dtype="float32")[labels], perfect_classifier()), p)
    assert sq.inception_score(x, perfect_classifier(), splits=4) == pytest.approx(K, rel=1e-6)


def test_a_constant_generator_scores_one(fresh_session):
    same = np.tile(np.array([[0.3, 0.1, 0.5, 0.2]], "float32"), (100, 1))
    assert sq.inception_score(same, perfect_classifier()) == pytest.approx(1.0, abs=1e-9)


def test_frechet_distance_matches_the_closed_form(fresh_session):
    rng = np.random.default_rng(0)
    real = rng.normal(size=(500, K)).astype("float32")
    fake = (rng.normal(size=(400, K)) @ rng.normal(size=(K, K)) + 0.7).astype("float32")
    # The oracle's penultimate features are its inputs, so the closed form applies to x directly.
    mu_r, mu_f = real.mean(0).astype(np.float64), fake.mean(0).astype(np.float64)
    s_r, s_f = np.cov(real.astype(np.float64), rowvar=False), np.cov(fake.astype(np.float64), rowvar=False)
    w, v = np.linalg.eig(s_r @ s_f)
    want = np.sum((mu_r - mu_f) ** 2) + np.trace(s_r) + np.trace(s_f) - 2 * np.sum(np.sqrt(w.real.clip(0)))
    assert sq.frechet_distance(real, fake, perfect_classifier()) == pytest.approx(want, rel=1e-5)
    assert sq.frechet_distance(real, real[::-1], perfect_classifier()) == pytest.approx(0.0, abs=1e-6)
    assert sq.frechet_from_features(real, real + 1.0) == pytest.approx(K, rel=1e-6)  # a shift by 1 in each of K dims


def test_scores_refuse_what_is_not_a_classifier(fresh_session):
    logits = Sequential([Dense(K, input_shape=(K,))], name="logits")
    with pytest.raises(ValueError, match="are not probabilities.*end it with a softmax"):
        sq.inception_score(np.ones((4, K), "float32"), logits)
    with pytest.raises(ValueError, match="features must be \\(n, d\\) with the same d"):
        sq.frechet_from_features(np.ones((4, 2)), np.ones((4, 3)))


def test_image_grid_layout():
    images = np.stack([np.full((2, 3), v) for v in (-1.0, 0.0, 1.0)])
    grid = image_grid(images, rows=2, value_range=(-1, 1), pad=1)
    assert grid.shape == (5, 7, 1) and grid.dtype == np.uint8
    assert grid[0, 0, 0] == 0 and grid[0, 4, 0] == 128 and grid[3, 0, 0] == 255 and grid[2, 0, 0] == 255


def test_callbacks_watch_a_gan(fresh_session, tmp_path):
    """SampleQuality's scores reach the History and the CSV; SampleGrid writes PNGs and a TensorBoard image."""
    from PIL import Image
    from arena.callbacks import CSVLogger
    g = Sequential([Dense(K, activation="softmax", input_shape=(3,))], name="gen")
    d = Sequential([Dense(8, activation="relu", input_shape=(K,)), Dense(1, activation="sigmoid")], name="disc")
    gan = GAN(g, d)
    gan.compile(Adam(1e-2), Adam(1e-2))
    real = np.eye(K, dtype="float32")[np.arange(256) % K]
    quality = SampleQuality(real, perfect_classifier(), n=200, verbose=0)
    assert quality.reference["inception_score"] == pytest.approx(K, rel=1e-6)
    board = TensorBoard(str(tmp_path / "tb"))
    grid = SampleGrid(str(tmp_path / "s-{epoch:02d}.png"), n=6, rows=2, value_range=(0, 1), tensorboard=board)
    h = gan.fit(real, epochs=2, batch_size=64, verbose=0,
                callbacks=[quality, grid, CSVLogger(str(tmp_path / "log.csv")), board])
    assert all(1.0 <= s <= K for s in h.history["inception_score"]) and len(h.history["frechet_distance"]) == 2
    assert "inception_score" in (tmp_path / "log.csv").read_text().splitlines()[0]
    assert [p.rsplit("/", 1)[-1] for p in grid.written] == ["s-01.png", "s-02.png"]
    assert Image.open(grid.written[0]).size == (3 * K + 2, 2 * 1 + 1)  # 6 samples of 1 x 4 in 2 rows of 3
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(tmp_path / "tb" / "train"))
    acc.Reload()
    assert len(acc.Images("samples")) == 2
