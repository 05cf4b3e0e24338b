"""The one conversion table of ``arena.keras``: Keras 1 spellings -> Keras 2, and Keras 2.0's defaults.

``arena.keras``'s layers, models and optimizers are ``arena.nn``'s classes under their Keras 2 names
(:func:`keras2_class` makes a thin subclass of the same name, so files, configs and ``isinstance``
are unchanged); before ``arena.nn`` sees a call's keyword arguments, :func:`translate` rewrites
them with :data:`ARGUMENTS`, so ``arena.nn`` itself only ever reads Keras 2/3 names. Each Keras 1
spelling warns once per (owner, argument) with a ``DeprecationWarning`` that names the Keras 2
spelling; one whose meaning is gone is an error that says what to do instead.

The namespace follows standalone Keras 2.0 (the book's 2.0.8), whose recurrent gates were
``hard_sigmoid`` and whose GRU reset the state before the recurrent matmul (:data:`KERAS2_DEFAULTS`);
``arena.nn`` keeps Keras 3's defaults.
"""
import inspect
import itertools
import math
import os
import sys
import warnings
from typing import NamedTuple

_ARENA_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Rename(NamedTuple):
    """A Keras 1 argument's Keras 2 name (None: dropped), Keras 1 values -> Keras 2 values, what to add to
    the warning, and values that change nothing and so do not warn (``decay=0``)."""
    new: str | None
    values: dict | None = None
    note: str = ""
    quiet: tuple = ()


class Samples(int):
    """A Keras 1 count of samples (``samples_per_epoch``) where Keras 2 counts batches: the caller turns it
    into steps with :func:`steps_for`, which knows the batch size."""


_DATA_FORMAT = {"dim_ordering": Rename("data_format", {"tf": "channels_last", "th": "channels_first",
                                                       "default": None})}
_WEIGHTS = {"init": "kernel_initializer", "W_regularizer": "kernel_regularizer", "b_regularizer": "bias_regularizer",
            "W_constraint": "kernel_constraint", "b_constraint": "bias_constraint", "bias": "use_bias"}
_CONV = {**_WEIGHTS, **_DATA_FORMAT, "nb_filter": "filters", "border_mode": "padding", "subsample": "strides",
         "atrous_rate": "dilation_rate"}
_POOL_1D = {"pool_length": "pool_size", "stride": "strides", "border_mode": "padding"}
_POOL_2D = {"border_mode": "padding", **_DATA_FORMAT}
_RNN = {"output_dim": "units", "init": "kernel_initializer", "inner_init": "recurrent_initializer",
        "inner_activation": "recurrent_activation", "W_regularizer": "kernel_regularizer",
        "U_regularizer": "recurrent_regularizer", "b_regularizer": "bias_regularizer",
        "W_constraint": "kernel_constraint", "U_constraint": "recurrent_constraint", "b_constraint": "bias_constraint",
        "dropout_W": "dropout", "dropout_U": "recurrent_dropout",
        "forget_bias_init": Rename("unit_forget_bias", {"one": True, "zero": False}),
        "consume_less": Rename(None, note="it only chose a kernel ('cpu', 'mem', 'gpu'); the math is the same")}
_RATE = {"p": "rate"}
_WORKERS = {"nb_worker": "workers", "pickle_safe": "use_multiprocessing", "max_q_size": "max_queue_size"}

