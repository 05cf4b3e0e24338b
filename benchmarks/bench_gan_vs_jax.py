"""One training step of the book's DCGAN (E4.1) at batch 128: ``arena.nn.GAN.fit`` against a
hand-written ``jax.jit`` + optax step of the same two networks and, with ``--keras-python``, against the
same GAN on Keras 3's JAX backend (a jitted step of ``stateless_call`` / ``stateless_apply``, Keras 3's
custom-training API for JAX), in the same run.

    python benchmarks/bench_gan_vs_jax.py [--steps 10] [--repeats 3] [--keras-python /path/to/venv/bin/python]

The step (all three): noise U(-1, 1) -> generator (training mode: batch statistics) -> discriminator
update on the real batch and the generated one concatenated (targets 1 / 0, binary cross-entropy),
then a generator update through the discriminator on fresh noise (target 1). SGD(0.0005, momentum
0.9, nesterov) for both networks, as the book. Same initial weights, synthetic images in [-1, 1] kept
on the device. Timed: ``steps`` steps after a warm-up, the median of ``repeats``. Goals (issue):
Arena / hand-written <= 1.10; Arena >= 1.3x faster than Keras 3. No assertions: this prints.
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

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import arena  # noqa: E402
from arena.nn import GAN  # noqa: E402
from arena.nn.optimizers import SGD  # noqa: E402
from scripts.mnist_gan import book_networks  # noqa: E402

BATCH = 128
LR, MOMENTUM = 0.0005, 0.9
BN_MOMENTUM, BN_EPS = 0.99, 1e-3  # Keras' BatchNormalization defaults


# ---- the hand-written baseline ------------------------------------------------------------------------------
def conv(x, k, b, padding):
    y = jax.lax.conv_general_dilated(x, k, (1, 1), padding, dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + b


def upsample(x):
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def maxpool(x):
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def generator(p, s, z):
    """E4.1's generator in training mode; returns (images, new batch-norm statistics)."""
    h = jnp.tanh(z @ p[0] + p[1])
    h = h @ p[2] + p[3]
    mean, var = jnp.mean(h, 0), jnp.var(h, 0)
    h = jnp.tanh(p[4] * (h - mean) / jnp.sqrt(var + BN_EPS) + p[5])
    stats = (BN_MOMENTUM * s[0] + (1 - BN_MOMENTUM) * mean, BN_MOMENTUM * s[1] + (1 - BN_MOMENTUM) * var)
    h = h.reshape(-1, 7, 7, 128)
    h = jnp.tanh(conv(upsample(h), p[6], p[7], "SAME"))
    return jnp.tanh(conv(upsample(h), p[8], p[9], "SAME")), stats


def discriminator(p, x):
    h = maxpool(jnp.tanh(conv(x, p[0], p[1], "SAME")))
    h = maxpool(jnp.tanh(conv(h, p[2], p[3], "VALID")))
    h = jnp.tanh(h.reshape(h.shape[0], -1) @ p[4] + p[5])
    return jax.nn.sigmoid(h @ p[6] + p[7])


def bce(target, p):
    p = jnp.clip(p, 1e-7, 1 - 1e-7)
    return -jnp.mean(target * jnp.log(p) + (1 - target) * jnp.log(1 - p))


class Baseline:
    def __init__(self, g_weights, d_weights, images):
        # Arena's get_weights order: Dense k, b; Dense k, b; BN gamma, beta, mean, var; Conv k, b; Conv k, b.
        g = [jnp.asarray(w) for w in g_weights]
        self.gp, self.gs = g[:4] + g[4:6] + g[8:], (g[6], g[7])
        self.dp = [jnp.asarray(w) for w in d_weights]
        self.images = jax.device_put(images)
        self.tx = optax.sgd(LR, momentum=MOMENTUM, nesterov=True)
        self.go, self.do = self.tx.init(self.gp), self.tx.init(self.dp)
        tx = self.tx

        def step(gp, gs, dp, go, do, images, idx, key):
            real = images[idx]
            n = real.shape[0]
            k1, k2 = jax.random.split(key)
            fake, gs_new = generator(gp, gs, jax.random.uniform(k1, (n, 100), minval=-1, maxval=1))
            both = jnp.concatenate([real, jax.lax.stop_gradient(fake)])
            targets = jnp.concatenate([jnp.ones((n, 1)), jnp.zeros((n, 1))])
            d_loss, grads = jax.value_and_grad(lambda q: bce(targets, discriminator(q, both)))(dp)
            updates, do = tx.update(grads, do, dp)
            dp = optax.apply_updates(dp, updates)
            z = jax.random.uniform(k2, (n, 100), minval=-1, maxval=1)

            def g_loss_fn(q):
                images_, stats = generator(q, gs_new, z)
                return bce(jnp.ones((n, 1)), discriminator(dp, images_)), stats
            (g_loss, gs_new), grads = jax.value_and_grad(g_loss_fn, has_aux=True)(gp)
            updates, go = tx.update(grads, go, gp)
            return optax.apply_updates(gp, updates), gs_new, dp, go, do, d_loss + g_loss
        self._step = jax.jit(step, donate_argnums=(0, 1, 2, 3, 4))
        self.key = jax.random.PRNGKey(0)

    def run(self, steps, rng):
        order = jax.device_put(rng.permutation(len(self.images))[:steps * BATCH].reshape(steps, BATCH).astype(np.int32))
        total = None
        for i in range(steps):
            self.gp, self.gs, self.dp, self.go, self.do, loss = self._step(
                self.gp, self.gs, self.dp, self.go, self.do, self.images, order[i], jax.random.fold_in(self.key, i))
            total = loss
        return float(total)


