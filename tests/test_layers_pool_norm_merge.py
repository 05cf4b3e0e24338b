"""Pooling, BatchNormalization, merge and spatial reshaping layers against numpy references."""
import math

import jax.numpy as jnp
import numpy as np
import pytest

import arena
from arena import nn

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def run(layer, x):
    """Run ``layer`` eagerly on x (an array or a list of arrays) and check that compute_output_shape
    agrees with the real output's shape."""
    y = np.asarray(layer(x))
    shape = [(None,) + a.shape[1:] for a in x] if isinstance(x, list) else (None,) + x.shape[1:]
    assert layer.compute_output_shape(shape) == (None,) + y.shape[1:]
    return y


# ---- pooling ---------------------------------------------------------------------------------
def pool2d_ref(x, pool, strides, padding, op):
    """Naive windows; 'same' windows see only real cells (TensorFlow's padding placement)."""
    n, H, W, C = x.shape
    (ph, pw), (sh, sw) = pool, strides
    if padding == "same":
        oh, ow = math.ceil(H / sh), math.ceil(W / sw)
        pt, pl = max((oh - 1) * sh + ph - H, 0) // 2, max((ow - 1) * sw + pw - W, 0) // 2
    else:
        oh, ow, pt, pl = (H - ph) // sh + 1, (W - pw) // sw + 1, 0, 0
    out = np.zeros((n, oh, ow, C), np.float64)
    for i in range(oh):
        for j in range(ow):
            rows = [r for r in range(i * sh - pt, i * sh - pt + ph) if 0 <= r < H]
            cols = [c for c in range(j * sw - pl, j * sw - pl + pw) if 0 <= c < W]
            win = x[:, rows][:, :, cols]
            out[:, i, j] = win.max(axis=(1, 2)) if op == "max" else win.mean(axis=(1, 2))
    return out


