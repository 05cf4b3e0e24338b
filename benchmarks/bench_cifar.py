"""E3.4 / E3.5 epochs: Arena's ``fit`` against a hand-written ``jax.jit`` + optax step of the same network
and against Keras 3 (JAX backend), and the two ways to augment.

    python benchmarks/bench_cifar.py [--steps 20] [--repeats 5] [--keras-python /path/to/venv/bin/python]

1. E3.4's network (1,676,842 parameters; RMSprop; batch 128) on 48,000 CIFAR-10 training images:
   ``--steps`` steps timed per run, scaled to an epoch (375 steps), interleaved with the hand-written
   baseline (``bench_fit_vs_jax.compare``: same weights, same dropout, data on the device). Goal:
   ratio <= 1.05. With ``--keras-python`` (a Python with keras, run with KERAS_BACKEND=jax) the same
   network and steps in Keras 3's ``fit`` in another process, as a ratio to Arena's time measured
   in this run.
2. E3.5: the same network fed by ``ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1,
   horizontal_flip=True).flow`` (host work in fit's background thread) and with the augmentation as
   preprocessing layers in the compiled step (RandomTranslation + RandomFlip): seconds per epoch
   (scaled as above), and the share of the generator-fed epoch spent beyond the array-fed step, which
   is the step waiting for its data.
No assertions: this prints figures.
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
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("ARENA_DATA_DIR", os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "../../shared/data")))

import arena  # noqa: E402
from arena.nn import Sequential, clear_session, optimizers  # noqa: E402
from bench_fit_vs_jax import BATCH, ROWS, compare  # noqa: E402
from scripts import cifar10_cnn  # noqa: E402


def deep_forward(p, x, key):
    """E3.4's network by hand, Keras' inverted dropout (rates .25, .25, .5)."""
    def conv(h, layer, padding="SAME"):
        w, b = p[layer]["kernel"], p[layer]["bias"]
        return jax.nn.relu(jax.lax.conv_general_dilated(h, w, (1, 1), padding,
                                                        dimension_numbers=("NHWC", "HWIO", "NHWC")) + b)

    def pool(h):
        return jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def dropout(h, k, rate):
        return jnp.where(jax.random.bernoulli(k, 1.0 - rate, h.shape), h / (1.0 - rate), 0.0)

    k1, k2, k3 = jax.random.split(key, 3)
    h = dropout(pool(conv(conv(x, "conv2d_1"), "conv2d_2")), k1, 0.25)
    h = dropout(pool(conv(conv(h, "conv2d_3"), "conv2d_4", "VALID")), k2, 0.25)
    h = h.reshape(h.shape[0], -1)
    h = dropout(jax.nn.relu(h @ p["dense_1"]["kernel"] + p["dense_1"]["bias"]), k3, 0.5)
    return jax.nn.softmax(h @ p["dense_2"]["kernel"] + p["dense_2"]["bias"])


KERAS_SCRIPT = r"""
import json, os, sys, time
os.environ.setdefault("KERAS_BACKEND", "jax")
import numpy as np, keras
spec = json.load(open(sys.argv[1]))
L = keras.layers
model = keras.Sequential([keras.Input((32, 32, 3)),
    L.Conv2D(32, 3, padding="same", activation="relu"), L.Conv2D(32, 3, padding="same", activation="relu"),
    L.MaxPooling2D(), L.Dropout(0.25),
    L.Conv2D(64, 3, padding="same", activation="relu"), L.Conv2D(64, 3, activation="relu"),
    L.MaxPooling2D(), L.Dropout(0.25),
    L.Flatten(), L.Dense(512, activation="relu"), L.Dropout(0.5), L.Dense(10, activation="softmax")])
model.compile(optimizer=keras.optimizers.RMSprop(0.001), loss="categorical_crossentropy", metrics=["accuracy"])
data = np.load(spec["data"])
x, y = data["x"], data["y"]
steps = spec["steps"]
model.fit(x, y, batch_size=128, epochs=1, steps_per_epoch=steps, verbose=0)  # compile
times = []
for _ in range(spec["repeats"]):
    t = time.perf_counter()
    model.fit(x, y, batch_size=128, epochs=1, steps_per_epoch=steps, verbose=0)
    times.append(time.perf_counter() - t)
