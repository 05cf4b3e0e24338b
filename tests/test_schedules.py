"""Learning-rate schedules (arena.nn.schedules): Keras 3's formulas, jit, configs, files, callbacks."""
import json
import re
import math
import warnings

import h5py
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import arena
from arena.callbacks import LearningRateScheduler, ReduceLROnPlateau
from arena.nn import Dense, Sequential, load_model, optimizers
from arena.nn import schedules as S
from arena.nn.layers.base import clear_session


@pytest.fixture(autouse=True)
def fresh_names():
    clear_session()
    arena.set_seed(0)
    yield


# ---- numpy re-implementations of Keras 3's formulas (float64) ----------------------------------------
def np_exponential(t, lr, ds, rate, staircase=False):
    p = np.floor(t / ds) if staircase else t / ds
    return lr * rate ** p


def np_piecewise(t, boundaries, values):
    for b, v in zip(boundaries, values):
        if t <= b:
            return v
    return values[-1]


def np_polynomial(t, lr, ds, end=0.0001, power=1.0, cycle=False):
    if cycle:
        ds = ds * (1.0 if t == 0 else math.ceil(t / ds))
    else:
        t = min(t, ds)
    return (lr - end) * (1 - t / ds) ** power + end


def np_inverse_time(t, lr, ds, rate, staircase=False):
    p = np.floor(t / ds) if staircase else t / ds
    return lr / (1 + rate * p)


def np_cosine(t, lr, ds, alpha=0.0, warmup_target=None, warmup_steps=0):
    def decay(t, peak):
        return peak * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * t / ds)) + alpha)
    if warmup_target is None:
        return decay(min(t, ds), lr)
    t = min(t, ds + warmup_steps)
    if t < warmup_steps:
        return (warmup_target - lr) * t / warmup_steps + lr
    return decay(t - warmup_steps, warmup_target)


def np_restarts(t, lr, first, t_mul=2.0, m_mul=1.0, alpha=0.0):
    fraction = t / first
    if t_mul == 1:
        i = math.floor(fraction)
        fraction -= i
    else:
        i = math.floor(math.log(1 - fraction * (1 - t_mul)) / math.log(t_mul))
        fraction = (fraction - (1 - t_mul ** i) / (1 - t_mul)) / t_mul ** i
    return lr * ((1 - alpha) * 0.5 * m_mul ** i * (1 + math.cos(math.pi * fraction)) + alpha)


def _restart_starts(first, t_mul, until=400):
    """Steps where a geometric restart begins: there Keras' float32 log-ratio decides by rounding which
    period the step belongs to (the Keras reference values below cover those steps)."""
    starts, start, length = set(), 0.0, float(first)
    while start < until:
        start += length
        length *= t_mul
        starts.add(round(start))
    return starts


