"""E7.1: the functional API examples of chapter 7 (the book repo's ``func-api-seq.py``,
``func-api-func.py`` and ``func-api-multi.py``, plus the shared-layer and ``TimeDistributed(model)``
examples of the book's prose). Nothing is trained, as in the book.

    python scripts/functional_api.py [--verbose 0|1|2]

Models (summaries printed; parameter counts beside the book's, where book.md gives one):
- ``sequential``: Sequential Dense(32) on 784 -> sigmoid -> Dense(10) -> softmax, compiled with
  categorical cross-entropy and adam [book 25,450].
- ``functional``: the same network written with ``Input`` / ``Model`` [book 25,450].
- ``multi``: two 784-inputs, each through its own Dense(32) sigmoid -> Dense(10) softmax, two outputs
  (``func-api-multi.py``) [50,900, derived: 2 x 25,450].
- ``shared``: two 784-inputs through the *same* Dense(32) sigmoid and Dense(10) softmax layers (one set
  of weights), two outputs [25,450, derived].
- ``time_distributed``: the functional model applied to each step of a (20, 784) sequence with
  ``TimeDistributed(model)`` -> (20, 10) [25,450, derived: the wrapped model's weights are reused].

Each model also predicts a small random batch, to show the output shapes work end to end. The
``--epochs`` option exists for uniformity with the other scripts and is unused (the book trains none).
"""
import os
import sys

import numpy as np

if __package__ in (None, ""):  # run as a file: make the `scripts` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from scripts import common  # noqa: E402
from arena.nn import Activation, Dense, Input, Model, Sequential, TimeDistributed  # noqa: E402

BOOK_PARAMS = {"sequential": 25_450, "functional": 25_450}
DERIVED_PARAMS = {"multi": 50_900, "shared": 25_450, "time_distributed": 25_450}
TIMESTEPS = 20


def sequential():
    """``func-api-seq.py``: the Sequential version."""
    return Sequential([Dense(32, input_shape=(784,)), Activation("sigmoid"), Dense(10), Activation("softmax")])


def functional():
    """``func-api-func.py``: the same network with Input / Model."""
    inputs = Input(shape=(784,))
    x = Dense(32)(inputs)
    x = Activation("sigmoid")(x)
    x = Dense(10)(x)
    predictions = Activation("softmax")(x)
    return Model(inputs=inputs, outputs=predictions)


def multi():
    """``func-api-multi.py``: two inputs, two outputs, separate towers."""
    input1, input2 = Input(shape=(784,)), Input(shape=(784,))
    outputs = []
    for inp in (input1, input2):
        x = Dense(32)(inp)
        x = Activation("sigmoid")(x)
        x = Dense(10)(x)
        outputs.append(Activation("softmax")(x))
    return Model(inputs=[input1, input2], outputs=outputs)


def shared():
    """Shared layers: one Dense(32) and one Dense(10) called on both inputs (weights counted once)."""
    input1, input2 = Input(shape=(784,)), Input(shape=(784,))
    hidden, top = Dense(32, activation="sigmoid"), Dense(10, activation="softmax")
    return Model(inputs=[input1, input2], outputs=[top(hidden(input1)), top(hidden(input2))])


def time_distributed(model):
    """``TimeDistributed(model)``: a whole model applied to every step of a sequence of 784-vectors."""
    sequences = Input(shape=(TIMESTEPS, 784))
    return Model(inputs=sequences, outputs=TimeDistributed(model)(sequences))


def main(argv=None):
    p = common.parser("functional_api", __doc__.splitlines()[0], epochs=0,
                      epochs_help="unused: the book trains none of these models")
    args = p.parse_args(argv)
    common.start(args)
    rng = np.random.RandomState(args.seed)
    batch = 3
    x = rng.rand(batch, 784).astype(np.float32)
    inner = functional()
    models = {"sequential": sequential(), "functional": inner, "multi": multi(), "shared": shared(),
              "time_distributed": time_distributed(inner)}
    inputs = {"sequential": x, "functional": x, "multi": [x, x], "shared": [x, x],
              "time_distributed": rng.rand(batch, TIMESTEPS, 784).astype(np.float32)}
    results = {}
    for name, model in models.items():
        model.compile(loss="categorical_crossentropy", optimizer="adam")
        if args.verbose:
            print(f"\n== {name}")
            model.summary()
        out = model.predict(inputs[name], verbose=0)
        shapes = [tuple(o.shape) for o in out] if isinstance(out, (list, tuple)) else [tuple(out.shape)]
        results[name] = {"params": model.count_params(), "shapes": shapes}
    # The shared model's two outputs come from the same weights: equal inputs give equal outputs.
    same = [np.asarray(o) for o in models["shared"].predict([x, x], verbose=0)]
    results["shared"]["outputs_equal"] = bool(np.allclose(same[0], same[1]))
    # TimeDistributed(model) reuses the wrapped model's weights: step t equals model(x_t).
    seq = inputs["time_distributed"]
    per_step = np.asarray(models["time_distributed"].predict(seq, verbose=0))
    direct = np.asarray(inner.predict(seq[:, 0], verbose=0))
    results["time_distributed"]["matches_inner"] = bool(np.allclose(per_step[:, 0], direct, atol=1e-6))

    print("\nE7.1 functional API: parameter counts")
    print(f"  {'model':18s}{'Arena':>9s}{'book':>9s}  output shapes")
    for name, r in results.items():
        ref = BOOK_PARAMS.get(name)
        ref_text = f"{ref:,}" if ref else f"({DERIVED_PARAMS[name]:,})"
        print(f"  {name:18s}{r['params']:>9,}{ref_text:>9s}  {r['shapes']}")
    print("  (in brackets: derived, book.md gives no figure)")
    print(f"  shared layers give equal outputs for equal inputs: {results['shared']['outputs_equal']}")
    print(f"  TimeDistributed(model) step 0 equals model(x_0): {results['time_distributed']['matches_inner']}")
    return results


if __name__ == "__main__":
    main()
