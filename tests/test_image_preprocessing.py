"""arena.preprocessing.image behaves as Keras 2's keras.preprocessing.image (channels last).

Every option is checked against numpy / scipy written independently here: statistics against numpy,
the affine map against scipy.ndimage.rotate and hand-written coordinate maps, shifts against np.roll.
"""
import os

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

import arena
from arena.nn import Dense, Flatten, Sequential, optimizers
from arena.nn.layers.base import clear_session
from arena.preprocessing.image import (DirectoryIterator, ImageDataGenerator, NumpyArrayIterator, apply_affine_transform,
                                       array_to_img, img_to_array, load_img, save_img)


def images(n=6, h=5, w=4, c=3, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, size=(n, h, w, c)).astype(np.float32)


def index_images(n, h=2, w=2):
    """Image i is filled with the value i, so a batch shows which rows it holds."""
    return np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None, None], (n, h, w, 1)).copy()


def centre_map(x, to_input, mode="constant", cval=0.0):
    """Output pixel (r, c) takes the input at to_input(r - centre) + centre (bilinear), channel by channel."""
    h, w = x.shape[:2]
    centre = np.array([h / 2 - 0.5, w / 2 - 0.5])[:, None, None]
    grid = np.mgrid[0:h, 0:w].astype(np.float64) - centre
    coords = to_input(grid) + centre
    return np.stack([ndimage.map_coordinates(x[..., k], coords, order=1, mode=mode, cval=cval)
                     for k in range(x.shape[2])], axis=2)


# ---- fit / standardize ---------------------------------------------------------------------------------
def test_featurewise_mean_and_std_are_numpys_per_channel_statistics():
    x = images(8)
    with pytest.warns(UserWarning, match="overrides featurewise_center"):
        gen = ImageDataGenerator(featurewise_std_normalization=True)
    gen.fit(x)
    mean = x.reshape(-1, 3).mean(axis=0)
    std = (x - mean).reshape(-1, 3).std(axis=0)
    np.testing.assert_allclose(gen.mean.reshape(3), mean, rtol=1e-5)
    np.testing.assert_allclose(gen.std.reshape(3), std, rtol=1e-5)
    np.testing.assert_allclose(gen.standardize(x), (x - mean) / (std + 1e-6), rtol=1e-4, atol=1e-5)


def test_zca_whitening_matches_numpys_and_whitens():
    x = images(60, 3, 3, 1, seed=1)  # 9 features, many more samples
    with pytest.warns(UserWarning, match="zca_whitening overrides featurewise_center"):
        gen = ImageDataGenerator(zca_whitening=True, zca_epsilon=1e-6)
    gen.fit(x)
    flat = (x - x.mean()).reshape(60, 9).astype(np.float64)
    s, u = np.linalg.eigh(flat.T @ flat / 60)
    zca = u @ np.diag(1 / np.sqrt(s + 1e-6)) @ u.T
    np.testing.assert_allclose(gen.principal_components, zca, rtol=1e-3, atol=1e-5)
    white = gen.standardize(x).reshape(60, 9)
    np.testing.assert_allclose(white.T @ white / 60, np.eye(9), atol=1e-3)


def test_fit_with_augment_uses_rounds_of_transformed_images():
    x = images(4)
    gen = ImageDataGenerator(featurewise_center=True, horizontal_flip=True)
    gen.fit(x, augment=True, rounds=3, seed=0)  # flips keep the per-channel mean
    np.testing.assert_allclose(gen.mean.reshape(3), x.reshape(-1, 3).mean(axis=0), rtol=1e-5)


def test_standardize_order_preprocessing_then_rescale_then_samplewise():
    x = images(1)[0]
    gen = ImageDataGenerator(preprocessing_function=lambda a: a + 1, rescale=0.5)
    np.testing.assert_allclose(gen.standardize(x), (x + 1) * 0.5, rtol=1e-6)
    with pytest.warns(UserWarning, match="overrides samplewise_center"):
        gen = ImageDataGenerator(samplewise_std_normalization=True, rescale=2.0)
    y = x * 2.0
    np.testing.assert_allclose(gen.standardize(x), (y - y.mean()) / (y.std() + 1e-6), rtol=1e-4, atol=1e-5)


