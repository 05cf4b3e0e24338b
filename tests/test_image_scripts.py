"""The image scripts' mechanics on small inputs: the CIFAR-10 chapter (E3.3-E3.6) end to end on a tiny
stand-in data set, deep dreaming (E7.7: each layer's loss rises under gradient ascent) and style
transfer (E7.8: the Gram-matrix style loss against numpy; the total loss falls under descent), both
on a VGG16 with random weights."""
import jax.numpy as jnp
import numpy as np
import pytest

from arena.datasets import cifar10
from scripts import cifar10_cnn, cifar10_predict, deep_dream, style_transfer


@pytest.fixture
def tiny_cifar(monkeypatch):
    """A stand-in for cifar10.load_data: 96 train / 20 test images, class k's pictures tinted by k."""
    r = np.random.default_rng(0)

    def fake(n):
        y = np.arange(n, dtype=np.uint8) % 10
        x = (r.integers(0, 60, size=(n, 32, 32, 3)) + 20 * y[:, None, None, None]).astype(np.uint8)
        return x, y[:, None]
    data = (fake(96), fake(20))
    monkeypatch.setattr(cifar10, "load_data", lambda: data)
    return data


@pytest.mark.parametrize("argv, params", [(["--model", "simple"], 4_200_842), (["--augment", "generator"], None),
                                          (["--augment", "layers"], None)])
def test_cifar10_chapter_trains_saves_and_reloads(tiny_cifar, tmp_path, argv, params):
    result = cifar10_cnn.main(argv + ["--epochs", "1", "--steps", "2", "--logdir", str(tmp_path), "--verbose", "0"])
    assert 0.0 <= result["test"] <= 100.0
    name = "simple" if params else ("augmented" if "generator" in argv else "augmented_layers")
    model = cifar10_predict.load(str(tmp_path), name)
    if params:
        assert model.count_params() == params
    assert len(cifar10_predict.main(["--logdir", str(tmp_path), "--name", name])) == 2


def test_cifar10_best_epoch_and_cosine_schedule(tiny_cifar, tmp_path):
    from arena.nn import load_model
    result = cifar10_cnn.main(["--model", "simple", "--epochs", "2", "--best", "--cosine",
                               "--logdir", str(tmp_path), "--verbose", "0"])
    kept = load_model(str(tmp_path / "simple.h5"))  # the whole model, saved after the best epoch came back
    best = cifar10_predict.load(str(tmp_path), "simple")
    best.load_weights(str(tmp_path / "simple.best.weights.h5"))
    for a, b in zip(kept.get_weights(), best.get_weights()):
        np.testing.assert_array_equal(a, b)
    _, acc = kept.evaluate(tiny_cifar[1][0] / 255.0, np.eye(10)[tiny_cifar[1][1][:, 0]], verbose=0)
    assert result["test"] == pytest.approx(100 * acc)
    with pytest.raises(SystemExit):
        cifar10_cnn.main(["--augment", "layers", "--best", "--logdir", str(tmp_path)])


def test_cifar10_networks_have_the_books_sizes():
    assert cifar10_cnn.build("deep", "none").count_params() == 1_676_842
    augmented = cifar10_cnn.build("deep", "layers")
    assert augmented.count_params() == 1_676_842 and augmented.layers[0].name.startswith("random_translation")


def test_cifar10_predict_takes_image_files(tiny_cifar, tmp_path):
    from arena.preprocessing.image import save_img
    cifar10_cnn.main(["--epochs", "1", "--logdir", str(tmp_path), "--verbose", "0"])
    path = tmp_path / "picture.png"
    save_img(str(path), np.random.default_rng(1).integers(0, 255, size=(40, 50, 3)).astype(np.float32))
    (label,) = cifar10_predict.main([str(path), "--logdir", str(tmp_path)])
    assert label in cifar10.CLASSES


def test_deep_dream_losses_rise(tmp_path):
    results = deep_dream.main(["--size", "32", "--steps", "3", "--step-size", "20", "--logdir", str(tmp_path)])
    assert set(results) == set(deep_dream.LAYERS)
    for layer, losses in results.items():
        assert losses[0] < losses[1] < losses[2], layer
        assert (tmp_path / f"{layer}.png").is_file()


def test_style_loss_matches_numpy():
    r = np.random.default_rng(0)
    a, b = r.normal(size=(4, 5, 3)).astype(np.float32), r.normal(size=(4, 5, 3)).astype(np.float32)
    ga, gb = a.reshape(-1, 3).T @ a.reshape(-1, 3), b.reshape(-1, 3).T @ b.reshape(-1, 3)
    want = np.sum((ga - gb) ** 2) / (4.0 * 3 ** 2 * 20 ** 2)
    assert float(style_transfer.style_loss(jnp.asarray(a), jnp.asarray(b))) == pytest.approx(want, rel=1e-5)
    x = r.normal(size=(1, 4, 5, 3)).astype(np.float32)
    d1, d2 = x[:, :-1, :-1] - x[:, 1:, :-1], x[:, :-1, :-1] - x[:, :-1, 1:]
    assert float(style_transfer.total_variation(jnp.asarray(x))) == pytest.approx(
        np.sum((d1 ** 2 + d2 ** 2) ** 1.25), rel=1e-5)


def test_style_transfer_descends(tmp_path):
    losses = style_transfer.main(["--size", "32", "--steps", "3", "--lr", "1e-3", "--logdir", str(tmp_path)])
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert (tmp_path / "result.png").is_file()


def test_fine_tuning_recipe_keeps_frozen_weights(tiny_cifar):
    from scripts import fine_tune
    result = fine_tune.main(["--base", "vgg16", "--limit", "16", "--epochs", "1", "1", "--batch-size", "8",
                             "--verbose", "0"])
    first, second = result["stage1"], result["stage2"]
    assert first["frozen_unchanged"] and second["frozen_unchanged"]
    assert first["frozen_layers"] == 13 and second["frozen_layers"] == 10  # VGG16's convolutions; block 5 trains
    assert second["trainable_params"] > first["trainable_params"]
