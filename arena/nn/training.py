"""compile / fit / evaluate / predict for models.

The hot path is one pure function, ``train_chunk(carry, data, idx)``: it gathers
each batch from the on-device arrays by index and runs ``steps_per_execution``
optimizer steps, unrolled (on XLA:CPU, convolution gradients inside ``lax.scan``
run 5-10x slower than the same steps unrolled). ``fit`` is a thin client of the one
loop (:mod:`arena.loop`): it supplies the index batches and that step.
"""
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from arena import loop, random
from arena.nn import losses as losses_mod
from arena.nn import metrics as metrics_mod
from arena.nn import optimizers


class TrainState(NamedTuple):
    """Everything training changes, as one pytree.

    All training randomness is a function of ``(key, step)``: step ``t`` uses the dropout key
    ``fold_in(key, t)`` and an epoch starting at step ``t`` shuffles with :func:`epoch_order`.
    Saving the state (``model.save``) therefore lets a reloaded model continue exactly.
    """
    params: dict
    state: dict
    opt_state: object
    step: jax.Array
    sums: dict  # running sums of the logged quantities over the current epoch, plus "_count"
    key: jax.Array = None  # base key of the training randomness, drawn when the state is created


def epoch_order(key, step, n):
    """The shuffled row order of an epoch of ``n`` rows that starts at optimizer step ``step``."""
    seed = [int(v) for v in np.asarray(jax.random.key_data(key) if jnp.issubdtype(
        key.dtype, jax.dtypes.prng_key) else key).ravel()] + [int(step)]
    return np.random.default_rng(seed).permutation(n)


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _rows(arrays, sl):
    """The rows ``sl`` of each array; None (no sample weights) stays None."""
    return [None if a is None else a[sl] for a in arrays]


def _on_device(*groups):
    """Each group (a list of arrays: inputs, targets, sample weights) with its arrays on the device."""
    return tuple([_to_device(a) for a in group] for group in groups)


