"""The layer API: call arguments in the graph, masks, declared weights and runtime state."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from arena.nn import Model, Sequential, load_model, model_from_json
from arena.nn import constraints, regularizers
from arena.nn.layers import Dense, Dropout, Input, Layer, Masking
from arena.nn.optimizers import SGD


# ---- call arguments -------------------------------------------------------------------------------
def test_training_true_in_the_graph_is_kept_in_predict_and_in_files(fresh_session, tmp_path):
    x = Input(shape=(1000,))
    m = Model(x, Dropout(0.5)(x, training=True))
    out = m.predict(np.ones((2, 1000), "float32"))
    dropped = np.mean(out == 0.0)
    assert 0.4 < dropped < 0.6 and set(np.unique(out)) == {0.0, 2.0}
    assert np.array_equal(Model(x, Dropout(0.5)(x)).predict(np.ones((2, 1000), "float32")), np.ones((2, 1000)))
    for rebuilt in (model_from_json(m.to_json()), (m.save(tmp_path / "m.h5"), load_model(tmp_path / "m.h5"))[1]):
        assert rebuilt.layers[1]._inbound_nodes[0].call_kwargs == {"training": True}
        assert 0.4 < np.mean(rebuilt.predict(np.ones((2, 1000), "float32")) == 0.0) < 0.6


def test_an_unknown_call_argument_is_an_error_naming_layer_and_argument(fresh_session):
    x = Input(shape=(4,))
    with pytest.raises(TypeError, match=r"Dense 'dense_1'.*unknown call argument 'bogus_kwarg'"):
        Dense(3)(x, bogus_kwarg=1)
    with pytest.raises(TypeError, match="is a tensor"):
        Dense(3)(x, training=x)


def test_a_keras3_node_keeps_its_call_arguments():
    from arena.nn.saving import _node_refs
    node = {"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["in", 0, 0]}}],
            "kwargs": {"training": True, "mask": None}}
    assert _node_refs(node) == [["in", 0, 0, {"training": True}]]


# ---- masks -----------------------------------------------------------------------------------------
def _padded():
    x = np.random.default_rng(0).normal(size=(3, 5, 2)).astype("float32")
    x[0, 3:] = 0.0  # padding steps
    x[2, 1:] = 0.0
    return x


def test_masks_flow_through_the_graph_and_weight_the_loss(fresh_session):
    inp = Input(shape=(5, 2))
    out = Dense(4)(Dense(3)(Masking(0.0)(inp)))
    m = Model(inp, out)
    m.compile("sgd", "mse")
    x = _padded()
    y = np.random.default_rng(1).normal(size=(3, 5, 4)).astype("float32")
    outs, _, _, masks = m.run_graph(m.params, m.state, [jnp.asarray(x)])
    keep = np.any(x != 0, axis=-1)
    np.testing.assert_array_equal(np.asarray(masks[0]), keep)
    per_step = ((m.predict(x) - y) ** 2).mean(-1)
    assert m.evaluate(x, y, verbose=0) == pytest.approx((per_step * keep).sum() / keep.sum(), rel=1e-5)


def test_merge_and_layers_without_masking_combine_or_drop_masks(fresh_session):
    from arena.nn.layers import Add, Concatenate, Flatten
    inp = Input(shape=(5, 2))
    a, b = Masking(0.0)(inp), Dense(2)(inp)  # b has no mask
    added, joined = Add()([a, b]), Concatenate(axis=1)([a, b])
    flat = Flatten()(a)
    m = Model(inp, [added, joined, flat])
    x = _padded()
    _, _, _, masks = m.run_graph(m.params, m.state, [jnp.asarray(x)])
    keep = np.any(x != 0, axis=-1)
    np.testing.assert_array_equal(np.asarray(masks[0]), keep)
    np.testing.assert_array_equal(np.asarray(masks[1]), np.concatenate([keep, np.ones_like(keep)], axis=1))
    assert masks[2] is None


# ---- declared weights and runtime state ---------------------------------------------------------------
class Accumulate(Layer):
    """A test layer with every kind of variable: ``y = x * scale + offset + total`` where ``total`` (runtime
    state, like an RNN carry) sums the inputs seen so far."""

    def build(self, input_shape):
        n = input_shape[-1]
        self.add_weight("scale", (n,), "ones", regularizer=regularizers.l2(0.5), constraint=constraints.NonNeg())
        self.add_state("total", (n,))
        self.add_weight("offset", (n,), "zeros", trainable=False)

    def apply(self, params, state, x, *, training=False, key=None, mask=None):
        total = state["total"] + x.sum(0)
        return x * params["scale"] + state["offset"] + total, {**state, "total": total}


def test_declared_weights_give_order_penalties_and_constraints(fresh_session):
    layer = Accumulate()
    m = Sequential([Input(shape=(2,)), layer])
    assert layer.weight_names == ["scale", "offset"] and layer.runtime_state_names == ["total"]
    assert len(layer.get_weights()) == 2 and layer.count_params() == 4
    assert float(layer.regularization_loss(layer.params)) == pytest.approx(0.5 * 2)  # l2(0.5) * sum(1^2)
    np.testing.assert_array_equal(layer.apply_constraints({"scale": jnp.array([-1.0, 2.0])})["scale"], [0.0, 2.0])
    m.compile(SGD(10.0), "mse")
    m.train_on_batch(np.ones((4, 2), "float32"), np.full((4, 2), -100.0, "float32"))
    assert np.all(layer.get_weights()[0] >= 0.0)  # the constraint projected the big negative step


def test_runtime_state_is_carried_reset_and_saved_apart_from_the_weights(fresh_session, tmp_path):
    layer = Accumulate()
    m = Sequential([Input(shape=(2,)), layer])
    m.compile("sgd", "mse")
    x, y = np.ones((3, 2), "float32"), np.zeros((3, 2), "float32")
    m.train_on_batch(x, y)
    m.train_on_batch(x, y)
    np.testing.assert_array_equal(layer.state["total"], [6.0, 6.0])  # carried across calls
    m.save(tmp_path / "acc.h5")
    loaded = load_model(tmp_path / "acc.h5", custom_objects={"Accumulate": Accumulate})
    assert len(loaded.get_weights()) == 2  # never a weight ...
    np.testing.assert_array_equal(loaded.layers[0].state["total"], [6.0, 6.0])  # ... but the file keeps it
    m.reset_states()
    np.testing.assert_array_equal(layer.state["total"], [0.0, 0.0])


def test_a_frozen_sub_model_keeps_its_weights_but_carries_runtime_state(fresh_session):
    inner = Sequential([Input(shape=(2,)), Accumulate(name="acc")], name="inner")
    inner.trainable = False
    outer = Sequential([Input(shape=(2,)), inner, Dense(1)])
    outer.compile(SGD(0.1), "mse")
    before = inner.get_weights()
    outer.fit(np.ones((4, 2), "float32"), np.ones((4, 1), "float32"), batch_size=2, epochs=1, verbose=0)
    for a, b in zip(inner.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(inner.get_layer("acc").state["total"], [4.0, 4.0])


def test_dropout_seed_is_folded_into_the_key(fresh_session):
    x = jnp.ones((1, 200))
    key = jax.random.PRNGKey(0)

    def mask(seed):
        return np.asarray(Dropout(0.5, seed=seed)(x, training=True, key=key)) == 0
    assert np.array_equal(mask(1), mask(1)) and not np.array_equal(mask(1), mask(2))
    assert not np.array_equal(mask(1), mask(None))
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        Dropout(0.5, seed="x")


# ---- layers inside layers ------------------------------------------------------------------------
class Pair(Layer):
    """A test wrapper (as Bidirectional holds two RNNs): ``first(x) + second(x)``, two Dense sublayers."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.first = self.add_sublayer(Dense(units, name=f"first_{self.name}"))
        self.second = self.add_sublayer(Dense(units, kernel_regularizer=regularizers.l2(0.1),
                                              kernel_constraint=constraints.MaxNorm(1.0), name=f"second_{self.name}"))

    def build(self, input_shape):
        self.first._ensure_built(input_shape)
        self.second._ensure_built(input_shape)

    def apply(self, params, state, x, *, training=False, key=None, mask=None):
        a, _ = self.first.apply(params[self.first.name], state[self.first.name], x)
        b, _ = self.second.apply(params[self.second.name], state[self.second.name], x)
        return a + b, state

    def compute_output_shape(self, input_shape):
        return input_shape[:-1] + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_sublayer_weights_are_nested_ordered_saved_and_trained(fresh_session, tmp_path):
    from arena.testing import check_layer
    check_layer(Pair, {"units": 3, "name": "pair"}, (2, 4), (None, 3), custom_objects={"Pair": Pair},
                expected_num_trainable_weights=4, expected_num_non_trainable_weights=0)
    layer = Pair(3, name="p")
    m = Sequential([Input(shape=(4,)), layer])
    assert set(layer.params) == {"first_p", "second_p"}
    assert layer.weight_names == ["first_p/kernel", "first_p/bias", "second_p/kernel", "second_p/bias"]
    assert float(layer.regularization_loss(layer.params)) == pytest.approx(
        0.1 * float(np.sum(layer.second.get_weights()[0] ** 2)), rel=1e-5)
    m.compile(SGD(5.0), "mse")
    m.fit(np.ones((8, 4), "float32"), np.full((8, 3), 9.0, "float32"), verbose=0, epochs=3)
    assert np.all(np.linalg.norm(layer.second.get_weights()[0], axis=0) <= 1.0 + 1e-5)  # the sublayer's constraint
    m.save(tmp_path / "pair.h5")
    import h5py
    with h5py.File(tmp_path / "pair.h5") as f:
        names = [n.decode() for n in f["model_weights/p"].attrs["weight_names"]]
    assert names == ["p/first_p/kernel:0", "p/first_p/bias:0", "p/second_p/kernel:0", "p/second_p/bias:0"]
    loaded = load_model(tmp_path / "pair.h5", custom_objects={"Pair": Pair})
    for a, b in zip(loaded.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.layers[0].second.get_weights()[0], layer.second.get_weights()[0])


