"""Layer wrappers (Keras 2 semantics): TimeDistributed and Bidirectional.

A wrapper holds its inner layer as a sublayer (:meth:`Layer.add_sublayer`): the inner weights nest
under the inner layer's name in ``params``/``state``, and files name them as Keras does
(``time_distributed_1/dense_3/kernel:0``). The config holds the inner layer as
``{"class_name", "config"}``; ``from_config`` rebuilds it with :func:`arena.nn.model.deserialize_layer`.
"""
import jax
import jax.numpy as jnp

from arena.nn.layers.base import Layer, apply_layer, register, serialize_layer
from arena.nn.layers.recurrent import RNN, sequence_part, with_initial_state


def _is_model(layer):
    return hasattr(layer, "_layers")  # a Model (wrappers.py is imported before arena.nn.model)


def _model_weights(model, prefix=""):
    """``[(name relative to the model, leaf layer, weight name)]`` for every weight in ``model``, in its
    layers' order (each layer's weights in Keras order)."""
    from arena.nn.layers.core import InputLayer
    out = []
    for l in model._layers:
        if isinstance(l, InputLayer):
            continue
        if _is_model(l):
            out.extend(_model_weights(l, f"{prefix}{l.name}/"))
        else:
            out.extend((f"{prefix}{l.name}/{n}",) + l.weight_owner(n) for n in l.weight_names)
    return out


