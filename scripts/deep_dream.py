"""E7.7: deep dreaming, gradient ascent on an image to excite a VGG16's layers (``deep-dream.py``).

    python scripts/deep_dream.py [IMAGE] [--weights VGG16_NOTOP.h5] [--steps 3] [--step-size 2000]
                                 [--size 64] [--channel N]

VGG16 without its top, on the image's own shape, its input preprocessed as VGG16's (RGB -> BGR minus
the ImageNet means 103.939 / 116.779 / 123.68). For each of ``block1_pool`` .. ``block5_pool``: the
loss is the layer's mean activation (or one channel's with ``--channel``, the book's class variant),
the gradient with respect to the image is divided by its RMS (+ 1e-5), and ``--steps`` ascent steps
of ``--step-size`` are taken (the repo: 3 of 2,000). Each layer's dream is written as a PNG under
``runs/deep_dream``. Without an image, the book's noise picture: integers in [100, 150).

ImageNet weights are not offline: pass Keras' ``vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5``
with ``--weights`` (or ``--weights imagenet`` to download it). Without them the network has random
weights: the mechanics run (each loss rises), the pictures are not dreams.
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

LAYERS = tuple(f"block{i}_pool" for i in range(1, 6))
BGR_MEAN = np.array([103.939, 116.779, 123.68], np.float32)


def deprocess(x):
    """VGG16's preprocessed BGR image back to RGB uint8."""
    return np.clip(x[0] + BGR_MEAN, 0, 255)[..., ::-1].astype(np.uint8)


def dream(base, image, layer, steps, step_size, channel=None):
    """``steps`` normalised ascent steps on the mean activation of ``layer`` (of one channel); returns the
    image and the loss before each step."""
    features = Model(base.input, base.get_layer(layer).output)
    pick = (lambda out: jnp.mean(out)) if channel is None else (lambda out: jnp.mean(out[..., channel]))
    step = input_gradients(features, pick)
    x, losses = np.array(image, np.float32), []
    for _ in range(steps):
        value, grad = step(x)
        grad = np.asarray(grad)
        losses.append(float(value))
        x = x + step_size * grad / (np.sqrt(np.mean(np.square(grad))) + 1e-5)
    return x, losses


def noise_picture(size, seed):
    return np.random.default_rng(seed).integers(100, 150, size=(1, size, size, 3)).astype(np.float32)


def main(argv=None):
    p = argparse.ArgumentParser(prog="deep_dream.py", description=__doc__.splitlines()[0])
    p.add_argument("image", nargs="?", help="picture to dream on (default: the book's noise picture)")
    p.add_argument("--weights", default=None, help="VGG16 no-top weights file, or 'imagenet' (default: random)")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--step-size", type=float, default=2000.0)
    p.add_argument("--size", type=int, default=64, help="side of the noise picture (default 64)")
    p.add_argument("--channel", type=int, default=None, help="excite this channel only (the class variant)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--logdir", default=os.path.join("runs", "deep_dream"))
    args = p.parse_args(argv)
    arena.set_seed(args.seed)
    if args.image:
        from arena.preprocessing.image import img_to_array, load_img
        picture = img_to_array(load_img(args.image))[None]
    else:
        picture = noise_picture(args.size, args.seed)
    base = VGG16(include_top=False, weights=args.weights, input_shape=picture.shape[1:])
    start = np.asarray(vgg16.preprocess_input(picture))
    os.makedirs(args.logdir, exist_ok=True)
    results = {}
    for layer in LAYERS:
        x, losses = dream(base, start, layer, args.steps, args.step_size, args.channel)
        path = save_png(deprocess(x), os.path.join(args.logdir, f"{layer}.png"))
        results[layer] = losses
        print(f"{layer}: loss {' -> '.join(f'{v:.4g}' for v in losses)}; {path}")
    return results


if __name__ == "__main__":
    main()
