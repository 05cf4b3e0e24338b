"""arena.applications: Keras' VGG16, VGG19, InceptionV3 and ResNet50 (arguments, layer names, parameter counts),
preprocess_input, decode_predictions, and Keras' weight files (never the network: a local server stands in)."""
import hashlib
import json

import h5py
import jax.numpy as jnp
import numpy as np
import pytest

from arena.applications import InceptionV3, ResNet50, VGG16, VGG19, imagenet_utils, inception_v3, resnet50, vgg16
from arena.datasets._download import ChecksumError, DownloadError
from arena.nn import Model
from arena.nn.layers.base import abstract_weights

NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"


def abstract(build, **kwargs):
    """The model's structure only (no weight arrays): counts and shapes without the memory."""
    with abstract_weights():
        return build(**kwargs)


def write_keras_weights(path, layers):
    """A weights file in the layout of Keras' published ones: root attribute layer_names, one group per
    layer with attribute weight_names, datasets at <layer>/<layer>/<weight>:0."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([name.encode() for name, _ in layers])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.0.8"
        for name, weights in layers:
            g = f.create_group(name)
            g.attrs["weight_names"] = np.array([f"{name}/{w}:0".encode() for w, _ in weights])
            for w, value in weights:
                g.create_dataset(f"{name}/{w}:0", data=value)


def keras_layers(model, rename=None):
    """``[(file layer name, [(weight name, array)])]`` for the layers with weights, in model.layers order."""
    out = []
    for layer in model.layers:
        values = layer.get_weights()
        if values:
            out.append(((rename or {}).get(layer.name, layer.name), list(zip(layer.weight_names, values))))
    return out


@pytest.fixture(scope="module")
def vgg_notop(tmp_path_factory):
    """A random VGG16 without top (32x32 input), its weights in Keras' layout, and its output on one image."""
    model = VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path_factory.mktemp("weights") / NOTOP_FILE
    write_keras_weights(path, keras_layers(model))
    image = np.random.default_rng(0).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    return path, image, model.predict(image)


# ---- architectures ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("build, with_top, without_top, layers", [
    (VGG16, 138_357_544, 14_714_688, 23),
    (VGG19, 143_667_240, 20_024_384, 26),
    (InceptionV3, 23_851_784, 21_802_784, 313),
    (ResNet50, 25_636_712, 23_587_712, 177),
])
def test_parameter_counts_are_keras(build, with_top, without_top, layers):
    model = abstract(build, weights=None)
    assert model.count_params() == with_top and len(model.layers) == layers
    assert model.output_shape == (None, 1000) and model.layers[-1].name == "predictions"
    assert abstract(build, weights=None, include_top=False).count_params() == without_top


def test_keras_layer_names_and_order():
    vgg = abstract(VGG16, weights=None)
    assert [l.name for l in vgg.layers[1:5]] == ["block1_conv1", "block1_conv2", "block1_pool", "block2_conv1"]
    assert [l.name for l in vgg.layers[-5:]] == ["block5_pool", "flatten", "fc1", "fc2", "predictions"]
    assert vgg.get_layer("block5_conv3").output.shape == (None, 14, 14, 512)
    assert abstract(VGG19, weights=None).get_layer("block5_conv4").output.shape == (None, 14, 14, 512)
    resnet = abstract(ResNet50, weights=None)
    names = [l.name for l in resnet.layers]
    # Keras' order: the shortcut projection comes after the main path's second convolution
    assert names[7:16] == ["conv2_block1_1_conv", "conv2_block1_1_bn", "conv2_block1_1_relu", "conv2_block1_2_conv",
                           "conv2_block1_2_bn", "conv2_block1_2_relu", "conv2_block1_0_conv", "conv2_block1_3_conv",
                           "conv2_block1_0_bn"]
    assert resnet.get_layer("conv5_block3_out").output.shape == (None, 7, 7, 2048)
    assert names[-2:] == ["avg_pool", "predictions"]
    inception = abstract(InceptionV3, weights=None, include_top=False)
    names = [l.name for l in inception.layers]
    # the indices Keras' fine-tuning recipe relies on: freezing layers[:249] trains mixed9 and mixed10
    assert len(names) == 311 and names.index("mixed8") == 248 and names.index("mixed7") == 228
    assert names[-1] == "mixed10" and {"mixed9_0", "mixed9_1"} <= set(names)
    assert inception.get_layer("mixed10").output.shape == (None, None, None, 2048)
    assert abstract(InceptionV3, weights=None).get_layer("mixed10").output.shape == (None, 8, 8, 2048)


