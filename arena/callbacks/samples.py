"""Watching a generator learn: a fixed-noise image grid each epoch (PNG and TensorBoard image) and
sample-quality scores in the epoch logs."""
import os
import tempfile

import numpy as np

from arena import checks
from arena.callbacks.base import Callback


def _generator_and_noise(cb, n, seed):
    """The model's generator (a GAN's, or ``generator=``) and fixed noise for it (the GAN's law)."""
    generator = cb.generator or getattr(cb.model, "generator", None)
    if generator is None:
        raise ValueError(f"{type(cb).__name__}: the model '{cb.model.name}' has no generator; pass generator=")
    if cb.noise is not None:
        return generator, cb.noise
    shape = (n,) + tuple(generator.inputs[0].shape[1:])
    rng = np.random.default_rng(seed)
    if getattr(cb.model, "noise", "normal") == "uniform":
        return generator, rng.uniform(-1.0, 1.0, shape).astype(np.float32)
    return generator, rng.normal(size=shape).astype(np.float32)


def image_grid(images, rows=None, value_range=(-1.0, 1.0), pad=1):
    """``images`` (n, h, w[, c]) as one uint8 picture ``(rows*(h+pad)-pad, cols*(w+pad)-pad, c)``,
    values mapped from ``value_range`` to 0..255; vectors (n, features) show as one-row images."""
    images = np.asarray(images, np.float64)
    if images.ndim == 2:
        images = images[:, None, :]
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"image_grid: images must be (n, height, width) or (n, height, width, 1 or 3); got "
                         f"{images.shape}")
    low, high = value_range
    scaled = np.clip((images - low) / (high - low), 0.0, 1.0) * 255.0
    n, h, w, c = scaled.shape
    rows = rows or int(np.ceil(np.sqrt(n)))
    cols = int(np.ceil(n / rows))
    grid = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad, c), 255.0)
    for i in range(n):
        r, k = divmod(i, cols)
        grid[r * (h + pad):r * (h + pad) + h, k * (w + pad):k * (w + pad) + w] = scaled[i]
    return np.round(grid).astype(np.uint8)


def save_png(picture, path):
    """Write a uint8 (h, w, 1 or 3) picture as PNG through a temporary file and a rename."""
    from PIL import Image
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    image = Image.fromarray(picture[..., 0] if picture.shape[-1] == 1 else picture)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".sample-", suffix=".png")
    try:
        with os.fdopen(fd, "wb") as f:
            image.save(f, format="PNG")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


class SampleGrid(Callback):
    """Each ``every`` epochs, the generator's samples of one fixed noise batch as an image grid:
    a PNG at ``filepath`` (formatted with ``epoch``, 1-based as Keras' checkpoint names, e.g.
    ``'runs/gan/samples-{epoch:03d}.png'``) and, with ``tensorboard=`` a TensorBoard callback of the
    same run, an image ``samples`` in its log. ``value_range``: the generator's output range
    (``(-1, 1)`` for tanh, ``(0, 1)`` for sigmoid)."""

    process_zero_only = True  # several processes: one writer

    def __init__(self, filepath, n=64, rows=None, every=1, value_range=(-1.0, 1.0), generator=None, noise=None,
                 tensorboard=None, seed=0):
        super().__init__()
        if not isinstance(filepath, (str, os.PathLike)) or not os.fspath(filepath):
            raise ValueError(f"SampleGrid: filepath must be a path; got {filepath!r}")
        every = checks.integer(every, "SampleGrid: every", 1)
        self.filepath, self.n, self.rows, self.every = os.fspath(filepath), n, rows, every
        self.value_range, self.generator, self.tensorboard, self.seed = value_range, generator, tensorboard, seed
        self.noise = None if noise is None else np.asarray(noise, np.float32)
        self.written = []

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        generator, noise = _generator_and_noise(self, self.n, self.seed)
        picture = image_grid(generator.predict(noise), self.rows, self.value_range)
        self.written.append(save_png(picture, self.filepath.format(epoch=epoch + 1, **(logs or {}))))
        if self.tensorboard is not None:
            writer = self.tensorboard._writer("train")
            writer.add_image("samples", picture, global_step=epoch, dataformats="HWC")
            writer.flush()


class SampleQuality(Callback):
    """Each ``every`` epochs, scores ``n`` samples of the generator (one fixed noise batch) with a
    classification model (:mod:`arena.nn.sample_quality`) and adds to the epoch logs:
    ``inception_score``, ``frechet_distance`` (to ``real_images``), and ``class_share_min`` /
    ``class_share_max`` (the rarest and commonest class among the samples). ``to_classifier`` maps
    generated samples to the classifier's input (e.g. ``lambda x: (x + 1) / 2`` for a tanh generator
    and a classifier trained on [0, 1] images). ``reference`` holds the real images' own scores.
    Put it before callbacks that read these logs (EarlyStopping, ModelCheckpoint, CSVLogger)."""

    def __init__(self, real_images, classifier, n=1000, every=1, to_classifier=None, generator=None, noise=None,
                 seed=0, feature_layer=None, verbose=1):
        super().__init__()
        from arena.nn import sample_quality
        self._sq = sample_quality
        self.real_images, self.classifier, self.n = real_images, classifier, n
        self.every = checks.integer(every, "SampleQuality: every", 1)
        self.to_classifier = to_classifier or (lambda x: x)
        self.generator, self.seed, self.verbose = generator, seed, verbose
        self.noise = None if noise is None else np.asarray(noise, np.float32)
        self._features = sample_quality.feature_model(classifier, feature_layer)
        self._real = sample_quality.features(real_images, classifier, model=self._features)
        shares = sample_quality.class_shares(real_images, classifier)
        self.reference = {"inception_score": sample_quality.inception_score(real_images, classifier),
                          "class_share_min": float(shares.min()), "class_share_max": float(shares.max())}

    def on_train_begin(self, logs=None):
        if self.verbose:
            ref = self.reference
            print(f"SampleQuality: real images score inception {ref['inception_score']:.3f}, class shares "
                  f"{ref['class_share_min']:.3f}..{ref['class_share_max']:.3f}")

    def score(self):
        """The scores of the generator's current samples (a dict, as added to the logs)."""
        generator, noise = _generator_and_noise(self, self.n, self.seed)
        samples = self.to_classifier(generator.predict(noise, batch_size=256))
        shares = self._sq.class_shares(samples, self.classifier)
        fake = self._sq.features(samples, self.classifier, model=self._features)
        return {"inception_score": self._sq.inception_score(samples, self.classifier),
                "frechet_distance": self._sq.frechet_from_features(self._real, fake),
                "class_share_min": float(shares.min()), "class_share_max": float(shares.max())}

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0 and logs is not None:
            logs.update(self.score())
