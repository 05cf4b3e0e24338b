"""E3.9 and E3.10: features from a pretrained network, and the fine-tuning recipe, on CIFAR-10.

    python scripts/fine_tune.py [--base inception_v3|vgg16] [--weights PATH|imagenet] [--limit 2000]
                                [--epochs 2 2] [--batch-size 32]

E3.9: ``Model(base.input, base.get_layer('block4_pool').output)`` on VGG16 gives features
(14x14x512 for a 224 input; here 2x2x512 for CIFAR's 32x32).

E3.10 (the book's skeleton, with Keras' InceptionV3 recipe): CIFAR-10 pictures resized inside the model
(``Resizing`` to 75x75 for InceptionV3, its smallest input; 32x32 stay for VGG16) and scaled as the base
expects, the base without its top, GlobalAveragePooling2D, Dense(1024, relu), Dense(10, softmax).
Stage 1: the whole base frozen, rmsprop, categorical cross-entropy. Stage 2: the layers up to the
top blocks stay frozen (InceptionV3: everything before ``mixed9``, the top 2 inception blocks train,
layer 249 onwards as in Keras' guide; the book counts 172 in Keras 1's numbering; VGG16: everything
before ``block5_conv1``), recompiled with SGD(1e-4, momentum 0.9), trained again. After each stage the
script checks that every frozen weight is exactly where it was.

ImageNet weights are not offline: give Keras' no-top file with ``--weights`` (or 'imagenet' to
download it). Without them the base has random weights: the recipe runs end to end, the accuracy is
what a random base allows.

Measured (2 CPU cores, InceptionV3 with random weights, the defaults: 2,000 pictures, 2 + 2 epochs,
about 5 minutes): stage 1 trains 2,108,426 weights with 188 layers frozen, stage 2 13,223,306 with 152
frozen (from layer 251, the first of ``mixed9``); every frozen weight is unchanged after both stages.
Training accuracy 11.5 % then 17.6 %, test 9.2 %: chance, as a random base gives. (The stage-2 loss
jumps to about 11: frozen BatchNormalization layers run in inference mode, Keras' rule, so the newly
trained top blocks' batch statistics rescale features the stage-1 head never saw.)
"""
import argparse
import os
import sys

import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import arena  # noqa: E402
from arena.applications import VGG16, InceptionV3, vgg16  # noqa: E402
from arena.nn import (Dense, GlobalAveragePooling2D, Input, Lambda, Model, Rescaling, Resizing,  # noqa: E402
                      clear_session, optimizers)
from scripts import cifar10_cnn  # noqa: E402

# Stage 2 trains from the layer after the first named here (InceptionV3: after mixed8, i.e. the top two
# blocks mixed9 and mixed10) or from it (VGG16: block 5).
TOP_BLOCKS = {"inception_v3": ("mixed8", 1), "vgg16": ("block5_conv1", 0)}


def vgg_preprocess(x):
    return vgg16.preprocess_input(x)


def build(base_name, weights):
    """(model, base): the base on CIFAR pictures in [0, 255] and the new head."""
    pictures = Input(shape=(32, 32, 3))
    if base_name == "inception_v3":
        x = Rescaling(1 / 127.5, offset=-1.0)(Resizing(75, 75)(pictures))  # InceptionV3's 'tf' scaling
        base = InceptionV3(include_top=False, weights=weights, input_tensor=x)
    else:
        x = Lambda(vgg_preprocess)(pictures)  # RGB -> BGR minus the ImageNet means
        base = VGG16(include_top=False, weights=weights, input_tensor=x)
    h = Dense(1024, activation="relu")(GlobalAveragePooling2D()(base.output))
    return Model(pictures, Dense(10, activation="softmax")(h)), base


def frozen_snapshot(model):
    """The trainable-by-kind weights (params) of every frozen layer, by layer name."""
    return {l.name: {k: np.asarray(v) for k, v in l.params.items()} for l in model.layers
            if not l.trainable and l.params}


def unchanged(before, model):
    layers = {l.name: l for l in model.layers}
    return all(np.array_equal(v, np.asarray(layers[name].params[k])) for name, ws in before.items()
               for k, v in ws.items())


def stage(model, optimizer, x, y, epochs, batch_size, verbose):
    before = frozen_snapshot(model)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    trainable = sum(int(np.prod(np.shape(w))) for l in model.layers if l.trainable for w in l.params.values())
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose)
    return {"frozen_layers": len(before), "trainable_params": trainable, "frozen_unchanged": unchanged(before, model),
            "train_accuracy": history.history["accuracy"][-1]}


def main(argv=None):
    p = argparse.ArgumentParser(prog="fine_tune.py", description=__doc__.splitlines()[0])
    p.add_argument("--base", choices=tuple(TOP_BLOCKS), default="inception_v3")
    p.add_argument("--weights", default=None, help="the base's no-top weights file, or 'imagenet' (default: random)")
    p.add_argument("--limit", type=int, default=2000, help="CIFAR-10 training pictures used (default 2000)")
    p.add_argument("--epochs", type=int, nargs=2, default=(2, 2), help="epochs of stage 1 and stage 2")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=2)
    args = p.parse_args(argv)
    arena.set_seed(args.seed)
    clear_session()
    (x, y), (x_test, y_test) = cifar10_cnn.load(args.seed, args.limit)
    # The offline test set is sorted by class: a seeded sample of 1,000 holds every class.
    pick = np.random.default_rng(args.seed).permutation(len(x_test))[:1000]
    x, x_test, y_test = x * 255.0, x_test[pick] * 255.0, y_test[pick]

    vgg = VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    features = Model(vgg.input, vgg.get_layer("block4_pool").output)
    print(f"E3.9: VGG16 block4_pool features of a CIFAR picture: {features.predict(x[:2]).shape[1:]}")

    model, base = build(args.base, args.weights)
    for layer in base.layers:
        layer.trainable = False
    first = stage(model, "rmsprop", x, y, args.epochs[0], args.batch_size, args.verbose)
    names = [l.name for l in model.layers]
    layer_name, after = TOP_BLOCKS[args.base]
    cut = names.index(layer_name) + after
    for i, layer in enumerate(model.layers):
        layer.trainable = i >= cut
    second = stage(model, optimizers.SGD(learning_rate=1e-4, momentum=0.9), x, y, args.epochs[1], args.batch_size,
                   args.verbose)
    _, test_acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"stage 1 (base frozen): {first['frozen_layers']} frozen layers with weights, {first['trainable_params']:,} "
          f"trainable weights; frozen weights unchanged: {first['frozen_unchanged']}")
    print(f"stage 2 (layers from {cut} '{names[cut]}' on train): {second['frozen_layers']} frozen, "
          f"{second['trainable_params']:,} trainable; frozen weights unchanged: {second['frozen_unchanged']}")
    print(f"test accuracy on 1,000 CIFAR-10 test pictures: {100 * test_acc:.2f} %"
          + ("" if args.weights else " (random base weights)"))
    return {"stage1": first, "stage2": second, "cut": cut, "test": test_acc}


if __name__ == "__main__":
    main()
