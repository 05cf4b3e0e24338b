"""arena.keras.backend (K): each function against numpy, on arrays and on symbolic placeholders through
K.function; gradients, variables, updates and the learning phase as Keras 2's graph mode had them."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from arena.keras import backend as K

RNG = np.random.RandomState(0)
X = RNG.rand(2, 3, 4).astype("float32")
W = RNG.rand(4, 5).astype("float32")
P = np.array([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]], "float32")
T = np.array([[0, 1, 0], [1, 0, 0]], "float32")


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


# (name, K expression of x (shape (batch, 3, 4)), numpy reference)
CASES = [
    ("mean", lambda x: K.mean(x, axis=1), lambda x: x.mean(1)),
    ("sum", lambda x: K.sum(x, axis=-1, keepdims=True), lambda x: x.sum(-1, keepdims=True)),
    ("max", lambda x: K.max(x, axis=2), lambda x: x.max(2)),
    ("min", lambda x: K.min(x), lambda x: x.min()),
    ("prod", lambda x: K.prod(x, axis=1), lambda x: x.prod(1)),
    ("std", lambda x: K.std(x, axis=-1), lambda x: x.std(-1)),
    ("var", lambda x: K.var(x, axis=-1), lambda x: x.var(-1)),
    ("cumsum", lambda x: K.cumsum(x, axis=1), lambda x: np.cumsum(x, 1)),
    ("logsumexp", lambda x: K.logsumexp(x, axis=-1), lambda x: np.log(np.exp(x).sum(-1))),
    ("square", lambda x: K.square(x), np.square),
    ("sqrt", lambda x: K.sqrt(x), np.sqrt),
    ("exp", lambda x: K.exp(x), np.exp),
    ("log", lambda x: K.log(x), np.log),
    ("abs", lambda x: K.abs(x - 0.5), lambda x: np.abs(x - 0.5)),
    ("pow", lambda x: K.pow(x, 3), lambda x: x ** 3),
    ("clip", lambda x: K.clip(x, 0.2, 0.6), lambda x: np.clip(x, 0.2, 0.6)),
    ("maximum", lambda x: K.maximum(x, 0.5), lambda x: np.maximum(x, 0.5)),
    ("minimum", lambda x: K.minimum(x, 0.5), lambda x: np.minimum(x, 0.5)),
    ("equal", lambda x: K.cast(K.equal(K.round(x), 1.0), "float32"), lambda x: (np.round(x) == 1).astype("f")),
    ("greater", lambda x: K.cast(K.greater(x, 0.5), "float32"), lambda x: (x > 0.5).astype("f")),
    ("argmax", lambda x: K.argmax(x, axis=-1), lambda x: x.argmax(-1)),
    ("operators", lambda x: (2 * x - 1) / (x + 1) ** 2, lambda x: (2 * x - 1) / (x + 1) ** 2),
    ("reshape", lambda x: K.reshape(x, (-1, 12)), lambda x: x.reshape(-1, 12)),
    ("permute_dimensions", lambda x: K.permute_dimensions(x, (0, 2, 1)), lambda x: x.transpose(0, 2, 1)),
    ("transpose", lambda x: K.transpose(K.mean(x, axis=0)), lambda x: x.mean(0).T),
    ("expand_dims", lambda x: K.expand_dims(x, 1), lambda x: x[:, None]),
    ("squeeze", lambda x: K.squeeze(K.expand_dims(x, -1), -1), lambda x: x),
    ("stack", lambda x: K.stack([x, 2 * x], axis=1), lambda x: np.stack([x, 2 * x], 1)),
    ("concatenate", lambda x: K.concatenate([x, x], axis=-1), lambda x: np.concatenate([x, x], -1)),
    ("flatten", lambda x: K.flatten(x), lambda x: x.reshape(-1)),
    ("batch_flatten", lambda x: K.batch_flatten(x), lambda x: x.reshape(len(x), -1)),
    ("repeat_elements", lambda x: K.repeat_elements(x, 2, axis=1), lambda x: np.repeat(x, 2, 1)),
    ("repeat", lambda x: K.repeat(K.mean(x, axis=1), 3), lambda x: np.repeat(x.mean(1)[:, None], 3, 1)),
    ("tile", lambda x: K.tile(x, (1, 2, 1)), lambda x: np.tile(x, (1, 2, 1))),
    ("gather", lambda x: K.gather(K.mean(x, axis=0), [2, 0]), lambda x: x.mean(0)[[2, 0]]),
    ("one_hot", lambda x: K.one_hot(K.argmax(x, axis=-1), 4), lambda x: np.eye(4)[x.argmax(-1)]),
    ("switch", lambda x: K.switch(K.greater(x, 0.5), x, -x), lambda x: np.where(x > 0.5, x, -x)),
    ("dot", lambda x: K.dot(x, W), lambda x: x @ W),
    ("batch_dot", lambda x: K.batch_dot(x, K.permute_dimensions(x, (0, 2, 1))), lambda x: x @ x.transpose(0, 2, 1)),
    ("batch_dot axes", lambda x: K.batch_dot(K.mean(x, axis=1), K.mean(x, axis=1), axes=1),
     lambda x: (x.mean(1) ** 2).sum(-1, keepdims=True)),
    ("l2_normalize", lambda x: K.l2_normalize(x, axis=-1), lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)),
    ("softmax", lambda x: K.softmax(x), _softmax),
    ("relu", lambda x: K.relu(x - 0.5, alpha=0.1, max_value=0.3),
     lambda x: np.minimum(np.where(x > 0.5, x - 0.5, 0.1 * (x - 0.5)), 0.3)),
    ("sigmoid", lambda x: K.sigmoid(x), lambda x: 1 / (1 + np.exp(-x))),
    ("hard_sigmoid", lambda x: K.hard_sigmoid(4 * x - 2), lambda x: np.clip(0.2 * (4 * x - 2) + 0.5, 0, 1)),
    ("tanh", lambda x: K.tanh(x), np.tanh),
    ("softplus", lambda x: K.softplus(x), lambda x: np.log1p(np.exp(x))),
    ("elu", lambda x: K.elu(x - 0.5), lambda x: np.where(x > 0.5, x - 0.5, np.exp(x - 0.5) - 1)),
    ("categorical_crossentropy", lambda x: K.categorical_crossentropy(K.softmax(x), K.softmax(x)),
     lambda x: -(_softmax(x) * np.log(_softmax(x))).sum(-1)),
    ("binary_crossentropy", lambda x: K.binary_crossentropy(K.round(x), x),
     lambda x: -(np.round(x) * np.log(x) + (1 - np.round(x)) * np.log(1 - x))),
    ("sparse_categorical_crossentropy", lambda x: K.sparse_categorical_crossentropy(K.argmax(x, axis=-1),
                                                                                      K.softmax(x)),
     lambda x: -np.log(_softmax(x).max(-1))),
]


def test_backend_functions_on_arrays_match_numpy():
    # All at once under jax.jit, as inside a Lambda layer or a loss (one compilation), and a few eagerly.
    values = jax.jit(lambda x: [expr(x) for _, expr, _ in CASES])(X)
    for (name, _, reference), value in zip(CASES, values):
        np.testing.assert_allclose(value, reference(X.astype("float64")), rtol=2e-5, atol=1e-6, err_msg=name)
    for name, expr, reference in CASES[:3]:
        np.testing.assert_allclose(np.asarray(expr(X)), reference(X.astype("float64")), rtol=2e-5, err_msg=name)


def test_backend_functions_on_a_placeholder_match_numpy_through_one_function():
    x = K.placeholder(shape=(None, 3, 4))
    outputs = [expr(x) for _, expr, _ in CASES]
    values = K.function([x], outputs)([X])  # every case compiled into one function
    for (name, _, reference), out, value in zip(CASES, outputs, values):
        want = reference(X.astype("float64"))
        np.testing.assert_allclose(value, want, rtol=2e-5, atol=1e-6, err_msg=name)
        shape = K.int_shape(out)  # the batch axis is unknown (None) wherever it shows
        assert len(shape) == np.ndim(want) and all(s is None or s == w for s, w in zip(shape, np.shape(want))), name


def test_losses_take_keras2s_target_first_order_and_clip():
    np.testing.assert_allclose(K.eval(K.categorical_crossentropy(T, P)), -np.log([0.7, 0.5]), rtol=1e-6)
    assert np.isfinite(K.eval(K.binary_crossentropy(np.ones(2), np.zeros(2)))).all()  # clipped to epsilon


def test_configuration():
    assert K.backend() == "jax" and K.floatx() == "float32" and K.epsilon() == 1e-7
    assert K.image_data_format() == "channels_last" and K.image_dim_ordering() == "tf"
    K.set_image_dim_ordering("th")
    try:
        assert K.image_data_format() == "channels_first" and K.image_dim_ordering() == "th"
        x = np.arange(2 * 3 * 4 * 4, dtype="float32").reshape(2, 3, 4, 4)  # (batch, channels, rows, cols)
        kernel = np.ones((2, 2, 3, 5), "float32")
        as_last = np.transpose(x, (0, 2, 3, 1))
        np.testing.assert_allclose(K.eval(K.conv2d(x, kernel)),  # the backend's layout when data_format is None
                                   np.transpose(K.eval(K.conv2d(as_last, kernel, data_format="channels_last")),
                                                (0, 3, 1, 2)))
        np.testing.assert_allclose(K.eval(K.pool2d(x, (2, 2), strides=(2, 2))),
                                   np.transpose(K.eval(K.pool2d(as_last, (2, 2), strides=(2, 2),
                                                                data_format="channels_last")), (0, 3, 1, 2)))
        assert K.eval(K.bias_add(x, np.array([0.0, 10.0, 20.0], "float32")))[0, :, 0, 0].tolist() == [0, 26, 52]
    finally:
        K.set_image_data_format("channels_last")
    assert K.image_dim_ordering() == "tf"
    with pytest.raises(ValueError, match="unknown ordering 'theano'"):
        K.set_image_dim_ordering("theano")
    with pytest.raises(ValueError, match="unknown data format 'NCHW'"):
        K.set_image_data_format("NCHW")
    K.set_epsilon(1e-4)
    try:
        assert K.epsilon() == 1e-4
        assert K.eval(K.binary_crossentropy(np.ones(1), np.zeros(1)))[0] == pytest.approx(-np.log(1e-4), rel=1e-3)
    finally:
        K.set_epsilon(1e-7)
    if not jax.config.jax_enable_x64:
        with pytest.raises(ValueError, match="jax_enable_x64"):
            K.set_floatx("float64")
    K.set_floatx("float16")
    try:
        assert K.variable([1.0]).dtype == "float16" and K.cast_to_floatx([1]).dtype == np.float16
    finally:
        K.set_floatx("float32")


def test_variables_values_and_updates():
    v = K.variable(np.zeros(3), name="v")
    assert K.int_shape(v) == (3,) and K.dtype(v) == "float32" and K.ndim(v) == 1 and K.count_params(v) == 3
    step = K.function([], [v * 2], updates=[K.update_add(v, 1.0)])
    np.testing.assert_array_equal(step([])[0], [0, 0, 0])  # outputs are read before the update
    np.testing.assert_array_equal(step([])[0], [2, 2, 2])
    np.testing.assert_array_equal(K.get_value(v), [2, 2, 2])
    K.set_value(v, [5, 6, 7])
    assert K.eval(K.mean(v) + 1) == pytest.approx(7.0)
    K.batch_set_value([(v, [1, 1, 1])])
    assert [a.tolist() for a in K.batch_get_value([v, K.ones((2,))])] == [[1, 1, 1], [1, 1]]
    np.testing.assert_array_equal(K.eval(K.eye(2)), np.eye(2))
    with pytest.raises(ValueError, match="shape"):
        K.set_value(v, [1, 2])
    with pytest.raises(TypeError, match="set_learning_rate"):
        K.set_value(0.01, 0.1)  # Keras 2's K.set_value(model.optimizer.lr, ...)


def test_random_draws_follow_seed_and_arena_set_seed():
    a, b = K.random_normal((3,), seed=1), K.random_normal((3,), seed=1)
    np.testing.assert_array_equal(a, b)
    u = K.random_uniform((1000,), 2.0, 3.0, seed=2)
    assert 2.0 <= float(u.min()) and float(u.max()) <= 3.0
    assert K.random_binomial((4,), p=1.0, seed=0).tolist() == [1, 1, 1, 1]


def test_gradients_of_a_placeholder_expression():
    x = K.placeholder((None, 3))
    y = K.sum(K.square(x), axis=1)
    grad = K.gradients(K.sum(y), x)[0]  # Keras 2 returns a list
    values = np.arange(6, dtype="float32").reshape(2, 3)
    out, g = K.function([x], [y, grad])([values])
    np.testing.assert_allclose(out, (values ** 2).sum(1))
    np.testing.assert_allclose(g, 2 * values)
    v = K.variable(np.array([1.0, 2.0]))
    (gv,) = K.function([], K.gradients(K.sum(v * v * v), [v]))([])
    np.testing.assert_allclose(gv, [3.0, 12.0])


def test_deep_dream_recipe_gradient_of_a_layer_output_wrt_the_input(fresh_session):
    # The book's deep-dream loop: loss = K.mean(layer.output); grads = K.gradients(loss, input)[0];
    # grads /= rms; f = K.function([input], [loss, grads]).
    from arena.keras.layers import Conv2D, Input, MaxPooling2D
    from arena.keras.models import Model
    dream = Input(batch_shape=(1, 8, 8, 3))
    pooled = MaxPooling2D(name="block1_pool")(Conv2D(4, (3, 3), padding="same", activation="relu")(dream))
    model = Model(dream, Conv2D(2, (1, 1))(pooled))
    layer_dict = {layer.name: layer for layer in model.layers}
    loss = K.mean(layer_dict["block1_pool"].output)
    grads = K.gradients(loss, dream)[0]
    grads /= K.sqrt(K.mean(K.square(grads))) + 1e-5
    f = K.function([dream], [loss, grads])
    image = np.random.RandomState(1).rand(1, 8, 8, 3)
    loss_value, grads_value = f([image])
    features = Model(dream, pooled)
    ref_loss, ref_grad = jax.value_and_grad(
        lambda im: jnp.mean(features.forward(features.params, features.state, [im])[0][0]))(image.astype("float32"))
    np.testing.assert_allclose(loss_value, ref_loss, rtol=1e-5)
    np.testing.assert_allclose(grads_value, ref_grad / (np.sqrt(np.mean(ref_grad ** 2)) + 1e-5), rtol=1e-4,
                               atol=1e-6)
    assert K.int_shape(grads) == (1, 8, 8, 3)


def test_function_reads_current_weights_and_the_learning_phase(fresh_session):
    from arena.keras.layers import Dense, Dropout
    from arena.keras.models import Sequential
    model = Sequential([Dense(100, input_shape=(4,), kernel_initializer="ones"), Dropout(0.5)])
    f = K.function([model.input, K.learning_phase()], [model.output])
    x = np.ones((1, 4), "float32")
    test_out, train_out = f([x, 0])[0], f([x, 1])[0]
    np.testing.assert_allclose(test_out, 4.0)
    assert 0 < np.count_nonzero(train_out) < 100  # dropout on while training
    model.layers[0].set_weights([2 * np.ones((4, 100)), np.zeros(100)])
    np.testing.assert_allclose(f([x, 0])[0], 8.0)
    single = K.function([model.input], model.output)  # outputs not a list: one array back
    assert single([x]).shape == (1, 100)
    with pytest.raises(ValueError, match="expected 2 input value"):
        f([x])
    with pytest.raises(ValueError, match="expects shape"):
        single([np.ones((1, 5))])


def test_function_needing_an_input_it_is_not_given_names_it(fresh_session):
    from arena.keras.layers import Dense, Input, concatenate
    a, b = Input((2,), name="a_in"), Input((2,), name="b_in")
    out = Dense(1)(concatenate([a, b]))
    with pytest.raises(ValueError, match="b_in"):
        K.function([a], [out])
    with pytest.raises(ValueError, match="K.function"):
        K.eval(K.mean(out))


def test_placeholders_start_models_and_are_keras_tensors(fresh_session):
    from arena.keras.layers import Dense
    from arena.keras.models import Model
    x = K.placeholder(ndim=2, name="ph")
    assert K.is_keras_tensor(x) and K.int_shape(x) == (None, None) and not K.is_keras_tensor(np.ones(2))
    x = K.placeholder((None, 3))
    model = Model(x, Dense(2)(x))
    assert model.predict(np.ones((4, 3), "float32")).shape == (4, 2)


def test_what_graph_mode_cannot_do_on_jax_is_a_clear_error(fresh_session):
    from arena.keras.layers import Dense, Input, Lambda
    from arena.keras.models import Model
    inp = Input((3,))
    hidden = Dense(2)(inp)
    with pytest.raises(NotImplementedError, match="input_gradients"):
        K.function([inp], K.gradients(K.sum(Dense(1)(hidden)), hidden))  # an intermediate tensor
    with pytest.raises(TypeError, match="jax.grad"):
        K.gradients(np.ones(3), inp)
    v = K.variable(np.ones(3))
    with pytest.raises(TypeError, match="frozen"):
        Model(inp, Lambda(lambda t: t * v)(inp))  # a variable inside compiled code
    for call in (K.get_session, lambda: K.set_session(None), lambda: K.rnn(None, None, None),
                 lambda: K.dropout(X, 0.5)):
        with pytest.raises(NotImplementedError):
            call()
    with pytest.raises(TypeError, match="truth value"):
        bool(K.mean(inp))


def test_in_train_phase_and_clear_session(fresh_session):
    from arena.keras.layers import Dense
    assert K.in_train_phase(1.0, 2.0, training=1) == 1.0 and K.in_test_phase(1.0, 2.0, training=1) == 2.0
    x = K.placeholder((None, 2))
    f = K.function([x, K.learning_phase()], [K.in_train_phase(x * 10, x)])
    assert f([np.ones((1, 2)), 1])[0].tolist() == [[10, 10]] and f([np.ones((1, 2)), 0])[0].tolist() == [[1, 1]]
    Dense(1)
    K.clear_session()
    assert Dense(1).name == "dense_1"