# owner -> {Keras 1 argument: Keras 2 argument, or a Rename}. Owners are arena.keras class names, the
# model methods ("fit", ...) and "optimizer" (every optimizer).
ARGUMENTS = {
    "Dense": {**_WEIGHTS, "output_dim": "units"},
    "Conv1D": {**_CONV, "filter_length": "kernel_size", "subsample_length": "strides"},
    "Conv2D": _CONV,
    "Conv2DTranspose": {**_CONV, "output_shape": Rename(None, note="Keras 2 computes the output shape itself")},
    "MaxPooling1D": _POOL_1D, "AveragePooling1D": _POOL_1D,
    "MaxPooling2D": _POOL_2D, "AveragePooling2D": _POOL_2D,
    "GlobalMaxPooling2D": _DATA_FORMAT, "GlobalAveragePooling2D": _DATA_FORMAT,
    "ZeroPadding2D": _DATA_FORMAT, "Cropping2D": _DATA_FORMAT, "UpSampling2D": _DATA_FORMAT,
    "UpSampling1D": {"length": "size"},
    "Dropout": _RATE, "SpatialDropout1D": _RATE, "SpatialDropout2D": {**_RATE, **_DATA_FORMAT},
    "GaussianDropout": _RATE, "GaussianNoise": {"sigma": "stddev"},
    "Embedding": {"init": "embeddings_initializer", "W_regularizer": "embeddings_regularizer",
                  "W_constraint": "embeddings_constraint"},
    "SimpleRNN": _RNN, "GRU": _RNN, "LSTM": _RNN,
    "BatchNormalization": {"beta_init": "beta_initializer", "gamma_init": "gamma_initializer",
                           "mode": Rename(None, {0: 0}, "mode 0 (feature-wise, moving statistics at test time) is "
                                                        "what Keras 2 always does")},
    "PReLU": {"init": "alpha_initializer"},
    "Model": {"input": "inputs", "output": "outputs"},
    "fit": {"nb_epoch": "epochs"},
    "fit_generator": {"nb_epoch": "epochs", "samples_per_epoch": "steps_per_epoch",
                      "nb_val_samples": "validation_steps", **_WORKERS},
    "evaluate_generator": {"val_samples": "steps", **_WORKERS},
    "predict_generator": {"val_samples": "steps", **_WORKERS},
    "to_categorical": {"nb_classes": "num_classes"},
    "optimizer": {"lr": Rename("learning_rate", note="(Keras 2.0-2.2 still took `lr`)"),
                  "decay": Rename("decay", note="removed after Keras 2.10; Arena applies it as Keras 2 did, "
                                               "lr / (1 + decay * iterations), which is "
                                               "learning_rate=schedules.InverseTimeDecay(lr, 1, decay)",
                                  quiet=(0,))},
}

# Arguments counted in samples by Keras 1 and in batches by Keras 2 (see Samples, steps_for).
_COUNTS_SAMPLES = {"samples_per_epoch", "nb_val_samples", "val_samples"}

# Keras 1 arguments whose meaning Keras 2 dropped: owner -> {argument: what to do instead}.
REMOVED = {
    "Embedding": {"dropout": "Keras 1's Embedding(dropout=p) dropped whole words; Keras 2 has no such argument. "
                             "Remove it, or add Dropout(p, noise_shape=(None, steps, 1)) after the Embedding"},
}

# Layers whose first layer takes Keras 1/2.0's input_dim and input_length (a sequence's features and
# steps) instead of input_shape=(steps, features); for the recurrent layers Keras 2.0 still documents them.
_SEQUENCE_INPUT = {"Conv1D": True, "SimpleRNN": False, "GRU": False, "LSTM": False}  # layer -> warns (Keras 2.0 kept them for RNNs)

# Standalone Keras 2.0's defaults where arena.nn (Keras 3) differs.
KERAS2_DEFAULTS = {
    "LSTM": {"recurrent_activation": "hard_sigmoid"},
    "LSTMCell": {"recurrent_activation": "hard_sigmoid"},
    "GRU": {"recurrent_activation": "hard_sigmoid", "reset_after": False},
    "GRUCell": {"recurrent_activation": "hard_sigmoid", "reset_after": False},
}

# Keras 1's merge modes -> (Keras 2 merge layer, its extra arguments).
MERGE_MODES = {"sum": ("Add", {}), "mul": ("Multiply", {}), "ave": ("Average", {}), "max": ("Maximum", {}),
               "concat": ("Concatenate", {}), "dot": ("Dot", {}), "cos": ("Dot", {"normalize": True})}

# Keras 2.0's metric names: 'accuracy' was logged as 'acc' (history.history['acc']) until Keras 2.3.
METRIC_NAMES = {"accuracy": "acc"}

_warned = set()


def warn(owner, message):
    """A DeprecationWarning about ``owner``, once per message key, pointing at the caller's line."""
    key = (owner, message)
    if key in _warned:
        return
    _warned.add(key)
    # The first frame outside arena is the user's line: the warning points there (and shows in __main__).
    level, frame = 1, sys._getframe(0)
    while frame is not None and frame.f_code.co_filename.startswith(_ARENA_DIR + os.sep):
        frame, level = frame.f_back, level + 1
    warnings.warn(f"{owner}: {message}", DeprecationWarning, stacklevel=level)


def _warn_renamed(owner, old, rule):
    if rule.new is None:
        warn(owner, f"`{old}` is Keras 1 and has no Keras 2 counterpart; it is ignored ({rule.note})")
    elif rule.new == old:
        warn(owner, f"`{old}` is deprecated: {rule.note}")
    else:
        note = f" {rule.note}" if rule.note else ""
        warn(owner, f"`{old}` is the Keras 1 spelling; use `{rule.new}`{note}")


