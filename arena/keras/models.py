"""Keras 2's ``keras.models``: ``Sequential`` and ``Model`` (arena.nn's, taking Keras 1 spellings, logging
``'accuracy'`` as ``'acc'`` as Keras 2.0 did, and with Keras 2's ``fit_generator`` family and
``Sequential.predict_classes``/``predict_proba``), ``load_model``, ``save_model``, ``model_from_json`` and
``model_from_config``, which give these classes back.

A Sequential may start with Keras 1's ``Merge([model_a, model_b], mode=...)``: it then takes a list of
inputs, one per branch input, as Keras 1's did.
"""
import inspect
import json
import warnings

import numpy as np

from arena import nn
from arena.keras import legacy
from arena.nn.layers import Input, InputLayer


def _keras2_metrics(metrics):
    """Keras 2.0's names for the metrics a compile names ('accuracy' logs as 'acc')."""
    if isinstance(metrics, str):
        return legacy.METRIC_NAMES.get(metrics, metrics)
    if isinstance(metrics, (list, tuple)):
        return [_keras2_metrics(m) for m in metrics]
    if isinstance(metrics, dict):
        return {k: _keras2_metrics(v) for k, v in metrics.items()}
    return metrics


def _signature(**defaults):
    return inspect.Signature([inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=v)
                              for k, v in defaults.items()])


# Keras 2's signatures of the generator methods: a call's arguments (Keras 1 names translated first) are
# bound to them, then handed to fit / evaluate / predict.
_FIT_GENERATOR = _signature(generator=inspect.Parameter.empty, steps_per_epoch=None, epochs=1, verbose=1,
                            callbacks=None, validation_data=None, validation_steps=None, class_weight=None,
                            max_queue_size=10, workers=1, use_multiprocessing=False, shuffle=True, initial_epoch=0)
_EVALUATE_GENERATOR = _signature(generator=inspect.Parameter.empty, steps=None, max_queue_size=10, workers=1,
                                 use_multiprocessing=False, verbose=0)


def _bind(signature, method, args, kwargs):
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{method}{signature}: {e}") from None
    bound.apply_defaults()
    return dict(bound.arguments)


def _steps(source, count, what):
    """``(source, steps)``: a Keras 1 count of samples turned into batches (see legacy.steps_for)."""
    if isinstance(count, legacy.Samples):
        return legacy.steps_for(source, count, what)
    return source, count


