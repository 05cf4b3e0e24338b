"""What every application shares: argument checks, the input, the top or pooling and the weights
(random, Keras' ImageNet files, or a file of yours)."""
import contextlib
import os

from arena import checks
from arena.applications import imagenet_utils
from arena.nn import activations
from arena.nn.layers import Dense, GlobalAveragePooling2D, GlobalMaxPooling2D, Input, InputLayer, KerasTensor
from arena.nn.layers.base import abstract_weight_names, abstract_weights
from arena.nn.model import Model


def build(what, key, features, top, *, default_size, min_size, include_top, weights, input_tensor, input_shape,
          pooling, classes, classifier_activation, name, pool_names=(None, None)):
    """A functional Model: ``features(image) -> tensor``, then ``top(tensor) -> tensor`` (the classifier
    block below the final Dense 'predictions') when ``include_top``, else the optional global pooling (layers named ``pool_names``).

    ``what`` is the name in messages ('VGG16'); ``key`` the model's entry in Keras' weight files."""
    if not (weights in ("imagenet", None) or (isinstance(weights, (str, os.PathLike))
                                              and os.path.exists(weights))):
        raise ValueError(f"{what}: weights must be None (random initialisation), 'imagenet' (Keras' ImageNet "
                         f"weights) or the path of an existing weights file; got weights={weights!r}")
    classes = checks.integer(classes, f"{what}: classes", 1, expected="a positive integer")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(f"{what}: the ImageNet classifier has 1000 classes; got classes={classes}. For your own "
                         f"classes use include_top=False and add a head.")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"{what}: pooling must be None, 'avg' or 'max'; got {pooling!r}")
    if include_top and weights is not None and \
            activations.get(classifier_activation) not in (activations.softmax, activations.linear):
        raise ValueError(f"{what}: with pretrained weights classifier_activation must be 'softmax' or None "
                         f"(logits); got {classifier_activation!r}")
    if input_tensor is not None:
        if not isinstance(input_tensor, KerasTensor):
            raise TypeError(f"{what}: input_tensor must be a symbolic tensor (arena.nn.Input(...) or a layer's "
                            f"output); got {type(input_tensor).__name__}")
        given = input_tensor.shape[1:]
        if input_shape is not None and tuple(input_shape) != given:
            raise ValueError(f"{what}: input_shape={tuple(input_shape)} differs from input_tensor's shape {given}")
        input_shape = given
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size, min_size, require_flatten=include_top,
                                                    weights=weights, what=what)
    # With weights to load, build shapes only: random values for 100M+ weights would be thrown away.
    with abstract_weights() if weights is not None else contextlib.nullcontext():
        image = Input(shape=input_shape) if input_tensor is None else input_tensor
        x = features(image)
        if include_top:
            x = Dense(classes, activation=classifier_activation, name="predictions")(top(x))
        elif pooling == "avg":
            x = GlobalAveragePooling2D(name=pool_names[0])(x)
        elif pooling == "max":
            x = GlobalMaxPooling2D(name=pool_names[1])(x)
        model = Model(_source_inputs(image), x, name=name)
    if weights is not None:
        path = imagenet_utils.weights_file(key, include_top) if weights == "imagenet" else weights
        try:
            model.load_weights(path)
        except ValueError as e:
            raise ValueError(f"{what}(include_top={include_top}) cannot take the weights in '{os.fspath(path)}': "
                             f"{e}") from None
        lacking = abstract_weight_names(model)
        if lacking:  # only a file with weights for other layers gets here
            raise ValueError(f"{what}: '{os.fspath(path)}' holds no weights for layers "
                             f"{sorted({layer.name for layer, _ in lacking})[:10]}")
    return model


def _source_inputs(tensor):
    """The Input tensors that ``tensor`` is computed from (itself when it is one)."""
    found, todo, seen = [], [tensor], set()
    while todo:
        t = todo.pop()
        layer, node_index, _ = t._history
        if isinstance(layer, InputLayer):
            if id(t) not in seen:
                seen.add(id(t))
                found.append(t)
            continue
        todo.extend(reversed(layer._inbound_nodes[node_index].inputs))
    return found[0] if len(found) == 1 else found