def translate(owner, kwargs, table=None, positional=()):
    """``kwargs`` with ``owner``'s Keras 1 arguments renamed (and their values translated) to Keras 2,
    each warned once; both spellings of one argument (``positional``: the Keras 2 arguments given by
    position), a removed argument or an unknown Keras 1 value is an error naming it. ``table``: the
    entry of :data:`ARGUMENTS` to use (default ``owner``)."""
    removed = REMOVED.get(table or owner, {})
    table = ARGUMENTS.get(table or owner, {})
    out = {}
    for key, value in kwargs.items():
        if key in removed:
            raise TypeError(f"{owner}: {removed[key]}")
        rule = table.get(key)
        if rule is None:
            if key in out:
                raise TypeError(f"{owner}: got `{key}` twice (once under its Keras 1 spelling)")
            out[key] = value
            continue
        rule = Rename(rule) if isinstance(rule, str) else rule
        if not any(value is q or value == q for q in rule.quiet):
            _warn_renamed(owner, key, rule)
        if rule.values is not None:
            if value not in rule.values:
                raise ValueError(f"{owner}: {key}={value!r} has no Keras 2 counterpart; Keras 1 values here are "
                                 f"{sorted(rule.values, key=str)}")
            value = rule.values[value]
        if rule.new is None:
            continue
        if rule.new in out or rule.new in positional or (rule.new in kwargs and rule.new != key):
            raise TypeError(f"{owner}: got both `{key}` (Keras 1) and `{rule.new}` (Keras 2); give only `{rule.new}`")
        out[rule.new] = Samples(value) if key in _COUNTS_SAMPLES and value is not None else value
    return out


def _sequence_input(owner, kwargs):
    """Keras 1's ``input_dim``/``input_length`` on a sequence layer -> ``input_shape=(steps, features)``."""
    if "input_dim" not in kwargs and "input_length" not in kwargs:
        return kwargs
    if _SEQUENCE_INPUT[owner]:
        warn(owner, "`input_dim`/`input_length` are the Keras 1 spelling; use input_shape=(steps, features)")
    if "input_shape" in kwargs or "batch_input_shape" in kwargs:
        raise TypeError(f"{owner}: give either input_dim/input_length or input_shape, not both")
    kwargs = dict(kwargs)
    kwargs["input_shape"] = (kwargs.pop("input_length", None), kwargs.pop("input_dim", None))
    return kwargs


def _kernel_rows_cols(owner, args, kwargs):
    """Keras 1's ``Convolution2D(nb_filter, nb_row, nb_col)`` (positional, or ``nb_row=``/``nb_col=``) ->
    ``kernel_size=(nb_row, nb_col)``. Keras 2.0 read three leading ints this way too (tf.keras reads the
    third as the strides)."""
    if len(args) >= 3 and all(isinstance(a, int) and not isinstance(a, bool) for a in args[1:3]):
        warn(owner, f"{owner}(filters, nb_row, nb_col) is the Keras 1 form; use {owner}(filters, (nb_row, nb_col))")
        if len(args) > 3:
            if owner == "Conv2DTranspose" and len(args) == 4:  # Keras 1's Deconvolution2D(.., output_shape)
                warn(owner, "`output_shape` is Keras 1 and has no Keras 2 counterpart; it is ignored (Keras 2 "
                            "computes the output shape itself)")
                args = args[:3]
            else:
                raise TypeError(f"{owner}: in the Keras 1 form {owner}(nb_filter, nb_row, nb_col, ...) give the "
                                f"arguments after nb_col by name")
        if "kernel_size" in kwargs:
            raise TypeError(f"{owner}: got both nb_row/nb_col (Keras 1) and kernel_size")
        return (args[0], (args[1], args[2])), kwargs
    if "nb_row" in kwargs or "nb_col" in kwargs:
        warn(owner, "`nb_row`/`nb_col` are the Keras 1 spelling; use kernel_size=(nb_row, nb_col)")
        if "kernel_size" in kwargs or len(args) >= 2:
            raise TypeError(f"{owner}: got both nb_row/nb_col (Keras 1) and kernel_size")
        kwargs = dict(kwargs)
        kwargs["kernel_size"] = (kwargs.pop("nb_row"), kwargs.pop("nb_col"))
    return args, kwargs


