"""E4.4: WaveNet (the book repo's Chapter04/wavnet, from basveeling/wavenet): the book's model, trained
on synthetic mu-law tones, then generating audio sample by sample into a WAV file.

    python scripts/wavenet.py [--config book|small] [--epochs N] [--seconds S]

Model (``--config book``) [4,129,536 parameters, the book's summary]: 256-level mu-law one-hot input
-> causal Conv1D(256, 2) (with bias) -> 10 residual blocks with dilations 1, 2, ..., 512, each a gated
unit ``tanh(Conv1D(256, 2, causal, dilated)) * sigmoid(Conv1D(256, 2, causal, dilated))`` (no biases),
a 1x1 skip Conv1D and (except in the last block, whose output nobody reads) a 1x1 residual Conv1D added
to the block's input, all without bias -> the sum of the skips -> ReLU -> Conv1D(256, 1) -> ReLU ->
Conv1D(256, 1) -> softmax over the 256 levels. Receptive field 1,025 samples. ``--config small``
(dilations 1..32, 32 filters) is the same design at a CPU-friendly size.

Data (VCTK is not offline): synthetic audio made here, at 4,000 Hz: sums of two sine tones of random
pitch (110-880 Hz) and amplitude, mu-law encoded to 256 levels; fragments of ``receptive field +
128`` samples. Training (the repo's): SGD(0.001, momentum 0.9, nesterov), categorical cross-entropy on
the outputs whose receptive field lies inside the fragment (``--config small`` uses Adam(1e-3) by
default, which learns in a few epochs); the goal is a loss clearly below the
uniform baseline ln 256 = 5.545. Generation: sample by sample from the softmax (temperature 1),
feeding each sample back, written as 16-bit PCM WAV; each layer keeps a queue of its past inputs (Fast
WaveNet), so a sample costs one column of the network, not a pass over 1,025 samples.

Measured (``--config book --clips 4``, 216 fragments, batch 16, seed 42, 2 CPU cores, about 37 s an
epoch): with ``--optimizer adam`` the loss falls 5.283 (epoch 1) -> 1.111 after 20 epochs (12 min),
against the uniform 5.545. The repo's SGD moved it only 5.552 -> 5.549 in 3 epochs (21 steps), too
slow for a CPU budget. Generating 1 s (4,000 samples) from the last 1,025 samples of a training clip
took 13 s; the generated audio keeps the clip's two tones: 99.8 % of its energy lies in the 6
strongest FFT bins, at 706 and 448 Hz as in the clip (white noise: 1.7 %).
"""
import os
import sys
import wave

import jax
import jax.numpy as jnp
import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from arena.nn import Activation, Add, Conv1D, Input, Model, Multiply  # noqa: E402

CONFIGS = {"book": {"filters": 256, "depth": 10}, "small": {"filters": 32, "depth": 6}}
BOOK_PARAMS = 4_129_536
LEVELS = 256
RATE = 4000
UNIFORM_LOSS = float(np.log(LEVELS))


def receptive_field(depth):
    """Samples one output sees: the current one, one more for the initial width-2 conv and each
    block's dilation (1025 for the book's 10 blocks)."""
    return 2 + sum(2 ** i for i in range(depth))


def build_wavenet(filters=256, depth=10, levels=LEVELS, length=None):
    """The WaveNet of basveeling/wavenet as the book runs it (see the module docstring)."""
    x = Input(shape=(length, levels), name="mu_law_one_hot")
    h = Conv1D(filters, 2, padding="causal", name="initial_causal_conv")(x)
    skips = []
    for i in range(depth):
        rate = 2 ** i
        tanh = Conv1D(filters, 2, dilation_rate=rate, padding="causal", use_bias=False,
                      activation="tanh", name=f"dilated_conv_{rate}_tanh")(h)
        sigm = Conv1D(filters, 2, dilation_rate=rate, padding="causal", use_bias=False,
                      activation="sigmoid", name=f"dilated_conv_{rate}_sigm")(h)
        gated = Multiply(name=f"gated_activation_{i}")([tanh, sigm])
        skips.append(Conv1D(filters, 1, use_bias=False, name=f"skip_{i}")(gated))
        if i < depth - 1:  # the last block's residual output is never read: not built (the book's count)
            h = Add(name=f"residual_block_{i}")([h, Conv1D(filters, 1, use_bias=False, name=f"res_{i}")(gated)])
    out = Activation("relu")(Add(name="skip_sum")(skips))
    out = Activation("relu")(Conv1D(levels, 1, name="output_conv_1")(out))
    out = Conv1D(levels, 1, activation="softmax", name="output_conv_2")(out)
    return Model(x, out, name="wavenet")


