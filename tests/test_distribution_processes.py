"""Two local processes joined by ``jax.distributed`` (``arena.distribution.initialize``), on CPU, one
device each: ``fit`` on each process's own rows trains to the weights one process reaches on the
same global batches, ``evaluate`` covers every process's rows, ``predict`` each process's own; only
process 0 writes the checkpoint, CSV log, TensorBoard events and progress bar, and the checkpoint
loads in a single process (a single-process file loads in both)."""
import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import arena
from arena.nn import Dense, Input, Sequential, load_model
from arena.nn.layers.base import clear_session

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH, LOCAL = 16, 8  # a global batch of 16 rows: 8 from each process

WORKER = textwrap.dedent("""
    import json, os, sys
    pid, port, out, result, reference = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
    from arena import distribution
    distribution.initialize(f"localhost:{port}", num_processes=2, process_id=pid)
    import jax, numpy as np
    import arena
    from arena.callbacks import CSVLogger, ModelCheckpoint, TensorBoard
    from arena.nn import load_model
    sys.path.insert(0, os.path.join(os.getcwd(), "tests"))
    from test_distribution_processes import data, make_model, rows_of

    assert jax.process_count() == 2 and len(jax.devices()) == 2, jax.devices()
    x, y, xv, yv = data()
    mine, mine_v = rows_of(pid, len(x)), rows_of(pid, len(xv))
    distribution.set_distribution(distribution.DataParallel())
    model = make_model()
    callbacks = [ModelCheckpoint(os.path.join(out, "model.h5")), CSVLogger(os.path.join(out, "log.csv")),
                 TensorBoard(os.path.join(out, "tb"))]
    history = model.fit(x[mine], y[mine], batch_size=16, epochs=3, shuffle=False, verbose=2, callbacks=callbacks,
                        validation_data=(xv[mine_v], yv[mine_v]))
    logs = model.evaluate(x[mine], y[mine], batch_size=5, verbose=0)
    pred = model.predict(x[mine], batch_size=5)
    shuffled = make_model()
    shuffled.fit(x[mine], y[mine], batch_size=16, epochs=2, verbose=0)
    single = load_model(reference).predict(x[:4])
    try:  # an agent's seeds: experience is not shared across processes, so a clear error
        distribution.shard_leading(np.zeros((2, 3)), "CompiledDQN: seeds=2")
        refused = ""
    except NotImplementedError as e:
        refused = str(e)
    errors = []
    try:  # every process must give fit the same number of rows
        model.fit(x[mine][:8 * (pid + 1)], y[mine][:8 * (pid + 1)], batch_size=16, epochs=1, verbose=0)
    except ValueError as e:
        errors.append(str(e))
    distribution.set_distribution(None)
    try:
        model.fit(x[mine], y[mine], batch_size=16, epochs=1, verbose=0)
    except RuntimeError as e:
        errors.append(str(e))
    json.dump({"history": history.history, "evaluate": logs, "predict": pred.tolist(),
               "weights": [w.tolist() for w in model.get_weights()],
               "shuffled": [w.tolist() for w in shuffled.get_weights()], "single": single.tolist(),
               "refused": refused, "errors": errors}, open(result, "w"))
""")


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 10)).astype("float32")
    xv = rng.normal(size=(32, 10)).astype("float32")
    label = lambda a: np.eye(3, dtype="float32")[np.argmax(a[:, :3] + 0.5 * a[:, 3:6], axis=1)]  # noqa: E731
    return x, label(x), xv, label(xv)


def rows_of(pid, n):
    """Process ``pid``'s rows: its 8 of each 16-row global batch (process 0's come first in it)."""
    return np.concatenate([np.arange(start + LOCAL * pid, start + LOCAL * pid + LOCAL) for start in range(0, n, BATCH)])


def make_model():
    clear_session()
    arena.set_seed(0)
    model = Sequential([Input((10,)), Dense(16, activation="relu"), Dense(3, activation="softmax")])
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    return model


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_two_processes_train_like_one_and_only_process_0_writes(tmp_path):
    x, y, xv, yv = data()
    one = make_model()
    history = one.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0, validation_data=(xv, yv))
    reference = str(tmp_path / "single.h5")
    one.save(reference)

    env = {**os.environ, "PYTHONPATH": ROOT, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": ""}
    port = _free_port()
    outs = [tmp_path / f"out{pid}" for pid in range(2)]
    procs = []
    for pid, out in enumerate(outs):
        out.mkdir()
        procs.append(subprocess.Popen([sys.executable, "-c", WORKER, str(pid), str(port), str(out),
                                       str(tmp_path / f"result{pid}.json"), reference], cwd=ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    texts = []
    try:
        for p in procs:
            texts.append(p.communicate(timeout=420)[0])
    finally:
        for p in procs:
            p.kill()
    for pid, (p, text) in enumerate(zip(procs, texts)):
        assert p.returncode == 0, f"process {pid}:\n{text[-4000:]}"
    results = [json.load(open(tmp_path / f"result{pid}.json")) for pid in range(2)]

    for pid, r in enumerate(results):
        for key, values in history.history.items():  # loss, accuracy, val_loss, val_accuracy per epoch
            np.testing.assert_allclose(r["history"][key], values, rtol=1e-5, atol=1e-6, err_msg=f"{pid} {key}")
        for got, want in zip(r["weights"], one.get_weights()):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        # evaluate: every process's rows (all of x); predict: this process's own
        np.testing.assert_allclose(r["evaluate"], one.evaluate(x, y, batch_size=5, verbose=0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(r["predict"], one.predict(x[rows_of(pid, len(x))]), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(r["single"], one.predict(x[:4]), rtol=1e-6)
        assert "CompiledDQN: seeds=2 runs in one process (this run has 2)" in r["refused"]
        assert "each process must give the same number of rows; processes 0..1 gave [8, 16]" in r["errors"][0]
        assert "this run has 2 processes but no distribution" in r["errors"][1]
    for a, b in zip(results[0]["shuffled"], results[1]["shuffled"]):  # each process shuffles its rows alike
        np.testing.assert_array_equal(a, b)

    # Process 0 alone wrote the files and the progress lines.
    assert sorted(os.listdir(outs[0])) == ["log.csv", "model.h5", "tb"]
    assert os.listdir(outs[1]) == []
    assert "Epoch 3/3" in texts[0] and "Epoch 3/3" not in texts[1]
    assert len(open(outs[0] / "log.csv").read().splitlines()) == 4
    loaded = load_model(str(outs[0] / "model.h5"))
    np.testing.assert_allclose(loaded.predict(x), one.predict(x), rtol=1e-5, atol=1e-6)


def test_initialize_reads_keras_and_jax_environment_variables(monkeypatch):
    from arena import distribution
    seen = []
    monkeypatch.setattr(distribution.jax.distributed, "initialize", lambda **kw: seen.append(kw))
    for name in ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES",
                 "KERAS_DISTRIBUTION_PROCESS_ID", "JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KERAS_DISTRIBUTION_JOB_ADDRESSES", "node0:1234,node1:1234")
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.setenv("JAX_PROCESS_ID", "1")
    distribution.initialize()
    assert seen[-1] == {"coordinator_address": "node0:1234", "num_processes": 2, "process_id": 1,
                        "local_device_ids": None}
    distribution.initialize("here:9", 4, 3)  # arguments win over the environment
    assert seen[-1]["coordinator_address"] == "here:9" and seen[-1]["num_processes"] == 4
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "two")
    with pytest.raises(ValueError, match="KERAS_DISTRIBUTION_NUM_PROCESSES='two' is not an integer"):
        distribution.initialize()
