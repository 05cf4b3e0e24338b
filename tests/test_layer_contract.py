"""Every registered layer passes the layer contract of :func:`arena.testing.check_layer`.

A new layer class must add at least one configuration to CASES (test_every_layer_has_a_case).
"""
import jax.numpy as jnp
import pytest

from arena.nn import layers as L
from arena.nn.layers.base import _registry
from arena.testing import check_layer


def double_plus(x, offset=1.0):
    return 2.0 * x + offset


def swap_last(x):
    return jnp.flip(x, axis=-1)


def case(layer_cls, init_kwargs, input_shape, expected, id, weights=(0, 0), masking=False, marks=(), **options):
    """One configuration: ``weights`` = (trainable, non-trainable) counts, ``masking`` the expected
    ``supports_masking``; other options go to check_layer."""
    options.update(expected_num_trainable_weights=weights[0], expected_num_non_trainable_weights=weights[1],
                   supports_masking=masking)
    return pytest.param(layer_cls, init_kwargs, input_shape, expected, options, id=id, marks=marks)


MERGE_2 = [(2, 3, 4), (2, 3, 4)]

CASES = [
    # ---- core -------------------------------------------------------------------------------------------
    case(L.Dense, {"units": 3}, (2, 4), (2, 3), "dense", weights=(2, 0), masking=True),
    case(L.Dense, {"units": 3, "use_bias": False, "activation": "tanh"}, (2, 4), (2, 3), "dense-no-bias",
         weights=(1, 0), masking=True),
    case(L.Dense, {"units": 2, "kernel_regularizer": "l2", "bias_regularizer": "l1", "kernel_constraint": "non_neg",
                   "bias_constraint": "max_norm", "activity_regularizer": "l1"}, (2, 4), (2, 2),
         "dense-regularizer-constraint", weights=(2, 0), masking=True),
    case(L.Dense, {"units": 4, "activation": "sigmoid"}, (2, 3, 5), (2, 3, 4), "dense-rank3-masked",
         weights=(2, 0), masking=True),
    case(L.Activation, {"activation": "relu"}, (2, 3, 4), (2, 3, 4), "activation-relu", masking=True),
    case(L.Activation, {"activation": "softmax"}, (2, 5), (2, 5), "activation-softmax", masking=True),
    case(L.Dropout, {"rate": 0.5}, (2, 3, 4), (2, 3, 4), "dropout", masking=True),
    case(L.Dropout, {"rate": 0.3, "noise_shape": [None, 1, 4], "seed": 3}, (2, 3, 4), (2, 3, 4),
         "dropout-noise-shape-training-call", call_kwargs={"training": True},
         masking=True),
    case(L.LeakyReLU, {"alpha": 0.2}, (2, 3, 4), (2, 3, 4), "leaky-relu", masking=True),
    case(L.ReLU, {"max_value": 1.0, "negative_slope": 0.1, "threshold": 0.2}, (2, 3, 4), (2, 3, 4), "relu",
         masking=True),
    case(L.ELU, {"alpha": 0.5}, (2, 3, 4), (2, 3, 4), "elu", masking=True),
    case(L.ThresholdedReLU, {"theta": 0.3}, (2, 3, 4), (2, 3, 4), "thresholded-relu", masking=True),
    case(L.Softmax, {"axis": 1}, (2, 3, 4), (2, 3, 4), "softmax", masking=True),
    case(L.PReLU, {"shared_axes": [1], "alpha_regularizer": "l2", "alpha_constraint": "non_neg"}, (2, 3, 4),
         (2, 3, 4), "prelu-shared", weights=(1, 0), masking=True),
    case(L.Masking, {"mask_value": 0.0}, (2, 4, 3), (2, 4, 3), "masking", masking=True),
    case(L.Flatten, {}, (2, 3, 2, 2), (2, 12), "flatten"),
    case(L.Reshape, {"target_shape": (-1, 2)}, (2, 3, 4), (2, 6, 2), "reshape"),
    case(L.Permute, {"dims": (2, 1)}, (2, 3, 4), (2, 4, 3), "permute"),
    case(L.RepeatVector, {"n": 3}, (2, 4), (2, 3, 4), "repeat-vector"),
    case(L.Lambda, {"function": double_plus, "arguments": {"offset": 0.5}}, (2, 3), (2, 3), "lambda",
         custom_objects={"double_plus": double_plus}),
    case(L.Lambda, {"function": swap_last, "output_shape": (3, 4)}, (2, 3, 4), (2, 3, 4), "lambda-output-shape",
         custom_objects={"swap_last": swap_last}),
    # ---- convolutions -------------------------------------------------------------------------------------
    case(L.Conv1D, {"filters": 3, "kernel_size": 3}, (2, 6, 2), (2, 4, 3), "conv1d-valid", weights=(2, 0)),
    case(L.Conv1D, {"filters": 2, "kernel_size": 3, "padding": "same", "strides": 2}, (2, 5, 2), (2, 3, 2),
         "conv1d-same-strides", weights=(2, 0)),
    case(L.Conv1D, {"filters": 2, "kernel_size": 2, "padding": "causal", "dilation_rate": 2}, (2, 5, 3),
         (2, 5, 2), "conv1d-causal-dilated", weights=(2, 0)),
    case(L.Conv2D, {"filters": 2, "kernel_size": 3, "strides": 2}, (2, 7, 6, 2), (2, 3, 2, 2),
         "conv2d-strides", weights=(2, 0)),
    case(L.Conv2D, {"filters": 2, "kernel_size": (2, 3), "padding": "same", "dilation_rate": 2, "use_bias": False},
         (2, 5, 5, 1), (2, 5, 5, 2), "conv2d-same-dilated-no-bias", weights=(1, 0)),
    case(L.Conv2D, {"filters": 4, "kernel_size": 2, "groups": 2, "activation": "tanh"}, (2, 4, 4, 2),
         (2, 3, 3, 4), "conv2d-groups", weights=(2, 0)),
    case(L.Conv2D, {"filters": 2, "kernel_size": 2, "strides": 2}, (2, 4, 4, 1), (2, 2, 2, 2), "conv2d-uint8-input",
         input_dtype="uint8", weights=(2, 0)),
    case(L.Conv2DTranspose, {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 3, 3, 2),
         (2, 6, 6, 3), "conv2d-transpose-same", weights=(2, 0)),
    case(L.Conv2DTranspose, {"filters": 2, "kernel_size": (3, 2), "strides": (2, 1), "output_padding": (1, 0)},
         (2, 3, 2, 1), (2, 8, 3, 2), "conv2d-transpose-valid-output-padding", weights=(2, 0)),
    case(L.Conv2D, {"filters": 3, "kernel_size": 2, "padding": "same", "data_format": "channels_first"}, (2, 2, 4, 5), (2, 3, 4, 5),
         "conv2d-channels-first", weights=(2, 0)),
    case(L.Conv2DTranspose, {"filters": 3, "kernel_size": 3, "strides": 2, "data_format": "channels_first"}, (2, 2, 3, 3), (2, 3, 7, 7),
         "conv2d-transpose-channels-first", weights=(2, 0)),
    # ---- pooling --------------------------------------------------------------------------------------------
    case(L.MaxPooling1D, {"pool_size": 2}, (2, 5, 3), (2, 2, 3), "max-pool1d"),
    case(L.MaxPooling1D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 5, 3), (2, 3, 3),
         "max-pool1d-same"),
    case(L.AveragePooling1D, {"pool_size": 2, "strides": 1}, (2, 4, 3), (2, 3, 3), "avg-pool1d"),
    case(L.AveragePooling1D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 5, 3), (2, 3, 3),
         "avg-pool1d-same"),
    case(L.MaxPooling2D, {"pool_size": 2}, (2, 5, 4, 2), (2, 2, 2, 2), "max-pool2d"),
    case(L.MaxPooling2D, {"pool_size": (2, 3), "strides": 2, "padding": "same"}, (2, 5, 4, 2), (2, 3, 2, 2),
         "max-pool2d-same"),
    case(L.AveragePooling2D, {"pool_size": 2}, (2, 4, 4, 2), (2, 2, 2, 2), "avg-pool2d"),
    case(L.AveragePooling2D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 5, 5, 1), (2, 3, 3, 1),
         "avg-pool2d-same"),
    case(L.AveragePooling2D, {"pool_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"}, (2, 1, 5, 4), (2, 1, 3, 2),
         "avg-pool2d-same-channels-first"),
    case(L.GlobalMaxPooling1D, {}, (2, 4, 3), (2, 3), "global-max-pool1d"),
    case(L.GlobalAveragePooling1D, {"keepdims": True}, (2, 4, 3), (2, 1, 3), "global-avg-pool1d-keepdims"),
    case(L.GlobalMaxPooling2D, {"keepdims": True}, (2, 3, 3, 2), (2, 1, 1, 2), "global-max-pool2d-keepdims"),
    case(L.GlobalAveragePooling2D, {}, (2, 3, 3, 2), (2, 2), "global-avg-pool2d"),
    case(L.GlobalMaxPooling2D, {"keepdims": True, "data_format": "channels_first"}, (2, 2, 3, 3), (2, 2, 1, 1),
         "global-max-pool2d-keepdims-channels-first"),
    # ---- normalization ----------------------------------------------------------------------------------------
    case(L.BatchNormalization, {}, (4, 3), (4, 3), "batchnorm-rank2", weights=(2, 2), masking=True),
    case(L.BatchNormalization, {"momentum": 0.9}, (2, 3, 3, 2), (2, 3, 3, 2), "batchnorm-rank4", weights=(2, 2),
         masking=True),
    case(L.BatchNormalization, {"axis": 1, "center": False}, (2, 3, 4), (2, 3, 4), "batchnorm-axis1-no-center",
         weights=(1, 2), masking=True),
    case(L.BatchNormalization, {}, (3, 4, 2), (3, 4, 2), "batchnorm-rank3-masked", weights=(2, 2),
         masking=True),
    # ---- merging ----------------------------------------------------------------------------------------------
    case(L.Add, {}, [(2, 3, 4), (2, 3, 4), (2, 3, 4)], (2, 3, 4), "add-3-inputs", masking=True),
    case(L.Add, {}, [(2, 3, 4), (2, 1, 4)], (2, 3, 4), "add-broadcast", masking=True),
    case(L.Subtract, {}, MERGE_2, (2, 3, 4), "subtract", masking=True),
    case(L.Multiply, {}, MERGE_2, (2, 3, 4), "multiply", masking=True),
    case(L.Average, {}, MERGE_2, (2, 3, 4), "average", masking=True),
    case(L.Maximum, {}, MERGE_2, (2, 3, 4), "maximum", masking=True),
    case(L.Minimum, {}, MERGE_2, (2, 3, 4), "minimum", masking=True),
    case(L.Concatenate, {}, [(2, 3, 4), (2, 3, 2)], (2, 3, 6), "concatenate", masking=True),
    case(L.Concatenate, {"axis": 1}, [(2, 3, 4), (2, 2, 4)], (2, 5, 4), "concatenate-axis1", masking=True),
    case(L.Dot, {"axes": 1}, [(2, 4), (2, 4)], (2, 1), "dot-rank2"),
    case(L.Dot, {"axes": (2, 2), "normalize": True}, [(2, 3, 4), (2, 5, 4)], (2, 3, 5), "dot-normalize"),
    # ---- spatial reshaping ------------------------------------------------------------------------------------
    case(L.ZeroPadding1D, {"padding": (1, 2)}, (2, 4, 3), (2, 7, 3), "zero-padding1d"),
    case(L.ZeroPadding2D, {"padding": ((1, 0), (0, 2))}, (2, 3, 3, 2), (2, 4, 5, 2), "zero-padding2d"),
    case(L.Cropping1D, {"cropping": (1, 2)}, (2, 5, 3), (2, 2, 3), "cropping1d"),
    case(L.Cropping2D, {"cropping": ((1, 0), (1, 1))}, (2, 4, 4, 2), (2, 3, 2, 2), "cropping2d"),
    case(L.UpSampling1D, {"size": 3}, (2, 2, 3), (2, 6, 3), "upsampling1d"),
    case(L.UpSampling2D, {"size": (2, 1)}, (2, 2, 3, 2), (2, 4, 3, 2), "upsampling2d"),
    case(L.UpSampling2D, {"size": 2, "interpolation": "bilinear"}, (2, 2, 3, 1), (2, 4, 6, 1),
         "upsampling2d-bilinear"),
    case(L.ZeroPadding2D, {"padding": ((1, 0), (0, 2)), "data_format": "channels_first"}, (2, 2, 3, 3), (2, 2, 4, 5),
         "zero-padding2d-channels-first"),
    case(L.Cropping2D, {"cropping": ((1, 0), (1, 1)), "data_format": "channels_first"}, (2, 2, 4, 4), (2, 2, 3, 2),
         "cropping2d-channels-first"),
    case(L.UpSampling2D, {"size": (2, 1), "data_format": "channels_first"}, (2, 2, 2, 3), (2, 2, 4, 3), "upsampling2d-channels-first"),
    # ---- noise ------------------------------------------------------------------------------------------------
    case(L.GaussianNoise, {"stddev": 0.5}, (2, 3, 4), (2, 3, 4), "gaussian-noise", masking=True),
    case(L.GaussianNoise, {"stddev": 0.3, "seed": 2}, (2, 3, 4), (2, 3, 4), "gaussian-noise-training-call",
         call_kwargs={"training": True}, masking=True),
    case(L.GaussianDropout, {"rate": 0.4}, (2, 3, 4), (2, 3, 4), "gaussian-dropout", masking=True),
    case(L.GaussianDropout, {"rate": 0.2, "seed": 5}, (2, 5), (2, 5), "gaussian-dropout-training-call",
         call_kwargs={"training": True}, masking=True),
    case(L.SpatialDropout1D, {"rate": 0.5}, (2, 3, 4), (2, 3, 4), "spatial-dropout1d", masking=True),
    case(L.SpatialDropout1D, {"rate": 0.5, "seed": 1}, (2, 3, 4), (2, 3, 4), "spatial-dropout1d-training-call",
         call_kwargs={"training": True}, masking=True),
    case(L.SpatialDropout2D, {"rate": 0.3, "data_format": "channels_last"}, (2, 3, 3, 2), (2, 3, 3, 2),
         "spatial-dropout2d", masking=True),
    case(L.SpatialDropout2D, {"rate": 0.3, "seed": 1, "data_format": "channels_first"}, (2, 2, 3, 3), (2, 2, 3, 3),
         "spatial-dropout2d-channels-first-training-call", call_kwargs={"training": True}, masking=True),
    # ---- preprocessing --------------------------------------------------------------------------------------
    case(L.Rescaling, {"scale": 0.5, "offset": -1.0}, (2, 3, 4), (2, 3, 4), "rescaling", masking=True),
    case(L.Rescaling, {"scale": 1 / 255}, (2, 3, 3, 1), (2, 3, 3, 1), "rescaling-uint8-input", input_dtype="uint8",
         masking=True),
    case(L.Normalization, {}, (2, 3, 4), (2, 3, 4), "normalization-adaptable", weights=(0, 3), masking=True),
    case(L.Normalization, {"axis": None, "mean": 2.0, "variance": 4.0, "invert": True}, (2, 3), (2, 3),
         "normalization-given-scalar-invert", masking=True),
    case(L.Normalization, {"axis": (1, 2), "mean": [1.0, 2.0], "variance": [1.0, 4.0]}, (2, 3, 2), (2, 3, 2),
         "normalization-given-two-axes", masking=True),
    case(L.Resizing, {"height": 3, "width": 5}, (2, 4, 4, 2), (2, 3, 5, 2), "resizing-bilinear"),
    case(L.Resizing, {"height": 2, "width": 2, "interpolation": "nearest", "crop_to_aspect_ratio": True},
         (2, 4, 6, 1), (2, 2, 2, 1), "resizing-crop-to-aspect-ratio"),
    case(L.Resizing, {"height": 4, "width": 2, "pad_to_aspect_ratio": True, "fill_value": 1.0, "antialias": True},
         (2, 3, 3, 1), (2, 4, 2, 1), "resizing-pad-to-aspect-ratio"),
    case(L.CenterCrop, {"height": 2, "width": 3}, (2, 4, 5, 1), (2, 2, 3, 1), "center-crop"),
    case(L.CenterCrop, {"height": 4, "width": 2}, (2, 3, 3, 2), (2, 4, 2, 2), "center-crop-smaller-input"),
    case(L.RandomFlip, {}, (2, 3, 4, 2), (2, 3, 4, 2), "random-flip"),
    case(L.RandomFlip, {"mode": "horizontal", "seed": 1}, (2, 3, 4, 1), (2, 3, 4, 1), "random-flip-training-call",
         call_kwargs={"training": True}),
    case(L.RandomTranslation, {"height_factor": 0.2, "width_factor": (-0.3, 0.1), "seed": 2}, (2, 4, 5, 2),
         (2, 4, 5, 2), "random-translation-training-call", call_kwargs={"training": True}),
    case(L.RandomTranslation, {"height_factor": 0.5, "width_factor": 0.5, "fill_mode": "constant",
                               "interpolation": "nearest", "fill_value": 1.0}, (2, 4, 4, 1), (2, 4, 4, 1),
         "random-translation-constant"),
    case(L.RandomRotation, {"factor": 0.1, "seed": 3}, (2, 5, 4, 1), (2, 5, 4, 1), "random-rotation-training-call",
         call_kwargs={"training": True}),
    case(L.RandomRotation, {"factor": (-0.5, 0.5), "fill_mode": "wrap"}, (2, 4, 4, 2), (2, 4, 4, 2),
         "random-rotation-wrap"),
    case(L.RandomZoom, {"height_factor": (-0.3, 0.2), "width_factor": 0.1, "fill_mode": "nearest", "seed": 4},
         (2, 4, 5, 1), (2, 4, 5, 1), "random-zoom-training-call", call_kwargs={"training": True}),
    case(L.RandomZoom, {"height_factor": 0.2}, (2, 4, 4, 1), (2, 4, 4, 1), "random-zoom"),
    case(L.RandomContrast, {"factor": 0.5, "value_range": (-1, 1), "seed": 5}, (2, 3, 3, 2), (2, 3, 3, 2),
         "random-contrast-training-call", call_kwargs={"training": True}),
    case(L.RandomContrast, {"factor": (0.2, 0.4)}, (2, 3, 3, 1), (2, 3, 3, 1), "random-contrast-uint8-input",
         input_dtype="uint8"),
    # ---- wrappers ---------------------------------------------------------------------------------------------
    case(L.TimeDistributed, {"layer": L.Dense(3, name="td_case_dense")}, (2, 3, 4), (2, 3, 3),
         "time-distributed-dense", weights=(2, 0), masking=True),
    case(L.TimeDistributed, {"layer": L.Conv2D(2, 2, name="td_case_conv")}, (2, 3, 4, 4, 1), (2, 3, 3, 3, 2),
         "time-distributed-conv2d", weights=(2, 0), masking=True),
    case(L.TimeDistributed, {"layer": L.BatchNormalization(name="td_case_bn")}, (2, 3, 4), (2, 3, 4),
         "time-distributed-batchnorm", weights=(2, 2), masking=True),
    case(L.Bidirectional, {"layer": L.LSTM(2, return_sequences=True, name="bi_case_lstm")}, (2, 3, 4), (2, 3, 4),
         "bidirectional-lstm", weights=(6, 0), masking=True),
    case(L.Bidirectional, {"layer": L.GRU(2, name="bi_case_gru"), "merge_mode": "sum"}, (2, 3, 4), (2, 2),
         "bidirectional-gru-sum", weights=(6, 0), masking=True),
    # ---- embeddings and recurrent layers (cells run inside RNN) -----------------------------------------------
    case(L.Embedding, {"input_dim": 10, "output_dim": 3}, (2, 4), (2, 4, 3), "embedding", weights=(1, 0),
         masking=True, input_dtype="int32"),
    case(L.Embedding, {"input_dim": 10, "output_dim": 3, "mask_zero": True, "embeddings_regularizer": "l2"}, (2, 4),
         (2, 4, 3), "embedding-mask-zero", weights=(1, 0), masking=True, input_dtype="int32"),
    case(L.SimpleRNN, {"units": 3}, (2, 4, 2), (2, 3), "simple-rnn", weights=(3, 0), masking=True),
    case(L.SimpleRNN, {"units": 3, "return_sequences": True, "go_backwards": True, "unroll": True}, (2, 4, 2),
         (2, 4, 3), "simple-rnn-backwards-unrolled", weights=(3, 0), masking=True),
    case(L.LSTM, {"units": 3, "return_sequences": True, "dropout": 0.2, "recurrent_dropout": 0.2}, (2, 4, 2),
         (2, 4, 3), "lstm-sequences-dropout", weights=(3, 0), masking=True),
    case(L.LSTM, {"units": 2, "kernel_constraint": "max_norm", "recurrent_regularizer": "l2"}, (2, 4, 2), (2, 2),
         "lstm-penalties", weights=(3, 0), masking=True),
    case(L.GRU, {"units": 3, "return_sequences": True}, (2, 4, 2), (2, 4, 3), "gru", weights=(3, 0), masking=True),
    case(L.GRU, {"units": 3, "reset_after": False, "use_bias": False}, (2, 4, 2), (2, 3), "gru-keras2-no-bias",
         weights=(2, 0), masking=True),
    case(L.RNN, {"cell": L.SimpleRNNCell(2), "return_sequences": True}, (2, 4, 3), (2, 4, 2), "rnn-simple-cell",
         weights=(3, 0), masking=True),
    case(L.RNN, {"cell": L.LSTMCell(2)}, (2, 4, 3), (2, 2), "rnn-lstm-cell", weights=(3, 0), masking=True),
    case(L.RNN, {"cell": L.GRUCell(2)}, (2, 4, 3), (2, 2), "rnn-gru-cell", weights=(3, 0), masking=True),
]


@pytest.mark.parametrize("layer_cls, init_kwargs, input_shape, expected, options", CASES)
def test_layer_contract(layer_cls, init_kwargs, input_shape, expected, options):
    result = check_layer(layer_cls, init_kwargs, input_shape, expected, **options)
    assert result["output"].shape == tuple(expected)


def test_every_layer_has_a_case():
    import arena.nn  # noqa: F401  (registers Model and Sequential)
    skip = {"Model", "Sequential", "InputLayer", "GAN"}  # models: their own tests
    covered = {p.values[0] for p in CASES} | {type(p.values[1]["cell"]) for p in CASES if "cell" in p.values[1]}
    missing = sorted(n for n, cls in _registry.items() if n not in skip and cls not in covered)
    assert not missing, f"layer classes without a check_layer configuration in CASES: {missing}"
