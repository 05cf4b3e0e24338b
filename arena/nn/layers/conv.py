"""Convolution layers: Conv1D, Conv2D, Conv2DTranspose.

Kernels are stored in Keras' layout so weights load from Keras files unchanged:
``(k, in, out)`` / ``(kh, kw, in, out)`` for convolutions and
``(kh, kw, out, in)`` for Conv2DTranspose. The math runs on
``jax.lax.conv_general_dilated`` with dimension numbers NWC/WIO and NHWC/HWIO.

Arena's layout is channels-last. ``data_format='channels_first'`` (Keras' (batch, channels, ...),
Theano's layout) is taken by the convolution, pooling, padding, cropping, up-sampling and spatial
dropout layers: the input is moved to channels-last, the same math runs, and the output is moved
back (as Keras 2's TensorFlow backend did), so the kernels are the same either way.
"""
import math

import jax
import jax.numpy as jnp

from arena import checks
from arena.nn import activations
from arena.nn.layers.base import register
from arena.nn.layers.core import WeightedLayer, _int_tuple

_DIMS = {1: ("NWC", "WIO", "NWC"), 2: ("NHWC", "HWIO", "NHWC")}
_AXES = {1: "(batch, steps, channels)", 2: "(batch, height, width, channels)"}


def check_data_format(layer, data_format):
    """For layers that are channels-last only: say so clearly for anything else."""
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': data_format must be 'channels_last' (Arena "
                         f"layers are channels-last, i.e. NHWC); got {data_format!r}. Transpose your data with "
                         f"np.transpose(x, (0, 2, 3, 1)) instead")


def data_format_of(layer, data_format):
    """A layer's image layout: ``'channels_last'`` (None: Arena's default) or ``'channels_first'``."""
    if data_format in (None, "channels_last", "channels_first"):
        return data_format or "channels_last"
    raise ValueError(f"{type(layer).__name__} '{layer.name}': data_format must be 'channels_last' (batch, ..., "
                     f"channels) or 'channels_first' (batch, channels, ...); got {data_format!r}")


def last_shape(shape, data_format):
    """A shape in ``data_format`` as its channels-last shape: (b, c, *spatial) -> (b, *spatial, c)."""
    if data_format != "channels_first" or not isinstance(shape, tuple) or len(shape) < 3:
        return shape
    return (shape[0],) + tuple(shape[2:]) + (shape[1],)


def format_shape(shape, data_format):
    """A channels-last shape in ``data_format``: (b, *spatial, c) -> (b, c, *spatial) for channels-first."""
    if data_format != "channels_first" or len(shape) < 3:
        return shape
    return (shape[0], shape[-1]) + tuple(shape[1:-1])


def to_last(x, data_format):
    """An input in ``data_format`` as channels-last."""
    return jnp.moveaxis(x, 1, -1) if data_format == "channels_first" else x


def from_last(y, data_format):
    """A channels-last result in ``data_format``."""
    return jnp.moveaxis(y, -1, 1) if data_format == "channels_first" else y


def check_padding(layer, padding, allowed=("valid", "same")):
    """Lower-case and validate a padding mode, naming the allowed values."""
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in allowed:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': padding must be one of "
                         f"{', '.join(repr(a) for a in allowed)}; got {padding!r}")
    return mode


def conv_output_length(length, kernel, padding, stride, dilation=1):
    """Keras' ``conv_output_length``: the output size of one spatial axis (None stays None)."""
    if length is None:
        return None
    dk = kernel + (kernel - 1) * (dilation - 1)
    out = length if padding in ("same", "causal") else length - dk + 1
    return (out + stride - 1) // stride


def deconv_output_length(length, kernel, padding, output_padding, stride, dilation=1):
    """Keras' ``deconv_output_length``: the output size of a transposed convolution axis."""
    if length is None:
        return None
    dk = kernel + (kernel - 1) * (dilation - 1)
    if output_padding is None:
        return length * stride + max(dk - stride, 0) if padding == "valid" else length * stride
    pad = dk // 2 if padding == "same" else 0
    return (length - 1) * stride + dk - 2 * pad + output_padding


def as_float(x):
    """Integer inputs (uint8 game frames) are computed on as float32, never the kernel cast to int."""
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


def rank_hint(rank, input_shape):
    """Suggest the Reshape that turns a flat input into what a conv layer expects."""
    if isinstance(input_shape, tuple) and len(input_shape) == 2 and input_shape[1]:
        n = int(input_shape[1])
        if rank == 1:
            return f"Add a Reshape(({n}, 1)) before it."
        side = math.isqrt(n)
        if side * side == n:
            return f"Add a Reshape(({side}, {side}, 1)) before it."
    shape = "(steps, channels)" if rank == 1 else "(height, width, channels)"
    return f"Add a Reshape({shape}) before it."


