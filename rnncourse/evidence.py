"""Evidence for the book's claims: summaries over seeds, and checks of what the text says.

A chapter that says "X beats Y" or "the LSTM solves the task" backs the sentence with runs
over several seeds (made by a script in ``scripts/``, results in ``book/data/``), and, when it
also trains live, asserts the sentence right after the run with :func:`claim`::

    claim(lstm_mse < linear_mse, "the LSTM beats the linear baseline",
          f"LSTM {lstm_mse:.4f}, linear {linear_mse:.4f}")

prints ``✓ the LSTM beats the linear baseline`` — the same line on every machine, so nbval
compares it exactly — or raises :class:`ClaimError` with the measured numbers. Such a claim
may state only a property that holds on *every* seed of the matching sweep
(``tests/test_evidence.py`` replays each claim cell on each seed).

Comparisons between methods are verdicts of a statistical test, computed by ``scipy.stats``:
:func:`paired_difference` (two methods run on the same seeds: the mean paired difference, its
confidence interval and a paired test) and :func:`compare_rates` (two success counts: an
interval for the difference of the rates and Fisher's or Barnard's exact test). Their
``str()`` is the sentence a chapter prints, e.g. ``mean difference -0.012, 95% t interval
[-0.030, +0.006], paired t-test p = 0.17 (n = 10): inconclusive at 10 seeds``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ClaimError", "Difference", "Paired", "RateComparison", "claim", "compare_rates",
           "mean_std", "paired", "paired_difference", "pm", "success_rate"]


class ClaimError(AssertionError):
    """A sentence of the book is not true of the run that was just made."""


def claim(holds: bool, statement: str, measured: str = "") -> None:
    """Print ``✓ statement`` if ``holds``; otherwise raise :class:`ClaimError`.

    ``measured`` (the numbers behind the claim) goes into the error message only, so the
    printed line does not change from machine to machine.
    """
    if not holds:
        raise ClaimError(f"the text claims: {statement} -- but this run measured: "
                         f"{measured or '(no numbers given)'}")
    print(f"✓ {statement}")


def _values(values: Sequence[float], name: str = "values") -> list[float]:
    out = [float(v) for v in values]
    if not out:
        raise ValueError(f"{name} is empty: a summary needs at least one run")
    if any(math.isnan(v) for v in out):
        raise ValueError(f"{name} contains NaN")
    return out


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``; 0 for a single value)."""
    v = _values(values)
    m = sum(v) / len(v)
    if len(v) == 1:
        return m, 0.0
    return m, math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))


def pm(values: Sequence[float], digits: int = 3) -> str:
    """``"mean ± std"`` with ``digits`` decimals, e.g. ``"0.120 ± 0.031"``."""
    m, s = mean_std(values)
    return f"{m:.{digits}f} ± {s:.{digits}f}"


@dataclass(frozen=True)
class Paired:
    """The paired differences ``a - b`` over seeds (same seed, same data, two models)."""

    n: int
    mean: float
    std: float
    a_better: int       # seeds where a < b (lower is better), beyond the tie tolerance
    b_better: int
    ties: int

    @property
    def sem(self) -> float:
        """Standard error of the mean difference, ``std / sqrt(n)``."""
        return self.std / math.sqrt(self.n)


def paired(a: Sequence[float], b: Sequence[float], *, tie: float = 0.0) -> Paired:
    """Summarise ``a[i] - b[i]``; a seed is a tie when ``|a - b| <= tie``.

    "Better" means lower (errors, losses); pass negated scores for "higher is better".
    """
    av, bv = _values(a, "a"), _values(b, "b")
    if len(av) != len(bv):
        raise ValueError(f"paired runs need as many values in a as in b, got {len(av)} and "
                         f"{len(bv)}")
    d = [x - y for x, y in zip(av, bv, strict=True)]
    m, s = mean_std(d)
    return Paired(n=len(d), mean=m, std=s, a_better=sum(x < -tie for x in d),
                  b_better=sum(x > tie for x in d), ties=sum(abs(x) <= tie for x in d))


def success_rate(values: Sequence[float], threshold: float) -> tuple[int, int]:
    """``(k, n)``: how many of the ``n`` values are below ``threshold`` (e.g. a solved task)."""
    v = _values(values)
    return sum(x < threshold for x in v), len(v)


