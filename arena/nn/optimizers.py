"""Keras-named optimizers built on optax.

Each optimizer object is a small configuration that ``build()``s an
``optax.GradientTransformation``: gradient clipping (``clipvalue``,
``clipnorm`` per weight tensor as in Keras, ``global_clipnorm``), the optax
rule with its learning rate injected as a hyperparameter (so callbacks can read
and change it), Keras' ``decay`` (lr / (1 + decay * iterations)), and Keras 3's ``use_ema`` moving average of the
weights (:func:`weights_ema`). ``learning_rate`` may also be a schedule: one of
:mod:`arena.nn.schedules` (Keras' schedules, saved with the model) or any optax schedule (a bare
function: it trains the same but cannot be saved).
"""
import math
import numbers
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from arena import checks
from arena.nn import schedules  # also reachable as arena.nn.optimizers.schedules, as in Keras
from arena.utils.signature import accepted_arguments


def _clip_each_by_norm(max_norm):
    def clip(g):
        norm = jnp.sqrt(jnp.sum(jnp.square(g)))
        return jnp.where(norm > max_norm, g * (max_norm / norm), g)
    return optax.stateless(lambda updates, params=None: jax.tree_util.tree_map(clip, updates))


class EmaState(NamedTuple):
    """The moving average of the weights an optimizer trains (``use_ema``) and the steps it has seen."""
    count: jax.Array
    ema: optax.Params


def weights_ema(momentum, overwrite_frequency=None):
    """Keras 3's ``use_ema`` as an optax transformation, the last of a chain: after each step
    ``ema = momentum * ema + (1 - momentum) * weights`` (the first step copies the weights); every
    ``overwrite_frequency`` steps (None: never) the weights are replaced by their average. Training
    is unchanged otherwise; :func:`ema_weights` reads the averages out of the state."""
    def init(params):
        return EmaState(jnp.zeros((), jnp.int32), jax.tree_util.tree_map(jnp.zeros_like, params))

    def update(updates, state, params=None):
        if params is None:
            raise ValueError("use_ema needs the weights: call update(gradients, state, params)")
        m = jnp.where(state.count == 0, 0.0, momentum)
        ema = jax.tree_util.tree_map(lambda e, p, u: (m * e + (1 - m) * (p + u)).astype(e.dtype),
                                     state.ema, params, updates)
        count = state.count + 1
        if overwrite_frequency:
            now = count % overwrite_frequency == 0
            updates = jax.tree_util.tree_map(lambda u, p, e: jnp.where(now, e - p, u).astype(u.dtype),
                                             updates, params, ema)
        return updates, EmaState(count, ema)
    return optax.GradientTransformation(init, update)


def ema_weights(opt_state, params):
    """``params`` with every weight that ``opt_state`` averages (an optimizer built with ``use_ema``)
    replaced by its moving average (frozen weights, and all before the first step, stay as they
    are); None when the state holds no average."""
    found = [s for s in jax.tree_util.tree_leaves(opt_state, is_leaf=lambda n: isinstance(n, EmaState))
             if isinstance(s, EmaState)]
    if not found:
        return None
    flat, tree = jax.tree_util.tree_flatten(params)
    averages = tree.flatten_up_to(found[0].ema)  # a frozen weight's place holds optax's MaskedNode
    started = found[0].count > 0
    return tree.unflatten([p if isinstance(e, optax.MaskedNode) else jnp.where(started, e, p)
                           for p, e in zip(flat, averages)])


