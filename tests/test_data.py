"""Tests of rnncourse.data: shapes, seeding, and the formula of the generator."""

from __future__ import annotations

import numpy as np
import pytest

from rnncourse.data.series import (
    multivariate_sine_series,
    sine_series,
    split_next_value,
    trend_seasonality,
)


def test_sine_series_shape_dtype_and_seed() -> None:
    a = sine_series(7, 50, seed=3)
    assert a.shape == (7, 50) and a.dtype == np.float64
    np.testing.assert_array_equal(a, sine_series(7, 50, seed=3))
    assert not np.array_equal(a, sine_series(7, 50, seed=4))
    assert sine_series(2, 5, dtype=np.float32).dtype == np.float32
    gen = np.random.default_rng(0)
    np.testing.assert_array_equal(sine_series(3, 9, seed=gen), sine_series(3, 9, seed=0))


def test_sine_series_is_the_documented_formula() -> None:
    # Redraw the parameters in the documented order and rebuild one series by hand.
    n, T, K = 2, 12, 2
    rng = np.random.default_rng(11)
    amp = rng.uniform(0.1, 0.5, size=(n, K, 1))
    freq = rng.uniform(0.02, 0.2, size=(n, K, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, K, 1))
    slope = rng.uniform(-0.5, 0.5, size=(n, 1))
    noise = 0.1 * rng.standard_normal((n, T))
    t = np.arange(T)
    expected = np.array([
        sum(amp[i, k, 0] * np.sin(2 * np.pi * freq[i, k, 0] * t + phase[i, k, 0])
            for k in range(K)) + slope[i, 0] * t / T + noise[i]
        for i in range(n)
    ])
    got = sine_series(n, T, n_waves=K, noise=0.1, trend=0.5, seed=11)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_noise_free_series_are_bounded_and_noise_has_the_right_size() -> None:
    clean = sine_series(500, 50, noise=0.0, seed=0)
    assert np.abs(clean).max() <= 1.0  # two waves of amplitude at most 0.5
    noisy = sine_series(500, 50, noise=0.2, seed=0)
    assert abs((noisy - clean).std() - 0.2) < 0.01


def test_multivariate_shape_and_shared_frequencies() -> None:
    m = multivariate_sine_series(4, 30, n_features=3, noise=0.0, seed=1)
    assert m.shape == (4, 30, 3)
    # Channels share frequencies: with one wave, each channel is a*sin(2 pi f t + p), and
    # the dominant frequency of every channel of a series is the same.
    one = multivariate_sine_series(3, 400, n_features=2, n_waves=1, noise=0.0, seed=2)
    peaks = np.abs(np.fft.rfft(one, axis=1)).argmax(axis=1)  # (N, D)
    np.testing.assert_array_equal(peaks[:, 0], peaks[:, 1])


def test_split_next_value() -> None:
    s = np.arange(12.0).reshape(2, 6)
    x, y = split_next_value(s)
    np.testing.assert_array_equal(x, s[:, :5])
    np.testing.assert_array_equal(y, [5.0, 11.0])
    x3, y3 = split_next_value(np.zeros((2, 6, 3)))
    assert x3.shape == (2, 5, 3) and y3.shape == (2, 3)
    with pytest.raises(ValueError, match="series must have shape"):
        split_next_value(np.zeros(5))


@pytest.mark.parametrize("kwargs", [dict(n_series=0), dict(n_series=2.5), dict(noise=-1.0),
                                    dict(trend=-0.1), dict(n_waves=0)])
def test_bad_arguments(kwargs: dict) -> None:
    args = dict(n_series=2, n_steps=5) | kwargs
    with pytest.raises(ValueError):
        sine_series(**args)


def test_bad_seed() -> None:
    with pytest.raises(TypeError, match="seed"):
        sine_series(2, 5, seed="zero")  # type: ignore[arg-type]


def test_trend_seasonality_by_hand():
    trend, season, noise = trend_seasonality(36, seed=0)
    t = np.arange(36)
    np.testing.assert_allclose(trend, 1.1 ** (t / 12))          # +10 % a year
    assert trend[12] == pytest.approx(1.1 * trend[0])
    np.testing.assert_allclose(season[:24], np.tile(season[:12], 2), atol=1e-12)  # period 12
    assert season[3] == pytest.approx(0.0, abs=1e-12) and season.max() == pytest.approx(0.3)
    np.testing.assert_array_equal(noise, 0.05 * np.random.default_rng(0).standard_normal(36))
    again = trend_seasonality(36, seed=0)[2]
    np.testing.assert_array_equal(noise, again)                 # seeded
    with pytest.raises(ValueError, match="n_steps"):
        trend_seasonality(0)