def test_standardize_leaves_its_input_alone_and_needs_fit_for_featurewise_options():
    x = images(2)
    before = x.copy()
    ImageDataGenerator(rescale=0.1, samplewise_center=True).standardize(x)
    np.testing.assert_array_equal(x, before)
    with pytest.raises(ValueError, match=r"featurewise_center=True needs .*call \.fit\(x_train\)"):
        ImageDataGenerator(featurewise_center=True).standardize(x)


# ---- transforms ----------------------------------------------------------------------------------------
def test_flips_are_numpy_flips_chosen_by_the_seed():
    x = images(1)[0]
    for option, flip in (("horizontal_flip", x[:, ::-1]), ("vertical_flip", x[::-1])):
        gen = ImageDataGenerator(**{option: True})
        key = "flip_" + option.split("_")[0]
        flipped = [s for s in range(20) if gen.get_random_transform(x.shape, seed=s)[key]]
        kept = [s for s in range(20) if s not in flipped]
        assert flipped and kept
        np.testing.assert_array_equal(gen.random_transform(x, seed=flipped[0]), flip)
        np.testing.assert_array_equal(gen.random_transform(x, seed=kept[0]), x)


@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "reflect", "wrap"])
def test_rotation_is_scipys_rotation_about_the_centre(fill_mode):
    x = images(1, 7, 6, 2)[0].astype(np.float64)
    gen = ImageDataGenerator(fill_mode=fill_mode, cval=7.0)
    out = gen.apply_transform(x, {"theta": 30})
    # Keras' angle turns (row, col) coordinates; scipy's turns the image the other way.
    ref = ndimage.rotate(x, -30, axes=(0, 1), reshape=False, order=1, mode=fill_mode, cval=7.0)
    np.testing.assert_allclose(out, ref, atol=1e-9)


def test_whole_pixel_shifts_are_rolls_with_the_fill():
    x = images(1, 5, 6, 1)[0]
    gen = ImageDataGenerator(fill_mode="constant", cval=-1.0)
    expected = np.full_like(x, -1.0)
    expected[:-2, 1:] = x[2:, :-1]  # tx=2: rows move up by 2; ty=-1: columns move right by 1
    np.testing.assert_allclose(gen.apply_transform(x, {"tx": 2, "ty": -1}), expected, atol=1e-5)
    nearest = ImageDataGenerator(fill_mode="nearest").apply_transform(x, {"tx": 2})
    np.testing.assert_allclose(nearest, np.concatenate([x[2:], x[-1:], x[-1:]]), atol=1e-5)
    wrapped = ImageDataGenerator(fill_mode="wrap").apply_transform(x, {"ty": 1})
    np.testing.assert_allclose(wrapped[:, :-1], x[:, 1:], atol=1e-5)


def test_zoom_scales_coordinates_about_the_centre():
    x = images(1, 6, 7, 2)[0].astype(np.float64)
    out = ImageDataGenerator(fill_mode="constant").apply_transform(x, {"zx": 0.7, "zy": 1.3})
    ref = centre_map(x, lambda g: np.stack([0.7 * g[0], 1.3 * g[1]]))
    np.testing.assert_allclose(out, ref, atol=1e-9)


def test_shear_matches_a_hand_written_map():
    x = images(1, 6, 7, 1)[0].astype(np.float64)
    s = np.deg2rad(20)
    out = ImageDataGenerator(fill_mode="nearest").apply_transform(x, {"shear": 20})
    ref = centre_map(x, lambda g: np.stack([g[0] - np.sin(s) * g[1], np.cos(s) * g[1]]), mode="nearest")
    np.testing.assert_allclose(out, ref, atol=1e-9)


def test_affine_steps_compose_rotation_shift_shear_zoom_in_keras_order():
    x = images(1, 8, 8, 1)[0].astype(np.float64)
    t, s = np.deg2rad(15), np.deg2rad(10)

    def to_input(g):  # M = R T S Z applied to the centred output coordinates: zoom first
        r, c = 0.9 * g[0], 1.1 * g[1]
        r, c = r - np.sin(s) * c, np.cos(s) * c
        r, c = r + 1.5, c - 0.5
        return np.stack([np.cos(t) * r - np.sin(t) * c, np.sin(t) * r + np.cos(t) * c])

    out = apply_affine_transform(x, theta=15, tx=1.5, ty=-0.5, shear=10, zx=0.9, zy=1.1, fill_mode="constant")
    np.testing.assert_allclose(out, centre_map(x, to_input), atol=1e-9)


