"""Synthetic data for the book and the exercises: no downloads, every array seeded.

Chapter 2's forecasting task uses sums of sine waves plus noise, one series per row::

    x_t = sum_k a_k sin(2 pi f_k t + phi_k) + slope * t / T + noise_t,   t = 0 .. T-1

with random amplitudes ``a_k``, frequencies ``f_k`` (cycles per step) and phases
``phi_k`` drawn per series, ``noise_t ~ N(0, noise^2)`` independent at every step,
and an optional linear trend. The sines are the *seasonality* (patterns that
repeat), the slope is the *trend* (a drift that does not repeat).

- :func:`sine_series` -- univariate: an array ``(N, T)``.
- :func:`multivariate_sine_series` -- ``D`` related series per example: ``(N, T, D)``.
- :func:`split_next_value` -- cut series into inputs (all but the last step) and
  the next value to forecast.
"""

from __future__ import annotations

import numpy as np

from rnncourse._args import SeedLike, as_rng, check_count

__all__ = [
    "sine_series", "multivariate_sine_series", "split_next_value", "trend_seasonality",
]


def _check_levels(noise: float, trend: float) -> None:
    if not noise >= 0 or not trend >= 0:
        raise ValueError(f"noise and trend must be >= 0, got noise={noise!r}, trend={trend!r}")


def sine_series(
    n_series: int,
    n_steps: int = 50,
    *,
    n_waves: int = 2,
    noise: float = 0.05,
    trend: float = 0.0,
    seed: SeedLike = 0,
    dtype: np.dtype | type = np.float64,
) -> np.ndarray:
    """``n_series`` univariate series of ``n_steps`` values: sines plus noise.

    Each series is ``sum_k a_k sin(2 pi f_k t + phi_k) + s t / n_steps + noise``
    with, per series and per wave ``k``, an amplitude ``a_k ~ U(0.1, 0.5)``, a
    frequency ``f_k ~ U(0.02, 0.2)`` cycles per step (periods of 5 to 50 steps),
    a phase ``phi_k ~ U(0, 2 pi)``; a slope ``s ~ U(-trend, trend)`` (0 when
    ``trend`` is 0); and Gaussian noise of standard deviation ``noise`` at every
    step. The noise sets a floor: no forecaster of the next value can reach a
    mean squared error below ``noise**2`` on average.

    Args:
        n_series: ``N``, the number of series (rows).
        n_steps: ``T``, the length of each series.
        n_waves: how many sines are summed.
        noise: standard deviation of the per-step noise (>= 0).
        trend: largest absolute rise (or fall) of the linear trend over the
            whole series (>= 0).
        seed: an int, a ``numpy.random.Generator``, or None (fresh entropy).
        dtype: of the result.

    Returns:
        ``series: (N, T)``; row ``i`` is one series, column ``t`` one time step.
    """
    n_series = check_count("n_series", n_series)
    n_steps = check_count("n_steps", n_steps)
    n_waves = check_count("n_waves", n_waves)
    _check_levels(noise, trend)
    rng = as_rng(seed, allow_none=True)
    t = np.arange(n_steps, dtype=np.float64)
    amp = rng.uniform(0.1, 0.5, size=(n_series, n_waves, 1))
    freq = rng.uniform(0.02, 0.2, size=(n_series, n_waves, 1))
    phase = rng.uniform(0.0, 2 * np.pi, size=(n_series, n_waves, 1))
    series = (amp * np.sin(2 * np.pi * freq * t + phase)).sum(axis=1)  # (N, T)
    slope = rng.uniform(-trend, trend, size=(n_series, 1))
    series = series + slope * t / n_steps
    series = series + noise * rng.standard_normal((n_series, n_steps))
    return series.astype(dtype, copy=False)


def multivariate_sine_series(
    n_series: int,
    n_steps: int = 50,
    n_features: int = 3,
    *,
    n_waves: int = 2,
    noise: float = 0.05,
    trend: float = 0.0,
    seed: SeedLike = 0,
    dtype: np.dtype | type = np.float64,
) -> np.ndarray:
    """``n_series`` multivariate series: ``n_features`` related channels per step.

    Every channel of a series shares the same frequencies (the same "seasons"),
    but has its own amplitudes, phases and noise, like several measurements of
    one system (temperature, humidity, ... of one city). The waves are drawn as
    in :func:`sine_series`.

    Args:
        n_series: ``N``.
        n_steps: ``T``.
        n_features: ``D``, the number of channels.
        n_waves, noise, trend, seed, dtype: as in :func:`sine_series`.

    Returns:
        ``series: (N, T, D)``, batch first like every sequence in the course.
    """
    n_series = check_count("n_series", n_series)
    n_steps = check_count("n_steps", n_steps)
    n_features = check_count("n_features", n_features)
    n_waves = check_count("n_waves", n_waves)
    _check_levels(noise, trend)
    rng = as_rng(seed, allow_none=True)
    t = np.arange(n_steps, dtype=np.float64)[:, None]                    # (T, 1)
    shape = (n_series, n_waves, 1, n_features)
    amp = rng.uniform(0.1, 0.5, size=shape)
    freq = np.broadcast_to(rng.uniform(0.02, 0.2, size=(n_series, n_waves, 1, 1)), shape)
    phase = rng.uniform(0.0, 2 * np.pi, size=shape)
    series = (amp * np.sin(2 * np.pi * freq * t + phase)).sum(axis=1)   # (N, T, D)
    slope = rng.uniform(-trend, trend, size=(n_series, 1, n_features))
    series = series + slope * t / n_steps
    series = series + noise * rng.standard_normal((n_series, n_steps, n_features))
    return series.astype(dtype, copy=False)


def split_next_value(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and target of next-value forecasting.

    Args:
        series: ``(N, T + 1)`` univariate or ``(N, T + 1, D)`` multivariate series.

    Returns:
        ``(x, y)``: ``x = series[:, :-1]``, the first ``T`` steps (``(N, T)`` or
        ``(N, T, D)``), and ``y = series[:, -1]``, the value to forecast (``(N,)``
        or ``(N, D)``).
    """
    series = np.asarray(series)
    if series.ndim not in (2, 3) or series.shape[1] < 2:
        raise ValueError(f"series must have shape (N, T + 1) or (N, T + 1, D) with T >= 1, "
                         f"got {series.shape}")
    return series[:, :-1], series[:, -1]


def trend_seasonality(n_steps: int = 48, seed: SeedLike = 0
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monthly sales-like data in three parts: ``series = trend + season + noise``.

    The trend rises 10% of its start value per year, ``1.1 ** (t / 12)``; the seasonality
    has a period of 12 steps (a year of months), ``0.3 sin(2 pi (t - 3) / 12)``; the noise
    is ``N(0, 0.05^2)``, seeded.

    Returns:
        ``(trend, season, noise)``, each ``(n_steps,)`` float64.
    """
    n_steps = check_count("n_steps", n_steps)
    t = np.arange(n_steps)
    trend = 1.0 * 1.1 ** (t / 12)
    season = 0.3 * np.sin(2 * np.pi * (t - 3) / 12)
    noise = 0.05 * as_rng(seed).standard_normal(n_steps)
    return trend, season, noise
