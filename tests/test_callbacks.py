"""The standard callbacks, on tiny Dense models trained with ``fit`` and on a scripted stand-in for
an RL agent driven through the same loop (``arena.loop.run``)."""
import csv
import math
import os
import warnings

import jax.numpy as jnp
import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import arena
from arena import loop
from arena.callbacks import (CSVLogger, Callback, EarlyStopping, LambdaCallback, LearningRateScheduler,
                             ModelCheckpoint, ProgbarLogger, ReduceLROnPlateau, TensorBoard, TerminateOnNaN)
from arena.nn import Dense, Sequential
from arena.nn.optimizers import SGD

N, BATCH = 64, 16          # 4 batches per epoch
STEPS = N // BATCH


# ---------------------------------------------------------------- helpers

@pytest.fixture(autouse=True)
def _seed():
    arena.set_seed(0)


def data(n=N, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.randn(n, 3).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    return x, y


def small_model(lr=0.05, optimizer=None):
    model = Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(1, activation="sigmoid")])
    model.compile(optimizer or SGD(learning_rate=lr), "binary_crossentropy", metrics=["accuracy"])
    return model


def fit(model, epochs=3, callbacks=(), validation=True, **kw):
    x, y = data()
    kw.setdefault("verbose", 0)
    if validation:
        kw.setdefault("validation_data", data(32, seed=1))
    return model.fit(x, y, batch_size=BATCH, epochs=epochs, callbacks=list(callbacks), **kw)


def copies(weights):
    return [np.array(w, copy=True) for w in weights]


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


class FakeAgent:
    """What an RL agent offers the callbacks: stop_training, save/save_weights, get/set_weights,
    get/set_learning_rate. Its one weight array counts the training steps."""

    def __init__(self, lr=0.1):
        self.stop_training = False
        self.weights = [np.zeros(2, np.float32)]
        self.lr = lr
        self.saved = []

    def save(self, path):
        with open(path, "w") as f:
            f.write("agent")
        self.saved.append(path)

    def get_weights(self):
        return copies(self.weights)

    def set_weights(self, weights):
        self.weights = copies(weights)

    def get_learning_rate(self):
        return self.lr

    def set_learning_rate(self, value):
        self.lr = float(value)


class ScriptedTask:
    """A loop task whose epoch logs are given in advance; each batch runs ``steps_per_batch``
    optimizer steps (like steps_per_execution) and logs an RL-style loss as a JAX scalar."""

    def __init__(self, agent, epoch_logs, steps=STEPS, steps_per_batch=1):
        self.agent, self.epoch_logs, self.k = agent, epoch_logs, steps_per_batch
        self.steps_per_epoch = steps

    def batches(self, epoch):
        return range(self.steps_per_epoch // self.k)

    def train_step(self, batch):
        self.agent.weights[0] = self.agent.weights[0] + self.k
        return {"losses/td_loss": jnp.float32(0.5 + batch), "loss": jnp.float32(1.0)}

    def steps_in(self, batch):
        return self.k

    def end_epoch(self, epoch):
        return dict(self.epoch_logs[epoch])


def run_agent(epoch_logs, callbacks, agent=None, **kw):
    agent = agent or FakeAgent()
    history = loop.run(agent, ScriptedTask(agent, epoch_logs, **kw), epochs=len(epoch_logs),
                       callbacks=list(callbacks), verbose=0)
    return agent, history


def val_losses(*values):
    return [{"loss": 1.0, "val_loss": v} for v in values]


def scalars(path, tag):
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def tags(path, kind="scalars"):
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    return set(acc.Tags()[kind])


# ---------------------------------------------------------------- History, Lambda, custom callbacks

def test_history_records_every_epoch():
    model = small_model()
    history = fit(model, epochs=3)
    assert history is model.history
    assert history.epoch == [0, 1, 2]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for values in history.history.values():
        assert len(values) == 3 and all(isinstance(v, float) and math.isfinite(v) for v in values)


def test_lambda_callback_hooks_fire_with_keras_signatures():
    calls = {"train_begin": 0, "train_end": 0, "epoch_begin": [], "epoch_end": [], "batch_begin": 0,
             "batch_end": 0}
    seen_logs = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: calls.__setitem__("train_begin", calls["train_begin"] + 1),
        on_train_end=lambda logs: calls.__setitem__("train_end", calls["train_end"] + 1),
        on_epoch_begin=lambda epoch, logs: calls["epoch_begin"].append(epoch),
        on_epoch_end=lambda epoch, logs: (calls["epoch_end"].append(epoch), seen_logs.append(dict(logs))),
        on_batch_begin=lambda batch, logs: calls.__setitem__("batch_begin", calls["batch_begin"] + 1),
        on_batch_end=lambda batch, logs: calls.__setitem__("batch_end", calls["batch_end"] + 1))
    fit(small_model(), epochs=2, callbacks=[cb])
    assert calls["train_begin"] == 1 and calls["train_end"] == 1
    assert calls["epoch_begin"] == [0, 1] and calls["epoch_end"] == [0, 1]
    assert calls["batch_begin"] == calls["batch_end"] == 2 * STEPS
    assert all("loss" in logs and "val_loss" in logs for logs in seen_logs)


