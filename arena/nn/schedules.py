"""Keras' learning-rate schedules (``keras.optimizers.schedules``), serializable.

A schedule maps the optimizer's step count (0 for the first update) to the learning rate of that
step. Pass one as an optimizer's ``learning_rate``: ``RMSprop(CosineDecay(1e-3, 1000))``. Unlike an
opaque optax schedule it has a config, so ``model.save`` stores it and ``load_model`` rebuilds it.
The arguments, defaults and formulas are Keras 3's; values are float32, as Keras computes them.

:func:`deserialize` reads the Keras 2 form ``{"class_name", "config"}`` and Keras 3's
``{"module", "class_name", "config", "registered_name"}``, and builds only the classes defined here
(or those the caller passes in ``custom_objects``): a file cannot name code to run.
"""
import inspect
import json
import math
import numbers

import jax.numpy as jnp
import numpy as np
import optax

from arena import checks

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
           "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts", "serialize", "deserialize"]

MAX_BOUNDARIES = 100_000  # PiecewiseConstantDecay: more is a damaged or hostile config, not a schedule


class LearningRateSchedule:
    """Base class of the schedules: ``__call__(step)`` returns the learning rate at ``step`` as a
    float32 scalar and must be traceable by ``jax.jit`` (optax calls it inside the training step);
    ``get_config()`` returns the constructor's arguments, ``from_config(config)`` rebuilds from them.
    Two schedules are equal when they are of the same class with the same config."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning-rate schedule {type(self).__name__} must define __call__(step)")

    def get_config(self):
        raise NotImplementedError(f"Learning-rate schedule {type(self).__name__} must define get_config() "
                                  f"to be saved")

    @classmethod
    def from_config(cls, config):
        if not isinstance(config, dict):
            raise ValueError(f"{cls.__name__}.from_config: config must be a dict; got {type(config).__name__}")
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash((type(self).__name__, json.dumps(self.get_config(), sort_keys=True, default=repr)))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# ---- argument checks: each message names the schedule, the argument and the bad value ----------------
def _rate(value, what):
    return checks.number(value, what, 0)


def _steps(value, what, positive=True):
    """A step count: a finite number (> 0, or >= 0); an int stays an int so the config reads as given."""
    x = checks.number(value, what, 0, min_open=positive)
    return int(value) if isinstance(value, numbers.Integral) else x


def _flag(value, what):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{what} must be True or False; got {value!r:.80}")


def _name(value, default, schedule):
    if value is None:  # tf.keras writes name=None
        return default
    if not isinstance(value, str) or len(value) > 200:
        raise ValueError(f"{schedule}: name must be a string (at most 200 characters); got {value!r:.80}")
    return value


def _boundary(value, what):
    x = checks.number(value, what)
    return int(value) if isinstance(value, numbers.Integral) else x


def _numbers(value, what, check, most):
    """A list of numbers, each checked; its length is bounded before anything is converted."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{what} must be a list of numbers; got {value!r:.80}")
    if len(value) > most:
        raise ValueError(f"{what} holds {len(value)} entries; at most {most} are supported")
    return [check(v, f"{what}[{i}]") for i, v in enumerate(value)]


def _f32(x):
    return jnp.asarray(x, jnp.float32)


def _as_float(step):
    # Keras casts the step to the learning rate's dtype (float32) before any arithmetic.
    return jnp.asarray(step).astype(jnp.float32)


def _floor_ratio(step, steps):
    """``floor(step / steps)``, exact where ``step`` is a multiple of ``steps``: under jit XLA turns a
    division by a constant into a multiplication by its reciprocal, which can land one ulp below the
    integer (a staircase would then drop one step late)."""
    q = jnp.floor(step / steps)
    q = jnp.where(q * steps > step, q - 1, q)
    return jnp.where((q + 1) * steps <= step, q + 1, q)