# ---- Keras 3, in its own interpreter ----------------------------------------------------------------------
KERAS_SCRIPT = r"""
import json, os, sys, time
os.environ.setdefault("KERAS_BACKEND", "jax")
import jax, jax.numpy as jnp, numpy as np, keras
spec = json.load(open(sys.argv[1]))
w = np.load(spec["weights"])
L = keras.layers
g = keras.Sequential([keras.Input((100,)), L.Dense(1024), L.Activation("tanh"), L.Dense(6272),
                      L.BatchNormalization(), L.Activation("tanh"), L.Reshape((7, 7, 128)), L.UpSampling2D(),
                      L.Conv2D(64, 5, padding="same"), L.Activation("tanh"), L.UpSampling2D(),
                      L.Conv2D(1, 5, padding="same"), L.Activation("tanh")])
d = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(64, 5, padding="same"), L.Activation("tanh"),
                      L.MaxPooling2D(), L.Conv2D(128, 5), L.Activation("tanh"), L.MaxPooling2D(), L.Flatten(),
                      L.Dense(1024), L.Activation("tanh"), L.Dense(1), L.Activation("sigmoid")])
for model, prefix in ((g, "g"), (d, "d")):
    arrays = [w[f"{prefix}{i}"] for i in range(sum(1 for k in w.files if k.startswith(prefix)))]
    for layer in model.layers:
        n = len(layer.weights)
        if n:
            layer.set_weights(arrays[:n]); arrays = arrays[n:]
g_opt = keras.optimizers.SGD(spec["lr"], momentum=spec["momentum"], nesterov=True)
d_opt = keras.optimizers.SGD(spec["lr"], momentum=spec["momentum"], nesterov=True)
g_opt.build(g.trainable_variables); d_opt.build(d.trainable_variables)
bce = keras.losses.BinaryCrossentropy()

def step(state, real, key):
    g_tv, g_ntv, d_tv, d_ntv, g_ov, d_ov = state
    n = real.shape[0]
    k1, k2 = jax.random.split(key)
    fake, g_ntv1 = g.stateless_call(g_tv, g_ntv, jax.random.uniform(k1, (n, 100), minval=-1, maxval=1), training=True)
    both = jnp.concatenate([real, jax.lax.stop_gradient(fake)])
    targets = jnp.concatenate([jnp.ones((n, 1)), jnp.zeros((n, 1))])
    def d_loss_fn(tv):
        p, ntv = d.stateless_call(tv, d_ntv, both, training=True)
        return bce(targets, p), ntv
    (d_loss, d_ntv), grads = jax.value_and_grad(d_loss_fn, has_aux=True)(d_tv)
    d_tv, d_ov = d_opt.stateless_apply(d_ov, grads, d_tv)
    z = jax.random.uniform(k2, (n, 100), minval=-1, maxval=1)
    def g_loss_fn(tv):
        images, ntv = g.stateless_call(tv, g_ntv1, z, training=True)
        p, _ = d.stateless_call(d_tv, d_ntv, images, training=True)
        return bce(jnp.ones((n, 1)), p), ntv
    (g_loss, g_ntv), grads = jax.value_and_grad(g_loss_fn, has_aux=True)(g_tv)
    g_tv, g_ov = g_opt.stateless_apply(g_ov, grads, g_tv)
    return (g_tv, g_ntv, d_tv, d_ntv, g_ov, d_ov), d_loss + g_loss

jstep = jax.jit(step, donate_argnums=0)
state = ([v.value for v in g.trainable_variables], [v.value for v in g.non_trainable_variables],
         [v.value for v in d.trainable_variables], [v.value for v in d.non_trainable_variables],
         [v.value for v in g_opt.variables], [v.value for v in d_opt.variables])
images = jax.device_put(np.load(spec["data"])["x"])
rng = np.random.default_rng(0)
def epoch(steps):
    global state
    order = jax.device_put(rng.permutation(len(images))[:steps * 128].reshape(steps, 128).astype(np.int32))
    loss = None
    for i in range(steps):
        state, loss = jstep(state, images[order[i]], jax.random.PRNGKey(i))
    return float(loss)
t = time.perf_counter(); epoch(1); compile_s = time.perf_counter() - t
times = []
for _ in range(spec["repeats"]):
    t = time.perf_counter(); epoch(spec["steps"]); times.append((time.perf_counter() - t) / spec["steps"])
print(json.dumps({"times": times, "first": compile_s, "version": keras.__version__}))
"""