def test_custom_callback_loss_history_records_one_float_per_batch():
    class LossHistory(Callback):  # the book's E2.4
        def on_train_begin(self, logs={}):
            self.losses = []

        def on_batch_end(self, batch, logs={}):
            self.losses.append(logs.get("loss"))

    cb = LossHistory()
    fit(small_model(), epochs=2, callbacks=[cb], validation=False)
    assert len(cb.losses) == 2 * STEPS
    values = [float(v) for v in cb.losses]
    assert all(math.isfinite(v) for v in values)
    fit(small_model(), epochs=1, callbacks=[cb], validation=False)  # on_train_begin resets it
    assert len(cb.losses) == STEPS


def test_tf2_batch_hook_names_and_inherited_overrides_are_called():
    class Counts(Callback):
        def __init__(self):
            super().__init__()
            self.begin, self.end = [], []

        def on_train_batch_begin(self, batch, logs=None):
            self.begin.append(batch)

    class Sub(Counts):  # overrides inherited from a user base class count too
        def on_train_batch_end(self, batch, logs=None):
            self.end.append(batch)

    cb = Sub()
    fit(small_model(), epochs=1, callbacks=[cb], validation=False)
    assert cb.begin == cb.end == list(range(STEPS))


def test_hooks_without_default_logs_argument_get_a_dict():
    seen = []

    class Strict(Callback):
        def on_train_begin(self, logs):
            seen.append(("train_begin", logs))

        def on_epoch_begin(self, epoch, logs):
            seen.append(("epoch_begin", logs))

    run_agent(val_losses(1.0), [Strict()])
    assert seen == [("train_begin", {}), ("epoch_begin", {})]


def test_progbar_logger_verbose_2_prints_one_line_per_epoch(capsys):
    fit(small_model(), epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "val_loss" in out


def test_progbar_logger_verbose_1_draws_a_bar(capsys):
    fit(small_model(), epochs=1, verbose=1)
    err = capsys.readouterr().err
    assert "Epoch 1/1" in err and f"{STEPS}/{STEPS}" in err and "loss" in err


def test_progbar_logger_as_explicit_callback(capsys):
    history = fit(small_model(), epochs=1, callbacks=[ProgbarLogger(verbose=2)], verbose=0)
    assert "Epoch 1/1" in capsys.readouterr().out
    assert len(history.history["loss"]) == 1


# ---------------------------------------------------------------- TerminateOnNaN

def test_terminate_on_nan_stops_after_the_first_nan_batch(capsys):
    x, y = data()
    x[0, 0] = np.nan  # first batch (no shuffle) has a NaN loss
    batches = []
    model = small_model()
    history = model.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0,
                        callbacks=[TerminateOnNaN(), LambdaCallback(on_batch_end=lambda b, l: batches.append(b))])
    assert batches == [0]
    assert model.stop_training
    assert len(history.history["loss"]) == 1 and math.isnan(history.history["loss"][0])
    assert "invalid loss" in capsys.readouterr().out


def test_terminate_on_nan_watches_agent_loss_keys():
    class NaNTask(ScriptedTask):
        def train_step(self, batch):
            return {"losses/td_loss": jnp.float32(np.nan if batch == 2 else 1.0)}

    agent = FakeAgent()
    seen = []
    history = loop.run(agent, NaNTask(agent, val_losses(1.0, 1.0)), epochs=2, verbose=0,
                       callbacks=[TerminateOnNaN(), LambdaCallback(on_batch_end=lambda b, l: seen.append(b))])
    assert seen == [0, 1, 2] and agent.stop_training and history.epoch == [0]