class Optimizer:
    """Base class; subclasses give ``_factory(learning_rate, **hyper)`` returning an optax transform.

    Every optimizer takes Keras' ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``decay`` and Keras
    3's ``use_ema`` / ``ema_momentum`` / ``ema_overwrite_frequency``: with ``use_ema`` the optimizer
    keeps a moving average of the weights it trains; ``fit`` puts the averages into the model after
    its last epoch, and the ``SwapEMAWeights`` callback swaps them in for evaluation and callbacks."""

    _decay_scales_gradient = False  # where Keras' decay factor goes (see build)

    def __init__(self, learning_rate, clipnorm=None, clipvalue=None, global_clipnorm=None, decay=0.0,
                 lr=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, **hyper):
        if lr is not None:  # Keras 2 spelling
            learning_rate = lr
        if not callable(learning_rate) and (isinstance(learning_rate, bool) or not isinstance(
                learning_rate, numbers.Real) or not math.isfinite(learning_rate) or learning_rate < 0):
            raise ValueError(f"{type(self).__name__}: learning_rate must be a finite non-negative number or a "
                             f"schedule (arena.nn.schedules, or an optax schedule); got {learning_rate!r:.200}")
        self.learning_rate = learning_rate
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.decay = float(decay)
        name = type(self).__name__
        self.use_ema = bool(use_ema)
        self.ema_momentum = checks.number(ema_momentum, f"{name}: ema_momentum", 0, 1, max_open=True)
        self.ema_overwrite_frequency = None if ema_overwrite_frequency is None else checks.integer(
            ema_overwrite_frequency, f"{name}: ema_overwrite_frequency", 1)
        self.hyper = hyper

    def _factory(self, learning_rate, **hyper):
        raise NotImplementedError

    def build(self):
        parts = []
        if self.clipvalue is not None:
            parts.append(optax.clip(self.clipvalue))
        if self.clipnorm is not None:
            parts.append(_clip_each_by_norm(self.clipnorm))
        if self.global_clipnorm is not None:
            parts.append(optax.clip_by_global_norm(self.global_clipnorm))
        rule = optax.inject_hyperparams(self._factory)(learning_rate=self.learning_rate, **self.hyper)
        if self.decay:
            d = self.decay
            decay = optax.scale_by_schedule(lambda count: 1.0 / (1.0 + d * count))
            # Keras multiplies the learning rate by the decay factor: for SGD (linear in the gradient,
            # momentum included) that is scaling the gradient; for the adaptive rules, the step.
            parts.extend([decay, rule] if self._decay_scales_gradient else [rule, decay])
        else:
            parts.append(rule)
        if self.use_ema:
            parts.append(weights_ema(self.ema_momentum, self.ema_overwrite_frequency))
        return optax.chain(*parts)

    @property
    def lr(self):
        return self.learning_rate

    def get_config(self):
        """The settings; a schedule of :mod:`arena.nn.schedules` as its ``{class_name, config}`` dict,
        an optax schedule (a bare function, nothing to store) as None."""
        lr = self.learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif callable(lr):
            lr = None
        return {"name": type(self).__name__, "learning_rate": lr, "decay": self.decay,
                "clipnorm": self.clipnorm, "clipvalue": self.clipvalue,
                "global_clipnorm": self.global_clipnorm, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum, "ema_overwrite_frequency": self.ema_overwrite_frequency,
                **self.hyper}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The optimizer ``get_config`` describes; a dict ``learning_rate`` is a schedule's config
        (:func:`arena.nn.schedules.deserialize`)."""
        config = {k: v for k, v in config.items() if k != "name"}
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)


# optax >= 0.2 builds ``InjectStatefulHyperparamsState`` (InjectHyperparamsState is a separate,
# older class there), so the learning rate is looked up under either.
_HYPER_STATE_TYPES = tuple(t for t in (getattr(optax, "InjectHyperparamsState", None),
                                       getattr(optax, "InjectStatefulHyperparamsState", None)) if t is not None)


def get_learning_rate(opt_state):
    """The learning-rate hyperparameter held in an optimizer state (None if there is none)."""
    for leaf in _hyper_states(opt_state):
        return leaf.hyperparams["learning_rate"]
    return None


def set_learning_rate(opt_state, value):
    """A copy of ``opt_state`` with a new learning rate."""
    found = []

    def fix(node):
        if isinstance(node, _HYPER_STATE_TYPES):
            found.append(node)
            hp = dict(node.hyperparams)
            hp["learning_rate"] = jnp.asarray(value, dtype=jnp.asarray(hp["learning_rate"]).dtype)
            return node._replace(hyperparams=hp)
        return node
    new = jax.tree_util.tree_map(fix, opt_state, is_leaf=lambda n: isinstance(n, _HYPER_STATE_TYPES))
    if not found:
        raise ValueError("This optimizer has no settable learning rate (it was given as a raw optax "
                         "transformation); use an arena optimizer such as Adam(learning_rate=...)")
    if any("learning_rate" in getattr(node, "hyperparams_states", {}) for node in found):
        # optax recomputes a scheduled rate from the step count at every update: a value set here
        # would silently be replaced at the next step.
        raise ValueError("This optimizer's learning rate is a schedule, which sets the rate at every step; it "
                         "cannot be set by hand. Compile with a number as learning_rate to change it yourself")
    return new


def _hyper_states(tree):
    leaves = jax.tree_util.tree_leaves(tree, is_leaf=lambda n: isinstance(n, _HYPER_STATE_TYPES))
    return [l for l in leaves if isinstance(l, _HYPER_STATE_TYPES)]


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum (Keras default lr 0.01)."""

    _decay_scales_gradient = True

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        super().__init__(learning_rate, **kwargs)

    def _factory(self, learning_rate):
        if not self.momentum:
            return optax.sgd(learning_rate)
        # Keras' velocity is in parameter units, v = momentum * v - lr * g; p += v (Nesterov:
        # p += momentum * v - lr * g), so a learning rate changed by a callback or by decay acts on
        # new gradients only. (optax.sgd applies the current rate to the whole accumulated trace.)
        return optax.chain(optax.scale(-learning_rate), optax.trace(decay=self.momentum, nesterov=self.nesterov))

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """RMSprop with Keras' epsilon outside the square root (lr 0.001, rho 0.9)."""

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-8, momentum=0.0, centered=False, **kwargs):
        self.rho, self.epsilon, self.momentum, self.centered = rho, epsilon, momentum, centered
        super().__init__(learning_rate, **kwargs)

    def _factory(self, learning_rate):
        return optax.rmsprop(learning_rate, decay=self.rho, eps=self.epsilon, eps_in_sqrt=False,
                             centered=self.centered, momentum=self.momentum or None)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon,
                "momentum": self.momentum, "centered": self.centered}