def test_metrics_of_sequence_outputs_skip_masked_steps(fresh_session):
    from arena.nn.layers import TimeDistributed
    inp = Input(shape=(5, 2))
    m = Model(inp, TimeDistributed(Dense(3, activation="softmax"))(Masking(0.0)(inp)))
    m.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    x = _padded()
    y = np.eye(3, dtype="float32")[np.random.default_rng(2).integers(0, 3, (3, 5))]
    keep = np.any(x != 0, axis=-1)
    hit = m.predict(x).argmax(-1) == y.argmax(-1)
    _, acc = m.evaluate(x, y, verbose=0, batch_size=3)
    assert acc == pytest.approx(hit[keep].mean())


def test_layer_input_and_output_tensors_build_sub_models(fresh_session):
    inp = Input(shape=(4,))
    encoder_layer = Dense(2, name="code")
    code = encoder_layer(inp)
    full = Model(inp, Dense(4)(code))
    encoder = Model(full.input, full.get_layer("code").output)  # Keras' way to take an encoder out
    x = np.ones((3, 4), "float32")
    np.testing.assert_allclose(encoder.predict(x), np.asarray(encoder_layer(x)), rtol=1e-6)
    assert full.layers[0].output is inp and encoder_layer.input is inp
    encoder_layer(Input(shape=(4,)))  # called twice: ambiguous
    with pytest.raises(AttributeError, match="called 2 times.*get_output_at"):
        encoder_layer.output
    assert encoder_layer.get_output_at(0) is code
    with pytest.raises(AttributeError, match="never been called"):
        Dense(3).output


def test_output_shape_is_the_shape_of_the_layers_output_tensor(fresh_session):
    dense = Dense(3)
    with pytest.raises(AttributeError, match="never been called"):
        dense.output_shape
    dense(Input(shape=(4,)))
    dense(Input(shape=(4,)))  # called twice, the same shape: Keras 2 still answers
    assert dense.output_shape == (None, 3)
    steps = Dense(2, name="steps")
    steps(Input(shape=(None, 4)))
    steps(Input(shape=(3, 4)))
    with pytest.raises(AttributeError, match="'steps' was called 2 times with different output shapes"):
        steps.output_shape
    with pytest.raises(AttributeError):
        dense.output_shape = (None, 4)  # read-only, as in Keras 2