# ---------------------------------------------------------------- ModelCheckpoint

def test_checkpoint_saves_every_epoch_with_formatted_names(tmp_path):
    model = small_model()
    history = fit(model, epochs=3, callbacks=[ModelCheckpoint(str(tmp_path / "ckpt" / "model-{epoch:02d}-{val_loss:.2f}.h5"))])
    expected = {f"model-{e + 1:02d}-{v:.2f}.h5" for e, v in enumerate(history.history["val_loss"])}
    assert set(os.listdir(tmp_path / "ckpt")) == expected


def test_checkpoint_save_weights_only_writes_weight_files(tmp_path):
    model = small_model()
    fit(model, epochs=2, callbacks=[ModelCheckpoint(str(tmp_path / "w-{epoch}.h5"), save_weights_only=True)])
    assert sorted(os.listdir(tmp_path)) == ["w-1.h5", "w-2.h5"]
    reloaded = small_model()
    reloaded.load_weights(str(tmp_path / "w-2.h5"))
    assert same(reloaded.get_weights(), model.get_weights())


def test_checkpoint_save_best_only_writes_only_on_improvement(tmp_path, capsys):
    # val_loss improves at epochs 1, 2 and 4 (1-based) only.
    agent, _ = run_agent(val_losses(1.0, 0.8, 0.9, 0.7, 0.75),
                         [ModelCheckpoint(str(tmp_path / "best-{epoch}-{val_loss:.2f}"), save_best_only=True,
                                          verbose=1)])
    assert [os.path.basename(p) for p in agent.saved] == ["best-1-1.00", "best-2-0.80", "best-4-0.70"]
    assert sorted(os.listdir(tmp_path)) == ["best-1-1.00", "best-2-0.80", "best-4-0.70"]
    out = capsys.readouterr().out
    assert "val_loss improved from 0.80000 to 0.70000" in out and "did not improve from 0.70000" in out


def test_checkpoint_save_best_only_max_mode_and_fixed_name_on_a_real_model(tmp_path):
    model = small_model()
    saved = []
    model.save = lambda path: saved.append(path)  # records which epochs wrote (the file format is saving's job)
    epochs_seen = []
    fit(model, epochs=4, callbacks=[
        ModelCheckpoint(str(tmp_path / "best.h5"), monitor="val_accuracy", save_best_only=True),
        LambdaCallback(on_epoch_end=lambda e, logs: epochs_seen.append(logs["val_accuracy"]))])
    best, expected = -np.inf, 0
    for v in epochs_seen:
        if v > best:
            best, expected = v, expected + 1
    assert len(saved) == expected >= 1 and set(saved) == {str(tmp_path / "best.h5")}


