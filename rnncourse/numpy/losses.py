"""Softmax, cross-entropy over a sequence, and perplexity.

The output layer gives scores ``y_t: (N, K)`` over ``K`` classes (words) at
every step.  Softmax turns them into probabilities, and the loss of a sequence
is the negative log-probability of the right word at every step::

    p_t = softmax(y_t),   softmax(y)_k = exp(y_k) / sum_j exp(y_j)
    L   = - sum over (n, t) of m[n, t] log p_t[n, target[n, t]]  /  sum of m

with a mask ``m`` that is 0 at padding.  Its gradient is the famous
``dL/dy_t = (p_t - onehot(target_t)) * m_t / sum of m``.

Computing ``exp(y)`` directly overflows for scores of a few hundred; both
functions here first subtract the largest score, which changes nothing
mathematically (``softmax(y) = softmax(y - max y)``) but keeps every ``exp``
in ``(0, 1]``.  ``log_softmax`` is the log-sum-exp trick:
``log softmax(y)_k = (y_k - M) - log sum_j exp(y_j - M)`` with ``M = max y``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import as_float, as_index, check_finite, check_shapes

__all__ = ["log_softmax", "softmax", "temporal_softmax_cross_entropy", "perplexity"]


def _scores_and_axis(where: str, scores: Any, axis: Any) -> tuple[np.ndarray, int]:
    scores = as_float(f"{where}: scores", scores)
    check_finite(f"{where}: scores", scores)
    if scores.ndim == 0:
        raise ValueError(f"{where}: scores must have at least one axis, got a scalar")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{where}: axis must be an integer, got {type(axis).__name__}")
    if not -scores.ndim <= axis < scores.ndim:
        raise ValueError(f"{where}: axis {axis} is out of range for scores of shape "
                         f"{scores.shape}")
    return scores, int(axis)


def log_softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log softmax(y)_k = (y_k - M) - log sum_j exp(y_j - M)``, ``M = max_j y_j``.

    Exact even for scores far apart: ``log_softmax([1000, 0, -1000])`` is
    ``[0, -1000, -2000]``, not ``[nan, -inf, -inf]``.

    Args:
        scores: any shape, finite (use a large negative number such as ``-1e9``
            rather than ``-inf`` to rule a class out).
        axis: the class axis (default: the last).

    Returns:
        Log-probabilities, same shape and dtype as ``scores``.
    """
    scores, axis = _scores_and_axis("log_softmax", scores, axis)
    z = scores - scores.max(axis=axis, keepdims=True)  # every z <= 0, the largest is 0
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """``softmax(y)_k = exp(y_k - M) / sum_j exp(y_j - M)``, ``M = max_j y_j``.

    Args:
        scores: any shape, finite.
        axis: the class axis (default: the last).

    Returns:
        Probabilities that sum to 1 along ``axis``, same shape and dtype as
        ``scores``.
    """
    scores, axis = _scores_and_axis("softmax", scores, axis)
    e = np.exp(scores - scores.max(axis=axis, keepdims=True))  # in (0, 1]: no overflow
    return e / e.sum(axis=axis, keepdims=True)


def _mask(where: str, mask: Any, dtype: np.dtype) -> np.ndarray:
    """A 0/1 mask as floats of ``dtype`` (its shape is checked by the caller)."""
    m = np.asarray(mask)
    if m.dtype.kind != "b":
        m = as_float(f"{where}: mask", m)
        check_finite(f"{where}: mask", m)
        if not np.all((m == 0) | (m == 1)):
            bad = m[(m != 0) & (m != 1)][0]
            raise ValueError(f"{where}: mask must contain only 0/1 (or booleans), found {bad}")
    return m.astype(dtype)


def _scores_targets_mask(where: str, scores: Any, y: Any, mask: Any
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked ``scores (N, T, K)`` floats, ``y (N, T)`` ids in ``[0, K)`` and a 0/1 mask
    ``(N, T)`` of the scores' dtype (all ones when ``mask`` is None); errors name ``where``."""
    scores = as_float(f"{where}: scores", scores)
    check_finite(f"{where}: scores", scores)
    check_shapes(where, dict(scores=(scores, ("N", "T", "K"))))
    N, T, K = scores.shape
    y = as_index(f"{where}: y", y, upper=K)
    m = np.ones((N, T), scores.dtype) if mask is None else _mask(where, mask, scores.dtype)
    check_shapes(where, dict(scores=(scores, ("N", "T", "K")), y=(y, ("N", "T")),
                             mask=(m, ("N", "T"))))
    return scores, y, m


def temporal_softmax_cross_entropy(
    scores: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None, reduction: str = "mean",
) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy summed over time, and its gradient.

    ::

        L = - sum over (n, t) of m[n, t] log softmax(scores[n, t])[y[n, t]]  /  Z

    with ``Z`` the number of unmasked positions (``reduction="mean"``, the same
    as ``torch.nn.functional.cross_entropy`` with the masked positions set to
    ``ignore_index``) or ``Z = 1`` (``reduction="sum"``).  The gradient is::

        dscores[n, t] = (softmax(scores[n, t]) - onehot(y[n, t])) * m[n, t] / Z

    so masked (padding) positions get exactly zero gradient.

    Args:
        scores: ``(N, T, K)`` unnormalised scores over ``K`` classes.
        y: ``(N, T)`` integer targets in ``[0, K)``; at masked positions too
            (fill padding with any valid class, e.g. 0: it is ignored).
        mask: ``(N, T)`` booleans or 0/1 numbers, 1 where the position counts;
            ``None`` counts every position.
        reduction: ``"mean"`` (over the unmasked positions) or ``"sum"``.

    Returns:
        ``(loss, dscores)``: the loss as a Python float and its gradient
        ``(N, T, K)`` with respect to ``scores``.
    """
    where = "temporal_softmax_cross_entropy"
    if reduction not in ("mean", "sum"):
        raise ValueError(f"{where}: reduction must be 'mean' or 'sum', got {reduction!r}")
    scores, y, m = _scores_targets_mask(where, scores, y, mask)
    K = scores.shape[-1]
    Z = m.sum() if reduction == "mean" else 1.0
    if Z == 0:
        raise ValueError(f"{where}: the mask has no unmasked position, so the mean over "
                         f"them is undefined (use reduction='sum' to get 0)")

    logp = log_softmax(scores)  # (N, T, K)
    logp_y = np.take_along_axis(logp, y[..., None], axis=-1)[..., 0]  # (N, T)
    loss = -np.sum(m * logp_y) / Z

    onehot = (np.arange(K) == y[..., None]).astype(scores.dtype)  # (N, T, K)
    dscores = (np.exp(logp) - onehot) * (m / Z)[..., None]
    return float(loss), dscores.astype(scores.dtype, copy=False)


def perplexity(mean_cross_entropy: float) -> float:
    """Perplexity ``exp(L)`` of a mean cross-entropy ``L`` measured in nats.

    The "effective number of equally likely words" the model hesitates
    between: 1 for a perfect model, ``K`` for a uniform guess over ``K`` words
    (whose cross-entropy is ``log K``).  Pass the *mean* per-token loss, e.g.
    from :func:`temporal_softmax_cross_entropy` with ``reduction="mean"``.
    """
    return float(np.exp(mean_cross_entropy))
