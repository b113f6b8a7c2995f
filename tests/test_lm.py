"""Language modelling as probability (rnncourse.numpy.lm) against hand-derived values,
torch.nn.functional.cross_entropy, exhaustive sums and seeded sampling statistics.

The sampling tests draw from a fixed seed, so they cannot flake; their tolerances
are still wide enough (5 standard errors of a binomial proportion) that any seed
would pass them with overwhelming probability, so they test the distribution,
not one lucky stream of numbers.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import torch_or_skip

from rnncourse.numpy import (
    bits_per_char,
    perplexity,
    rnn_forward,
    sample,
    sample_next,
    sequence_log_likelihood,
    softmax,
    temperature_softmax,
    temporal_affine_forward,
    temporal_softmax_cross_entropy,
)

torch = torch_or_skip()


def model(rng, K=3, H=4, scale=1.0):
    return dict(Wx=scale * rng.standard_normal((K, H)), Wh=rng.standard_normal((H, H)) / 2,
                b=rng.standard_normal(H), V=scale * rng.standard_normal((H, K)),
                c=rng.standard_normal(K))


def scores_of(p, ids, h0=None):
    """Teacher forcing: read ids[:, :-1] (one-hot), return the scores of the next symbols."""
    K, H = p["Wx"].shape
    x = np.eye(K)[ids[:, :-1]]
    h, _ = rnn_forward(x, np.zeros((ids.shape[0], H)) if h0 is None else h0,
                       p["Wx"], p["Wh"], p["b"])
    return temporal_affine_forward(h, p["V"], p["c"])[0]


# --------------------------------------------------------------------------- log-likelihood


def test_log_likelihood_by_hand():
    # Equal scores: every step has probability 1/K, so log p = -T ln K.
    ll = sequence_log_likelihood(np.zeros((2, 5, 4)), np.zeros((2, 5), int))
    np.testing.assert_allclose(ll, [-5 * math.log(4)] * 2, rtol=1e-15)
    # Two classes, scores (ln 3, 0): p = (3/4, 1/4). Targets 0, 1, 0 -> (3/4)(1/4)(3/4).
    s = np.array([[[math.log(3), 0.0]] * 3])
    ll = sequence_log_likelihood(s, np.array([[0, 1, 0]]))
    assert ll[0] == pytest.approx(math.log(9 / 64), rel=1e-14)
    # The mask leaves the last step out: (3/4)(1/4).
    ll = sequence_log_likelihood(s, np.array([[0, 1, 0]]), mask=np.array([[1, 1, 0]]))
    assert ll[0] == pytest.approx(math.log(3 / 16), rel=1e-14)


def test_log_likelihood_matches_torch_cross_entropy(rng):
    N, T, K = 3, 6, 5
    scores = 2 * rng.standard_normal((N, T, K))
    y = rng.integers(0, K, size=(N, T))
    mask = np.arange(T) < np.array([6, 2, 4])[:, None]
    ll = sequence_log_likelihood(scores, y, mask)
    F = torch.nn.functional
    for n in range(N):  # per sequence: minus the summed cross-entropy of its real steps
        L = int(mask[n].sum())
        ref = -F.cross_entropy(torch.from_numpy(scores[n, :L]), torch.from_numpy(y[n, :L]),
                               reduction="sum").item()
        assert ll[n] == pytest.approx(ref, rel=1e-13)
    # CE = average NLL: the masked mean cross-entropy, in torch and in the package.
    target = torch.from_numpy(np.where(mask, y, -100))
    mean_ce = F.cross_entropy(torch.from_numpy(scores).reshape(-1, K), target.reshape(-1)).item()
    assert -ll.sum() / mask.sum() == pytest.approx(mean_ce, rel=1e-13)
    loss, _ = temporal_softmax_cross_entropy(scores, y, mask)
    assert loss == pytest.approx(mean_ce, rel=1e-13)


def test_chain_rule_probabilities_of_all_sequences_sum_to_one(rng):
    """p(x) = prod_t p(x_t | x_<t) with the package's RNN: a distribution over all K^T strings."""
    K, T, first = 3, 4, 1
    p = model(rng, K=K)
    seqs = np.array([(first, *rest) for rest in itertools.product(range(K), repeat=T)])
    ll = sequence_log_likelihood(scores_of(p, seqs), seqs[:, 1:])
    assert np.exp(ll).sum() == pytest.approx(1.0, abs=1e-13)
    # and each factor is a conditional: the prefixes of length 2 also sum to one
    two = np.array([(first, a, b) for a in range(K) for b in range(K)])
    assert np.exp(sequence_log_likelihood(scores_of(p, two), two[:, 1:])).sum() == \
        pytest.approx(1.0, abs=1e-14)