def test_checkpoint_missing_monitor_warns_once_naming_keys(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        agent, _ = run_agent([{"loss": 1.0}] * 3,
                             [ModelCheckpoint(str(tmp_path / "m"), monitor="val_accuracy", save_best_only=True)])
    messages = [str(w.message) for w in caught if "val_accuracy" in str(w.message)]
    assert len(messages) == 1 and "'loss'" in messages[0]
    assert agent.saved == []


def test_checkpoint_period_and_batch_frequency(tmp_path):
    agent, _ = run_agent(val_losses(1, 1, 1, 1, 1), [ModelCheckpoint(str(tmp_path / "p{epoch}"), period=2)])
    assert [os.path.basename(p) for p in agent.saved] == ["p2", "p4"]
    # 8 optimizer steps per epoch in chunks of 2 (steps_per_execution): every 3 steps -> after 4 and 8.
    agent, _ = run_agent(val_losses(1, 1), [ModelCheckpoint(str(tmp_path / "b{epoch}-{batch}-{losses/td_loss}"),
                                                            save_freq=3)], steps=8, steps_per_batch=2)
    assert [os.path.basename(p) for p in agent.saved] == ["b1-4-1.5", "b1-8-3.5", "b2-4-1.5", "b2-8-3.5"]


def test_checkpoint_unknown_filepath_key_is_a_clear_error(tmp_path):
    with pytest.raises(KeyError, match="val_acc.*available keys"):
        run_agent(val_losses(1.0), [ModelCheckpoint(str(tmp_path / "m-{val_acc}"))])


def test_checkpoint_owner_without_save_is_a_clear_error(tmp_path):
    with pytest.raises(AttributeError, match="save_weights"):
        run_agent(val_losses(1.0), [ModelCheckpoint(str(tmp_path / "m"), save_weights_only=True)])


# ---------------------------------------------------------------- EarlyStopping

def test_early_stopping_patience_and_restore_on_an_agent():
    stopper = EarlyStopping(patience=2, restore_best_weights=True)
    agent, history = run_agent(val_losses(1.0, 0.5, 0.6, 0.7, 0.8, 0.1), [stopper])
    assert history.epoch == [0, 1, 2, 3]
    assert stopper.stopped_epoch == 3 and stopper.best_epoch == 1 and stopper.best == 0.5
    assert agent.stop_training
    assert np.array_equal(agent.weights[0], np.full(2, 2 * STEPS))  # the weights after epoch 1


def test_early_stopping_min_delta_baseline_and_start_from_epoch():
    # Improvements smaller than min_delta do not count.
    stopper = EarlyStopping(min_delta=0.1, patience=1)
    _, history = run_agent(val_losses(1.0, 0.95, 0.92, 0.5), [stopper])
    assert history.epoch == [0, 1] and stopper.stopped_epoch == 1
    # Never beating the baseline stops after `patience` epochs even while improving.
    stopper = EarlyStopping(baseline=0.1, patience=2)
    _, history = run_agent(val_losses(1.0, 0.9, 0.8, 0.7), [stopper])
    assert history.epoch == [0, 1] and stopper.stopped_epoch == 1
    # Warm-up epochs are ignored.
    stopper = EarlyStopping(patience=0, start_from_epoch=2)
    _, history = run_agent(val_losses(1.0, 2.0, 3.0, 4.0, 5.0), [stopper])
    assert history.epoch == [0, 1, 2, 3] and stopper.stopped_epoch == 3
    # Accuracy-like keys are maximised in 'auto' mode.
    stopper = EarlyStopping(monitor="charts/win_rate", patience=1)
    _, history = run_agent([{"charts/win_rate": v} for v in (0.1, 0.5, 0.4, 0.9)], [stopper])
    assert history.epoch == [0, 1, 2] and stopper.best == 0.5


def test_early_stopping_restores_best_weights_on_a_model():
    model = small_model(lr=0.1)
    snapshots = []
    record = LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(copies(model.get_weights())))
    # The loss falls every epoch, so in 'max' mode only the first epoch is "best".
    stopper = EarlyStopping(monitor="loss", mode="max", patience=1, restore_best_weights=True)
    history = fit(model, epochs=5, callbacks=[record, stopper], validation=False)
    assert history.epoch == [0, 1] and stopper.stopped_epoch == 1
    assert same(model.get_weights(), snapshots[0]) and not same(model.get_weights(), snapshots[1])
    # The restored weights are the ones training continues from (Model.set_weights syncs the train state).
    model.set_learning_rate(0.0)
    model.fit(*data(), batch_size=BATCH, epochs=1, verbose=0)
    assert same(model.get_weights(), snapshots[0])


def test_early_stopping_missing_monitor_warns_and_never_stops():
    with pytest.warns(RuntimeWarning, match="val_loss.*available keys are \\['loss'\\]"):
        _, history = run_agent([{"loss": 1.0}] * 3, [EarlyStopping(patience=0)])
    assert history.epoch == [0, 1, 2]


# ---------------------------------------------------------------- TensorBoard

def test_tensorboard_epoch_scalars_train_and_validation(tmp_path):
    model = small_model()
    history = fit(model, epochs=3, callbacks=[TensorBoard(log_dir=str(tmp_path))])
    h = history.history
    train, val = tmp_path / "train", tmp_path / "validation"
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= tags(train)
    assert tags(val) == {"epoch_loss", "epoch_accuracy"}
    for tag, key, where in [("epoch_loss", "loss", train), ("epoch_accuracy", "accuracy", train),
                            ("epoch_loss", "val_loss", val), ("epoch_accuracy", "val_accuracy", val)]:
        got = scalars(where, tag)
        assert [s for s, _ in got] == [0, 1, 2]
        np.testing.assert_allclose([v for _, v in got], h[key], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in scalars(train, "epoch_learning_rate")], [0.05] * 3, rtol=1e-6)
    assert not [f for f in os.listdir(tmp_path) if f.startswith("events")]  # nothing at the top level


