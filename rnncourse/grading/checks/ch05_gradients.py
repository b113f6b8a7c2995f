"""Grading spec of ``ch05_gradients.ipynb``: clipping, measuring vanishing gradients, and
orthogonal initialisation.

The clipping references are :mod:`rnncourse.numpy.optim` (the notebook's
functions take and return *lists* of arrays rather than dicts).  No function of
the package computes the Jacobian norms or the orthogonal initialisation, so those
references are written here (``tests/test_solutions.py`` checks them against torch
autograd and against Gram-Schmidt).
"""

from __future__ import annotations

import numpy as np

from rnncourse.grading.spec import Exercise, Notebook
from rnncourse.numpy.optim import clip_grad_norm, clip_grad_value

__all__ = ["NOTEBOOK"]

# --------------------------------------------------------------------------- references


def global_norm(grads):
    """``sqrt(sum over all arrays of sum g^2)``."""
    return clip_grad_norm(dict(enumerate(grads)), 1.0)[1]


def clip_by_norm(grads, max_norm):
    """Scale all arrays by ``max_norm / (norm + 1e-6)`` when that factor is below 1."""
    clipped, _ = clip_grad_norm(dict(enumerate(grads)), max_norm)
    return [clipped[i] for i in range(len(grads))]


def clip_by_value(grads, clip_value):
    """Clip every entry to ``[-clip_value, clip_value]``."""
    clipped = clip_grad_value(dict(enumerate(grads)), clip_value)
    return [clipped[i] for i in range(len(grads))]


def jacobian_norms(Wh, dphi):
    """``norms[t] = || dh_T / dh_t ||_2`` for ``t = 0, ..., T``.

    Step ``k = 1..T`` has the Jacobian ``J_k = diag(dphi[k-1]) Wh^T``;
    ``dh_T / dh_t = J_T ... J_{t+1}``.  Each product is formed afresh from the
    left (a different order of work from the notebook's backward recursion).
    """
    Wh, dphi = np.asarray(Wh, dtype=np.float64), np.asarray(dphi, dtype=np.float64)
    T, H = dphi.shape
    norms = np.empty(T + 1)
    for t in range(T + 1):
        product = np.eye(H)
        for k in range(t + 1, T + 1):
            product = (dphi[k - 1][:, None] * Wh.T) @ product  # J_k (J_{k-1} ... J_{t+1})
        norms[t] = np.linalg.svd(product, compute_uv=False)[0]
    return norms


def orthogonal_init(H, gain, seed):
    """``gain * Q`` for ``A = QR`` of ``default_rng(seed).standard_normal((H, H))``, the
    columns of ``Q`` multiplied by the signs of ``R``'s diagonal (Mezzadri 2007)."""
    A = np.random.default_rng(int(seed)).standard_normal((int(H), int(H)))
    Q, R = np.linalg.qr(A)
    return float(gain) * (Q @ np.diag(np.sign(np.diag(R))))


# --------------------------------------------------------------------------- hidden cases

# Hidden sizes H of the layers whose gradients dWx (3, H), dWh (H, H), db (H,) are clipped.
_LAYERS = (1, 2, 4, 3, 5)


def _grads(rng: np.random.Generator, H: int, scale: float) -> dict:
    return dict(dWx=scale * rng.standard_normal((3, H)), dWh=scale * rng.standard_normal((H, H)),
                db=scale * rng.standard_normal(H))


def _norm_cases(rng: np.random.Generator) -> list[dict]:
    return [_grads(rng, H, s) for H, s in zip(_LAYERS, (0.1, 1.0, 10.0, 100.0, 1.0), strict=True)]


