"""How forecast errors grow with the horizon, in the one case with a closed form (chapter 12).

An autoregressive process of order 1, ``x_{t+1} = a x_t + e_{t+1}`` with independent noise
``e ~ (0, s^2)`` and ``|a| < 1``, has the best ``k``-step forecast ``a^k x_T`` (the noise to
come has mean 0). Unrolling the recurrence ``k`` times,
``x_{T+k} = a^k x_T + sum_{i=0}^{k-1} a^i e_{T+k-i}``, so the error of that forecast is the
sum of the ``k`` future noises, each carried forward, and its variance is::

    v_k = s^2 (1 + a^2 + a^4 + ... + a^{2(k-1)}) = s^2 (1 - a^{2k}) / (1 - a^2)

It grows with ``k`` toward ``s^2 / (1 - a^2)``, the variance of the series itself: far
enough ahead, even the true model knows no more than the series' mean. The functions accept
``fractions.Fraction`` arguments and then compute exactly.
"""

from __future__ import annotations

from numbers import Real

__all__ = ["ar1_forecast_error_variance", "ar1_variance"]


def _check(a: Real) -> None:
    if not -1 < a < 1:
        raise ValueError(f"an AR(1) process is stationary only for |a| < 1, got a = {a!r}")


def ar1_forecast_error_variance(a: Real, noise_var: Real, k: int) -> Real:
    """``v_k = noise_var * sum_{i=0}^{k-1} a^(2i)``: the variance of the error of the best
    ``k``-step forecast of an AR(1) process (the sum, not the closed form, so that a
    ``Fraction`` stays exact)."""
    _check(a)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    return noise_var * sum(a ** (2 * i) for i in range(k))


def ar1_variance(a: Real, noise_var: Real) -> Real:
    """``noise_var / (1 - a^2)``: the variance of the stationary series, the limit of
    :func:`ar1_forecast_error_variance` as ``k`` grows."""
    _check(a)
    return noise_var / (1 - a * a)
