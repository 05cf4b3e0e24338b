"""TensorBoard: write the training logs as TensorBoard event files (tensorboardX)."""
import itertools
import json
import os

import numpy as np

from arena.callbacks._monitor import as_number, check_int
from arena.callbacks.base import Callback

_file_ids = itertools.count()


class TensorBoard(Callback):
    """Writes scalars (and optionally weight histograms) for TensorBoard under ``log_dir``.

    Layout, as Keras writes it, so train and validation curves overlay:
      * ``log_dir/train``: ``epoch_<key>`` for each epoch-log key (``epoch_loss``, ``epoch_accuracy``,
        ``epoch_learning_rate``), ``batch_<key>`` every ``update_freq`` batches, weight histograms;
      * ``log_dir/validation``: ``epoch_<key>`` for each ``val_<key>`` of the epoch logs;
      * ``log_dir``: keys containing ``/`` (agents: ``charts/episodic_return``, ``losses/td_loss``),
        verbatim, from the epoch logs and (with ``update_freq``) the batch logs.

    Steps: the epoch index for epoch scalars, unless the epoch logs hold ``global_step`` (agents
    log environment steps), which is then used; a global batch counter for batch scalars (starting
    from the owner's ``iterations`` when it has one), unless the batch logs hold ``global_step``.

    ``update_freq``: ``'epoch'``, ``'batch'`` (= 1) or N batches. ``histogram_freq``: every that
    many epochs, a histogram per weight of ``self.model.params`` (nested dict), tag ``layer/weight``.
    ``write_graph``: JAX programs have no TensorBoard graph, so the model's ``summary()`` and config
    JSON are written to the Text tab instead.

    ``embeddings_freq``: every that many epochs, the weights of the model's Embedding layers (or
    those named in ``embeddings_layer_names``, a list of names or one name; None or empty: all) go to
    TensorBoard's Projector, one row per token, labelled by ``embeddings_metadata``: a list of labels
    (row i's label at i, e.g. the words of a tokenizer's ``index_word`` with a padding label first), a
    path to a file of one label per line, or a dict of those by layer name. A relative path is
    relative to ``log_dir``, as in Keras (TensorBoard reads it from there); a file that does not exist
    yet (a program may write it after training, as the book's do) is referenced for TensorBoard to
    read when it is opened, as Keras does. :meth:`log_text` adds text (e.g. a char-RNN's sample) to the
    Text tab. Keras' ``write_images``, ``profile_batch``, ``embeddings_data``, ``batch_size``,
    ``write_steps_per_second`` and ``write_grads`` are accepted (scripts pass them) and do nothing.
    """

    process_zero_only = True  # several processes: one writer

    def __init__(self, log_dir="./logs", histogram_freq=0, update_freq="epoch", write_graph=False,
                 embeddings_freq=0, embeddings_layer_names=None, embeddings_metadata=None, **kwargs):
        unknown = sorted(set(kwargs) - {"write_images", "profile_batch", "embeddings_data", "batch_size",
                                        "write_steps_per_second", "write_grads"})
        if unknown:
            raise TypeError(f"TensorBoard: unexpected keyword argument(s) {unknown}")
        self.embeddings_freq = check_int("TensorBoard", "embeddings_freq", embeddings_freq, 0)
        if isinstance(embeddings_layer_names, str):
            embeddings_layer_names = [embeddings_layer_names]
        self.embeddings_layer_names = list(embeddings_layer_names) if embeddings_layer_names else None
        self.embeddings_metadata = embeddings_metadata
        super().__init__()
        log_dir = os.fspath(log_dir) if isinstance(log_dir, os.PathLike) else log_dir
        if not isinstance(log_dir, str) or not log_dir:
            raise ValueError(f"TensorBoard: log_dir must be a non-empty path string; got {log_dir!r}")
        self.log_dir = log_dir
        self.histogram_freq = check_int("TensorBoard", "histogram_freq", histogram_freq, 0)
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (isinstance(update_freq, bool) or not isinstance(update_freq, int)
                                       or update_freq < 1):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive number of "
                             f"batches; got {update_freq!r}")
        self.update_freq = update_freq
        self.write_graph = bool(write_graph)
        self._writers = {}
        self._batch_step = 0
        self._last_batch = -1
        self._purge_step = None

    # ---- writers ---------------------------------------------------------------------------
    def _writer(self, sub):
        """The SummaryWriter for ``log_dir/sub`` ('' = log_dir), created on first use."""
        if sub not in self._writers:
            from tensorboardX import SummaryWriter
            # tensorboardX names event files by the second: a unique suffix keeps two runs
            # started within the same second from overwriting each other's file.
            suffix = f".{os.getpid()}.{next(_file_ids)}"
            self._writers[sub] = SummaryWriter(os.path.join(self.log_dir, sub) if sub else self.log_dir,
                                               filename_suffix=suffix, purge_step=self._purge_step)
        return self._writers[sub]

    def _scalar(self, sub, tag, value, step):
        value = as_number(value)
        if value is not None:
            self._writer(sub).add_scalar(tag, value, global_step=int(step))

    def _write_logs(self, logs, prefix, step, learning_rate=None):
        for key, value in logs.items():
            if key == "global_step":
                continue
            if "/" in key:
                self._scalar("", key, value, step)
            elif key.startswith("val_"):
                self._scalar("validation", prefix + key[4:], value, step)
            else:
                self._scalar("train", prefix + key, value, step)
        if learning_rate is not None and "learning_rate" not in logs:
            self._scalar("train", prefix + "learning_rate", learning_rate, step)

    # ---- hooks -----------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        if self.histogram_freq and not isinstance(getattr(self.model, "params", None), dict):
            raise AttributeError(f"TensorBoard(histogram_freq={self.histogram_freq}) needs the trained object's "
                                 f"params as a nested dict of arrays; {type(self.model).__name__} has none")
        iterations = getattr(self.model, "iterations", None)
        if isinstance(iterations, (int, np.integer)) and not isinstance(iterations, bool):
            self._batch_step = int(iterations)
        self._purge_step = self._resume_step()
        if self.write_graph:
            self._write_model_text()

    def _resume_step(self):
        """Where a resumed run (``initial_epoch`` > 0) starts on this log's step axis: TensorBoard then
        hides the events a killed run wrote at or after it (``purge_step``), so no epoch shows twice.
        Agents log against their ``global_step``; models against the epoch (batch scalars count
        optimizer steps on another axis, so a run logging them is not purged)."""
        if not (self.params or {}).get("initial_epoch"):
            return None
        step = getattr(self.model, "global_step", None)
        if isinstance(step, (int, np.integer)) and not isinstance(step, bool):
            return int(step)
        return int(self.params["initial_epoch"]) if self.update_freq == "epoch" else None

    def on_epoch_begin(self, epoch, logs=None):
        self._last_batch = -1

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch":
            return
        # One call may cover several optimizer steps (steps_per_execution): advance by all of them
        # and write when the counter crosses a multiple of update_freq.
        before = self._batch_step
        self._batch_step += batch - self._last_batch
        self._last_batch = batch
        if self._batch_step // self.update_freq == before // self.update_freq or not logs:
            return
        step = as_number(logs.get("global_step"))
        self._write_logs(logs, "batch_", self._batch_step if step is None else step)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        step = as_number(logs.get("global_step"))
        step = epoch if step is None else step
        learning_rate = None
        get_lr = getattr(self.model, "get_learning_rate", None)
        if callable(get_lr):
            try:
                learning_rate = as_number(get_lr())
            except RuntimeError:  # e.g. a model that is not compiled
                learning_rate = None
        self._write_logs(logs, "epoch_", step, learning_rate)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._write_histograms(step)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self._write_embeddings(step)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # ---- histograms and model text ------------------------------------------------------------
    def _write_histograms(self, step):
        def walk(tree, path):
            if isinstance(tree, dict):
                for name, sub in tree.items():
                    yield from walk(sub, path + (str(name),))
            elif tree is not None:
                yield "/".join(path), np.asarray(tree)

        writer = self._writer("train")
        for tag, array in walk(self.model.params, ()):
            if array.size and np.issubdtype(array.dtype, np.number):
                writer.add_histogram(tag, array.astype(np.float64).ravel(), global_step=int(step))

    def log_text(self, tag, text, step=0):
        """Add ``text`` (Markdown) to the Text tab under ``tag`` at ``step``."""
        self._writer("train").add_text(tag, str(text), global_step=int(step))
        self._writer("train").flush()

    def _write_embeddings(self, step):
        from arena.nn.layers.embedding import Embedding
        layers = [l for l in getattr(self.model, "layers", []) if isinstance(l, Embedding)]
        if self.embeddings_layer_names is not None:
            wanted = set(self.embeddings_layer_names)
            missing = wanted - {l.name for l in layers}
            if missing:
                raise ValueError(f"TensorBoard: embeddings_layer_names {sorted(missing)} are not Embedding layers of "
                                 f"the model; it has {[l.name for l in layers]}")
            layers = [l for l in layers if l.name in wanted]
        for layer in layers:
            matrix = np.asarray(layer.get_weights()[0])
            labels = self._labels_for(layer, matrix.shape[0])
            if isinstance(labels, str):  # a metadata file still to be written: referenced, as Keras does
                self._add_embedding_referencing(matrix, labels, layer.name, int(step))
            else:
                self._writer("").add_embedding(matrix, metadata=labels, tag=layer.name, global_step=int(step))

    def _add_embedding_referencing(self, matrix, metadata_path, tag, step):
        """A Projector entry (as tensorboardX writes them) whose labels are the file ``metadata_path``
        (relative to log_dir), read by TensorBoard when it shows the embedding."""
        from tensorboardX.embedding import make_mat
        self._writer("")  # the run's event file: TensorBoard finds the projector config beside it
        subdir = f"{step:05d}/{tag}"
        os.makedirs(os.path.join(self.log_dir, subdir), exist_ok=True)
        make_mat(matrix, os.path.join(self.log_dir, subdir))
        with open(os.path.join(self.log_dir, "projector_config.pbtxt"), "a", encoding="utf-8") as f:
            f.write(f'embeddings {{\ntensor_name: "{tag}:{step:05d}"\ntensor_path: "{subdir}/tensors.tsv"\n'
                    f'metadata_path: {json.dumps(metadata_path, ensure_ascii=False)}\n}}\n')

    def _labels_for(self, layer, rows):
        """The labels of ``layer``'s rows: a list, None, or (a file not written yet) its path as given."""
        meta = self.embeddings_metadata
        if isinstance(meta, dict):
            meta = meta.get(layer.name)
        if meta is None:
            return None
        if isinstance(meta, (str, os.PathLike)):
            ref = os.fspath(meta)
            path = os.path.join(self.log_dir, ref)  # an absolute path stays as it is
            if not os.path.isfile(path):
                return ref
            with open(path, encoding="utf-8") as f:
                meta = [line.rstrip("\n") for line in f]
        labels = [str(m) for m in meta]
        if len(labels) != rows:
            raise ValueError(f"TensorBoard: embeddings_metadata for layer '{layer.name}' has {len(labels)} labels; "
                             f"its embedding matrix has {rows} rows (one label per row, the padding id 0 too)")
        return labels

    def _write_model_text(self):
        parts = []
        summary = getattr(self.model, "summary", None)
        if callable(summary):
            lines = []
            try:
                summary(print_fn=lines.append)
            except TypeError:
                lines = []
            if lines:
                parts.append("\n".join(lines))
        get_config = getattr(self.model, "get_config", None)
        if callable(get_config):
            try:
                parts.append(json.dumps(get_config(), indent=2, default=str))
            except (TypeError, ValueError, NotImplementedError):
                pass
        if parts:
            # Markdown code blocks keep the table's columns aligned in the Text tab.
            text = "\n\n".join("```\n" + p + "\n```" for p in parts)
            self._writer("train").add_text("model", text, global_step=0)
