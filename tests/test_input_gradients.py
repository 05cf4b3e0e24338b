"""``input_gradients``: gradients of a function of a model's (intermediate) outputs with respect to its
input, against finite differences; gradient ascent raises the objective (deep dream's mechanics)."""
import jax.numpy as jnp
import numpy as np
import pytest

import arena
from arena.nn import Conv2D, Dense, Flatten, Input, MaxPooling2D, Model, clear_session, input_gradients


@pytest.fixture
def net():
    clear_session()
    arena.set_seed(0)
    x = Input(shape=(6, 6, 2))
    h = Conv2D(3, 3, activation="tanh", padding="same", name="conv")(x)
    y = Dense(4, activation="softmax")(Flatten()(MaxPooling2D()(h)))
    return Model(x, y)


def finite_differences(f, x, eps=1e-3):
    grad = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


def test_gradient_of_an_intermediate_output_matches_finite_differences(net):
    features = Model(net.input, net.get_layer("conv").output)
    step = input_gradients(features, lambda out: jnp.mean(out[..., 1] ** 2))
    x = np.random.default_rng(0).normal(size=(1, 6, 6, 2)).astype(np.float64)
    value, grad = step(x)
    f = lambda a: float(np.mean(features.predict(a.astype(np.float32))[..., 1].astype(np.float64) ** 2))  # noqa: E731
    assert float(value) == pytest.approx(f(x), rel=1e-5)
    np.testing.assert_allclose(np.asarray(grad), finite_differences(f, x), rtol=2e-2, atol=2e-4)


def test_objective_may_read_the_input_and_several_inputs_give_several_gradients(net):
    step = input_gradients(net, lambda out, x: out[0, 2] - 0.1 * jnp.sum(x ** 2))
    x = np.random.default_rng(1).normal(size=(1, 6, 6, 2)).astype(np.float32)
    _, grad = step(x)
    _, plain = input_gradients(net, lambda out: out[0, 2])(x)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(plain) - 0.2 * x, rtol=1e-4, atol=1e-6)
    a, b = Input(shape=(3,)), Input(shape=(3,))
    two = Model([a, b], Dense(1)(arena.nn.concatenate([a, b])))
    w = two.layers[-1].get_weights()[0].ravel()
    _, (ga, gb) = input_gradients(two, lambda out: jnp.sum(out))([np.ones((2, 3)), np.zeros((2, 3))])
    np.testing.assert_allclose(np.asarray(ga), np.tile(w[:3], (2, 1)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(gb), np.tile(w[3:], (2, 1)), rtol=1e-6)


def test_gradient_ascent_raises_the_activation(net):
    features = Model(net.input, net.get_layer("conv").output)
    step = input_gradients(features, lambda out: jnp.mean(out[..., 0]))
    x = np.random.default_rng(2).normal(size=(1, 6, 6, 2)).astype(np.float32) * 0.1
    values = []
    for _ in range(5):
        value, grad = step(x)
        values.append(float(value))
        x = x + 0.5 * np.asarray(grad) / (np.sqrt(np.mean(np.square(grad))) + 1e-5)
    assert all(b > a for a, b in zip(values, values[1:]))


def test_new_weights_are_used_and_bad_objectives_are_refused(net):
    step = input_gradients(net, lambda out: jnp.sum(out[:, 0]))
    x = np.random.default_rng(3).normal(size=(2, 6, 6, 2)).astype(np.float32)
    _, before = step(x)
    net.set_weights([w * 2 for w in net.get_weights()])
    _, after = step(x)
    assert not np.allclose(np.asarray(before), np.asarray(after))
    with pytest.raises(ValueError, match="must return a scalar; it returned shape \\(2,\\)"):
        input_gradients(net, lambda out: out[:, 0])(x)
    with pytest.raises(ValueError, match="expects arrays of shape"):
        step(np.zeros((1, 5, 5, 2)))
    with pytest.raises(TypeError, match="objective must be a function"):
        input_gradients(net, "mean")
