"""The embedding and the output layer against torch.nn, autograd and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import central_diff, max_rel_error, torch_or_skip
from hypothesis import given
from hypothesis import strategies as st

from rnncourse.numpy.layers import (
    embedding_backward,
    embedding_forward,
    temporal_affine_backward,
    temporal_affine_forward,
)

torch = torch_or_skip()


def torch_embedding(W):
    V, D = W.shape
    emb = torch.nn.Embedding(V, D).double()
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(W))
    return emb


def torch_linear(V, c):
    """torch.nn.Linear(H, K) with weight = V^T and bias = c."""
    H, K = V.shape
    lin = torch.nn.Linear(H, K).double()
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(V.T.copy()))
        lin.bias.copy_(torch.from_numpy(c))
    return lin


# --------------------------------------------------------------------------- embedding


def test_embedding_matches_torch_with_repeated_ids(rng):
    W = rng.standard_normal((6, 4))
    ids = np.array([[1, 3, 1, 5], [3, 3, 0, 1], [2, 1, 1, 1]])  # 1 and 3 repeat, 4 never appears
    emb = torch_embedding(W)
    out_t = emb(torch.from_numpy(ids))
    out, cache = embedding_forward(ids, W)
    assert out.shape == (3, 4, 4) and out.dtype == np.float64
    assert np.max(np.abs(out - out_t.detach().numpy())) <= 1e-10

    dout = rng.standard_normal(out.shape)
    out_t.backward(torch.from_numpy(dout))
    dW = embedding_backward(dout, cache)
    assert np.max(np.abs(dW - emb.weight.grad.numpy())) <= 1e-10
    assert np.all(dW[4] == 0)


def test_embedding_backward_by_hand():
    """Word 0 appears twice: its row of dW is the sum of both upstream rows."""
    W = np.zeros((3, 2))
    ids = np.array([[0, 2, 0]])
    dout = np.array([[[1.0, 2.0], [10.0, 20.0], [100.0, 200.0]]])
    _, cache = embedding_forward(ids, W)
    dW = embedding_backward(dout, cache)
    np.testing.assert_array_equal(dW, [[101.0, 202.0], [0.0, 0.0], [10.0, 20.0]])


def test_embedding_backward_matches_finite_differences(rng):
    W = rng.standard_normal((5, 3))
    ids = rng.integers(0, 5, size=(2, 6))
    dout = rng.standard_normal((2, 6, 3))

    def loss():
        return float(np.sum(embedding_forward(ids, W)[0] * dout))

    _, cache = embedding_forward(ids, W)
    assert max_rel_error(central_diff(loss, W), embedding_backward(dout, cache)) <= 1e-7


def test_embedding_float32_in_float32_out(rng):
    W = rng.standard_normal((5, 3)).astype(np.float32)
    out, cache = embedding_forward(np.array([[0, 4]]), W)
    assert out.dtype == np.float32
    assert embedding_backward(np.ones_like(out), cache).dtype == np.float32


@given(N=st.integers(1, 3), T=st.integers(1, 4), V=st.integers(1, 5), D=st.integers(1, 4),
       seed=st.integers(0, 2**32 - 1))
def test_embedding_property_random_shapes_match_torch(N, T, V, D, seed):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((V, D))
    ids = rng.integers(0, V, size=(N, T))
    emb = torch_embedding(W)
    out_t = emb(torch.from_numpy(ids))
    out, cache = embedding_forward(ids, W)
    assert out.shape == (N, T, D)
    assert np.max(np.abs(out - out_t.detach().numpy())) <= 1e-10
    dout = rng.standard_normal(out.shape)
    out_t.backward(torch.from_numpy(dout))
    assert np.max(np.abs(embedding_backward(dout, cache) - emb.weight.grad.numpy())) <= 1e-10


def test_embedding_bad_inputs(rng):
    W = rng.standard_normal((5, 3))
    with pytest.raises(TypeError, match=r"ids: expected integer indices, got floats"):
        embedding_forward(np.array([[0.0, 1.0]]), W)
    with pytest.raises(ValueError, match=r"ids: indices must be >= 0, found -1"):
        embedding_forward(np.array([[0, -1]]), W)
    with pytest.raises(ValueError, match=r"ids: indices must be < 5, found 5"):
        embedding_forward(np.array([[0, 5]]), W)
    with pytest.raises(ValueError, match=r"ids must be 2-D with shape \(N, T\), got a 1-D array "
                                         r"of shape \(3,\)"):
        embedding_forward(np.array([0, 1, 2]), W)
    with pytest.raises(ValueError, match=r"W must be 2-D with shape \(V, D\), got a 1-D array"):
        embedding_forward(np.array([[0]]), np.zeros(5))
    with pytest.raises(TypeError, match=r"W: expected a float64 or float32 array, got booleans"):
        embedding_forward(np.array([[0]]), np.ones((5, 3), dtype=bool))
    W_nan = W.copy()
    W_nan[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"W: contains 1 NaN and 0 infinite value\(s\), "
                                         r"first at index \(2, 1\)"):
        embedding_forward(np.array([[0]]), W_nan)


def test_embedding_backward_bad_inputs(rng):
    W = rng.standard_normal((5, 3))
    out, cache = embedding_forward(np.array([[0, 1]]), W)
    with pytest.raises(ValueError, match=r"dout must have shape \(1, 2, 3\) \(as in the forward "
                                         r"pass\), got \(1, 2, 4\)"):
        embedding_backward(np.zeros((1, 2, 4)), cache)
    _, affine_cache = temporal_affine_forward(np.zeros((1, 2, 3)), np.zeros((3, 4)), np.zeros(4))
    with pytest.raises(TypeError, match=r"expected the cache returned by embedding_forward, "
                                        r"got 'temporal_affine'"):
        embedding_backward(out, affine_cache)


# --------------------------------------------------------------------------- output layer


def make_affine(rng, N, T, H, K, dtype=np.float64):
    h = rng.standard_normal((N, T, H)).astype(dtype)
    V = (rng.standard_normal((H, K)) / np.sqrt(H)).astype(dtype)
    c = rng.standard_normal(K).astype(dtype)
    return h, V, c


def check_affine_against_torch_linear(rng, h, V, c):
    """Apply torch.nn.Linear to every step h[:, t] separately and compare."""
    lin = torch_linear(V, c)
    ht = torch.from_numpy(h).requires_grad_()
    out_t = torch.stack([lin(ht[:, t]) for t in range(h.shape[1])], dim=1)
    scores, cache = temporal_affine_forward(h, V, c)
    assert scores.shape == h.shape[:2] + (V.shape[1],)
    assert np.max(np.abs(scores - out_t.detach().numpy())) <= 1e-10
    dscores = rng.standard_normal(scores.shape)
    out_t.backward(torch.from_numpy(dscores))
    dh, dV, dc = temporal_affine_backward(dscores, cache)
    assert np.max(np.abs(dh - ht.grad.numpy())) <= 1e-10
    assert np.max(np.abs(dV - lin.weight.grad.numpy().T)) <= 1e-10
    assert np.max(np.abs(dc - lin.bias.grad.numpy())) <= 1e-10


def test_affine_matches_torch_linear_per_step(rng):
    check_affine_against_torch_linear(rng, *make_affine(rng, 3, 5, 4, 6))


def test_affine_by_hand():
    h = np.array([[[1.0, 2.0], [0.0, -1.0]]])  # N = 1, T = 2, H = 2
    V = np.array([[1.0, 0.0, 2.0], [3.0, 1.0, 0.0]])
    c = np.array([0.5, 0.0, -1.0])
    scores, cache = temporal_affine_forward(h, V, c)
    np.testing.assert_array_equal(scores, [[[7.5, 2.0, 1.0], [-2.5, -1.0, -1.0]]])
    dh, dV, dc = temporal_affine_backward(np.ones_like(scores), cache)
    np.testing.assert_array_equal(dh, [[[3.0, 4.0], [3.0, 4.0]]])  # row sums of V
    np.testing.assert_array_equal(dV, [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])  # h summed over t
    np.testing.assert_array_equal(dc, [2.0, 2.0, 2.0])  # one per step


def test_affine_backward_matches_finite_differences(rng):
    h, V, c = make_affine(rng, 2, 3, 4, 5)
    dscores = rng.standard_normal((2, 3, 5))

    def loss():
        return float(np.sum(temporal_affine_forward(h, V, c)[0] * dscores))

    _, cache = temporal_affine_forward(h, V, c)
    for arr, g in zip((h, V, c), temporal_affine_backward(dscores, cache), strict=True):
        assert max_rel_error(central_diff(loss, arr), g) <= 1e-7


def test_affine_float32_in_float32_out(rng):
    h, V, c = make_affine(rng, 2, 3, 4, 5, dtype=np.float32)
    scores, cache = temporal_affine_forward(h, V, c)
    assert scores.dtype == np.float32
    assert all(g.dtype == np.float32 for g in temporal_affine_backward(np.ones_like(scores), cache))
    scores64, _ = temporal_affine_forward(*(a.astype(np.float64) for a in (h, V, c)))
    assert np.max(np.abs(scores - scores64)) < 1e-5


@given(N=st.integers(1, 3), T=st.integers(1, 4), H=st.integers(1, 4), K=st.integers(1, 5),
       seed=st.integers(0, 2**32 - 1))
def test_affine_property_random_shapes_match_torch(N, T, H, K, seed):
    rng = np.random.default_rng(seed)
    check_affine_against_torch_linear(rng, *make_affine(rng, N, T, H, K))


def test_affine_bad_inputs(rng):
    h, V, c = make_affine(rng, 2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"temporal_affine_forward: V must have shape \(H, K\) = "
                                         r"\(4, 5\), got \(3, 5\) \(H = 4 from h\)"):
        temporal_affine_forward(h, V[:3], c)
    with pytest.raises(ValueError, match=r"c must have shape \(K,\) = \(5,\), got \(6,\) "
                                         r"\(K = 5 from V\)"):
        temporal_affine_forward(h, V, np.zeros(6))
    with pytest.raises(ValueError, match=r"h must be 3-D with shape \(N, T, H\), got a 2-D array"):
        temporal_affine_forward(h[:, 0], V, c)
    with pytest.raises(TypeError, match=r"V: expected a float64 or float32 array, got complex"):
        temporal_affine_forward(h, V.astype(complex), c)
    h_bad = h.copy()
    h_bad[1, 2, 3] = np.inf
    with pytest.raises(ValueError, match=r"h: contains 0 NaN and 1 infinite value\(s\)"):
        temporal_affine_forward(h_bad, V, c)
    scores, cache = temporal_affine_forward(h, V, c)
    with pytest.raises(ValueError, match=r"dscores must have shape \(2, 3, 5\) \(as in the "
                                         r"forward pass\), got \(3, 3, 5\)"):
        temporal_affine_backward(np.zeros((3, 3, 5)), cache)
    _, emb_cache = embedding_forward(np.array([[0]]), np.zeros((2, 2)))
    with pytest.raises(TypeError, match=r"expected the cache returned by temporal_affine_forward, "
                                        r"got 'embedding'"):
        temporal_affine_backward(scores, emb_cache)
