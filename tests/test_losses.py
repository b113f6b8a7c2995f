"""Softmax, cross-entropy and perplexity against torch.nn.functional and finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import central_diff, max_rel_error, torch_or_skip
from hypothesis import given
from hypothesis import strategies as st

from rnncourse.numpy.losses import (
    log_softmax,
    perplexity,
    softmax,
    temporal_softmax_cross_entropy,
)

torch = torch_or_skip()
F = torch.nn.functional


# --------------------------------------------------------------------------- softmax


@pytest.mark.parametrize("axis", [-1, 0, 1, 2])
def test_softmax_and_log_softmax_match_torch(rng, axis):
    s = 3 * rng.standard_normal((3, 4, 5))
    st_ = torch.from_numpy(s)
    assert np.max(np.abs(log_softmax(s, axis) - F.log_softmax(st_, dim=axis).numpy())) <= 1e-10
    assert np.max(np.abs(softmax(s, axis) - F.softmax(st_, dim=axis).numpy())) <= 1e-10


def test_softmax_by_hand():
    # softmax([0, log 2, log 3]) = [1, 2, 3] / 6, whatever constant is added.
    s = np.array([0.0, math.log(2), math.log(3)]) + 50.0
    np.testing.assert_allclose(softmax(s), [1 / 6, 2 / 6, 3 / 6], rtol=1e-14)
    np.testing.assert_allclose(log_softmax(s), np.log([1 / 6, 2 / 6, 3 / 6]), rtol=1e-14)


def test_log_softmax_is_stable_for_far_apart_scores():
    out = log_softmax(np.array([1000.0, 0.0, -1000.0]))
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out, [0.0, -1000.0, -2000.0])
    np.testing.assert_array_equal(softmax(np.array([1000.0, 0.0, -1000.0])), [1.0, 0.0, 0.0])


@pytest.mark.parametrize("big", [1e4, -1e4])
def test_huge_scores_are_finite_and_match_torch(rng, big):
    s = big + rng.standard_normal((4, 6))
    s[:, 0] = -big  # half the classes far away from the rest
    for ours, theirs in ((log_softmax(s), F.log_softmax(torch.from_numpy(s), dim=-1)),
                         (softmax(s), F.softmax(torch.from_numpy(s), dim=-1))):
        assert np.all(np.isfinite(ours))
        assert np.max(np.abs(ours - theirs.numpy())) <= 1e-10


def test_softmax_float32_in_float32_out(rng):
    s = rng.standard_normal((2, 5)).astype(np.float32)
    assert softmax(s).dtype == np.float32 and log_softmax(s).dtype == np.float32
    assert np.max(np.abs(softmax(s) - softmax(s.astype(np.float64)))) < 1e-6


def test_softmax_bad_inputs():
    with pytest.raises(ValueError, match=r"softmax: scores: contains 1 NaN"):
        softmax(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match=r"log_softmax: axis 2 is out of range for scores of "
                                         r"shape \(2, 3\)"):
        log_softmax(np.zeros((2, 3)), axis=2)
    with pytest.raises(TypeError, match=r"softmax: axis must be an integer, got float"):
        softmax(np.zeros(3), axis=0.0)
    with pytest.raises(ValueError, match=r"log_softmax: scores must have at least one axis"):
        log_softmax(np.float64(1.0))
    with pytest.raises(TypeError, match=r"softmax: scores: expected a float64 or float32 array, "
                                        r"got strings"):
        softmax(np.array(["a", "b"]))


# --------------------------------------------------------------------------- cross-entropy


def torch_ce(scores, y, mask, reduction):
    """F.cross_entropy over the flattened (N*T) positions, masked ones set to ignore_index."""
    N, T, K = scores.shape
    s = torch.from_numpy(scores).requires_grad_()
    target = torch.from_numpy(np.where(mask.astype(bool), y, -100).reshape(N * T))
    loss = F.cross_entropy(s.reshape(N * T, K), target, reduction=reduction, ignore_index=-100)
    loss.backward()
    return loss.item(), s.grad.numpy()


def make_ce(rng, N, T, K, p_mask=0.3, scale=2.0):
    scores = scale * rng.standard_normal((N, T, K))
    y = rng.integers(0, K, size=(N, T))
    mask = rng.random((N, T)) > p_mask
    mask[0, 0] = True  # at least one position counts
    return scores, y, mask


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_matches_torch_without_mask(rng, reduction):
    scores, y, _ = make_ce(rng, 3, 5, 7)
    loss, dscores = temporal_softmax_cross_entropy(scores, y, reduction=reduction)
    loss_t, grad_t = torch_ce(scores, y, np.ones((3, 5)), reduction)
    assert isinstance(loss, float)
    assert abs(loss - loss_t) <= 1e-10
    assert np.max(np.abs(dscores - grad_t)) <= 1e-10


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_matches_torch_ignore_index_with_mask(rng, reduction):
    scores, y, mask = make_ce(rng, 4, 6, 5)
    assert 0 < mask.sum() < mask.size
    loss, dscores = temporal_softmax_cross_entropy(scores, y, mask, reduction=reduction)
    loss_t, grad_t = torch_ce(scores, y, mask, reduction)
    assert abs(loss - loss_t) <= 1e-10
    assert np.max(np.abs(dscores - grad_t)) <= 1e-10
    assert np.all(dscores[~mask] == 0)  # padding gets exactly zero gradient


def test_cross_entropy_by_hand():
    """Equal scores: every position costs log K; the gradient is (1/K - onehot) / Z."""
    K = 4
    scores = np.full((1, 3, K), 7.0)
    y = np.array([[0, 3, 1]])
    mask = np.array([[1, 1, 0]])
    loss, d = temporal_softmax_cross_entropy(scores, y, mask)
    assert loss == pytest.approx(math.log(K), rel=1e-15)
    assert perplexity(loss) == pytest.approx(K, rel=1e-14)
    np.testing.assert_allclose(d[0, 0], np.array([-3, 1, 1, 1]) / 4 / 2, rtol=1e-14)
    np.testing.assert_allclose(d[0, 1], np.array([1, 1, 1, -3]) / 4 / 2, rtol=1e-14)
    np.testing.assert_array_equal(d[0, 2], 0.0)
    loss_sum, _ = temporal_softmax_cross_entropy(scores, y, mask, reduction="sum")
    assert loss_sum == pytest.approx(2 * math.log(K), rel=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_gradient_matches_finite_differences(rng, reduction):
    # Moderate scores: with very unequal probabilities the smallest gradient entries (~1e-4)
    # drown in the rounding error of the differences (~eps * loss / h ~ 1e-9).
    scores, y, mask = make_ce(rng, 2, 4, 5, scale=0.5)

    def loss():
        return temporal_softmax_cross_entropy(scores, y, mask, reduction)[0]

    _, dscores = temporal_softmax_cross_entropy(scores, y, mask, reduction)
    assert max_rel_error(central_diff(loss, scores), dscores) <= 1e-7


def test_cross_entropy_mask_as_bool_int_or_float_is_the_same(rng):
    scores, y, mask = make_ce(rng, 2, 3, 4)
    ref = temporal_softmax_cross_entropy(scores, y, mask)
    for m in (mask.astype(int), mask.astype(float)):
        loss, d = temporal_softmax_cross_entropy(scores, y, m)
        assert loss == ref[0]
        np.testing.assert_array_equal(d, ref[1])


def test_cross_entropy_all_masked_sum_is_zero(rng):
    scores, y, _ = make_ce(rng, 2, 3, 4)
    loss, d = temporal_softmax_cross_entropy(scores, y, np.zeros((2, 3), bool), reduction="sum")
    assert loss == 0.0
    assert np.all(d == 0)


def test_cross_entropy_is_stable_for_huge_scores():
    scores = np.array([[[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]]])
    loss, d = temporal_softmax_cross_entropy(scores, np.array([[1, 1]]))
    assert loss == pytest.approx(2e4 / 2, rel=1e-15)  # -log p = 2e4 at step 0, 0 at step 1
    np.testing.assert_array_equal(d, [[[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]]])


def test_cross_entropy_float32_in_float32_out(rng):
    scores, y, mask = make_ce(rng, 2, 3, 4)
    loss32, d32 = temporal_softmax_cross_entropy(scores.astype(np.float32), y, mask)
    loss64, d64 = temporal_softmax_cross_entropy(scores, y, mask)
    assert d32.dtype == np.float32
    assert abs(loss32 - loss64) < 1e-5 and np.max(np.abs(d32 - d64)) < 1e-6


@given(N=st.integers(1, 3), T=st.integers(1, 4), K=st.integers(1, 6),
       reduction=st.sampled_from(["mean", "sum"]), seed=st.integers(0, 2**32 - 1))
def test_cross_entropy_property_random_shapes_match_torch(N, T, K, reduction, seed):
    rng = np.random.default_rng(seed)
    scores, y, mask = make_ce(rng, N, T, K, p_mask=0.4)
    loss, dscores = temporal_softmax_cross_entropy(scores, y, mask, reduction)
    loss_t, grad_t = torch_ce(scores, y, mask, reduction)
    assert dscores.shape == (N, T, K)
    assert abs(loss - loss_t) <= 1e-10
    assert np.max(np.abs(dscores - grad_t)) <= 1e-10


def test_cross_entropy_bad_inputs(rng):
    scores, y, mask = make_ce(rng, 2, 3, 4)
    f = temporal_softmax_cross_entropy
    with pytest.raises(ValueError, match=r"the mask has no unmasked position"):
        f(scores, y, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"y: indices must be < 4, found 4"):
        f(scores, np.full((2, 3), 4))
    with pytest.raises(ValueError, match=r"y: indices must be >= 0, found -100"):
        f(scores, np.full((2, 3), -100))
    with pytest.raises(TypeError, match=r"y: expected integer indices, got floats"):
        f(scores, y.astype(float))
    with pytest.raises(ValueError, match=r"y must have shape \(N, T\) = \(2, 3\), got \(3, 3\) "
                                         r"\(N = 2 from scores, T = 3 from scores\)"):
        f(scores, np.zeros((3, 3), int))
    with pytest.raises(ValueError, match=r"mask must have shape \(N, T\) = \(2, 3\), "
                                         r"got \(2, 4\)"):
        f(scores, y, np.ones((2, 4), bool))
    with pytest.raises(ValueError, match=r"mask must contain only 0/1 \(or booleans\), "
                                         r"found 2"):
        f(scores, y, np.full((2, 3), 2))
    with pytest.raises(ValueError, match=r"mask: contains 1 NaN"):
        f(scores, y, np.array([[1, np.nan, 1], [1, 1, 1]]))
    with pytest.raises(ValueError, match=r"scores must be 3-D with shape \(N, T, K\), got a 2-D"):
        f(scores[:, 0], y[:, 0])
    bad = scores.copy()
    bad[1, 1, 1] = np.nan
    with pytest.raises(ValueError, match=r"scores: contains 1 NaN and 0 infinite value\(s\), "
                                         r"first at index \(1, 1, 1\)"):
        f(bad, y)
    with pytest.raises(ValueError, match=r"reduction must be 'mean' or 'sum', got 'none'"):
        f(scores, y, reduction="none")


# --------------------------------------------------------------------------- perplexity


def test_perplexity_by_hand():
    assert perplexity(0.0) == 1.0
    assert perplexity(math.log(50)) == pytest.approx(50, rel=1e-14)
    assert isinstance(perplexity(np.float32(1.0)), float)
