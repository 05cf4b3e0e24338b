"""E6.6: stateless vs stateful LSTM on an electricity-use series (the book's ``econs_stateful.py``).

One customer's 15-minute readings (UCI ElectricityLoadDiagrams20112014, customer 250), MinMax-scaled
to (0, 1) over the whole series. Samples: 20 consecutive readings -> the reading two steps after the
window (``y = data[i + 21]``: the book's and repo's off-by-one, kept), the last 21 windows dropped
(they have no target). First 70 % train, no shuffling. Models: LSTM(10) -> Dense(1) on (20, 1),
491 parameters; the stateful one with ``batch_input_shape=(96, 20, 1)`` (one day per batch), both
splits truncated to multiples of 96, trained as 5 x (fit 1 epoch, ``reset_states()``). MSE, adam,
batch 96, 5 epochs. Prints the test MSE and RMSE of both.

Book (full 140,256-point series): RMSE 0.062 stateless vs 0.059 stateful. Offline only the first
1,000 points exist (``LD_250_first1000.npy``), so the figures cannot match: the script reports both
and their difference.
"""
import numpy as np

from arena.datasets import electricity
from arena.nn import LSTM, Dense, Input, Sequential

try:
    from scripts import common
except ImportError:  # run as `python scripts/econs_stateful.py`
    import common

WINDOW, AHEAD, BATCH, UNITS = 20, 21, 96, 10
BOOK = {"stateless": 0.062, "stateful": 0.059}


def windows(series):
    """(X, y): X[i] = series[i:i+20] (as (20, 1)), y[i] = series[i+21]; windows without a target dropped."""
    n = len(series) - AHEAD
    x = np.stack([series[i:i + WINDOW] for i in range(n)])[..., None].astype("float32")
    y = series[AHEAD:AHEAD + n, None].astype("float32")
    return x, y


def scaled(series):
    low, high = series.min(), series.max()
    return (series - low) / (high - low)


def run(stateful, x_train, y_train, x_test, y_test, epochs, verbose):
    if stateful:
        model = Sequential([Input(batch_shape=(BATCH, WINDOW, 1)), LSTM(UNITS, stateful=True), Dense(1)])
    else:
        model = Sequential([Input(shape=(WINDOW, 1)), LSTM(UNITS), Dense(1)])
    model.compile(loss="mean_squared_error", optimizer="adam")
    assert model.count_params() == 491
    if stateful:
        for _ in range(epochs):  # the book: one epoch at a time, states cleared between epochs
            model.fit(x_train, y_train, batch_size=BATCH, epochs=1, verbose=verbose, shuffle=False)
            model.reset_states()
    else:
        model.fit(x_train, y_train, batch_size=BATCH, epochs=epochs, verbose=verbose, shuffle=False)
    mse = model.evaluate(x_test, y_test, batch_size=BATCH, verbose=0)
    return float(mse), float(np.sqrt(mse))


def main(argv=None):
    p = common.parser("econs_stateful", __doc__.splitlines()[0], epochs=5, seed=42)
    args = p.parse_args(argv)
    common.start(args)
    x, y = windows(scaled(electricity.load_data()))
    split = int(0.7 * len(x))
    x_train, y_train, x_test, y_test = x[:split], y[:split], x[split:], y[split:]
    # The stateful model needs whole batches of 96.
    cut = lambda a: a[: len(a) // BATCH * BATCH]  # noqa: E731
    results = {}
    with common.Timer() as timer:
        results["stateless"] = run(False, x_train, y_train, x_test, y_test, args.epochs, args.verbose)
        results["stateful"] = run(True, cut(x_train), cut(y_train), cut(x_test), cut(y_test), args.epochs,
                                  args.verbose)
    print(f"\nE6.6 on {len(x)} windows ({len(x_train)} train / {len(x_test)} test), {args.epochs} epochs, "
          f"{timer.seconds:.1f} s")
    print(f"  {'':10s}{'test MSE':>10s}{'RMSE':>8s}{'book RMSE':>11s}")
    for name, (mse, rmse) in results.items():
        print(f"  {name:10s}{mse:10.4f}{rmse:8.3f}{BOOK[name]:11.3f}")
    diff = results["stateless"][1] - results["stateful"][1]
    print(f"  stateless - stateful RMSE: {diff:+.3f} (book: +0.003)")
    return results


if __name__ == "__main__":
    main()
