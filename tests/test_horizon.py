"""rnncourse.analysis.horizon: the forecast error variance of an AR(1) process.

References: values by hand, the closed form s^2 (1 - a^(2k)) / (1 - a^2), and a Monte Carlo
simulation of the process with the best forecast a^k x_T.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from rnncourse.analysis.horizon import ar1_forecast_error_variance, ar1_variance


def test_by_hand_and_exact():
    a, s2 = Fraction(9, 10), Fraction(1)
    assert ar1_forecast_error_variance(a, s2, 1) == 1
    assert ar1_forecast_error_variance(a, s2, 2) == Fraction(181, 100)      # 1 + 0.81
    assert ar1_forecast_error_variance(a, s2, 3) == Fraction(181, 100) + Fraction(6561, 10000)
    assert ar1_variance(a, s2) == Fraction(100, 19)


@pytest.mark.parametrize("k", [1, 2, 5, 10, 40])
def test_against_the_closed_form(k):
    a, s2 = Fraction(-7, 10), Fraction(3, 2)
    assert ar1_forecast_error_variance(a, s2, k) == s2 * (1 - a ** (2 * k)) / (1 - a ** 2)


def test_against_a_simulation():
    rng = np.random.default_rng(0)
    a, s, n = 0.9, 0.5, 200_000
    x_T = rng.standard_normal(n) * s / np.sqrt(1 - a * a)      # a stationary start
    x = x_T.copy()
    for k in range(1, 11):
        x = a * x + s * rng.standard_normal(n)
        err = x - a ** k * x_T
        assert err.var() == pytest.approx(ar1_forecast_error_variance(a, s * s, k), rel=0.02)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="stationary"):
        ar1_forecast_error_variance(1.0, 1.0, 3)
    with pytest.raises(ValueError, match="k must be"):
        ar1_forecast_error_variance(0.5, 1.0, 0)
    with pytest.raises(ValueError, match="stationary"):
        ar1_variance(-1.2, 1.0)
