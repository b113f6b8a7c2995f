"""Delayed recall: repeat the input of ``k`` steps ago (chapter 11's echo-state network).

The input is white noise, ``u_t ~ Uniform(-0.5, 0.5)`` independently at every step, so
nothing about ``u_{t-k}`` can be read from the present input: a model that recalls it
must have kept it in its state. The target for delay ``k`` is ``y_t = u_{t-k}``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["delayed_recall"]


def delayed_recall(
    T: int, delays: Sequence[int], seed: int | np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """``(u, y)``: ``u: (T, 1)`` white noise, ``y: (T, K)`` with ``y[t, j] = u_{t - delays[j]}``.

    The noise is drawn for ``T + max(delays)`` steps and the first ``max(delays)`` are
    kept out of ``u``, so every target is defined (no zero padding at the start).
    """
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"delayed_recall: T must be a positive int, got {T!r}")
    delays = list(delays)
    if not delays or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0
                         for k in delays):
        raise ValueError(f"delayed_recall: delays must be a non-empty list of ints >= 0, "
                         f"got {delays!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    K = max(delays)
    full = rng.uniform(-0.5, 0.5, size=T + K)
    u = full[K:, None]
    y = np.stack([full[K - k: K - k + T] for k in delays], axis=1)
    return u, y
