"""Keras 2's ``keras.initializers``: the classes, and the lower-case names Keras 2 used in code
(``glorot_uniform(seed=None)``, ``normal``, ``zero``, ...)."""
from arena.nn.initializers import (Constant, GlorotNormal, GlorotUniform, HeNormal, HeUniform, Identity, Initializer,
                                   LecunNormal, LecunUniform, Ones, Orthogonal, RandomNormal, RandomUniform,
                                   TruncatedNormal, VarianceScaling, Zeros, get, serialize)

zero = zeros = Zeros
one = ones = Ones
constant = Constant
uniform = random_uniform = RandomUniform
normal = random_normal = RandomNormal
truncated_normal = TruncatedNormal
identity = Identity
orthogonal = Orthogonal


def glorot_uniform(seed=None):
    return GlorotUniform(seed=seed)


def glorot_normal(seed=None):
    return GlorotNormal(seed=seed)


def he_uniform(seed=None):
    return HeUniform(seed=seed)


def he_normal(seed=None):
    return HeNormal(seed=seed)


def lecun_uniform(seed=None):
    return LecunUniform(seed=seed)


def lecun_normal(seed=None):
    return LecunNormal(seed=seed)


__all__ = ["Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal",
           "VarianceScaling", "Orthogonal", "Identity", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal",
           "LecunUniform", "LecunNormal", "zero", "zeros", "one", "ones", "constant", "uniform", "random_uniform",
           "normal", "random_normal", "truncated_normal", "identity", "orthogonal", "glorot_uniform", "glorot_normal",
           "he_uniform", "he_normal", "lecun_uniform", "lecun_normal", "get", "serialize"]