@pytest.mark.parametrize("build, size, pool_name", [(VGG16, 32, None), (VGG19, 40, None), (InceptionV3, 75, None),
                                                    (ResNet50, 64, "avg_pool")])
def test_feature_shapes_without_top(build, size, pool_name):
    channels = 512 if build in (VGG16, VGG19) else 2048
    side = {VGG16: 1, VGG19: 1, InceptionV3: 1, ResNet50: 2}[build]
    model = abstract(build, include_top=False, weights=None, input_shape=(size, size, 3))
    assert model.output_shape == (None, side, side, channels)
    for pooling in ("avg", "max"):
        pooled = abstract(build, include_top=False, weights=None, input_shape=(size, size, 3), pooling=pooling)
        assert pooled.output_shape == (None, channels)
        if pool_name:
            assert pooled.layers[-1].name == f"{pooling}_pool"


def test_top_without_imagenet_weights_takes_other_sizes_and_classes():
    model = abstract(VGG16, weights=None, input_shape=(64, 64, 3), classes=10, classifier_activation=None)
    assert model.get_layer("flatten").output.shape == (None, 2048) and model.output_shape == (None, 10)
    tensor_model = abstract(VGG16, weights=None, include_top=False,
                            input_tensor=abstract(VGG16, weights=None, include_top=False).input)
    assert tensor_model.input_shape == (None, None, None, 3)


@pytest.mark.parametrize("build, size", [(VGG16, 32), (ResNet50, 32), (InceptionV3, 75)])
def test_forward_pass_at_the_smallest_size(build, size):
    model = build(include_top=False, weights=None, input_shape=(size, size, 3), pooling="avg")
    out = model.predict(np.random.default_rng(0).uniform(0, 255, (1, size, size, 3)).astype("float32"))
    assert out.shape == (1, model.output_shape[-1]) and np.isfinite(out).all()


def test_feature_extraction_to_block4_pool(vgg_notop):
    """E3.9: a model from VGG16's input to an inner layer's output."""
    path, image, _ = vgg_notop
    base = VGG16(include_top=False, weights=path, input_shape=(32, 32, 3))
    features = Model(base.input, base.get_layer("block4_pool").output)
    assert features.predict(vgg16.preprocess_input(image)).shape == (1, 2, 2, 512)


