"""Arena's recurrent ``fit`` against a hand-written ``jax.jit`` + optax ``lax.scan`` loop of the same
network (and, with ``--keras-python``, Keras 3 on its JAX backend doing the same fit, in the same run).

    python benchmarks/bench_rnn_vs_jax.py [--repeats 5] [--keras-python /path/to/venv/bin/python]

Networks (the book's; synthetic token ids of a fixed seed, binary targets):
  * E6.2: Embedding(2002, 128) -> LSTM(64) -> Dense(1, sigmoid), batch 32, length 40;
  * the same with GRU(64) (reset_after=True, Keras 3's default);
  * E7.3's encoder: Embedding(2002, 50) -> Bidirectional(LSTM(512)) -> Dense(1, sigmoid), batch 64,
    length 50 (fewer steps timed; see --bi-steps).
Arena: ``model.fit(x, y, batch_size, epochs=1, verbose=0)`` on device arrays after a warm-up epoch;
adam, binary cross-entropy, accuracy logged. Baseline, what a competent JAX user writes: the same
initial weights, ``lax.scan`` over the steps (each step's input projection inside it, which measured
faster on XLA:CPU than one matmul before the scan),
one jitted step per batch gathering its rows from device-resident data, donating params and optimizer
state, on-device running sums of loss and accuracy. Keras 3: the same model built with the same
weights in a separate interpreter (``--keras-python``, a venv with keras and jax), ``fit`` timed
there after its first epoch; its compile time is its first epoch minus a later one.
Goals: ratio to the baseline <= 1.10; Arena >= 1.3x faster than Keras 3. No assertions: this prints.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import arena
from arena.nn import Sequential
from arena.nn.layers import GRU, LSTM, Bidirectional, Dense, Embedding, Input
from arena.nn.layers.base import clear_session

VOCAB = 2002


def network(kind, units, emb, length):
    rnn = {"lstm": lambda: LSTM(units), "gru": lambda: GRU(units),
           "bilstm": lambda: Bidirectional(LSTM(units))}[kind]()
    return Sequential([Input(shape=(length,)), Embedding(VOCAB, emb), rnn, Dense(1, activation="sigmoid")])


# ---- the hand-written baseline --------------------------------------------------------------------------
def lstm_scan(p, x, reverse=False):
    u = p["recurrent_kernel"].shape[0]

    def step(carry, x_t):  # the input projection inside the step: faster on XLA:CPU than one before
        h, c = carry
        g = x_t @ p["kernel"] + p["bias"] + h @ p["recurrent_kernel"]
        i, f, cc, o = jnp.split(g, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(cc)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), None
    zeros = jnp.zeros((x.shape[0], u), x.dtype)
    (h, _), _ = jax.lax.scan(step, (zeros, zeros), jnp.swapaxes(x, 0, 1), reverse=reverse)
    return h


def gru_scan(p, x):
    u = p["recurrent_kernel"].shape[0]

    def step(h, x_t):
        xz, xr, xh = jnp.split(x_t @ p["kernel"] + p["bias"][0], 3, axis=-1)
        rz, rr, rh = jnp.split(h @ p["recurrent_kernel"] + p["bias"][1], 3, axis=-1)
        zg, r = jax.nn.sigmoid(xz + rz), jax.nn.sigmoid(xr + rr)
        return zg * h + (1 - zg) * jnp.tanh(xh + r * rh), None
    h, _ = jax.lax.scan(step, jnp.zeros((x.shape[0], u), x.dtype), jnp.swapaxes(x, 0, 1))
    return h


def baseline_forward(kind, names):
    emb, rnn, dense = names

    def forward(p, ids):
        x = p[emb]["embeddings"][ids]
        if kind == "lstm":
            h = lstm_scan(p[rnn], x)
        elif kind == "gru":
            h = gru_scan(p[rnn], x)
        else:
            bwd, fwd = sorted(p[rnn])  # "backward_lstm_1", "forward_lstm_1"
            h = jnp.concatenate([lstm_scan(p[rnn][fwd], x), lstm_scan(p[rnn][bwd], x, reverse=True)], -1)
        return jax.nn.sigmoid(h @ p[dense]["kernel"] + p[dense]["bias"])
    return forward


class Baseline:
    def __init__(self, forward, params, x, y, batch):
        self.x, self.y, self.batch = jax.device_put(x), jax.device_put(y), batch
        self.tx = optax.adam(1e-3)
        self.params = jax.tree_util.tree_map(jnp.array, params)
        self.opt_state = self.tx.init(self.params)
        self.rng = np.random.default_rng(0)

        def loss_fn(p, xb, yb):
            prob = jnp.clip(forward(p, xb), 1e-7, 1 - 1e-7)
            loss = -jnp.mean(yb * jnp.log(prob) + (1 - yb) * jnp.log(1 - prob))
            return loss, jnp.mean((prob > 0.5) == (yb > 0.5))

        def step(p, o, sums, perm, i, x, y):
            idx = perm[i]
            (loss, acc), g = jax.value_and_grad(loss_fn, has_aux=True)(p, x[idx], y[idx])
            u, o = self.tx.update(g, o, p)
            return optax.apply_updates(p, u), o, sums + jnp.stack([loss, acc])
        self._step = jax.jit(step, donate_argnums=(0, 1, 2))

    def epoch(self, steps):
        perm = jax.device_put(self.rng.permutation(len(self.x))[:steps * self.batch].reshape(steps, self.batch)
                              .astype(np.int32))
        sums = jnp.zeros(2)
        for i in range(steps):
            self.params, self.opt_state, sums = self._step(self.params, self.opt_state, sums, perm, i, self.x,
                                                           self.y)
        return np.asarray(sums) / steps


# ---- Keras 3, in its own interpreter ----------------------------------------------------------------------
KERAS_SCRIPT = r"""
import json, os, sys, time
os.environ.setdefault("KERAS_BACKEND", "jax")
import numpy as np, keras
spec = json.load(open(sys.argv[1]))
data = np.load(spec["data"])
x, y = data["x"], data["y"]
L = keras.layers
rnn = {"lstm": lambda: L.LSTM(spec["units"]), "gru": lambda: L.GRU(spec["units"]),
       "bilstm": lambda: L.Bidirectional(L.LSTM(spec["units"]))}[spec["kind"]]()
