"""Bad input to compile/fit/evaluate/predict is a clear error naming what was wrong, never a wrong number."""
import numpy as np
import pytest

from arena.nn import Sequential
from arena.nn.layers import Dense
from arena.nn.optimizers import SGD, Adam


@pytest.fixture
def classifier(fresh_session):
    m = Sequential([Dense(3, activation="softmax", input_shape=(2,))])
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


X = np.ones((10, 2), "float32")
Y = np.arange(10) % 3


@pytest.mark.parametrize("labels, match", [
    (np.full(10, 7), r"labels from 7 to 7.*3 classes.*0\.\.2"),
    (np.full(10, -1), r"labels from -1 to -1"),
    (np.full(10, 2.6), "non-integer class labels"),
    (np.eye(3)[Y], "looks one-hot"),
])
def test_sparse_labels_must_be_class_indices(classifier, labels, match):
    with pytest.raises(ValueError, match=match):
        classifier.fit(X, labels, verbose=0)
    with pytest.raises(ValueError, match=match):
        classifier.evaluate(X, labels, verbose=0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(x=np.zeros((0, 2)), y=np.zeros(0)), "has no rows"),
    (dict(validation_split=0.99, x=X[:5], y=Y[:5]), "leaves no rows to train on"),
    (dict(validation_split=1e-20), "leaves no validation rows"),
    (dict(validation_split="0.2"), "validation_split must be a number"),
    (dict(steps_per_epoch=-1), "steps_per_epoch must be an integer >= 1"),
    (dict(initial_epoch=-1), "initial_epoch must be an integer >= 0"),
    (dict(epochs=2.5), "epochs must be an integer"),
    (dict(validation_freq=0, validation_split=0.5), "validation_freq must be an integer >= 1"),
    (dict(batch_size=-3), "batch_size must be a positive integer"),
    (dict(sample_weight=-np.ones(10)), "sample weights must be finite and >= 0"),
    (dict(sample_weight=np.full(10, np.nan)), "sample weights must be finite"),
    (dict(class_weight=[1.0, 2.0, 3.0]), "class_weight must be a dict"),
    (dict(class_weight={0: -1.0}), "class weights must be finite numbers >= 0"),
    (dict(x=np.array([["a", "b"]] * 10)), "must hold numbers; got an array of dtype <U1"),
])
def test_fit_arguments_are_checked(classifier, kwargs, match):
    args = dict(x=X, y=Y, verbose=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        classifier.fit(**args)


def test_predict_and_evaluate_arguments(classifier):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        classifier.predict(X, batch_size=-1)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        classifier.evaluate(X, Y, batch_size=0, verbose=0)
    assert classifier.predict(np.zeros((0, 2), "float32")).shape == (0, 3)  # no rows: no outputs


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), -0.1, "0.1", True])
def test_learning_rate_must_be_a_finite_non_negative_number(lr):
    with pytest.raises(ValueError, match="learning_rate must be a finite non-negative number"):
        Adam(lr)
    assert SGD(np.float32(0.1)).learning_rate == pytest.approx(0.1)


def test_steps_per_execution_is_checked_and_capped(classifier):
    with pytest.raises(ValueError, match="steps_per_execution must be an integer >= 1"):
        classifier.compile("sgd", "mse", steps_per_execution=0)
    with pytest.warns(UserWarning, match="capped at 32"):
        classifier.compile("sgd", "sparse_categorical_crossentropy", steps_per_execution=10**6)
    assert classifier.steps_per_execution == 32
    classifier.fit(X, Y, verbose=0, batch_size=2)  # 5 steps: one compiled call
    assert classifier.iterations == 5


def test_a_label_vector_fits_a_single_unit_output(fresh_session):
    m = Sequential([Dense(1, activation="sigmoid", input_shape=(2,))])
    m.compile("sgd", "binary_crossentropy")
    m.fit(np.ones((4, 2)), np.array([0, 1, 0, 1]), verbose=0)  # (n,) for (None, 1), as Keras 2 accepts
    assert np.isfinite(m.evaluate(np.ones((4, 2)), np.array([0, 1, 0, 1]), verbose=0))