# ---------------------------------------------------------------------------------------------
# Comparisons with an interval and a test (scipy.stats does the statistics)
# ---------------------------------------------------------------------------------------------

def _signed(x: float, digits: int) -> str:
    return f"{x + 0.0:+.{digits}f}"      # + 0.0: no "-0.000"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


@dataclass(frozen=True)
class Difference:
    """The mean of the paired differences ``a - b``, a confidence interval and a paired test."""

    n: int
    mean: float
    low: float
    high: float
    confidence: float
    interval: str        # "t" or "bootstrap" (BCa)
    p_value: float       # two-sided
    test: str            # "paired t-test" or "Wilcoxon signed-rank test"
    alpha: float = 0.05

    @property
    def conclusive(self) -> bool:
        """The test rejects "no difference" at level ``alpha`` and the interval excludes 0."""
        return self.p_value < self.alpha and (self.low > 0 or self.high < 0)

    def describe(self, digits: int = 3) -> str:
        """``mean difference +0.012, 95% t interval [-0.003, +0.027], paired t-test p = 0.11
        (n = 10)``."""
        kind = "t interval" if self.interval == "t" else "bootstrap interval"
        return (f"mean difference {_signed(self.mean, digits)}, {self.confidence:.0%} {kind} "
                f"[{_signed(self.low, digits)}, {_signed(self.high, digits)}], {self.test} "
                f"{_p(self.p_value)} (n = {self.n})")

    def __str__(self) -> str:
        verdict = "" if self.conclusive else f": inconclusive at {self.n} seeds"
        return self.describe() + verdict


