"""Recurrent layers and Embedding against numpy implementations of the same equations."""
import jax.numpy as jnp
import numpy as np
import pytest

from arena import set_seed
from arena.nn import Model, Sequential, clear_session, load_model
from arena.nn.layers import GRU, LSTM, RNN, Dense, Embedding, Input, Masking, SimpleRNN, SimpleRNNCell
from arena.testing import check_layer


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def hard_sigmoid(x):
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def np_rnn(kind, w, x, mask=None, go_backwards=False, reset_after=True, rec_act=sigmoid, h0=None):
    """Outputs (batch, steps, units) and final states of SimpleRNN / LSTM / GRU, written out step by step."""
    kernel, rec, bias = w
    b, t, _ = x.shape
    u = rec.shape[0]
    h = np.zeros((b, u)) if h0 is None else h0[0]
    c = np.zeros((b, u)) if h0 is None or len(h0) < 2 else h0[1]
    steps = range(t - 1, -1, -1) if go_backwards else range(t)
    outs, prev_out = [], np.zeros((b, u))
    for s in steps:
        xt = x[:, s]
        if kind == "simple":
            h_new = np.tanh(xt @ kernel + h @ rec + bias)
            c_new = c
        elif kind == "lstm":
            z = xt @ kernel + h @ rec + bias
            i, f, g, o = np.split(z, 4, axis=-1)
            c_new = rec_act(f) * c + rec_act(i) * np.tanh(g)
            h_new = rec_act(o) * np.tanh(c_new)
        else:
            xz, xr, xh = np.split(xt @ kernel + (bias[0] if reset_after else bias), 3, axis=-1)
            if reset_after:
                rz, rr, rh = np.split(h @ rec + bias[1], 3, axis=-1)
                z, r = rec_act(xz + rz), rec_act(xr + rr)
                hh = np.tanh(xh + r * rh)
            else:
                z = rec_act(xz + h @ rec[:, :u])
                r = rec_act(xr + h @ rec[:, u:2 * u])
                hh = np.tanh(xh + (r * h) @ rec[:, 2 * u:])
            h_new = z * h + (1 - z) * hh
            c_new = c
        if mask is not None:
            keep = mask[:, s][:, None]
            h_new, c_new = np.where(keep, h_new, h), np.where(keep, c_new, c)
            out = np.where(keep, h_new, prev_out)
        else:
            out = h_new
        h, c, prev_out = h_new, c_new, out
        outs.append(out)
    return np.stack(outs, axis=1), h, c


CASES = [("simple", SimpleRNN, {}), ("lstm", LSTM, {}), ("gru", GRU, {}), ("gru", GRU, {"reset_after": False}),
         ("lstm", LSTM, {"recurrent_activation": "hard_sigmoid"})]