class _Conv(WeightedLayer):
    """Shared N-d convolution: ``activation(conv(x, kernel) + bias)``."""

    rank = None
    paddings = ("valid", "same")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        cls = type(self).__name__
        self.filters = checks.integer(filters, f"{cls} '{self.name}': filters", 1, expected="a positive integer")
        self.kernel_size = _int_tuple(kernel_size, self.rank, f"{cls} '{self.name}': kernel_size")
        self.strides = _int_tuple(strides, self.rank, f"{cls} '{self.name}': strides")
        self.dilation_rate = _int_tuple(dilation_rate, self.rank, f"{cls} '{self.name}': dilation_rate")
        for what, v in (("kernel_size", self.kernel_size), ("strides", self.strides),
                        ("dilation_rate", self.dilation_rate)):
            if min(v) < 1:
                raise ValueError(f"{cls} '{self.name}': {what} must be positive; got {v}")
        self.padding = check_padding(self, padding, self.paddings)
        self.data_format = data_format_of(self, data_format)
        self.groups = int(groups)
        if self.groups < 1 or self.filters % self.groups:
            raise ValueError(f"{cls} '{self.name}': filters ({self.filters}) must be a multiple of "
                             f"groups ({groups})")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self._init_weight_options(kernel_initializer, bias_initializer, kernel_regularizer,
                                  bias_regularizer, kernel_constraint, bias_constraint)

    def build(self, input_shape):
        self._expect_rank(input_shape, self.rank + 2, _AXES[self.rank], rank_hint(self.rank, input_shape))
        channels = last_shape(input_shape, self.data_format)[-1]
        if channels is None:
            axis = "axis 1" if self.data_format == "channels_first" else "last axis"
            raise ValueError(f"{type(self).__name__} '{self.name}' needs a known number of input channels "
                             f"({axis}); got shape {input_shape}")
        if channels % self.groups:
            raise ValueError(f"{type(self).__name__} '{self.name}': input channels ({channels}) must be a "
                             f"multiple of groups ({self.groups}); got shape {input_shape}")
        out = self._last_output_shape(last_shape(input_shape, self.data_format))
        if any(d is not None and d <= 0 for d in out[1:-1]):
            raise ValueError(f"{type(self).__name__} '{self.name}': input shape {input_shape} is too small for "
                             f"kernel_size {self.kernel_size}, strides {self.strides}, dilation_rate "
                             f"{self.dilation_rate} with padding '{self.padding}' (output would be "
                             f"{format_shape(out, self.data_format)}). "
                             f"Use padding='same' or a larger input")
        self._add_kernel_and_bias(self._kernel_shape(channels), (self.filters,))

    def _kernel_shape(self, channels):
        return self.kernel_size + (channels // self.groups, self.filters)

    def _conv(self, x, kernel):
        x = as_float(x)
        padding = self.padding.upper()
        if self.padding == "causal":
            # Causal: pad only on the left, so output t sees inputs <= t.
            left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
            x = jnp.pad(x, ((0, 0), (left, 0), (0, 0)))
            padding = "VALID"
        return jax.lax.conv_general_dilated(
            x, kernel.astype(x.dtype), window_strides=self.strides, padding=padding,
            rhs_dilation=self.dilation_rate, dimension_numbers=_DIMS[self.rank],
            feature_group_count=self.groups)

    def call(self, params, x, training=False, key=None):
        y = self._conv(to_last(x, self.data_format), params["kernel"])
        if self.use_bias:
            y = y + params["bias"]
        return from_last(self.activation(y), self.data_format)

    def compute_output_shape(self, input_shape):
        return format_shape(self._last_output_shape(last_shape(input_shape, self.data_format)), self.data_format)

    def _last_output_shape(self, input_shape):
        spatial = tuple(conv_output_length(n, k, self.padding, s, d) for n, k, s, d in
                        zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate))
        return (input_shape[0],) + spatial + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate),
                # only when grouped: Keras 3's Conv2DTranspose takes no `groups` at all
                **({"groups": self.groups} if self.groups != 1 else {}),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **self._weight_options_config()}


@register
class Conv1D(_Conv):
    """1-D convolution over steps: (batch, steps, in) -> (batch, new_steps, filters).

    ``y[b, t, o] = activation(sum_{k, c} x[b, t*s + k*d - pad, c] * kernel[k, c, o] + bias[o])``;
    kernel (kernel_size, in // groups, filters). ``new_steps = ceil((steps - d*(k-1)) / s)`` for
    'valid', ``ceil(steps / s)`` for 'same' and 'causal' ('causal' pads d*(k-1) zeros on the left
    only, so y[t] depends on x[<= t]).
    """

    rank = 1
    paddings = ("valid", "same", "causal")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format="channels_last",
                 dilation_rate=1, groups=1, activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups, activation=activation, use_bias=use_bias,
                         **kwargs)


