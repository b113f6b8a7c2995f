"""Chapter 10's multi-step forecaster and code-or-prose classifier, trained with several seeds.

Run from the repository root::

    python scripts/sweep_ch10_applications.py        (about fifteen minutes on one CPU core)

- Forecasting 10 steps ahead: the chapter's data (``sine_series(5000, 60, noise=0.05,
  seed=10)``, 4,000 series to train, 1,000 to test); for each seed 0..4 a 32-unit LSTM
  :class:`rnncourse.models.forecast.Forecaster` with a 10-value head, 12 epochs of mini-batches of
  100, Adam lr 0.01. The naive and least-squares baselines do not depend on a seed.
- The line classifier: for each seed 0..9, :func:`train_line_classifier` (embedding 16, GRU
  32, 8 epochs, batches of 32, Adam lr 0.01); accuracy overall and per class on the four
  held-out modules, and p(prose) for the four hand-written lines.

On the CPU with one thread. Writes ``book/data/ch10/sweep_results.json`` and the log
``sweep_results.log``. (The lines are the frozen ones of ``book/data/ch10/lines.json``, cut
from the standard library's source by ``scripts/extract_lines.py``: the same on every
Python version.)
"""

from __future__ import annotations

import _sweep  # first: one thread for every library
import numpy as np

from rnncourse.data import corpus as C
from rnncourse.data.series import sine_series
from rnncourse.models import lines as L
from rnncourse.models.forecast import linear_forecast, predict, train_forecaster
from rnncourse.torch import LSTM

OUT = _sweep.DATA / "ch10"
HORIZON = 10
FORECAST = dict(epochs=12, lr=0.01, batch_size=100)
FORECAST_SEEDS = tuple(range(5))
CLASSIFIER_SEEDS = tuple(range(10))


def forecast_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``past_train, future_train, past_test, future_test`` of the chapter."""
    series = sine_series(5000, n_steps=50 + HORIZON, noise=0.05, seed=10)
    past, future = series[:, :50], series[:, 50:]
    return past[:4000], future[:4000], past[4000:], future[4000:]


def forecast_baselines(past_train, future_train, past_test, future_test) -> dict[str, list]:
    """MSE per horizon of the naive and the per-horizon least-squares forecasts."""
    naive = np.repeat(past_test[:, -1:], HORIZON, axis=1)
    linear = linear_forecast(past_train, future_train, past_test)
    return {name: ((f - future_test) ** 2).mean(axis=0).tolist()
            for name, f in (("naive", naive), ("linear", linear))}


def run_forecaster(seed: int, epochs: int | None = None) -> list[float]:
    """The LSTM's test MSE per horizon (``epochs`` shortens the run, for the tests)."""
    past_train, future_train, past_test, future_test = forecast_data()
    settings = FORECAST if epochs is None else dict(FORECAST, epochs=epochs)
    model, _ = train_forecaster(LSTM, past_train, future_train, seed=seed, device="cpu",
                                **settings)
    return ((predict(model, past_test) - future_test) ** 2).mean(axis=0).tolist()


def run_classifier(seed: int, epochs: int | None = None) -> dict:
    """Scores on the held-out modules and p(prose) of the hand-written lines."""
    x_train, y_train, x_test, y_test = C.line_data()
    kwargs = {} if epochs is None else dict(epochs=epochs)
    model = L.train_line_classifier(x_train, y_train, seed=seed, device="cpu", **kwargs)
    return dict(L.classifier_scores(model, x_test, y_test),
                p_prose=L.p_prose(model, C.HAND_WRITTEN))


def main() -> None:
    log = _sweep.Log(OUT / "sweep_results.log")
    partial = _sweep.Partial(OUT / "sweep_results.json")
    base = forecast_baselines(*forecast_data())
    results = {"forecast": {"settings": FORECAST, "seeds": list(FORECAST_SEEDS),
                            "baselines": base, "lstm": []},
               "classifier": {"seeds": list(CLASSIFIER_SEEDS), "hand_written": C.HAND_WRITTEN,
                              "majority": None, "runs": []},
               "environment": _sweep.environment()}
    for name, err in base.items():
        log(f"{name:6s} MSE at 1/5/10 steps {err[0]:.4f} {err[4]:.4f} {err[9]:.4f}")
    for seed in FORECAST_SEEDS:
        err = partial.cached(f"forecast/{seed}", lambda seed=seed: run_forecaster(seed))
        results["forecast"]["lstm"].append(dict(seed=seed, mse=err))
        log(f"seed {seed} LSTM   MSE at 1/5/10 steps {err[0]:.4f} {err[4]:.4f} {err[9]:.4f}")
    y_test = C.line_data()[3]
    results["classifier"]["majority"] = float((y_test == 0).double().mean())
    for seed in CLASSIFIER_SEEDS:
        r = partial.cached(f"classifier/{seed}", lambda seed=seed: run_classifier(seed))
        results["classifier"]["runs"].append(dict(seed=seed, **r))
        log(f"seed {seed} classifier accuracy {r['accuracy']:.3f} (code {r['code']:.3f}, "
            f"prose {r['prose']:.3f}); p(prose) of the hand-written lines "
            + " ".join(f"{p:.2f}" for p in r["p_prose"]))
    _sweep.save_json(OUT / "sweep_results.json", results)
    log.save()
    partial.done()


if __name__ == "__main__":
    main()