def _clip_norm_cases(rng: np.random.Generator) -> list[dict]:
    # Global norms of about 25, 410 and 5.7 against max_norm 1, 5 and 2.5 (clipped), of 0.06
    # against 1 (left alone), a global norm just below max_norm (0.7 of it: left alone, where
    # a wrong threshold would scale it up), and a tiny one (about 1e-4, clipped to half of it:
    # there the 1e-6 of the denominator changes the scale by about 1 %).
    cases = [dict(**_grads(rng, H, s), max_norm=m)
             for H, s, m in zip(_LAYERS[:4], (10.0, 100.0, 1.0, 0.01), (1.0, 5.0, 2.5, 1.0),
                                strict=True)]
    for H, s, ratio in ((5, 5.0, 1 / 0.7), (2, 1e-5, 0.5)):
        g = _grads(rng, H, s)
        cases.append(dict(**g, max_norm=ratio * global_norm(list(g.values()))))
    return cases


def _clip_value_cases(rng: np.random.Generator) -> list[dict]:
    values = (0.5, 1.0, 0.1, 10.0, 2.0)
    return [dict(**_grads(rng, H, 2.0), clip_value=v)
            for H, v in zip(_LAYERS, values, strict=True)]


def _jacobian_cases(rng: np.random.Generator) -> list[dict]:
    cases = []
    # (T, H, scale of Wh, tanh or linear): T = 1, H = 1, shrinking and growing products.
    for T, H, scale, linear in ((1, 1, 0.9, False), (1, 3, 1.0, True), (6, 1, 1.5, True),
                                (8, 4, 0.5, False), (12, 3, 2.0, False), (5, 2, 1.2, True)):
        Wh = scale * rng.standard_normal((H, H)) / np.sqrt(H)
        a = rng.standard_normal((T, H))
        dphi = np.ones((T, H)) if linear else 1 - np.tanh(a) ** 2
        cases.append(dict(Wh=Wh, dphi=dphi))
    return cases


def _orthogonal_cases(rng: np.random.Generator) -> list[dict]:
    """H = 1, and the seeds drawn per run (the student's function draws its own matrix)."""
    return [dict(H=H, gain=g, seed=int(rng.integers(0, 2**31)))
            for H, g in ((1, 1.0), (2, 0.5), (5, 1.0), (8, 2.0), (3, 1.2))]


# --------------------------------------------------------------------------- the spec

NOTEBOOK = Notebook(
    name="ch05_gradients",
    exercises=(
        Exercise(
            grade_id="global_norm",
            function="global_norm",
            points=1,
            call="global_norm([dWx, dWh, db])",
            cases=_norm_cases,
            outputs=("norm",),
            description="the global L2 norm of a list of gradients",
        ),
        Exercise(
            grade_id="clip_by_norm",
            function="clip_by_norm",
            points=2,
            call="tuple(clip_by_norm([dWx, dWh, db], max_norm))",
            cases=_clip_norm_cases,
            outputs=("dWx", "dWh", "db"),
            requires=("global_norm",),
            description="gradient clipping by the global norm",
        ),
        Exercise(
            grade_id="clip_by_value",
            function="clip_by_value",
            points=1,
            call="tuple(clip_by_value([dWx, dWh, db], clip_value))",
            cases=_clip_value_cases,
            outputs=("dWx", "dWh", "db"),
            description="gradient clipping entry by entry",
        ),
        Exercise(
            grade_id="jacobian_norms",
            function="jacobian_norms",
            points=3,
            call="jacobian_norms(Wh, dphi)",
            cases=_jacobian_cases,
            outputs=("norms",),
            description="the norms of dh_T/dh_t: vanishing and exploding gradients",
        ),
        Exercise(
            grade_id="orthogonal_init",
            function="orthogonal_init",
            points=2,
            call="orthogonal_init(H, gain, seed)",
            cases=_orthogonal_cases,
            outputs=("W",),
            description="a random orthogonal initialisation with a gain",
        ),
    ),
    reference=dict(
        global_norm=global_norm,
        clip_by_norm=clip_by_norm,
        clip_by_value=clip_by_value,
        jacobian_norms=jacobian_norms,
        orthogonal_init=orthogonal_init,
    ),
    helpers="import numpy as np\n",
    seed=505,
)