@register
class Conv2D(_Conv):
    """2-D convolution: (batch, h, w, in) -> (batch, new_h, new_w, filters).

    ``y[b, i, j, o] = activation(sum_{p, q, c} x[b, i*sh + p*dh - pt, j*sw + q*dw - pl, c]
    * kernel[p, q, c, o] + bias[o])``; kernel (kh, kw, in // groups, filters), bias (filters,).
    Per axis ``new = ceil((n - d*(k-1)) / s)`` for 'valid' and ``ceil(n / s)`` for 'same' (zero padding,
    the extra row/column at the end as in TensorFlow). ``data_format='channels_first'``: (batch, in, h, w) ->
    (batch, filters, new_h, new_w) with the same kernel. Note the Keras 2 signature:
    ``Conv2D(64, 3, 3)`` means kernel 3x3 with *strides* 3, not Keras 1's ``Conv2D(64, 3, 3)`` (3x3 kernel).
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups, activation=activation, use_bias=use_bias,
                         **kwargs)


@register
class Conv2DTranspose(_Conv):
    """Transposed ("de-") convolution, the gradient of Conv2D with respect to its input:
    (batch, h, w, in) -> (batch, new_h, new_w, filters).

    ``y[b, i*sh + p*dh - pt, j*sw + q*dw - pl, o] += x[b, i, j, c] * kernel[p, q, o, c]`` (scatter-add),
    then ``activation(y + bias)``; kernel (kh, kw, filters, in) as in Keras. Per axis, with
    ``dk = d*(k-1) + 1``: ``new = n*s + max(dk - s, 0)`` for 'valid', ``n*s`` for 'same', or
    ``(n-1)*s + dk - 2*pad + output_padding`` (pad = dk//2 for 'same', 0 for 'valid') when
    ``output_padding`` is given. The leading crop ``pt`` is TensorFlow's: the 'same' padding of the
    forward convolution from the output size back to the input size.
    """

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True, groups=1, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias, **kwargs)
        if groups != 1:  # Keras configs carry groups=1; grouped transposed convolution is not in Keras 2
            raise ValueError(f"Conv2DTranspose '{self.name}': groups must be 1; got {groups!r}")
        if output_padding is not None:
            output_padding = _int_tuple(output_padding, 2, f"Conv2DTranspose '{self.name}': output_padding")
            for op, s in zip(output_padding, self.strides):
                if not 0 <= op < s:
                    raise ValueError(f"Conv2DTranspose '{self.name}': each output_padding must be >= 0 and "
                                     f"smaller than the stride; got output_padding {output_padding} with "
                                     f"strides {self.strides}")
        self.output_padding = output_padding

    def _kernel_shape(self, channels):
        return self.kernel_size + (self.filters, channels)  # (kh, kw, out, in), as Keras stores it

    def _conv(self, x, kernel):
        # Fractionally strided convolution: dilate the input by the strides and correlate with the
        # spatially flipped, in/out-swapped kernel. Padding (lo, hi) per axis places input i's
        # contribution at output i*s + p*d - pad_before, exactly as TensorFlow's conv2d_transpose.
        x = as_float(x)
        pads = []
        for n, k, s, d, L in zip(x.shape[1:-1], self.kernel_size, self.strides, self.dilation_rate,
                                 self._out_sizes(x.shape[1:-1])):
            dk = d * (k - 1) + 1
            before = max((n - 1) * s + dk - L, 0) // 2 if self.padding == "same" else 0
            lo = dk - 1 - before
            pads.append((lo, L - (n - 1) * s - lo + dk - 2))
        w = jnp.flip(kernel, axis=(0, 1)).transpose(0, 1, 3, 2)
        return jax.lax.conv_general_dilated(
            x, w.astype(x.dtype), window_strides=(1, 1), padding=pads, lhs_dilation=self.strides,
            rhs_dilation=self.dilation_rate, dimension_numbers=_DIMS[2])

    def _out_sizes(self, spatial):
        ops = self.output_padding or (None, None)
        return tuple(deconv_output_length(n, k, self.padding, op, s, d) for n, k, op, s, d in
                     zip(spatial, self.kernel_size, ops, self.strides, self.dilation_rate))

    def _last_output_shape(self, input_shape):
        return (input_shape[0],) + self._out_sizes(input_shape[1:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config["output_padding"] = list(self.output_padding) if self.output_padding else None
        return config