@pytest.mark.parametrize("kwargs, match", [
    (dict(weights="imagenet", input_shape=(32, 32, 3)), r"must be \(224, 224, 3\).*include_top=False"),
    (dict(weights=None, include_top=False, input_shape=(31, 64, 3)), "at least 32x32"),
    (dict(weights=None, input_shape=(None, 64, 3)), "fixed input_shape"),
    (dict(weights="imagenet", include_top=False, input_shape=(64, 64, 1)), "3 input channels"),
    (dict(weights=None, include_top=False, input_shape=(64, 64)), r"\(height, width, channels\)"),
    (dict(weights="imagenet", classes=10), "1000 classes"),
    (dict(weights="nope.h5"), "weights must be None.*'imagenet'.*existing"),
    (dict(weights=None, include_top=False, pooling="mean"), "pooling must be None, 'avg' or 'max'"),
    (dict(weights="imagenet", classifier_activation="relu"), "'softmax' or None"),
    (dict(weights=None, classes=0), "classes must be a positive integer"),
])
def test_keras_argument_rules(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VGG16(**kwargs)


def test_inception_shape_rules():
    with pytest.raises(ValueError, match=r"\(299, 299, 3\)"):
        InceptionV3(weights="imagenet", input_shape=(224, 224, 3))
    with pytest.raises(ValueError, match="at least 75x75"):
        InceptionV3(weights=None, include_top=False, input_shape=(74, 74, 3))
    with pytest.raises(TypeError, match="symbolic tensor"):
        ResNet50(weights=None, input_tensor=np.zeros((1, 224, 224, 3)))


# ---- preprocessing and decoding ------------------------------------------------------------------------------
def test_preprocess_input_matches_numpy():
    x = np.random.default_rng(1).uniform(0, 255, (2, 4, 5, 3)).astype("float32")
    before = x.copy()
    caffe = x[..., ::-1] - np.array([103.939, 116.779, 123.68], "float32")
    np.testing.assert_allclose(vgg16.preprocess_input(x), caffe, rtol=1e-6)
    np.testing.assert_allclose(resnet50.preprocess_input(x[0]), caffe[0], rtol=1e-6)
    np.testing.assert_allclose(inception_v3.preprocess_input(x), x / 127.5 - 1, rtol=1e-6)
    torch = (x / 255 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(imagenet_utils.preprocess_input(x, mode="torch"), torch, rtol=1e-5)
    first = imagenet_utils.preprocess_input(x.transpose(0, 3, 1, 2), data_format="channels_first")
    np.testing.assert_allclose(first, caffe.transpose(0, 3, 1, 2), rtol=1e-6)
    np.testing.assert_array_equal(x, before)  # never written over
    out = vgg16.preprocess_input(jnp.asarray(x))
    assert out.dtype == jnp.float32 and np.allclose(out, caffe, rtol=1e-6)
    assert vgg16.preprocess_input(np.full((1, 1, 3), 255, np.uint8)).dtype == np.float32
    assert inception_v3.preprocess_input(np.zeros((1, 2, 2, 3))).dtype == np.float64
    with pytest.raises(ValueError, match="3 channels on axis 3"):
        vgg16.preprocess_input(np.zeros((1, 4, 4, 1)))
    with pytest.raises(ValueError, match="mode must be one of"):
        imagenet_utils.preprocess_input(x, mode="bgr")


def class_index(n=1000):
    return {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(n)}


def test_decode_predictions_with_a_class_index_file(tmp_path):
    path = tmp_path / "index.json"
    path.write_text(json.dumps(class_index()))
    preds = np.zeros((2, 1000), "float32")
    preds[0, [285, 820, 3]] = [0.7, 0.2, 0.1]
    preds[1, 820] = 1.0
    top = vgg16.decode_predictions(preds, top=3, class_index_path=path)
    assert top[0] == [("n00000285", "class_285", pytest.approx(0.7)), ("n00000820", "class_820", pytest.approx(0.2)),
                      ("n00000003", "class_3", pytest.approx(0.1))]
    assert top[1][0][:2] == ("n00000820", "class_820") and len(top[1]) == 3
    with pytest.raises(ValueError, match=r"shape \(samples, 1000\); got shape \(1000,\)"):
        vgg16.decode_predictions(preds[0], class_index_path=path)
    with pytest.raises(ValueError, match="top must be an integer >= 1; got 0"):
        vgg16.decode_predictions(preds, top=0, class_index_path=path)


@pytest.mark.parametrize("content, match", [
    (json.dumps(class_index(999)), "1000 entries"),
    (json.dumps({**class_index(), "7": ["n7"]}), r"entry '7'.*not \[wnid, name\]"),
    (json.dumps([["n1", "a"]] * 1000), "got list"),
    ("{not json", "not a JSON"),
])
def test_a_bad_class_index_is_named(tmp_path, content, match):
    path = tmp_path / "index.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        imagenet_utils.decode_predictions(np.zeros((1, 1000)), class_index_path=path)


def test_class_index_download_and_cache(server, online, monkeypatch):
    root, url, requests = server
    data = json.dumps(class_index()).encode()
    (root / "imagenet_class_index.json").write_bytes(data)
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_URL", f"{url}/imagenet_class_index.json")
    with pytest.raises(ChecksumError, match="md5 mismatch"):  # Keras' digest: our stand-in is not Keras' file
        imagenet_utils.decode_predictions(np.zeros((1, 1000)))
    assert not (online / "models" / "imagenet_class_index.json").exists()
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_MD5", hashlib.md5(data).hexdigest())
    preds = np.eye(1000)[[5]]
    assert imagenet_utils.decode_predictions(preds, top=1) == [[("n00000005", "class_5", 1.0)]]
    imagenet_utils.decode_predictions(preds)
    assert len(requests) == 2 and (online / "models" / "imagenet_class_index.json").is_file()


def test_missing_class_index_says_how_to_supply_it(monkeypatch, tmp_path):
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path))  # offline, and the file is not there
    with pytest.raises(FileNotFoundError, match=r"imagenet_class_index.json.*https://storage.googleapis.com/.*"
                                                r"class_index_path="):
        imagenet_utils.decode_predictions(np.zeros((1, 1000)))


# ---- weights -------------------------------------------------------------------------------------------------------
def test_weights_file_in_keras_layout_loads_by_name(vgg_notop):
    path, image, expected = vgg_notop
    model = VGG16(include_top=False, weights=str(path), input_shape=(32, 32, 3))
    np.testing.assert_allclose(model.predict(image), expected, rtol=1e-5, atol=1e-5)
    bigger = VGG16(include_top=False, weights=path, input_shape=(64, 64, 3), pooling="max")  # convs fit any size
    assert bigger.predict(np.zeros((1, 64, 64, 3), "float32")).shape == (1, 512)


