"""E7.8: neural style transfer with a VGG16 (``style-transfer.py``), by gradient descent on the picture.

    python scripts/style_transfer.py [CONTENT STYLE] [--weights VGG16_NOTOP.h5] [--size 400]
                                     [--steps 5] [--lr 0.00092]

Losses on VGG16 features of the picture being made: content, the summed squared difference to the
content picture's ``block5_conv2`` features; style, the squared distance of Gram matrices over
``block1_conv1`` .. ``block5_conv1`` (each / (4 C^2 (HW)^2), averaged over the layers); total
variation with exponent 1.25; weighted 0.1 / 5.0 / 0.01 (the repo's). Starting from the content
picture, ``--steps`` gradient steps of ``--lr`` (the repo: 5 of 0.00092; the repo *adds* the
gradient, this script descends). The result is written to ``runs/style_transfer/result.png``.

ImageNet weights are not offline: pass Keras' no-top VGG16 file with ``--weights`` (or 'imagenet'
to download it). Without pictures the script uses two CIFAR-10 test pictures (a cat as content, a
ship as style) resized to ``--size`` (default 64 without weights).
"""
import argparse
import os
import sys

import jax.numpy as jnp
import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import arena  # noqa: E402
from arena.applications import VGG16, vgg16  # noqa: E402
from arena.callbacks.samples import save_png  # noqa: E402
from arena.nn import Model, input_gradients  # noqa: E402
from scripts.deep_dream import deprocess  # noqa: E402

CONTENT_LAYER = "block5_conv2"
STYLE_LAYERS = tuple(f"block{i}_conv1" for i in range(1, 6))
WEIGHTS = {"content": 0.1, "style": 5.0, "variation": 0.01}


def gram(features):
    """The Gram matrix of one picture's (h, w, c) features: (c, c)."""
    flat = features.reshape(-1, features.shape[-1])
    return flat.T @ flat


def style_loss(style, made):
    """Gatys et al.'s per-layer style loss: sum((G_style - G_made)^2) / (4 C^2 (HW)^2)."""
    h, w, c = made.shape
    return jnp.sum(jnp.square(gram(style) - gram(made))) / (4.0 * c ** 2 * (h * w) ** 2)


def total_variation(x):
    """Total variation with exponent 1.25 over one (1, h, w, 3) picture."""
    a = jnp.square(x[:, :-1, :-1, :] - x[:, 1:, :-1, :])
    b = jnp.square(x[:, :-1, :-1, :] - x[:, :-1, 1:, :])
    return jnp.sum((a + b) ** 1.25)


def objective(base, content, style):
    """The weighted loss of a picture, as a function for :func:`arena.nn.input_gradients` of a model
    whose outputs are the content layer's features and the style layers'."""
    features = Model(base.input, [base.get_layer(n).output for n in (CONTENT_LAYER,) + STYLE_LAYERS])
    targets = features.predict(np.concatenate([content, style]))
    content_target = jnp.asarray(targets[0][0])
    style_targets = [jnp.asarray(t[1]) for t in targets[1:]]

    def loss(outs, x):
        content_loss = jnp.sum(jnp.square(outs[0][0] - content_target))
        styles = sum(style_loss(t, o[0]) for t, o in zip(style_targets, outs[1:])) / len(STYLE_LAYERS)
        return (WEIGHTS["content"] * content_loss + WEIGHTS["style"] * styles
                + WEIGHTS["variation"] * total_variation(x))
    return features, loss


def transfer(base, content, style, steps, lr):
    """``steps`` gradient-descent steps from the content picture; returns the picture and the losses."""
    features, loss = objective(base, content, style)
    step = input_gradients(features, loss)
    x, losses = np.array(content, np.float32), []
    for _ in range(steps):
        value, grad = step(x)
        losses.append(float(value))
        x = x - lr * np.asarray(grad)
    losses.append(float(step(x)[0]))
    return x, losses


def pictures(paths, size):
    from arena.preprocessing.image import img_to_array, load_img
    if paths:
        return [img_to_array(load_img(p, target_size=(size, size)))[None] for p in paths]
    from PIL import Image

    from scripts.cifar10_predict import first_test_pictures
    _, found = first_test_pictures(("cat", "ship"))
    return [np.asarray(Image.fromarray(p).resize((size, size), Image.BILINEAR), np.float32)[None] for p in found]


def main(argv=None):
    p = argparse.ArgumentParser(prog="style_transfer.py", description=__doc__.splitlines()[0])
    p.add_argument("pictures", nargs="*", help="content and style picture (default: two CIFAR-10 test pictures)")
    p.add_argument("--weights", default=None, help="VGG16 no-top weights file, or 'imagenet' (default: random)")
    p.add_argument("--size", type=int, default=None, help="side of both pictures (default 400, 64 without weights)")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--lr", type=float, default=0.00092)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--logdir", default=os.path.join("runs", "style_transfer"))
    args = p.parse_args(argv)
    if args.pictures and len(args.pictures) != 2:
        p.error("give two pictures: CONTENT STYLE")
    arena.set_seed(args.seed)
    size = args.size or (400 if args.weights else 64)
    content, style = (np.asarray(vgg16.preprocess_input(x)) for x in pictures(args.pictures, size))
    base = VGG16(include_top=False, weights=args.weights, input_shape=(size, size, 3))
    x, losses = transfer(base, content, style, args.steps, args.lr)
    path = save_png(deprocess(x), os.path.join(args.logdir, "result.png"))
    print(f"loss {' -> '.join(f'{v:.5g}' for v in losses)}; {path}")
    return losses


if __name__ == "__main__":
    main()
