"""compile / fit / evaluate / predict for models.

The training step is ``Model.train_step(state, batch) -> (state, logs)``, a pure function of a
:class:`TrainState` that subclasses may override (a GAN does). It is compiled in one place,
``train_chunk(state, data, idx)``, which gathers each batch from the on-device arrays by index and
runs ``steps_per_execution`` steps, unrolled (on XLA:CPU, convolution gradients inside ``lax.scan``
run 5-10x slower than the same steps unrolled), with the train state's buffers donated.

Weights have one owner at a time. Outside a call the layers hold them; ``fit``, ``train_on_batch``,
``evaluate`` and ``predict`` read them from the layers when they start, and the training calls write
them back when they end (and around the hooks of callbacks that read weights). Only the optimizer
state, step counter, key and running sums stay with the compiled model between calls, so weights
shared by several models (a GAN's discriminator) are always current.

``fit`` is a thin client of the one loop (:mod:`arena.loop`): it supplies the index batches and the
compiled step.

``fit``, ``evaluate`` and ``predict`` also take a Python generator, any iterator or iterable of
``(x, y[, sample_weight])`` batches, or an :class:`arena.utils.Sequence`. Those batches are checked
and put on the device by a background thread (a bounded queue of ``max_queue_size`` batches) while
the compiled step runs; each runs through ``train_batch(state, batch)``, one ``train_step`` compiled
per batch shape. ``use_multiprocessing=True`` runs as that thread too (with a warning): JAX cannot
run in forked processes.
"""
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from arena import checks, distribution, loop, random
from arena.nn import losses as losses_mod
from arena.nn import mixed_precision
from arena.nn import metrics as metrics_mod
from arena.nn import optimizers
from arena.nn.layers.base import _layers_within, as_list as _as_list
from arena.nn.data import (_Feed, _FeedFitTask, _FitTask, _ProcessFitTask, _is_batch_source, _is_sequence, _on_device,  # noqa: F401
                            _to_device, epoch_order)
from arena.nn.update import make_update


MAX_STEPS_PER_EXECUTION = 32  # compile(steps_per_execution=...) above this is capped, with a warning


class TrainState(NamedTuple):
    """Everything a training step changes, as one pytree.

    ``params`` (trainable weights) and ``state`` (non-trainable weights and runtime state), each a
    dict keyed by layer name; ``opt_state``: the optax state, or a dict of them for a model compiled
    with several optimizers; ``step``: optimizer steps done; ``key``: the base key of training
    randomness; ``sums``: running sums of the logs over the epoch (plus ``"_count"``), kept by the
    compiled chunk; ``extras``: anything a custom ``train_step`` wants to carry.

    All training randomness is a function of ``(key, step)``: step ``t`` uses the key
    ``fold_in(key, t)`` and an epoch starting at step ``t`` shuffles with :func:`epoch_order`.
    Saving the state (``model.save``) therefore lets a reloaded model continue exactly.
    """
    params: dict
    state: dict
    opt_state: object
    step: jax.Array
    key: jax.Array
    sums: dict
    extras: dict


def _rows(arrays, sl):
    """The rows ``sl`` of each array; None (no sample weights) stays None."""
    return [None if a is None else a[sl] for a in arrays]


def _batch_rows(batch):
    """The number of rows of a batch (the leading size of its first array)."""
    return jax.tree_util.tree_leaves(batch)[0].shape[0]


def _values(logs, names):
    values = [logs[k] for k in names]
    return values[0] if len(values) == 1 else values