@pytest.mark.parametrize("op", ["max", "avg"])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("pool,strides", [((2, 2), None), ((3, 3), (2, 2)), ((2, 3), (1, 2)), ((3, 2), (3, 1))])
def test_pooling2d_matches_reference(op, padding, pool, strides):
    x = rand(2, 7, 8, 3)
    cls = nn.MaxPooling2D if op == "max" else nn.AveragePooling2D
    y = run(cls(pool_size=pool, strides=strides, padding=padding), x)
    np.testing.assert_allclose(y, pool2d_ref(x, pool, strides or pool, padding, op), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", ["max", "avg"])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("pool,strides", [(2, None), (3, 2), (4, 3)])
def test_pooling1d_matches_reference(op, padding, pool, strides):
    x = rand(2, 11, 3)
    cls = nn.MaxPooling1D if op == "max" else nn.AveragePooling1D
    y = run(cls(pool_size=pool, strides=strides, padding=padding), x)
    ref = pool2d_ref(x[:, :, None, :], (pool, 1), (strides or pool, 1), padding, op)[:, :, 0, :]
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


def test_average_same_pooling_divides_by_real_cells():
    x = np.ones((1, 3, 3, 1), np.float32)
    y = run(nn.AveragePooling2D(2, padding="same"), x)  # windows overhang the bottom/right border
    np.testing.assert_allclose(y, np.ones((1, 2, 2, 1)))


def test_pooling_shapes_and_defaults():
    layer = nn.MaxPooling2D()
    assert layer.pool_size == (2, 2) and layer.strides == (2, 2) and layer.padding == "valid"
    assert layer.compute_output_shape((None, 28, 28, 20)) == (None, 14, 14, 20)
    assert layer.compute_output_shape((None, 7, 7, 50)) == (None, 3, 3, 50)
    assert nn.MaxPooling2D(padding="same").compute_output_shape((None, 7, 7, 5)) == (None, 4, 4, 5)
    assert nn.AveragePooling1D(3, 2).compute_output_shape((None, 10, 4)) == (None, 4, 4)
    assert nn.MaxPooling2D().compute_output_shape((None, None, None, 3)) == (None, None, None, 3)
    assert nn.MaxPool2D is nn.MaxPooling2D and nn.GlobalAvgPool2D is nn.GlobalAveragePooling2D


def test_global_pooling():
    x = rand(3, 4, 5, 6)
    np.testing.assert_allclose(run(nn.GlobalMaxPooling2D(), x), x.max(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(run(nn.GlobalAveragePooling2D(), x), x.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(run(nn.GlobalAveragePooling2D(keepdims=True), x),
                               x.mean(axis=(1, 2), keepdims=True), rtol=1e-5, atol=1e-6)
    s = rand(3, 7, 2)
    np.testing.assert_allclose(run(nn.GlobalMaxPooling1D(), s), s.max(axis=1), rtol=1e-6)
    np.testing.assert_allclose(run(nn.GlobalAveragePooling1D(), s), s.mean(axis=1), rtol=1e-5, atol=1e-6)


def test_pooling_errors_and_config():
    with pytest.raises(ValueError, match=r"MaxPooling2D .*rank 4 .*\(None, 784\).*Reshape\(\(28, 28, 1\)\)"):
        nn.MaxPooling2D()(nn.Input((784,)))
    with pytest.raises(ValueError, match=r"padding must be one of 'valid', 'same'; got 'causal'"):
        nn.AveragePooling1D(padding="causal")
    with pytest.raises(ValueError, match="smaller than pool_size"):
        nn.MaxPooling2D(5)(nn.Input((3, 3, 1)))
    keras_cfg = {"name": "max_pooling2d", "trainable": True, "dtype": "float32", "pool_size": [2, 2],
                 "padding": "valid", "strides": [2, 2], "data_format": "channels_last"}
    layer = nn.MaxPooling2D.from_config(keras_cfg)
    assert layer.get_config() == keras_cfg
    g = nn.GlobalAveragePooling1D(name="g")
    assert nn.GlobalAveragePooling1D.from_config(g.get_config()).get_config() == g.get_config()


# ---- BatchNormalization ------------------------------------------------------------------------
def bn_layer(x, **kwargs):
    layer = nn.BatchNormalization(**kwargs)
    layer._ensure_built((None,) + x.shape[1:])
    feats = layer.params.get("gamma", layer.state["moving_mean"]).shape
    weights = []
    if layer.scale:
        weights.append(RNG.uniform(0.5, 1.5, size=feats).astype(np.float32))
    if layer.center:
        weights.append(rand(*feats))
    weights += [rand(*feats), RNG.uniform(0.5, 2.0, size=feats).astype(np.float32)]
    layer.set_weights(weights)
    return layer


@pytest.mark.parametrize("shape,axis", [((16, 5), -1), ((6, 7, 4), -1), ((4, 5, 6, 3), -1), ((6, 4, 7), 1),
                                        ((3, 4, 5, 6), [1, 3])])
def test_batchnorm_training_and_inference(shape, axis):
    x = rand(*shape) * 3 + 1
    layer = bn_layer(x, axis=axis, momentum=0.9, epsilon=1e-3)
    gamma, beta, mm, mv = layer.get_weights()
    axes = [axis % len(shape)] if isinstance(axis, int) else list(axis)
    reduce = tuple(i for i in range(len(shape)) if i not in axes)
    bshape = [shape[i] if i in axes else 1 for i in range(len(shape))]

    def b(v):
        return v.reshape(bshape)

    # Training: batch statistics (biased variance) normalise; moving stats move by the momentum,
    # with the unbiased batch variance as Keras 2.
    y, new_state = layer.apply(layer.params, layer.state, jnp.asarray(x), training=True)
    mean, var = x.mean(axis=reduce), x.var(axis=reduce)
    np.testing.assert_allclose(np.asarray(y), b(gamma) * (x - b(mean)) / np.sqrt(b(var) + 1e-3) + b(beta),
                               rtol=1e-4, atol=1e-4)
    n = np.prod([shape[i] for i in reduce])
    np.testing.assert_allclose(np.asarray(new_state["moving_mean"]), 0.9 * mm + 0.1 * mean.reshape(mm.shape),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(new_state["moving_variance"]),
                               0.9 * mv + 0.1 * (var * n / (n - 1)).reshape(mv.shape), rtol=1e-5, atol=1e-5)
    # Inference: the moving statistics; the state is unchanged.
    y, same_state = layer.apply(layer.params, layer.state, jnp.asarray(x), training=False)
    np.testing.assert_allclose(np.asarray(y), b(gamma) * (x - b(mm)) / np.sqrt(b(mv) + 1e-3) + b(beta),
                               rtol=1e-4, atol=1e-4)
    assert same_state is layer.state
    np.testing.assert_allclose(run(layer, x), np.asarray(y), rtol=1e-6)  # eager call = inference


def test_batchnorm_weights_order_and_options():
    layer = nn.BatchNormalization()
    layer(nn.Input((5, 5, 8)))
    assert layer.weight_names == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert layer.count_params() == 32 and list(layer.params) == ["gamma", "beta"]
    assert [w.shape for w in layer.get_weights()] == [(8,)] * 4
    layer = nn.BatchNormalization(center=False)
    layer(nn.Input((3,)))
    assert layer.weight_names == ["gamma", "moving_mean", "moving_variance"]
    x = rand(10, 3)
    layer = bn_layer(x, scale=False, momentum=0.0)
    beta, _, _ = layer.get_weights()
    y, st = layer.apply(layer.params, layer.state, jnp.asarray(x), training=True)
    np.testing.assert_allclose(np.asarray(y), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3) + beta, rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(np.asarray(st["moving_mean"]), x.mean(0), rtol=1e-5, atol=1e-6)
    # A frozen layer runs in inference mode (TF2 Keras) and keeps its statistics.
    layer.trainable = False
    y2, st2 = layer.apply(layer.params, layer.state, jnp.asarray(x), training=True)
    assert st2 is layer.state


def test_batchnorm_in_fit_updates_moving_stats_and_regularizes():
    arena.set_seed(0)
    # The first Dense is frozen so the features BatchNormalization sees stay fixed during training.
    model = nn.Sequential([nn.Dense(4, input_shape=(3,), trainable=False),
                           nn.BatchNormalization(momentum=0.5, gamma_regularizer=nn.regularizers.l2(0.1)),
                           nn.Dense(1)])
    bn = model.layers[1]
    assert float(bn.regularization_loss(bn.params)) == pytest.approx(0.1 * 4)
    model.compile("sgd", "mse")
    x, y = rand(64, 3) * 2 + 3, rand(64, 1)
    h = np.asarray(model.layers[0](x), np.float64)
    steps = 12
    model.fit(x, y, batch_size=64, epochs=steps, verbose=0)  # one full batch per step
    decay = 0.5 ** steps
    np.testing.assert_allclose(np.asarray(bn.state["moving_mean"]), (1 - decay) * h.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(bn.state["moving_variance"]),
                               (1 - decay) * h.var(0, ddof=1) + decay, rtol=1e-4, atol=1e-4)
    # predict uses the moving statistics.
    gamma, beta, mm, mv = bn.get_weights()
    w, b = model.layers[2].get_weights()
    ref = ((h - mm) / np.sqrt(mv + 1e-3) * gamma + beta) @ w + b
    np.testing.assert_allclose(model.predict(x), ref, rtol=1e-4, atol=1e-4)


def test_batchnorm_errors_and_keras_config():
    with pytest.raises(ValueError, match="batch axis"):
        nn.BatchNormalization(axis=0)(nn.Input((3,)))
    with pytest.raises(ValueError, match="out of range"):
        nn.BatchNormalization(axis=3)(nn.Input((3,)))
    keras_cfg = {"name": "batch_normalization", "trainable": True, "dtype": "float32", "axis": [3],
                 "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True,
                 "beta_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
                                      "registered_name": None},
                 "gamma_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {},
                                       "registered_name": None},
                 "moving_mean_initializer": {"module": "keras.initializers", "class_name": "Zeros",
                                             "config": {}, "registered_name": None},
                 "moving_variance_initializer": {"module": "keras.initializers", "class_name": "Ones",
                                                 "config": {}, "registered_name": None},
                 "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                 "gamma_constraint": None}
    layer = nn.BatchNormalization.from_config(keras_cfg)
    layer(nn.Input((2, 2, 6)))
    assert layer.params["gamma"].shape == (6,)
    cfg = layer.get_config()
    assert nn.BatchNormalization.from_config(cfg).get_config() == cfg


# ---- merge layers ------------------------------------------------------------------------------
def test_elementwise_merges():
    a, b, c = rand(4, 3, 2), rand(4, 3, 2), rand(4, 3, 2)
    np.testing.assert_allclose(run(nn.Add(), [a, b, c]), a + b + c, rtol=1e-6)
    np.testing.assert_allclose(run(nn.Subtract(), [a, b]), a - b, rtol=1e-6)
    np.testing.assert_allclose(run(nn.Multiply(), [a, b, c]), a * b * c, rtol=1e-6)
    np.testing.assert_allclose(run(nn.Average(), [a, b, c]), (a + b + c) / 3, rtol=1e-5)
    np.testing.assert_allclose(run(nn.Maximum(), [a, b, c]), np.maximum(np.maximum(a, b), c))
    np.testing.assert_allclose(run(nn.Minimum(), [a, b, c]), np.minimum(np.minimum(a, b), c))
    # Keras broadcasting: size-1 axes, and a lower-rank input gains axes after the batch axis.
    d, e = rand(4, 1, 2), rand(4, 2)
    np.testing.assert_allclose(run(nn.Add(), [a, d]), a + d, rtol=1e-6)
    np.testing.assert_allclose(run(nn.Multiply(), [a, e]), a * e[:, None, :], rtol=1e-6)


def test_concatenate():
    a, b = rand(2, 3, 4), rand(2, 3, 5)
    np.testing.assert_allclose(run(nn.Concatenate(), [a, b]), np.concatenate([a, b], -1))
    c = rand(2, 1, 4)
    np.testing.assert_allclose(run(nn.Concatenate(axis=1), [a, c]), np.concatenate([a, c], 1))
    assert nn.Concatenate(axis=1).compute_output_shape([(None, None, 4), (None, 2, 4)]) == (None, None, 4)


def test_dot():
    a, b = rand(5, 4), rand(5, 4)
    np.testing.assert_allclose(run(nn.Dot(axes=1), [a, b]), (a * b).sum(1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(run(nn.Dot(axes=-1), [a, b]), (a * b).sum(1, keepdims=True), rtol=1e-5)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(run(nn.Dot(axes=1, normalize=True), [a, b])[:, 0], cos, rtol=1e-5)
    x, y = rand(5, 3, 4), rand(5, 6, 4)
    np.testing.assert_allclose(run(nn.Dot(axes=(2, 2)), [x, y]), np.einsum("bik,bjk->bij", x, y), rtol=1e-5)
    z = rand(5, 3, 6)
    np.testing.assert_allclose(run(nn.Dot(axes=(1, 1)), [x, z]), np.einsum("bki,bkj->bij", x, z), rtol=1e-5)
    w = rand(5, 4, 2)
    np.testing.assert_allclose(run(nn.Dot(axes=(2, 1)), [x, w]), np.einsum("bik,bkj->bij", x, w), rtol=1e-5)


def test_functional_helpers_build_a_model_and_round_trip():
    a, b = nn.Input((4,), name="a"), nn.Input((4,), name="b")
    h = nn.concatenate([nn.add([a, b]), nn.subtract([a, b]), nn.multiply([a, b]), nn.average([a, b]),
                        nn.maximum([a, b]), nn.minimum([a, b]), nn.dot([a, b], axes=1)], axis=-1)
    assert h.shape == (None, 25)
    model = nn.Model([a, b], h)
    xa, xb = rand(3, 4), rand(3, 4)
    y = model.predict([xa, xb])
    ref = np.concatenate([xa + xb, xa - xb, xa * xb, (xa + xb) / 2, np.maximum(xa, xb), np.minimum(xa, xb),
                          (xa * xb).sum(1, keepdims=True)], -1)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    clone = nn.Model.from_config(model.get_config())
    np.testing.assert_allclose(clone.predict([xa, xb]), ref, rtol=1e-5, atol=1e-6)
    cfg = nn.Dot(axes=(1, 2), normalize=True, name="d").get_config()
    assert cfg["axes"] == [1, 2] and cfg["normalize"] is True
    assert nn.Concatenate(axis=1, name="c").get_config()["axis"] == 1


def test_merge_errors():
    with pytest.raises(ValueError, match=r"Add '.*': inputs of shapes \(None, 4\), \(None, 5\) cannot be combined"):
        nn.Add()([nn.Input((4,)), nn.Input((5,))])
    with pytest.raises(ValueError, match=r"Concatenate .*matching shapes except on the concatenation axis.*"
                                         r"\(None, 3, 4\), \(None, 2, 5\)"):
        nn.Concatenate()([nn.Input((3, 4)), nn.Input((2, 5))])
    with pytest.raises(ValueError, match="same rank"):
        nn.Concatenate()([nn.Input((3, 4)), nn.Input((4,))])
    with pytest.raises(ValueError, match="at least 2 inputs; got 1"):
        nn.Add()([nn.Input((4,))])
    with pytest.raises(ValueError, match="list of at least 2 inputs"):
        nn.Multiply()(nn.Input((4,)))
    with pytest.raises(ValueError, match="exactly 2 inputs; got 3"):
        nn.Subtract()([nn.Input((4,))] * 3)
    with pytest.raises(ValueError, match="dimension incompatibility"):
        nn.Dot(axes=1)([nn.Input((4,)), nn.Input((5,))])
    with pytest.raises(ValueError, match="batch axis"):
        nn.Concatenate(axis=0)([nn.Input((4,)), nn.Input((4,))])


# ---- spatial reshaping ---------------------------------------------------------------------------
def test_zero_padding():
    x = rand(2, 3, 4, 2)
    for padding, pads in [(1, ((1, 1), (1, 1))), ((2, 1), ((2, 2), (1, 1))), (((1, 2), (0, 3)), ((1, 2), (0, 3)))]:
        layer = nn.ZeroPadding2D(padding)
        np.testing.assert_array_equal(run(layer, x), np.pad(x, ((0, 0),) + pads + ((0, 0),)))
        assert nn.ZeroPadding2D.from_config(layer.get_config()).padding == pads
    s = rand(2, 5, 3)
    np.testing.assert_array_equal(run(nn.ZeroPadding1D((1, 2)), s), np.pad(s, ((0, 0), (1, 2), (0, 0))))
    np.testing.assert_array_equal(run(nn.ZeroPadding1D(), s), np.pad(s, ((0, 0), (1, 1), (0, 0))))
    with pytest.raises(ValueError, match="padding must be one of"):
        nn.ZeroPadding2D((1, 2, 3))


def test_cropping():
    x = rand(2, 6, 7, 2)
    np.testing.assert_array_equal(run(nn.Cropping2D(((1, 2), (0, 3))), x), x[:, 1:4, 0:4])
    np.testing.assert_array_equal(run(nn.Cropping2D(1), x), x[:, 1:5, 1:6])
    s = rand(2, 6, 3)
    np.testing.assert_array_equal(run(nn.Cropping1D((2, 1)), s), s[:, 2:5])
    with pytest.raises(ValueError, match="removes"):
        nn.Cropping2D(3)(nn.Input((6, 6, 1)))


def bilinear_ref(x, sh, sw):
    """TensorFlow 2 tf.image.resize bilinear (half-pixel centres) up-sampling."""
    def weights(n, s):
        src = np.clip((np.arange(n * s) + 0.5) / s - 0.5, 0, None)
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, n - 1)
        return i0, i1, src - i0
    r0, r1, fr = weights(x.shape[1], sh)
    c0, c1, fc = weights(x.shape[2], sw)
    fr, fc = fr[None, :, None, None], fc[None, None, :, None]
    top = x[:, r0][:, :, c0] * (1 - fc) + x[:, r0][:, :, c1] * fc
    bottom = x[:, r1][:, :, c0] * (1 - fc) + x[:, r1][:, :, c1] * fc
    return top * (1 - fr) + bottom * fr


def test_upsampling():
    x = rand(2, 3, 4, 2)
    np.testing.assert_array_equal(run(nn.UpSampling2D(), x), x.repeat(2, axis=1).repeat(2, axis=2))
    np.testing.assert_array_equal(run(nn.UpSampling2D((3, 1)), x), x.repeat(3, axis=1))
    np.testing.assert_allclose(run(nn.UpSampling2D((2, 3), interpolation="bilinear"), x), bilinear_ref(x, 2, 3),
                               rtol=1e-5, atol=1e-5)
    s = rand(2, 3, 2)
    np.testing.assert_array_equal(run(nn.UpSampling1D(3), s), s.repeat(3, axis=1))
    layer = nn.UpSampling2D((2, 3), interpolation="bilinear", name="u")
    assert nn.UpSampling2D.from_config(layer.get_config()).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="interpolation"):
        nn.UpSampling2D(interpolation="bicubic")
    assert nn.UpSampling2D().compute_output_shape((None, None, 5, 1)) == (None, None, 10, 1)
