"""rnncourse.analysis.bleu against sacreBLEU (a test-only dependency) and hand-worked examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sacrebleu

from rnncourse.analysis.bleu import bleu_stats, corpus_bleu, ngrams


def sacre(hyps, refs, smooth):
    """sacreBLEU on whitespace-joined tokens with tokenize='none': the same tokens as ours."""
    join = lambda seqs: [" ".join(map(str, s)) for s in seqs]  # noqa: E731
    return sacrebleu.corpus_bleu(join(hyps), [join(refs)], tokenize="none",
                                 smooth_method=smooth, force=True)


def random_corpus(seed, n, vocab, lo, hi, noise):
    """References of random lengths; hypotheses are noisy copies (drop/replace/insert)."""
    rng = np.random.default_rng(seed)
    hyps, refs = [], []
    for _ in range(n):
        ref = [int(t) for t in rng.integers(0, vocab, size=rng.integers(lo, hi + 1))]
        hyp = []
        for t in ref:
            u = rng.random()
            if u < noise / 3:
                continue
            hyp.append(int(rng.integers(0, vocab)) if u < 2 * noise / 3 else t)
            if u > 1 - noise / 3:
                hyp.append(int(rng.integers(0, vocab)))
        hyps.append(hyp)
        refs.append(ref)
    return hyps, refs


@pytest.mark.parametrize("smooth", ["none", "exp"])
@pytest.mark.parametrize("seed,n,vocab,lo,hi,noise", [
    (0, 50, 10, 5, 15, 0.3),      # a typical corpus
    (1, 20, 30, 3, 8, 0.6),       # short, noisy: some 4-gram precisions are small
    (2, 5, 4, 1, 4, 0.4),         # tiny sequences, few 4-grams
    (3, 200, 13, 2, 12, 0.15),    # the chapter's digits-sized vocabulary
    (4, 3, 50, 4, 6, 0.9),        # almost no matches: smoothing matters
])
def test_corpus_bleu_matches_sacrebleu(smooth, seed, n, vocab, lo, hi, noise):
    hyps, refs = random_corpus(seed, n, vocab, lo, hi, noise)
    ref = sacre(hyps, refs, smooth)
    stats = bleu_stats(hyps, refs)
    assert list(stats.matches) == ref.counts and list(stats.totals) == ref.totals
    assert (stats.hyp_len, stats.ref_len) == (ref.sys_len, ref.ref_len)
    assert 100 * corpus_bleu(hyps, refs, smooth=smooth) == pytest.approx(ref.score, abs=1e-9)


def test_zero_and_smoothed_cases_match_sacrebleu():
    # no 4-gram matches: "none" gives 0, "exp" does not
    hyps, refs = [[1, 2, 3, 9, 5, 6, 7]], [[1, 2, 3, 4, 5, 6, 7]]
    for smooth in ("none", "exp"):
        assert 100 * corpus_bleu(hyps, refs, smooth=smooth) == pytest.approx(
            sacre(hyps, refs, smooth).score, abs=1e-9)
    assert corpus_bleu(hyps, refs, smooth="none") == 0.0
    assert corpus_bleu(hyps, refs, smooth="exp") > 0.0
    # hypotheses too short for 4-grams, and no match at all: 0 either way
    for hyps, refs in (([[1, 2, 3]], [[1, 2, 3]]), ([[5, 6, 7, 8]], [[1, 2, 3, 4]])):
        for smooth in ("none", "exp"):
            assert corpus_bleu(hyps, refs, smooth=smooth) == 0.0
            assert sacre(hyps, refs, smooth).score == 0.0


def test_hand_examples():
    # Papineni et al.'s clipping example: "the" seven times against "the cat is on the mat"
    hyp, ref = "the the the the the the the".split(), "the cat is on the mat".split()
    stats = bleu_stats([hyp], [ref], max_n=1)
    assert stats.matches == (2,) and stats.totals == (7,)
    assert corpus_bleu([hyp], [ref], max_n=1) == pytest.approx(2 / 7, rel=1e-15)
    # a perfect copy scores 1; half of it, the brevity penalty exp(1 - 8/4) times the precisions
    seq = list(range(8))
    assert corpus_bleu([seq], [seq]) == 1.0
    assert corpus_bleu([seq[:4]], [seq]) == pytest.approx(math.exp(1 - 8 / 4), rel=1e-15)
    # corpus BLEU sums counts before dividing: not the mean of sentence scores
    assert ngrams([1, 1, 2], 2) == {(1, 1): 1, (1, 2): 1}


def test_bad_input():
    with pytest.raises(ValueError, match="one reference per hypothesis"):
        corpus_bleu([[1, 2]], [[1, 2], [3]])
    with pytest.raises(ValueError, match="smooth must be one of"):
        corpus_bleu([[1]], [[1]], smooth="add-k")
    with pytest.raises(TypeError, match="not strings"):
        corpus_bleu("a b c", "a b c")