@pytest.mark.parametrize("kind, cls, extra", CASES)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_rnn_matches_numpy(fresh_session, kind, cls, extra, go_backwards, masked):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5, 4)).astype("float32")
    if masked:
        x[0, 3:] = 0.0   # post-padding
        x[1, :2] = 0.0   # pre-padding
    inp = Input(shape=(5, 4))
    h = Masking(0.0)(inp) if masked else inp
    layer = cls(6, return_sequences=True, return_state=True, go_backwards=go_backwards, bias_initializer="uniform",
                **extra)
    outs = layer(h)
    m = Model(inp, outs)
    seq, *states = m.predict(x)
    w = [np.asarray(a, np.float64) for a in layer.get_weights()]
    mask = np.any(x != 0, axis=-1) if masked else None
    rec_act = hard_sigmoid if extra.get("recurrent_activation") == "hard_sigmoid" else sigmoid
    want_seq, want_h, want_c = np_rnn(kind, w, x.astype(np.float64), mask, go_backwards,
                                      extra.get("reset_after", True), rec_act)
    np.testing.assert_allclose(seq, want_seq, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(states[0], want_h, rtol=1e-4, atol=1e-5)
    if kind == "lstm":
        np.testing.assert_allclose(states[1], want_c, rtol=1e-4, atol=1e-5)
    last = Model(inp, cls(6, go_backwards=go_backwards, **extra)(h))
    last.layers[-1].set_weights(layer.get_weights())
    np.testing.assert_allclose(last.predict(x), want_seq[:, -1], rtol=1e-4, atol=1e-5)


def test_masked_padding_changes_nothing(fresh_session):
    rng = np.random.default_rng(1)
    tokens = rng.integers(1, 20, (4, 6))
    padded = np.concatenate([np.zeros((4, 3), int), tokens], axis=1)  # pre-padding with id 0
    emb = Embedding(20, 5, mask_zero=True)
    lstm = LSTM(7)
    short = Sequential([Input(shape=(6,)), emb, lstm])
    long = Sequential([Input(shape=(9,)), Embedding(20, 5, mask_zero=True), LSTM(7)])
    long.set_weights(short.get_weights())
    np.testing.assert_allclose(long.predict(padded), short.predict(tokens), rtol=1e-5, atol=1e-6)


def test_lstm_keras_parameter_counts_and_layout(fresh_session):
    # The book's E6.2 network: Embedding(2002, 128) -> LSTM(64) -> Dense(1).
    m = Sequential([Embedding(2002, 128, input_length=40), LSTM(64, dropout=0.2, recurrent_dropout=0.2),
                    Dense(1, activation="sigmoid")])
    assert [l.count_params() for l in m.layers] == [256_256, 49_408, 65]
    lstm = m.layers[1]
    assert lstm.weight_names == ["kernel", "recurrent_kernel", "bias"]
    bias = lstm.get_weights()[2]
    np.testing.assert_array_equal(bias[64:128], 1.0)  # unit_forget_bias
    np.testing.assert_array_equal(np.delete(bias, np.s_[64:128]), 0.0)
    assert GRU(8, input_shape=(3, 4)).cell._bias_shape() == (2, 24)


def test_stateful_rnn_carries_state_across_batches_and_resets(fresh_session):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 8, 3)).astype("float32")
    whole = Sequential([Input(shape=(8, 3)), LSTM(4)])
    stateful = Sequential([Input(batch_shape=(2, 4, 3)), LSTM(4, stateful=True)])
    stateful.set_weights(whole.get_weights())
    stateful.predict(x[:, :4], batch_size=2)
    np.testing.assert_allclose(stateful.predict(x[:, 4:], batch_size=2), whole.predict(x), rtol=1e-5, atol=1e-6)
    stateful.reset_states()
    first_half = Sequential([Input(shape=(4, 3)), LSTM(4)])
    first_half.set_weights(whole.get_weights())
    np.testing.assert_allclose(stateful.predict(x[:, :4], batch_size=2), first_half.predict(x[:, :4]),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="stateful with batch size 2; got a batch of 1"):
        stateful.predict(x[:1, :4], batch_size=1)


