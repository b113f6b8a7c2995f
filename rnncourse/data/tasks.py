"""Synthetic long-dependency tasks: the adding problem and the copy task (chapters 5-8).

**The adding problem** (Hochreiter & Schmidhuber, 1997). Each example is a sequence of
``T`` pairs ``(value_t, marker_t)``: the values are drawn from ``U(0, 1)``, the markers
are 0 except at two positions, one in the first half and one in the second half of the
sequence. The target is the sum of the two marked values::

    x: (N, T, 2)     x[n, t] = (value_t, marker_t)
    y: (N, 1)        y[n]    = sum over t of value_t * marker_t

To solve it, a network has to *store* the first marked value for up to ``T`` steps while
ignoring everything else. Predicting the mean, ``y = 1``, gives the **baseline** mean
squared error ``Var(u_1 + u_2) = 2/12 = 0.1667``: a model whose error stays there has
learned nothing about the markers.

**The copy (recall) task**: a few random symbols, then a stretch of blanks, then a "go"
symbol; the model must output the symbols it saw at the start (:func:`copy_task`).

Everything is seeded: each generator takes ``seed`` (an int or a
``numpy.random.Generator``) and returns ``float32`` NumPy arrays, or torch tensors with
``as_tensor=True``.

The models that learn these tasks, and their training, are in
:mod:`rnncourse.models.sequence`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnncourse._args import as_rng, check_count

__all__ = [
    "BASELINE_MSE", "adding_problem", "copy_task", "make_batches",
]

#: Mean squared error of always predicting 1 on the adding problem: Var(u1 + u2) = 1/6.
BASELINE_MSE = 1.0 / 6.0

SeedLike = int | np.random.Generator


def _out(arrays: tuple[np.ndarray, ...], as_tensor: bool) -> tuple[Any, ...]:
    return tuple(torch.from_numpy(a) for a in arrays) if as_tensor else arrays


# --------------------------------------------------------------------------- the tasks


def adding_problem(
    n: int, T: int, *, seed: SeedLike = 0, as_tensor: bool = False,
) -> tuple[Any, Any]:
    """``n`` examples of the adding problem of length ``T``.

    Args:
        n: number of sequences.
        T: sequence length (>= 2). One marker lies in ``[0, T//2)``, the other in
            ``[T//2, T)``.
        seed: an int or a ``numpy.random.Generator``.
        as_tensor: return torch tensors instead of NumPy arrays.

    Returns:
        ``x: (n, T, 2)`` float32 (value, marker) and ``y: (n, 1)`` float32, the sum
        of the two marked values.
    """
    n, T = check_count("n", n), check_count("T", T, 2)
    g = as_rng(seed)
    values = g.uniform(0.0, 1.0, size=(n, T)).astype(np.float32)
    half = T // 2
    first = g.integers(0, half, size=n)
    second = g.integers(half, T, size=n)
    markers = np.zeros((n, T), dtype=np.float32)
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1)
    y = (values * markers).sum(axis=1, keepdims=True).astype(np.float32)
    return _out((x, y), as_tensor)


def copy_task(
    n: int, delay: int, *, n_symbols: int = 8, length: int = 5, seed: SeedLike = 0,
    as_tensor: bool = False,
) -> tuple[Any, Any]:
    """``n`` examples of the copy task: remember ``length`` symbols over ``delay`` blanks.

    Input alphabet (one-hot, size ``n_symbols + 2``): symbols ``0 .. n_symbols-1``,
    the blank ``n_symbols`` and the "go" marker ``n_symbols + 1``. A sequence is the
    ``length`` symbols, ``delay`` blanks, "go", then ``length - 1`` blanks, so that
    ``T = 2 * length + delay``.

    Returns:
        ``x: (n, T, n_symbols + 2)`` float32 one-hot inputs and ``y: (n, length)`` int64,
        the symbols to output during the last ``length`` steps (the step of "go" and
        the ``length - 1`` after it).
    """
    n, delay = check_count("n", n), check_count("delay", delay, 0)
    n_symbols, length = check_count("n_symbols", n_symbols), check_count("length", length)
    g = as_rng(seed)
    T = 2 * length + delay
    y = g.integers(0, n_symbols, size=(n, length))
    tokens = np.full((n, T), n_symbols, dtype=np.int64)
    tokens[:, :length] = y
    tokens[:, length + delay] = n_symbols + 1
    x = np.eye(n_symbols + 2, dtype=np.float32)[tokens]
    return _out((x, y.astype(np.int64)), as_tensor)


def make_batches(
    x: Any, y: Any, batch_size: int, *, seed: int = 0,
) -> Callable[[], Iterator[tuple[Tensor, Tensor]]]:
    """Mini-batches for :func:`rnncourse.models.train.fit`: a function returning one epoch.

    Each call shuffles with its own seeded generator (``seed``, then ``seed + 1``, ...),
    so that a training run repeats exactly.
    """
    x = torch.as_tensor(x)
    y = torch.as_tensor(y)
    batch_size = check_count("batch_size", batch_size)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    epoch = [seed]

    def batches() -> Iterator[tuple[Tensor, Tensor]]:
        g = torch.Generator().manual_seed(epoch[0])
        epoch[0] += 1
        order = torch.randperm(len(x), generator=g)
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            yield x[idx], y[idx]

    return batches