def mu_law_encode(audio, levels=LEVELS):
    """Audio in [-1, 1] to integer levels 0..levels-1 (mu-law companding, mu = levels - 1)."""
    mu = levels - 1
    compressed = np.sign(audio) * np.log1p(mu * np.abs(audio)) / np.log1p(mu)
    return np.clip(np.round((compressed + 1) / 2 * mu), 0, mu).astype(np.int32)


def mu_law_decode(codes, levels=LEVELS):
    mu = levels - 1
    compressed = 2 * (np.asarray(codes, np.float64) / mu) - 1
    return np.sign(compressed) * np.expm1(np.abs(compressed) * np.log1p(mu)) / mu


def tones(n_clips, seconds, rng):
    """``n_clips`` clips of two sine tones each (110-880 Hz, amplitudes 0.2-0.45), float in [-1, 1]."""
    t = np.arange(int(seconds * RATE)) / RATE
    clips = []
    for _ in range(n_clips):
        f = rng.uniform(110, 880, 2)
        a = rng.uniform(0.2, 0.45, 2)
        phase = rng.uniform(0, 2 * np.pi, 2)
        clips.append(sum(a[k] * np.sin(2 * np.pi * f[k] * t + phase[k]) for k in range(2)))
    return np.stack(clips)


def fragments(codes, length, stride):
    """Overlapping fragments of ``length + 1`` samples: inputs are the first ``length``, targets the
    next sample of each position."""
    windows = [clip[s:s + length + 1] for clip in codes for s in range(0, len(clip) - length - 1, stride)]
    return np.stack(windows)


def one_hot(codes, levels=LEVELS):
    return np.eye(levels, dtype=np.float32)[codes]


def write_wav(path, audio):
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    tmp = f"{path}.part"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    os.replace(tmp, path)
    return path


def fast_step(model, depth):
    """The network one time step at a time (Fast WaveNet, Paine et al. 2016): each dilated layer keeps
    a queue of its last ``dilation`` inputs, so a new sample costs one column of the network instead
    of a pass over the whole receptive field. Returns ``(init, step)``: ``init()`` gives empty queues,
    and the compiled ``step(params, queues, x_t) -> (queues, p_t)`` takes ``params = model.params``.
    Zero queues are the causal padding, so the probabilities equal ``model.predict``'s on the same
    samples (tested)."""
    filters = model.get_layer("initial_causal_conv").params["kernel"].shape[-1]
    levels = model.get_layer("initial_causal_conv").params["kernel"].shape[1]

    def init():
        return {"x": jnp.zeros((1, levels)), "t": jnp.zeros((), jnp.int32),
                **{f"h{i}": jnp.zeros((2 ** i, filters)) for i in range(depth)}}

    def tap(params, name, past, now):
        kernel = params[name]["kernel"]
        return past @ kernel[0] + now @ kernel[1]

    def step(params, queues, x):
        first = params["initial_causal_conv"]
        h = (queues["x"] @ first["kernel"][0] + x @ first["kernel"][1] + first["bias"])[0]
        new, t, skip = {"x": x, "t": queues["t"] + 1}, queues["t"], 0.0
        for i in range(depth):
            rate = 2 ** i
            slot = t % rate
            past = queues[f"h{i}"][slot]  # this layer's input ``rate`` steps ago (zero before the start)
            new[f"h{i}"] = queues[f"h{i}"].at[slot].set(h)
            gated = (jnp.tanh(tap(params, f"dilated_conv_{rate}_tanh", past, h))
                     * jax.nn.sigmoid(tap(params, f"dilated_conv_{rate}_sigm", past, h)))
            skip = skip + gated @ params[f"skip_{i}"]["kernel"][0]
            if i < depth - 1:
                h = h + gated @ params[f"res_{i}"]["kernel"][0]
        out = jax.nn.relu(skip)
        for name, last in (("output_conv_1", False), ("output_conv_2", True)):
            out = out @ params[name]["kernel"][0] + params[name]["bias"]
            out = jax.nn.softmax(out) if last else jax.nn.relu(out)
        return new, out

    return init, jax.jit(step)