def layer_arguments(owner, args, kwargs, table=None, parameters=()):
    """The Keras 2 ``(args, kwargs)`` of ``owner(*args, **kwargs)`` written with Keras 1 spellings
    (``parameters``: the names of the constructor's positional parameters, in order)."""
    if owner in ("Conv2D", "Conv2DTranspose"):
        args, kwargs = _kernel_rows_cols(owner, args, kwargs)
    kwargs = translate(owner, kwargs, table, positional=set(parameters[:len(args)]))
    if owner in _SEQUENCE_INPUT:
        kwargs = _sequence_input(owner, kwargs)
    for key, value in KERAS2_DEFAULTS.get(owner, {}).items():
        kwargs.setdefault(key, value)
    return args, kwargs


def _image_data_format(args, kwargs, parameters):
    """Keras 2: a layer whose ``data_format`` is None (not given) takes ``K.image_data_format()``."""
    position = parameters.index("data_format")
    if len(args) > position or kwargs.get("data_format") is not None:
        return kwargs
    from arena.keras import backend
    return {**kwargs, "data_format": backend.image_data_format()}


def keras2_class(base, module, table=None):
    """``base`` (an arena.nn class) under its own name, taking Keras 1 spellings and Keras 2.0's defaults
    (``table``: the entry of :data:`ARGUMENTS`, default the class name); an image layer whose ``data_format``
    defaults to None takes ``K.image_data_format()`` as in Keras 2. A subclass, so configs, files and
    ``isinstance`` are those of ``base``; it is not registered, so files load as ``base``."""
    owner = base.__name__
    signature = inspect.signature(base.__init__)
    parameters = [p.name for p in signature.parameters.values()
                  if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD][1:]  # after self
    # Keras 2 gives 2-D image layers data_format=None, i.e. the backend's layout; 1-D ones 'channels_last'.
    image_layer = "data_format" in parameters and signature.parameters["data_format"].default is None

    def __init__(self, *args, **kwargs):
        args, kwargs = layer_arguments(owner, args, kwargs, table, parameters)
        if image_layer:
            kwargs = _image_data_format(args, kwargs, parameters)
        base.__init__(self, *args, **kwargs)

    __init__.__signature__ = signature  # help() shows base's arguments
    return type(base.__name__, (base,), {"__init__": __init__, "__doc__": base.__doc__, "__module__": module,
                                         "__qualname__": base.__name__})


def merge_layer(mode, concat_axis=-1, dot_axes=-1, name=None):
    """The Keras 2 merge layer for Keras 1's ``mode`` (see :data:`MERGE_MODES`)."""
    from arena.nn import layers
    if mode not in MERGE_MODES:
        raise ValueError(f"merge: unknown mode {mode!r}; Keras 1's modes are {sorted(MERGE_MODES)} (a function "
                         f"as mode: use a Lambda layer on the list of tensors)")
    cls_name, extra = MERGE_MODES[mode]
    if cls_name == "Concatenate":
        extra = {"axis": concat_axis}
    elif cls_name == "Dot":
        axes = [dot_axes, dot_axes] if isinstance(dot_axes, int) else list(dot_axes)
        if 0 in axes:
            # Keras 1 summed over the samples of the batch here (its output lost the batch axis), which is never
            # what a script means: the book's skip-gram (E5.2) wants the product of the two embeddings.
            warnings.warn(f"merge(mode={mode!r}, dot_axes={dot_axes!r}): axis 0 is the batch axis, over which Keras 1 "
                          f"summed the samples of a batch (its output had no batch axis); Arena takes the product "
                          f"over the last (feature) axis instead, dot_axes=-1", stacklevel=3)
            axes = [-1 if a == 0 else a for a in axes]
        extra = {**extra, "axes": axes[0] if axes[0] == axes[1] else tuple(axes)}
    return getattr(layers, cls_name)(name=name, **extra)


def steps_for(source, samples, what):
    """``(source, steps)``: Keras 1's ``samples`` as the number of batches that hold that many samples,
    ``ceil(samples / batch size)``. The batch size is the source's ``batch_size`` (Keras' iterators) or,
    for a plain generator, the rows of its first batch, which is read here and handed back in front of
    the rest."""
    samples = int(samples)
    size = getattr(source, "batch_size", None)
    if not isinstance(size, int) or size < 1:
        if not hasattr(source, "__next__"):
            raise TypeError(f"{what}: Keras 1 counted samples, Keras 2 counts batches; Arena cannot tell the batch "
                            f"size of {type(source).__name__}: give the number of batches instead")
        first = next(source)
        x = first[0] if isinstance(first, tuple) else first
        x = x[0] if isinstance(x, (list, tuple)) else x
        size = len(x)
        source = itertools.chain([first], source)
    return source, max(1, math.ceil(samples / size))
