"""An echo-state network (Jaeger, 2001): a fixed random reservoir, only the read-out learns.

The reservoir is a plain tanh RNN (chapter 2) whose weights are drawn once and never
trained::

    s_t = tanh(u_t W_in + s_{t-1} W)              u_t: (D,), s_t: (R,)
    y^_t = [s_t, 1] W_out                          W_out: (R + 1, K), the only learned weights

``W`` is scaled so that its spectral radius (largest ``|eigenvalue|``) is below 1, so the
state forgets its start and echoes the recent inputs ("echo states"). Training the
read-out is linear least squares with a small ridge penalty: a convex problem solved in
one step, with no backpropagation through time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..data.recall import delayed_recall

__all__ = ["Reservoir", "make_reservoir", "reservoir_states", "fit_readout", "readout",
           "r_squared", "recall_experiment"]


@dataclass(frozen=True)
class Reservoir:
    """The fixed weights: ``W_in: (D, R)``, ``W: (R, R)``."""

    W_in: np.ndarray
    W: np.ndarray


def make_reservoir(D: int, R: int, *, spectral_radius: float = 0.9, input_scale: float = 0.5,
                   seed: int | np.random.Generator = 0) -> Reservoir:
    """Random ``W_in ~ U(-input_scale, input_scale)`` and Gaussian ``W`` rescaled to the
    given spectral radius."""
    if D < 1 or R < 1:
        raise ValueError(f"make_reservoir: D and R must be >= 1, got D={D}, R={R}")
    if not 0 < spectral_radius:
        raise ValueError(f"make_reservoir: spectral_radius must be > 0, got {spectral_radius}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    W_in = rng.uniform(-input_scale, input_scale, size=(D, R))
    W = rng.standard_normal((R, R))
    W *= spectral_radius / np.max(np.abs(np.linalg.eigvals(W)))
    return Reservoir(W_in=W_in, W=W)


def reservoir_states(res: Reservoir, u: np.ndarray) -> np.ndarray:
    """States ``s: (T, R)`` for inputs ``u: (T, D)``, starting from ``s_0 = 0``."""
    u = np.asarray(u, dtype=np.float64)
    if u.ndim != 2 or u.shape[1] != res.W_in.shape[0]:
        raise ValueError(f"reservoir_states: u must have shape (T, {res.W_in.shape[0]}), "
                         f"got {u.shape}")
    drive = u @ res.W_in                     # the input part of every step, in one product
    s = np.zeros((u.shape[0], res.W.shape[0]))
    prev = np.zeros(res.W.shape[0])
    for t in range(u.shape[0]):
        prev = np.tanh(drive[t] + prev @ res.W)
        s[t] = prev
    return s


def _with_bias(s: np.ndarray) -> np.ndarray:
    return np.concatenate([s, np.ones((s.shape[0], 1))], axis=1)


def fit_readout(states: np.ndarray, targets: np.ndarray, ridge: float = 1e-6) -> np.ndarray:
    """Ridge regression ``W_out = (S^T S + ridge I)^-1 S^T Y`` with ``S = [states, 1]``.

    states: (T, R); targets: (T, K). Returns ``W_out: (R + 1, K)``.
    """
    if states.shape[0] != targets.shape[0]:
        raise ValueError(f"fit_readout: states and targets need the same number of steps, "
                         f"got {states.shape[0]} and {targets.shape[0]}")
    S = _with_bias(states)
    return np.linalg.solve(S.T @ S + ridge * np.eye(S.shape[1]), S.T @ targets)


def readout(states: np.ndarray, W_out: np.ndarray) -> np.ndarray:
    """Predictions ``[states, 1] W_out: (T, K)``."""
    return _with_bias(states) @ W_out


def r_squared(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Coefficient of determination per column: ``1 - SSE / SS_tot``; 1 is perfect, 0 is
    no better than predicting the mean."""
    y, pred = np.asarray(y), np.asarray(pred)
    return 1 - ((y - pred) ** 2).sum(axis=0) / ((y - y.mean(axis=0)) ** 2).sum(axis=0)


def recall_experiment(delays: Sequence[int], *, R: int = 100, seed: int = 0,
                      T_train: int = 2000, T_test: int = 1000, washout: int = 100,
                      spectral_radius: float = 0.9) -> dict[str, np.ndarray]:
    """Train read-outs for delayed recall; test ``R^2`` per delay on fresh noise.

    Returns ``{"esn": (K,), "input_only": (K,)}``: the echo-state network's read-out of
    the reservoir state, and a read-out of the present input alone (the baseline: what is
    possible without a memory). The first ``washout`` states of each run are dropped.
    """
    res = make_reservoir(1, R, spectral_radius=spectral_radius, seed=seed)
    scores = {}
    u_tr, y_tr = delayed_recall(T_train + washout, delays, seed=seed + 1_000)
    u_te, y_te = delayed_recall(T_test + washout, delays, seed=seed + 2_000)
    for name, feats in (("esn", lambda u: reservoir_states(res, u)), ("input_only", lambda u: u)):
        f_tr, f_te = feats(u_tr)[washout:], feats(u_te)[washout:]
        W_out = fit_readout(f_tr, y_tr[washout:])
        scores[name] = r_squared(y_te[washout:], readout(f_te, W_out))
    return scores