class TrainingMixin:
    """The Keras training surface of ``Model``."""

    def __init__(self):
        self.optimizer = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._train_state = None
        self._fns = None
        self._predict_fn = None

    # ---- compile ---------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                sample_weight_mode=None, weighted_metrics=None, steps_per_execution=1, **kwargs):
        """Configure training: an optimizer (name, arena optimizer or optax transform; or a dict
        ``{layer name: optimizer}`` for a custom ``train_step`` that updates parts of the model with
        their own optimizers, see :meth:`apply_update`), a loss per output (name, callable, list or
        dict), metrics, loss weights."""
        if kwargs:
            raise TypeError(f"compile: unexpected keyword argument(s) {sorted(kwargs)}")
        if loss is None and not self._custom_step():
            raise ValueError(f"Model '{self.name}'.compile needs a loss, e.g. loss='categorical_crossentropy'")
        if isinstance(optimizer, dict):
            if not optimizer:
                raise ValueError(f"Model '{self.name}'.compile: the optimizer dict is empty")
            self.optimizer = {str(k): optimizers.get(v) for k, v in optimizer.items()}
        else:
            self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._compile_args = dict(loss=loss, metrics=metrics, loss_weights=loss_weights,
                                  sample_weight_mode=sample_weight_mode)
        steps_per_execution = checks.integer(steps_per_execution, "compile: steps_per_execution", 1)
        if steps_per_execution > MAX_STEPS_PER_EXECUTION:
            # The steps are unrolled in one compiled function: 50 take a minute to compile, 200 never
            # finish. The results do not depend on it, so a cap changes nothing but the compile time.
            warnings.warn(f"compile: steps_per_execution={steps_per_execution} is capped at "
                          f"{MAX_STEPS_PER_EXECUTION} (the steps are unrolled: compiling more takes minutes)",
                          stacklevel=2)
            steps_per_execution = MAX_STEPS_PER_EXECUTION
        self.steps_per_execution = int(steps_per_execution)
        self.compiled = True
        self._train_state = None
        self._fns = None
        if self.outputs:
            self._setup()

    def _custom_step(self):
        return type(self).train_step is not TrainingMixin.train_step

    def _setup(self):
        """Resolve losses/metrics per output, the updates and the compiled functions."""
        self._resolve_losses_and_metrics()
        self._updates = self._make_updates()
        self._log_names = None if self._custom_step() else list(self.metrics_names)
        # The train state's buffers are donated: updated in place, no copy of every weight and moment
        # per step (on 2 CPU cores: MLP fit 4% faster, LeNet 3% slower; on accelerators it saves memory).
        self._fns = {"train_chunk": jax.jit(self._train_chunk, donate_argnums=0),
                     "train_batch": jax.jit(self._train_batch, donate_argnums=0),
                     "eval": jax.jit(self._eval_batch)}

    def _resolve_losses_and_metrics(self):
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

        self._losses = [None if l is None else losses_mod.get(l) for l in per_output(spec["loss"], "losses")]
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
        modes = spec.get("sample_weight_mode")
        self._sample_weight_modes = per_output(modes, "sample_weight_mode") if modes is not None else [None] * n_out
        bad = [m for m in self._sample_weight_modes if m not in (None, "temporal")]
        if bad:
            raise ValueError(f"compile: sample_weight_mode must be None or 'temporal' (per output); got {bad[0]!r}")
        self._loss_names = ["loss"] + ([f"{n}_loss" for n in names] if n_out > 1 else [])
        self.metrics_names = self._loss_names + [m[0] for m in self._metrics]

    def _make_updates(self):
        """``{None: Update}`` for one optimizer over the whole model, or ``{layer name: Update}``."""
        if not isinstance(self.optimizer, dict):
            self.optimizer = _loss_scaled(self.optimizer, self)
            return {None: make_update(self, self.optimizer.build(), _loss_scale_of(self.optimizer))}
        updates = {}
        for name, opt in self.optimizer.items():
            try:
                layer = self.get_layer(name)
            except ValueError:
                raise ValueError(f"Model '{self.name}'.compile: optimizer {name!r} names no layer of the model; "
                                 f"layers: {[l.name for l in self._layers]}") from None
            opt = self.optimizer[name] = _loss_scaled(opt, layer)
            updates[name] = make_update(layer, opt.build(), _loss_scale_of(opt))
        return updates

    # ---- the training step (pure; override train_step for custom training) ------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, mask=None):
        """The data loss of a batch (without weight penalties): the loss-weighted sum of the outputs'
        losses. ``y``, ``y_pred``, ``sample_weight`` and ``mask`` are lists, one entry per output."""
        return sum(lw * l for lw, l in zip(self._loss_weights, self._output_losses(y, y_pred, sample_weight, mask)))

    def _output_losses(self, ys, outs, sws, masks=None):
        """One mean loss per output: masked steps count for nothing (Keras 2's loss masking), then
        Keras' sample weighting ``mean(loss * w) / mean(w != 0)``: per sample, or per step for
        weights of shape (batch, steps) (``sample_weight_mode='temporal'``)."""
        masks = masks or [None] * len(outs)
        ys, outs = _float32(ys), _float32(outs)
        per = []
        for fn, y, o, w, m in zip(self._losses, ys, outs, sws, masks):
            if fn is None:
                raise ValueError(f"Model '{self.name}' was compiled without a loss for output "
                                 f"{self.output_names[len(per)]!r}")
            l = fn(y, o)
            if m is not None and l.shape[:m.ndim] == m.shape:
                m = m.astype(l.dtype).reshape(m.shape + (1,) * (l.ndim - m.ndim))
                l = l * m / jnp.maximum(jnp.mean(m), 1e-7)
            if w is not None and w.ndim == 2:  # temporal: a weight per sample and step
                if l.ndim < 2 or l.shape[:2] != w.shape:
                    raise ValueError(f"Model '{self.name}': temporal sample weights of shape {w.shape} need a "
                                     f"loss per step; output {self.output_names[len(per)]!r} gives losses of "
                                     f"shape {l.shape}")
                l = l.reshape(l.shape[0], l.shape[1], -1).mean(axis=2)
                per.append(jnp.mean(l * w) / jnp.maximum(jnp.mean((w != 0).astype(l.dtype)), 1e-7))
                continue
            l = l.reshape(l.shape[0], -1).mean(axis=1) if l.ndim > 1 else l
            if w is None:  # unweighted (the common case): no weight rows to gather
                per.append(jnp.mean(l))
                continue
            per.append(jnp.mean(l * w) / jnp.maximum(jnp.mean((w != 0).astype(l.dtype)), 1e-7))
        return per

    def _batch_logs(self, total, per, ys, outs, masks=None):
        logs = {"loss": total}
        if len(per) > 1:
            logs.update({n: p for n, p in zip(self._loss_names[1:], per)})
        masks = masks or [None] * len(outs)
        ys, outs = _float32(ys), _float32(outs)
        logs.update({name: _masked_mean(fn(ys[i], outs[i]), masks[i]) for name, i, fn in self._metrics})
        return logs

    def apply_update(self, state, loss_fn, optimizer=None):
        """One optimizer step inside a train step: ``(state, loss, aux)``.

        ``loss_fn(params, layer_state) -> (loss, (new_layer_state, aux))`` over the weights the
        optimizer owns: the whole model's, or with ``optimizer=name`` (a model compiled with a dict
        of optimizers) those of the layer of that name. Frozen layers, weight penalties (included in
        the returned loss), constraints and layer state are handled as ``fit`` handles them."""
        update = self._updates.get(optimizer)
        if update is None:
            raise ValueError(f"Model '{self.name}' has no optimizer {optimizer!r}; it was compiled with "
                             f"{[k for k in self._updates if k is not None] or 'one optimizer'}")
        if optimizer is None:
            params, layer_state, opt_state, loss, aux = update.apply(state.params, state.state, state.opt_state,
                                                                     loss_fn)
            return state._replace(params=params, state=layer_state, opt_state=opt_state), loss, aux
        params, layer_state, opt_state, loss, aux = update.apply(
            state.params[optimizer], state.state.get(optimizer, {}), state.opt_state[optimizer], loss_fn)
        return state._replace(params={**state.params, optimizer: params},
                              state={**state.state, optimizer: layer_state},
                              opt_state={**state.opt_state, optimizer: opt_state}), loss, aux

    def train_step(self, state, batch):
        """One training step, pure: ``(state, logs)`` for a batch ``(inputs, targets, sample_weights)``
        (lists, one entry per model input/output; a weight entry may be None).

        Override it for custom training (Keras 3's "custom train_step in JAX"): use
        :meth:`apply_update` for each optimizer step, return the new state with ``step + 1`` and a
        dict of scalar logs. ``fit`` compiles it, averages the logs over each epoch and runs the
        callbacks; ``state.key`` folded with ``state.step`` gives fresh randomness each step."""
        xs, ys, sws = batch
        key = jax.random.fold_in(state.key, state.step)

        def loss_fn(params, layer_state):
            outs, new_state, act, masks = self.run_graph(params, layer_state, xs, training=True, key=key)
            per = self._output_losses(ys, outs, sws, masks)
            data = sum(lw * l for lw, l in zip(self._loss_weights, per)) if type(self).compute_loss is \
                TrainingMixin.compute_loss else self.compute_loss(xs, ys, outs, sws, masks)
            return data + act, (new_state, (outs, per, masks))

        state, loss, (outs, per, masks) = self.apply_update(state, loss_fn)
        return state._replace(step=state.step + 1), self._batch_logs(loss, per, ys, outs, masks)

    def _train_chunk(self, state, data, idx):
        """``len(idx)`` train steps on the rows ``idx[k]`` of the device arrays ``data``; the logs
        returned are the epoch's running means (computed here, not as eager ops per step)."""
        logs = {}
        for k in range(idx.shape[0]):  # static: unrolled (see module docstring)
            batch = distribution.constrain_batch(jax.tree_util.tree_map(lambda a: a[idx[k]], data))
            state, logs = self._step_and_sum(state, batch)
        return state, {k: state.sums[k] / state.sums["_count"] for k in logs}

    def _train_batch(self, state, batch):
        """One train step on a batch passed in (generator-fed ``fit``); the logs are the running means."""
        state, logs = self._step_and_sum(state, distribution.constrain_batch(batch))
        return state, {k: state.sums[k] / state.sums["_count"] for k in logs}

    def _step_and_sum(self, state, batch):
        state, logs = self.train_step(state, batch)
        n = _batch_rows(batch)
        sums = {name: state.sums[name] + jnp.asarray(value, jnp.float32) * n for name, value in logs.items()}
        sums["_count"] = state.sums["_count"] + n
        return state._replace(sums=sums), logs

    def _eval_batch(self, params, state, xs, ys, sws, key):
        xs, ys, sws = distribution.constrain_batch((xs, ys, sws))
        outs, _, act, masks = self.run_graph(params, state, xs, training=False, key=key)
        per = self._output_losses(ys, outs, sws, masks)
        total = sum(lw * l for lw, l in zip(self._loss_weights, per)) + self.regularization_loss(params) + act
        n = xs[0].shape[0]
        return {k: v * n for k, v in self._batch_logs(total, per, ys, outs, masks).items()}

    # ---- the train state and who owns the weights ----------------------------------------
    def _zero_sums(self, names=None):
        return {k: jnp.zeros((), jnp.float32) for k in list(names or self._log_names or []) + ["_count"]}

    def _state(self):
        """The train state between calls: optimizer state(s), step, key, sums; no weights (the layers
        hold them). Created on first use from the layers' current weights."""
        if self._train_state is None:
            params = self.params
            opt_state = {name: u.init(params[name] if name is not None else params)
                         for name, u in self._updates.items()}
            opt_state = opt_state[None] if None in opt_state else opt_state
            self._train_state = TrainState(None, None, opt_state, jnp.zeros((), jnp.int32), random.next_key(),
                                           self._zero_sums(), {})
        return self._train_state

    def _take_weights(self):
        """Start of a training call: the train state takes the layers' current weights (on every device
        of the distribution in effect)."""
        self._train_state = _placed(self._state()._replace(params=self.params, state=self.state))

    def _return_weights(self, keep=False):
        """The layers take the train state's weights (at the end of a call, ``keep=False``, the train
        state lets go of them; around a callback hook it keeps them)."""
        ts = self._train_state
        if ts is None or ts.params is None:
            return
        # With several processes, outside the compiled steps each process holds its own copies.
        self.params, self.state = distribution.local((ts.params, ts.state))
        if not keep:
            self._train_state = distribution.local(ts._replace(params=None, state=None))

    def _reread_weights(self):
        """After a callback hook: weights a callback set on the layers replace the train state's."""
        if self._train_state is not None and self._train_state.params is not None:
            self._take_weights()

    def _ema_params(self, params):
        """``params`` (the model's weights, by layer name) with the moving averages of the optimizers
        built with ``use_ema`` in place of the weights they train; None when there are none."""
        ts, opts = self._train_state, self.optimizer
        if ts is None or opts is None:
            return None
        opts = opts if isinstance(opts, dict) else {None: opts}
        found = False
        for name, opt in opts.items():
            if not getattr(opt, "use_ema", False):
                continue
            if name is None:
                averaged = optimizers.ema_weights(ts.opt_state, params)
            else:
                part = optimizers.ema_weights(ts.opt_state[name], params[name])
                averaged = None if part is None else {**params, name: part}
            if averaged is not None:
                params, found = averaged, True
        return params if found else None

    def _finalize_ema(self):
        """The end of ``fit`` (Keras 3's ``finalize_variable_values``): the weights an optimizer with
        ``use_ema`` trains become their moving averages."""
        ts = self._train_state
        averaged = self._ema_params(ts.params) if ts is not None and ts.params is not None else None
        if averaged is not None:
            self._train_state = ts._replace(params=averaged)

    def _ensure_log_names(self, data):
        """A custom ``train_step``'s log names, found by tracing it once on a batch (no compute)."""
        if self._log_names is None:
            ts = self._train_state
            batch = jax.tree_util.tree_map(lambda a: a[:1], data)
            start = ts._replace(sums=self._zero_sums([]))
            out = jax.eval_shape(self.train_step, start, batch)
            _check_step_result(self, start, out)
            logs = out[1]
            self._log_names = list(logs)
            self.metrics_names = list(logs)
            self._train_state = ts._replace(sums=self._zero_sums())

    def _has_custom_step(self):
        """Whether ``train_step`` is overridden (then ``fit`` may get no targets)."""
        return type(self).train_step is not TrainingMixin.train_step

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
            if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
                raise ValueError(f"Model '{self.name}': {what} '{name}' must hold numbers; got an array of dtype "
                                 f"{a.dtype} (shape {a.shape}). Convert text or objects to numbers first")
            if a.ndim == 0:
                raise ValueError(f"Model '{self.name}': {what} '{name}' must be an array with a batch axis; "
                                 f"got a scalar {a!r}")
            if a.dtype == np.float64 or a.dtype == bool:
                a = a.astype(np.float32)
            is_sparse = sparse is not None and sparse[i]
            if what == "target" and not is_sparse and a.ndim == len(shape) - 1 and shape[-1] == 1:
                a = a.reshape(a.shape + (1,))  # (n,) targets for a (None, 1) output, as Keras 2 takes them
            if is_sparse and what == "target":
                _check_class_labels(self, name, a, shape)
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

    def _check_input_values(self, xs):
        """Layers fed straight from a model input that check concrete values (an Embedding's token ids,
        which the compiled gather would clamp silently) check them here, on the host."""
        for t, x in zip(self.inputs, xs):
            for node in self._nodes:
                if hasattr(node.layer, "check_ids") and any(inp is t for inp in node.inputs):
                    node.layer.check_ids(x)

    def _prepare(self, x, y=None, sample_weight=None, class_weight=None):
        if x is None:
            raise ValueError(f"Model '{self.name}': x is required")
        self._ensure_built_for(x)
        xs = self._standardize(x, self.input_names, [t.shape for t in self.inputs], "input")
        self._check_input_values(xs)
        n = xs[0].shape[0]
        if n == 0:
            raise ValueError(f"Model '{self.name}': the data has no rows (x has shape {xs[0].shape})")
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
        if class_weight is not None and not isinstance(class_weight, dict):
            raise ValueError(f"Model '{self.name}': class_weight must be a dict {{class index: weight}} (or, for "
                             f"several outputs, {{output name: dict}}); got {type(class_weight).__name__}")
        modes = getattr(self, "_sample_weight_modes", None) or [None] * len(ys)
        for i, y in enumerate(ys):
            if sw_list[i] is None and class_weight is None:
                sws.append(None)  # unweighted: the loss is a plain mean
                continue
            if modes[i] == "temporal":
                sws.append(self._temporal_weights(self.output_names[i], y, n, sw_list[i], class_weight))
                continue
            w = np.ones(n, np.float32)
            if sw_list[i] is not None:
                try:
                    s = np.asarray(sw_list[i], np.float32)
                except (TypeError, ValueError):
                    raise ValueError(f"Model '{self.name}': sample_weight must be numbers; got "
                                     f"{type(sw_list[i]).__name__}") from None
                if s.shape != (n,):
                    hint = " (per-step weights need compile(sample_weight_mode='temporal'))" if s.ndim == 2 else ""
                    raise ValueError(f"Model '{self.name}': sample_weight must have shape ({n},); got {s.shape}{hint}")
                if not np.all(np.isfinite(s)) or np.any(s < 0):
                    raise ValueError(f"Model '{self.name}': sample weights must be finite and >= 0; got "
                                     f"{'a negative one' if np.any(s < 0) else 'a NaN or infinite one'}")
                w = w * s
            if class_weight is not None:
                cw = class_weight.get(self.output_names[i], class_weight) if len(ys) > 1 else class_weight
                bad = {k: v for k, v in cw.items() if not isinstance(v, (int, float, np.number)) or not
                       np.isfinite(v) or v < 0}
                if bad:
                    raise ValueError(f"Model '{self.name}': class weights must be finite numbers >= 0; got {bad}")
                y = np.asarray(y)
                labels = y.argmax(-1) if (y.ndim > 1 and y.shape[-1] > 1) else y.reshape(n, -1)[:, 0].round()
                w = w * np.array([cw.get(int(c), 1.0) for c in labels], np.float32)
            sws.append(w)
        return sws

    def _temporal_weights(self, name, y, n, sample_weight, class_weight):
        """``sample_weight_mode='temporal'``: weights of shape (batch, steps), one per sample and step."""
        if class_weight is not None:
            raise ValueError(f"Model '{self.name}': class_weight is not supported with sample_weight_mode="
                             f"'temporal' (output {name!r}); give per-step weights as sample_weight instead")
        if np.ndim(y) < 2:
            raise ValueError(f"Model '{self.name}': sample_weight_mode='temporal' needs targets with a time axis "
                             f"(batch, steps, ...); target {name!r} has shape {np.shape(y)}")
        try:
            s = np.asarray(sample_weight, np.float32)
        except (TypeError, ValueError):
            raise ValueError(f"Model '{self.name}': sample_weight must be numbers; got "
                             f"{type(sample_weight).__name__}") from None
        steps = np.shape(y)[1]
        if s.shape != (n, steps):
            raise ValueError(f"Model '{self.name}': with sample_weight_mode='temporal', sample_weight for output "
                             f"{name!r} must have shape (samples, steps) = ({n}, {steps}); got {s.shape}")
        if not np.all(np.isfinite(s)) or np.any(s < 0):
            raise ValueError(f"Model '{self.name}': sample weights must be finite and >= 0; got "
                             f"{'a negative one' if np.any(s < 0) else 'a NaN or infinite one'}")
        return s

    # ---- fit -----------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_freq=1, validation_steps=None, max_queue_size=10,
            workers=1, use_multiprocessing=False, **kwargs):
        """Train for ``epochs`` passes over (x, y); returns a History (``history.history['loss']``).

        ``x`` and ``y`` may be numpy arrays, which each call copies to the device once, or JAX
        arrays, which are used where they are (put the data on the device once with
        ``jax.device_put`` to train several ``fit`` calls on it without copying).

        ``x`` may also be a generator, iterator or iterable of ``(x, y)`` or ``(x, y, sample_weight)``
        batches (``steps_per_epoch`` batches an epoch; required unless it has a ``len``) or an
        :class:`arena.utils.Sequence` (shuffled batch order per epoch with ``shuffle=True``);
        ``validation_data`` may be one too, with ``validation_steps``. A background thread prepares up
        to ``max_queue_size`` batches ahead (``workers=0``: none, batches are read in the caller's thread).
        """
        if kwargs:
            hint = _KERAS1_HINT if {"nb_epoch", "samples_per_epoch", "nb_val_samples"} & set(kwargs) else ""
            raise TypeError(f"fit: unexpected keyword argument(s) {sorted(kwargs)}{hint}")
        self._require_compiled("fit")
        batch_size = _positive_batch_size(batch_size, "fit")
        if distribution.distribution() is not None:  # before anything runs
            distribution.distribution().check_batch_size(batch_size, f"Model '{self.name}'.fit")
        elif distribution.process_count() > 1:
            raise RuntimeError(f"Model '{self.name}'.fit: this run has {distribution.process_count()} processes "
                               f"but no distribution; call arena.distribution.set_distribution(DataParallel()) "
                               f"first")
        epochs = checks.integer(epochs, "fit: epochs", 0)
        initial_epoch = checks.integer(initial_epoch, "fit: initial_epoch", 0)
        validation_freq = checks.integer(validation_freq, "fit: validation_freq", 1)
        if steps_per_epoch is not None:
            steps_per_epoch = checks.integer(steps_per_epoch, "fit: steps_per_epoch", 1)
        validation_split = checks.number(validation_split, "fit: validation_split", 0, 1, max_open=True)
        if validation_steps is not None:
            validation_steps = checks.integer(validation_steps, "fit: validation_steps", 1)
        feeding = dict(max_queue_size=max_queue_size, workers=workers, use_multiprocessing=use_multiprocessing)
        if _is_batch_source(x):
            return self._fit_source(x, y, batch_size, epochs, verbose, callbacks, validation_split,
                                    validation_data, shuffle, class_weight, sample_weight, initial_epoch,
                                    steps_per_epoch, validation_freq, validation_steps, feeding)
        xs, ys, sws, n = self._prepare(x, y, sample_weight, class_weight)
        if ys is None and not self._has_custom_step():  # a custom step may need none
            raise ValueError(f"Model '{self.name}'.fit needs targets y")
        val = None
        if validation_data is not None:
            val = self._validation(validation_data, validation_steps, feeding)
        elif validation_split:
            split = int(n * (1.0 - validation_split))  # Keras: the last rows, before shuffling
            if split == 0 or split == n:
                raise ValueError(f"fit: validation_split={validation_split} of {n} rows leaves "
                                 f"{'no rows to train on' if split == 0 else 'no validation rows'}")
            train, rest = slice(None, split), slice(split, None)
            val = (_rows(xs, rest), _rows(ys, rest), _rows(sws, rest), n - split)
            xs, ys, sws, n = _rows(xs, train), _rows(ys, train), _rows(sws, train), split
        self._take_weights()
        try:
            several = distribution.process_count() > 1  # each process gives its own rows
            task = (_ProcessFitTask if several else _FitTask)(self, xs, ys, sws, n, batch_size, shuffle, val,
                                                               validation_freq, steps_per_epoch)
            history = loop.run(self, task, epochs=epochs, initial_epoch=initial_epoch, callbacks=callbacks,
                               verbose=verbose, params={"batch_size": batch_size, "samples": n,
                                                        "metrics": self.metrics_names})
            self._finalize_ema()
            return history
        finally:
            self._return_weights()
            if isinstance(val, _Feed):
                val.close()

    def _validation(self, validation_data, validation_steps, feeding):
        """``validation_data`` as prepared arrays ``(xs, ys, sws, n)`` or a :class:`_Feed` of batches."""
        if _is_batch_source(validation_data):
            return _Feed(self, validation_data, "evaluate", validation_steps, "validation_steps",
                         what="validation_data", **feeding)
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("fit: validation_data must be (x_val, y_val), (x_val, y_val, sample_weight), a "
                             "generator or a Sequence")
        return self._prepare(*validation_data[:2], validation_data[2] if len(validation_data) == 3 else None)

    def _fit_source(self, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
                    class_weight, sample_weight, initial_epoch, steps_per_epoch, validation_freq, validation_steps,
                    feeding):
        """``fit`` on a generator, iterator, iterable or Sequence of batches."""
        kind = "a Sequence" if _is_sequence(x) else "a generator"
        for value, what in ((y, "y"), (sample_weight, "sample_weight")):
            if value is not None:
                raise ValueError(f"fit: x is {kind}, which yields the batches (x, y[, sample_weight]); "
                                 f"do not give {what} as well")
        if validation_split:
            raise ValueError(f"fit: validation_split needs arrays; x is {kind}: give validation_data instead")
        feed = val = None
        try:
            feed = _Feed(self, x, "fit", steps_per_epoch, "steps_per_epoch", class_weight=class_weight, **feeding)
            if validation_data is not None:
                val = self._validation(validation_data, validation_steps, feeding)
            self._take_weights()
            try:
                task = _FeedFitTask(self, feed, shuffle, val, validation_freq, batch_size)
                history = loop.run(self, task, epochs=epochs, initial_epoch=initial_epoch, callbacks=callbacks,
                                   verbose=verbose, params={"batch_size": None, "samples": None,
                                                            "metrics": self.metrics_names})
                self._finalize_ema()
                return history
            finally:
                self._return_weights()
        finally:
            for f in (feed, val):
                if isinstance(f, _Feed):
                    f.close()

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, validation_freq=1, class_weight=None,
                      max_queue_size=10, workers=1, use_multiprocessing=False, shuffle=True, initial_epoch=0):
        """Keras 2's ``fit_generator`` (deprecated: ``fit`` takes generators and Sequences)."""
        warnings.warn("Model.fit_generator is deprecated and will be removed: Model.fit takes generators "
                      "and Sequences", DeprecationWarning, stacklevel=2)
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
                        callbacks=callbacks, validation_data=validation_data, validation_steps=validation_steps,
                        validation_freq=validation_freq, class_weight=class_weight, max_queue_size=max_queue_size,
                        workers=workers, use_multiprocessing=use_multiprocessing, shuffle=shuffle,
                        initial_epoch=initial_epoch)

    def evaluate_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                           use_multiprocessing=False, verbose=0):
        """Keras 2's ``evaluate_generator`` (deprecated: ``evaluate`` takes generators and Sequences)."""
        warnings.warn("Model.evaluate_generator is deprecated and will be removed: Model.evaluate takes "
                      "generators and Sequences", DeprecationWarning, stacklevel=2)
        return self.evaluate(generator, steps=steps, callbacks=callbacks, max_queue_size=max_queue_size,
                             workers=workers, use_multiprocessing=use_multiprocessing, verbose=verbose)

    def predict_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                          use_multiprocessing=False, verbose=0):
        """Keras 2's ``predict_generator`` (deprecated: ``predict`` takes generators and Sequences)."""
        warnings.warn("Model.predict_generator is deprecated and will be removed: Model.predict takes "
                      "generators and Sequences", DeprecationWarning, stacklevel=2)
        return self.predict(generator, steps=steps, callbacks=callbacks, max_queue_size=max_queue_size,
                            workers=workers, use_multiprocessing=use_multiprocessing, verbose=verbose)

    # ---- evaluate / predict --------------------------------------------------------------
    def _evaluate_arrays(self, params, state, data, n, batch_size, callbacks=None):
        """Loss and metrics over device arrays ``data = (xs, ys, sws)``, ``batch_size`` rows at a time."""
        key = random.next_key()  # for layers called with training=True in the graph
        sums = None
        for i, start in enumerate(range(0, n, batch_size)):
            if callbacks:
                callbacks.on_test_batch_begin(i)
            sl = slice(start, start + batch_size)
            part = distribution.settle(self._fns["eval"](params, state, *[_rows(group, sl) for group in data],
                                                         jax.random.fold_in(key, i)))
            sums = part if sums is None else {k: sums[k] + part[k] for k in sums}
            if callbacks:
                callbacks.on_test_batch_end(i, part)
        sums, n = distribution.total((sums, n))
        return {k: float(sums[k]) / n for k in self.metrics_names}

    def _callback_list(self, callbacks, **params):
        from arena.callbacks.base import CallbackList
        return CallbackList(callbacks, self, params) if callbacks else None

    def _evaluate_feed(self, params, state, feed, callbacks=None):
        """Loss and metrics over the batches of a :class:`_Feed` (one pass: ``steps`` batches)."""
        key = random.next_key()
        sums, n = None, 0
        for i, (xs, ys, sws) in enumerate(feed.epoch()):
            if callbacks:
                callbacks.on_test_batch_begin(i)
            part = distribution.settle(self._fns["eval"](params, state, xs, ys, sws, jax.random.fold_in(key, i)))
            sums = part if sums is None else {k: sums[k] + part[k] for k in sums}
            n += _batch_rows(xs)
            if callbacks:
                callbacks.on_test_batch_end(i, part)
        feed.end_epoch()
        if feed.ran_out:
            warnings.warn(f"the {feed.what} ran out of batches after {i + 1 if sums is not None else 0} of "
                          f"{feed.steps} steps; the results cover those batches", UserWarning, stacklevel=3)
        if sums is None:
            raise ValueError(f"Model '{self.name}': the {feed.what} yielded no batches to evaluate")
        sums, n = distribution.total((sums, n))
        return {k: float(sums[k]) / n for k in self.metrics_names}

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None, return_dict=False,
                 callbacks=None, steps=None, max_queue_size=10, workers=1, use_multiprocessing=False, **kw):
        """Loss and metrics on (x, y) in inference mode: a scalar, or a list in ``metrics_names`` order.
        ``callbacks`` get the ``on_test_*`` hooks, as in Keras. ``x`` may be a generator or Sequence of
        ``(x, y[, sample_weight])`` batches (``steps`` of them; a generator without it runs to its end)."""
        self._require_compiled("evaluate")
        batch_size = _positive_batch_size(batch_size, "evaluate")
        if _is_batch_source(x):
            if y is not None or sample_weight is not None:
                raise ValueError("evaluate: x is a generator or Sequence yielding (x, y[, sample_weight]) "
                                 "batches; do not give y or sample_weight as well")
            if steps is not None:
                steps = checks.integer(steps, "evaluate: steps", 1)
            feed = _Feed(self, x, "evaluate", steps, "steps", max_queue_size=max_queue_size, workers=workers,
                         use_multiprocessing=use_multiprocessing, required=False)
            try:
                cbs = self._callback_list(callbacks, verbose=verbose, steps=feed.steps)
                logs = self._run_evaluation(lambda: _placed((self.params, self.state)), feed, batch_size, cbs)
            finally:
                feed.close()
            return logs if return_dict else _values(logs, self.metrics_names)
        xs, ys, sws, n = self._prepare(x, y, sample_weight)
        if ys is None:
            raise ValueError(f"Model '{self.name}'.evaluate needs targets y")
        cbs = self._callback_list(callbacks, verbose=verbose, steps=-(-n // batch_size))
        logs = self._run_evaluation(lambda: _placed((self.params, self.state)), _on_device(xs, ys, sws) + (n,),
                                    batch_size, cbs)
        return logs if return_dict else _values(logs, self.metrics_names)

    def _run_evaluation(self, weights, source, batch_size, callbacks=None):
        """Loss and metrics over ``source`` (a :class:`_Feed`, or on-device ``(xs, ys, sws, n)``), inside
        the ``on_test_begin`` / ``on_test_end`` hooks: ``evaluate`` and ``fit``'s validation. The
        weights, ``weights() -> (params, state)``, are read after ``on_test_begin`` (a callback such
        as SwapEMAWeights may change them there)."""
        if callbacks:
            callbacks.on_test_begin()
        params, state = distribution.local(weights())
        with distribution.process_local():  # several processes: each its own rows, summed after
            if isinstance(source, _Feed):
                logs = self._evaluate_feed(params, state, source, callbacks)
            else:
                xs, ys, sws, n = source
                logs = self._evaluate_arrays(params, state, (xs, ys, sws), n, batch_size, callbacks)
        if callbacks:
            callbacks.on_test_end(dict(logs))
        return logs

    def predict(self, x, batch_size=None, verbose=0, callbacks=None, steps=None, max_queue_size=10, workers=1,
                use_multiprocessing=False, **kw):
        """Outputs for ``x`` in inference mode, as numpy arrays (a list for several outputs).
        ``callbacks`` get the ``on_predict_*`` hooks, as in Keras. ``x`` may be a generator or Sequence
        of batches ``x`` or ``(x,)`` (``(x, y, ...)`` too: the rest is ignored); ``steps`` of them, or
        a generator without ``steps`` runs to its end. With several processes, each predicts its own rows."""
        with distribution.process_local():
            return self._predict(x, batch_size, verbose, callbacks, steps, max_queue_size, workers,
                                 use_multiprocessing)

    def _predict(self, x, batch_size, verbose, callbacks, steps, max_queue_size, workers, use_multiprocessing):
        bs = _positive_batch_size(batch_size, "predict")
        feed = None
        if _is_batch_source(x):
            if steps is not None:
                steps = checks.integer(steps, "predict: steps", 1)
            feed = _Feed(self, x, "predict", steps, "steps", max_queue_size=max_queue_size, workers=workers,
                         use_multiprocessing=use_multiprocessing, required=False)
            batches, n_steps = feed.epoch(), feed.steps
        else:
            self._ensure_built_for(x)
            xs = self._standardize(x, self.input_names, [t.shape for t in self.inputs], "input")
            self._check_input_values(xs)
            n = xs[0].shape[0]
            batches, n_steps = ([a[start:start + bs] for a in xs] for start in range(0, n, bs)), -(-n // bs)
        if self._predict_fn is None:  # one compiled function per model graph, compiled or not
            self._predict_fn = jax.jit(lambda p, s, a, k: self.forward(p, s, distribution.constrain_batch(a),
                                                                       training=False, key=k)[:2])
        params, state = _placed(distribution.local((self.params, self.state)))
        stateful = any(l.runtime_state_names for l in _layers_within(self))
        key = random.next_key()  # for layers called with training=True in the graph
        cbs = self._callback_list(callbacks, verbose=verbose, steps=n_steps)
        if cbs:
            cbs.on_predict_begin()
        outs = []
        try:
            for i, batch in enumerate(batches):
                if cbs:
                    cbs.on_predict_batch_begin(i)
                out, new_state = distribution.settle(self._predict_fn(
                    params, state, [distribution.place_data(jnp.asarray(a)) for a in batch], jax.random.fold_in(key, i)))
                outs.append(out)
                if stateful:  # a stateful RNN's carry goes on from batch to batch, and call to call
                    state = new_state
                if cbs:
                    cbs.on_predict_batch_end(i, {"outputs": outs[-1]})
            if feed is not None:
                feed.end_epoch()
        finally:
            if feed is not None:
                feed.close()
        if stateful:
            self.state = state
        if cbs:
            cbs.on_predict_end()
        merged = [np.concatenate([np.asarray(o[j]) for o in outs]) if outs else
                  np.zeros((0,) + tuple(t.shape[1:]), np.float32) for j, t in enumerate(self.outputs)]
        return merged if self._outputs_are_list else merged[0]

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(1, len(_as_list(x)[0])))

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None):
        """One optimizer step on this batch; returns its loss (and metrics)."""
        self._require_compiled("train_on_batch")
        xs, ys, sws, n = self._prepare(x, y, sample_weight, class_weight)
        data = _on_device(xs, ys, sws)
        self._take_weights()
        try:
            self._ensure_log_names(data)
            ts = self._train_state._replace(sums=self._zero_sums())
            if distribution.process_count() > 1:  # this process's rows of the global batch
                batch = distribution.global_batch(data, f"Model '{self.name}'.train_on_batch")
                self._train_state, logs = self._fns["train_batch"](ts, batch)
            else:
                self._train_state, logs = self._fns["train_chunk"](ts, data, np.arange(n, dtype=np.int32)[None])
        finally:
            self._return_weights()
        return _values({k: float(v) for k, v in logs.items()}, self.metrics_names)

    def test_on_batch(self, x, y, sample_weight=None):
        self._require_compiled("test_on_batch")
        xs, ys, sws, n = self._prepare(x, y, sample_weight)
        logs = self._evaluate_arrays(self.params, self.state, _on_device(xs, ys, sws), n, max(n, 1))
        return _values(logs, self.metrics_names)


def _masked_mean(values, mask):
    """A metric's batch mean; masked steps (padding) count for nothing, as in Keras."""
    if mask is None or values.shape[:mask.ndim] != mask.shape:
        return jnp.mean(values)
    m = mask.astype(values.dtype).reshape(mask.shape + (1,) * (values.ndim - mask.ndim))
    m = jnp.broadcast_to(m, values.shape)
    return jnp.sum(values * m) / jnp.maximum(jnp.sum(m), 1.0)


def _check_step_result(model, start, out):
    """A custom ``train_step`` must return ``(TrainState, {name: scalar})`` with the state's structure
    unchanged (a jitted loop cannot carry a state whose shape changes): say what differs."""
    where = f"{type(model).__name__} '{model.name}'.train_step"
    if not isinstance(out, tuple) or len(out) != 2:
        raise TypeError(f"{where} must return (state, logs); it returned {type(out).__name__}"
                        + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
    state, logs = out
    if not isinstance(state, TrainState):
        raise TypeError(f"{where} must return a TrainState first (state._replace(...)); got {type(state).__name__}")
    if not isinstance(logs, dict) or not all(isinstance(k, str) for k in logs):
        raise TypeError(f"{where} must return a dict of named scalar logs second; got {type(logs).__name__}")
    bad = {k: getattr(v, "shape", None) for k, v in logs.items() if getattr(v, "shape", None) not in ((), None)}
    if bad:
        raise ValueError(f"{where}: logs must be scalars; got shapes {bad}")
    for field in ("params", "state", "opt_state", "step", "key", "extras"):
        before = jax.tree_util.tree_structure(getattr(start, field))
        after = jax.tree_util.tree_structure(getattr(state, field))
        if before != after:
            raise ValueError(f"{where} changed the structure of state.{field}: it must return the same pytree "
                             f"(got {str(after)[:160]}, expected {str(before)[:160]})")
        shapes = [(getattr(a, "shape", None), getattr(b, "shape", None)) for a, b in zip(
            jax.tree_util.tree_leaves(getattr(start, field)), jax.tree_util.tree_leaves(getattr(state, field)))]
        changed = [(a, b) for a, b in shapes if a != b]
        if changed:
            raise ValueError(f"{where} changed the shape of state.{field} arrays: {changed[:3]} (before, after)")


def _check_class_labels(model, name, y, output_shape):
    """Sparse categorical targets are class indices 0..classes-1 (out-of-range labels give NaN or wrap
    around inside the compiled loss, fractional ones are truncated: say so here instead)."""
    classes = output_shape[-1]
    if y.ndim == len(output_shape) and y.shape[-1] == classes and classes and classes > 1:
        raise ValueError(f"Model '{model.name}': target '{name}' of shape {y.shape} looks one-hot, but the loss "
                         f"sparse_categorical_crossentropy takes class indices of shape {y.shape[:-1]}: use "
                         f"loss='categorical_crossentropy', or y.argmax(-1)")
    labels = np.asarray(y)
    if labels.size == 0 or classes is None:
        return
    if np.issubdtype(labels.dtype, np.floating) and (not np.all(np.isfinite(labels)) or
                                                      np.any(labels != np.round(labels))):
        raise ValueError(f"Model '{model.name}': target '{name}' holds non-integer class labels (e.g. "
                         f"{labels[labels != np.round(labels)].ravel()[:1]}); sparse labels are class indices")
    low, high = labels.min(), labels.max()
    if low < 0 or high >= classes:
        raise ValueError(f"Model '{model.name}': target '{name}' holds class labels from {int(low)} to {int(high)}; "
                         f"output '{name}' has {classes} classes, so labels must be in 0..{classes - 1}")


def _loss_scaled(optimizer, layer):
    """``optimizer`` in a LossScaleOptimizer where ``layer`` (a model) has float16 layers, as Keras
    compiles a ``mixed_float16`` model."""
    if isinstance(optimizer, optimizers.LossScaleOptimizer) or not mixed_precision.needs_loss_scale(
            [layer, *_layers_within(layer)]):
        return optimizer
    return optimizers.LossScaleOptimizer(optimizer)


def _loss_scale_of(optimizer):
    if isinstance(optimizer, optimizers.LossScaleOptimizer):
        return optimizer.initial_scale, optimizer.dynamic_growth_steps
    return None


def _float32(arrays):
    """Outputs (or targets) of a low-precision layer in float32: losses and metrics are computed in
    float32 under every dtype policy, as in Keras."""
    return [None if a is None else mixed_precision.cast_floats(a, jnp.float32) for a in arrays]


def _placed(tree):
    """``tree`` on every device of the distribution in effect (as it is without one)."""
    dist = distribution.distribution()
    return tree if dist is None else dist.place_state(tree)


# Keras 1 spellings are arena.keras' job (one table, arena/keras/legacy.py), not arena.nn's.
_KERAS1_HINT = ("; Keras 1 spellings (nb_epoch, samples_per_epoch, ...) are read by arena.keras, which translates "
                "them with a warning")


def _positive_batch_size(batch_size, what):
    if batch_size is None:
        return 32
    return checks.integer(batch_size, f"{what}: batch_size", 1, expected="a positive integer")