class Adam(Optimizer):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, amsgrad=False, **kwargs):
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad
        super().__init__(learning_rate, **kwargs)

    def _factory(self, learning_rate):
        rule = optax.amsgrad if self.amsgrad else optax.adam
        return rule(learning_rate, b1=self.beta_1, b2=self.beta_2, eps=self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class Adamax(Adam):
    def __init__(self, learning_rate=0.002, **kwargs):
        super().__init__(learning_rate, **kwargs)

    def _factory(self, learning_rate):
        return optax.adamax(learning_rate, b1=self.beta_1, b2=self.beta_2, eps=self.epsilon)


class Nadam(Adam):
    def __init__(self, learning_rate=0.002, **kwargs):
        super().__init__(learning_rate, **kwargs)

    def _factory(self, learning_rate):
        return optax.nadam(learning_rate, b1=self.beta_1, b2=self.beta_2, eps=self.epsilon)


class Adagrad(Optimizer):
    def __init__(self, learning_rate=0.01, initial_accumulator_value=0.0, epsilon=1e-7, **kwargs):
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon
        super().__init__(learning_rate, **kwargs)

    def _factory(self, learning_rate):
        return optax.adagrad(learning_rate, initial_accumulator_value=self.initial_accumulator_value,
                             eps=self.epsilon)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    def __init__(self, learning_rate=1.0, rho=0.95, epsilon=1e-7, **kwargs):
        self.rho, self.epsilon = rho, epsilon
        super().__init__(learning_rate, **kwargs)

    def _factory(self, learning_rate):
        return optax.adadelta(learning_rate, rho=self.rho, eps=self.epsilon)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class OptaxOptimizer(Optimizer):
    """Wraps a ready optax transformation (its learning rate cannot be changed by callbacks)."""

    def __init__(self, transform):
        self.transform = transform
        super().__init__(0.0)

    def build(self):
        return self.transform

    def get_config(self):
        return {"name": "OptaxOptimizer"}


class LossScaleOptimizer(Optimizer):
    """Dynamic loss scaling around ``inner_optimizer`` (Keras 3's ``LossScaleOptimizer``): the loss
    is multiplied by a scale before it is differentiated and the gradients divided by it after, so
    small float16 gradients do not round to zero. A step whose gradients are not finite is skipped
    (weights and optimizer state stay) and halves the scale; ``dynamic_growth_steps`` finite steps in
    a row double it. ``compile`` wraps the optimizer of a model with float16 layers in one."""

    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15, dynamic_growth_steps=2000, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"LossScaleOptimizer: unexpected keyword argument(s) {sorted(kwargs)}")
        inner = get(inner_optimizer)
        if isinstance(inner, LossScaleOptimizer):
            raise ValueError("LossScaleOptimizer: the inner optimizer is already a LossScaleOptimizer")
        self.inner_optimizer = inner
        self.initial_scale = checks.number(initial_scale, "LossScaleOptimizer: initial_scale", 1.0)
        self.dynamic_growth_steps = checks.integer(dynamic_growth_steps, "LossScaleOptimizer: dynamic_growth_steps",
                                                   1)

    def __getattr__(self, name):  # learning_rate, use_ema, ...: the inner optimizer's
        if name == "inner_optimizer":
            raise AttributeError(name)
        return getattr(self.inner_optimizer, name)

    def build(self):
        return self.inner_optimizer.build()

    def get_config(self):
        inner = self.inner_optimizer
        return {"name": "LossScaleOptimizer", "inner_optimizer": {"class_name": type(inner).__name__,
                                                                  "config": inner.get_config()},
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = {k: v for k, v in config.items() if k not in ("name", "dynamic")}
        return cls(**config)


_ALL = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamax": Adamax, "nadam": Nadam,
        "adagrad": Adagrad, "adadelta": Adadelta}


def get(identifier):
    """Resolve a name ('adam'), a config dict, an Optimizer or an optax transformation."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, optax.GradientTransformation):
        return OptaxOptimizer(identifier)
    if isinstance(identifier, str) and identifier.lower() in _ALL:
        return _ALL[identifier.lower()]()
    if isinstance(identifier, dict):
        name = str(identifier.get("class_name", identifier.get("name", ""))).lower()
        if name == "lossscaleoptimizer":
            return LossScaleOptimizer.from_config(identifier.get("config", identifier))
        if name in _ALL:
            accepted = accepted_arguments(_ALL[name])
            cfg = {k: v for k, v in identifier.get("config", identifier).items() if k in accepted}
            return _ALL[name].from_config(cfg)
    raise ValueError(f"Unknown optimizer {identifier!r}; expected one of {sorted(_ALL)}, an arena optimizer "
                     f"or an optax GradientTransformation")