NUMPY_CASES = [
    (S.ExponentialDecay(0.1, 10, 0.5), lambda t: np_exponential(t, 0.1, 10, 0.5)),
    (S.ExponentialDecay(0.1, 30, 0.9, staircase=True), lambda t: np_exponential(t, 0.1, 30, 0.9, True)),
    (S.ExponentialDecay(2.0, 3, 0.0), lambda t: np_exponential(t, 2.0, 3, 0.0)),
    (S.ExponentialDecay(0.01, 100, 1.5), lambda t: np_exponential(t, 0.01, 100, 1.5)),
    (S.PiecewiseConstantDecay([10, 100, 250], [0.1, 0.05, 0.01, 0.001]),
     lambda t: np_piecewise(t, [10, 100, 250], [0.1, 0.05, 0.01, 0.001])),
    (S.PiecewiseConstantDecay([50], [1.0, 2.0]), lambda t: np_piecewise(t, [50], [1.0, 2.0])),
    (S.PolynomialDecay(0.1, 100), lambda t: np_polynomial(t, 0.1, 100)),
    (S.PolynomialDecay(0.1, 50, end_learning_rate=0.0, power=0.5), lambda t: np_polynomial(t, 0.1, 50, 0.0, 0.5)),
    (S.PolynomialDecay(0.1, 30, 0.01, power=2.0, cycle=True), lambda t: np_polynomial(t, 0.1, 30, 0.01, 2.0, True)),
    (S.PolynomialDecay(0.1, 7, 0.001, power=1.0, cycle=True), lambda t: np_polynomial(t, 0.1, 7, 0.001, 1.0, True)),
    (S.InverseTimeDecay(0.1, 10, 0.5), lambda t: np_inverse_time(t, 0.1, 10, 0.5)),
    (S.InverseTimeDecay(0.1, 30, 2.0, staircase=True), lambda t: np_inverse_time(t, 0.1, 30, 2.0, True)),
    (S.CosineDecay(0.1, 200), lambda t: np_cosine(t, 0.1, 200)),
    (S.CosineDecay(0.1, 150, alpha=0.2), lambda t: np_cosine(t, 0.1, 150, 0.2)),
    (S.CosineDecay(0.0, 200, alpha=0.1, warmup_target=0.3, warmup_steps=50),
     lambda t: np_cosine(t, 0.0, 200, 0.1, 0.3, 50)),
    (S.CosineDecay(0.05, 100, warmup_target=0.01, warmup_steps=30), lambda t: np_cosine(t, 0.05, 100, 0.0, 0.01, 30)),
    (S.CosineDecay(0.05, 100, warmup_target=0.1), lambda t: np_cosine(t, 0.05, 100, 0.0, 0.1, 0)),
    (S.CosineDecayRestarts(0.1, 10, t_mul=1.0, m_mul=0.9, alpha=0.1),
     lambda t: np_restarts(t, 0.1, 10, 1.0, 0.9, 0.1)),
    (S.CosineDecayRestarts(0.1, 20), lambda t: np_restarts(t, 0.1, 20)),
    (S.CosineDecayRestarts(0.1, 16, t_mul=1.5, m_mul=0.5, alpha=0.05),
     lambda t: np_restarts(t, 0.1, 16, 1.5, 0.5, 0.05)),
]
STEPS = np.arange(0, 400)


def _case_id(value):
    """A test id that is the same in every process (a function's repr holds its address, and
    pytest-xdist's workers must collect the same ids)."""
    return repr(value)[:60] if isinstance(value, S.LearningRateSchedule) or not callable(value) else "numpy"


@pytest.mark.parametrize("schedule, reference", NUMPY_CASES, ids=_case_id)
def test_schedule_matches_keras_formula(schedule, reference):
    skip = (_restart_starts(schedule.first_decay_steps, schedule.t_mul)
            if isinstance(schedule, S.CosineDecayRestarts) and schedule.t_mul != 1 else set())
    steps = [t for t in STEPS if t not in skip]
    want = np.array([reference(float(t)) for t in steps])
    jitted = jax.jit(jax.vmap(schedule))(jnp.asarray(steps, jnp.int32))  # as optax calls it: traced int32
    np.testing.assert_allclose(np.asarray(jitted, np.float64), want, rtol=2e-6, atol=1e-8)
    eager = [float(schedule(t)) for t in steps[::7]]
    np.testing.assert_allclose(eager, want[::7], rtol=2e-6, atol=1e-8)


