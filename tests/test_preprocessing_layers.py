"""Preprocessing layers (Keras 3 semantics): Rescaling, Resizing, CenterCrop, Normalization and the random
image augmentation layers, which run inside the compiled training step and are the identity in inference."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import ndimage

from arena.nn import Sequential, load_model
from arena.nn.layers import (CenterCrop, Dense, Flatten, Input, Layer, Normalization, RandomContrast, RandomFlip,
                             RandomRotation, RandomTranslation, RandomZoom, Rescaling, Resizing)
from arena.nn.optimizers import SGD

KEY = jax.random.PRNGKey(7)
# Keras' fill modes as scipy.ndimage spells them
SCIPY_MODES = {"reflect": "reflect", "wrap": "grid-wrap", "nearest": "nearest", "constant": "grid-constant"}
NUMPY_PAD_MODES = {"reflect": "symmetric", "wrap": "wrap", "nearest": "edge", "constant": "constant"}


def images(shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype("float32")


def affine_reference(x, transform, fill_mode, fill_value=0.0, order=1):
    """scipy: output pixel (y, x) samples the input at (a0 x + a1 y + a2, b0 x + b1 y + b2), per image."""
    a0, a1, a2, b0, b1, b2 = transform
    yy, xx = np.mgrid[0:x.shape[1], 0:x.shape[2]].astype("float64")
    coords = [b0 * xx + b1 * yy + b2, a0 * xx + a1 * yy + a2]
    return np.stack([np.stack([ndimage.map_coordinates(img[..., c], coords, order=order, mode=SCIPY_MODES[fill_mode],
                                                       cval=fill_value) for c in range(x.shape[3])], axis=-1)
                     for img in x])


# ---- always active: Rescaling, Resizing, CenterCrop ----------------------------------------------------------
def test_rescaling_is_x_times_scale_plus_offset_in_training_and_inference(fresh_session):
    x = np.arange(24, dtype="uint8").reshape(2, 3, 4)
    layer = Rescaling(1 / 127.5, offset=-1.0)
    want = x.astype("float32") / 127.5 - 1.0
    for training in (False, True):
        y = layer(x, training=training, key=KEY)
        assert y.dtype == jnp.float32
        np.testing.assert_allclose(y, want, rtol=1e-6)


def test_resizing_matches_repeat_and_block_means(fresh_session):
    x = images((2, 4, 4, 3))
    np.testing.assert_array_equal(Resizing(8, 8, interpolation="nearest")(x), x.repeat(2, 1).repeat(2, 2))
    # bilinear with half-pixel centres (Keras, no antialiasing): halving averages each 2 x 2 block
    blocks = x.reshape(2, 2, 2, 2, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(Resizing(2, 2)(x), blocks, rtol=1e-6)
    np.testing.assert_allclose(Resizing(2, 2)(x), jax.image.resize(x, (2, 2, 2, 3), "bilinear", antialias=False))


def test_resizing_crops_or_pads_to_the_aspect_ratio(fresh_session):
    x = images((1, 4, 6, 1))
    np.testing.assert_allclose(Resizing(2, 2, crop_to_aspect_ratio=True)(x), Resizing(2, 2)(x[:, :, 1:5]), rtol=1e-6)
    small = images((1, 2, 4, 1))
    padded = np.pad(small, ((0, 0), (1, 1), (0, 0), (0, 0)), constant_values=5.0)
    np.testing.assert_allclose(Resizing(4, 4, pad_to_aspect_ratio=True, fill_value=5.0)(small), padded)


def test_resizing_and_center_crop_output_shapes_in_a_model(fresh_session):
    m = Sequential([Input(shape=(7, 9, 2)), Resizing(5, 6), CenterCrop(3, 4)])
    assert m.output_shape == (None, 3, 4, 2)
    assert m.predict(images((2, 7, 9, 2)), verbose=0).shape == (2, 3, 4, 2)


def test_center_crop_is_the_centred_slice(fresh_session):
    x = images((2, 5, 6, 1))
    layer = CenterCrop(2, 3)
    for training in (False, True):
        np.testing.assert_array_equal(layer(x, training=training, key=KEY), x[:, 1:3, 1:4])


def test_center_crop_of_a_smaller_image_crops_to_the_aspect_ratio_and_resizes(fresh_session):
    x = images((1, 2, 4, 1))
    np.testing.assert_allclose(CenterCrop(4, 4)(x), Resizing(4, 4)(x[:, :, 1:3]), rtol=1e-6)
    np.testing.assert_allclose(CenterCrop(4, 4)(x), Resizing(4, 4, crop_to_aspect_ratio=True)(x), rtol=1e-6)


# ---- Normalization ------------------------------------------------------------------------------------------
def test_normalization_adapt_matches_numpy_and_standardizes(fresh_session):
    x = (images((200, 3)) * [1.0, 10.0, 0.1] + [5.0, -2.0, 0.0]).astype("float32")
    layer = Normalization()
    layer.adapt(x)
    np.testing.assert_allclose(layer.state["mean"], x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(layer.state["variance"], x.var(axis=0), rtol=1e-5)
    assert int(layer.state["count"]) == 200
    y = np.asarray(layer(x))
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=0), 1.0, rtol=1e-4)
    back = Normalization(mean=layer.state["mean"].tolist(), variance=layer.state["variance"].tolist(), invert=True)
    np.testing.assert_allclose(back(y), x, rtol=1e-5, atol=1e-5)


def test_normalization_adapt_on_batches_equals_adapt_on_the_whole_array(fresh_session):
    x = images((37, 4, 4, 3)) * 255.0
    whole, batched = Normalization(), Normalization()
    whole.adapt(x)
    batched.adapt((x[i:i + 10], np.zeros(len(x[i:i + 10]))) for i in range(0, 37, 10))  # (x, y) batches
    np.testing.assert_allclose(whole.state["mean"], x.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(batched.state["mean"], whole.state["mean"], rtol=1e-5)
    np.testing.assert_allclose(batched.state["variance"], whole.state["variance"], rtol=1e-5)
    assert int(batched.state["count"]) == int(whole.state["count"]) == 37 * 16


def test_normalization_axes_and_given_statistics(fresh_session):
    x = images((5, 3, 2))
    per_position = Normalization(axis=(1, 2))
    per_position.adapt(x)
    np.testing.assert_allclose(per_position.state["mean"], x.mean(axis=0), rtol=1e-5)
    scalar = Normalization(axis=None)
    scalar.adapt(x)
    np.testing.assert_allclose(scalar.state["mean"], x.mean(), rtol=1e-5)
    given = Normalization(mean=[1.0, 2.0], variance=[4.0, 0.0])
    # Keras divides by max(sqrt(variance), 1e-7)
    np.testing.assert_allclose(given(x), (x - [1.0, 2.0]) / [2.0, 1e-7], rtol=1e-5)


# ---- random augmentation: identity in inference ----------------------------------------------------------
RANDOM_LAYERS = [lambda **kw: RandomFlip(**kw), lambda **kw: RandomTranslation(0.3, 0.3, **kw),
                 lambda **kw: RandomRotation(0.2, **kw), lambda **kw: RandomZoom(0.3, **kw),
                 lambda **kw: RandomContrast(0.5, **kw)]
RANDOM_IDS = ["flip", "translation", "rotation", "zoom", "contrast"]


@pytest.mark.parametrize("make", RANDOM_LAYERS, ids=RANDOM_IDS)
def test_random_layers_are_the_identity_in_inference_and_change_images_in_training(fresh_session, make):
    x = images((4, 6, 6, 2))
    layer = make()
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer(x, training=False, key=KEY), x)
    y = layer(x, training=True, key=KEY)
    assert y.shape == x.shape and not np.allclose(y, x)
    np.testing.assert_allclose(jax.jit(lambda a, k: layer(a, training=True, key=k))(x, KEY), y, atol=1e-6)


@pytest.mark.parametrize("make", RANDOM_LAYERS, ids=RANDOM_IDS)
def test_random_layer_seed_is_folded_into_the_key(fresh_session, make):
    x = images((4, 6, 6, 1))
    a, b, c = make(seed=1), make(seed=1), make(seed=2)
    ya = a(x, training=True, key=KEY)
    np.testing.assert_array_equal(ya, b(x, training=True, key=KEY))
    assert not np.array_equal(ya, c(x, training=True, key=KEY))
    with pytest.raises(ValueError, match=rf"'{a.name}' needs a random key"):
        a(x, training=True)


def test_random_flip_gives_one_of_the_four_flips_and_all_of_them_happen(fresh_session):
    x = images((64, 3, 4, 2))
    y = np.asarray(RandomFlip()(x, training=True, key=KEY))
    flips = [x, x[:, :, ::-1], x[:, ::-1], x[:, ::-1, ::-1]]
    which = np.array([[np.array_equal(y[i], f[i]) for f in flips] for i in range(len(x))])
    assert np.all(which.sum(axis=1) == 1)
    assert np.all(which.any(axis=0))
    y = np.asarray(RandomFlip("horizontal")(x, training=True, key=KEY))
    which = np.array([[np.array_equal(y[i], f[i]) for f in flips[:2]] for i in range(len(x))])
    assert np.all(which.sum(axis=1) == 1) and np.all(which.any(axis=0))


@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "nearest", "constant"])
def test_random_translation_by_whole_pixels_is_a_shift_with_the_fill(fresh_session, fill_mode):
    x = images((2, 4, 5, 2))
    layer = RandomTranslation((0.25, 0.25), (-0.2, -0.2), fill_mode=fill_mode, fill_value=9.0)  # 1 down, 1 left
    y = layer(x, training=True, key=KEY)
    kwargs = {"constant_values": 9.0} if fill_mode == "constant" else {}
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode=NUMPY_PAD_MODES[fill_mode], **kwargs)
    np.testing.assert_allclose(y, padded[:, 0:4, 2:7], atol=1e-5)
    if fill_mode == "wrap":
        np.testing.assert_allclose(y, np.roll(x, (1, -1), axis=(1, 2)), atol=1e-5)


@pytest.mark.parametrize("turns, k", [(0.25, 1), (-0.25, -1), (0.5, 2)])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_random_rotation_by_quarter_turns_is_rot90_counter_clockwise(fresh_session, turns, k, interpolation):
    x = images((2, 5, 5, 3))
    y = RandomRotation((turns, turns), interpolation=interpolation)(x, training=True, key=KEY)
    np.testing.assert_allclose(y, np.rot90(x, k, axes=(1, 2)), atol=1e-5)


@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "nearest", "constant"])
def test_random_rotation_matches_scipy_sampling_of_the_keras_rotation(fresh_session, fill_mode):
    x = images((2, 5, 6, 2))
    theta = 0.1 * 2 * np.pi
    cx, cy = (6 - 1) / 2, (5 - 1) / 2
    c, s = np.cos(theta), np.sin(theta)
    transform = (c, -s, cx - cx * c + cy * s, s, c, cy - cx * s - cy * c)  # about the centre, output -> input
    y = RandomRotation((0.1, 0.1), fill_mode=fill_mode, fill_value=0.5)(x, training=True, key=KEY)
    np.testing.assert_allclose(y, affine_reference(x, transform, fill_mode, 0.5), atol=1e-5)


def test_random_zoom_negative_factor_zooms_in_positive_zooms_out(fresh_session):
    x = np.tile(np.arange(5, dtype="float32"), (1, 3, 1))[..., None]  # (1, 3, 5, 1), pixel = its column
    zoom_in = RandomZoom((-0.5, -0.5))(x, training=True, key=KEY)  # shows the central half, stretched
    np.testing.assert_allclose(zoom_in[0, :, :, 0], [[1, 1.5, 2, 2.5, 3]] * 3, atol=1e-6)
    zoom_out = RandomZoom((1.0, 1.0), fill_mode="constant", fill_value=9.0)(x, training=True, key=KEY)
    np.testing.assert_allclose(zoom_out[0, :, :, 0], [[9] * 5, [9, 0, 2, 4, 9], [9] * 5], atol=1e-6)


@pytest.mark.parametrize("fill_mode, interpolation", [("reflect", "bilinear"), ("wrap", "nearest"),
                                                      ("constant", "bilinear")])
def test_random_zoom_matches_scipy_sampling_of_the_keras_zoom(fresh_session, fill_mode, interpolation):
    x = images((2, 5, 6, 1))
    zy, zx = 1.3, 0.8
    transform = (zx, 0, (6 - 1) / 2 * (1 - zx), 0, zy, (5 - 1) / 2 * (1 - zy))
    layer = RandomZoom((0.3, 0.3), (-0.2, -0.2), fill_mode=fill_mode, interpolation=interpolation)
    y = layer(x, training=True, key=KEY)
    np.testing.assert_allclose(y, affine_reference(x, transform, fill_mode, order=0 if interpolation == "nearest" else 1), atol=1e-5)


def test_random_contrast_scales_deviations_from_the_channel_means(fresh_session):
    x = images((32, 4, 4, 3))
    y = np.asarray(RandomContrast(0.5, value_range=(-10, 10), seed=3)(x, training=True, key=KEY))
    mean = x.mean(axis=(1, 2), keepdims=True)
    factor = (y - mean) / (x - mean)  # one contrast factor per image, in [0.5, 1.5]
    np.testing.assert_allclose(factor, factor[:, :1, :1, :1] * np.ones_like(factor), rtol=1e-4)
    assert np.all((factor >= 0.5 - 1e-5) & (factor <= 1.5 + 1e-5))
    assert factor.min() < 0.8 and factor.max() > 1.2
    clipped = RandomContrast(0.5, value_range=(0.3, 0.6), seed=3)(x, training=True, key=KEY)
    np.testing.assert_allclose(clipped, np.clip(y, 0.3, 0.6), rtol=1e-6)


# ---- inside a model: the compiled training step, predict, files ---------------------------------------------
class Recorder(Layer):
    """Keeps the batch it saw as runtime state, so the test can look inside the training step."""

    def __init__(self, batch, **kwargs):
        super().__init__(**kwargs)
        self.batch = batch

    def build(self, input_shape):
        self.add_state("seen", (self.batch,) + input_shape[1:])

    def apply(self, params, state, x, *, training=False, key=None, mask=None):
        return x, {"seen": x}


def test_augmentation_runs_in_the_training_step_with_a_new_draw_each_step(fresh_session):
    x = (images((8, 3, 4, 1)) * 255).astype("uint8")
    recorder = Recorder(8)
    m = Sequential([Input(shape=(3, 4, 1), dtype="uint8"), Rescaling(1 / 255), RandomFlip(), recorder, Flatten(),
                    Dense(1)])
    m.compile(optimizer=SGD(0.1), loss="mse")
    m.fit(x, np.ones((8, 1), "float32"), batch_size=4, epochs=2, shuffle=False, verbose=0)
    scaled = x.astype("float32") / 255
    flips = [scaled, scaled[:, :, ::-1], scaled[:, ::-1], scaled[:, ::-1, ::-1]]
    seen = []
    for _ in range(4):
        m.train_on_batch(x, np.ones((8, 1), "float32"))
        s = np.asarray(recorder.state["seen"])
        assert all(any(np.allclose(s[i], f[i]) for f in flips) for i in range(8))
        seen.append(s)
    assert all(not np.array_equal(a, b) for a, b in itertools.combinations(seen, 2))
    # predict: the random layers are the identity, so the model is Dense on the scaled pixels
    kernel, bias = m.layers[-1].get_weights()
    want = scaled.reshape(8, -1) @ kernel + bias
    np.testing.assert_allclose(m.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(m.predict(x, verbose=0), m.predict(x, verbose=0))


def test_model_with_preprocessing_layers_saves_and_loads(fresh_session, tmp_path):
    x = images((6, 8, 8, 3)) * 255
    norm = Normalization()
    norm.adapt(x)
    m = Sequential([Input(shape=(8, 8, 3)), norm, RandomFlip(seed=1), RandomTranslation(0.1, 0.2),
                    RandomRotation(0.1, fill_mode="constant"), RandomZoom(0.2, 0.1, interpolation="nearest"),
                    RandomContrast(0.3, value_range=(-5, 5)), Resizing(6, 6), CenterCrop(4, 4), Rescaling(0.5),
                    Flatten(), Dense(2)])
    m.compile(optimizer=SGD(0.01), loss="mse")
    m.fit(x, np.zeros((6, 2), "float32"), batch_size=3, epochs=2, verbose=0)
    m.save(tmp_path / "augmented.h5")
    loaded = load_model(tmp_path / "augmented.h5")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-6)
    np.testing.assert_array_equal(loaded.layers[0].state["mean"], norm.state["mean"])
    np.testing.assert_array_equal(loaded.layers[0].state["variance"], norm.state["variance"])
    assert [l.get_config() for l in loaded.layers] == [l.get_config() for l in m.layers]


# ---- bad arguments ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, message", [
    (lambda: Resizing(-2, 3), r"Resizing 'resizing_1': height must be an integer >= 1; got -2"),
    (lambda: Resizing(2, 3, interpolation="area"), r"Resizing 'resizing_1': interpolation must be one of"),
    (lambda: Resizing(2, 3, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), r"cannot both be True"),
    (lambda: CenterCrop(2, 0), r"CenterCrop 'center_crop_1': width must be an integer >= 1; got 0"),
    (lambda: Rescaling("1/255"), r"Rescaling 'rescaling_1': scale must be a finite number"),
    (lambda: RandomFlip("diagonal"), r"RandomFlip 'random_flip_1': mode must be one of 'horizontal'"),
    (lambda: RandomFlip(seed=-1), r"RandomFlip 'random_flip_1': seed must be a non-negative integer or None"),
    (lambda: RandomRotation(1.5), r"RandomRotation 'random_rotation_1': factor must be a number in \[-1, 1\] or a "
                                  r"pair \(lower, upper\) of them; got 1.5"),
    (lambda: RandomRotation((0.1, 0.2, 0.3)), r"RandomRotation 'random_rotation_1': factor must be"),
    (lambda: RandomRotation(0.1, fill_mode="mirror"), r"RandomRotation 'random_rotation_1': fill_mode must be one "
                                                      r"of 'reflect', 'wrap', 'constant', 'nearest'; got 'mirror'"),
    (lambda: RandomRotation(0.1, interpolation="bicubic"), r"'random_rotation_1': interpolation must be one of"),
    (lambda: RandomTranslation(0.1, (0.1, 2.0)), r"RandomTranslation 'random_translation_1': width_factor must be "
                                                 r"a number in \[-1, 1\]"),
    (lambda: RandomZoom(-1.0), r"RandomZoom 'random_zoom_1': height_factor must be a number in \(-1, 1\]"),
    (lambda: RandomContrast(1.5), r"RandomContrast 'random_contrast_1': factor must be a number in \[0, 1\]"),
    (lambda: RandomContrast(0.1, value_range=(1, 0)), r"RandomContrast 'random_contrast_1': value_range must be"),
    (lambda: Normalization(mean=1.0), r"Normalization 'normalization_1': give mean and variance together"),
    (lambda: Normalization(mean=[1.0], variance=[-1.0]), r"variance finite and >= 0"),
])
def test_bad_arguments_name_the_layer_and_the_argument(fresh_session, make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_inputs_name_the_layer(fresh_session):
    with pytest.raises(ValueError, match=r"RandomFlip 'random_flip_1' expects input of rank 4 \(batch, height, "
                                         r"width, channels\); got shape \(None, 3, 4\)"):
        RandomFlip()(np.ones((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match=r"Normalization 'normalization_1': mean and variance of shape \(3,\) do "
                                         r"not broadcast"):
        Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 1.0, 1.0])(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"'normalization_2' was given mean and variance; adapt\(\)"):
        Normalization(mean=1.0, variance=1.0, axis=None).adapt(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"'normalization_3'.adapt: got no data"):
        Normalization().adapt([])
