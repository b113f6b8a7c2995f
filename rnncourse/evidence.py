"""Evidence for the book's claims: summaries over seeds, and checks of what the text says.

A chapter that says "X beats Y" or "the LSTM solves the task" backs the sentence with runs
over several seeds (made by a script in ``scripts/``, results in ``book/data/``), and, when it
also trains live, asserts the sentence right after the run with :func:`claim`::

    claim(lstm_mse < linear_mse, "the LSTM beats the linear baseline",
          f"LSTM {lstm_mse:.4f}, linear {linear_mse:.4f}")

prints ``✓ the LSTM beats the linear baseline`` — the same line on every machine, so nbval
compares it exactly — or raises :class:`ClaimError` with the measured numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ClaimError", "Paired", "claim", "mean_std", "paired", "pm", "success_rate"]


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
