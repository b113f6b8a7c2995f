"""Chapter 12: forecasting ten steps ahead three ways, and an LSTM against a TCN; five seeds.

Run from the repository root::

    nice -n 10 python scripts/sweep_ch12_conv.py       (about a quarter of an hour on one core)

Data: ``sine_series(5000, n_steps=60, noise=0.05, seed=12)``; the first 3,000 series train,
the next 1,000 validate, the last 1,000 test. The past is the first 50 steps, the future the
next 10. Three networks, each trained with
:func:`rnncourse.models.forecast.train_model` (Adam on the MSE, 12 epochs of mini-batches of
128, CPU, one thread), each with every learning rate of ``LEARNING_RATES`` and seeds 0..4:

- ``LSTM-1``: :class:`~rnncourse.models.forecast.Forecaster` (LSTM, 32 units) trained on the
  next value, step 51;
- ``LSTM-10``: the same with a 10-value head, trained on steps 51-60 at once (*direct*);
- ``TCN-1``: :class:`~rnncourse.models.tcn.TCNForecaster` (16 channels, kernel 3, dilations
  1, 2, 4, 8: receptive field 61 steps) trained on the next value;
- ``ConvLSTM-1``: :class:`~rnncourse.models.tcn.ConvRNNForecaster`, a causal convolutional
  front-end (8 filters of 3 steps, ReLU) before the same LSTM of 32 units, trained on the
  next value.

A model's learning rate is the one with the lowest mean *validation* MSE over the seeds (the
next value for the one-step models, the mean over the 10 steps for the direct one); the test
series play no part in it. Every run stores its test MSE per horizon ``k = 1..10`` measured
three ways where they apply: *one-step-ahead* (the true values up to step ``50 + k - 1`` as
input: how good the model is when observations keep arriving), *recursive* (its own forecasts
fed back, :func:`rnncourse.models.forecast.recursive_forecast`) and *direct* (the 10-value
head). The least-squares linear models (50 lags and a constant) are the same three ways and
depend on no seed. Writes ``book/data/ch12/conv_results.json`` and its log. A rerun starts
from the shipped runs when the settings are the same, so a model added to :data:`MODELS`
costs only its own runs.
"""

from __future__ import annotations

import _sweep  # first: one thread for every library
import numpy as np

from rnncourse.data.series import sine_series
from rnncourse.models.forecast import (
    Forecaster,
    linear_forecast,
    predict,
    recursive_forecast,
    train_model,
)
from rnncourse.models.tcn import ConvRNNForecaster, TCNForecaster
from rnncourse.torch import LSTM

OUT = _sweep.DATA / "ch12"
PAST, HORIZON = 50, 10
EPOCHS = 12
LEARNING_RATES = (0.003, 0.01, 0.03)
SEEDS = tuple(range(5))
MODELS = {
    "LSTM-1": lambda: Forecaster(LSTM, hidden_size=32, horizon=1),
    "LSTM-10": lambda: Forecaster(LSTM, hidden_size=32, horizon=HORIZON),
    "TCN-1": lambda: TCNForecaster(channels=16, kernel_size=3, dilations=(1, 2, 4, 8)),
    "ConvLSTM-1": lambda: ConvRNNForecaster(LSTM, hidden_size=32, channels=8, kernel_size=3),
}


def data() -> dict[str, np.ndarray]:
    """The series of the three splits, ``(N, 60)`` each: train 3,000, validation and test
    1,000."""
    series = sine_series(5000, n_steps=PAST + HORIZON, noise=0.05, seed=12)
    return {"train": series[:3000], "val": series[3000:4000], "test": series[4000:]}


def per_horizon(forecast: np.ndarray, series: np.ndarray) -> list[float]:
    """MSE of ``forecast: (N, 10)`` against steps 51-60 of ``series``, one per horizon."""
    return ((forecast - series[:, PAST:]) ** 2).mean(axis=0).tolist()


def one_step_ahead(step, series: np.ndarray) -> np.ndarray:
    """``(N, 10)``: the forecast of step ``50 + k`` from the *true* 50 steps before it."""
    return np.stack([step(series[:, k:PAST + k]) for k in range(HORIZON)], axis=1)


def evaluate_one_step(step, series: np.ndarray) -> dict[str, list[float]]:
    return {"one_step_ahead": per_horizon(one_step_ahead(step, series), series),
            "recursive": per_horizon(recursive_forecast(step, series[:, :PAST], HORIZON),
                                     series)}


def baselines() -> dict[str, dict[str, list[float]]]:
    """The least-squares linear models (50 lags and a constant) and the naive forecast (the
    last value, repeated), on the test series: exact, no seed."""
    d = data()
    train, test = d["train"], d["test"]
    one = evaluate_one_step(lambda w: linear_forecast(train[:, :PAST], train[:, PAST], w), test)
    one["direct"] = per_horizon(linear_forecast(train[:, :PAST], train[:, PAST:],
                                                test[:, :PAST]), test)
    naive = np.repeat(test[:, PAST - 1:PAST], HORIZON, axis=1)
    return {"linear": one, "naive": {"direct": per_horizon(naive, test)}}


def run(name: str, seed: int, lr: float, epochs: int = EPOCHS) -> dict:
    """Train one model; its validation MSE, training loss and test MSE per horizon."""
    d = data()
    train, val, test = d["train"], d["val"], d["test"]
    target = train[:, PAST] if name.endswith("-1") else train[:, PAST:]
    model, history = train_model(MODELS[name], train[:, :PAST], target, epochs=epochs, lr=lr,
                                 seed=seed, device="cpu")
    r = dict(model=name, seed=seed, lr=lr, train_loss=history.loss)
    if name.endswith("-1"):
        def step(w):
            return predict(model, w)
        r["val_mse"] = float(np.mean((step(val[:, :PAST]) - val[:, PAST]) ** 2))
        r["test"] = evaluate_one_step(step, test)
    else:
        r["val_mse"] = float(np.mean((predict(model, val[:, :PAST]) - val[:, PAST:]) ** 2))
        r["test"] = {"direct": per_horizon(predict(model, test[:, :PAST]), test)}
    return r


def main() -> None:
    log = _sweep.Log(OUT / "conv_results.log")
    partial = _sweep.Partial(OUT / "conv_results.json")
    base = baselines()
    results = {"epochs": EPOCHS, "learning_rates": list(LEARNING_RATES), "seeds": list(SEEDS),
               "past": PAST, "horizon": HORIZON,
               "split": {"train": 3000, "validation": 1000, "test": 1000},
               "baselines": base}
    partial.start_from(OUT / "conv_results.json", results, lambda old: (
        (f"{r['model']}|{r['lr']}|{r['seed']}", r) for r in old["runs"]))
    results["environment"] = _sweep.environment()
    for kind, errors in base["linear"].items():
        log(f"linear {kind:15s} " + " ".join(f"{e:.4f}" for e in errors))
    results["runs"] = _sweep.rate_grid(
        partial, log, MODELS, LEARNING_RATES, SEEDS, run,
        lambda r: f"validation MSE {r['val_mse']:.4f}, " + ", ".join(
            f"{kind} h1 {e[0]:.4f} h10 {e[-1]:.4f}" for kind, e in r["test"].items()))
    results["chosen_lr"] = _sweep.chosen_rates(results["runs"], MODELS, LEARNING_RATES)
    log(f"chosen on validation: {results['chosen_lr']}")
    _sweep.save_json(OUT / "conv_results.json", results)
    log.save()
    partial.done()


if __name__ == "__main__":
    main()
