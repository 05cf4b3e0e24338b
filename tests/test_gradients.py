"""Gradient checks: JAX's reverse-mode gradients of layers (and a small model's loss) against
finite differences, in float64.

64-bit mode is switched on only while this module's tests run (``jax.enable_x64`` as a context
manager, restored on teardown), so the other test modules keep float32 semantics.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import arena
from arena import nn
from arena.nn import losses

TOL = dict(atol=1e-5, rtol=1e-5, eps=1e-6)


@pytest.fixture(autouse=True, scope="module")
def float64():
    with jax.enable_x64(True):
        yield


def f64(tree):
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), tree)


def built(layer, shape, seed=0):
    arena.set_seed(seed)
    layer._ensure_built((None,) + shape)
    return f64(layer.params), f64(layer.state)


def rand(*shape, seed=0):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float64)


def check_layer(layer, x, training=False):
    """d sum(w * layer(x)) / d(params, x) against central differences (w fixed random weights,
    so every output contributes differently)."""
    params, state = built(layer, x.shape[1:])
    y, _ = layer.apply(params, state, x, training=training)
    assert y.dtype == jnp.float64
    w = rand(*y.shape, seed=1)

    def f(p, xx):
        out, _ = layer.apply(p, state, xx, training=training)
        return jnp.sum(w * out)
    check_grads(jax.jit(f), (params, x), order=1, modes=("rev",), **TOL)


def test_float64_is_on_here():
    assert jnp.ones(1).dtype == jnp.float64


def test_dense_gradients():
    check_layer(nn.Dense(3, activation="tanh"), rand(4, 5))


@pytest.mark.parametrize("padding,strides", [("valid", 1), ("same", 2)])
def test_conv2d_gradients(padding, strides):
    check_layer(nn.Conv2D(3, 3, strides=strides, padding=padding, activation="tanh"), rand(2, 6, 5, 2))


def test_conv1d_and_transpose_gradients():
    check_layer(nn.Conv1D(2, 3, padding="causal", dilation_rate=2), rand(2, 7, 3))
    check_layer(nn.Conv2DTranspose(2, 3, strides=2, padding="same"), rand(2, 3, 3, 2))


@pytest.mark.parametrize("cls", [nn.MaxPooling2D, nn.AveragePooling2D])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pooling_gradients(cls, padding):
    # Distinct values (no ties) keep the max differentiable at the test point.
    x = rand(2, 5, 5, 2)
    check_layer(cls(pool_size=3, strides=2, padding=padding), x)


def test_global_pooling_gradients():
    check_layer(nn.GlobalMaxPooling2D(), rand(2, 4, 4, 3))
    check_layer(nn.GlobalAveragePooling1D(), rand(2, 4, 3))


@pytest.mark.parametrize("shape", [(8, 3), (3, 4, 4, 2)])
def test_batchnorm_gradients_training_and_inference(shape):
    x = rand(*shape) * 2 + 1
    check_layer(nn.BatchNormalization(), x, training=True)   # through the batch statistics
    check_layer(nn.BatchNormalization(), x, training=False)  # moving statistics


def test_merge_gradients():
    a, b = rand(3, 4), rand(3, 4, seed=2)
    for layer in (nn.Multiply(), nn.Dot(axes=1, normalize=True), nn.Concatenate(), nn.Maximum()):
        layer._ensure_built([(None, 4), (None, 4)])
        w = rand(*layer.compute_output_shape([(3, 4), (3, 4)]), seed=3)
        check_grads(jax.jit(lambda xa, xb: jnp.sum(w * layer.apply({}, {}, [xa, xb])[0])), (a, b), order=1,
                    modes=("rev",), **TOL)


def test_small_cnn_loss_gradients():
    """The gradient of a compiled-style loss through Conv2D -> BatchNorm -> MaxPool -> Dense softmax,
    with respect to every parameter of the model."""
    arena.set_seed(3)
    model = nn.Sequential([
        nn.Conv2D(3, 3, padding="same", activation="relu", input_shape=(6, 6, 1)),
        nn.BatchNormalization(),
        nn.MaxPooling2D(),
        nn.Flatten(),
        nn.Dense(3, activation="softmax"),
    ])
    params, state = f64(model.params), f64(model.state)
    x = rand(4, 6, 6, 1, seed=4)
    y = jnp.eye(3, dtype=jnp.float64)[jnp.array([0, 1, 2, 1])]
    loss_fn = losses.get("categorical_crossentropy")

    @jax.jit
    def loss(p):
        (out,), _, _ = model.forward(p, state, [x], training=True)
        return jnp.mean(loss_fn(y, out))
    check_grads(loss, (params,), order=1, modes=("rev",), **TOL)
    # And jax.grad agrees with a one-sided numerical derivative along a random direction.
    g = jax.grad(loss)(params)
    d = jax.tree_util.tree_map(lambda a: rand(*a.shape, seed=5), params)
    h = 1e-6
    numeric = (loss(jax.tree_util.tree_map(lambda a, v: a + h * v, params, d)) -
               loss(jax.tree_util.tree_map(lambda a, v: a - h * v, params, d))) / (2 * h)
    analytic = sum(jnp.sum(a * b) for a, b in zip(jax.tree_util.tree_leaves(g), jax.tree_util.tree_leaves(d)))
    np.testing.assert_allclose(float(analytic), float(numeric), rtol=1e-5)