def test_tensorboard_batch_scalars_and_histograms(tmp_path):
    model = small_model()
    fit(model, epochs=2, validation=False,
        callbacks=[TensorBoard(log_dir=str(tmp_path), update_freq=2, histogram_freq=1)])
    batch = scalars(tmp_path / "train", "batch_loss")
    assert [s for s, _ in batch] == [2, 4, 6, 8]  # a global batch counter across epochs
    assert all(math.isfinite(v) for _, v in batch)
    names = [layer.name for layer in model.layers]
    hist = tags(tmp_path / "train", "histograms")
    assert {f"{names[0]}/kernel", f"{names[0]}/bias", f"{names[1]}/kernel", f"{names[1]}/bias"} <= hist


def test_tensorboard_agent_slash_keys_verbatim_with_global_step(tmp_path):
    logs = [{"charts/win_rate": w, "charts/episodic_return": r, "global_step": g}
            for w, r, g in [(0.1, -1.0, 100), (0.4, 0.5, 200), (0.9, 1.0, 300)]]
    run_agent(logs, [TensorBoard(log_dir=str(tmp_path), update_freq=3)])
    assert scalars(tmp_path, "charts/win_rate") == [(100, pytest.approx(0.1)), (200, pytest.approx(0.4)),
                                                    (300, pytest.approx(0.9))]
    assert [s for s, _ in scalars(tmp_path, "charts/episodic_return")] == [100, 200, 300]
    # Batch logs: slash keys verbatim at the top level, plain keys as batch_<key> in train/.
    assert [s for s, _ in scalars(tmp_path, "losses/td_loss")] == [3, 6, 9, 12]  # 3 epochs of 4 batches
    assert [s for s, _ in scalars(tmp_path / "train", "batch_loss")] == [3, 6, 9, 12]
    assert "global_step" not in tags(tmp_path) and not (tmp_path / "validation").exists()


def test_tensorboard_write_graph_writes_the_model_summary(tmp_path):
    fit(small_model(), epochs=1, validation=False, callbacks=[TensorBoard(log_dir=str(tmp_path), write_graph=True)])
    assert any("model" in t for t in tags(tmp_path / "train", "tensors"))


def test_tensorboard_two_runs_in_one_directory_keep_both(tmp_path):
    model = small_model()
    tb = TensorBoard(log_dir=str(tmp_path))
    fit(model, epochs=1, validation=False, callbacks=[tb])
    fit(model, epochs=2, initial_epoch=1, validation=False, callbacks=[tb])
    assert [s for s, _ in scalars(tmp_path / "train", "epoch_loss")] == [0, 1]


# ---------------------------------------------------------------- CSVLogger

def read_csv(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def test_csv_logger_writes_header_and_one_row_per_epoch(tmp_path):
    path = tmp_path / "logs" / "training.csv"
    history = fit(small_model(), epochs=3, callbacks=[CSVLogger(str(path))])
    rows = read_csv(path)
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    for i, row in enumerate(rows[1:]):
        for key, cell in zip(rows[0][1:], row[1:]):
            assert float(cell) == pytest.approx(history.history[key][i])


def test_csv_logger_append_and_separator(tmp_path):
    path = tmp_path / "a.csv"
    model = small_model()
    fit(model, epochs=2, validation=False, callbacks=[CSVLogger(str(path), separator=";")])
    fit(model, epochs=4, initial_epoch=2, validation=False, callbacks=[CSVLogger(str(path), separator=";", append=True)])
    rows = read_csv(path, ";")
    assert rows[0] == ["epoch", "accuracy", "loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2", "3"]


def test_csv_logger_flushes_each_epoch(tmp_path):
    path = tmp_path / "live.csv"
    lines_seen = []
    watch = LambdaCallback(on_epoch_end=lambda e, logs: lines_seen.append(len(read_csv(path))))
    run_agent(val_losses(1.0, 0.9, 0.8), [CSVLogger(str(path)), watch])
    assert lines_seen == [2, 3, 4]


# ---------------------------------------------------------------- LearningRateScheduler

def test_lr_scheduler_sets_the_rate_and_logs_it(capsys):
    model = small_model(lr=0.05)
    history = fit(model, epochs=3, callbacks=[LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1), verbose=1)])
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.1 / 3], rtol=1e-6)
    assert model.get_learning_rate() == pytest.approx(0.1 / 3)
    assert "LearningRateScheduler setting learning rate to 0.05" in capsys.readouterr().out


