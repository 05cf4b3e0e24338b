"""Data-parallel training on several devices (``arena.distribution``), in a subprocess that gives JAX
4 CPU devices: the same global batches give the same weights, logs and predictions as one device,
the batch really is split across the devices, and a batch size they cannot split is a clear error;
a ModelParallel layout splits the kernels it names; a custom train_step (the GAN), DQN's updates and
the compiled agent's seeds likewise."""
import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = textwrap.dedent("""
    import contextlib, json
    import jax, numpy as np
    import arena
    from arena import distribution
    from arena.nn import Dense, Dropout, Input, Lambda, Sequential
    from arena.nn.layers.base import clear_session

    assert len(jax.devices()) == 4, jax.devices()
    seen = []

    def spy(x):  # records how the batch is laid out inside the compiled step
        jax.debug.inspect_array_sharding(x, callback=lambda s: seen.append(str(getattr(s, "spec", s))))
        return x

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 20)).astype("float32")
    y = np.eye(3)[rng.integers(0, 3, 200)].astype("float32")

    def batches():
        while True:
            for i in range(0, 160, 40):
                yield x[i:i + 40], y[i:i + 40]

    def run(dist):
        clear_session()
        arena.set_seed(0)
        model = Sequential([Input((20,)), Lambda(spy), Dense(32, activation="relu"), Dropout(0.2),
                            Dense(3, activation="softmax")])
        model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
        with dist.scope() if dist else contextlib.nullcontext():
            history = model.fit(x, y, batch_size=40, epochs=2, verbose=0, validation_split=0.2)
            model.fit(batches(), steps_per_epoch=4, epochs=1, verbose=0)
            model.train_on_batch(x[:8], y[:8])
            logs = model.evaluate(x, y, batch_size=40, verbose=0)
            pred = model.predict(x, batch_size=40)
        placed = {len(leaf.sharding.device_set) for leaf in jax.tree_util.tree_leaves(model._train_state.opt_state)}
        return history.history, logs, pred, model.get_weights(), placed

    one = run(None)
    seen.clear()
    dp = distribution.DataParallel()
    four = run(dp)
    error = ""
    try:
        with dp.scope():
            m = Sequential([Input((20,)), Dense(3)])
            m.compile("sgd", "mse")
            m.fit(x[:12], y[:12], batch_size=6, verbose=0)
    except ValueError as e:
        error = str(e)
    def model_parallel(dist):
        clear_session()
        arena.set_seed(0)
        m = Sequential([Input((20,)), Dense(8, activation="relu"), Dense(4)])
        m.compile("adam", "mse")
        with dist.scope() if dist else contextlib.nullcontext():
            m.fit(x, y[:, :1].repeat(4, 1), batch_size=40, epochs=2, verbose=0)
        return [np.asarray(w) for w in m.get_weights()], str(getattr(m.layers[0].params["kernel"].sharding, "spec", ""))

    mesh = distribution.DeviceMesh((2, 2), ["batch", "model"])
    layout = distribution.LayoutMap(mesh)
    layout["dense.*kernel"] = (None, "model")
    layout["dense.*bias"] = ("model",)
    mp_one, (mp_four, kernel_spec) = model_parallel(None)[0], model_parallel(distribution.ModelParallel(layout))
    mp_diff = max(float(np.abs(a - b).max()) for a, b in zip(mp_one, mp_four))
    bad = distribution.LayoutMap(mesh)
    bad["dense.*kernel"] = (None, "model")
    layout_error = ""
    try:
        with distribution.ModelParallel(bad).scope():
            m = Sequential([Input((20,)), Dense(3)])
            m.compile("sgd", "mse")
            m.fit(x, y, batch_size=40, verbose=0)
    except ValueError as e:
        layout_error = str(e)

    from arena.nn import GAN

    def gan_run(dist):  # a custom train_step (two optimizers, noise drawn inside the step)
        clear_session()
        arena.set_seed(0)
        g = Sequential([Input((4,)), Dense(8, activation="relu"), Dense(2)])
        d = Sequential([Input((2,)), Dense(8, activation="relu"), Dense(1, activation="sigmoid")])
        gan = GAN(g, d)
        gan.compile("adam", "adam")
        with dist.scope() if dist else contextlib.nullcontext():
            gan.fit(x[:, :2], epochs=2, batch_size=40, verbose=0)
        return [np.asarray(w) for w in gan.get_weights()]

    gan_diff = max(float(np.abs(a - b).max()) for a, b in zip(gan_run(None), gan_run(dp)))

    from arena.agents.compiled_dqn import CompiledDQN
    from arena.agents.dqn import DQN

    def agents(dist):
        clear_session()  # the same layer names (and so the same order of weights) in both runs
        distribution.set_distribution(dist)
        try:
            host = DQN("CartPole-v1", seed=0, learning_starts=200, batch_size=32, n_envs=1, train_freq=4)
            host.learn(total_timesteps=600, verbose=0)
            # a few learning steps only: over a long run RL amplifies float-rounding differences
            seeds = CompiledDQN("catch", env_kwargs={"obs_type": "state"}, seeds=4, learning_rate=1e-3)
            seeds.learn(total_timesteps=1200, steps_per_epoch=1200, verbose=0)
        finally:
            distribution.set_distribution(None)
        leaves = [np.asarray(l) for l in jax.tree_util.tree_leaves(host._state.params)]
        seed_leaves = jax.tree_util.tree_leaves(seeds._run.agent.params)
        return leaves, [np.asarray(l) for l in seed_leaves], str(getattr(seed_leaves[0].sharding, "spec", ""))

    a1, a4 = agents(None), agents(dp)
    print(json.dumps({
        "model_parallel": mp_diff, "kernel_spec": kernel_spec, "layout_error": layout_error,
        "gan": gan_diff, "host_dqn": max(float(np.abs(a - b).max()) for a, b in zip(a1[0], a4[0])),
        "seeds": max(float(np.abs(a - b).max()) for a, b in zip(a1[1], a4[1])), "seed_spec": a4[2],
        "loss": [one[0]["loss"], four[0]["loss"]], "val_loss": [one[0]["val_loss"], four[0]["val_loss"]],
        "eval": [one[1], four[1]], "pred": float(np.abs(one[2] - four[2]).max()),
        "weights": max(float(np.abs(a - b).max()) for a, b in zip(one[3], four[3])),
        "placed": [sorted(one[4]), sorted(four[4])], "seen": sorted(set(seen)), "error": error,
        "devices": distribution.list_devices()}))
""")


