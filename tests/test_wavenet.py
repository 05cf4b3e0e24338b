"""E4.4 WaveNet: the book's parameter count, causality (no output looks ahead), mu-law round trip, and
a short learning run that beats the uniform prediction and writes a WAV."""
import wave

import numpy as np
import pytest

from arena.nn import Conv1D, Input, Model


def test_book_wavenet_has_the_books_parameter_count(fresh_session):
    from scripts.wavenet import BOOK_PARAMS, build_wavenet, receptive_field
    assert build_wavenet(256, 10).count_params() == BOOK_PARAMS == 4_129_536
    assert receptive_field(10) == 1025


@pytest.mark.parametrize("net", ["conv", "wavenet"])
def test_causal_outputs_never_look_ahead(fresh_session, net):
    from scripts.wavenet import build_wavenet
    rng = np.random.default_rng(0)
    if net == "conv":
        x = Input(shape=(20, 3))
        model = Model(x, Conv1D(4, 3, padding="causal", dilation_rate=2)(x))
        seq = rng.normal(size=(2, 20, 3)).astype("float32")
    else:
        model = build_wavenet(filters=8, depth=3, levels=16, length=20)
        seq = np.eye(16, dtype="float32")[rng.integers(0, 16, (2, 20))]
    base = model.predict(seq)
    for t in (0, 7, 18):
        changed = seq.copy()
        changed[:, t + 1:] = np.roll(changed[:, t + 1:], 1, axis=-1) * 3.0  # everything after t differs
        out = model.predict(changed)
        np.testing.assert_allclose(out[:, :t + 1], base[:, :t + 1], rtol=1e-5, atol=1e-6)
        assert np.abs(out[:, t + 1:] - base[:, t + 1:]).max() > 1e-4  # and the later outputs do see it


def test_receptive_field_is_exact(fresh_session):
    """The last output changes with the input receptive_field - 1 steps back and not with the one before."""
    from scripts.wavenet import build_wavenet, receptive_field
    field = receptive_field(3)
    model = build_wavenet(filters=8, depth=3, levels=16, length=field + 1)
    seq = np.eye(16, dtype="float32")[np.random.default_rng(0).integers(0, 16, (1, field + 1))]
    base = model.predict(seq)[0, -1]
    for back, seen in ((field - 1, True), (field, False)):
        changed = seq.copy()
        changed[0, -1 - back] = np.roll(changed[0, -1 - back], 1)
        assert (np.abs(model.predict(changed)[0, -1] - base).max() > 1e-6) == seen, back


def test_fast_generation_step_equals_the_whole_model(fresh_session):
    """fast_step's per-layer queues give the probabilities model.predict gives at every position."""
    from scripts.wavenet import build_wavenet, fast_step, one_hot
    import jax.numpy as jnp
    model = build_wavenet(filters=8, depth=4, levels=16)
    for layer in model.layers:  # random biases too, so that a misplaced bias shows
        if layer.params and "bias" in layer.params:
            layer.params = {**layer.params, "bias": jnp.linspace(-0.5, 0.5, layer.params["bias"].shape[0])}
    assert float(model.get_layer("output_conv_2").params["bias"][0]) == -0.5
    codes = np.random.default_rng(1).integers(0, 16, 40)
    want = model.predict(one_hot(codes, 16)[None])[0]
    init, step = fast_step(model, 4)
    queues, got = init(), []
    for code in codes:
        queues, p = step(model.params, queues, jnp.asarray(one_hot(np.array([code]), 16)))
        got.append(np.asarray(p))
    np.testing.assert_allclose(np.array(got), want, rtol=1e-4, atol=1e-6)
    from scripts.wavenet import fast_generate
    with pytest.raises(ValueError, match="seed_codes is empty"):
        fast_generate(model, [], 10, 4, np.random.default_rng(0))


def test_mu_law_round_trip():
    from scripts.wavenet import mu_law_decode, mu_law_encode
    audio = np.linspace(-1, 1, 1001)
    codes = mu_law_encode(audio)
    assert codes.min() == 0 and codes.max() == 255
    assert np.abs(mu_law_decode(codes) - audio).max() < 0.025  # 8-bit mu-law steps are widest at full scale
    assert np.abs(mu_law_decode(codes) - audio)[np.abs(audio) < 0.1].max() < 0.003  # and fine near silence


def test_small_wavenet_learns_tones_and_writes_a_wav(fresh_session, tmp_path):
    from scripts import wavenet
    result = wavenet.main(["--config", "small", "--epochs", "10", "--clips", "2", "--stride", "256",
                           "--seconds", "0.01", "--verbose", "0", "--logdir", str(tmp_path)])
    assert result["loss"][-1] < wavenet.UNIFORM_LOSS - 0.5 and result["loss"][-1] < result["loss"][0]
    with wave.open(result["wav"]) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnframes()) == (4000, 2, 40)
