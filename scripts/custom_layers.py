"""E7.5 and E7.6: Lambda layers and a custom layer written as Keras users write one, with the book's
test harness.

    python scripts/custom_layers.py

- E7.5: ``Lambda(lambda x: x ** 2)``, and the Euclidean distance between two Dense towers,
  ``sqrt(sum((x - y) ** 2, axis 1, keepdims))``, given an output-shape function.
- E7.6 (``tf-keras-func.py``): the book's local response normalization layer (n 5, alpha 0.0005,
  beta 0.75, k 2; channels-last, with the ``get_config`` the book leaves out) and its harness: rebuild
  a layer from ``get_config()`` with an input shape, wrap it in a Sequential model, compile (rmsprop,
  mse) and predict on random tensors. Checks: Dropout(0.5) on 10x10 keeps the shape, ZeroPadding2D(1)
  on 10x10x3 gives 12x12x3, Reshape((5, 20)) on 10x10 gives (5, 20), LRN on 225x225x3 keeps it.

A custom layer subclasses ``arena.nn.Layer`` as in Keras: ``build`` (weights from ``add_weight`` kept
as attributes), ``call(self, inputs)``, ``compute_output_shape``, ``get_config``. It is not
registered: loading a model that holds one takes ``custom_objects={'LocalResponseNormalization': ...}``.
"""
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from arena.nn import Dense, Dropout, Input, Lambda, Layer, Model, Reshape, Sequential, ZeroPadding2D  # noqa: E402


class LocalResponseNormalization(Layer):
    """The book's LRN (E7.6): x / (k + alpha / n * sum over channels of avg_pool(x^2))^beta, the
    average pool n // 2 wide, stride 1, 'same' (padding not counted, as Keras' pool2d)."""

    def __init__(self, n=5, alpha=0.0005, beta=0.75, k=2, **kwargs):
        super().__init__(**kwargs)
        self.n, self.alpha, self.beta, self.k = n, alpha, beta, k

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"LocalResponseNormalization '{self.name}' takes images (batch, rows, cols, "
                             f"channels); got shape {input_shape}")
        super().build(input_shape)

    def call(self, x):
        half = self.n // 2
        window, strides = (1, half, half, 1), (1, 1, 1, 1)
        sums = jax.lax.reduce_window(jnp.square(x), 0.0, jax.lax.add, window, strides, "SAME")
        counts = jax.lax.reduce_window(jnp.ones_like(x[:1, ..., :1]), 0.0, jax.lax.add, window, strides, "SAME")
        summed = jnp.sum(sums / counts, axis=3, keepdims=True)
        averaged = self.alpha / self.n * jnp.repeat(summed, x.shape[3], axis=3)
        return x / (self.k + averaged) ** self.beta

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"n": self.n, "alpha": self.alpha, "beta": self.beta, "k": self.k})
        return config


def harness(layer, input_shape, seed=0):
    """The book's test: the layer rebuilt from its config with ``input_shape``, alone in a compiled
    Sequential model, predicts on random inputs; returns the output's shape (batch included)."""
    config = {**layer.get_config(), "input_shape": tuple(input_shape)}
    config.pop("name", None)
    model = Sequential([type(layer).from_config(config)])
    model.compile(optimizer="rmsprop", loss="mse")
    x = np.random.default_rng(seed).random((1,) + tuple(input_shape), dtype=np.float32)
    return model.predict(x).shape


def euclidean_distance(vectors):
    x, y = vectors
    return jnp.sqrt(jnp.sum(jnp.square(x - y), axis=1, keepdims=True))


def distance_shape(shapes):
    return (shapes[0][0], 1)


def towers(features=8, units=4):
    """E7.5: two Dense towers and the Euclidean distance between their outputs, by a Lambda layer."""
    a, b = Input(shape=(features,)), Input(shape=(features,))
    distance = Lambda(euclidean_distance, output_shape=distance_shape)([Dense(units)(a), Dense(units)(b)])
    return Model([a, b], distance)


def main(argv=None):
    checks = [("Dropout(0.5)", Dropout(0.5), (10, 10), (1, 10, 10)),
              ("ZeroPadding2D(1)", ZeroPadding2D(1), (10, 10, 3), (1, 12, 12, 3)),
              ("Reshape((5, 20))", Reshape((5, 20)), (10, 10), (1, 5, 20)),
              ("LocalResponseNormalization", LocalResponseNormalization(), (225, 225, 3), (1, 225, 225, 3))]
    results = {}
    for title, layer, shape, want in checks:
        got = harness(layer, shape)
        results[title] = got
        print(f"{title:28s} on {shape}: output {got} ({'ok' if got == want else f'expected {want}'})")
    squares = Sequential([Lambda(lambda x: x ** 2, input_shape=(3,))]).predict(np.array([[1.0, 2.0, 3.0]]))
    print(f"Lambda(x ** 2) on [1, 2, 3]: {squares[0].tolist()}")
    model = towers()
    x = np.random.default_rng(1).normal(size=(2, 8)).astype(np.float32)
    print(f"Euclidean distance of two Dense towers: output shape {model.output_shape}, "
          f"values {model.predict([x, x[::-1]]).ravel().round(4).tolist()}")
    return results


if __name__ == "__main__":
    main()