# ---- the schedules -----------------------------------------------------------------------------------
class _DecayOverSteps(LearningRateSchedule):
    """What ExponentialDecay and InverseTimeDecay share: their arguments, and the ratio
    ``step / decay_steps`` (floored with ``staircase``) that their formulas take."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        s = type(self).__name__
        self.initial_learning_rate = _rate(initial_learning_rate, f"{s}: initial_learning_rate")
        self.decay_steps = _steps(decay_steps, f"{s}: decay_steps")
        self.decay_rate = checks.number(decay_rate, f"{s}: decay_rate", 0)
        self.staircase = _flag(staircase, f"{s}: staircase")
        self.name = _name(name, s, s)

    def _ratio(self, step):
        return _floor_ratio(step, self.decay_steps) if self.staircase else step / self.decay_steps

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_DecayOverSteps):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``; with ``staircase`` the
    exponent is floored, so the rate drops every ``decay_steps`` steps."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        step = _as_float(step)
        if self.decay_rate > 0 and not self.staircase:
            return _f32(optax.exponential_decay(self.initial_learning_rate, float(self.decay_steps),
                                                self.decay_rate)(step))
        # Keras' formula where optax differs: optax treats decay_rate=0 as "no decay" (Keras: 0 after
        # step 0) and its staircase floors an inexact quotient.
        return _f32(self.initial_learning_rate * jnp.power(jnp.float32(self.decay_rate), self._ratio(step)))


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while ``boundaries[i-1] < step <=
    boundaries[i]``, ``values[-1]`` after the last boundary. ``boundaries`` must increase strictly and
    ``values`` hold one entry more."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        s = type(self).__name__
        self.boundaries = _numbers(boundaries, f"{s}: boundaries", _boundary, MAX_BOUNDARIES)
        self.values = _numbers(values, f"{s}: values", _rate, MAX_BOUNDARIES + 1)
        for i, (a, b) in enumerate(zip(self.boundaries, self.boundaries[1:])):
            if not a < b:
                raise ValueError(f"{s}: boundaries must increase strictly; got boundaries[{i}]={a!r} then "
                                 f"boundaries[{i + 1}]={b!r}")
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(f"{s}: values must hold one entry more than boundaries; got {len(self.boundaries)} "
                             f"boundaries and {len(self.values)} values")
        self.name = _name(name, "PiecewiseConstant", s)

    def __call__(self, step):
        step = jnp.asarray(step)
        bounds = np.asarray(self.boundaries, np.float64)
        if jnp.issubdtype(step.dtype, jnp.integer):
            # Keras casts the boundaries to an integer step's dtype (truncating); clipping to its range
            # keeps a far boundary far instead of wrapping around.
            info = np.iinfo(step.dtype)
            bounds = np.clip(np.trunc(bounds), info.min, info.max).astype(step.dtype)
        else:
            bounds = bounds.astype(np.float32)
            step = step.astype(jnp.float32)
        # The number of boundaries below the step is the index of its value (values[0] up to and at
        # the first boundary).
        index = jnp.sum(step > jnp.asarray(bounds)) if len(bounds) else 0
        return jnp.asarray(self.values, jnp.float32)[index]

    def get_config(self):
        return {"boundaries": list(self.boundaries), "values": list(self.values), "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From ``initial_learning_rate`` to ``end_learning_rate`` over ``decay_steps`` steps along
    ``(initial - end) * (1 - step / decay_steps) ** power + end``, then constant; with ``cycle`` the
    decay restarts over a horizon stretched to the next multiple of ``decay_steps``."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        s = type(self).__name__
        self.initial_learning_rate = _rate(initial_learning_rate, f"{s}: initial_learning_rate")
        self.decay_steps = _steps(decay_steps, f"{s}: decay_steps")
        self.end_learning_rate = _rate(end_learning_rate, f"{s}: end_learning_rate")
        self.power = checks.number(power, f"{s}: power", 0)
        self.cycle = _flag(cycle, f"{s}: cycle")
        self.name = _name(name, "PolynomialDecay", s)

    def __call__(self, step):
        # Keras' formula, not optax.polynomial_schedule: under jit, 1 - step / decay_steps at the end
        # of the decay can come out as -3e-8 (a reciprocal multiply fused with the subtraction), and a
        # fractional power of it is NaN; optax also has no cycle.
        step = _as_float(step)
        decay_steps = jnp.float32(self.decay_steps)
        if self.cycle:  # stretch the horizon to the next multiple of decay_steps (exactly, see _floor_ratio)
            decay_steps = decay_steps * jnp.where(step == 0, 1.0, -_floor_ratio(-step, decay_steps))
        else:
            step = jnp.minimum(step, decay_steps)
        # At (or past) the end exactly 0: the quotient under jit can miss 1 by an ulp either way.
        left = jnp.where(step >= decay_steps, 0.0, jnp.maximum(1 - step / decay_steps, 0.0))
        init, end = jnp.float32(self.initial_learning_rate), jnp.float32(self.end_learning_rate)
        return _f32((init - end) * jnp.power(left, jnp.float32(self.power)) + end)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class InverseTimeDecay(_DecayOverSteps):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``; with ``staircase`` the
    ratio ``step / decay_steps`` is floored."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):  # optax has no inverse-time schedule
        return _f32(self.initial_learning_rate / (1 + self.decay_rate * self._ratio(_as_float(step))))


class CosineDecay(LearningRateSchedule):
    """A half cosine from ``initial_learning_rate`` down to ``alpha * initial_learning_rate`` over
    ``decay_steps`` steps, then constant. With ``warmup_target``, first a linear warm-up from
    ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps`` steps, then the cosine from
    ``warmup_target`` down to ``alpha * warmup_target``."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        s = type(self).__name__
        self.initial_learning_rate = _rate(initial_learning_rate, f"{s}: initial_learning_rate")
        self.decay_steps = _steps(decay_steps, f"{s}: decay_steps")
        self.alpha = checks.number(alpha, f"{s}: alpha", 0, 1)
        self.name = _name(name, "CosineDecay", s)
        self.warmup_target = None if warmup_target is None else _rate(warmup_target, f"{s}: warmup_target")
        self.warmup_steps = _steps(warmup_steps, f"{s}: warmup_steps", positive=False)

    def __call__(self, step):
        step = _as_float(step)
        if self.warmup_target is None:
            return _f32(optax.cosine_decay_schedule(self.initial_learning_rate, float(self.decay_steps),
                                                    self.alpha)(step))
        # optax's warmup_cosine_decay_schedule counts the warm-up inside decay_steps and ends at an
        # absolute value: not Keras' formula.
        init, target, warmup = self.initial_learning_rate, self.warmup_target, self.warmup_steps
        step = jnp.minimum(step, self.decay_steps + warmup)
        warming = (target - init) * (step / max(warmup, 1e-30)) + init  # max: no 0/0 when warmup_steps=0
        cosine = 0.5 * (1.0 + jnp.cos(jnp.float32(math.pi) * ((step - warmup) / self.decay_steps)))
        decaying = target * ((1 - self.alpha) * cosine + self.alpha)
        return _f32(jnp.where(step < warmup, warming, decaying))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): the first period lasts ``first_decay_steps`` steps,
    each next one ``t_mul`` times longer and starting from ``m_mul`` times the previous peak; within
    a period the rate falls along a half cosine to ``alpha * initial_learning_rate``."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name="SGDRDecay"):
        s = type(self).__name__
        self.initial_learning_rate = _rate(initial_learning_rate, f"{s}: initial_learning_rate")
        self.first_decay_steps = _steps(first_decay_steps, f"{s}: first_decay_steps")
        self.t_mul = checks.number(t_mul, f"{s}: t_mul", 0, min_open=True)
        self.m_mul = checks.number(m_mul, f"{s}: m_mul", 0)
        self.alpha = checks.number(alpha, f"{s}: alpha", 0, 1)
        self.name = _name(name, "SGDRDecay", s)

    def __call__(self, step):
        # optax's sgdr_schedule joins explicit periods and scales alpha with the restarts: Keras'
        # closed form here, in float32 like Keras.
        fraction = _as_float(step) / jnp.float32(self.first_decay_steps)
        t_mul = np.float32(self.t_mul)
        if t_mul == 1:  # Keras compares in float32 too
            restarts = _floor_ratio(_as_float(step), jnp.float32(self.first_decay_steps))
            fraction = fraction - restarts
        else:
            restarts = jnp.floor(jnp.log(1.0 - fraction * (1.0 - t_mul)) / jnp.log(t_mul))
            done = (1.0 - jnp.power(t_mul, restarts)) / (1.0 - t_mul)  # the periods before, in first periods
            fraction = (fraction - done) / jnp.power(t_mul, restarts)
        cosine = 0.5 * jnp.power(jnp.float32(self.m_mul), restarts) * (1.0 + jnp.cos(jnp.float32(math.pi) * fraction))
        alpha = jnp.float32(self.alpha)
        return _f32(jnp.float32(self.initial_learning_rate) * ((1 - alpha) * cosine + alpha))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self.t_mul, "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


