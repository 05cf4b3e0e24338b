"""Dense and convolution layers against naive numpy references; Keras parameter counts; errors;
a tiny CNN that learns."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import arena
from arena import nn
from arena.nn.layers.base import clear_session

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def run(layer, x, weights=None):
    """Build ``layer`` for x's shape with the given weights (Keras order; random if None), run it
    eagerly and check that compute_output_shape agrees with the real output."""
    shape = (None,) + x.shape[1:]
    if weights is None:
        layer._ensure_built(shape)
    else:
        # Take the weight names and shapes from init_params without running it: random
        # initialisation compiles per shape, which would dominate these tests' time.
        layer.build(shape)
        layer.built, layer.input_shape = True, shape
        order = []

        def init(k):
            p, s = layer.init_params(k, shape)
            order.extend([list(p), list(s)])  # pytrees sort dict keys; keep Keras' order
            return p, s
        params, state = jax.eval_shape(init, jax.random.PRNGKey(0))
        names = order[0] + order[1]
        assert len(names) == len(weights), names
        for n, w in zip(names, weights):
            assert w.shape == (params[n] if n in params else state[n]).shape, (n, w.shape)
        layer.params = {n: jnp.asarray(w) for n, w in zip(names, weights) if n in params}
        layer.state = {n: jnp.asarray(w) for n, w in zip(names, weights) if n in state}
    y = np.asarray(layer(x))
    assert layer.compute_output_shape(shape) == (None,) + y.shape[1:]
    return y


# ---- numpy references ----------------------------------------------------------------------
def conv2d_ref(x, w, b=None, strides=(1, 1), padding="valid", dilation=(1, 1)):
    """Naive loops: x (N, H, W, C), w (kh, kw, C, O); TensorFlow's 'same' padding."""
    n, H, W, _ = x.shape
    kh, kw, _, O = w.shape
    sh, sw = strides
    dh, dw = dilation
    dkh, dkw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if padding == "same":
        oh, ow = math.ceil(H / sh), math.ceil(W / sw)
        pt = max((oh - 1) * sh + dkh - H, 0) // 2
        pl = max((ow - 1) * sw + dkw - W, 0) // 2
    else:
        oh, ow = (H - dkh) // sh + 1, (W - dkw) // sw + 1
        pt = pl = 0
    out = np.zeros((n, oh, ow, O), np.float64)
    for i in range(oh):
        for j in range(ow):
            for p in range(kh):
                for q in range(kw):
                    r, c = i * sh + p * dh - pt, j * sw + q * dw - pl
                    if 0 <= r < H and 0 <= c < W:
                        out[:, i, j, :] += x[:, r, c, :] @ w[p, q]
    return out + (0 if b is None else b)


def conv1d_ref(x, w, b=None, stride=1, padding="valid", dilation=1):
    if padding == "causal":
        x = np.pad(x, ((0, 0), (dilation * (w.shape[0] - 1), 0), (0, 0)))
        padding = "valid"
    y = conv2d_ref(x[:, :, None, :], w[:, None], b, (stride, 1), padding, (dilation, 1))
    return y[:, :, 0, :]