m = keras.Sequential([keras.Input((spec["length"],)), L.Embedding(spec["vocab"], spec["emb"]), rnn,
                      L.Dense(1, activation="sigmoid")])
m.set_weights([np.asarray(w) for w in np.load(spec["weights"]).values()])
m.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
times = []
for _ in range(spec["repeats"] + 1):
    t = time.perf_counter(); m.fit(x, y, batch_size=spec["batch"], epochs=1, verbose=0, shuffle=True)
    times.append(time.perf_counter() - t)
print(json.dumps({"version": keras.__version__, "times": times}))
"""


def keras_times(python, kind, units, emb, length, batch, x, y, weights, repeats):
    with tempfile.TemporaryDirectory() as d:
        np.savez(os.path.join(d, "data.npz"), x=x, y=y)
        np.savez(os.path.join(d, "w.npz"), *weights)
        spec = dict(kind=kind, units=units, emb=emb, length=length, batch=batch, vocab=VOCAB, repeats=repeats,
                    data=os.path.join(d, "data.npz"), weights=os.path.join(d, "w.npz"))
        with open(os.path.join(d, "spec.json"), "w") as f:
            json.dump(spec, f)
        with open(os.path.join(d, "run.py"), "w") as f:
            f.write(KERAS_SCRIPT)
        out = subprocess.run([python, os.path.join(d, "run.py"), os.path.join(d, "spec.json")], capture_output=True,
                             text=True, env={**os.environ, "KERAS_BACKEND": "jax"})
        if out.returncode:
            print(f"  keras run failed: {out.stderr.strip().splitlines()[-1] if out.stderr else out.returncode}")
            return None
        return json.loads(out.stdout.strip().splitlines()[-1])


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(kind, units, emb, length, batch, steps, repeats, keras_python):
    clear_session()
    arena.set_seed(0)
    rng = np.random.default_rng(0)
    n = steps * batch
    x = rng.integers(1, VOCAB, (n, length)).astype(np.int32)
    y = (rng.random((n, 1)) < 0.5).astype(np.float32)
    model = network(kind, units, emb, length)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    names = [l.name for l in model.layers]
    base = Baseline(baseline_forward(kind, names), jax.tree_util.tree_map(np.asarray, model.params), x, y, batch)
    weights = model.get_weights()
    xd, yd = jax.device_put(x), jax.device_put(y)
    runs = {"jax": lambda: timed(lambda: base.epoch(steps)),
            "arena": lambda: timed(lambda: model.fit(xd, yd, batch_size=batch, epochs=1, verbose=0))}
    first = {k: run() for k, run in runs.items()}   # warm-up: compilation
    times = {k: [] for k in runs}
    for r in range(repeats):
        for k in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
            times[k].append(runs[k]())
    paired = statistics.median(a / b for a, b in zip(times["arena"], times["jax"]))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\n{kind} ({units} units, embedding {emb}), batch {batch}, length {length}: {steps} steps per epoch, "
          f"{repeats} runs")
    print(f"  hand-written jit + optax + lax.scan   {med['jax']:.3f} s/epoch (first epoch {first['jax']:.2f} s)")
    print(f"  arena fit                             {med['arena']:.3f} s/epoch (first epoch {first['arena']:.2f} s)"
          f"   paired ratio {paired:.3f} (goal <= 1.10)")
    print(f"  compile (first epoch - median): arena {first['arena'] - med['arena']:.2f} s, "
          f"hand-written {first['jax'] - med['jax']:.2f} s")
    if keras_python:
        k = keras_times(keras_python, kind, units, emb, length, batch, x, y, weights, max(2, repeats // 2))
        if k:
            km = statistics.median(k["times"][1:])
            print(f"  keras {k['version']} (jax backend) fit      {km:.3f} s/epoch (first epoch {k['times'][0]:.2f} s, "
                  f"compile {k['times'][0] - km:.2f} s): arena is {km / med['arena']:.2f}x faster (goal >= 1.3)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=100, help="batches per timed epoch (E6.2 networks)")
    p.add_argument("--bi-steps", type=int, default=10, help="batches per timed epoch (Bidirectional LSTM 512)")
    p.add_argument("--keras-python", help="a Python with keras and jax installed, for the side-by-side run")
    p.add_argument("--skip-bi", action="store_true")
    args = p.parse_args(argv)
    print(f"jax {jax.__version__} on {jax.default_backend()}, {os.cpu_count()} CPU cores")
    compare("lstm", 64, 128, 40, 32, args.steps, args.repeats, args.keras_python)
    compare("gru", 64, 128, 40, 32, args.steps, args.repeats, args.keras_python)
    if not args.skip_bi:
        compare("bilstm", 512, 50, 50, 64, args.bi_steps, args.repeats, args.keras_python)


if __name__ == "__main__":
    sys.exit(main())