def test_lr_scheduler_with_current_rate_argument():
    model = small_model(lr=0.08)
    history = fit(model, epochs=3, callbacks=[LearningRateScheduler(lambda epoch, lr: lr * 0.5)])
    np.testing.assert_allclose(history.history["learning_rate"], [0.04, 0.02, 0.01], rtol=1e-6)


def test_lr_scheduler_zero_rate_leaves_the_weights_unchanged():
    model = small_model(lr=0.5)
    fit(model, epochs=1, validation=False)  # the optimizer state exists; the weights moved
    before = copies(model.get_weights())
    fit(model, epochs=2, validation=False, callbacks=[LearningRateScheduler(lambda epoch: 0)])
    assert same(model.get_weights(), before)
    fit(model, epochs=1, validation=False, callbacks=[LearningRateScheduler(lambda epoch: 0.5)])
    assert not same(model.get_weights(), before)


def test_lr_scheduler_rejects_a_schedule_returning_a_non_number():
    with pytest.raises(ValueError, match=r"schedule\(0\) must return a non-negative finite number.*'fast'"):
        fit(small_model(), epochs=1, callbacks=[LearningRateScheduler(lambda epoch: "fast")])
    with pytest.raises(ValueError, match="non-negative finite number"):
        run_agent(val_losses(1.0), [LearningRateScheduler(lambda epoch, lr: -lr)])


# ---------------------------------------------------------------- ReduceLROnPlateau

def test_reduce_lr_on_plateau_with_patience_and_cooldown(capsys):
    agent = FakeAgent(lr=1.0)
    rates = []
    cb = ReduceLROnPlateau(factor=0.5, patience=2, cooldown=2, min_lr=0.2, verbose=1)
    record = LambdaCallback(on_epoch_end=lambda e, logs: rates.append(agent.lr))
    run_agent(val_losses(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0), [cb, record], agent=agent)
    # Plateau from epoch 1: reduce at epoch 2; as in Keras the wait restarts counting in the last
    # cooldown epoch (4), so reduce at 5, then at 8 (clamped to min_lr), then never below min_lr.
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2]
    assert "ReduceLROnPlateau reducing learning rate to 0.5" in capsys.readouterr().out


def test_reduce_lr_on_plateau_on_a_model():
    model = small_model(lr=0.1)
    # The loss falls every epoch: in 'max' mode that is a plateau after the first epoch.
    history = fit(model, epochs=3, validation=False,
                  callbacks=[ReduceLROnPlateau(monitor="loss", mode="max", patience=1, factor=0.1)])
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.1, 0.01], rtol=1e-5)
    assert model.get_learning_rate() == pytest.approx(0.001, rel=1e-5)


def test_reduce_lr_improvement_resets_wait():
    agent = FakeAgent(lr=1.0)
    run_agent(val_losses(1.0, 1.0, 0.5, 0.5, 0.2), [ReduceLROnPlateau(factor=0.5, patience=2)], agent=agent)
    assert agent.lr == 1.0


# ---------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("make, match", [
    (lambda: ReduceLROnPlateau(factor=1.0), "factor must be .*0 < factor < 1.*1.0"),
    (lambda: ReduceLROnPlateau(factor=-0.5), "factor"),
    (lambda: ReduceLROnPlateau(min_lr=-1), "min_lr"),
    (lambda: ReduceLROnPlateau(patience=-1), "patience must be an integer >= 0"),
    (lambda: ReduceLROnPlateau(mode="lowest"), "ReduceLROnPlateau: mode must be 'auto', 'min' or 'max'; got 'lowest'"),
    (lambda: EarlyStopping(mode="up"), "EarlyStopping: mode must be"),
    (lambda: EarlyStopping(patience=1.5), "EarlyStopping: patience"),
    (lambda: EarlyStopping(baseline="low"), "baseline must be a number"),
    (lambda: EarlyStopping(monitor=None), "monitor must be the name"),
    (lambda: ModelCheckpoint("m.h5", mode="best"), "ModelCheckpoint: mode must be"),
    (lambda: ModelCheckpoint("m.h5", save_freq=0), "save_freq must be 'epoch' or a positive"),
    (lambda: ModelCheckpoint("m.h5", save_freq="batch"), "save_freq"),
    (lambda: ModelCheckpoint("m.h5", period=0), "period must be an integer >= 1"),
    (lambda: ModelCheckpoint(""), "filepath"),
    (lambda: TensorBoard(update_freq=0), "update_freq must be 'epoch', 'batch' or a positive"),
    (lambda: TensorBoard(update_freq="often"), "update_freq"),
    (lambda: TensorBoard(histogram_freq=-1), "histogram_freq"),
    (lambda: CSVLogger("a.csv", separator=";;"), "separator must be a single character"),
    (lambda: LearningRateScheduler(0.01), "schedule must be a function"),
])
def test_bad_arguments_raise_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_owner_missing_methods_are_clear_errors(tmp_path):
    class Bare:
        stop_training = False

    def go(cb):
        agent = Bare()
        loop.run(agent, ScriptedTask(FakeAgent(), val_losses(1.0)), epochs=1, callbacks=[cb], verbose=0)

    with pytest.raises(AttributeError, match="set_learning_rate"):
        go(ReduceLROnPlateau())
    with pytest.raises(AttributeError, match="get_weights"):
        go(EarlyStopping(restore_best_weights=True))
    with pytest.raises(AttributeError, match=r"save\(path\)"):
        go(ModelCheckpoint(str(tmp_path / "x")))
    with pytest.raises(AttributeError, match="params"):
        go(TensorBoard(log_dir=str(tmp_path), histogram_freq=1))