def deconv2d_ref(x, w, b=None, strides=(1, 1), padding="valid", dilation=(1, 1), output_padding=None):
    """Scatter-add: input cell (i, j) adds x[i, j] @ w[p, q].T at output (i*s + p*d - pad, ...);
    w (kh, kw, O, C); output size and leading pad as Keras / TensorFlow."""
    n, H, W, _ = x.shape
    kh, kw, O, _ = w.shape
    sizes, befores = [], []
    for L_in, k, s, d, op in zip((H, W), (kh, kw), strides, dilation, output_padding or (None, None)):
        dk = (k - 1) * d + 1
        if op is None:
            L = L_in * s + max(dk - s, 0) if padding == "valid" else L_in * s
        else:
            L = (L_in - 1) * s + dk - 2 * (dk // 2 if padding == "same" else 0) + op
        sizes.append(L)
        befores.append(max((L_in - 1) * s + dk - L, 0) // 2 if padding == "same" else 0)
    out = np.zeros((n, sizes[0], sizes[1], O), np.float64)
    for i in range(H):
        for j in range(W):
            for p in range(kh):
                for q in range(kw):
                    r = i * strides[0] + p * dilation[0] - befores[0]
                    c = j * strides[1] + q * dilation[1] - befores[1]
                    if 0 <= r < sizes[0] and 0 <= c < sizes[1]:
                        out[:, r, c, :] += x[:, i, j, :] @ w[p, q].T
    return out + (0 if b is None else b)


# ---- Dense ---------------------------------------------------------------------------------
def test_dense_matches_matmul():
    x, w, b = rand(5, 7), rand(7, 3), rand(3)
    y = run(nn.Dense(3), x, [w, b])
    np.testing.assert_allclose(y, x @ w + b, rtol=1e-5, atol=1e-5)
    y = run(nn.Dense(3, activation="relu", use_bias=False), x, [w])
    np.testing.assert_allclose(y, np.maximum(x @ w, 0), rtol=1e-5, atol=1e-5)


# ---- Conv1D / Conv2D -----------------------------------------------------------------------
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("kernel,strides,dilation", [((3, 3), (1, 1), (1, 1)), ((3, 3), (2, 2), (1, 1)),
                                                     ((2, 3), (2, 1), (1, 1)), ((3, 3), (1, 1), (2, 2)),
                                                     ((2, 3), (1, 1), (1, 3)), ((3, 2), (3, 2), (2, 1))])
def test_conv2d_matches_reference(padding, strides, dilation, kernel):
    x = rand(2, 9, 8, 3)
    w, b = rand(*kernel, 3, 4), rand(4)
    layer = nn.Conv2D(4, kernel, strides=strides, padding=padding, dilation_rate=dilation)
    y = run(layer, x, [w, b])
    np.testing.assert_allclose(y, conv2d_ref(x, w, b, strides, padding, dilation), rtol=1e-4, atol=1e-4)


def test_conv2d_activation_no_bias_and_groups():
    x, w = rand(2, 5, 5, 4), rand(3, 3, 4, 6)
    y = run(nn.Conv2D(6, 3, activation="relu", use_bias=False), x, [w])
    np.testing.assert_allclose(y, np.maximum(conv2d_ref(x, w), 0), rtol=1e-4, atol=1e-4)
    # groups=2: channels 0-1 -> filters 0-2, channels 2-3 -> filters 3-5; kernel (3, 3, 2, 6)
    wg, b = rand(3, 3, 2, 6), rand(6)
    y = run(nn.Conv2D(6, 3, groups=2), x, [wg, b])
    ref = np.concatenate([conv2d_ref(x[..., :2], wg[..., :3]), conv2d_ref(x[..., 2:], wg[..., 3:])], -1) + b
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
@pytest.mark.parametrize("stride,dilation", [(1, 1), (2, 1), (1, 2), (3, 2)])
def test_conv1d_matches_reference(padding, stride, dilation):
    x, w, b = rand(3, 11, 2), rand(3, 2, 5), rand(5)
    y = run(nn.Conv1D(5, 3, strides=stride, padding=padding, dilation_rate=dilation), x, [w, b])
    np.testing.assert_allclose(y, conv1d_ref(x, w, b, stride, padding, dilation), rtol=1e-4, atol=1e-4)


def test_conv1d_causal_does_not_see_the_future():
    layer = nn.Conv1D(1, 3, padding="causal", dilation_rate=2)
    x = rand(1, 10, 1)
    y1 = run(layer, x)
    x2 = x.copy()
    x2[0, 6:] += 5.0
    y2 = np.asarray(layer(x2))
    np.testing.assert_allclose(y1[0, :6], y2[0, :6], rtol=1e-6)
    assert not np.allclose(y1[0, 6:], y2[0, 6:])


# ---- Conv2DTranspose -------------------------------------------------------------------------
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("kernel,strides,dilation", [((3, 3), (1, 1), (1, 1)), ((3, 3), (2, 2), (1, 1)),
                                                     ((2, 2), (2, 2), (1, 1)), ((4, 3), (2, 3), (1, 1)),
                                                     ((1, 1), (3, 3), (1, 1)), ((3, 3), (1, 1), (2, 2)),
                                                     ((5, 5), (2, 2), (1, 1))])
def test_conv2d_transpose_matches_scatter_add(padding, kernel, strides, dilation):
    x = rand(2, 4, 5, 3)
    w, b = rand(*kernel, 6, 3), rand(6)  # Keras layout (kh, kw, filters, in)
    layer = nn.Conv2DTranspose(6, kernel, strides=strides, padding=padding, dilation_rate=dilation)
    y = run(layer, x, [w, b])
    np.testing.assert_allclose(y, deconv2d_ref(x, w, b, strides, padding, dilation), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("output_padding", [(1, 0), (0, 1), (1, 1)])
def test_conv2d_transpose_output_padding(padding, output_padding):
    x, w, b = rand(1, 3, 4, 2), rand(3, 3, 4, 2), rand(4)
    layer = nn.Conv2DTranspose(4, 3, strides=2, padding=padding, output_padding=output_padding)
    y = run(layer, x, [w, b])
    np.testing.assert_allclose(y, deconv2d_ref(x, w, b, (2, 2), padding, (1, 1), output_padding),
                               rtol=1e-4, atol=1e-4)


def test_conv2d_transpose_keras_output_shapes_and_kernel_layout():
    s = (None, 7, 7, 3)
    assert nn.Conv2DTranspose(8, 3, strides=2, padding="same").compute_output_shape(s) == (None, 14, 14, 8)
    assert nn.Conv2DTranspose(8, 3, strides=2, padding="valid").compute_output_shape(s) == (None, 15, 15, 8)
    assert nn.Conv2DTranspose(8, 2, strides=2).compute_output_shape(s) == (None, 14, 14, 8)
    assert nn.Conv2DTranspose(8, 1, strides=3).compute_output_shape(s) == (None, 21, 21, 8)
    assert nn.Conv2DTranspose(8, 3).compute_output_shape(s) == (None, 9, 9, 8)
    assert nn.Conv2DTranspose(8, 3, strides=2, padding="same",
                              output_padding=0).compute_output_shape(s) == (None, 13, 13, 8)
    layer = nn.Conv2DTranspose(8, (3, 5))
    assert layer(nn.Input((7, 7, 3))).shape == (None, 9, 11, 8)
    assert layer.params["kernel"].shape == (3, 5, 8, 3)


def test_conv_transpose_is_gradient_of_conv():
    """<conv(x), g> == <x, convT(g)> for the same kernel (the transpose identity), valid and same."""
    for padding in ("valid", "same"):
        x, w = rand(1, 8, 8, 3), rand(3, 3, 3, 5)
        y = run(nn.Conv2D(5, 3, strides=2, padding=padding, use_bias=False), x, [w])
        g = rand(*y.shape)
        # Conv2DTranspose kernel (kh, kw, filters=in of conv, in=filters of conv) is the conv kernel
        # with in/out swapped.
        xt = run(nn.Conv2DTranspose(3, 3, strides=2, padding=padding, use_bias=False, output_padding=1), g,
                 [w])
        assert xt.shape == x.shape
        np.testing.assert_allclose(np.sum(y * g), np.sum(x * xt), rtol=1e-4)


# ---- shapes, parameter counts --------------------------------------------------------------
def test_conv_output_shapes_match_keras():
    s = (None, 28, 28, 1)
    assert nn.Conv2D(20, 5).compute_output_shape(s) == (None, 24, 24, 20)
    assert nn.Conv2D(20, 5, padding="same").compute_output_shape(s) == (None, 28, 28, 20)
    assert nn.Conv2D(8, 3, strides=2).compute_output_shape(s) == (None, 13, 13, 8)
    assert nn.Conv2D(8, 3, strides=2, padding="same").compute_output_shape(s) == (None, 14, 14, 8)
    assert nn.Conv2D(8, 3, dilation_rate=2).compute_output_shape(s) == (None, 24, 24, 8)
    # Keras 2: the positional third argument is the strides.
    assert nn.Conv2D(8, 3, 3).compute_output_shape(s) == (None, 9, 9, 8)
    assert nn.Conv1D(6, 5).compute_output_shape((None, 100, 4)) == (None, 96, 6)
    assert nn.Conv1D(6, 5, strides=3, padding="causal").compute_output_shape((None, 100, 4)) == (None, 34, 6)
    free = nn.Input((None, None, 3))
    assert nn.Conv2D(4, 3, strides=2, padding="same")(free).shape == (None, None, None, 4)


def test_conv2d_param_count_and_kernel_shape():
    layer = nn.Conv2D(20, (5, 5))
    layer(nn.Input((28, 28, 1)))
    assert layer.count_params() == 520
    assert layer.params["kernel"].shape == (5, 5, 1, 20)
    assert layer.weight_names == ["kernel", "bias"]


def lenet():
    return nn.Sequential([
        nn.Conv2D(20, 5, padding="same", input_shape=(28, 28, 1), activation="relu"),
        nn.MaxPooling2D(pool_size=(2, 2), strides=(2, 2)),
        nn.Conv2D(50, 5, padding="same", activation="relu"),
        nn.MaxPooling2D(pool_size=(2, 2), strides=(2, 2)),
        nn.Flatten(),
        nn.Dense(500, activation="relu"),
        nn.Dense(10, activation="softmax"),
    ])


def test_lenet_param_count():
    model = lenet()
    assert model.count_params() == 1_256_080
    assert model.output_shape == (None, 10)
    y = model.predict(rand(2, 28, 28, 1))
    assert y.shape == (2, 10)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)


def test_dqn_net_param_count():
    model = nn.Sequential([
        nn.Conv2D(32, 8, strides=4, padding="same", input_shape=(80, 80, 4), activation="relu"),
        nn.Conv2D(64, 4, strides=2, padding="same", activation="relu"),
        nn.Conv2D(64, 3, strides=1, padding="same", activation="relu"),
        nn.Flatten(),
        nn.Dense(512, activation="relu"),
        nn.Dense(3),
    ])
    assert model.count_params() == 3_356_835
    assert [l.compute_output_shape(l.input_shape) for l in model.layers[:3]] == [
        (None, 20, 20, 32), (None, 10, 10, 64), (None, 10, 10, 64)]


def test_default_names_are_keras_style():
    clear_session()
    assert nn.Conv2D(1, 1).name == "conv2d_1"
    assert nn.Conv2DTranspose(1, 1).name == "conv2d_transpose_1"
    assert nn.Conv1D(1, 1).name == "conv1d_1"
    clear_session()


def test_conv_config_round_trip():
    layer = nn.Conv2D(7, (3, 2), strides=2, padding="same", dilation_rate=1, activation="relu",
                      kernel_regularizer=nn.regularizers.l2(0.01), name="c")
    cfg = layer.get_config()
    assert cfg["kernel_size"] == [3, 2] and cfg["strides"] == [2, 2] and cfg["padding"] == "same"
    assert cfg["filters"] == 7 and cfg["activation"] == "relu" and cfg["data_format"] == "channels_last"
    clone = nn.Conv2D.from_config(cfg)
    assert clone.get_config() == cfg
    t = nn.Conv2DTranspose(3, 3, strides=2, output_padding=1, name="t")
    assert nn.Conv2DTranspose.from_config(t.get_config()).get_config() == t.get_config()
    c1 = nn.Conv1D(3, 4, padding="causal", name="c1")
    assert nn.Conv1D.from_config(c1.get_config()).get_config() == c1.get_config()


def test_keras_conv_config_loads():
    """The Conv2D config Keras 2.15 writes (tests/fixtures/keras/cnn.h5) builds an Arena layer."""
    cfg = {"name": "conv2d", "trainable": True, "dtype": "float32", "batch_input_shape": [None, 8, 8, 1],
           "filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
           "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "relu",
           "use_bias": True,
           "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                  "config": {"seed": None}, "registered_name": None},
           "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
                                "registered_name": None},
           "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
           "kernel_constraint": None, "bias_constraint": None}
    layer = nn.Conv2D.from_config(cfg)
    assert layer.kernel_size == (3, 3) and layer.padding == "same"


# ---- errors ----------------------------------------------------------------------------------
def test_conv2d_on_flat_input_error():
    layer = nn.Conv2D(8, 3, name="conv2d_1")
    with pytest.raises(ValueError) as e:
        layer(nn.Input((784,)))
    msg = str(e.value)
    assert "Conv2D 'conv2d_1'" in msg and "rank 4" in msg and "(None, 784)" in msg
    assert "Reshape((28, 28, 1))" in msg
    with pytest.raises(ValueError, match=r"Conv1D .*rank 3.*Reshape\(\(10, 1\)\)"):
        nn.Conv1D(2, 3)(nn.Input((10,)))


def test_bad_padding_names_allowed_values():
    with pytest.raises(ValueError, match=r"padding must be one of 'valid', 'same'; got 'full'"):
        nn.Conv2D(4, 3, padding="full")
    with pytest.raises(ValueError, match=r"'valid', 'same', 'causal'"):
        nn.Conv1D(4, 3, padding="reflect")
    with pytest.raises(ValueError, match=r"'valid', 'same'"):
        nn.Conv2DTranspose(4, 3, padding="causal")
    assert nn.Conv2D(4, 3, padding="SAME").padding == "same"


def test_other_conv_argument_errors():
    with pytest.raises(ValueError, match="'channels_last'.*'channels_first'.*got 'NCHW'"):
        nn.Conv2D(4, 3, data_format="NCHW")
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2D(4, (3, 3, 3))
    with pytest.raises(ValueError, match="filters"):
        nn.Conv2D(0, 3)
    with pytest.raises(ValueError, match="too small"):
        nn.Conv2D(4, 5)(nn.Input((3, 3, 1)))
    with pytest.raises(ValueError, match="output_padding"):
        nn.Conv2DTranspose(4, 3, strides=2, output_padding=2)


# ---- a tiny CNN learns ---------------------------------------------------------------------------
def blobs(n, rng):
    """8x8 noisy images with a bright 2x2 blob in the top (class 0) or bottom (class 1) rows."""
    x = rng.normal(0, 0.3, size=(n, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 2, size=n)
    for i in range(n):
        r, c = rng.integers(0, 3) + (0 if y[i] == 0 else 5), rng.integers(0, 6)
        x[i, r:r + 2, c:c + 2, 0] += 1.5
    return x, np.eye(2, dtype=np.float32)[y]


def test_tiny_cnn_trains():
    arena.set_seed(0)
    rng = np.random.default_rng(1)
    x, y = blobs(256, rng)
    model = nn.Sequential([
        nn.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
        nn.MaxPooling2D(),
        nn.Flatten(),
        nn.Dense(2, activation="softmax"),
    ])
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    loss0, acc0 = model.evaluate(x, y, verbose=0)
    history = model.fit(x, y, batch_size=16, epochs=15, verbose=0)
    acc = history.history["accuracy"]
    assert acc[-1] > 0.9 and acc[-1] > acc0 + 0.3, (acc0, acc)
    assert history.history["loss"][-1] < 0.7 * loss0
    xt, yt = blobs(128, rng)
    _, test_acc = model.evaluate(xt, yt, verbose=0)
    assert test_acc > 0.85


@pytest.mark.parametrize("name", ["cnn", "functional"])
def test_keras_fixture_predictions(name):
    """Rebuild a Keras-made model from its config, copy its weights in by name and compare with the
    outputs Keras' own predict wrote. cnn.h5: Conv2D same/relu, MaxPooling2D, Conv2D strides 2,
    BatchNormalization with trained moving statistics, Flatten, Dense; functional.h5: two inputs,
    a shared Dense and Concatenate."""
    import json
    import os

    h5py = pytest.importorskip("h5py")
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "keras")
    with h5py.File(os.path.join(here, f"{name}.h5"), "r") as f:
        config = json.loads(f.attrs["model_config"])
        cls = nn.Sequential if config["class_name"] == "Sequential" else nn.Model
        model = cls.from_config(config["config"])
        group = f["model_weights"]
        for layer in model.layers:
            names = [n.decode() if isinstance(n, bytes) else n for n in group[layer.name].attrs["weight_names"]]
            by_name = {n.split("/")[-1].split(":")[0]: np.asarray(group[layer.name][n]) for n in names}
            layer.set_weights([by_name[n] for n in layer.weight_names])
    io = np.load(os.path.join(here, f"{name}_io.npz"))
    inputs = io["x"] if "x" in io else [io["a"], io["b"]]
    np.testing.assert_allclose(model.predict(inputs), io["y"], rtol=1e-4, atol=1e-5)


def test_activation_layers_match_numpy(fresh_session):
    from arena.nn import ELU, PReLU, ReLU, Softmax, ThresholdedReLU
    x = np.linspace(-3, 3, 24, dtype="float32").reshape(2, 3, 4)
    np.testing.assert_allclose(ReLU()(x), np.maximum(x, 0))
    np.testing.assert_allclose(ReLU(max_value=1.5, negative_slope=0.1, threshold=0.5)(x),
                               np.where(x >= 0.5, np.minimum(x, 1.5), 0.1 * (x - 0.5)), rtol=1e-6)
    np.testing.assert_allclose(ELU(alpha=0.7)(x), np.where(x > 0, x, 0.7 * (np.exp(x) - 1)), rtol=1e-6)
    np.testing.assert_allclose(ThresholdedReLU(theta=1.0)(x), np.where(x > 1.0, x, 0.0))
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(Softmax(axis=1)(x), e / e.sum(axis=1, keepdims=True), rtol=1e-6)
    prelu = PReLU(alpha_initializer="ones", shared_axes=[1])
    prelu(x)
    assert prelu.get_weights()[0].shape == (1, 4)  # one alpha per feature, shared over axis 1
    alpha = np.array([[0.1, 0.2, 0.3, 0.4]], "float32")
    prelu.set_weights([alpha])
    np.testing.assert_allclose(prelu(x), np.where(x >= 0, x, alpha * x), rtol=1e-6)
    with pytest.raises(ValueError, match="ReLU 're_lu_\\d+': negative_slope must be"):
        ReLU(negative_slope=-1)
    with pytest.raises(ValueError, match="shared axis 3 is beyond the input's rank"):
        PReLU(shared_axes=[3])(np.ones((2, 4), "float32"))


CHANNELS_FIRST_LAYERS = [
    lambda f: nn.Conv2D(4, 3, strides=2, padding="same", data_format=f),
    lambda f: nn.Conv2DTranspose(4, 3, strides=2, padding="same", data_format=f),
    lambda f: nn.MaxPooling2D(2, data_format=f),
    lambda f: nn.AveragePooling2D(3, strides=2, padding="same", data_format=f),
    lambda f: nn.GlobalAveragePooling2D(data_format=f, keepdims=True),
    lambda f: nn.GlobalMaxPooling2D(data_format=f),
    lambda f: nn.ZeroPadding2D(((1, 2), (0, 1)), data_format=f),
    lambda f: nn.Cropping2D(((1, 2), (0, 1)), data_format=f),
    lambda f: nn.UpSampling2D((2, 3), data_format=f, interpolation="bilinear"),
]


def test_channels_first_is_channels_last_on_transposed_data_with_the_same_weights():
    x = rand(2, 3, 7, 6)  # (batch, channels, height, width)
    to_first = (0, 3, 1, 2)
    for make in CHANNELS_FIRST_LAYERS:
        first, last = make("channels_first"), make("channels_last")
        y_first = run(first, x)
        y_last = run(last, x.transpose(0, 2, 3, 1), first.get_weights() or None)
        expected = y_last.transpose(to_first) if y_last.ndim == 4 else y_last
        np.testing.assert_allclose(y_first, expected, rtol=1e-5, atol=1e-5, err_msg=type(first).__name__)
        assert first.get_config()["data_format"] == "channels_first"
    # SpatialDropout2D drops whole (height, width) maps of a channel
    y = np.asarray(nn.SpatialDropout2D(0.5, data_format="channels_first")(np.ones((4, 8, 3, 3)), training=True,
                                                                           key=jax.random.key(0)))
    assert ((y == 0).all(axis=(2, 3)) | (y != 0).all(axis=(2, 3))).all() and (y == 0).any() and (y != 0).any()