def test_log_likelihood_bad_inputs(rng):
    with pytest.raises(ValueError, match=r"sequence_log_likelihood: scores must be 3-D"):
        sequence_log_likelihood(np.zeros((3, 4)), np.zeros((3,), int))
    with pytest.raises(ValueError, match=r"sequence_log_likelihood: y must have shape"):
        sequence_log_likelihood(np.zeros((2, 3, 4)), np.zeros((2, 2), int))
    with pytest.raises(ValueError, match=r"indices must be < 4"):
        sequence_log_likelihood(np.zeros((2, 3, 4)), np.full((2, 3), 4))
    with pytest.raises(ValueError, match=r"mask must contain only 0/1"):
        sequence_log_likelihood(np.zeros((1, 2, 4)), np.zeros((1, 2), int), np.array([[1, 2]]))


# --------------------------------------------------------------------------- perplexity, bits


def test_bits_per_char_and_perplexity_by_hand():
    for K in (2, 4, 27, 256):
        L = math.log(K)  # a uniform guess over K symbols
        assert bits_per_char(L) == pytest.approx(math.log2(K), rel=1e-15)
        assert perplexity(L) == pytest.approx(K, rel=1e-14)
    for L in (0.0, 0.3, 1.7):
        assert 2 ** bits_per_char(L) == pytest.approx(perplexity(L), rel=1e-14)
    assert bits_per_char(0) == 0.0


@pytest.mark.parametrize(("value", "exc"), [(-0.1, ValueError), (float("nan"), ValueError),
                                            (float("inf"), ValueError), (True, TypeError),
                                            ("1.0", TypeError)])
def test_bits_per_char_bad_inputs(value, exc):
    with pytest.raises(exc, match="bits_per_char: mean_nll must be"):
        bits_per_char(value)


# --------------------------------------------------------------------------- temperature


def test_temperature_softmax_matches_torch(rng):
    s = 3 * rng.standard_normal((4, 6))
    for t in (0.25, 1.0, 3.0):
        ref = torch.softmax(torch.from_numpy(s) / t, dim=-1).numpy()
        np.testing.assert_allclose(temperature_softmax(s, t), ref, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(temperature_softmax(s), softmax(s), rtol=0, atol=0)
    # tau -> 0: all mass on the argmax; tau -> infinity: uniform
    cold = temperature_softmax(s, 1e-6)
    np.testing.assert_array_equal(cold, np.eye(6)[s.argmax(axis=1)])
    np.testing.assert_allclose(temperature_softmax(s, 1e9), np.full((4, 6), 1 / 6), rtol=1e-8)


@pytest.mark.parametrize(("t", "exc", "match"), [
    (0, ValueError, r"temperature must be a finite number > 0, got 0"),
    (-1.0, ValueError, r"temperature must be a finite number > 0, got -1.0"),
    (float("inf"), ValueError, "temperature must be a finite number > 0"),
    (None, TypeError, "temperature must be a number > 0, got NoneType"),
    (True, TypeError, "temperature must be a number > 0, got bool"),
])
def test_temperature_must_be_positive(rng, t, exc, match):
    with pytest.raises(exc, match=match):
        temperature_softmax(np.zeros(3), t)
    with pytest.raises(exc, match=match):
        sample_next(np.zeros((1, 3)), np.random.default_rng(0), t)
    with pytest.raises(exc, match=match):
        sample(model(rng), 0, 3, np.random.default_rng(0), temperature=t)


# --------------------------------------------------------------------------- sampling


def test_sample_next_frequencies_match_the_probabilities():
    """100,000 seeded draws: each frequency within 5 binomial standard errors of its p."""
    p = np.array([0.5, 0.3, 0.15, 0.05])
    n = 100_000
    draws = sample_next(np.tile(np.log(p), (n, 1)), np.random.default_rng(7))
    assert draws.shape == (n,) and draws.dtype == np.int64
    freq = np.bincount(draws, minlength=4) / n
    se = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(freq - p) < 5 * se), (freq, p)
    # At temperature 2 the target is p^(1/2), renormalised.
    q = np.sqrt(p) / np.sqrt(p).sum()
    freq = np.bincount(sample_next(np.tile(np.log(p), (n, 1)), np.random.default_rng(8), 2.0),
                       minlength=4) / n
    assert np.all(np.abs(freq - q) < 5 * np.sqrt(q * (1 - q) / n)), (freq, q)


def test_sample_next_is_inversion_of_the_generators_uniforms(rng):
    s = rng.standard_normal((50, 5))
    got = sample_next(s, np.random.default_rng(3), 0.7)
    u = np.random.default_rng(3).random(50)  # the same stream
    p = torch.softmax(torch.from_numpy(s / 0.7), dim=-1).numpy()
    expected = [int(np.searchsorted(np.cumsum(row), ui, side="right"))
                for row, ui in zip(p, u, strict=True)]
    assert got.tolist() == expected


def test_sample_next_cold_is_argmax(rng):
    s = rng.standard_normal((200, 7))
    np.testing.assert_array_equal(sample_next(s, rng, 1e-8), s.argmax(axis=1))
    assert sample_next(np.array([0.0, 5.0, 1.0]), rng, 1e-8).item() == 1  # one distribution


