"""Sample quality as numbers, scored by any Arena classification model (the classifier).

- :func:`inception_score`: the Inception-score analogue ``exp(E_x KL(p(y|x) || p(y)))``, between 1
  (every sample gets the same class distribution) and the number of classes (confident, and the
  classes used equally). Real MNIST test images under a 99 % LeNet score about 9.9 of 10.
- :func:`frechet_distance`: the Frechet distance between Gaussians fitted to the classifier's
  penultimate features of real and of generated samples (FID with the classifier in place of
  Inception-v3); 0 for identical feature statistics, lower is better.
- :func:`class_shares`: the share of samples the classifier puts in each class (mode collapse shows
  as a class far from ``1 / classes``).

Images go in as the classifier takes them (shape and value range); :class:`arena.callbacks.SampleQuality`
scores a generator's samples each epoch.
"""
import numpy as np

from arena.nn.model import Model

_EPS = 1e-12


def class_probabilities(images, classifier, batch_size=256):
    """``p(y|x)`` for each image: the classifier's outputs, checked to be probability rows."""
    probs = np.asarray(classifier.predict(images, batch_size=batch_size), np.float64)
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise ValueError(f"sample quality: the classifier '{classifier.name}' must output class probabilities of "
                         f"shape (n, classes); it gives {probs.shape}")
    sums = probs.sum(axis=1)
    if np.any(probs < -1e-6) or not np.allclose(sums, 1.0, atol=1e-3):
        raise ValueError(f"sample quality: the outputs of classifier '{classifier.name}' are not probabilities "
                         f"(rows sum to {sums.min():.3g}..{sums.max():.3g}); end it with a softmax")
    return probs


def inception_score(images, classifier, splits=1, batch_size=256):
    """``exp(mean KL(p(y|x) || p(y)))`` over ``images`` (the mean over ``splits`` equal parts, as
    the original Inception score reports; 1 part by default)."""
    probs = class_probabilities(images, classifier, batch_size)
    if isinstance(splits, bool) or not isinstance(splits, (int, np.integer)) or not 1 <= splits <= len(probs):
        raise ValueError(f"inception_score: splits must be an integer in 1..{len(probs)}; got {splits!r}")
    scores = []
    for part in np.array_split(probs, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + _EPS) - np.log(marginal + _EPS)), axis=1)
        scores.append(float(np.exp(kl.mean())))
    return float(np.mean(scores))


def class_shares(images, classifier, batch_size=256):
    """The share of ``images`` whose most probable class is each class (sums to 1)."""
    probs = class_probabilities(images, classifier, batch_size)
    return np.bincount(probs.argmax(axis=1), minlength=probs.shape[1]) / len(probs)


def feature_model(classifier, feature_layer=None):
    """The sub-model from the classifier's input to its penultimate features: the input of its last
    layer with weights (the class scores), or the output of the layer named ``feature_layer``."""
    if feature_layer is not None:
        out = classifier.get_layer(feature_layer).output
    else:
        weighted = [l for l in classifier.layers if l.params]
        if not weighted:
            raise ValueError(f"frechet_distance: classifier '{classifier.name}' has no layer with weights")
        out = weighted[-1].input
        if isinstance(out, list):
            raise ValueError(f"frechet_distance: the last weighted layer of '{classifier.name}' takes several "
                             f"inputs; name the feature layer (feature_layer=...)")
    return Model(classifier.inputs[0], out, name=f"{classifier.name}_features")


def features(images, classifier, feature_layer=None, batch_size=256, model=None):
    """The classifier's penultimate features of ``images``, flattened to (n, features), float64
    (``model``: a :func:`feature_model` made before, to compile it once)."""
    model = model or feature_model(classifier, feature_layer)
    feats = np.asarray(model.predict(images, batch_size=batch_size), np.float64)
    return feats.reshape(len(feats), -1)


def frechet_from_features(real, generated):
    """``|mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))`` of two feature sets (rows: samples)."""
    real, generated = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    if real.ndim != 2 or generated.ndim != 2 or real.shape[1] != generated.shape[1]:
        raise ValueError(f"frechet distance: features must be (n, d) with the same d; got {real.shape} and "
                         f"{generated.shape}")
    if min(len(real), len(generated)) < 2:
        raise ValueError("frechet distance: needs at least 2 samples of each set")
    mu_r, mu_g = real.mean(axis=0), generated.mean(axis=0)
    s_r, s_g = np.cov(real, rowvar=False), np.cov(generated, rowvar=False)
    s_r, s_g = np.atleast_2d(s_r), np.atleast_2d(s_g)
    # Tr((S_r S_g)^(1/2)) = sum of the square roots of the eigenvalues of the symmetric PSD matrix
    # S_r^(1/2) S_g S_r^(1/2): exact, real, and stable for singular covariances (no complex sqrtm).
    w, v = np.linalg.eigh(s_r)
    root_r = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    inner = np.linalg.eigvalsh(root_r @ s_g @ root_r)
    trace_root = float(np.sum(np.sqrt(np.clip(inner, 0.0, None))))
    value = float(np.sum((mu_r - mu_g) ** 2) + np.trace(s_r) + np.trace(s_g) - 2.0 * trace_root)
    return max(value, 0.0)


def frechet_distance(real_images, generated_images, classifier, feature_layer=None, batch_size=256):
    """The Frechet distance between the classifier's penultimate features of real and generated images."""
    model = feature_model(classifier, feature_layer)
    return frechet_from_features(features(real_images, classifier, batch_size=batch_size, model=model),
                                 features(generated_images, classifier, batch_size=batch_size, model=model))