def test_random_parameters_stay_in_their_ranges():
    gen = ImageDataGenerator(rotation_range=10, width_shift_range=0.25, height_shift_range=3, shear_range=5,
                             zoom_range=0.2, channel_shift_range=4, brightness_range=(0.5, 1.5))
    ps = [gen.get_random_transform((8, 12, 3), seed=s) for s in range(40)]
    assert all(abs(p["theta"]) <= 10 and abs(p["shear"]) <= 5 for p in ps)
    assert all(abs(p["ty"]) <= 0.25 * 12 for p in ps)  # a fraction of the width
    assert {p["tx"] for p in ps} <= {-2, -1, 0, 1, 2}  # int 3: whole pixels in (-3, 3)
    assert all(0.8 <= p[k] <= 1.2 for p in ps for k in ("zx", "zy"))
    assert all(abs(p["channel_shift_intensity"]) <= 4 and 0.5 <= p["brightness"] <= 1.5 for p in ps)
    listed = ImageDataGenerator(width_shift_range=[2, 4])
    assert {listed.get_random_transform((8, 8, 1), seed=s)["ty"] for s in range(40)} == {-4, -2, 2, 4}
    assert gen.get_random_transform((8, 12, 3), seed=3) == gen.get_random_transform((8, 12, 3), seed=3)


def test_channel_shift_adds_and_clips_to_the_image_range():
    x = images(1)[0]
    out = ImageDataGenerator().apply_transform(x, {"channel_shift_intensity": 30.0})
    np.testing.assert_allclose(out, np.clip(x + 30.0, x.min(), x.max()), rtol=1e-6)


def test_brightness_is_pillows_enhancement_of_the_0_255_image():
    x = np.round(images(1)[0])
    x[0, 0] = (0, 0, 0)
    x[0, 1] = (255, 255, 255)  # array_to_img's scaling leaves a 0..255 image as it is
    out = ImageDataGenerator().apply_transform(x, {"brightness": 0.5})
    np.testing.assert_allclose(out, x * 0.5, atol=1.0)


# ---- flow ----------------------------------------------------------------------------------------------
def test_flow_batches_keep_x_y_and_sample_weight_together():
    x = index_images(10)
    y, w = np.arange(10) * 10, np.arange(10) / 10
    it = ImageDataGenerator().flow(x, y, batch_size=4, sample_weight=w, seed=1)
    assert isinstance(it, arena.utils.Sequence) and len(it) == 3
    seen = []
    for i in range(len(it)):
        bx, by, bw = it[i]
        rows = bx[:, 0, 0, 0].astype(int)
        np.testing.assert_array_equal(by, rows * 10)
        np.testing.assert_allclose(bw, rows / 10)
        seen += list(rows)
    assert sorted(seen) == list(range(10)) and seen != list(range(10))
    assert [len(it[i][0]) for i in range(len(it))] == [4, 4, 2]


def test_flow_without_shuffle_is_in_order_and_without_y_gives_x_alone():
    x = index_images(5)
    it = ImageDataGenerator().flow(x, batch_size=2, shuffle=False)
    np.testing.assert_array_equal(it[-1], x[4:])
    np.testing.assert_array_equal(np.concatenate([it[i] for i in range(3)]), x)
    with pytest.raises(IndexError):
        it[3]


def test_flow_is_a_function_of_seed_epoch_and_index():
    x = images(6, 4, 4, 1)
    gen = ImageDataGenerator(rotation_range=40, horizontal_flip=True, width_shift_range=0.2)
    a, b = gen.flow(x, batch_size=3, seed=5), gen.flow(x, batch_size=3, seed=5)
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[1], a[1])  # asking twice: the same batch
    first = a[0]
    a.on_epoch_end()
    assert not np.array_equal(a[0], first)  # a new epoch: new order and new transforms
    b.on_epoch_end()
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(gen.flow(x, batch_size=3, seed=6)[0], gen.flow(x, batch_size=3, seed=5)[0])


