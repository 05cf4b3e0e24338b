"""E3.6: reload a CIFAR-10 network saved by ``cifar10_cnn.py`` (architecture JSON + weights) in a fresh
process and classify pictures.

    python scripts/cifar10_predict.py [--name simple|deep|augmented|augmented_layers] [IMAGE ...]

Without image paths it classifies the CIFAR-10 test set's first cat and first dog (the book used two
photos that are not available offline: ``cat-standing.jpg`` and ``dog.jpg``; expected output cat (3),
dog (5)). Any image file is resized to 32x32 and scaled to [0, 1] as in the book.
"""
import argparse
import os
import sys

import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from arena.datasets import cifar10  # noqa: E402
from arena.nn import model_from_json  # noqa: E402
from arena.preprocessing.image import img_to_array, load_img  # noqa: E402


def load(logdir, name):
    with open(os.path.join(logdir, name + ".json")) as f:
        model = model_from_json(f.read())
    model.load_weights(os.path.join(logdir, name + ".weights.h5"))
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])  # as the book does
    return model


def first_test_pictures(classes):
    """The first CIFAR-10 test picture of each named class: (their indices, uint8 pictures)."""
    _, (x_test, y_test) = cifar10.load_data()
    picks = [int(np.flatnonzero(y_test.ravel() == cifar10.CLASSES.index(c))[0]) for c in classes]
    return picks, x_test[picks]


def test_pictures(classes=("cat", "dog")):
    """The first test image of each named class, as (labels, images in [0, 1])."""
    picks, pictures = first_test_pictures(classes)
    return [f"CIFAR test #{i} ({c})" for i, c in zip(picks, classes)], pictures.astype(np.float32) / 255.0


def main(argv=None):
    p = argparse.ArgumentParser(prog="cifar10_predict.py", description=__doc__.splitlines()[0])
    p.add_argument("images", nargs="*", help="image files to classify (default: a CIFAR-10 test cat and dog)")
    p.add_argument("--logdir", default=os.path.join("runs", "cifar10_cnn"), help="where cifar10_cnn.py saved")
    p.add_argument("--name", default="simple", help="simple, deep, augmented or augmented_layers")
    args = p.parse_args(argv)
    model = load(args.logdir, args.name)
    if args.images:
        labels = args.images
        x = np.stack([img_to_array(load_img(path, target_size=(32, 32))) for path in args.images]) / 255.0
    else:
        labels, x = test_pictures()
    probs = model.predict(x)
    predicted = probs.argmax(axis=1)
    for label, k, p_ in zip(labels, predicted, probs):
        print(f"{label}: {cifar10.CLASSES[k]} ({k}), p = {p_[k]:.3f}")
    return [cifar10.CLASSES[k] for k in predicted]


if __name__ == "__main__":
    main()
