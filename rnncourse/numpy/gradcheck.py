"""Gradient checking: compare an analytic gradient with central differences.

Use float64. With step ``h = 1e-6`` the central difference
``(f(x + h e_i) - f(x - h e_i)) / 2h`` has truncation error O(h^2) ~ 1e-12 and
rounding error ~ eps / h ~ 1e-10, so a correct backward pass typically agrees
to a relative error of 1e-8 or better, and a wrong one is off by far more.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["numerical_gradient", "rel_error", "gradcheck"]


def numerical_gradient(
    f: Callable[[], np.ndarray | float],
    x: np.ndarray,
    df: np.ndarray | None = None,
    h: float = 1e-6,
    name: str = "x",
) -> np.ndarray:
    """Central-difference gradient of ``sum(f() * df)`` with respect to ``x``.

    ``f`` takes no arguments and reads ``x``, which is perturbed *in place*
    one entry at a time (and restored). ``df`` is the upstream gradient of a
    vector-valued ``f``; leave it out when ``f`` returns a scalar loss.

    ``name`` is used in error messages. Returns an array shaped like ``x``.
    """
    _check_float64(name, x)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index", "zerosize_ok"], op_flags=[["readwrite"]])
    for _ in it:
        i = it.multi_index
        old = x[i]
        try:
            x[i] = old + h
            fp = np.array(f(), dtype=np.float64, copy=True)
            x[i] = old - h
            fm = np.array(f(), dtype=np.float64, copy=True)
        finally:
            x[i] = old  # restore even if f raises
        diff = fp - fm
        grad[i] = (diff if df is None else np.sum(diff * df)) / (2 * h)
    return grad


def _check_float64(name: str, x: object) -> None:
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        what = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"{name}: expected a floating-point ndarray, got {what}")
    if x.dtype != np.float64:
        raise TypeError(
            f"{name}: gradient checks need float64 (got {x.dtype}); "
            "float32 rounding swamps the finite differences"
        )


def rel_error(a: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> float:
    """Largest element-wise relative error ``|a - b| / max(|a| + |b|, eps)``.

    This is the measure used in CS231n's assignments: scale-free, symmetric,
    and 0 only when the arrays are equal.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps)))


def gradcheck(
    f: Callable[[], np.ndarray | float],
    inputs: dict[str, np.ndarray],
    analytic: dict[str, np.ndarray],
    df: np.ndarray | None = None,
    h: float = 1e-6,
) -> dict[str, float]:
    """Relative error between ``analytic[name]`` and the numerical gradient of each input.

    ``f`` must read the arrays in ``inputs`` (they are perturbed in place).
    Returns ``{name: rel_error}``; a correct backward pass gives values below
    about 1e-7 in float64.
    """
    missing = set(inputs) - set(analytic)
    if missing:
        raise KeyError(f"gradcheck: no analytic gradient given for {sorted(missing)}")
    out = {}
    for name, x in inputs.items():
        num = numerical_gradient(f, x, df, h, name=name)
        ana = np.asarray(analytic[name])
        if ana.shape != x.shape:
            raise ValueError(
                f"gradcheck: analytic gradient of {name} has shape {ana.shape}, "
                f"the input has shape {x.shape}"
            )
        out[name] = rel_error(num, ana)
    return out
