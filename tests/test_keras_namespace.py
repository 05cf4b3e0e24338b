"""arena.keras: Keras 2's module paths over Arena, Keras 1 spellings through one table (each warned once), files
under Keras 2's class names, and short Keras 2-style programs that run unchanged and learn."""
import hashlib
import importlib
import io
import math
import tarfile
import warnings

import numpy as np
import pytest

from arena import nn
from arena.keras import legacy

MODULES = {
    "arena.keras": ["__version__", "backend", "layers", "models"],
    "arena.keras.models": ["Sequential", "Model", "load_model", "save_model", "model_from_json", "model_from_config"],
    "arena.keras.layers": ["Dense", "Conv2D", "Convolution2D", "LSTM", "Embedding", "Merge", "merge", "Input",
                           "Bidirectional", "BatchNormalization", "LeakyReLU", "GaussianNoise", "Concatenate"],
    "arena.keras.layers.core": ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "Permute", "RepeatVector",
                                "Lambda", "Masking", "SpatialDropout1D"],
    "arena.keras.layers.convolutional": ["Conv1D", "Conv2D", "Conv2DTranspose", "Convolution1D", "Convolution2D",
                                         "Deconvolution2D", "AtrousConvolution1D", "UpSampling2D", "ZeroPadding2D",
                                         "Cropping2D", "MaxPooling2D"],
    "arena.keras.layers.pooling": ["MaxPooling1D", "MaxPooling2D", "AveragePooling2D", "GlobalMaxPooling1D",
                                   "GlobalAveragePooling2D", "MaxPool2D"],
    "arena.keras.layers.normalization": ["BatchNormalization"],
    "arena.keras.layers.recurrent": ["SimpleRNN", "GRU", "LSTM", "RNN", "LSTMCell", "GRUCell", "SimpleRNNCell"],
    "arena.keras.layers.embeddings": ["Embedding"],
    "arena.keras.layers.merge": ["Add", "Subtract", "Multiply", "Average", "Maximum", "Concatenate", "Dot", "add",
                                 "concatenate", "dot", "Merge", "merge"],
    "arena.keras.layers.advanced_activations": ["LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "Softmax", "ReLU"],
    "arena.keras.layers.wrappers": ["TimeDistributed", "Bidirectional", "Wrapper"],
    "arena.keras.layers.noise": ["GaussianNoise", "GaussianDropout"],
    "arena.keras.optimizers": ["SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "Adamax", "Nadam", "get"],
    "arena.keras.losses": ["mean_squared_error", "categorical_crossentropy", "binary_crossentropy", "mse", "get"],
    "arena.keras.objectives": ["categorical_crossentropy", "mse"],
    "arena.keras.metrics": ["categorical_accuracy", "binary_accuracy", "top_k_categorical_accuracy", "mse"],
    "arena.keras.callbacks": ["Callback", "ModelCheckpoint", "EarlyStopping", "TensorBoard", "CSVLogger",
                              "ReduceLROnPlateau", "LearningRateScheduler", "History", "LambdaCallback"],
    "arena.keras.initializers": ["glorot_uniform", "normal", "zero", "RandomNormal", "Orthogonal", "VarianceScaling"],
    "arena.keras.regularizers": ["l1", "l2", "l1_l2", "L1L2", "l1l2"],
    "arena.keras.constraints": ["max_norm", "maxnorm", "non_neg", "MaxNorm", "UnitNorm"],
    "arena.keras.activations": ["relu", "softmax", "sigmoid", "tanh", "hard_sigmoid", "linear"],
    "arena.keras.utils": ["to_categorical", "normalize", "Sequence", "get_file", "plot_model", "np_utils"],
    "arena.keras.utils.np_utils": ["to_categorical", "normalize"],
    "arena.keras.utils.vis_utils": ["plot_model", "model_to_dot"],
    "arena.keras.utils.data_utils": ["get_file", "Sequence"],
    "arena.keras.datasets": ["mnist", "cifar10", "imdb", "reuters"],
    "arena.keras.datasets.mnist": ["load_data"],
    "arena.keras.datasets.cifar10": ["load_data"],
    "arena.keras.datasets.imdb": ["load_data", "get_word_index"],
    "arena.keras.datasets.reuters": ["load_data", "get_word_index"],
    "arena.keras.preprocessing": ["text", "sequence", "image"],
    "arena.keras.preprocessing.text": ["Tokenizer", "one_hot", "text_to_word_sequence"],
    "arena.keras.preprocessing.sequence": ["pad_sequences", "skipgrams"],
    "arena.keras.preprocessing.image": ["ImageDataGenerator", "load_img", "img_to_array"],
    "arena.keras.applications": ["VGG16", "VGG19", "ResNet50", "InceptionV3", "vgg16"],
    "arena.keras.applications.vgg16": ["VGG16", "preprocess_input", "decode_predictions"],
    "arena.keras.applications.imagenet_utils": ["preprocess_input", "decode_predictions"],
    "arena.keras.engine": ["Layer", "Input", "Model"],
    "arena.keras.engine.topology": ["Layer", "Input", "InputLayer"],
    "arena.keras.backend": ["mean", "function", "gradients", "variable", "image_dim_ordering", "epsilon"],
}


@pytest.mark.parametrize("path", sorted(MODULES))
def test_every_keras2_module_path_imports(path):
    module = importlib.import_module(path)
    missing = [n for n in MODULES[path] if not hasattr(module, n)]
    assert not missing, f"{path} lacks {missing}"


def test_version_reads_as_keras_2():
    import arena.keras as keras
    assert int(keras.__version__.split(".")[0]) > 1  # the book's own check (Appendix/legacy.py)


def test_layers_are_arena_nn_classes_under_keras2_names():
    from arena.keras.layers import Conv2D, Convolution2D, Dense, Deconvolution2D, Flatten
    assert Convolution2D is Conv2D and Conv2D.__name__ == "Conv2D" and issubclass(Conv2D, nn.Conv2D)
    assert Deconvolution2D.__name__ == "Conv2DTranspose" and issubclass(Dense, nn.Dense)
    assert Flatten is nn.Flatten  # nothing to translate: arena.nn's own class
    from arena.keras.models import Model, Sequential
    assert issubclass(Sequential, nn.Sequential) and issubclass(Sequential, Model) and issubclass(Model, nn.Model)


# ---- Keras 1 spellings: (build twice, expected config, fragments each warned exactly once) ------------
def _l2(v):
    return {"class_name": "L1L2", "config": {"l1": 0.0, "l2": v}}


def _cases():
    from arena.keras import constraints, regularizers
    from arena.keras.layers import (GRU, LSTM, AtrousConvolution1D, AveragePooling2D, BatchNormalization, Conv2D,
                                    Convolution1D, Convolution2D, Dense, Dropout, Embedding, GaussianNoise,
                                    MaxPooling1D, MaxPooling2D, PReLU, SimpleRNN, SpatialDropout1D, UpSampling1D)
    from arena.keras.optimizers import SGD, Adam
    return [
        ("Dense output_dim", lambda: Dense(output_dim=4, input_dim=3), {"units": 4, "batch_input_shape": [None, 3]},
         ["`output_dim`"]),
        ("Dense init", lambda: Dense(4, init="zero"), {"kernel_initializer": "Zeros"}, ["`init`"]),
        ("Dense W/b_regularizer", lambda: Dense(4, W_regularizer=regularizers.l2(0.1), b_regularizer=regularizers.l2(0.2)),
         {"kernel_regularizer": _l2(0.1), "bias_regularizer": _l2(0.2)}, ["`W_regularizer`", "`b_regularizer`"]),
        ("Dense W/b_constraint", lambda: Dense(4, W_constraint=constraints.maxnorm(2.0),
                                               b_constraint=constraints.nonneg()),
         {"kernel_constraint": "MaxNorm", "bias_constraint": "NonNeg"}, ["`W_constraint`", "`b_constraint`"]),
        ("Dense bias", lambda: Dense(4, bias=False), {"use_bias": False}, ["`bias`"]),
        ("Convolution2D(n, r, c)", lambda: Convolution2D(8, 3, 2), {"kernel_size": [3, 2], "strides": [1, 1]},
         ["Keras 1 form"]),
        ("Convolution2D border_mode subsample dim_ordering",
         lambda: Convolution2D(8, 3, 3, border_mode="same", subsample=(2, 2), dim_ordering="tf"),
         {"padding": "same", "strides": [2, 2], "data_format": "channels_last"},
         ["Keras 1 form", "`border_mode`", "`subsample`", "`dim_ordering`"]),
        ("Conv2D nb_row nb_col", lambda: Conv2D(8, nb_row=2, nb_col=3), {"kernel_size": [2, 3]}, ["`nb_row`"]),
        ("Convolution1D", lambda: Convolution1D(nb_filter=4, filter_length=3, subsample_length=2, border_mode="causal",
                                                input_dim=5, input_length=10),
         {"filters": 4, "kernel_size": [3], "strides": [2], "padding": "causal", "batch_input_shape": [None, 10, 5]},
         ["`nb_filter`", "`filter_length`", "`subsample_length`", "`border_mode`", "`input_dim`/`input_length`"]),
        ("AtrousConvolution1D", lambda: AtrousConvolution1D(4, 3, atrous_rate=2), {"dilation_rate": [2]},
         ["AtrousConvolution1D", "`atrous_rate`"]),
        ("MaxPooling1D pool_length stride", lambda: MaxPooling1D(pool_length=3, stride=1, border_mode="same"),
         {"pool_size": [3], "strides": [1], "padding": "same"}, ["`pool_length`", "`stride`", "`border_mode`"]),
        ("MaxPooling2D border_mode", lambda: MaxPooling2D((2, 2), border_mode="same", dim_ordering="tf"),
         {"padding": "same"}, ["`border_mode`", "`dim_ordering`"]),
        ("MaxPooling2D dim_ordering th", lambda: MaxPooling2D((2, 2), dim_ordering="th"),
         {"data_format": "channels_first"}, ["`dim_ordering`"]),
        ("AveragePooling2D border_mode", lambda: AveragePooling2D(border_mode="valid"), {"padding": "valid"},
         ["`border_mode`"]),
        ("Dropout p", lambda: Dropout(p=0.3), {"rate": 0.3}, ["`p`"]),
        ("SpatialDropout1D p", lambda: SpatialDropout1D(p=0.2), {"rate": 0.2}, ["`p`"]),
        ("GaussianNoise sigma", lambda: GaussianNoise(sigma=0.1), {"stddev": 0.1}, ["`sigma`"]),
        ("UpSampling1D length", lambda: UpSampling1D(length=3), {"size": 3}, ["`length`"]),
        ("Embedding init W_regularizer (output_dim stays)",
         lambda: Embedding(input_dim=10, output_dim=4, init="normal", W_regularizer=regularizers.l2(0.1), input_length=5),
         {"output_dim": 4, "embeddings_initializer": "RandomNormal", "embeddings_regularizer": _l2(0.1),
          "batch_input_shape": [None, 5]}, ["`init`", "`W_regularizer`"]),
        ("LSTM Keras 1", lambda: LSTM(output_dim=5, init="glorot_normal", inner_init="orthogonal",
                                      inner_activation="sigmoid", forget_bias_init="one", dropout_W=0.1, dropout_U=0.2,
                                      U_regularizer=regularizers.l2(0.1), consume_less="gpu", input_dim=3, input_length=7),
         {"units": 5, "kernel_initializer": "GlorotNormal", "recurrent_initializer": "Orthogonal",
          "recurrent_activation": "sigmoid", "unit_forget_bias": True, "dropout": 0.1, "recurrent_dropout": 0.2,
          "recurrent_regularizer": _l2(0.1), "batch_input_shape": [None, 7, 3]},
         ["`output_dim`", "`init`", "`inner_init`", "`inner_activation`", "`forget_bias_init`", "`dropout_W`", "`dropout_U`",
          "`U_regularizer`", "`consume_less`"]),
        ("GRU: Keras 2.0's defaults, no warning", lambda: GRU(4), {"recurrent_activation": "hard_sigmoid",
                                                                    "reset_after": False}, []),
        ("SimpleRNN output_dim", lambda: SimpleRNN(output_dim=3), {"units": 3}, ["`output_dim`"]),
        ("BatchNormalization mode 0", lambda: BatchNormalization(mode=0, beta_init="zero", gamma_init="one"),
         {"beta_initializer": "Zeros", "gamma_initializer": "Ones"}, ["`mode`", "`beta_init`", "`gamma_init`"]),
        ("PReLU init", lambda: PReLU(init="zero"), {"alpha_initializer": "Zeros"}, ["`init`"]),
        ("SGD lr decay", lambda: SGD(lr=0.1, decay=1e-4), {"learning_rate": 0.1, "decay": 1e-4}, ["`lr`", "`decay`"]),
        ("Adam lr, decay=0 is quiet", lambda: Adam(lr=0.01, decay=0.0), {"learning_rate": 0.01}, ["`lr`"]),
    ]


def _plain(value):
    return value["class_name"] if isinstance(value, dict) and set(value) >= {"class_name", "config"} else value


@pytest.mark.parametrize("case", range(len(_cases())), ids=[c[0] for c in _cases()])
def test_keras1_argument_maps_to_keras2_and_warns_once(case, monkeypatch, fresh_session):
    _, build, expected, fragments = _cases()[case]
    monkeypatch.setattr(legacy, "_warned", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        obj = build()
        build()
    config = obj.get_config()
    for key, value in expected.items():
        got = config[key]
        assert (got if isinstance(value, dict) else _plain(got)) == value, key
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    for fragment in fragments:
        assert sum(fragment in m for m in messages) == 1, (fragment, messages)
    assert len(messages) == len(fragments), messages
    assert all(w.filename == __file__ for w in caught)  # pointing at the caller's line, not at arena


def test_warnings_name_the_keras2_spelling(monkeypatch):
    from arena.keras.layers import Dense
    monkeypatch.setattr(legacy, "_warned", set())
    with pytest.warns(DeprecationWarning, match=r"Dense: `output_dim` is the Keras 1 spelling; use `units`"):
        Dense(output_dim=2)


@pytest.mark.parametrize("build, error, match", [
    (lambda L: L.Dense(4, output_dim=5), TypeError, "both `output_dim`"),
    (lambda L: L.BatchNormalization(mode=2), ValueError, "mode=2 has no Keras 2 counterpart"),
    (lambda L: L.Embedding(10, 4, dropout=0.2), TypeError, "noise_shape"),
    (lambda L: L.Convolution2D(8, 3, 3, dim_ordering="theano"), ValueError, "dim_ordering='theano' has no Keras 2"),
    (lambda L: L.Convolution2D(8, 3, 3, "same"), TypeError, "by name"),
    (lambda L: L.LSTM(4, forget_bias_init="glorot_uniform"), ValueError, "forget_bias_init"),
    (lambda L: L.merge([L.Input((3,)), L.Input((3,))], mode="xor"), ValueError, "unknown mode"),
])
def test_keras1_spellings_without_a_keras2_meaning_are_clear_errors(build, error, match):
    from arena.keras import layers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(error, match=match):
            build(layers)


@pytest.mark.parametrize("mode, kwargs, reference", [
    ("sum", {}, lambda a, b: a + b), ("mul", {}, lambda a, b: a * b), ("ave", {}, lambda a, b: (a + b) / 2),
    ("max", {}, np.maximum), ("concat", {"concat_axis": -1}, lambda a, b: np.concatenate([a, b], -1)),
    ("dot", {"dot_axes": 1}, lambda a, b: np.sum(a * b, -1, keepdims=True)),
    ("cos", {"dot_axes": 1}, lambda a, b: np.sum(a * b, -1, keepdims=True) / np.linalg.norm(a, axis=-1,
                                                                                             keepdims=True)
     / np.linalg.norm(b, axis=-1, keepdims=True)),
])
def test_keras1_merge_modes_are_keras2_merge_layers(mode, kwargs, reference):
    from arena.keras.layers import Input, Merge, merge
    from arena.keras.models import Model
    a, b = Input((3,)), Input((3,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        out = merge([a, b], mode=mode, **kwargs)
        layer = Merge(mode=mode, **kwargs)
    model = Model([a, b], [out, layer([a, b])])
    xa, xb = np.random.RandomState(0).rand(2, 4, 3).astype("float32")
    y1, y2 = model.predict([xa, xb])
    np.testing.assert_allclose(y1, reference(xa, xb), rtol=1e-5)
    np.testing.assert_allclose(y2, y1)
    assert type(layer).__module__.startswith("arena.nn")  # a Keras 2 layer, saved under its Keras 2 name


def test_model_methods_take_keras1_arguments(monkeypatch, fresh_session):
    from arena.keras.layers import Dense, Input
    from arena.keras.models import Model, Sequential
    monkeypatch.setattr(legacy, "_warned", set())
    rng = np.random.RandomState(0)
    x = rng.rand(64, 4).astype("float32")
    drawn = []

    def batches(size):
        while True:
            drawn.append(size)
            yield x[:size], np.eye(3)[np.arange(size) % 3]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inp = Input((4,))
        assert isinstance(Model(input=inp, output=Dense(1)(inp)).output, type(inp))
        model = Sequential([Dense(3, input_shape=(4,), activation="softmax")])
        model.compile("sgd", "categorical_crossentropy")
        assert len(model.fit(x, np.eye(3)[rng.randint(0, 3, 64)], nb_epoch=2, verbose=0).history["loss"]) == 2
        model.fit_generator(batches(16), samples_per_epoch=40, nb_epoch=2, workers=0, verbose=0)
        assert len(drawn) == 2 * math.ceil(40 / 16)  # Keras 1 counted samples: ceil(40 / 16) = 3 batches an epoch
        assert model.predict_generator(batches(8), val_samples=20, workers=0).shape == (24, 3)
        assert np.isfinite(model.evaluate_generator(batches(8), val_samples=16, workers=0))
        probs = model.predict(x)
        np.testing.assert_array_equal(model.predict_classes(x), probs.argmax(-1))
        np.testing.assert_allclose(model.predict_proba(x), probs)
    messages = " ".join(str(w.message) for w in caught if issubclass(w.category, DeprecationWarning))
    for fragment in ("Model: `input`", "Model: `output`", "fit: `nb_epoch`", "fit_generator: `samples_per_epoch`",
                     "fit_generator: `nb_epoch`", "predict_generator: `val_samples`",
                     "evaluate_generator: `val_samples`", "predict_classes was removed", "predict_proba was removed"):
        assert fragment in messages
    binary = Sequential([Dense(1, input_shape=(4,), activation="sigmoid")])
    classes = binary.predict_classes(x)
    assert classes.dtype == np.int32 and classes.shape == (64, 1)
    np.testing.assert_array_equal(classes, (binary.predict(x) > 0.5).astype("int32"))


# ---- Keras 1 Merge of models (the book's skip-gram) ----------------------------------------------------
def test_a_sequential_can_start_with_keras1_merge_of_models(tmp_path, fresh_session):
    from arena.keras.layers import Dense, Embedding, Merge, Reshape
    from arena.keras.models import Sequential
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        word = Sequential([Embedding(20, 4, input_length=1), Reshape((4,))])
        context = Sequential([Embedding(20, 4, input_length=1), Reshape((4,))])
        model = Sequential()
        with pytest.warns(UserWarning, match="batch axis"):  # the book's dot_axes=0: a product over the features
            model.add(Merge([word, context], mode="dot", dot_axes=0))
        model.add(Dense(1, kernel_initializer="glorot_uniform", activation="sigmoid"))
    model.compile(loss="mean_squared_error", optimizer="adam")
    assert model.layers[0].layers[0] is word and model.layers[0].name == "merge_1"
    rng = np.random.RandomState(0)
    a, b = rng.randint(0, 20, (64, 1)), rng.randint(0, 20, (64, 1))
    model.fit([a, b], (a == b).astype("float32"), epochs=1, verbose=0)
    weights = model.layers[0].layers[0].layers[0].get_weights()[0]  # the script's way to its word vectors
    np.testing.assert_array_equal(weights, word.layers[0].get_weights()[0])
    with pytest.raises(TypeError, match="functional API"):
        model.save(tmp_path / "skipgram.h5")


# ---- plot_model ---------------------------------------------------------------------------------------
def _functional():
    from arena.keras.layers import Dense, Input, concatenate
    from arena.keras.models import Model
    a, b = Input((3,), name="left"), Input((2,), name="right")
    return Model([a, b], Dense(1, name="out")(concatenate([a, b], name="joined")))


def test_plot_model_writes_dot_and_names_the_missing_graphviz(tmp_path, monkeypatch, fresh_session):
    from arena.keras.utils import plot_model
    from arena.keras.utils import vis_utils
    monkeypatch.setattr(vis_utils.shutil, "which", lambda prog: None)
    with pytest.warns(UserWarning, match="Graphviz"):
        path = plot_model(_functional(), to_file=tmp_path / "model.png", show_shapes=True)
    assert path == str(tmp_path / "model.dot") and not (tmp_path / "model.png").exists()
    dot = (tmp_path / "model.dot").read_text()
    assert dot.startswith("digraph G {")
    for edge in ('"left" -> "joined"', '"right" -> "joined"', '"joined" -> "out"'):
        assert edge in dot
    assert "out: Dense" in dot and "(None, 5)" in dot and "left: InputLayer" in dot


def test_plot_model_of_a_sequential_is_a_chain(tmp_path, fresh_session):
    from arena.keras.layers import Dense
    from arena.keras.models import Sequential
    from arena.keras.utils.vis_utils import model_to_dot, plot_model
    model = Sequential([Dense(4, input_shape=(3,), name="hidden"), Dense(1, name="out")])
    assert plot_model(model, to_file=tmp_path / "seq.dot") == str(tmp_path / "seq.dot")
    source = model_to_dot(model, rankdir="LR").to_string()
    assert '"hidden" -> "out"' in source and "rankdir=LR" in source and source.count("->") == 2
    with pytest.raises(ValueError, match="not built"):
        model_to_dot(Sequential([Dense(2)]))


@pytest.mark.skipif(__import__("shutil").which("dot") is None, reason="Graphviz's dot is not installed")
def test_plot_model_draws_a_png_with_graphviz(tmp_path, fresh_session):
    from arena.keras.utils import plot_model
    assert plot_model(_functional(), to_file=tmp_path / "m.png") == str(tmp_path / "m.png")
    assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- keras.utils --------------------------------------------------------------------------------------
def test_np_utils(monkeypatch):
    from arena.keras.utils import np_utils
    monkeypatch.setattr(legacy, "_warned", set())
    np.testing.assert_array_equal(np_utils.to_categorical([0, 2], 3), [[1, 0, 0], [0, 0, 1]])
    with pytest.warns(DeprecationWarning, match="`nb_classes`"):
        assert np_utils.to_categorical([1], nb_classes=4).shape == (1, 4)
    np.testing.assert_allclose(np_utils.normalize([[3.0, 4.0], [0.0, 0.0]]), [[0.6, 0.8], [0.0, 0.0]])


def test_get_file_downloads_checks_caches_and_extracts(server, online):
    from arena.datasets import _download
    from arena.keras.utils import get_file
    root, url, requests = server
    with tarfile.open(root / "words.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("words/a.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    digest = hashlib.sha256((root / "words.tar.gz").read_bytes()).hexdigest()
    path = get_file("words.tar.gz", f"{url}/words.tar.gz", file_hash=digest, extract=True)
    assert path == str(online / "words.tar.gz") and (online / "words" / "a.txt").read_bytes() == b"hello"
    get_file("words.tar.gz", f"{url}/words.tar.gz", file_hash=digest)
    assert len(requests) == 1
    folder = get_file("words", f"{url}/words.tar.gz", untar=True, cache_dir=online / "k")  # Keras 1's untar
    assert folder == str(online / "k" / "datasets" / "words") and (online / "k/datasets/words/a.txt").is_file()
    with pytest.raises(_download.ChecksumError):
        get_file("other.tar.gz", f"{url}/words.tar.gz", md5_hash="0" * 32)


def test_get_file_reads_the_offline_folder(tmp_path, monkeypatch):
    from arena.keras.utils import get_file
    (tmp_path / "notes.txt").write_text("offline")
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path))
    assert get_file("notes.txt", "http://127.0.0.1:9/never") == str(tmp_path / "notes.txt")
    with pytest.raises(FileNotFoundError, match="ARENA_DATA_DIR"):
        get_file("missing.txt", "http://127.0.0.1:9/never")


# ---- Keras 2-style programs, run unchanged (imports aside), that learn ---------------------------------
def _clusters(n=480, classes=4, dim=8, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, classes, n)
    return (rng.randn(classes, dim)[y] * 3 + rng.randn(n, dim)).astype("float32"), y


def test_program_mlp_keras2(fresh_session):
    from arena.keras.layers.core import Activation, Dense, Dropout
    from arena.keras.models import Sequential
    from arena.keras.optimizers import SGD
    from arena.keras.utils import np_utils

    X, y = _clusters()
    Y = np_utils.to_categorical(y, 4)
    model = Sequential()
    model.add(Dense(32, input_shape=(8,)))
    model.add(Activation("relu"))
    model.add(Dropout(0.2))
    model.add(Dense(4))
    model.add(Activation("softmax"))
    model.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.05), metrics=["accuracy"])
    history = model.fit(X, Y, batch_size=32, epochs=3, verbose=0, validation_split=0.2)
    score = model.evaluate(X, Y, verbose=0)
    assert model.metrics_names == ["loss", "acc"]  # Keras 2.0's name for 'accuracy'
    assert set(history.history) == {"loss", "acc", "val_loss", "val_acc"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_acc"][-1] > 0.8 and score[1] > 0.8  # chance is 0.25


def test_program_cnn_keras1_spellings_saves_under_keras2_names(tmp_path, fresh_session):
    from arena.keras.layers.convolutional import Convolution2D, MaxPooling2D
    from arena.keras.layers.core import Activation, Dense, Flatten
    from arena.keras.models import Sequential, load_model, model_from_json
    from arena.keras.utils import np_utils

    rng = np.random.RandomState(1)
    y = rng.randint(0, 2, 256)
    X = rng.rand(256, 8, 8, 1).astype("float32") * 0.2
    X[y == 1, :, :4] += 1.0  # class 1: bright left half, class 0: bright right half
    X[y == 0, :, 4:] += 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model = Sequential()
        model.add(Convolution2D(4, 3, 3, border_mode="same", input_shape=(8, 8, 1)))
        model.add(Activation("relu"))
        model.add(MaxPooling2D(pool_size=(2, 2)))
        model.add(Flatten())
        model.add(Dense(output_dim=2))
        model.add(Activation("softmax"))
        model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        history = model.fit(X, np_utils.to_categorical(y, 2), batch_size=32, nb_epoch=3, verbose=0)
        classes = model.predict_classes(X)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert np.mean(classes == y) > 0.9

    # Saved under Keras 2's names, so arena.nn (and Keras) read it; arena.keras gives its own classes back.
    text = model.to_json()
    assert '"Conv2D"' in text and "Convolution2D" not in text and "output_dim" not in text
    model.save(tmp_path / "cnn.h5")
    plain = nn.load_model(tmp_path / "cnn.h5")
    assert type(plain) is nn.Sequential and type(plain.layers[0]) is nn.Conv2D
    np.testing.assert_allclose(plain.predict(X[:8]), model.predict(X[:8]), rtol=1e-5, atol=1e-6)
    again = load_model(tmp_path / "cnn.h5")
    assert type(again).__module__ == "arena.keras.models" and again.metrics_names == ["loss", "acc"]
    assert type(model_from_json(text)) is Sequential


def test_program_lstm_on_word_ids(fresh_session):
    from arena.keras.layers.core import Activation, Dense
    from arena.keras.layers.embeddings import Embedding
    from arena.keras.layers.recurrent import LSTM
    from arena.keras.models import Sequential
    from arena.keras.optimizers import Adam
    from arena.keras.preprocessing import sequence

    rng = np.random.RandomState(2)
    seqs = [list(rng.randint(2, 10, rng.randint(3, 9))) for _ in range(256)]
    y = rng.randint(0, 2, 256)
    for s, label in zip(seqs, y):
        if label:
            s[rng.randint(len(s))] = 1  # positive: word 1 occurs somewhere
    X = sequence.pad_sequences(seqs, maxlen=8)
    model = Sequential()
    model.add(Embedding(10, 8, input_length=8))
    model.add(LSTM(16))
    model.add(Dense(1))
    model.add(Activation("sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer=Adam(learning_rate=0.02), metrics=["accuracy"])
    history = model.fit(X, y, batch_size=32, epochs=4, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
    assert history.history["acc"][-1] > 0.8


def test_program_functional_keras1_merge(monkeypatch, fresh_session):
    from arena.keras.layers import Dense, Input, merge
    from arena.keras.models import Model
    from arena.keras.optimizers import Adam

    rng = np.random.RandomState(3)
    xa, xb = rng.randn(256, 3).astype("float32"), rng.randn(256, 3).astype("float32")
    target = (xa.sum(1) - 2 * xb.sum(1))[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        a, b = Input(shape=(3,)), Input(shape=(3,))
        hidden = Dense(8, activation="relu")(merge([a, b], mode="concat", concat_axis=-1))
        model = Model(input=[a, b], output=Dense(1)(hidden))
        model.compile(optimizer=Adam(lr=0.05), loss="mse")
        history = model.fit([xa, xb], target, batch_size=32, nb_epoch=5, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]


def test_program_generator_fed_keras1_fit_generator(fresh_session):
    from arena.keras.layers import Dense
    from arena.keras.models import Sequential
    from arena.keras.utils import np_utils

    X, y = _clusters(seed=4)
    Y = np_utils.to_categorical(y, 4)

    def batches(batch_size=32):
        rng = np.random.RandomState(5)
        while True:
            idx = rng.randint(0, len(X), batch_size)
            yield X[idx], Y[idx]
    model = Sequential()
    model.add(Dense(4, input_dim=8, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        history = model.fit_generator(batches(), samples_per_epoch=320, nb_epoch=4, validation_data=batches(),
                                      nb_val_samples=64, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_acc"][-1] > 0.8


def test_program_lenet_channels_first_after_set_image_dim_ordering_th(fresh_session):
    """The book's keras_LeNet.py: K.set_image_dim_ordering("th"), then images as (1, rows, cols)."""
    from arena.keras import backend as K
    from arena.keras.layers.convolutional import Conv1D, Conv2D, MaxPooling2D
    from arena.keras.layers.core import Activation, Dense, Flatten
    from arena.keras.models import Sequential
    from arena.keras.utils import np_utils

    K.set_image_dim_ordering("th")
    try:
        model = Sequential()
        model.add(Conv2D(4, kernel_size=3, padding="same", input_shape=(1, 6, 6)))
        model.add(Activation("relu"))
        model.add(MaxPooling2D(pool_size=(2, 2), strides=(2, 2)))
        model.add(Flatten())
        model.add(Dense(2))
        model.add(Activation("softmax"))
        assert [model.layers[i].output_shape for i in (0, 2, 3)] == [(None, 4, 6, 6), (None, 4, 3, 3), (None, 36)]
        assert Conv2D(2, 3, data_format="channels_last").data_format == "channels_last"  # given: kept
        assert Conv1D(2, 3).data_format == "channels_last"  # Keras 2's 1-D layers are always channels-last
        x = np.zeros((16, 1, 6, 6), "float32")
        x[8:, :, :3] = 1.0  # class 1: the top half lit
        y = np_utils.to_categorical(np.repeat([0, 1], 8), 2)
        model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0)
        assert history.history["loss"][-1] < history.history["loss"][0]
    finally:
        K.set_image_dim_ordering("tf")
    assert Conv2D(2, 3).data_format == "channels_last"


def test_program_keras2_custom_layer_and_a_model_of_one_listed_output(fresh_session):
    """Keras 2's own custom-layer example (engine.topology.Layer, add_weight by keyword, call(x, mask=None),
    compute_output_shape) in Model(inputs=[x], outputs=[y]), whose predict returns the array in Keras 2."""
    from arena.keras import backend as K
    from arena.keras.engine.topology import Layer
    from arena.keras.layers import Dense, Input
    from arena.keras.models import Model

    class MyLayer(Layer):
        def __init__(self, output_dim, **kwargs):
            self.output_dim = output_dim
            super(MyLayer, self).__init__(**kwargs)

        def build(self, input_shape):
            self.kernel = self.add_weight(name="kernel", shape=(input_shape[1], self.output_dim),
                                          initializer="uniform", trainable=True)
            super(MyLayer, self).build(input_shape)

        def call(self, x, mask=None):
            return K.dot(x, self.kernel)

        def compute_output_shape(self, input_shape):
            return (input_shape[0], self.output_dim)

    x = Input(shape=(4,))
    mine = MyLayer(3)
    model = Model(inputs=[x], outputs=[Dense(2)(mine(x))])
    assert model.output_shape == (None, 2) and mine.output_shape == (None, 3)
    X = np.random.RandomState(0).rand(8, 4).astype("float32")
    before = mine.get_weights()[0]
    model.compile("sgd", "mse")
    model.fit(X, [np.ones((8, 2))], epochs=1, verbose=0)
    assert not np.allclose(mine.get_weights()[0], before)  # the custom weight trains
    out = model.predict(X)
    assert isinstance(out, np.ndarray) and out.shape == (8, 2)
    assert isinstance(model.predict_on_batch(X), np.ndarray)
    assert Dense(1)(model(Input(shape=(4,)))).shape == (None, 1)  # called, it gives a tensor, not a list
    assert isinstance(nn.Model(x, [model.outputs[0]]).predict(X), list)  # arena.nn keeps Keras 3's list