def test_stateful_training_threads_the_carry_and_a_saved_run_resumes_exactly(fresh_session, tmp_path):
    x = np.random.default_rng(7).normal(size=(8, 3, 1)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None]

    def build():  # the same names, weights and training key each time
        clear_session()
        set_seed(0)
        m = Sequential([Input(batch_shape=(2, 3, 1)), LSTM(2, stateful=True), Dense(1)])
        m.compile("adam", "mse")
        return m
    straight = build()
    straight.fit(x, y, batch_size=2, epochs=2, verbose=0, shuffle=False)
    m = build()
    m.fit(x, y, batch_size=2, epochs=1, verbose=0, shuffle=False)
    carry = np.asarray(m.layers[0].state["states_0"])
    assert carry.shape == (2, 2) and np.any(carry != 0)
    m.save(tmp_path / "s.h5")
    loaded = load_model(tmp_path / "s.h5")
    assert len(loaded.get_weights()) == len(m.get_weights()) == 5  # the carry is no weight ...
    np.testing.assert_array_equal(loaded.layers[0].state["states_0"], carry)  # ... but the file keeps it
    loaded.fit(x, y, batch_size=2, epochs=2, initial_epoch=1, verbose=0, shuffle=False)
    for a, b in zip(loaded.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(loaded.layers[0].state["states_0"], straight.layers[0].state["states_0"], rtol=1e-6)
    loaded.reset_states()
    np.testing.assert_array_equal(loaded.layers[0].state["states_0"], 0.0)


def test_rnn_learns_to_count(fresh_session):
    """A short learning test per family: predict the number of ones in a binary sequence."""
    rng = np.random.default_rng(3)
    x = (rng.random((512, 6, 1)) < 0.5).astype("float32")
    y = x.sum(axis=(1, 2))[:, None] / 6.0
    for cls in (SimpleRNN, LSTM, GRU):
        m = Sequential([Input(shape=(6, 1)), cls(8), Dense(1)])
        m.compile("adam", "mse")
        first = m.evaluate(x, y, verbose=0)
        m.fit(x, y, batch_size=32, epochs=15, verbose=0)
        assert m.evaluate(x, y, verbose=0) < 0.1 * first, cls.__name__


def test_gradients_match_finite_differences(fresh_session):
    layer = LSTM(3, return_sequences=True)
    m = Sequential([Input(shape=(4, 2)), layer])
    x = jnp.asarray(np.random.default_rng(4).normal(size=(2, 4, 2)), jnp.float32)

    def f(params):
        return jnp.sum(m.forward(params, m.state, [x])[0][0] ** 2)
    from jax.test_util import check_grads
    check_grads(f, (m.params,), order=1, modes=["rev"], atol=2e-2, rtol=2e-2)


def test_generic_rnn_with_a_cell_and_a_custom_cell(fresh_session, tmp_path):
    from arena.nn.layers import Layer

    class Accumulator(Layer):
        """A custom cell: h_t = h_{t-1} + x_t @ w."""
        state_size = [2]

        def build(self, input_shape):
            self.add_weight("w", (input_shape[-1], 2), "ones")

        def recur(self, params, x, states, recurrent_mask=None):
            h = states[0] + x @ params["w"]
            return h, [h]

    x = np.ones((1, 3, 2), "float32")
    m = Sequential([Input(shape=(3, 2)), RNN(Accumulator())])
    np.testing.assert_allclose(m.predict(x), [[6.0, 6.0]])
    m.save(tmp_path / "c.h5")
    loaded = load_model(tmp_path / "c.h5", custom_objects={"Accumulator": Accumulator})
    np.testing.assert_allclose(loaded.predict(x), [[6.0, 6.0]])
    simple = Sequential([Input(shape=(3, 2)), RNN(SimpleRNNCell(4))])
    assert simple.layers[0].weight_names == ["kernel", "recurrent_kernel", "bias"]


@pytest.mark.parametrize("make, shape, match", [
    (lambda: LSTM(3), (None, 5), "expects input of rank 3"),
    (lambda: GRU(3, stateful=True), (None, 5, 2), "needs a fixed batch size"),
])
def test_bad_input_is_a_clear_error(fresh_session, make, shape, match):
    with pytest.raises(ValueError, match=match):
        make()(Input(batch_shape=shape))


def test_embedding_weights_ids_and_mask(fresh_session):
    matrix = np.arange(12, dtype="float32").reshape(4, 3)
    emb = Embedding(4, 3, weights=[matrix], mask_zero=True)
    m = Sequential([Input(shape=(2,)), emb])
    np.testing.assert_array_equal(m.predict(np.array([[1, 3]])), matrix[[1, 3]][None])
    np.testing.assert_array_equal(emb.compute_mask(jnp.array([[0, 2]])), [[False, True]])
    with pytest.raises(ValueError, match=r"token ids must be in 0\.\.3; got ids from 0 to 7"):
        emb.check_ids(np.array([[0, 7]]))
    with pytest.raises(ValueError, match="weights\\[0\\] must have shape"):
        Embedding(5, 3, weights=[matrix])


@pytest.mark.parametrize("cls, kwargs, out", [
    (SimpleRNN, {"units": 3}, (2, 3)),
    (LSTM, {"units": 3, "return_sequences": True}, (2, 4, 3)),
    (GRU, {"units": 3, "return_sequences": True, "go_backwards": True}, (2, 4, 3)),
    (GRU, {"units": 3, "reset_after": False, "recurrent_activation": "hard_sigmoid"}, (2, 3)),
    (LSTM, {"units": 2, "return_sequences": True, "unroll": True, "kernel_regularizer": "l2"}, (2, 4, 2)),
])
def test_rnn_layer_contract(fresh_session, cls, kwargs, out):
    check_layer(cls, kwargs, (2, 4, 5), out, expected_num_trainable_weights=3, supports_masking=True)


def test_embedding_layer_contract(fresh_session):
    check_layer(Embedding, {"input_dim": 10, "output_dim": 3, "mask_zero": True}, (2, 4), (2, 4, 3),
                input_dtype="int32", expected_num_trainable_weights=1, supports_masking=True)


# ---- Bidirectional ------------------------------------------------------------------------------------
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_matches_numpy(fresh_session, merge_mode):
    from arena.nn.layers import Bidirectional
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    x[0, 3:] = 0.0
    inp = Input(shape=(5, 3))
    bi = Bidirectional(LSTM(4, return_sequences=True), merge_mode=merge_mode)
    m = Model(inp, bi(Masking(0.0)(inp)))
    out = m.predict(x)
    mask = np.any(x != 0, axis=-1)
    w = [np.asarray(a, np.float64) for a in bi.get_weights()]
    fwd, _, _ = np_rnn("lstm", w[:3], x.astype(np.float64), mask)
    bwd, _, _ = np_rnn("lstm", w[3:], x.astype(np.float64), mask, go_backwards=True)
    fwd, bwd = np.where(mask[..., None], fwd, 0.0), np.where(mask[..., None], bwd[:, ::-1], 0.0)
    want = {"concat": np.concatenate([fwd, bwd], -1), "sum": fwd + bwd, "mul": fwd * bwd, "ave": (fwd + bwd) / 2,
            None: [fwd, bwd]}[merge_mode]
    for got, expected in zip(out if merge_mode is None else [out], want if merge_mode is None else [want]):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_bidirectional_weights_files_and_contract(fresh_session, tmp_path):
    from arena.nn.layers import Bidirectional
    import h5py
    m = Sequential([Input(shape=(4, 3)), Bidirectional(GRU(2), name="bi")])
    assert m.layers[0].weight_names == ["forward_gru_1/kernel", "forward_gru_1/recurrent_kernel", "forward_gru_1/bias",
                                        "backward_gru_1/kernel", "backward_gru_1/recurrent_kernel",
                                        "backward_gru_1/bias"]
    m.save(tmp_path / "bi.h5")
    with h5py.File(tmp_path / "bi.h5") as f:
        assert f["model_weights/bi"].attrs["weight_names"][0].decode() == "bi/forward_gru_1/kernel:0"
    x = np.random.default_rng(6).normal(size=(2, 4, 3)).astype("float32")
    np.testing.assert_allclose(load_model(tmp_path / "bi.h5").predict(x), m.predict(x), rtol=1e-6)
    check_layer(Bidirectional, {"layer": LSTM(3, return_sequences=True)}, (2, 4, 5), (2, 4, 6),
                expected_num_trainable_weights=6, supports_masking=True)
    with pytest.raises(ValueError, match="wraps a recurrent layer"):
        Bidirectional(Dense(3))


def test_token_ids_beyond_input_dim_are_a_clear_error_in_fit_and_predict(fresh_session):
    m = Sequential([Input(shape=(3,)), Embedding(5, 2), LSTM(2), Dense(1)])
    m.compile("sgd", "mse")
    bad = np.array([[1, 2, 9]])
    with pytest.raises(ValueError, match=r"Embedding 'embedding_1' has input_dim=5: token ids must be in 0\.\.4"):
        m.fit(bad, np.zeros((1, 1)), verbose=0)
    with pytest.raises(ValueError, match="token ids must be in"):
        m.predict(bad)


# ---- initial states (seq2seq) ------------------------------------------------------------------------
@pytest.mark.parametrize("kind, cls", [("simple", SimpleRNN), ("lstm", LSTM), ("gru", GRU)])
def test_initial_state_starts_the_scan_and_survives_files(fresh_session, tmp_path, kind, cls):
    """Keras' encoder-decoder: the decoder starts from the encoder's final states."""
    rng = np.random.default_rng(7)
    x_enc = rng.normal(size=(3, 4, 2)).astype("float32")
    x_dec = rng.normal(size=(3, 5, 3)).astype("float32")
    enc_in, dec_in = Input(shape=(4, 2)), Input(shape=(5, 3))
    encoder = cls(6, return_state=True)
    _, *states = encoder(enc_in)
    decoder = cls(6, return_sequences=True, bias_initializer="uniform")
    m = Model([enc_in, dec_in], decoder(dec_in, initial_state=states))
    got = m.predict([x_enc, x_dec])
    w_enc = [np.asarray(a, np.float64) for a in encoder.get_weights()]
    w_dec = [np.asarray(a, np.float64) for a in decoder.get_weights()]
    _, h, c = np_rnn(kind, w_enc, x_enc.astype(np.float64))
    want, _, _ = np_rnn(kind, w_dec, x_dec.astype(np.float64), h0=[h, c] if kind == "lstm" else [h])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    zero_start, _, _ = np_rnn(kind, w_dec, x_dec.astype(np.float64))
    assert np.abs(want - zero_start).max() > 1e-3  # the states made a difference
    # The list spelling is the same call; the graph and its file keep the state edges.
    np.testing.assert_allclose(Model([enc_in, dec_in], decoder([dec_in, *states])).predict([x_enc, x_dec]), got,
                               rtol=1e-6)
    m.save(tmp_path / "s2s.h5")
    np.testing.assert_allclose(load_model(tmp_path / "s2s.h5").predict([x_enc, x_dec]), got, rtol=1e-6)
    m.compile("adam", "mse")
    before = encoder.get_weights()[0].copy()
    m.fit([x_enc, x_dec], np.zeros_like(got), epochs=1, verbose=0)
    assert np.abs(encoder.get_weights()[0] - before).max() > 0  # gradients reach the encoder through the states


def test_bidirectional_initial_state_and_bad_states(fresh_session):
    from arena.nn.layers import Bidirectional
    rng = np.random.default_rng(8)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    h0 = [rng.normal(size=(2, 4)).astype("float32") for _ in range(4)]
    inp, states = Input(shape=(5, 3)), [Input(shape=(4,)) for _ in range(4)]
    bi = Bidirectional(LSTM(4, return_sequences=True))
    out = Model([inp, *states], bi(inp, initial_state=states)).predict([x, *h0])
    w = [np.asarray(a, np.float64) for a in bi.get_weights()]
    fwd, _, _ = np_rnn("lstm", w[:3], x.astype(np.float64), h0=h0[:2])
    bwd, _, _ = np_rnn("lstm", w[3:], x.astype(np.float64), go_backwards=True, h0=h0[2:])
    np.testing.assert_allclose(out, np.concatenate([fwd, bwd[:, ::-1]], -1), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"LSTM 'lstm_\d+' has 2 state\(s\) of sizes \[4, 4\]; got 1"):
        LSTM(4)(inp, initial_state=[states[0]])
    with pytest.raises(ValueError, match=r"initial state 0 must have shape \(batch, 4\); got \(None, 3\)"):
        GRU(4)(inp, initial_state=[Input(shape=(3,))])
    with pytest.raises(ValueError, match="come in pairs"):
        Bidirectional(GRU(4))(inp, initial_state=states[:3])