print(json.dumps({"times": times, "version": keras.__version__, "params": model.count_params()}))
"""


def time_keras(python, x, y, steps, repeats):
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(os.path.join(tmp, "d.npz"), x=x, y=y)
        with open(os.path.join(tmp, "spec.json"), "w") as f:
            json.dump({"data": os.path.join(tmp, "d.npz"), "steps": steps, "repeats": repeats}, f)
        with open(os.path.join(tmp, "k.py"), "w") as f:
            f.write(KERAS_SCRIPT)
        out = subprocess.run([python, os.path.join(tmp, "k.py"), os.path.join(tmp, "spec.json")], text=True,
                             capture_output=True, env={**os.environ, "KERAS_BACKEND": "jax"}, check=False)
        if out.returncode:
            print(out.stderr[-2000:], file=sys.stderr)
            return None
        return json.loads(out.stdout.strip().splitlines()[-1])


def arena_fit_seconds(model, data, steps, repeats):
    """Seconds per ``steps`` steps of ``model.fit`` on ``data`` (arrays or a Sequence), after a warm-up."""
    def run():
        start = time.perf_counter()
        if isinstance(data, tuple):
            model.fit(*data, batch_size=BATCH, epochs=1, steps_per_epoch=steps, verbose=0)
        else:
            model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
        return time.perf_counter() - start
    run()
    return [run() for _ in range(repeats)]


def augmentation(x, y, steps, repeats):
    from arena.preprocessing.image import ImageDataGenerator
    scale = (ROWS // BATCH) / steps
    results = {}
    for way in ("arrays (no augmentation)", "ImageDataGenerator.flow", "preprocessing layers"):
        clear_session()
        arena.set_seed(0)
        model = cifar10_cnn.build("deep", "layers" if way.startswith("preprocessing") else "none")
        model.compile(loss="categorical_crossentropy", optimizer=optimizers.RMSprop(), metrics=["accuracy"])
        if way.startswith("ImageData"):
            gen = ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True)
            data = gen.flow(x, y, batch_size=BATCH, seed=0)
        else:
            data = (jax.device_put(x), jax.device_put(y))
        results[way] = [t * scale for t in arena_fit_seconds(model, data, steps, repeats)]
    print(f"\nE3.5 augmentation: seconds per epoch ({ROWS // BATCH} steps; {steps} timed, scaled), {repeats} runs")
    base = statistics.median(results["arrays (no augmentation)"])
    for way, times in results.items():
        med = statistics.median(times)
        print(f"  {way:28s} median {med:7.2f}  min {min(times):7.2f}  x{med / base:5.2f} of array-fed")
    gen = statistics.median(results["ImageDataGenerator.flow"])
    print(f"  ImageDataGenerator-fed epoch: {100 * max(0.0, gen - base) / gen:.0f} % of it beyond the array-fed "
          f"step (the step waiting for augmented batches from the host)")
    return results


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20, help="steps timed per run (scaled to an epoch)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--keras-python", default=None, help="a Python with keras (JAX backend) for the Keras 3 side")
    p.add_argument("--skip-augmentation", action="store_true")
    args = p.parse_args(argv)
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPU cores")
    (x, y), _ = cifar10_cnn.load(seed=0, limit=ROWS)
    paired = compare("E3.4 CIFAR-10 deep net (RMSprop)", lambda: Sequential(cifar10_cnn.deep_net()),
                     optimizers.RMSprop, optax.rmsprop(1e-3, decay=0.9, eps=1e-8, eps_in_sqrt=False), deep_forward,
                     x, y, args.steps, [1], args.repeats)
    print("  goal: ratio <= 1.05")
    if args.keras_python:
        clear_session()
        arena.set_seed(0)
        model = Sequential(cifar10_cnn.deep_net())
        model.compile(loss="categorical_crossentropy", optimizer=optimizers.RMSprop(), metrics=["accuracy"])
        # Arena from arrays already on the device (a fit from numpy copies all 48,000 images first, once
        # per call: 1.5 s here, paid once per training run, not per epoch); Keras slices numpy per batch.
        mine = arena_fit_seconds(model, (jax.device_put(x), jax.device_put(y)), args.steps, args.repeats)
        k = time_keras(args.keras_python, x, y, args.steps, args.repeats)
        if k:
            ratio = statistics.median(k["times"]) / statistics.median(mine)
            print(f"\nKeras {k['version']} fit (JAX backend, numpy input; {k['params']:,} params): median "
                  f"{statistics.median(k['times']):.3f} s per {args.steps} steps; Arena fit (device arrays) "
                  f"{statistics.median(mine):.3f}: Arena {ratio:.2f}x as fast as Keras")
    if not args.skip_augmentation:
        augmentation(x, y, args.steps, args.repeats)
    return paired


if __name__ == "__main__":
    main()