def test_non_callback_in_the_list_is_rejected():
    with pytest.raises(TypeError, match="Callback instances"):
        fit(small_model(), epochs=1, callbacks=[lambda logs: None])


def test_set_weights_syncs_the_training_state():
    model = small_model(lr=0.5)
    initial = copies(model.get_weights())
    x, y = data()
    loss0 = model.evaluate(x, y, verbose=0)[0]
    fit(model, epochs=1, validation=False)
    model.set_weights(initial)
    assert model.evaluate(x, y, verbose=0)[0] == pytest.approx(loss0)


# ---- hardening: outputs after a kill, late keys, non-finite weights ------------------------------------
def test_csv_logger_widens_for_late_keys_and_drops_replayed_epochs(tmp_path):
    from arena.callbacks import CSVLogger

    class Owner:
        stop_training = False
    path = tmp_path / "progress.csv"
    log = CSVLogger(path)
    log.set_model(Owner())
    log.set_params({"initial_epoch": 0})
    log.on_train_begin()
    log.on_epoch_end(0, {"games": 10})                     # random play: no loss yet
    log.on_epoch_end(1, {"games": 20, "td_loss": 0.5})     # the loss appears
    log.on_epoch_end(2, {"games": 30, "td_loss": 0.25})
    log.on_train_end()
    assert path.read_text().splitlines() == ["epoch,games,td_loss", "0,10.0,NA", "1,20.0,0.5", "2,30.0,0.25"]
    # A run killed after epoch 2's row but before its checkpoint resumes at epoch 2: the row goes.
    resumed = CSVLogger(path, append=True)
    resumed.set_model(Owner())
    resumed.set_params({"initial_epoch": 2})
    resumed.on_train_begin()
    resumed.on_epoch_end(2, {"games": 30, "td_loss": 0.2})
    resumed.on_train_end()
    assert path.read_text().splitlines()[1:] == ["0,10.0,NA", "1,20.0,0.5", "2,30.0,0.2"]


def test_checkpoint_never_writes_non_finite_weights_over_a_good_file(tmp_path, fresh_session):
    from arena.callbacks import ModelCheckpoint
    from arena.nn import load_model
    m = Sequential([Dense(1, input_shape=(2,))])
    m.compile("sgd", "mse")
    path = tmp_path / "m.h5"
    cb = ModelCheckpoint(path)
    m.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0, callbacks=[cb])
    good = load_model(path).get_weights()
    m.layers[0].set_weights([np.full((2, 1), np.nan), np.zeros(1)])
    with pytest.warns(RuntimeWarning, match="not finite"):
        m.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0, callbacks=[cb])
    for a, b in zip(load_model(path).get_weights(), good):
        np.testing.assert_array_equal(a, b)