def test_sample_greedy_path_matches_torch_rnn_cell(rng):
    """At a tiny temperature, sampling is greedy decoding: checked with torch.nn.RNNCell."""
    K, H = 5, 6
    p = model(rng, K=K, H=H, scale=2.0)
    ids = sample(p, 2, 12, np.random.default_rng(0), temperature=1e-9)
    cell = torch.nn.RNNCell(K, H).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(p["Wx"].T.copy()))
        cell.weight_hh.copy_(torch.from_numpy(p["Wh"].T.copy()))
        cell.bias_ih.copy_(torch.from_numpy(p["b"]))
        cell.bias_hh.zero_()
        h, prev, expected = torch.zeros(1, H, dtype=torch.float64), 2, []
        for _ in range(12):
            h = cell(torch.nn.functional.one_hot(torch.tensor([prev]), K).double(), h)
            prev = int((h @ torch.from_numpy(p["V"]) + torch.from_numpy(p["c"])).argmax())
            expected.append(prev)
    assert ids.tolist() == expected


def test_sample_follows_the_model_distribution():
    """V = 0: the next symbol ignores the state, p = softmax(c); frequencies over 40,000 draws."""
    K, H = 4, 3
    c = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    p = dict(Wx=np.ones((K, H)), Wh=np.eye(H) / 2, b=np.zeros(H), V=np.zeros((H, K)), c=c)
    n = 40_000
    ids = sample(p, 0, n, np.random.default_rng(11))
    freq = np.bincount(ids, minlength=K) / n
    q = np.exp(c)
    assert np.all(np.abs(freq - q) < 5 * np.sqrt(q * (1 - q) / n)), freq
    # seeded: the same generator state gives the same text
    a = sample(p, 0, 30, np.random.default_rng(5), temperature=1.3)
    b = sample(p, 0, 30, np.random.default_rng(5), temperature=1.3)
    assert a.tolist() == b.tolist() and len(sample(p, 0, 0, np.random.default_rng(5))) == 0


def test_sample_bad_arguments(rng):
    p = model(rng)
    g = np.random.default_rng(0)
    with pytest.raises(TypeError, match=r"sample: rng must be a numpy.random.Generator"):
        sample(p, 0, 3, 0)
    with pytest.raises(TypeError, match=r"sample_next: rng must be a numpy.random.Generator"):
        sample_next(np.zeros((1, 3)), np.random.RandomState(0))
    with pytest.raises(ValueError, match=r"sample: first must be a symbol id in \[0, 3\)"):
        sample(p, 3, 3, g)
    with pytest.raises(ValueError, match="sample: length must be >= 0"):
        sample(p, 0, -1, g)
    with pytest.raises(TypeError, match="sample: length must be an int"):
        sample(p, 0, 2.0, g)
    with pytest.raises(KeyError, match=r"sample: params lacks \['V'\]"):
        sample({k: v for k, v in p.items() if k != "V"}, 0, 3, g)
    with pytest.raises(ValueError, match=r"sample: V must have shape"):
        sample({**p, "V": np.zeros((4, 5))}, 0, 3, g)
    with pytest.raises(ValueError, match=r"sample: h0 must have shape \(H,\) = \(4,\)"):
        sample(p, 0, 3, g, h0=np.zeros(3))
    with pytest.raises(ValueError, match=r"sample_next: scores must have shape \(N, K\)"):
        sample_next(np.zeros((1, 2, 3)), g)


# ---------------------------------------------------------------------- the graders' references


def test_ch04_grading_references_against_torch(rng):
    """The two references that rnncourse/grading/checks/ch04_bptt.py writes itself."""
    from rnncourse.grading.checks.ch04_bptt import language_model_metrics, sample_with_temperature

    scores, y = 800 + 3 * rng.standard_normal((2, 5, 7)), rng.integers(0, 7, size=(2, 5))
    L, ppl, bpc = language_model_metrics(scores, y)
    ref = torch.nn.functional.cross_entropy(torch.from_numpy(scores).reshape(-1, 7),
                                            torch.from_numpy(y).reshape(-1)).item()
    assert L == pytest.approx(ref, rel=1e-12)
    assert ppl == pytest.approx(math.exp(ref), rel=1e-12)
    assert bpc == pytest.approx(ref / math.log(2), rel=1e-12)
    # By hand: p = (1/2, 1/4, 1/4) at temperature 1, (2/3, 1/6, 1/6) at temperature 1/2.
    s = np.tile(np.log([0.5, 0.25, 0.25]), (4, 1))
    assert sample_with_temperature(s, 1.0, np.array([0.1, 0.55, 0.7, 0.8])).tolist() == \
        [0, 1, 1, 2]
    assert sample_with_temperature(s, 0.5, np.array([0.6, 0.7, 0.8, 0.9])).tolist() == \
        [0, 1, 1, 2]
