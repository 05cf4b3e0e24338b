"""Custom layers written as Keras users write them (E7.6's LRN and a layer with weights), Lambda
layers with output-shape functions (E7.5), and the book's harness."""
import jax.numpy as jnp
import numpy as np
import pytest

from arena.nn import Layer, Sequential, load_model
from arena.nn.optimizers import Adam
from scripts.custom_layers import (LocalResponseNormalization, distance_shape, euclidean_distance, harness, main,
                                   towers)


def numpy_lrn(x, n=5, alpha=0.0005, beta=0.75, k=2):
    """The book's formula with loops: average of x^2 over an (n//2)-wide window starting at each pixel
    ('same' padding after the pixel, padding not counted), summed over channels."""
    half = n // 2
    b, h, w, c = x.shape
    pooled = np.zeros_like(x)
    for i in range(h):
        for j in range(w):
            pooled[:, i, j, :] = np.mean(x[:, i:i + half, j:j + half, :] ** 2, axis=(1, 2))
    summed = pooled.sum(axis=3, keepdims=True)
    return x / (k + alpha / n * summed) ** beta


def test_lrn_matches_the_book_formula():
    x = np.random.default_rng(0).normal(size=(2, 5, 4, 3)).astype(np.float32) * 10
    model = Sequential([LocalResponseNormalization(input_shape=(5, 4, 3))])
    np.testing.assert_allclose(model.predict(x), numpy_lrn(x), rtol=1e-5)


def test_the_book_harness_shapes():
    assert main() == {"Dropout(0.5)": (1, 10, 10), "ZeroPadding2D(1)": (1, 12, 12, 3),
                      "Reshape((5, 20))": (1, 5, 20), "LocalResponseNormalization": (1, 225, 225, 3)}


class Linear(Layer):
    """A Keras-style layer with weights and no compute_output_shape (the shape is traced)."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)
        super().build(input_shape)

    def call(self, inputs, training=None):
        y = jnp.matmul(inputs, self.w) + self.b
        return y * 2.0 if training else y

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config


def data(n=64):
    r = np.random.default_rng(0)
    x = r.normal(size=(n, 4)).astype(np.float32)
    return x, x @ r.normal(size=(4, 3)).astype(np.float32)


def test_keras_style_layer_trains_saves_and_loads(tmp_path):
    layer = Linear(3, input_shape=(4,))
    model = Sequential([layer])
    assert model.output_shape == (None, 3)
    assert [w.name for w in layer._weights] == ["variable", "variable_1"]
    x, y = data()
    w, b = layer.get_weights()
    np.testing.assert_allclose(model.predict(x), x @ w + b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(layer(x, training=True)), 2 * (x @ w + b), rtol=1e-5, atol=1e-6)
    assert isinstance(layer.w, str) and layer.w == "variable"  # the attribute is the name again after a call
    model.compile(optimizer=Adam(0.05), loss="mse")
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
    model.save(tmp_path / "custom.h5")
    with pytest.raises(ValueError, match="Linear"):
        load_model(tmp_path / "custom.h5")
    again = load_model(tmp_path / "custom.h5", custom_objects={"Linear": Linear})
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6)
    assert again.layers[0].units == 3


def test_lrn_round_trips_through_a_model_file(tmp_path):
    model = Sequential([LocalResponseNormalization(n=3, beta=0.5, input_shape=(6, 6, 2))])
    x = np.random.default_rng(1).normal(size=(2, 6, 6, 2)).astype(np.float32)
    model.save(tmp_path / "lrn.h5")
    again = load_model(tmp_path / "lrn.h5", custom_objects={"LocalResponseNormalization": LocalResponseNormalization})
    assert (again.layers[0].n, again.layers[0].beta) == (3, 0.5)
    np.testing.assert_allclose(again.predict(x), numpy_lrn(x, n=3, beta=0.5), rtol=1e-5)
    assert harness(LocalResponseNormalization(), (8, 8, 3)) == (1, 8, 8, 3)


def test_lambda_distance_with_an_output_shape_function():
    model = towers(features=5, units=3)
    assert model.output_shape == (None, 1)
    r = np.random.default_rng(2)
    a, b = r.normal(size=(4, 5)).astype(np.float32), r.normal(size=(4, 5)).astype(np.float32)
    (wa, ba), (wb, bb) = model.layers[2].get_weights(), model.layers[3].get_weights()
    want = np.sqrt(np.sum((a @ wa + ba - (b @ wb + bb)) ** 2, axis=1, keepdims=True))
    np.testing.assert_allclose(model.predict([a, b]), want, rtol=1e-5)
    assert distance_shape([(None, 3), (None, 3)]) == (None, 1)
    np.testing.assert_allclose(np.asarray(euclidean_distance([jnp.ones((1, 4)), jnp.zeros((1, 4))])), [[2.0]])


def test_lrn_refuses_a_non_image_input():
    with pytest.raises(ValueError, match="LocalResponseNormalization .* takes images"):
        Sequential([LocalResponseNormalization(input_shape=(10,))])