def time_keras(python, g_weights, d_weights, images, steps, repeats):
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(os.path.join(tmp, "w.npz"), **{f"g{i}": w for i, w in enumerate(g_weights)},
                 **{f"d{i}": w for i, w in enumerate(d_weights)})
        np.savez(os.path.join(tmp, "x.npz"), x=images)
        spec = {"weights": os.path.join(tmp, "w.npz"), "data": os.path.join(tmp, "x.npz"), "steps": steps,
                "repeats": repeats, "lr": LR, "momentum": MOMENTUM}
        with open(os.path.join(tmp, "spec.json"), "w") as f:
            json.dump(spec, f)
        script = os.path.join(tmp, "keras_gan.py")
        with open(script, "w") as f:
            f.write(KERAS_SCRIPT)
        env = {**os.environ, "KERAS_BACKEND": "jax"}
        out = subprocess.run([python, script, os.path.join(tmp, "spec.json")], capture_output=True, text=True,
                             env=env, check=False)
        if out.returncode:
            print(out.stderr[-2000:], file=sys.stderr)
            return None
        return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--keras-python", default=None, help="a Python with keras (JAX backend) for the Keras 3 side")
    args = p.parse_args(argv)
    arena.set_seed(0)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (BATCH * args.steps, 28, 28, 1)).astype(np.float32)
    g, d = book_networks()
    g_weights, d_weights = g.get_weights(), d.get_weights()
    print(f"DCGAN E4.1 (generator {g.count_params():,}, discriminator {d.count_params():,} parameters), batch "
          f"{BATCH}, {args.steps} steps x {args.repeats}; backend {jax.default_backend()}")

    gan = GAN(g, d, noise="uniform")
    gan.compile(SGD(LR, momentum=MOMENTUM, nesterov=True), SGD(LR, momentum=MOMENTUM, nesterov=True))
    data = jax.device_put(images)
    t = time.perf_counter()
    gan.fit(data, batch_size=BATCH, epochs=1, verbose=0)  # compiles (the data's shape is part of the program)
    arena_first = time.perf_counter() - t
    arena_times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        gan.fit(data, batch_size=BATCH, epochs=1, verbose=0)
        arena_times.append((time.perf_counter() - t) / args.steps)

    base = Baseline(g_weights, d_weights, images)
    t = time.perf_counter()
    base.run(1, rng)
    base_first = time.perf_counter() - t
    base_times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        base.run(args.steps, rng)
        base_times.append((time.perf_counter() - t) / args.steps)

    a, b = statistics.median(arena_times), statistics.median(base_times)
    print(f"Arena GAN.fit:        {1000 * a:8.1f} ms/step (first epoch {arena_first:.1f} s, compile included)")
    print(f"hand-written jax.jit: {1000 * b:8.1f} ms/step (first call {base_first:.1f} s)")
    print(f"Arena / hand-written: {a / b:.3f}  (goal <= 1.10)")
    if args.keras_python:
        k = time_keras(args.keras_python, g_weights, d_weights, images, args.steps, args.repeats)
        if k is not None:
            km = statistics.median(k["times"])
            print(f"Keras {k['version']} (JAX, stateless step): {1000 * km:8.1f} ms/step (first call "
                  f"{k['first']:.1f} s)")
            print(f"Arena speed-up over Keras 3: {km / a:.3f}x  (goal >= 1.3)")


if __name__ == "__main__":
    main()
