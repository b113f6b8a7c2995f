"""BLEU, the overlap score of machine translation (Papineni et al. 2002), over token sequences.

For a corpus of hypotheses ``c_i`` with one reference ``r_i`` each::

    p_n  = sum_i sum_{g in n-grams(c_i)} min(count_{c_i}(g), count_{r_i}(g))
           / sum_i #n-grams(c_i)                      clipped n-gram precision, n = 1..N
    BP   = 1 if c > r else exp(1 - r / c)             brevity penalty, c = sum |c_i|, r = sum |r_i|
    BLEU = BP * exp((1/N) sum_n log p_n)              N = 4: the geometric mean of p_1..p_4

The counts are summed over the whole corpus before dividing (*corpus* BLEU, not
the mean of sentence scores). Tokens are whatever the sequences hold (ints,
strings): no tokenisation is done here, so the caller decides what a token is
— compare scores only when they were computed on the same tokens. Returned in
``[0, 1]`` (sacreBLEU prints 100 times this).

Smoothing (what to do when some ``p_n`` is zero, common for short outputs):

- ``"none"`` (Papineni et al.): BLEU is 0;
- ``"exp"`` (the default of sacreBLEU, Post 2018, after NIST's mteval-v13a):
  the ``k``-th order with no match, counting from ``n = 1``, gets
  ``p_n = 1 / (2**k * #n-grams)``.

Either way BLEU is 0 when no n-gram matches at all, or when every hypothesis is
shorter than ``N`` (there are no ``N``-grams to score). This matches
``sacrebleu.corpus_bleu(..., tokenize="none", smooth_method=...)`` on
whitespace-joined tokens; ``tests/test_bleu.py`` checks it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import NamedTuple

__all__ = ["BleuStats", "ngrams", "bleu_stats", "corpus_bleu", "SMOOTHING"]

SMOOTHING = ("none", "exp")


class BleuStats(NamedTuple):
    """The sufficient statistics of corpus BLEU: ``matches[n-1]`` clipped and
    ``totals[n-1]`` hypothesis ``n``-gram counts, hypothesis and reference lengths."""

    matches: tuple[int, ...]
    totals: tuple[int, ...]
    hyp_len: int
    ref_len: int


def ngrams(tokens: Sequence[Hashable], n: int) -> Counter:
    """How often each ``n``-gram (a tuple of ``n`` tokens) occurs in ``tokens``."""
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu_stats(hypotheses: Sequence[Sequence[Hashable]],
               references: Sequence[Sequence[Hashable]], max_n: int = 4) -> BleuStats:
    """Clipped n-gram matches and totals (``n = 1..max_n``) and lengths, summed over the corpus."""
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise TypeError("hypotheses and references must be sequences of token sequences, "
                        "not strings (split them into tokens first)")
    if len(hypotheses) != len(references):
        raise ValueError(f"need one reference per hypothesis, got {len(hypotheses)} "
                         f"hypotheses and {len(references)} references")
    if max_n < 1:
        raise ValueError(f"max_n must be >= 1, got {max_n}")
    matches, totals = [0] * max_n, [0] * max_n
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references, strict=True):
        hyp, ref = list(hyp), list(ref)
        hyp_len, ref_len = hyp_len + len(hyp), ref_len + len(ref)
        for n in range(1, max_n + 1):
            h, r = ngrams(hyp, n), ngrams(ref, n)
            matches[n - 1] += sum(min(c, r[g]) for g, c in h.items())
            totals[n - 1] += max(len(hyp) - n + 1, 0)
    return BleuStats(tuple(matches), tuple(totals), hyp_len, ref_len)


def corpus_bleu(hypotheses: Sequence[Sequence[Hashable]],
                references: Sequence[Sequence[Hashable]], max_n: int = 4,
                smooth: str = "exp") -> float:
    """Corpus BLEU in ``[0, 1]`` of ``hypotheses[i]`` against ``references[i]``
    (token sequences); see the module docstring for the formula and ``smooth``."""
    if smooth not in SMOOTHING:
        raise ValueError(f"smooth must be one of {SMOOTHING}, got {smooth!r}")
    stats = bleu_stats(hypotheses, references, max_n)
    if not any(stats.matches) or stats.totals[-1] == 0:
        return 0.0
    log_p, unmatched = 0.0, 0
    for match, total in zip(stats.matches, stats.totals, strict=True):
        if match == 0:
            if smooth == "none":
                return 0.0
            unmatched += 1
            log_p += -math.log(2.0 ** unmatched * total)
        else:
            log_p += math.log(match / total)
    c, r = stats.hyp_len, stats.ref_len
    brevity = 1.0 if c >= r else math.exp(1.0 - r / c)
    return brevity * math.exp(log_p / max_n)