def test_flow_as_an_endless_iterator_runs_epoch_after_epoch():
    x = index_images(5)
    it = ImageDataGenerator().flow(x, np.arange(5), batch_size=2, seed=0)
    ref = ImageDataGenerator().flow(x, np.arange(5), batch_size=2, seed=0)
    batches = [next(it) for _ in range(6)]  # 3 batches an epoch
    assert [len(b[1]) for b in batches] == [2, 2, 1, 2, 2, 1]
    for k in range(3):
        np.testing.assert_array_equal(batches[k][1], ref[k][1])
    ref.on_epoch_end()
    for k in range(3):
        np.testing.assert_array_equal(batches[3 + k][1], ref[k][1])


def test_images_and_masks_flowed_with_one_seed_get_the_same_transforms():
    x = images(4, 6, 6, 1)
    args = dict(rotation_range=90, width_shift_range=0.2, zoom_range=0.3, horizontal_flip=True)
    pairs = zip(ImageDataGenerator(**args).flow(x, batch_size=2, seed=3),
                ImageDataGenerator(**args).flow(x.copy(), batch_size=2, seed=3))
    for _ in range(4):  # two epochs of the endless iterators
        a, b = next(pairs)
        np.testing.assert_array_equal(a, b)


def test_validation_split_subsets_are_keras_split():
    x, y = index_images(10), np.tile([0, 1], 5)
    gen = ImageDataGenerator(validation_split=0.3)
    val = gen.flow(x, y, batch_size=10, shuffle=False, subset="validation")
    train = gen.flow(x, y, batch_size=10, shuffle=False, subset="training")
    np.testing.assert_array_equal(val[0][0][:, 0, 0, 0], [0, 1, 2])  # the first 30%
    np.testing.assert_array_equal(train[0][0][:, 0, 0, 0], np.arange(3, 10))
    with pytest.raises(ValueError, match="different classes"):
        gen.flow(x, np.sort(y), subset="training")
    with pytest.raises(ValueError, match="needs ImageDataGenerator\\(validation_split"):
        ImageDataGenerator().flow(x, y, subset="validation")


def test_save_to_dir_writes_every_augmented_image_atomically(tmp_path):
    x = images(5, 4, 4, 3)
    it = ImageDataGenerator(rotation_range=30).flow(x, batch_size=2, seed=0, save_to_dir=tmp_path,
                                                     save_prefix="aug", save_format="jpeg")
    for i in range(len(it)):
        it[i]
    names = sorted(os.listdir(tmp_path))
    assert len(names) == 5 and all(n.startswith("aug_") and n.endswith(".jpeg") for n in names)
    assert load_img(tmp_path / names[0]).size == (4, 4)


