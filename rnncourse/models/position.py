"""Chapter 1's position-transfer experiment: why parameter sharing matters.

:func:`position_transfer_demo` trains two logistic regressions on one-hot sequences
``x: (N, T, V)``::

    big window, one weight vector per position:  p = sigmoid(sum_t x_t w_t + b),  w: (T, V)
    one weight vector shared by all positions:   p = sigmoid(sum_t x_t w   + b),  w: (V,)

on sequences whose cue appears only at some positions, and tests them where it appears at
the others: the shared weights transfer, the per-position ones do not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rnncourse.numpy import sigmoid

__all__ = [
    "PositionTransfer", "position_transfer_demo",
]


@dataclass
class PositionTransfer:
    """What :func:`position_transfer_demo` measured.

    Attributes:
        train_acc, test_acc: ``{"big window": a, "shared": a}`` accuracies on the
            training set (pattern at the training positions) and the test set
            (pattern only at the other positions).
        n_params: parameters of each model, ``T V + 1`` and ``V + 1``.
        w_window: ``(T, V)`` learned weights of the big-window model.
        w_shared: ``(V,)`` learned weights of the shared model.
        train_positions, test_positions: where the pattern was put.
    """

    train_acc: dict[str, float]
    test_acc: dict[str, float]
    n_params: dict[str, int]
    w_window: np.ndarray
    w_shared: np.ndarray
    train_positions: tuple[int, ...]
    test_positions: tuple[int, ...]


def _make_set(n: int, T: int, V: int, positions: Sequence[int],
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` one-hot sequences ``(n, T, V)``; half contain token 0 at one of ``positions``."""
    ids = rng.integers(1, V, size=(n, T))           # fillers 1 .. V-1
    y = np.zeros(n)
    y[: n // 2] = 1.0
    where = rng.choice(np.asarray(positions), size=n // 2)
    ids[np.arange(n // 2), where] = 0               # the pattern token
    return np.eye(V)[ids], y


def _fit_logistic(x: np.ndarray, y: np.ndarray, shared: bool, steps: int,
                  lr: float) -> tuple[np.ndarray, float]:
    """Full-batch gradient descent on the mean cross-entropy, from zero weights."""
    N, T, V = x.shape
    feats = x.sum(axis=1) if shared else x.reshape(N, T * V)   # shared: counts (N, V)
    w, b = np.zeros(feats.shape[1]), 0.0
    for _ in range(steps):
        p = sigmoid(feats @ w + b)
        g = (p - y) / N                    # d(mean cross-entropy)/d(logit)
        w -= lr * (feats.T @ g)
        b -= lr * g.sum()
    return w, b


def _accuracy(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, shared: bool) -> float:
    N, T, V = x.shape
    feats = x.sum(axis=1) if shared else x.reshape(N, T * V)
    return float(np.mean((sigmoid(feats @ w + b) > 0.5) == (y > 0.5)))


def position_transfer_demo(
    length: int = 10, vocab_size: int = 8,
    train_positions: Iterable[int] = (0, 1, 2), test_positions: Iterable[int] = (7, 8, 9),
    n_train: int = 400, n_test: int = 400, steps: int = 300, lr: float = 1.0,
    seed: int = 0,
) -> PositionTransfer:
    """Does a pattern learned at some positions transfer to others?

    Task: is token 0 (think "dog") anywhere in a sequence of ``length`` tokens?
    In training it only ever appears at ``train_positions``; in the test set only
    at ``test_positions``. Two logistic regressions on the one-hot inputs
    ``x: (N, T, V)`` are trained the same way (zero init, ``steps`` of full-batch
    gradient descent):

    * big window: ``p = sigmoid(sum_t x_t w_t + b)``, a separate ``w_t`` per position;
    * shared:     ``p = sigmoid(sum_t x_t w + b)``, the same ``w`` at every position.
    """
    train_positions, test_positions = tuple(train_positions), tuple(test_positions)
    for pos in train_positions + test_positions:
        if not 0 <= pos < length:
            raise ValueError(f"position_transfer_demo: position {pos} is outside 0..{length - 1}")
    rng = np.random.default_rng(seed)
    x_tr, y_tr = _make_set(n_train, length, vocab_size, train_positions, rng)
    x_te, y_te = _make_set(n_test, length, vocab_size, test_positions, rng)
    train_acc, test_acc, weights = {}, {}, {}
    for name, shared in (("big window", False), ("shared", True)):
        w, b = _fit_logistic(x_tr, y_tr, shared, steps, lr)
        weights[name] = w
        train_acc[name] = _accuracy(x_tr, y_tr, w, b, shared)
        test_acc[name] = _accuracy(x_te, y_te, w, b, shared)
    return PositionTransfer(
        train_acc=train_acc, test_acc=test_acc,
        n_params={"big window": length * vocab_size + 1, "shared": vocab_size + 1},
        w_window=weights["big window"].reshape(length, vocab_size),
        w_shared=weights["shared"],
        train_positions=train_positions, test_positions=test_positions,
    )