def test_best_checkpoint_keeps_its_score_across_a_resume(tmp_path, fresh_session):
    from arena.callbacks import ModelCheckpoint

    class Owner:
        stop_training = False
        callback_state = {}
        saved = []

        def save(self, path):
            self.saved.append(path)
    owner = Owner()
    cb = ModelCheckpoint(tmp_path / "best.h5", monitor="score", mode="max", save_best_only=True)
    cb.set_model(owner)
    cb.set_params({"initial_epoch": 0})
    cb.on_train_begin()
    cb.on_epoch_end(0, {"score": 5.0})
    assert owner.callback_state == {f"ModelCheckpoint:{tmp_path / 'best.h5'}:best": 5.0} and len(owner.saved) == 1
    again = ModelCheckpoint(tmp_path / "best.h5", monitor="score", mode="max", save_best_only=True)
    again.set_model(owner)  # the resumed run's callback: same file, state restored from the checkpoint
    again.set_params({"initial_epoch": 1})
    again.on_train_begin()
    again.on_epoch_end(1, {"score": 3.0})  # worse than the recorded best: the best file stays
    assert len(owner.saved) == 1 and again.best == 5.0


def test_tensorboard_purges_events_a_killed_run_wrote_past_the_resume_point(tmp_path, fresh_session):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from arena.callbacks import TensorBoard
    m = Sequential([Dense(1, input_shape=(2,))])
    m.compile("sgd", "mse")
    x, y = np.ones((4, 2)), np.ones((4, 1))
    m.fit(x, y, epochs=3, verbose=0, callbacks=[TensorBoard(tmp_path)])   # epochs 0-2, killed after 2 ...
    m.fit(x, y, epochs=4, initial_epoch=2, verbose=0, callbacks=[TensorBoard(tmp_path)])  # ... resumed at 2
    acc = EventAccumulator(str(tmp_path / "train"))
    acc.Reload()
    assert [e.step for e in acc.Scalars("epoch_loss")] == [0, 1, 2, 3]


def test_tensorboard_writes_embeddings_to_the_projector_and_text(tmp_path, fresh_session):
    from arena.callbacks import TensorBoard
    from arena.nn.layers import Embedding, Flatten
    m = Sequential([Embedding(4, 2, input_length=3, name="words"), Flatten(), Dense(1)])
    m.compile("sgd", "mse")
    tb = TensorBoard(tmp_path, embeddings_freq=1, embeddings_metadata={"words": ["<pad>", "a", "b", "c"]})
    m.fit(np.array([[1, 2, 3]] * 4), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[tb])
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert "words" in config and "metadata.tsv" in config
    tsv = next(tmp_path.rglob("metadata.tsv")).read_text().split()
    assert tsv == ["<pad>", "a", "b", "c"]
    tb.log_text("sample", "alice was beginning", step=3)
    bad = TensorBoard(tmp_path / "bad", embeddings_freq=1, embeddings_metadata=["a"])
    with pytest.raises(ValueError, match="has 1 labels; its embedding matrix has 4 rows"):
        m.fit(np.array([[1, 2, 3]]), np.ones((1, 1)), verbose=0, callbacks=[bad])


def test_tensorboard_embeddings_as_keras2_programs_give_them(tmp_path, fresh_session):
    """The book's ch. 5 scripts: embeddings_metadata is a path relative to log_dir that the program writes
    after training (Keras writes the path into the projector config; TensorBoard reads it from log_dir),
    and embeddings_layer_names may be one name."""
    from arena.callbacks import TensorBoard
    from arena.nn.layers import Embedding, Flatten
    m = Sequential([Embedding(4, 2, input_length=3, name="words"), Flatten(), Dense(1)])
    m.compile("sgd", "mse")
    x, y = np.array([[1, 2, 3]] * 4), np.ones((4, 1))
    tb = TensorBoard(tmp_path, embeddings_freq=1, embeddings_layer_names="words",
                     embeddings_metadata="embedding/metadata.tsv")
    m.fit(x, y, verbose=0, callbacks=[tb])
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert 'metadata_path: "embedding/metadata.tsv"' in config and 'tensor_path: "00000/words/tensors.tsv"' in config
    assert len((tmp_path / "00000" / "words" / "tensors.tsv").read_text().splitlines()) == 4
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "embedding").mkdir()
    (tmp_path / "later" / "embedding" / "metadata.tsv").write_text("<pad>\na\nb\nc\n")  # there already: read
    m.fit(x, y, verbose=0, callbacks=[TensorBoard(tmp_path / "later", embeddings_freq=1, embeddings_layer_names=[],
                                                  embeddings_metadata="embedding/metadata.tsv")])
    assert (tmp_path / "later" / "00000" / "words" / "metadata.tsv").read_text().split() == ["<pad>", "a", "b", "c"]
