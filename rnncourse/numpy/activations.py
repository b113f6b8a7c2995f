"""Element-wise activations and the derivatives the backward passes use.

The derivatives are written in terms of the activation's *output*, because
that is what the forward pass keeps in its cache: ``tanh'(a) = 1 - tanh(a)^2``,
``sigmoid'(a) = s (1 - s)`` with ``s = sigmoid(a)``, ``relu'(a) = [relu(a) > 0]``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "tanh", "relu", "ACTIVATIONS", "activation_grad"]


def sigmoid(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Numerically stable logistic function ``1 / (1 + exp(-a))``.

    The naive formula overflows ``exp(-a)`` for large negative ``a`` (a
    RuntimeWarning, then an answer that is right only by luck).  We use the
    identity ``sigmoid(a) = (1 + tanh(a / 2)) / 2``: ``tanh`` never overflows,
    and one transcendental call over the array is cheaper than the ``exp``,
    ``where`` and division that the textbook stable form needs.  (For
    ``a < -37`` the result rounds to 0 instead of a number below 1e-16; the
    absolute error stays below float64's resolution near 1.)

    ``out`` may be ``a`` itself, to compute in place.
    """
    a = np.asarray(a)
    out = np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1
    out *= 0.5
    return out


def tanh(a: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent (NumPy's is already stable)."""
    return np.tanh(a)


def relu(a: np.ndarray) -> np.ndarray:
    """``max(a, 0)``."""
    return np.maximum(a, 0)


ACTIVATIONS = {"tanh": tanh, "relu": relu}


def activation_grad(name: str, out: np.ndarray) -> np.ndarray:
    """Derivative of the activation ``name`` expressed through its output ``out``."""
    if name == "tanh":
        return 1 - out * out
    if name == "relu":
        return (out > 0).astype(out.dtype)
    raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {name!r}")


def check_nonlinearity(where: str, name: object) -> str:
    if name not in ACTIVATIONS:
        raise ValueError(f"{where}: nonlinearity must be 'tanh' or 'relu', got {name!r}")
    return name  # type: ignore[return-value]