def fast_generate(model, seed_codes, n, depth, rng):
    """``n`` new samples drawn one by one from the softmax (temperature 1), each fed back, through
    :func:`fast_step`; the seed (at least the receptive field) primes the queues."""
    if len(seed_codes) == 0:
        raise ValueError("fast_generate: seed_codes is empty; give at least one sample (the receptive field "
                         "for a seed that shapes the output)")
    init, step = fast_step(model, depth)
    params, queues, p = model.params, init(), None
    levels = model.output_shape[-1]
    for code in seed_codes:
        queues, p = step(params, queues, jnp.asarray(one_hot(np.array([code]), levels)))
    codes = []
    for _ in range(n):
        probs = np.asarray(p, np.float64)
        codes.append(int(rng.choice(levels, p=probs / probs.sum())))
        queues, p = step(params, queues, jnp.asarray(one_hot(np.array([codes[-1]]), levels)))
    return np.array(codes)


def main(argv=None):
    p = common.parser("wavenet", __doc__.splitlines()[0], epochs=20, seed=42)
    p.add_argument("--config", choices=tuple(CONFIGS), default="small")
    p.add_argument("--clips", type=int, default=8, help="synthetic clips (default 8)")
    p.add_argument("--seconds", type=float, default=1.0, help="seconds of audio to generate (default 1)")
    p.add_argument("--stride", type=int, default=128, help="fragment stride in samples (the repo's 128)")
    p.add_argument("--optimizer", choices=("sgd", "adam"), default=None,
                   help="sgd: the repo's SGD(0.001, momentum 0.9, nesterov) (default for --config book); "
                        "adam: Adam(1e-3) (default for --config small: learns in few epochs)")
    args = p.parse_args(argv)
    common.start(args)
    os.makedirs(args.logdir, exist_ok=True)
    cfg = CONFIGS[args.config]
    field = receptive_field(cfg["depth"])
    model = build_wavenet(cfg["filters"], cfg["depth"])
    print(f"WaveNet ({args.config}): {model.count_params():,} parameters"
          + (f" (book {BOOK_PARAMS:,})" if args.config == "book" else "") + f", receptive field {field}")
    rng = np.random.default_rng(args.seed)
    codes = mu_law_encode(tones(args.clips, 2.0, rng))
    frags = fragments(codes, field + 128, args.stride)
    x, y = one_hot(frags[:, :-1]), one_hot(frags[:, 1:])
    weights = np.zeros(y.shape[:2], np.float32)
    weights[:, field - 1:] = 1.0  # only outputs whose receptive field lies inside the fragment count
    from arena.nn.optimizers import SGD, Adam
    optimizer = args.optimizer or ("sgd" if args.config == "book" else "adam")
    model.compile(SGD(0.001, momentum=0.9, nesterov=True) if optimizer == "sgd" else Adam(1e-3),
                  "categorical_crossentropy", sample_weight_mode="temporal")
    with common.Timer() as t:
        history = model.fit(x, y, sample_weight=weights, batch_size=16, epochs=args.epochs, verbose=args.verbose,
                            callbacks=[common.tensorboard(args.logdir)])
    loss = history.history["loss"]
    print(f"loss {loss[0]:.3f} -> {loss[-1]:.3f} (uniform baseline {UNIFORM_LOSS:.3f}) in {t.seconds:.0f} s "
          f"on {len(x)} fragments")
    with common.Timer() as g:
        new = fast_generate(model, codes[0][-field:], int(args.seconds * RATE), cfg["depth"], rng)
    path = write_wav(os.path.join(args.logdir, "generated.wav"), mu_law_decode(new))
    print(f"generated {len(new)} samples ({args.seconds} s at {RATE} Hz) in {g.seconds:.0f} s: {path}")
    return {"params": model.count_params(), "loss": loss, "field": field, "wav": path}


if __name__ == "__main__":
    main()