# Reference values computed once with Keras 3.15.1 (KERAS_BACKEND=jax, each schedule called eagerly on an
# int32 step) and pasted here; the tests do not need Keras.
KERAS_STEPS = [0, 1, 5, 9, 10, 11, 15, 25, 26, 29, 30, 31, 50, 70, 99, 100, 101, 150, 1000]
KERAS_VALUES = [
    (S.ExponentialDecay(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5),
     [0.100000001, 0.0933033004, 0.0707106814, 0.0535886772, 0.0500000007, 0.0466516502, 0.0353553407, 0.0176776703,
      0.0164938495, 0.0133971674, 0.0125000002, 0.0116629135, 0.00312500005, 0.000781250012, 0.000104665407,
      9.76562515e-05, 9.11164825e-05, 3.05175786e-06, 7.88860917e-32]),
    (S.ExponentialDecay(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.96, staircase=True),
     [0.100000001, 0.100000001, 0.100000001, 0.0960000008, 0.0960000008, 0.0960000008, 0.0921600014, 0.0884735957,
      0.0884735957, 0.0849346444, 0.0849346444, 0.0849346444, 0.075144738, 0.0664832518, 0.0564673133, 0.0564673133,
      0.0564673133, 0.0424322151, 0.000303748209]),
    (S.ExponentialDecay(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.0),
     [0.100000001, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    (S.PiecewiseConstantDecay(boundaries=[10, 25, 100], values=[1.0, 0.5, 0.1, 0.01]),
     [1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.100000001, 0.100000001, 0.100000001, 0.100000001, 0.100000001, 0.100000001,
      0.100000001, 0.100000001, 0.00999999978, 0.00999999978, 0.00999999978]),
    (S.PiecewiseConstantDecay(boundaries=[10.5, 30.7], values=[0.3, 0.2, 0.1]),
     [0.300000012, 0.300000012, 0.300000012, 0.300000012, 0.300000012, 0.200000003, 0.200000003, 0.200000003,
      0.200000003, 0.200000003, 0.200000003, 0.100000001, 0.100000001, 0.100000001, 0.100000001, 0.100000001,
      0.100000001, 0.100000001, 0.100000001]),
    (S.PolynomialDecay(initial_learning_rate=0.1, decay_steps=50),
     [0.100000001, 0.0980020016, 0.0900100023, 0.0820180029, 0.080020003, 0.0780219957, 0.0700300038, 0.0500500016,
      0.0480520017, 0.0420580022, 0.0400599986, 0.0380620025, 9.99999975e-05, 9.99999975e-05, 9.99999975e-05,
      9.99999975e-05, 9.99999975e-05, 9.99999975e-05, 9.99999975e-05]),
    (S.PolynomialDecay(initial_learning_rate=0.1, decay_steps=30, end_learning_rate=0.01, power=0.5),
     [0.100000001, 0.0984872878, 0.0921583846, 0.0852994025, 0.0834846869, 0.0816240236, 0.0736396089, 0.0467423499,
      0.0428633541, 0.0264316835, 0.00999999978, 0.00999999978, 0.00999999978, 0.00999999978, 0.00999999978,
      0.00999999978, 0.00999999978, 0.00999999978, 0.00999999978]),
    (S.PolynomialDecay(initial_learning_rate=0.1, decay_steps=30, end_learning_rate=0.01, power=2.0, cycle=True),
     [0.100000001, 0.094099991, 0.0724999979, 0.0540999994, 0.049999997, 0.0460999981, 0.0324999988, 0.0125000002,
      0.0115999999, 0.0100999996, 0.00999999978, 0.0310250018, 0.0125000002, 0.0144444443, 0.0127562508, 0.0125000002,
      0.0122562507, 0.00999999978, 0.0100346021]),
    (S.InverseTimeDecay(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5),
     [0.100000001, 0.0952381045, 0.0799999982, 0.068965517, 0.0666666701, 0.0645161346, 0.0571428575, 0.0444444455,
      0.0434782617, 0.0408163257, 0.0399999991, 0.0392156877, 0.0285714287, 0.0222222228, 0.0168067235, 0.0166666675,
      0.0165289249, 0.0117647061, 0.00196078443]),
    (S.InverseTimeDecay(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=True),
     [0.100000001, 0.100000001, 0.100000001, 0.100000001, 0.0666666701, 0.0666666701, 0.0666666701, 0.0500000007,
      0.0500000007, 0.0500000007, 0.0399999991, 0.0399999991, 0.0285714287, 0.0222222228, 0.0181818176, 0.0166666675,
      0.0166666675, 0.0117647061, 0.00196078443]),
    (S.CosineDecay(initial_learning_rate=0.1, decay_steps=100),
     [0.100000001, 0.0999753252, 0.0993844196, 0.0980146825, 0.0975528285, 0.0970440432, 0.0945503265, 0.0853553414,
      0.0842273608, 0.0806453526, 0.0793892667, 0.0781041682, 0.049999997, 0.0206107404, 2.46733434e-05, 0, 0, 0, 0]),
    (S.CosineDecay(initial_learning_rate=0.1, decay_steps=100, alpha=0.1),
     [0.100000001, 0.0999777913, 0.0994459763, 0.0982132182, 0.0977975428, 0.0973396376, 0.0950952917, 0.0868198127,
      0.0858046263, 0.0825808197, 0.0814503357, 0.0802937523, 0.054999996, 0.0285496656, 0.0100222062, 0.0100000007,
      0.0100000007, 0.0100000007, 0.0100000007]),
    (S.CosineDecay(initial_learning_rate=0.0, decay_steps=80, alpha=0.05, warmup_target=0.2, warmup_steps=20),
     [0, 0.0100000007, 0.0500000007, 0.0899999961, 0.100000001, 0.110000007, 0.150000006, 0.198174596, 0.197375149,
      0.194128186, 0.192768559, 0.1912736, 0.141354918, 0.0686450675, 0.0100732436, 0.0100000007, 0.0100000007,
      0.0100000007, 0.0100000007]),
    (S.CosineDecay(initial_learning_rate=0.01, decay_steps=50, warmup_target=0.1, warmup_steps=0),
     [0.100000001, 0.0999013409, 0.0975528285, 0.0922163948, 0.0904508457, 0.0885256678, 0.0793892667, 0.049999997,
      0.0468604788, 0.037565507, 0.0345491432, 0.0315937698, 0, 0, 0, 0, 0, 0, 0]),
    (S.CosineDecayRestarts(initial_learning_rate=0.1, first_decay_steps=10),
     [0.100000001, 0.0975528285, 0.049999997, 0.00244717603, 0.100000001, 0.0993844196, 0.0853553414, 0.0146446619,
      0.00954915583, 0.00061558187, 0.100000001, 0.0998458713, 0.049999997, 0.100000001, 0.0709329993, 0.0691341683,
      0.067305848, 0.100000001, 0.0378509909]),
    (S.CosineDecayRestarts(initial_learning_rate=0.1, first_decay_steps=10, t_mul=1.0, m_mul=0.8, alpha=0.1),
     [0.100000001, 0.0977975428, 0.054999996, 0.0122024585, 0.0820000023, 0.0802380368, 0.0459999964, 0.0387999974,
      0.029900318, 0.0114095686, 0.0560800023, 0.0549523495, 0.0394912027, 0.0288743712, 0.0102956118, 0.0196636785,
      0.0194271896, 0.0131665943, 0.0100000007]),
    (S.CosineDecayRestarts(initial_learning_rate=0.1, first_decay_steps=12, t_mul=1.5, m_mul=0.5, alpha=0.05),
     [0.100000001, 0.0983814821, 0.0647939071, 0.018912429, 0.0113637941, 0.00661852164, 0.049318105, 0.0134837944,
      0.0105564399, 0.00536081521, 0.0287500005, 0.0286697056, 0.00872588158, 0.0141034005, 0.0109285731,
      0.0109127238, 0.010889004, 0.00526610995, 0.00516430987]),
]



@pytest.mark.parametrize("schedule, values", KERAS_VALUES, ids=_case_id)
def test_schedule_matches_keras(schedule, values):
    steps = jnp.asarray(KERAS_STEPS, jnp.int32)
    np.testing.assert_allclose(jax.jit(jax.vmap(schedule))(steps), values, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose([schedule(t) for t in KERAS_STEPS], values, rtol=1e-6, atol=1e-9)


# ---- a jit-traceable float32 scalar, as optax's inject_hyperparams needs -----------------------------
@pytest.mark.parametrize("schedule", [c[0] for c in KERAS_VALUES], ids=_case_id)
def test_schedule_is_a_traceable_float32_scalar(schedule):
    for step in (jnp.int32(5), jnp.float32(5.0), 5, np.int64(5)):
        value = jax.jit(schedule)(step)
        assert value.dtype == jnp.float32 and value.shape == ()
        np.testing.assert_allclose(value, schedule(5), rtol=1e-6)
    tx = optax.inject_hyperparams(optax.sgd)(learning_rate=schedule)
    state = tx.init({"w": jnp.zeros(2)})
    _, state = jax.jit(tx.update)({"w": jnp.ones(2)}, state)
    np.testing.assert_allclose(state.hyperparams["learning_rate"], schedule(0), rtol=1e-6)


def test_staircase_and_cycle_are_exact_at_multiples_under_jit():
    # Under jit XLA divides by a constant as a multiplication by its reciprocal: 150 / 30 comes out
    # as 5.0000005; the staircase must still drop exactly at multiples, and a polynomial decay must
    # reach its end value without a NaN from a fractional power of a negative rounding residue.
    staircase = S.ExponentialDecay(1.0, 30, 0.5, staircase=True)
    steps = jnp.arange(0, 3000, dtype=jnp.int32)
    want = 0.5 ** np.floor(np.arange(3000) / 30)
    np.testing.assert_allclose(jax.jit(jax.vmap(staircase))(steps), want, rtol=1e-6)
    end = jax.jit(jax.vmap(S.PolynomialDecay(0.1, 50, end_learning_rate=0.0, power=0.5)))(steps)
    assert np.all(np.isfinite(end)) and np.all(np.asarray(end)[50:] == 0)
    cycle = S.PolynomialDecay(0.1, 30, 0.01, cycle=True)
    np.testing.assert_allclose(jax.jit(cycle)(150), 0.01, rtol=1e-6)  # the end of the 5th horizon


# ---- configs ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("schedule", [c[0] for c in KERAS_VALUES] + [c[0] for c in NUMPY_CASES],
                         ids=_case_id)
def test_config_round_trips(schedule):
    config = schedule.get_config()
    again = type(schedule).from_config(json.loads(json.dumps(config)))
    assert again == schedule and again.get_config() == config and hash(again) == hash(schedule)
    stored = json.loads(json.dumps(S.serialize(schedule)))
    assert stored == {"class_name": type(schedule).__name__, "config": config}
    assert S.deserialize(stored) == schedule
    np.testing.assert_array_equal(S.deserialize(stored)(77), schedule(77))


def test_keras_names_and_defaults():
    assert S.ExponentialDecay(0.1, 10, 0.9).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9, "staircase": False,
        "name": "ExponentialDecay"}
    assert S.PiecewiseConstantDecay([1], [0.1, 0.2]).name == "PiecewiseConstant"
    assert S.PolynomialDecay(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 10, "end_learning_rate": 0.0001, "power": 1.0, "cycle": False,
        "name": "PolynomialDecay"}
    assert S.CosineDecay(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.0, "name": "CosineDecay", "warmup_target": None,
        "warmup_steps": 0}
    assert S.CosineDecayRestarts(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1, "first_decay_steps": 10, "t_mul": 2.0, "m_mul": 1.0, "alpha": 0.0,
        "name": "SGDRDecay"}
    assert S.CosineDecay(0.1, 10) != S.CosineDecay(0.1, 11) and S.CosineDecay(0.1, 10) != S.PolynomialDecay(0.1, 10)


def test_deserialize_keras_3_form():
    # What Keras 3.15's keras.optimizers.schedules.serialize writes (optimizer configs hold the same).
    keras3 = {"module": "keras.optimizers.schedules", "class_name": "CosineDecay",
              "config": {"initial_learning_rate": 0.001, "decay_steps": 1000, "alpha": 0.0, "name": "CosineDecay",
                         "warmup_target": None, "warmup_steps": 0}, "registered_name": None}
    assert S.deserialize(keras3) == S.CosineDecay(0.001, 1000)
    keras3 = {"module": "keras.optimizers.schedules", "class_name": "PiecewiseConstantDecay",
              "config": {"boundaries": [10, 20], "values": [1.0, 0.5, 0.1], "name": "PiecewiseConstant"},
              "registered_name": None}
    assert S.deserialize(keras3) == S.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])


