"""Top-k and nucleus (top-p) truncation: rnncourse.numpy.lm and its use in sampling.

References: distributions worked out by hand; a brute force over every subset of the
symbols (top-k: the k-subset of largest mass; nucleus: among the subsets whose mass reaches
p, the smallest, and of those the heaviest); and sampling frequencies checked against the
truncated probabilities with a binomial interval (scipy.stats) at a 1e-6 level per symbol.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnncourse.numpy import (
    sample_next,
    temperature_softmax,
    top_k_filter,
    top_p_filter,
    truncated_softmax,
)


def _renormalised(p: np.ndarray, subset) -> np.ndarray:
    q = np.zeros_like(p)
    idx = list(subset)
    q[idx] = p[idx] / p[idx].sum()
    return q


def brute_top_k(p: np.ndarray, k: int) -> np.ndarray:
    best = max(itertools.combinations(range(len(p)), min(k, len(p))),
               key=lambda s: p[list(s)].sum())
    return _renormalised(p, best)


def brute_top_p(p: np.ndarray, top_p: float) -> np.ndarray:
    subsets = [s for r in range(1, len(p) + 1) for s in itertools.combinations(range(len(p)), r)
               if p[list(s)].sum() >= top_p]
    smallest = min(len(s) for s in subsets)
    best = max((s for s in subsets if len(s) == smallest), key=lambda s: p[list(s)].sum())
    return _renormalised(p, best)


def test_top_k_by_hand():
    p = np.array([0.1, 0.4, 0.2, 0.3])
    np.testing.assert_allclose(top_k_filter(p, 2), [0, 4 / 7, 0, 3 / 7])
    np.testing.assert_allclose(top_k_filter(p, 1), [0, 1, 0, 0])           # greedy
    np.testing.assert_allclose(top_k_filter(p, 3), [0, 4 / 9, 2 / 9, 3 / 9])
    np.testing.assert_array_equal(top_k_filter(p, 4), p)
    np.testing.assert_array_equal(top_k_filter(p, 10), p)                  # k >= K: all
    # ties at the boundary: the lower id is kept, exactly k symbols survive
    np.testing.assert_allclose(top_k_filter(np.full(4, 0.25), 2), [0.5, 0.5, 0, 0])


def test_top_p_by_hand():
    p = np.array([0.2, 0.5, 0.3])                   # sorted: 0.5, 0.3, 0.2
    np.testing.assert_allclose(top_p_filter(p, 0.5), [0, 1, 0])      # 0.5 reaches 0.5
    np.testing.assert_allclose(top_p_filter(p, 0.49), [0, 1, 0])
    np.testing.assert_allclose(top_p_filter(p, 0.51), [0, 0.625, 0.375])
    np.testing.assert_allclose(top_p_filter(p, 0.8), [0, 0.625, 0.375])   # 0.5 + 0.3 = 0.8
    np.testing.assert_allclose(top_p_filter(p, 0.81), p)
    np.testing.assert_allclose(top_p_filter(p, 1.0), p)
    np.testing.assert_allclose(top_p_filter(p, 1e-9), [0, 1, 0])   # the top symbol always
    # the nucleus adapts: a confident row keeps one symbol, a flat row keeps them all
    rows = np.array([[0.95, 0.03, 0.02], [0.34, 0.33, 0.33]])
    np.testing.assert_allclose(top_p_filter(rows, 0.9), [[1, 0, 0], [0.34, 0.33, 0.33]])


@pytest.mark.parametrize("seed", range(20))
def test_truncation_matches_brute_force_over_all_subsets(seed):
    rng = np.random.default_rng(seed)
    K = int(rng.integers(2, 8))
    p = rng.dirichlet(np.full(K, 0.5))
    for k in range(1, K + 2):
        np.testing.assert_allclose(top_k_filter(p, k), brute_top_k(p, k), atol=1e-12)
    np.testing.assert_allclose(top_p_filter(p, 1.0), p)    # whatever the rounding of the sum
    for top_p in (*rng.uniform(0.01, 0.99, 8), 0.5, 0.9):
        # skip a threshold that falls within rounding of a partial sum (the brute force
        # and the cumulative sum may then disagree by the last bit)
        partial = np.cumsum(np.sort(p)[::-1])
        if np.min(np.abs(partial - top_p)) < 1e-9:
            continue
        np.testing.assert_allclose(top_p_filter(p, top_p), brute_top_p(p, top_p), atol=1e-12)


def test_rows_are_truncated_independently():
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(6), size=(4, 5))                   # (..., K) with two batch axes
    for f, arg in ((top_k_filter, 3), (top_p_filter, 0.7)):
        out = f(p, arg)
        assert out.shape == p.shape
        for i, j in np.ndindex(4, 5):
            np.testing.assert_allclose(out[i, j], f(p[i, j], arg))


def test_truncated_softmax_is_temperature_then_top_k_then_top_p():
    z = np.array([2.0, 1.0, 0.5, 0.0, -1.0])
    np.testing.assert_array_equal(truncated_softmax(z, 0.7), temperature_softmax(z, 0.7))
    e = np.exp(z / 0.7)
    p = e / e.sum()
    np.testing.assert_allclose(truncated_softmax(z, 0.7, top_k=3), brute_top_k(p, 3))
    np.testing.assert_allclose(truncated_softmax(z, 0.7, top_p=0.8), brute_top_p(p, 0.8))
    np.testing.assert_allclose(truncated_softmax(z, 0.7, top_k=3, top_p=0.9),
                               brute_top_p(brute_top_k(p, 3), 0.9))


@pytest.mark.parametrize(("f", "arg", "match"), [
    (top_k_filter, 0, "k must be an int >= 1"), (top_k_filter, 1.5, "k must be an int"),
    (top_k_filter, True, "k must be an int"), (top_p_filter, 0.0, r"top_p must be .* \(0, 1\]"),
    (top_p_filter, 1.2, "top_p must be"), (top_p_filter, "0.9", "top_p must be"),
])
def test_bad_arguments(f, arg, match):
    with pytest.raises(ValueError, match=match):
        f(np.array([0.5, 0.5]), arg)


def test_probabilities_are_checked():
    with pytest.raises(ValueError, match="sum to 1"):
        top_k_filter(np.array([0.5, 0.6]), 1)
    with pytest.raises(ValueError, match=">= 0"):
        top_p_filter(np.array([1.5, -0.5]), 0.9)


@pytest.mark.parametrize(("top_k", "top_p"), [(2, None), (None, 0.6), (3, 0.9)])
def test_sampling_frequencies_follow_the_truncated_distribution(top_k, top_p):
    stats = pytest.importorskip("scipy.stats")
    scores = np.array([1.0, 0.2, -0.3, 0.8, -1.0])
    e = np.exp(scores)
    p = e / e.sum()
    if top_k is not None:
        p = brute_top_k(p, top_k)
    if top_p is not None:
        p = brute_top_p(p, top_p)
    n = 20000
    draws = sample_next(np.tile(scores, (n, 1)), np.random.default_rng(0), top_k=top_k,
                        top_p=top_p)
    counts = np.bincount(draws, minlength=len(scores))
    for k, (c, q) in enumerate(zip(counts, p, strict=True)):
        if q == 0:
            assert c == 0, (k, c)                   # a truncated symbol is never drawn
        else:
            low, high = stats.binom.interval(1 - 1e-6, n, q)
            assert low <= c <= high, (k, c, n * q)


def test_charlm_sample_with_top_k_1_is_greedy_and_default_is_unchanged():
    torch = pytest.importorskip("torch")
    from rnncourse.data.text import CharVocab
    from rnncourse.models.charlm import CharLM, sample

    vocab = CharVocab.from_text("abcdefgh ")
    torch.manual_seed(0)
    model = CharLM(len(vocab), embed_size=4, hidden_size=8).eval()
    # greedy by hand: re-read the whole text every step, take the argmax
    text = "ab"
    for _ in range(12):
        with torch.no_grad():
            logits = model(torch.as_tensor(vocab.encode(text))[None])[0, -1]
        text += vocab.chars[int(logits.argmax())]
    assert sample(model, vocab, "ab", 12, top_k=1, seed=5) == text[2:]
    assert sample(model, vocab, "ab", 12, top_p=1e-9, seed=7) == text[2:]
    # without truncation: the temperature softmax and the generator's choice, by hand
    rng, out, text = np.random.default_rng(3), "", "ab"
    for _ in range(12):
        with torch.no_grad():
            logits = model(torch.as_tensor(vocab.encode(text + out))[None])[0, -1]
        p = temperature_softmax(logits.double().numpy(), 0.8)
        out += vocab.chars[int(rng.choice(len(p), p=p))]
    assert sample(model, vocab, "ab", 12, temperature=0.8, seed=3) == out
