"""Chapter 7's timing task, **fire k steps later**.

Every sequence is silent except for one input spike at a random time ``s``; the network
must answer with one output pulse exactly ``k`` steps after it::

    x_t = 1 if t == s else 0          (N, T, 1)
    y_t = 1 if t == s + k else 0      (N, T)        s uniform in {0, ..., T - k - 1}

Between the spike and the pulse the input carries no information at all: the only way to
fire on time is to count the silent steps in the state. Gers & Schmidhuber (2000)
introduced peephole connections for this kind of task. The models and their training are
in :mod:`rnncourse.models.pulse`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "PulseData", "make_pulse_data",
]


class PulseData(NamedTuple):
    """One sample of the task: ``x: (N, T, 1)``, ``y: (N, T)``, ``spike: (N,)``, ``k``."""

    x: Tensor
    y: Tensor
    spike: Tensor
    k: int

    @property
    def target_time(self) -> Tensor:
        """``(N,)``: the step at which each sequence must fire, ``spike + k``."""
        return self.spike + self.k


def make_pulse_data(n: int, T: int, k: int, rng: np.random.Generator | int) -> PulseData:
    """``n`` sequences of length ``T`` of the fire-``k``-steps-later task.

    Args:
        n: number of sequences.
        T: sequence length, at least ``k + 1``.
        k: the delay between the input spike and the output pulse, ``>= 1``.
        rng: a ``numpy.random.Generator`` or an integer seed.

    Returns:
        A :class:`PulseData` of float32 tensors (``spike`` is int64).
    """
    if k < 1 or T < k + 1 or n < 1:
        raise ValueError(f"need n >= 1, k >= 1 and T >= k + 1, got n={n}, T={T}, k={k}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    spike = gen.integers(0, T - k, size=n)
    x = np.zeros((n, T, 1), dtype=np.float32)
    y = np.zeros((n, T), dtype=np.float32)
    rows = np.arange(n)
    x[rows, spike, 0] = 1.0
    y[rows, spike + k] = 1.0
    return PulseData(torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(spike), k)