def _to_device(a):
    """A device array holding a private copy of the numpy array ``a``.

    On CPU, ``jnp.asarray`` copies through a slow path (~1 GB/s: 0.1 s for MNIST's training set,
    paid again by every ``fit``); a 64-byte-aligned host copy that the device array aliases
    (``may_alias``) costs one memcpy. The copy is ours, so later writes to ``a`` cannot reach it.
    """
    if a is None or isinstance(a, jax.Array):
        return a
    a = np.asarray(a)
    if jax.default_backend() != "cpu" or a.nbytes < (1 << 20):
        return jnp.asarray(a)
    buf = np.empty(a.nbytes + 64, np.uint8)
    start = -buf.ctypes.data % 64
    copy = buf[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    copy[...] = a
    return jax.device_put(copy, may_alias=True)


class TrainingMixin:
    """The Keras training surface of ``Model``."""

    def __init__(self):
        self.optimizer = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._train_state = None
        self._fns = None

    # ---- compile ---------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                sample_weight_mode=None, weighted_metrics=None, steps_per_execution=1, **kwargs):
        """Configure training: an optimizer (name, arena optimizer or optax transform), a loss per
        output (name, callable, list or dict), metrics, loss weights."""
        if kwargs:
            raise TypeError(f"compile: unexpected keyword argument(s) {sorted(kwargs)}")
        if loss is None:
            raise ValueError(f"Model '{self.name}'.compile needs a loss, e.g. loss='categorical_crossentropy'")
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._compile_args = dict(loss=loss, metrics=metrics, loss_weights=loss_weights)
        self.steps_per_execution = int(steps_per_execution)
        self.compiled = True
        self._train_state = None
        self._fns = None
        if self.outputs:
            self._setup()

    def _setup(self):
        """Resolve losses/metrics per output and build the compiled functions."""
        names = self.output_names
        n_out = len(names)
        spec = self._compile_args

        def per_output(value, what, default=None):
            if isinstance(value, dict):
                unknown = set(value) - set(names)
                if unknown:
                    raise ValueError(f"compile: {what} names unknown output(s) {sorted(unknown)}; "
                                     f"outputs are {names}")
                return [value.get(n, default) for n in names]
            if isinstance(value, (list, tuple)) and what != "metrics":
                if len(value) != n_out:
                    raise ValueError(f"compile: got {len(value)} {what} for {n_out} output(s) {names}")
                return list(value)
            return [value] * n_out

        self._losses = [losses_mod.get(l) for l in per_output(spec["loss"], "losses")]
        weights = spec["loss_weights"]
        self._loss_weights = [float(w) for w in per_output(weights, "loss_weights", 1.0)] if weights is not None \
            else [1.0] * n_out
        metric_spec = spec["metrics"] or []
        if isinstance(metric_spec, dict):
            per = per_output(metric_spec, "metrics", [])
        elif metric_spec and all(isinstance(m, (list, tuple)) for m in metric_spec):
            per = list(metric_spec)
        else:
            per = [metric_spec] * n_out
        self._metrics = []  # (log name, output index, fn)
        for i, ms in enumerate(per):
            for m in _as_list(ms) if ms else []:
                name, fn = metrics_mod.get(m, self._losses[i], self.outputs[i].shape)
                log = name if n_out == 1 else f"{names[i]}_{name}"
                self._metrics.append((log, i, fn))
        self._loss_names = ["loss"] + ([f"{n}_loss" for n in names] if n_out > 1 else [])
        self.metrics_names = self._loss_names + [m[0] for m in self._metrics]
        self._build_functions()

    def _build_functions(self):
        model = self
        mask = self.trainable_mask()
        all_trainable = all(jax.tree_util.tree_leaves(mask))
        inner = self.optimizer.build()
        if all_trainable:
            tx = inner
        else:
            labels = jax.tree_util.tree_map(lambda m: "train" if m else "frozen", mask)
            tx = optax.multi_transform({"train": inner, "frozen": optax.set_to_zero()}, labels)
        self._tx = tx
        constrained = self.has_constraints

        def losses_of(ys, outs, sws):
            per = []
            for fn, y, o, w in zip(self._losses, ys, outs, sws):
                l = fn(y, o)
                l = l.reshape(l.shape[0], -1).mean(axis=1) if l.ndim > 1 else l
                if w is None:  # unweighted (the common case): no weight rows to gather
                    per.append(jnp.mean(l))
                    continue
                # Keras' weighting: mean(loss * w) / mean(w != 0)
                per.append(jnp.mean(l * w) / jnp.maximum(jnp.mean((w != 0).astype(l.dtype)), 1e-7))
            total = sum(lw * l for lw, l in zip(self._loss_weights, per))
            return total, per

        def metrics_of(ys, outs):
            return {name: jnp.mean(fn(ys[i], outs[i])) for name, i, fn in self._metrics}

        def loss_fn(params, state, xs, ys, sws, key, training):
            if not all_trainable:
                params = jax.tree_util.tree_map(lambda p, m: p if m else jax.lax.stop_gradient(p), params, mask)
            outs, new_state, act = model.forward(params, state, xs, training=training, key=key)
            total, per = losses_of(ys, outs, sws)
            total = total + model.regularization_loss(params) + act
            return total, (new_state, outs, per)

        def batch_logs(total, per, ys, outs):
            logs = {"loss": total}
            if len(per) > 1:
                logs.update({n: p for n, p in zip(self._loss_names[1:], per)})
            logs.update(metrics_of(ys, outs))
            return logs

        def train_step(carry, batch):
            xs, ys, sws = batch
            key = jax.random.fold_in(carry.key, carry.step)
            (total, (new_state, outs, per)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
                carry.params, carry.state, xs, ys, sws, key, True)
            updates, opt_state = tx.update(grads, carry.opt_state, carry.params)
            params = optax.apply_updates(carry.params, updates)
            if constrained:
                params = model.apply_constraints(params)
                if not all_trainable:  # Keras constrains only the weights it trains
                    params = jax.tree_util.tree_map(lambda new, old, m: new if m else old,
                                                    params, carry.params, mask)
            n = xs[0].shape[0]
            logs = batch_logs(total, per, ys, outs)
            sums = {k: carry.sums[k] + logs[k] * n for k in logs}
            sums["_count"] = carry.sums["_count"] + n
            return TrainState(params, new_state, opt_state, carry.step + 1, sums, carry.key)

        def train_chunk(carry, data, idx):
            for k in range(idx.shape[0]):  # static: unrolled (see module docstring)
                carry = train_step(carry, jax.tree_util.tree_map(lambda a: a[idx[k]], data))
            # The epoch's running means, the batch logs: computed here, not as eager ops per step.
            return carry, {k: carry.sums[k] / carry.sums["_count"] for k in self.metrics_names}

        def eval_batch(params, state, xs, ys, sws):
            total, (_, outs, per) = loss_fn(params, state, xs, ys, sws, None, False)
            n = xs[0].shape[0]
            return {k: v * n for k, v in batch_logs(total, per, ys, outs).items()}

        def predict_batch(params, state, xs):
            outs, _, _ = model.forward(params, state, xs, training=False)
            return outs

        self._fns = {"train_chunk": jax.jit(train_chunk), "eval": jax.jit(eval_batch),
                     "predict": jax.jit(predict_batch)}

    def _zero_sums(self):
        return {k: jnp.zeros((), jnp.float32) for k in self.metrics_names + ["_count"]}

    def _state(self):
        """The live train state (created on first use from the layers' current weights)."""
        if self._train_state is None:
            params, state = self.params, self.state
            self._train_state = TrainState(params, state, self._tx.init(params), jnp.zeros((), jnp.int32),
                                           self._zero_sums(), random.next_key())
        return self._train_state

    def _set_state(self, ts):
        self._train_state = ts
        self.params, self.state = ts.params, ts.state

    def _sync_from_layers(self):
        """Weights set on the layers (set_weights, load) replace the train state's."""
        if self._train_state is not None:
            self._train_state = self._train_state._replace(params=self.params, state=self.state)

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"Model '{self.name}' must be compiled before {what}: call "
                               f"model.compile(optimizer=..., loss=...)")

    # ---- learning rate (used by callbacks) -------------------------------------
    def get_learning_rate(self):
        self._require_compiled("reading the learning rate")
        self._ensure_built_for(None)
        lr = optimizers.get_learning_rate(self._state().opt_state)
        return float(lr) if lr is not None else None

    def set_learning_rate(self, value):
        self._require_compiled("setting the learning rate")
        ts = self._state()
        self._train_state = ts._replace(opt_state=optimizers.set_learning_rate(ts.opt_state, value))

    @property
    def iterations(self):
        return int(self._train_state.step) if self._train_state is not None else 0

    # ---- data ----------------------------------------------------------------------
    def _ensure_built_for(self, x):
        if not self.outputs:
            if x is None:
                raise ValueError(f"Model '{self.name}' is not built yet: give the first layer an input_shape")
            first = _as_list(x)[0]
            self.build((None,) + tuple(np.shape(first)[1:]))
        if self.compiled and self._fns is None:
            self._setup()

    def _standardize(self, data, names, shapes, what, sparse=None):
        if isinstance(data, dict):
            missing = [n for n in names if n not in data]
            if missing:
                raise ValueError(f"Model '{self.name}': {what} dict lacks {missing}; expected keys {names}")
            arrays = [data[n] for n in names]
        else:
            arrays = _as_list(data)
        if len(arrays) != len(names):
            raise ValueError(f"Model '{self.name}' expects {len(names)} {what} array(s) {names}; "
                             f"got {len(arrays)}")
        out = []
        for i, (a, name, shape) in enumerate(zip(arrays, names, shapes)):
            # JAX arrays stay where they are (no copy back to the host and over again).
            a = a if isinstance(a, jax.Array) else np.asarray(a)
            if a.dtype == np.float64 or a.dtype == bool:
                a = a.astype(np.float32)
            is_sparse = sparse is not None and sparse[i]
            if what == "input" or not is_sparse:
                ok = a.ndim == len(shape) and all(e is None or e == d for e, d in zip(shape[1:], a.shape[1:]))
                if not ok:
                    hint = ""
                    if what == "input" and a.ndim > len(shape):
                        hint = " Flatten or Reshape the data, or add a Flatten/Reshape layer."
                    # class indices, as (n,) or (n, 1), given to a one-hot output
                    labels = (a.ndim == 1 or (a.ndim == len(shape) == 2 and a.shape[-1] == 1)) and \
                        np.issubdtype(a.dtype, np.number) and bool(np.all(np.mod(np.asarray(a), 1) == 0))
                    if what == "target" and labels and shape[-1] and shape[-1] > 1:
                        hint = " Integer labels need to_categorical(y) or loss='sparse_categorical_crossentropy'."
                    raise ValueError(f"Model '{self.name}': {what} '{name}' expects arrays of shape "
                                     f"{tuple(shape)} (batch first); got {a.shape}.{hint}")
            out.append(a)
        return out

    def _prepare(self, x, y=None, sample_weight=None, class_weight=None):
        if x is None:
            raise ValueError(f"Model '{self.name}': x is required")
        self._ensure_built_for(x)
        xs = self._standardize(x, self.input_names, [t.shape for t in self.inputs], "input")
        n = xs[0].shape[0]
        ys, sws = None, None
        if y is not None:
            sparse = [fn is losses_mod.sparse_categorical_crossentropy for fn in self._losses]
            ys = self._standardize(y, self.output_names, [t.shape for t in self.outputs], "target", sparse)
        for a in xs + (ys or []):
            if a.shape[0] != n:
                raise ValueError(f"Model '{self.name}': all inputs and targets need the same number of "
                                 f"samples; got {[b.shape[0] for b in xs + (ys or [])]}")
        if ys is not None:  # after the count check: class weights index the targets by sample
            sws = self._sample_weights(ys, n, sample_weight, class_weight)
        return xs, ys, sws, n

    def _sample_weights(self, ys, n, sample_weight, class_weight):
        sws = []
        sw_list = (sample_weight if isinstance(sample_weight, (list, tuple)) else
                   [sample_weight.get(k) for k in self.output_names] if isinstance(sample_weight, dict) else
                   [sample_weight] * len(ys))
        for i, y in enumerate(ys):
            if sw_list[i] is None and class_weight is None:
                sws.append(None)  # unweighted: the loss is a plain mean
                continue
            w = np.ones(n, np.float32)
            if sw_list[i] is not None:
                s = np.asarray(sw_list[i], np.float32)
                if s.shape != (n,):
                    raise ValueError(f"Model '{self.name}': sample_weight must have shape ({n},); got {s.shape}")
                w = w * s
            if class_weight is not None:
                cw = class_weight.get(self.output_names[i], class_weight) if len(ys) > 1 else class_weight
                y = np.asarray(y)
                labels = y.argmax(-1) if (y.ndim > 1 and y.shape[-1] > 1) else y.reshape(n, -1)[:, 0].round()
                w = w * np.array([cw.get(int(c), 1.0) for c in labels], np.float32)
            sws.append(w)
        return sws

    # ---- fit -----------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_freq=1, nb_epoch=None, **kwargs):
        """Train for ``epochs`` passes over (x, y); returns a History (``history.history['loss']``).

        ``x`` and ``y`` may be numpy arrays, which each call copies to the device once, or JAX
        arrays, which are used where they are (put the data on the device once with
        ``jax.device_put`` to train several ``fit`` calls on it without copying).
        """
        if kwargs:
            raise TypeError(f"fit: unexpected keyword argument(s) {sorted(kwargs)}")
        if nb_epoch is not None:
            epochs = nb_epoch
        self._require_compiled("fit")
        batch_size = 32 if batch_size is None else int(batch_size)
        if batch_size <= 0:
            raise ValueError(f"fit: batch_size must be a positive integer; got {batch_size}")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1); got {validation_split}")
        xs, ys, sws, n = self._prepare(x, y, sample_weight, class_weight)
        if ys is None:
            raise ValueError(f"Model '{self.name}'.fit needs targets y")
        val = None
        if validation_data is not None:
            if len(validation_data) not in (2, 3):
                raise ValueError("fit: validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight)")
            val = self._prepare(*validation_data[:2], validation_data[2] if len(validation_data) == 3 else None)
        elif validation_split:
            split = int(n * (1.0 - validation_split))  # Keras: the last rows, before shuffling
            train, rest = slice(None, split), slice(split, None)
            val = (_rows(xs, rest), _rows(ys, rest), _rows(sws, rest), n - split)
            xs, ys, sws, n = _rows(xs, train), _rows(ys, train), _rows(sws, train), split
        task = _FitTask(self, xs, ys, sws, n, batch_size, shuffle, val, validation_freq, steps_per_epoch)
        return loop.run(self, task, epochs=epochs, initial_epoch=initial_epoch, callbacks=callbacks,
                        verbose=verbose, params={"batch_size": batch_size, "samples": n,
                                                 "metrics": self.metrics_names})

    # ---- evaluate / predict --------------------------------------------------------------
    def _evaluate_arrays(self, xs, ys, sws, n, batch_size):
        ts = self._state()
        data = _on_device(xs, ys, sws)
        sums = None
        for start in range(0, n, batch_size):
            sl = slice(start, start + batch_size)
            part = self._fns["eval"](ts.params, ts.state, *[_rows(group, sl) for group in data])
            sums = part if sums is None else {k: sums[k] + part[k] for k in sums}
        return {k: float(sums[k]) / n for k in self.metrics_names}

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None, return_dict=False, **kw):
        """Loss and metrics on (x, y) in inference mode: a scalar, or a list in ``metrics_names`` order."""
        self._require_compiled("evaluate")
        xs, ys, sws, n = self._prepare(x, y, sample_weight)
        if ys is None:
            raise ValueError(f"Model '{self.name}'.evaluate needs targets y")
        logs = self._evaluate_arrays(xs, ys, sws, n, int(batch_size or 32))
        if return_dict:
            return logs
        values = [logs[k] for k in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose=0, **kw):
        """Outputs for ``x`` in inference mode, as numpy arrays (a list for several outputs)."""
        self._ensure_built_for(x)
        xs = self._standardize(x, self.input_names, [t.shape for t in self.inputs], "input")
        n, bs = xs[0].shape[0], int(batch_size or 32)
        params, state = self.params, self.state
        fn = self._fns["predict"] if self._fns else jax.jit(
            lambda p, s, a: self.forward(p, s, a, training=False)[0])
        outs = [fn(params, state, [jnp.asarray(a[i:i + bs]) for a in xs]) for i in range(0, n, bs)]
        merged = [np.concatenate([np.asarray(o[j]) for o in outs]) for j in range(len(self.outputs))]
        return merged if self._outputs_are_list else merged[0]

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(1, len(_as_list(x)[0])))

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None):
        """One optimizer step on this batch; returns its loss (and metrics)."""
        self._require_compiled("train_on_batch")
        xs, ys, sws, n = self._prepare(x, y, sample_weight, class_weight)
        ts = self._state()._replace(sums=self._zero_sums())
        data = _on_device(xs, ys, sws)
        ts, logs = self._fns["train_chunk"](ts, data, np.arange(n, dtype=np.int32)[None])
        self._set_state(ts)
        values = [float(logs[k]) for k in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def test_on_batch(self, x, y, sample_weight=None):
        self._require_compiled("test_on_batch")
        xs, ys, sws, n = self._prepare(x, y, sample_weight)
        logs = self._evaluate_arrays(xs, ys, sws, n, n)
        values = [logs[k] for k in self.metrics_names]
        return values[0] if len(values) == 1 else values


class _FitTask:
    """Supervised batches for the one loop: shuffled index batches into on-device arrays."""

    def __init__(self, model, xs, ys, sws, n, batch_size, shuffle, val, validation_freq, steps_per_epoch):
        self.model = model
        self.data = _on_device(xs, ys, sws)
        self.n, self.batch_size, self.shuffle = n, batch_size, shuffle
        if val is not None:  # on the device once, not at every epoch's validation
            val = _on_device(*val[:3]) + (val[3],)
        self.val, self.validation_freq = val, validation_freq
        self.k = max(1, model.steps_per_execution)
        full = n // batch_size
        self.steps_per_epoch = steps_per_epoch or (full + (1 if n % batch_size else 0))
        model._state()

    def batches(self, epoch):
        model = self.model
        # The epoch's logs average its own batches only (train_on_batch leaves its batch in the sums).
        ts = model._train_state = model._train_state._replace(sums=model._zero_sums())
        order = epoch_order(ts.key, ts.step, self.n) if self.shuffle else np.arange(self.n)
        order = order.astype(np.int32)
        bs, full = self.batch_size, self.n // self.batch_size
        idx = order[:full * bs].reshape(full, bs)
        steps = 0
        for c in range(0, full, self.k):
            chunk = idx[c:c + self.k][: self.steps_per_epoch - steps]
            if len(chunk) == 0:
                return
            steps += len(chunk)
            yield chunk
        if self.n % bs and steps < self.steps_per_epoch:
            yield order[full * bs:][None]

    def steps_in(self, batch):
        return len(batch)

    def train_step(self, idx):
        model = self.model
        # idx stays numpy: jit's C++ dispatch moves it to the device faster than jnp.asarray.
        ts, logs = model._fns["train_chunk"](model._train_state, self.data, idx)
        model._set_state(ts)
        return logs

    def end_epoch(self, epoch):
        model = self.model
        ts = model._train_state
        count = float(ts.sums["_count"])
        logs = {k: float(ts.sums[k]) / max(count, 1.0) for k in model.metrics_names}
        model._train_state = ts._replace(sums=model._zero_sums())
        if self.val is not None and (epoch + 1) % self.validation_freq == 0:
            xs, ys, sws, n = self.val
            val_logs = model._evaluate_arrays(xs, ys, sws, n, self.batch_size)
            logs.update({f"val_{k}": v for k, v in val_logs.items()})
        return logs
