"""Shared test helpers.

References used by the tests are independent of the code under test:
``torch.nn`` modules and torch autograd, a central-difference routine written
here (not the package's own ``gradcheck``), and hand-derived numbers.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng() -> np.random.Generator:
    # RNNCOURSE_TEST_SEED lets you rerun the suite on other random data.
    return np.random.default_rng(int(os.environ.get("RNNCOURSE_TEST_SEED", "1234")))


def central_diff(f: Callable[[], float], x: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """Numerical gradient of the scalar ``f()`` w.r.t. ``x`` (perturbed in place, restored).

    Central differences at steps ``h`` and ``2h``, combined by Richardson
    extrapolation: ``(4 D(h) - D(2h)) / 3`` cancels the O(h^2) error term, leaving
    O(h^4) ~ 1e-12, while rounding stays near ``eps * |f| / h`` ~ 1e-13 for the
    losses used here. A plain central difference cannot do both at once: at
    ``h = 1e-6`` rounding alone gives gradient entries of size 1e-4 a relative
    error of about 1e-7, the bound the tests use.
    """

    def d(step: float) -> np.ndarray:
        g = np.zeros_like(x)
        flat, gflat = x.reshape(-1), g.reshape(-1)  # views: x must be contiguous
        assert np.shares_memory(flat, x)
        for i in range(flat.size):
            old = flat[i]
            try:
                flat[i] = old + step
                fp = f()
                flat[i] = old - step
                fm = f()
            finally:
                flat[i] = old
            gflat[i] = (fp - fm) / (2 * step)
        return g

    return (4 * d(h) - d(2 * h)) / 3


def max_rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest element-wise relative error ``|a - b| / (|a| + |b|)``, as in CS231n.

    The denominator is floored at ``1e-4`` times the largest ``|a| + |b|`` of the
    array (and at 1e-8): finite differences resolve a gradient to an absolute
    error of about 1e-12, so an entry a million times smaller than its
    neighbours (1e-6 next to 1) cannot be checked to a relative 1e-7 by any
    step size. A real bug is still caught: it is off by far more than
    1e-4 of the array's scale.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    if a.size == 0:
        return 0.0
    size = np.abs(a) + np.abs(b)
    floor = max(1e-4 * float(size.max()), 1e-8)
    return float(np.max(np.abs(a - b) / np.maximum(size, floor)))


def torch_or_skip():
    return pytest.importorskip("torch")
