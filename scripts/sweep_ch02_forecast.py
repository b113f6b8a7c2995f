"""Chapter 2's next-value forecasting task: the RNN and the LSTM trained with five seeds.

Run from the repository root::

    python scripts/sweep_ch02_forecast.py        (about fifteen minutes on one CPU core)

The data are the chapter's: ``sine_series(10_000, n_steps=51, noise=0.05, seed=42)``, the
first 8,000 series for training, the last 2,000 for testing. For each seed 0..4,
:func:`rnncourse.models.forecast.train_forecaster` trains a 32-unit basic RNN (10 epochs, lr 0.005)
and a 32-unit LSTM (12 epochs, lr 0.01), mini-batches of 128, on the CPU with one thread.
The naive and least-squares baselines do not depend on a seed. Writes
``book/data/ch02/forecast_results.json`` and the log ``forecast_results.log``.
"""

from __future__ import annotations

import _sweep  # first: one thread for every library
import numpy as np

from rnncourse.data.series import sine_series, split_next_value
from rnncourse.models.forecast import linear_forecast, predict, train_forecaster
from rnncourse.torch import LSTM, RNN

OUT = _sweep.DATA / "ch02"
MODELS = {"RNN": (RNN, dict(epochs=10, lr=0.005)), "LSTM": (LSTM, dict(epochs=12, lr=0.01))}
SEEDS = tuple(range(5))


def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``x_train, y_train, x_test, y_test`` of the chapter."""
    x, y = split_next_value(sine_series(10_000, n_steps=51, noise=0.05, seed=42))
    return x[:8000], y[:8000], x[8000:], y[8000:]


def baselines(x_train, y_train, x_test, y_test) -> dict[str, float]:
    """Test MSE of the naive (last value) and the least-squares linear forecasts."""
    linear = linear_forecast(x_train, y_train, x_test)
    return {"naive": float(np.mean((x_test[:, -1] - y_test) ** 2)),
            "linear": float(np.mean((linear - y_test) ** 2))}


def run(name: str, seed: int, epochs: int | None = None) -> tuple[float, list[float]]:
    """Test MSE and per-epoch training loss of one model (``epochs`` shortens it)."""
    x_train, y_train, x_test, y_test = data()
    layer, settings = MODELS[name]
    if epochs is not None:
        settings = dict(settings, epochs=epochs)
    model, history = train_forecaster(layer, x_train, y_train, seed=seed, device="cpu",
                                      **settings)
    return float(np.mean((predict(model, x_test) - y_test) ** 2)), history.loss


def main() -> None:
    log = _sweep.Log(OUT / "forecast_results.log")
    base = baselines(*data())
    results = {"models": {k: v[1] for k, v in MODELS.items()}, "seeds": list(SEEDS),
               "baselines": base, "environment": _sweep.environment(), "runs": []}
    log(f"naive {base['naive']:.4f}  linear {base['linear']:.4f}")
    for seed in SEEDS:
        for name in MODELS:
            mse, loss = run(name, seed)
            results["runs"].append(dict(model=name, seed=seed, test_mse=mse, train_loss=loss))
            log(f"seed {seed} {name:4s} test MSE {mse:.4f}")
    _sweep.save_json(OUT / "forecast_results.json", results)
    log.save()


if __name__ == "__main__":
    main()