class Wrapper(Layer):
    """Base of the layer wrappers: one inner layer (or model) ``self.layer``, held as a sublayer."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise TypeError(f"{type(self).__name__} wraps a Layer or a Model; got {type(layer).__name__}")
        super().__init__(**kwargs)
        self.layer = self.add_sublayer(layer)
        if not self.trainable:
            self.trainable = False  # frozen at construction: freeze the inner layer too

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """As in Keras 2, (un)freezing the wrapper (un)freezes the inner layer: a frozen BatchNormalization
        inside then runs in inference mode and keeps its statistics."""
        self._trainable = bool(value)
        for sub in getattr(self, "_sublayers", []):
            sub.trainable = self._trainable

    # ---- weights of an inner model (a plain inner layer is handled by Layer's sublayer support) ----------------
    @property
    def weight_names(self):
        if not any(_is_model(l) for l in self._sublayers):
            return super().weight_names
        trainable, frozen = [], []
        for sub in self._sublayers:
            entries = _model_weights(sub) if _is_model(sub) else [
                (n,) + sub.weight_owner(n) for n in sub.weight_names]
            for name, leaf, w in entries:
                (trainable if w in leaf._params else frozen).append(f"{sub.name}/{name}")
        return trainable + frozen

    def weight_owner(self, name):
        sub_name, _, rest = name.partition("/")
        for sub in self._sublayers:
            if sub.name == sub_name and _is_model(sub):
                for n, leaf, w in _model_weights(sub):
                    if n == rest:
                        return leaf, w
                raise KeyError(f"Layer '{self.name}' has no weight {name!r}")
        return super().weight_owner(name)

    def get_config(self):
        return {**super().get_config(),
                "layer": serialize_layer(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from arena.nn.model import deserialize_layer
        config = dict(config)
        spec = config.pop("layer", None)
        if spec is None:
            raise ValueError(f"{cls.__name__} config {config.get('name')!r} has no 'layer' (the wrapped layer's "
                             f"{{'class_name', 'config'}})")
        return cls(deserialize_layer(spec, custom_objects), **config)


@register
class TimeDistributed(Wrapper):
    """Apply ``layer`` (any layer or model) to every step of a (batch, steps, ...) input, with the same
    weights at every step: the steps are folded into the batch, (batch * steps, ...) -> layer -> (batch,
    steps, ...).

    The input mask (batch, steps) passes through to the output (the inner layer's own ``compute_mask`` is
    not consulted, as in Keras 2). An input mask with more axes, (batch, steps, inner steps), reaches the
    inner layer as (batch * steps, inner steps). Training keys go to the inner layer; its state (batch-norm
    statistics) is threaded through.
    """

    supports_masking = True

    def _inner_shape(self, input_shape):
        if not isinstance(input_shape, tuple) or len(input_shape) < 3:
            raise ValueError(f"TimeDistributed '{self.name}' expects input of rank >= 3 (batch, steps, ...), "
                             f"applying '{self.layer.name}' to each step; got shape {input_shape}")
        return (None,) + tuple(input_shape[2:])

    def build(self, input_shape):
        self.layer._ensure_built(self._inner_shape(input_shape))

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape(self._inner_shape(input_shape))
        if isinstance(inner, list):
            raise ValueError(f"TimeDistributed '{self.name}': the wrapped '{self.layer.name}' has {len(inner)} "
                             f"outputs; TimeDistributed wraps single-output layers")
        return (input_shape[0], input_shape[1]) + tuple(inner[1:])

    def apply(self, params, state, x, *, training=False, key=None, mask=None):
        if x.ndim < 3:
            raise ValueError(f"TimeDistributed '{self.name}' expects input of rank >= 3 (batch, steps, ...); got "
                             f"shape {tuple(x.shape)}")
        b, t = x.shape[0], x.shape[1]
        flat = jnp.reshape(x, (b * t,) + tuple(x.shape[2:]))
        inner_mask = None
        if mask is not None and jnp.ndim(mask) > 2:
            inner_mask = jnp.reshape(mask, (b * t,) + tuple(mask.shape[2:]))
        inner = self.layer
        old = state.get(inner.name, {})
        y, new = apply_layer(inner, params[inner.name], old, flat, training=training, key=key, mask=inner_mask)
        if isinstance(y, (list, tuple)):
            raise ValueError(f"TimeDistributed '{self.name}': the wrapped '{inner.name}' returned {len(y)} outputs; "
                             f"TimeDistributed wraps single-output layers")
        if _is_model(inner) and not inner.trainable:
            from arena.nn.model import _runtime_moves
            new = _runtime_moves(inner, old, new)  # a frozen model keeps its statistics (as in a graph)
        return jnp.reshape(y, (b, t) + tuple(y.shape[1:])), {**state, inner.name: new}


@register
class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards over the steps and merges the two:
    ``merge_mode`` 'concat' (default; features concatenated), 'sum', 'mul', 'ave', or None (a list of
    both outputs). With ``return_sequences`` the backward outputs are put back in time order and
    masked steps output zeros (as Keras). Weights: the forward layer's then the backward's, named
    ``bidirectional_1/forward_lstm_1/kernel:0`` as Keras names them."""

    supports_masking = True
    _merge_modes = ("concat", "sum", "mul", "ave", None)

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, RNN):
            raise ValueError(f"Bidirectional '{self.name}' wraps a recurrent layer (SimpleRNN, LSTM, GRU, RNN); got "
                             f"{layer!r}")
        if merge_mode not in self._merge_modes:
            raise ValueError(f"Bidirectional '{self.name}': merge_mode must be one of {self._merge_modes}; got "
                             f"{merge_mode!r}")
        self.merge_mode = merge_mode
        self.layer = layer
        config = layer.get_config()
        cells = {type(layer.cell).__name__: type(layer.cell)}  # a custom cell is rebuilt by its class

        def copy(**changes):
            return type(layer).from_config({**config, **changes}, custom_objects=cells)
        forward = copy(name=f"forward_{layer.name}")
        if backward_layer is None:
            backward = copy(name=f"backward_{layer.name}", go_backwards=not layer.go_backwards)
        else:
            backward = backward_layer
            if backward.go_backwards == layer.go_backwards:
                raise ValueError(f"Bidirectional '{self.name}': backward_layer must run the other way "
                                 f"(go_backwards={not layer.go_backwards})")
        for rnn in (forward, backward):
            rnn.zero_output_for_mask = rnn.return_sequences
        self.forward_layer = self.add_sublayer(forward)
        self.backward_layer = self.add_sublayer(backward)
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self._initial_weights = weights

    def __call__(self, inputs, initial_state=None, **kwargs):
        """``layer(x)``, or ``layer(x, initial_state=[*forward states, *backward states])``."""
        return super().__call__(with_initial_state(self, inputs, initial_state), **kwargs)

    def _halves(self, items):
        """``[sequence, *states]`` split into the forward layer's and the backward layer's inputs."""
        if not isinstance(items, list):
            return items, items
        seq, states = items[0], list(items[1:])
        if len(states) % 2:
            raise ValueError(f"Bidirectional '{self.name}': initial states come in pairs (the forward layer's, then "
                             f"the backward layer's); got {len(states)}")
        half = len(states) // 2
        return [seq, *states[:half]], [seq, *states[half:]]

    def build(self, input_shape):
        forward_shape, backward_shape = self._halves(input_shape)
        self.forward_layer._ensure_built(forward_shape)
        self.backward_layer._ensure_built(backward_shape)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def apply(self, params, state, x, *, training=False, key=None, mask=None):
        kf, kb = jax.random.split(key) if key is not None else (None, None)
        f, b = self.forward_layer, self.backward_layer
        xf, xb = self._halves(list(x) if isinstance(x, (list, tuple)) else x)
        mask = sequence_part(mask)
        yf, sf = apply_layer(f, params[f.name], state[f.name], xf, training=training, key=kf, mask=mask)
        yb, sb = apply_layer(b, params[b.name], state[b.name], xb, training=training, key=kb, mask=mask)
        states = []
        if self.return_state:
            yf, states = yf[0], yf[1:] + yb[1:]
            yb = yb[0]
        if self.return_sequences:
            yb = jnp.flip(yb, axis=1)
        y = self._merge(yf, yb)
        out = ([y] if not isinstance(y, list) else y) + states if self.return_state else y
        return out, {**state, f.name: sf, b.name: sb}

    def _merge(self, yf, yb):
        if self.merge_mode == "concat":
            return jnp.concatenate([yf, yb], axis=-1)
        if self.merge_mode == "sum":
            return yf + yb
        if self.merge_mode == "mul":
            return yf * yb
        if self.merge_mode == "ave":
            return (yf + yb) / 2
        return [yf, yb]

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            shape, states = shape[0], shape[1:] * 2
        if self.merge_mode == "concat":
            out = [shape[:-1] + (2 * shape[-1],)]
        elif self.merge_mode is None:
            out = [shape, shape]
        else:
            out = [shape]
        out += states
        return out if len(out) > 1 else out[0]

    def compute_mask(self, inputs, mask=None):
        out = sequence_part(mask) if self.return_sequences else None
        n_out = 2 if self.merge_mode is None else 1
        n_states = 2 * len(self.forward_layer.cell.state_size) if self.return_state else 0
        masks = [out] * n_out + [None] * n_states
        return masks if len(masks) > 1 else masks[0]

    def get_config(self):
        config = {**super().get_config(), "merge_mode": self.merge_mode,
                  "layer": serialize_layer(self.layer)}
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from arena.nn.model import deserialize_layer
        config = dict(config)
        config["layer"] = deserialize_layer(config["layer"], custom_objects)
        config.pop("backward_layer", None)
        return cls(**config)