# ---- serialization ---------------------------------------------------------------------------------------
_REGISTRY = {c.__name__: c for c in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay,
                                     CosineDecay, CosineDecayRestarts)}


def serialize(schedule):
    """``{"class_name": ..., "config": {...}}`` (Keras 2's form; :func:`deserialize` reads it back)."""
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"serialize: expected a LearningRateSchedule; got {type(schedule).__name__} (an optax "
                        f"schedule is a bare function with no config and cannot be stored)")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config, custom_objects=None):
    """A schedule from ``serialize``'s dict, Keras 2's or Keras 3's. The class is looked up only among
    this module's schedules and the ``LearningRateSchedule`` subclasses in ``custom_objects``
    (``{name: class}``); anything else is a ``ValueError`` naming it. Config keys the class does not
    take, and values that are not finite numbers where numbers belong, are errors too."""
    if isinstance(config, LearningRateSchedule):
        return config
    if not isinstance(config, dict):
        raise ValueError(f"A learning-rate schedule config must be a dict with 'class_name' and 'config'; "
                         f"got {type(config).__name__}")
    name = config.get("class_name")
    if not isinstance(name, str):
        raise ValueError(f"A learning-rate schedule config needs a 'class_name' string; got {name!r:.80}")
    cls = (custom_objects or {}).get(name)
    if not (isinstance(cls, type) and issubclass(cls, LearningRateSchedule)):
        # Keras 3 names a registered custom class in 'registered_name' ("package>Name"); ours have none.
        registered = config.get("registered_name")
        cls = _REGISTRY.get(name) if registered in (None, name) else None
        if cls is None:
            raise ValueError(f"Unknown learning-rate schedule {(registered or name)!r:.80}; Arena rebuilds "
                             f"{sorted(_REGISTRY)} (pass your own class as custom_objects={{name: class}})")
    args = config.get("config", {})
    if not isinstance(args, dict):
        raise ValueError(f"The config of learning-rate schedule {name} must be a dict; got {type(args).__name__}")
    if cls in _REGISTRY.values():
        unknown = sorted(str(k) for k in args if k not in inspect.signature(cls).parameters)
        if unknown:
            raise ValueError(f"{name}: unknown arguments {unknown} in its config")
    try:
        return cls.from_config(dict(args))
    except TypeError as e:  # a missing argument
        raise ValueError(f"{name} cannot be built from its config: {e}") from None