def paired_difference(a: Sequence[float], b: Sequence[float], *, confidence: float = 0.95,
                      interval: str = "t", test: str = "t", alpha: float = 0.05,
                      n_resamples: int = 9999, seed: int = 0) -> Difference:
    """Compare two methods run on the same seeds through the differences ``a[i] - b[i]``.

    ``interval="t"``: the t interval of the mean difference (``scipy.stats.ttest_rel``);
    ``"bootstrap"``: the BCa bootstrap interval of the mean (``scipy.stats.bootstrap``, with
    ``n_resamples`` resamples drawn from ``numpy.random.default_rng(seed)``, so the same on
    every machine). ``test="t"``: the paired t-test; ``"wilcoxon"``: the Wilcoxon signed-rank
    test (``scipy.stats.wilcoxon``, exact for small samples without ties), which does not
    assume normal differences. Both two-sided.
    """
    import numpy as np
    from scipy import stats

    av, bv = np.array(_values(a, "a")), np.array(_values(b, "b"))
    if len(av) != len(bv):
        raise ValueError(f"paired runs need as many values in a as in b, got {len(av)} and "
                         f"{len(bv)}")
    if len(av) < 3:
        raise ValueError(f"a paired comparison needs at least 3 pairs, got {len(av)}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    if interval not in ("t", "bootstrap"):
        raise ValueError(f"interval must be 't' or 'bootstrap', got {interval!r}")
    if test not in ("t", "wilcoxon"):
        raise ValueError(f"test must be 't' or 'wilcoxon', got {test!r}")
    d = av - bv
    name = "paired t-test" if test == "t" else "Wilcoxon signed-rank test"
    if np.all(d == d[0]):
        # Every pair differs by the same amount (e.g. 10 of 10 seeds give accuracy 1.0
        # against 0.5). scipy returns nan here (0/0); both intervals shrink to the point
        # d[0] (the t interval's width is t * s / sqrt(n) with s = 0; every bootstrap
        # resample has mean d[0]). The t statistic is infinite (p = 0) unless d[0] == 0
        # (p = 1); the Wilcoxon test has its exact p, all n signs alike: 2 / 2**n.
        low = high = float(d[0])
        if d[0] == 0:
            p = 1.0
        elif test == "t":
            p = 0.0
        else:
            p = float(stats.wilcoxon(d, method="exact").pvalue)
        return Difference(n=len(d), mean=float(d[0]), low=low, high=high,
                          confidence=confidence, interval=interval, p_value=p, test=name,
                          alpha=alpha)
    if interval == "t":
        ci = stats.ttest_rel(av, bv).confidence_interval(confidence_level=confidence)
    else:
        ci = stats.bootstrap((d,), np.mean, confidence_level=confidence, method="BCa",
                             n_resamples=n_resamples, rng=np.random.default_rng(seed)
                             ).confidence_interval
    p = stats.ttest_rel(av, bv).pvalue if test == "t" else stats.wilcoxon(av, bv).pvalue
    return Difference(n=len(d), mean=float(d.mean()), low=float(ci.low), high=float(ci.high),
                      confidence=confidence, interval=interval, p_value=float(p), test=name,
                      alpha=alpha)


@dataclass(frozen=True)
class RateComparison:
    """Two success rates ``k1/n1`` and ``k2/n2``: their difference, an interval, an exact test."""

    k1: int
    n1: int
    k2: int
    n2: int
    low: float           # interval for rate1 - rate2 (Newcombe's hybrid score interval)
    high: float
    confidence: float
    p_value: float       # two-sided
    test: str            # "Fisher's exact test" or "Barnard's exact test"
    alpha: float = 0.05

    @property
    def difference(self) -> float:
        return self.k1 / self.n1 - self.k2 / self.n2

    @property
    def conclusive(self) -> bool:
        return self.p_value < self.alpha and (self.low > 0 or self.high < 0)

    def describe(self, digits: int = 2) -> str:
        """``4/10 vs 2/10: difference +0.20, 95% CI [-0.19, +0.52], Fisher's exact test
        p = 0.63``."""
        return (f"{self.k1}/{self.n1} vs {self.k2}/{self.n2}: difference "
                f"{_signed(self.difference, digits)}, {self.confidence:.0%} CI "
                f"[{_signed(self.low, digits)}, {_signed(self.high, digits)}], {self.test} "
                f"{_p(self.p_value)}")

    def __str__(self) -> str:
        n = f"{self.n1}" if self.n1 == self.n2 else f"{self.n1} and {self.n2}"
        return self.describe() + ("" if self.conclusive else f": inconclusive at {n} seeds")


def compare_rates(k1: int, n1: int, k2: int, n2: int, *, confidence: float = 0.95,
                  test: str = "fisher", alpha: float = 0.05) -> RateComparison:
    """Compare two success counts (seeds that solved a task): ``k1`` of ``n1``, ``k2`` of ``n2``.

    The interval for the difference of the rates is Newcombe's hybrid score interval (his
    method 10, 1998): it combines the Wilson intervals of the two rates, which
    ``scipy.stats.binomtest(...).proportion_ci(method="wilson")`` computes. ``test="fisher"``:
    Fisher's exact test (``scipy.stats.fisher_exact``); ``"barnard"``: Barnard's exact test
    (``scipy.stats.barnard_exact``), often more powerful for small counts. Both two-sided.
    """
    import math

    from scipy import stats

    for name, k, n in (("1", k1, n1), ("2", k2, n2)):
        if not (isinstance(k, int) and isinstance(n, int)) or n < 1 or not 0 <= k <= n:
            raise ValueError(f"compare_rates needs counts 0 <= k{name} <= n{name} with "
                             f"n{name} >= 1, got k{name}={k!r}, n{name}={n!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    ci1 = stats.binomtest(k1, n1).proportion_ci(confidence_level=confidence, method="wilson")
    ci2 = stats.binomtest(k2, n2).proportion_ci(confidence_level=confidence, method="wilson")
    p1, p2 = k1 / n1, k2 / n2
    low = p1 - p2 - math.hypot(p1 - ci1.low, ci2.high - p2)
    high = p1 - p2 + math.hypot(ci1.high - p1, p2 - ci2.low)
    table = [[k1, n1 - k1], [k2, n2 - k2]]
    if test == "fisher":
        p, name = stats.fisher_exact(table).pvalue, "Fisher's exact test"
    elif test == "barnard":
        p, name = stats.barnard_exact(table).pvalue, "Barnard's exact test"
    else:
        raise ValueError(f"test must be 'fisher' or 'barnard', got {test!r}")
    return RateComparison(k1=k1, n1=n1, k2=k2, n2=n2, low=float(low), high=float(high),
                          confidence=confidence, p_value=float(min(p, 1.0)), test=name,
                          alpha=alpha)