def test_arena_saved_weights_load(tmp_path):
    model = ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3))
    model.save_weights(tmp_path / "resnet.h5")
    again = ResNet50(include_top=False, weights=tmp_path / "resnet.h5", input_shape=(32, 32, 3))
    image = np.random.default_rng(2).uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(again.predict(image), model.predict(image), rtol=1e-5, atol=1e-5)


def test_mismatched_weights_name_the_layer(vgg_notop, tmp_path):
    path, _, _ = vgg_notop
    layers = keras_layers(abstract(VGG16, include_top=False, weights=None))
    with h5py.File(path, "r") as f:
        layers = [(name, [(w, f[name][f"{name}/{w}:0"][()]) for w, _ in weights]) for name, weights in layers]
    name, weights = layers[-1]
    layers[-1] = (name, [("kernel", np.zeros((3, 3, 512, 256), "float32")), ("bias", np.zeros(256, "float32"))])
    write_keras_weights(tmp_path / "bad.h5", layers)
    with pytest.raises(ValueError, match=r"VGG16\(include_top=False\).*layer 'block5_conv3'.*expects shape "
                                         r"\(3, 3, 512, 512\).*\(3, 3, 512, 256\)"):
        VGG16(include_top=False, weights=tmp_path / "bad.h5")
    write_keras_weights(tmp_path / "short.h5", layers[:-1])
    with pytest.raises(ValueError, match="12 layers.*13 layers with weights.*block5_conv3"):
        VGG16(include_top=False, weights=tmp_path / "short.h5")


def test_keras_files_with_other_layer_names_load_in_keras_order(tmp_path):
    """Keras' ImageNet files name InceptionV3's layers after the session that wrote them; Keras pairs
    the layers in its (depth-first, by depth) order, and so must Arena."""
    model = abstract(InceptionV3, weights=None, include_top=False)
    layers, rename = [], {}
    for k, layer in enumerate(l for l in model.layers if l.weight_names):
        rename[layer.name] = f"keras1_{type(layer).__name__.lower()}_{k}"
        # each layer's weights hold its position: a layer paired with the wrong group shows it
        layers.append((rename[layer.name], [(w, np.full(layer._weight_value(w).shape, k, "float32"))
                                             for w in layer.weight_names]))
    write_keras_weights(tmp_path / "inception_notop.h5", layers)
    loaded = InceptionV3(include_top=False, weights=tmp_path / "inception_notop.h5")
    for k, layer in enumerate(l for l in loaded.layers if l.weight_names):
        assert all(np.all(v == k) for v in layer.get_weights()), layer.name


def test_imagenet_weights_download_into_the_cache(vgg_notop, server, online, monkeypatch):
    path, image, expected = vgg_notop
    root, url, requests = server
    (root / "vgg16").mkdir()
    (root / "vgg16" / NOTOP_FILE).write_bytes(path.read_bytes())
    monkeypatch.setattr(imagenet_utils, "WEIGHTS_BASE_URL", f"{url}/")
    with pytest.raises(ChecksumError, match=f"md5 mismatch for {NOTOP_FILE} downloaded from {url}/vgg16/"):
        VGG16(include_top=False, input_shape=(32, 32, 3))  # Keras' digest: our stand-in is not Keras' file
    assert not (online / "models" / NOTOP_FILE).exists()
    files = dict(imagenet_utils.WEIGHT_FILES)
    files[("vgg16", False)] = (files[("vgg16", False)][0], hashlib.md5(path.read_bytes()).hexdigest())
    monkeypatch.setattr(imagenet_utils, "WEIGHT_FILES", files)
    model = VGG16(include_top=False, input_shape=(32, 32, 3))
    np.testing.assert_allclose(model.predict(image), expected, rtol=1e-5, atol=1e-5)
    VGG16(include_top=False, input_shape=(32, 32, 3))
    assert len(requests) == 2 and (online / "models" / NOTOP_FILE).is_file()  # the second model used the cache


def test_unreachable_weights_say_which_file_and_how_to_pass_a_path(online, monkeypatch):
    monkeypatch.setattr(imagenet_utils, "WEIGHTS_BASE_URL", "http://127.0.0.1:9/")  # nothing listens there
    with pytest.raises(DownloadError, match=r"VGG19\(weights='imagenet', include_top=True\) needs Keras' file "
                                            r"'vgg19_weights_tf_dim_ordering_tf_kernels.h5' \(http://127.0.0.1:9/"
                                            r"vgg19/.*weights='/path/to/vgg19_weights"):
        VGG19()


def test_offline_folder_without_the_weights_is_clear(monkeypatch, tmp_path):
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5.*"
                                                r"storage.googleapis.com/tensorflow/keras-applications/resnet/"):
        ResNet50(include_top=False)