def _run():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    import json
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_data_parallel_equals_one_device_and_splits_the_batch():
    import numpy as np
    r = _run()
    assert r["devices"] == ["cpu:0", "cpu:1", "cpu:2", "cpu:3"]
    np.testing.assert_allclose(r["loss"][1], r["loss"][0], rtol=1e-5)
    np.testing.assert_allclose(r["val_loss"][1], r["val_loss"][0], rtol=1e-5)
    np.testing.assert_allclose(r["eval"][1], r["eval"][0], rtol=1e-5)
    assert r["pred"] < 1e-5 and r["weights"] < 1e-5
    # the optimizer state lives on one device, then on all four (replicated)
    assert r["placed"] == [[1], [4]]
    # inside the compiled steps every full batch was split along the mesh's batch axis
    assert r["seen"] == ["P('batch',)"], r["seen"]
    assert "batch_size=6 cannot be split evenly across the 4 devices" in r["error"]
    assert r["gan"] < 1e-5
    # ModelParallel: the Dense kernels split by columns over the mesh's model axis, the same result
    assert r["model_parallel"] < 1e-5 and r["kernel_spec"] == "P(None, 'model')"
    assert "of shape (20, 3) cannot be split by the layout (None, 'model')" in r["layout_error"]
    # DQN's updates with each batch split across the devices; the compiled agent's seeds, one per device
    assert r["host_dqn"] < 1e-5
    assert r["seeds"] < 1e-5 and r["seed_spec"] == "P('batch',)"
