"""Grading spec of ``ch10_applications.ipynb``: a Kneser–Ney probability by hand, the weight of
a mixture of two language models chosen on validation data, and a variational dropout mask.

The Kneser–Ney reference is :class:`rnncourse.models.ngram.KneserNey` (order 2, a fixed
discount); ``tests/test_solutions.py`` also checks it against the formula worked by hand.
The mixture and the dropout mask are written here.
"""

from __future__ import annotations

import numpy as np

from rnncourse.grading.spec import Exercise, Notebook
from rnncourse.models.ngram import KneserNey

__all__ = ["NOTEBOOK"]

# --------------------------------------------------------------------------- references


def kneser_ney_prob(text, vocab, h, w, discount):
    """``P(w | h)`` of the interpolated Kneser–Ney bigram model of ``text``."""
    return KneserNey(2, str(vocab), discount=float(discount)).fit(str(text)).prob(str(h), str(w))


def best_mixture_weight(p_a, p_b, grid):
    """The weight ``lam`` of ``grid`` (the first, on a tie) whose mixture
    ``lam p_a + (1 - lam) p_b`` has the fewest bits per character, and those bits."""
    p_a, p_b = np.asarray(p_a, dtype=np.float64), np.asarray(p_b, dtype=np.float64)
    bits = [-float(np.mean(np.log2(lam * p_a + (1 - lam) * p_b))) for lam in grid]
    best = int(np.argmin(bits))
    return float(grid[best]), bits[best]


def variational_dropout(h, p, u):
    """Inverted dropout with one mask per sequence, the same at every step:
    ``h[n, t] * (u[n] >= p) / (1 - p)``."""
    mask = (np.asarray(u) >= p) / (1.0 - p)
    return np.asarray(h, dtype=np.float64) * mask[:, None, :]


# --------------------------------------------------------------------------- hidden cases


def _text(rng: np.random.Generator, vocab: str, n: int) -> str:
    return "".join(vocab[i] for i in rng.integers(0, len(vocab), size=n))


def _kn_cases(rng: np.random.Generator) -> list[dict]:
    """A seen context and a seen bigram; an unseen bigram after a seen context; a context
    seen only at the end of the text (no count: all the mass goes to the lower order, here
    for a character that starts two distinct bigrams but ends one); a vocabulary character
    that never occurs; a discount of 1."""
    cases = []
    for vocab, n, discount in (("ab", 12, 0.5), ("abcd", 30, 0.75), ("abcde", 8, 1.0),
                               ("xyz", 20, 0.3)):
        text = _text(rng, vocab[:-1] if vocab == "abcde" else vocab, n)
        h, w = text[int(rng.integers(0, n - 1))], vocab[int(rng.integers(0, len(vocab)))]
        cases.append(dict(text=text, vocab=vocab, h=h, w=w, discount=discount))
    cases.append(dict(text="abcabd", vocab="abcde", h="d", w="b", discount=0.3))
    cases.append(dict(text="aabab", vocab="abc", h="b", w="c", discount=0.5))
    return cases


def _mixture_cases(rng: np.random.Generator) -> list[dict]:
    """Validation probabilities of two models: both useful (the best weight inside the
    grid), one better everywhere (the weight at an end of the grid), one validation
    character, and a symmetric case whose best weight is the grid's middle."""
    grid = np.round(np.linspace(0, 1, 11), 10)
    cases = []
    for T, sa, sb in ((50, 1.0, 1.0), (40, 0.3, 2.0), (1, 1.0, 1.0), (200, 2.0, 0.5)):
        cases.append(dict(p_a=rng.uniform(0.01, 1, size=T) ** sa,
                          p_b=rng.uniform(0.01, 1, size=T) ** sb, grid=grid))
    better = rng.uniform(0.05, 1, size=10)
    cases.append(dict(p_a=better / 2, p_b=better, grid=grid))            # b is better everywhere
    cases.append(dict(p_a=np.array([0.5, 0.1]), p_b=np.array([0.1, 0.5]),
                      grid=np.array([0.25, 0.5, 0.75])))                     # symmetric: 0.5
    return cases


def _dropout_cases(rng: np.random.Generator) -> list[dict]:
    """(N, T, H, p): one sequence, one step, one unit; p = 0 (nothing dropped)."""
    cases = [dict(h=rng.standard_normal((N, T, H)), p=p, u=rng.random((N, H)))
             for N, T, H, p in ((1, 1, 1, 0.5), (2, 5, 3, 0.25), (3, 4, 6, 0.0),
                                (4, 2, 5, 0.5), (1, 7, 2, 0.9))]
    cases[3]["u"][0, :2] = 0.5  # u == p: kept (u >= p)
    return cases


# --------------------------------------------------------------------------- the spec

NOTEBOOK = Notebook(
    name="ch10_applications",
    exercises=(
        Exercise(
            grade_id="kneser_ney_prob",
            function="kneser_ney_prob",
            points=3,
            call="kneser_ney_prob(text, vocab, h, w, discount)",
            cases=_kn_cases,
            outputs=("p",),
            rtol=1e-12, atol=0,
            description="an interpolated Kneser-Ney bigram probability",
        ),
        Exercise(
            grade_id="best_mixture_weight",
            function="best_mixture_weight",
            points=2,
            call="best_mixture_weight(p_a, p_b, grid)",
            cases=_mixture_cases,
            outputs=("weight", "bits"),
            description="the weight of a mixture of two models, chosen on validation data",
        ),
        Exercise(
            grade_id="variational_dropout",
            function="variational_dropout",
            points=2,
            call="variational_dropout(h, p, u)",
            cases=_dropout_cases,
            outputs=("out",),
            description="variational dropout: one mask per sequence, shared by every step",
        ),
    ),
    reference=dict(
        kneser_ney_prob=kneser_ney_prob,
        best_mixture_weight=best_mixture_weight,
        variational_dropout=variational_dropout,
    ),
    helpers="import numpy as np\n",
    seed=1010,
)