def test_deserialize_keras_2_form():
    # tf.keras 2.x writes {"class_name", "config"} with name=None.
    keras2 = {"class_name": "ExponentialDecay", "config": {"initial_learning_rate": 0.1, "decay_steps": 100000,
                                                           "decay_rate": 0.96, "staircase": True, "name": None}}
    schedule = S.deserialize(keras2)
    assert schedule == S.ExponentialDecay(0.1, 100000, 0.96, staircase=True)
    keras2 = {"class_name": "PolynomialDecay", "config": {"initial_learning_rate": 0.1, "decay_steps": 10000,
                                                          "end_learning_rate": 0.01, "power": 0.5, "cycle": False,
                                                          "name": None}}
    assert S.deserialize(keras2) == S.PolynomialDecay(0.1, 10000, 0.01, 0.5)


class Halving(S.LearningRateSchedule):
    def __init__(self, rate):
        self.rate = rate

    def __call__(self, step):
        return jnp.float32(self.rate) * 0.5 ** jnp.asarray(step, jnp.float32)

    def get_config(self):
        return {"rate": self.rate}


@pytest.mark.parametrize("config, match", [
    ({"class_name": "os.system", "config": {}}, r"Unknown learning-rate schedule 'os.system'.*CosineDecay"),
    ({"class_name": "Halving", "config": {"rate": 1.0}}, r"Unknown learning-rate schedule 'Halving'.*custom_objects"),
    ({"module": "mypkg", "class_name": "CosineDecay", "config": {"initial_learning_rate": 0.1, "decay_steps": 10},
      "registered_name": "mypkg>CosineDecay"}, r"Unknown learning-rate schedule 'mypkg>CosineDecay'"),
    ({"config": {}}, "needs a 'class_name' string"),
    ([1, 2], "must be a dict"),
    ({"class_name": "CosineDecay", "config": [1]}, "config of learning-rate schedule CosineDecay must be a dict"),
    ({"class_name": "CosineDecay", "config": {"initial_learning_rate": 0.1, "decay_steps": 10, "evil": 1}},
     r"CosineDecay: unknown arguments \['evil'\]"),
    ({"class_name": "CosineDecay", "config": {"initial_learning_rate": 0.1}},
     "CosineDecay cannot be built.*decay_steps"),
    ({"class_name": "PiecewiseConstantDecay", "config": {"boundaries": list(range(100_001)),
                                                         "values": [0.1] * 100_002}},
     r"boundaries holds 100001 entries; at most 100000"),
    ({"class_name": "ExponentialDecay", "config": {"initial_learning_rate": float("nan"), "decay_steps": 1,
                                                   "decay_rate": 0.5}}, "initial_learning_rate"),
    ({"class_name": "ExponentialDecay", "config": {"initial_learning_rate": 0.1, "decay_steps": "10",
                                                   "decay_rate": 0.5}}, "decay_steps.*'10'"),
])
def test_deserialize_refuses_what_it_cannot_build(config, match):
    with pytest.raises(ValueError, match=match):
        S.deserialize(config)


