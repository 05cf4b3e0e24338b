"""Data-parallel ``fit`` on 1, 2 and 4 devices, in float32 and mixed precision: the step time of the
E1.3 MLP and E3.1 LeNet at batch 128.

    python benchmarks/bench_distribution.py [--devices 1 2 4] [--policies float32 mixed_bfloat16]
                                            [--mlp-steps 375] [--lenet-steps 20] [--repeats 3]

Each device count runs in its own process (JAX fixes its devices at start-up): on a CPU-only machine
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` splits the host into N CPU devices, which
share the same cores, so on 2 cores expect no gain: the figure is the overhead of the sharded step
(the batch split, the gradient all-reduce XLA adds). "1 device" is plain ``fit`` without a
distribution; N > 1 is ``DataParallel`` over N devices. On a GPU machine with several GPUs, the
same script measures real data parallelism (``--devices`` up to the GPU count; no XLA flag).

MNIST's first 48,000 rows (on the device, as ``fit`` keeps them); one warm-up epoch (compilation)
is not timed; then ``--repeats`` timed fits, of ``--mlp-steps`` / ``--lenet-steps`` steps each
(``steps_per_epoch``). Printed: the median ms per step and its ratio to the first row (1 device,
the first policy). Each ``--policies`` entry is a dtype policy (``arena.nn.mixed_precision``): CPUs
have no fast 16-bit matrix units, so there mixed precision costs; on a GPU it is the point. No
assertions.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child(n_devices, policy, mlp_steps, lenet_steps, repeats):
    sys.path.insert(0, ROOT)
    os.environ.setdefault("ARENA_DATA_DIR", os.path.normpath(os.path.join(ROOT, "../shared/data")))
    import jax

    import arena
    from arena import distribution
    from arena.nn import mixed_precision, optimizers
    from scripts import common

    mixed_precision.set_dtype_policy(policy)
    (x, y), _ = common.load_mnist(flat=True)
    x, y = x[:48_000], y[:48_000]
    out = {"devices": [f"{d.platform}:{d.id}" for d in jax.devices()][:n_devices]}
    dist = distribution.DataParallel(devices=jax.devices()[:n_devices]) if n_devices > 1 else None
    for name, build, opt, steps, flat in [("mlp", lambda: common.mlp(dropout=0.3), optimizers.SGD(0.01), mlp_steps,
                                           True),
                                          ("lenet", common.lenet, optimizers.Adam(0.001), lenet_steps, False)]:
        arena.set_seed(0)
        model = build()
        model.compile(opt, "categorical_crossentropy", metrics=["accuracy"])
        xs = x if flat else x.reshape(-1, 28, 28, 1)
        distribution.set_distribution(dist)
        try:
            model.fit(xs, y, batch_size=128, epochs=1, steps_per_epoch=min(steps, 5), verbose=0)  # compile
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                model.fit(xs, y, batch_size=128, epochs=1, steps_per_epoch=steps, verbose=0)
                times.append((time.perf_counter() - start) / steps * 1000)
        finally:
            distribution.set_distribution(None)
        out[name] = statistics.median(times)
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--policies", nargs="+", default=["float32", "mixed_bfloat16"])
    p.add_argument("--mlp-steps", type=int, default=375)
    p.add_argument("--lenet-steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    p.add_argument("--policy", default="float32", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args.child, args.policy, args.mlp_steps, args.lenet_steps, args.repeats)
    import jax
    on_cpu = jax.default_backend() == "cpu"
    rows = {}
    for n in args.devices:
        for policy in args.policies:
            env = dict(os.environ)
            if on_cpu:
                env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={n}").strip()
            cmd = [sys.executable, __file__, "--child", str(n), "--policy", policy, "--mlp-steps", str(args.mlp_steps),
                   "--lenet-steps", str(args.lenet_steps), "--repeats", str(args.repeats)]
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"{n} device(s), {policy} failed:\n{done.stderr[-2000:]}")
            rows[n, policy] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"backend: {jax.default_backend()}, {os.cpu_count()} CPU cores; median of {args.repeats} fits, batch 128")
    print(f"{'devices':>8} {'policy':>15} {'MLP ms/step':>12} {'ratio':>6} {'LeNet ms/step':>14} {'ratio':>6}")
    base = rows[args.devices[0], args.policies[0]]
    for (n, policy), r in rows.items():
        print(f"{n:>8} {policy:>15} {r['mlp']:>12.2f} {r['mlp'] / base['mlp']:>6.2f} {r['lenet']:>14.1f} "
              f"{r['lenet'] / base['lenet']:>6.2f}")


if __name__ == "__main__":
    main()