def test_model_trains_on_flow_and_equals_array_fit_without_augmentation():
    x = images(8, 3, 3, 1) / 255
    y = x.reshape(8, -1).sum(axis=1, keepdims=True)

    def model():
        clear_session()
        arena.set_seed(0)
        m = Sequential([Flatten(input_shape=(3, 3, 1)), Dense(1)])
        m.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss="mse")
        return m

    a, b = model(), model()
    a.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    hist = b.fit(ImageDataGenerator().flow(x, y, batch_size=4, shuffle=False), epochs=2, shuffle=False, verbose=0)
    for p, q in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)
    augmented = model()
    h = augmented.fit(ImageDataGenerator(horizontal_flip=True).flow(x, y, batch_size=4, seed=0), epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2 and np.all(np.isfinite(h.history["loss"])) and len(hist.history["loss"]) == 2


# ---- flow_from_directory -------------------------------------------------------------------------------
def write_tree(root, per_class=((("cat", 3), ("dog", 2)))):
    rng = np.random.default_rng(0)
    for name, count in per_class:
        (root / name).mkdir(parents=True)
        for k in range(count):
            pixels = rng.integers(0, 256, size=(6 + k, 5, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{k}.{'png' if k % 2 == 0 else 'jpg'}")
    (root / "cat" / "notes.txt").write_text("not an image, and not listed")
    return root


def test_flow_from_directory_lists_classes_and_files(tmp_path):
    root = write_tree(tmp_path / "data")
    it = ImageDataGenerator().flow_from_directory(root, target_size=(4, 3), batch_size=5, shuffle=False)
    assert isinstance(it, DirectoryIterator) and it.samples == 5 and it.num_classes == 2
    assert it.class_indices == {"cat": 0, "dog": 1}
    assert it.filenames == [os.path.join("cat", f) for f in ("0.png", "1.jpg", "2.png")] + \
        [os.path.join("dog", f) for f in ("0.png", "1.jpg")]
    np.testing.assert_array_equal(it.classes, [0, 0, 0, 1, 1])
    bx, by = it[0]
    assert bx.shape == (5, 4, 3, 3) and bx.dtype == np.float32
    np.testing.assert_array_equal(by, np.eye(2)[[0, 0, 0, 1, 1]])
    ref = img_to_array(load_img(root / "cat" / "0.png", target_size=(4, 3)))
    np.testing.assert_array_equal(bx[0], ref)


@pytest.mark.parametrize("color_mode, channels", [("grayscale", 1), ("rgb", 3), ("rgba", 4)])
def test_flow_from_directory_color_modes(tmp_path, color_mode, channels):
    it = ImageDataGenerator().flow_from_directory(write_tree(tmp_path / "d"), target_size=(2, 2),
                                                  color_mode=color_mode, class_mode=None, batch_size=2)
    assert it[0].shape == (2, 2, 2, channels)


def test_flow_from_directory_class_modes_and_subsets(tmp_path):
    root = write_tree(tmp_path / "d")
    gen = ImageDataGenerator(validation_split=0.5)
    kw = dict(target_size=(2, 2), batch_size=8, shuffle=False)
    np.testing.assert_array_equal(gen.flow_from_directory(root, class_mode="sparse", **kw)[0][1], [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(gen.flow_from_directory(root, class_mode="binary", **kw)[0][1], [0, 0, 0, 1, 1])
    bx, by = gen.flow_from_directory(root, class_mode="input", **kw)[0]
    np.testing.assert_array_equal(bx, by)
    val = gen.flow_from_directory(root, subset="validation", **kw)
    train = gen.flow_from_directory(root, subset="training", **kw)
    # each class's first half (rounded down) is validation: cat 1 of 3, dog 1 of 2
    assert val.filenames == [os.path.join("cat", "0.png"), os.path.join("dog", "0.png")]
    assert train.filenames == [os.path.join("cat", f) for f in ("1.jpg", "2.png")] + [os.path.join("dog", "1.jpg")]
    only = gen.flow_from_directory(root, classes=["dog"], class_mode="sparse", **kw)
    assert only.samples == 2 and only.class_indices == {"dog": 0}


def test_flow_from_directory_errors_name_the_problem(tmp_path):
    gen = ImageDataGenerator()
    with pytest.raises(FileNotFoundError, match="missing"):
        gen.flow_from_directory(tmp_path / "missing")
    (tmp_path / "flat").mkdir()
    Image.new("RGB", (2, 2)).save(tmp_path / "flat" / "a.png")
    with pytest.raises(ValueError, match="no class sub-folders"):
        gen.flow_from_directory(tmp_path / "flat")
    root = write_tree(tmp_path / "d")
    (root / "dog" / "fake.png").write_bytes(b"this is not a png")
    it = gen.flow_from_directory(root, target_size=(2, 2), batch_size=8, shuffle=False)
    with pytest.raises(ValueError, match=r"fake\.png' is not a readable image"):
        it[0]
    with pytest.raises(ValueError, match="needs exactly 2 classes"):
        gen.flow_from_directory(root, classes=["cat"], class_mode="binary")
    with pytest.raises(ValueError, match="class folder"):
        gen.flow_from_directory(root, classes=["cow"])
    with pytest.raises(ValueError, match="names of sub-folders"):
        gen.flow_from_directory(root, classes=["../d"])


def test_flow_from_directory_follows_links_only_inside_the_directory(tmp_path):
    root = write_tree(tmp_path / "d")
    outside = tmp_path / "outside"
    outside.mkdir()
    Image.new("RGB", (2, 2)).save(outside / "secret.png")
    os.symlink(outside / "secret.png", root / "cat" / "leak.png")
    os.symlink(outside, root / "cat" / "leakdir")
    os.symlink(root / "dog", root / "cat" / "dogs")  # inside the tree: followed only with follow_links
    os.symlink(root / "cat", root / "cat" / "loop")  # a cycle must end
    plain = ImageDataGenerator().flow_from_directory(root, target_size=(2, 2))
    assert plain.samples == 5
    linked = ImageDataGenerator().flow_from_directory(root, target_size=(2, 2), follow_links=True)
    assert sorted(f for f in linked.filenames if "dogs" in f) == [os.path.join("cat", "dogs", f)
                                                                    for f in ("0.png", "1.jpg")]
    assert not any("leak" in f or "loop" in f for f in linked.filenames)


# ---- files <-> arrays ----------------------------------------------------------------------------------
def test_save_img_load_img_round_trip(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, size=(4, 5, 3)).astype(np.float32)
    save_img(tmp_path / "a.png", x, scale=False)
    assert os.listdir(tmp_path) == ["a.png"]  # no temporary file left
    img = load_img(tmp_path / "a.png")
    assert img.size == (5, 4) and img.mode == "RGB"
    np.testing.assert_array_equal(img_to_array(img), x)
    np.testing.assert_array_equal(img_to_array(array_to_img(x, scale=False)), x)
    gray = img_to_array(load_img(tmp_path / "a.png", color_mode="grayscale", target_size=(2, 3)))
    assert gray.shape == (2, 3, 1)
    scaled = img_to_array(array_to_img(np.array([[[-1.0], [0.0], [1.0]]])))
    np.testing.assert_array_equal(scaled[..., 0], [[0, 127, 255]])
    with pytest.warns(UserWarning, match="RGBA"):
        save_img(tmp_path / "b.jpg", np.zeros((2, 2, 4)))
    assert load_img(tmp_path / "b.jpg").size == (2, 2)


def test_file_errors_name_the_file(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="nothing.png"):
        load_img(tmp_path / "nothing.png")
    with pytest.raises(ValueError, match="has no extension"):
        save_img(tmp_path / "noext", np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="rank 3"):
        array_to_img(np.zeros((2, 2)))
    Image.new("RGB", (20, 20)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)  # 400 pixels: over the limit, under twice it
    with pytest.raises(ValueError, match=r"big\.png' is too large"):
        load_img(tmp_path / "big.png")


@pytest.mark.parametrize("kwargs, match", [
    (dict(fill_mode="edge"), "fill_mode"),
    (dict(zoom_range=(0.5,)), "zoom_range"),
    (dict(width_shift_range=-1), "width_shift_range"),
    (dict(brightness_range=0.5), "brightness_range"),
    (dict(validation_split=1.0), "validation_split"),
    (dict(data_format="channels_first"), "channels_last"),
    (dict(preprocessing_function=3), "preprocessing_function"),
])
def test_bad_generator_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ImageDataGenerator(**kwargs)


def test_bad_flow_arguments_are_named():
    gen = ImageDataGenerator()
    with pytest.raises(ValueError, match="rank 4"):
        gen.flow(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match=r"same length.*x.shape = \(3, 2, 2, 1\), y.shape = \(2,\)"):
        gen.flow(np.zeros((3, 2, 2, 1)), np.zeros(2))
    with pytest.raises(ValueError, match="batch_size"):
        gen.flow(np.zeros((3, 2, 2, 1)), batch_size=0)
    with pytest.raises(ValueError, match="save_format"):
        gen.flow(np.zeros((3, 2, 2, 1)), save_format="nope")
    bad = ImageDataGenerator(preprocessing_function=lambda a: a[:1])
    with pytest.raises(ValueError, match="preprocessing_function must return"):
        bad.flow(np.zeros((3, 2, 2, 1)))[0]
    assert isinstance(gen.flow(np.zeros((3, 2, 2, 1))), NumpyArrayIterator)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match=r"needs a 49152x49152 matrix \(9\.0 GiB\)"):
        ImageDataGenerator(zca_whitening=True).fit(np.zeros((1, 128, 128, 3)))