def test_deserialize_builds_a_custom_class_only_when_given():
    config = {"class_name": "Halving", "config": {"rate": 1.0}}
    schedule = S.deserialize(config, custom_objects={"Halving": Halving})
    assert isinstance(schedule, Halving) and float(schedule(2)) == 0.25
    with pytest.raises(ValueError, match="Unknown"):  # a name that is not a schedule class is not used
        S.deserialize(config, custom_objects={"Halving": print})


@pytest.mark.parametrize("make, match", [
    (lambda: S.ExponentialDecay(0.1, 0, 0.5), r"ExponentialDecay: decay_steps must be .*> 0.*got 0"),
    (lambda: S.ExponentialDecay(0.1, -5, 0.5), r"ExponentialDecay: decay_steps .*got -5"),
    (lambda: S.ExponentialDecay(-0.1, 5, 0.5), r"ExponentialDecay: initial_learning_rate .*>= 0.*got -0.1"),
    (lambda: S.ExponentialDecay(0.1, 5, -0.5), r"ExponentialDecay: decay_rate .*got -0.5"),
    (lambda: S.ExponentialDecay(0.1, 5, 0.5, staircase="yes"), r"ExponentialDecay: staircase must be True or False"),
    (lambda: S.ExponentialDecay(True, 5, 0.5), r"ExponentialDecay: initial_learning_rate .*got True"),
    (lambda: S.PiecewiseConstantDecay([10, 5], [1, 2, 3]),
     r"PiecewiseConstantDecay: boundaries must increase strictly; got boundaries\[0\]=10 then boundaries\[1\]=5"),
    (lambda: S.PiecewiseConstantDecay([10, 10], [1, 2, 3]), r"must increase strictly"),
    (lambda: S.PiecewiseConstantDecay([10, 20], [1, 2]),
     r"PiecewiseConstantDecay: values must hold one entry more than boundaries; got 2 boundaries and 2 values"),
    (lambda: S.PiecewiseConstantDecay(10, [1, 2]), r"PiecewiseConstantDecay: boundaries must be a list"),
    (lambda: S.PiecewiseConstantDecay([10], [1, float("inf")]), r"PiecewiseConstantDecay: values\[1\]"),
    (lambda: S.PiecewiseConstantDecay([10], [1, -2]), r"PiecewiseConstantDecay: values\[1\] .*got -2"),
    (lambda: S.PolynomialDecay(0.1, 10, power=-1), r"PolynomialDecay: power .*got -1"),
    (lambda: S.PolynomialDecay(0.1, 10, end_learning_rate=float("nan")), r"PolynomialDecay: end_learning_rate"),
    (lambda: S.PolynomialDecay(0.1, 10, cycle=1), r"PolynomialDecay: cycle must be True or False; got 1"),
    (lambda: S.InverseTimeDecay(0.1, -1, 0.5), r"InverseTimeDecay: decay_steps .*got -1"),
    (lambda: S.CosineDecay(0.1, 10, alpha=1.5), r"CosineDecay: alpha .*got 1.5"),
    (lambda: S.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=-3), r"CosineDecay: warmup_steps .*got -3"),
    (lambda: S.CosineDecay(0.1, 10, warmup_target="0.2"), r"CosineDecay: warmup_target .*'0.2'"),
    (lambda: S.CosineDecay(0.1, 10, name=3), r"CosineDecay: name must be a string"),
    (lambda: S.CosineDecayRestarts(0.1, 0), r"CosineDecayRestarts: first_decay_steps .*got 0"),
    (lambda: S.CosineDecayRestarts(0.1, 10, t_mul=0), r"CosineDecayRestarts: t_mul .*got 0"),
    (lambda: S.CosineDecayRestarts(0.1, 10, m_mul=-1), r"CosineDecayRestarts: m_mul .*got -1"),
])
def test_bad_arguments_name_the_schedule_argument_and_value(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_serialize_refuses_an_opaque_function():
    with pytest.raises(TypeError, match="optax schedule.*cannot be stored"):
        S.serialize(optax.cosine_decay_schedule(0.1, 10))


# ---- optimizers ------------------------------------------------------------------------------------------
def test_exported_like_keras():
    import arena.nn
    assert arena.nn.schedules is S and optimizers.schedules is S
    assert issubclass(optimizers.schedules.CosineDecay, optimizers.schedules.LearningRateSchedule)


def test_optimizer_config_holds_the_schedule():
    schedule = S.CosineDecay(1e-3, 1000, alpha=0.1)
    opt = optimizers.RMSprop(schedule, rho=0.8)
    config = opt.get_config()
    assert config["learning_rate"] == {"class_name": "CosineDecay", "config": schedule.get_config()}
    again = optimizers.RMSprop.from_config(json.loads(json.dumps(config)))
    assert again.learning_rate == schedule and again.rho == 0.8
    assert optimizers.get({"class_name": "Adam", "config": config}).learning_rate == schedule
    keras3 = {"module": "keras.optimizers.schedules", "class_name": "ExponentialDecay", "registered_name": None,
              "config": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5, "staircase": False,
                         "name": "ExponentialDecay"}}
    assert optimizers.SGD.from_config({"learning_rate": keras3}).learning_rate == S.ExponentialDecay(0.1, 10, 0.5)
    assert optimizers.SGD(optax.cosine_decay_schedule(0.1, 10)).get_config()["learning_rate"] is None


