"""Chapter 2's next-value forecasting task: the RNN and the LSTM, tuned on validation, five seeds.

Run from the repository root::

    python scripts/sweep_ch02_forecast.py        (a few minutes on one CPU core)

The data are the chapter's: ``sine_series(10_000, n_steps=51, noise=0.05, seed=42)``; the
first 7,000 series train, the next 1,000 validate, the last 2,000 test. Both networks (32
units, the basic RNN and the LSTM) get the same budget, 12 epochs of mini-batches of 128 with
:func:`rnncourse.models.forecast.train_forecaster` (Adam), on the CPU with one thread, and the same
choice of learning rate: each of ``LEARNING_RATES`` with each seed 0..4, and the rate with the
lowest mean *validation* MSE over the seeds is the model's (the test series play no part in
it). The naive and least-squares baselines (fitted on the same 7,000 training series) do not
depend on a seed. Writes ``book/data/ch02/forecast_results.json`` (every run, with its
validation and test MSE, and the chosen rates) and the log ``forecast_results.log``.
"""

from __future__ import annotations

import _sweep  # first: one thread for every library
import numpy as np

from rnncourse.data.series import sine_series, split_next_value
from rnncourse.models.forecast import linear_forecast, predict, train_forecaster
from rnncourse.torch import LSTM, RNN

OUT = _sweep.DATA / "ch02"
MODELS = {"RNN": RNN, "LSTM": LSTM}
EPOCHS = 12
LEARNING_RATES = (0.003, 0.01, 0.03)
SEEDS = tuple(range(5))


def data() -> tuple[np.ndarray, ...]:
    """``x_train, y_train, x_val, y_val, x_test, y_test`` of the chapter (7,000 / 1,000 / 2,000)."""
    x, y = split_next_value(sine_series(10_000, n_steps=51, noise=0.05, seed=42))
    return x[:7000], y[:7000], x[7000:8000], y[7000:8000], x[8000:], y[8000:]


def baselines(x_train, y_train, x_val, y_val, x_test, y_test) -> dict[str, float]:
    """Test MSE of the naive (last value) and the least-squares linear forecasts."""
    linear = linear_forecast(x_train, y_train, x_test)
    return {"naive": float(np.mean((x_test[:, -1] - y_test) ** 2)),
            "linear": float(np.mean((linear - y_test) ** 2))}


def run(name: str, seed: int, lr: float, epochs: int = EPOCHS) -> dict:
    """Validation MSE, test MSE and per-epoch training loss of one model."""
    x_train, y_train, x_val, y_val, x_test, y_test = data()
    model, history = train_forecaster(MODELS[name], x_train, y_train, epochs=epochs, lr=lr,
                                      seed=seed, device="cpu")
    return dict(model=name, seed=seed, lr=lr,
                val_mse=float(np.mean((predict(model, x_val) - y_val) ** 2)),
                test_mse=float(np.mean((predict(model, x_test) - y_test) ** 2)),
                train_loss=history.loss)


def main() -> None:
    log = _sweep.Log(OUT / "forecast_results.log")
    partial = _sweep.Partial(OUT / "forecast_results.json")
    base = baselines(*data())
    results = {"epochs": EPOCHS, "learning_rates": list(LEARNING_RATES), "seeds": list(SEEDS),
               "split": {"train": 7000, "validation": 1000, "test": 2000},
               "baselines": base, "environment": _sweep.environment()}
    log(f"naive {base['naive']:.4f}  linear {base['linear']:.4f}")
    results["runs"] = _sweep.rate_grid(
        partial, log, MODELS, LEARNING_RATES, SEEDS, run,
        lambda r: f"validation MSE {r['val_mse']:.4f}, test MSE {r['test_mse']:.4f}")
    results["chosen_lr"] = _sweep.chosen_rates(results["runs"], MODELS, LEARNING_RATES)
    log(f"chosen on validation: {results['chosen_lr']}")
    _sweep.save_json(OUT / "forecast_results.json", results)
    log.save()
    partial.done()


if __name__ == "__main__":
    main()