class Model(nn.Model):
    """A functional model ``Model(inputs, outputs)`` (Keras 1's ``Model(input=..., output=...)`` too)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **legacy.translate("Model", kwargs))

    def _init_graph(self, inputs, outputs):
        super()._init_graph(inputs, outputs)
        # Keras 2: a model of one output is that output, listed or not (``Model(x, [y])``): predict returns
        # the array, calling the model gives the tensor, output_shape is its shape. (Keras 3 and arena.nn
        # keep the list.)
        if len(self.outputs) == 1:
            self._outputs_are_list = False

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, *args, **kwargs):
        return super().compile(optimizer, loss, _keras2_metrics(metrics), *args, **kwargs)

    def fit(self, *args, **kwargs):
        return super().fit(*args, **legacy.translate("fit", kwargs))

    def fit_generator(self, generator, *args, **kwargs):
        """Keras 2's ``fit_generator(generator, steps_per_epoch, epochs, ...)``: ``fit`` on the batches of a
        generator or Sequence. Keras 1's ``samples_per_epoch``/``nb_val_samples`` count samples: they become
        ``ceil(samples / batch size)`` batches."""
        kw = _bind(_FIT_GENERATOR, "fit_generator", (generator, *args), legacy.translate("fit_generator", kwargs))
        generator, kw["steps_per_epoch"] = _steps(kw.pop("generator"), kw["steps_per_epoch"],
                                                  "fit_generator: samples_per_epoch")
        if isinstance(kw["validation_steps"], legacy.Samples):
            if isinstance(kw["validation_data"], (tuple, list)):
                kw["validation_steps"] = None  # arrays are evaluated whole, as Keras 1 did with nb_val_samples
            else:
                kw["validation_data"], kw["validation_steps"] = legacy.steps_for(
                    kw["validation_data"], kw["validation_steps"], "fit_generator: nb_val_samples")
        return self.fit(generator, **kw)

    def evaluate_generator(self, generator, *args, **kwargs):
        """Keras 2's ``evaluate_generator(generator, steps, ...)``: ``evaluate`` on a generator's batches."""
        kw = _bind(_EVALUATE_GENERATOR, "evaluate_generator", (generator, *args), legacy.translate("evaluate_generator", kwargs))
        generator, kw["steps"] = _steps(kw.pop("generator"), kw["steps"], "evaluate_generator: val_samples")
        return self.evaluate(generator, **kw)

    def predict_generator(self, generator, *args, **kwargs):
        """Keras 2's ``predict_generator(generator, steps, ...)``: ``predict`` on a generator's batches."""
        kw = _bind(_EVALUATE_GENERATOR, "predict_generator", (generator, *args), legacy.translate("predict_generator", kwargs))
        generator, kw["steps"] = _steps(kw.pop("generator"), kw["steps"], "predict_generator: val_samples")
        return self.predict(generator, **kw)


class Sequential(nn.Sequential, Model):
    """A linear stack of layers (arena.nn's Sequential with the Keras 2 surface of :class:`Model`)."""

    def add(self, layer):
        if self.outputs and len(self.inputs) > 1 and not isinstance(layer, InputLayer):
            # After a Merge of branches the stack has several inputs; arena.nn's Sequential keeps one.
            self._stack.append(layer)
            self._init_graph(self.inputs, layer(self.outputs[0]))
            return
        super().add(layer)

    def _rebuild(self, batch_input_shape=None):
        first = self._stack[0] if self._stack else None
        if not (isinstance(first, nn.Model) and len(first.inputs) > 1):
            return super()._rebuild(batch_input_shape)
        inputs = [Input(batch_shape=t.shape, name=f"{first.name}_input_{i + 1}") for i, t in enumerate(first.inputs)]
        x = first(inputs)
        for layer in self._stack[1:]:
            x = layer(x)
        self._init_graph(inputs, x)

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Keras 2's class predictions: the argmax of ``predict(x)``, or ``predict(x) > 0.5`` (int32) for one
        output unit."""
        legacy.warn("Sequential", "predict_classes was removed in Keras 2.6; use np.argmax(model.predict(x), "
                                  "axis=-1), or (model.predict(x) > 0.5).astype('int32') for one sigmoid unit")
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        return proba.argmax(axis=-1) if proba.shape[-1] > 1 else (proba > 0.5).astype("int32")

    def predict_proba(self, x, batch_size=32, verbose=0):
        """Keras 2's ``predict_proba``: ``predict(x)``, for models whose outputs are probabilities."""
        legacy.warn("Sequential", "predict_proba was removed in Keras 2.6; use model.predict(x)")
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        if np.min(proba) < 0.0 or np.max(proba) > 1.0:
            warnings.warn("predict_proba: the outputs are not probabilities (they lie outside [0, 1]); did you forget "
                          "a softmax or sigmoid at the end?", stacklevel=2)
        return proba


# load_model and friends rebuild "Sequential" and "Model" as these classes (the user's custom_objects win).
_CLASSES = {"Sequential": Sequential, "Model": Model}


def load_model(filepath, custom_objects=None, compile=True):
    """A model saved by ``model.save`` (Arena's or Keras' HDF5 file), as :func:`arena.nn.load_model`."""
    return nn.load_model(filepath, custom_objects={**_CLASSES, **(custom_objects or {})}, compile=compile)


def model_from_json(json_string, custom_objects=None):
    """The (uncompiled, freshly initialised) model of ``model.to_json()``, as :func:`arena.nn.model_from_json`."""
    return nn.model_from_json(json_string, custom_objects={**_CLASSES, **(custom_objects or {})})


def model_from_config(config, custom_objects=None):
    """The model of ``{"class_name": ..., "config": model.get_config()}`` (Keras 2's ``model_from_config``)."""
    if not isinstance(config, dict):
        raise TypeError(f"model_from_config expects a dict {{'class_name': ..., 'config': ...}}; got "
                        f"{type(config).__name__} (for a JSON string use model_from_json)")
    return model_from_json(json.dumps(config), custom_objects)


save_model = nn.save_model

__all__ = ["Model", "Sequential", "load_model", "save_model", "model_from_json", "model_from_config"]