# ---- model files -------------------------------------------------------------------------------------------
def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 6)).astype(np.float32), rng.normal(size=(n, 2)).astype(np.float32)


def _model(learning_rate):
    model = Sequential([Dense(8, activation="tanh", input_shape=(6,)), Dense(2)])
    model.compile(optimizer=optimizers.RMSprop(learning_rate), loss="mse")
    return model


def test_saved_schedule_loads_compiled_and_training_continues(tmp_path):
    schedule = S.CosineDecay(1e-2, 20, alpha=0.1, warmup_target=5e-2, warmup_steps=4)
    x, y = _data()
    model = _model(schedule)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # 4 steps
    model.save(tmp_path / "m.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "loaded uncompiled" warning
        loaded = load_model(tmp_path / "m.h5")
    assert loaded.compiled and isinstance(loaded.optimizer, optimizers.RMSprop)
    assert loaded.optimizer.learning_rate == schedule and loaded.iterations == model.iterations == 4
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    loaded.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for wa, wb in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(wa, wb)  # the loaded run continued exactly


def test_loaded_model_uses_the_schedule_at_the_saved_step(tmp_path):
    schedule = S.PiecewiseConstantDecay([2, 5], [0.1, 0.01, 0.001])
    x, y = _data()
    model = _model(schedule)
    for i in range(5):  # steps 0..4
        model.train_on_batch(x[:8], y[:8])
    model.save(tmp_path / "m.h5")
    loaded = load_model(tmp_path / "m.h5")
    assert loaded.iterations == 5
    np.testing.assert_allclose(loaded.get_learning_rate(), schedule(4), rtol=1e-6)  # the rate of the last step
    loaded.train_on_batch(x[:8], y[:8])  # step 5: 0.01 (step <= 5); then step 6: 0.001
    np.testing.assert_allclose(loaded.get_learning_rate(), schedule(5), rtol=1e-6)
    loaded.train_on_batch(x[:8], y[:8])
    np.testing.assert_allclose(loaded.get_learning_rate(), schedule(6), rtol=1e-6)
    assert float(schedule(6)) == pytest.approx(0.001)


def test_saving_an_opaque_optax_schedule_warns_and_loads_uncompiled(tmp_path):
    x, y = _data()
    model = _model(optax.cosine_decay_schedule(1e-2, 100))
    model.train_on_batch(x, y)
    with pytest.warns(UserWarning, match=r"learning rate of RMSprop is an opaque schedule.*cannot store.*"
                                         r"load uncompiled.*arena.nn.schedules") as caught:
        model.save(tmp_path / "m.h5")
    assert caught[0].filename == __file__  # points at the caller's model.save
    with pytest.warns(UserWarning, match=r"loaded uncompiled.*opaque learning-rate schedule"):
        loaded = load_model(tmp_path / "m.h5")
    assert not loaded.compiled


def test_a_number_or_a_schedule_saves_without_a_warning(tmp_path):
    for lr in (0.01, S.InverseTimeDecay(0.1, 10, 0.5)):
        model = _model(lr)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model.save(tmp_path / "m.h5")


@pytest.mark.parametrize("schedule, match", [
    ({"class_name": "Lambda", "config": {"function": "os.system('rm -rf /')"}},
     r"learning-rate schedule cannot be rebuilt.*Unknown learning-rate schedule 'Lambda'"),
    ({"class_name": "PiecewiseConstantDecay", "config": {"boundaries": list(range(200_000)),
                                                         "values": list(range(200_001))}},
     r"boundaries holds 200000 entries; at most 100000"),
    ({"class_name": "ExponentialDecay", "config": {"initial_learning_rate": 1e400, "decay_steps": 10,
                                                   "decay_rate": 0.5}}, "initial_learning_rate"),
    ({"class_name": "CosineDecay", "config": {"initial_learning_rate": 0.1, "decay_steps": [10]}}, "decay_steps"),
    ({"class_name": "CosineDecay", "config": {"initial_learning_rate": 0.1, "decay_steps": 10, "dtype": "x"}},
     r"unknown arguments \['dtype'\]"),
])
def test_a_bad_schedule_in_a_file_loads_uncompiled_with_one_warning(tmp_path, schedule, match):
    model = _model(S.CosineDecay(0.1, 10))
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r+") as f:
        config = json.loads(f.attrs["training_config"])
        config["optimizer_config"]["config"]["learning_rate"] = schedule
        f.attrs["training_config"] = json.dumps(config)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = load_model(tmp_path / "m.h5")
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "uncompiled" in messages[0], messages
    assert re.search(match, messages[0]), messages[0]
    assert not loaded.compiled


def test_custom_schedule_in_a_file_loads_with_custom_objects(tmp_path):
    model = _model(Halving(0.1))
    model.save(tmp_path / "m.h5")
    with pytest.warns(UserWarning, match="Unknown learning-rate schedule 'Halving'"):
        assert not load_model(tmp_path / "m.h5").compiled
    loaded = load_model(tmp_path / "m.h5", custom_objects={"Halving": Halving})
    assert loaded.compiled and isinstance(loaded.optimizer.learning_rate, Halving)


# ---- the learning-rate callbacks and set_learning_rate --------------------------------------------------
@pytest.mark.parametrize("callback, name", [(LearningRateScheduler(lambda epoch: 0.1), "LearningRateScheduler"),
                                            (ReduceLROnPlateau(monitor="loss"), "ReduceLROnPlateau")])
def test_lr_callbacks_refuse_a_schedule_driven_optimizer(callback, name):
    x, y = _data()
    model = _model(S.ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(ValueError, match=f"{name}: the optimizer's learning_rate is a schedule"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[callback])


def test_set_learning_rate_refuses_a_schedule():
    x, y = _data()
    model = _model(S.ExponentialDecay(0.1, 10, 0.5))
    model.train_on_batch(x, y)
    with pytest.raises(ValueError, match="learning rate is a schedule.*cannot be set by hand"):
        model.set_learning_rate(0.5)
