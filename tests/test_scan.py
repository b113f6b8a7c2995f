"""Linear recurrences by parallel scan, and minGRU (rnncourse.numpy.scan, chapter 11).

References, independent of the code under test:
- the recurrence h_t = a_t * h_{t-1} + b_t written out as a plain Python loop here;
- exact rational arithmetic (fractions.Fraction), where the scans must equal the loop
  bit for bit;
- the round and combine counts derived by hand: ceil(log2 T) rounds and
  sum_{k < K} (T - 2^k) combines for Hillis-Steele, 2 ceil(log2 T) rounds and
  2 (2^K - 1) combines for Blelloch;
- minGRU written from Feng et al.'s equations in a loop, and its gradient by torch
  autograd and by central differences.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnncourse.numpy import numerical_gradient, rel_error
from rnncourse.numpy.scan import (
    METHODS,
    ScanCost,
    combine,
    linear_scan,
    linear_scan_backward,
    mingru_backward,
    mingru_forward,
    scan_blelloch,
    scan_hillis_steele,
    scan_sequential,
)


def loop(a: np.ndarray, b: np.ndarray, h0: np.ndarray | None) -> np.ndarray:
    N, T, H = a.shape
    h = np.zeros((N, H)) if h0 is None else h0
    out = []
    for t in range(T):
        h = a[:, t] * h + b[:, t]
        out.append(h)
    return np.stack(out, axis=1)


def ceil_log2(T: int) -> int:
    k = 0
    while 2 ** k < T:
        k += 1
    return k


def _problem(rng: np.random.Generator, N: int, T: int, H: int):
    a = rng.uniform(-1.1, 1.1, (N, T, H))
    b = rng.standard_normal((N, T, H))
    h0 = rng.standard_normal((N, H))
    return a, b, h0


# --------------------------------------------------------------------------- the scans


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("T", [1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 100, 257])
def test_scan_equals_the_loop(method: str, T: int) -> None:
    rng = np.random.default_rng(T)
    a, b, h0 = _problem(rng, 3, T, 4)
    for init in (h0, None):
        h, _ = linear_scan(a, b, init, method)
        np.testing.assert_allclose(h, loop(a, b, init), rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(N=st.integers(1, 4), T=st.integers(1, 70), H=st.integers(1, 5),
       seed=st.integers(0, 2**32 - 1), method=st.sampled_from(METHODS),
       with_h0=st.booleans())
def test_scan_property(N: int, T: int, H: int, seed: int, method: str, with_h0: bool) -> None:
    a, b, h0 = _problem(np.random.default_rng(seed), N, T, H)
    h0 = h0 if with_h0 else None
    h, cost = linear_scan(a, b, h0, method)
    assert h.shape == (N, T, H) and h.dtype == np.float64
    np.testing.assert_allclose(h, loop(a, b, h0), rtol=0, atol=1e-12)
    assert cost.rounds == {"sequential": T - 1, "hillis-steele": ceil_log2(T),
                           "blelloch": 2 * ceil_log2(T)}[method]


@settings(max_examples=25, deadline=None)
@given(T=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_scans_are_exact_in_rational_arithmetic(T: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    fr = np.vectorize(lambda p, q: Fraction(int(p), int(q)), otypes=[object])
    a = fr(rng.integers(-9, 10, (2, T, 2)), rng.integers(1, 10, (2, T, 2)))
    b = fr(rng.integers(-9, 10, (2, T, 2)), rng.integers(1, 10, (2, T, 2)))
    h0 = fr(rng.integers(-9, 10, (2, 2)), 7)
    expected = [[[None] * 2 for _ in range(T)] for _ in range(2)]
    for n in range(2):
        for j in range(2):
            h = h0[n, j]
            for t in range(T):
                h = a[n, t, j] * h + b[n, t, j]
                expected[n][t][j] = h
    for method in METHODS:
        h, _ = linear_scan(a, b, h0, method)
        assert h.tolist() == expected, method


@pytest.mark.parametrize("T", [1, 2, 3, 4, 5, 8, 9, 100, 1000, 1024, 1025])
def test_round_and_combine_counts(T: int) -> None:
    a, b, _ = _problem(np.random.default_rng(0), 1, T, 1)
    K = ceil_log2(T)
    assert scan_sequential(a, b)[1] == ScanCost(rounds=T - 1, combines=T - 1)
    assert scan_hillis_steele(a, b)[1] == ScanCost(
        rounds=K, combines=sum(T - 2 ** k for k in range(K)))
    assert scan_blelloch(a, b)[1] == ScanCost(rounds=2 * K, combines=2 * (2 ** K - 1))


def test_counts_for_a_thousand_steps_by_hand() -> None:
    a, b, _ = _problem(np.random.default_rng(0), 1, 1000, 1)
    # 2^9 = 512 < 1000 <= 1024 = 2^10; 10 * 1000 - (1 + 2 + ... + 512) = 10000 - 1023
    assert scan_hillis_steele(a, b)[1] == ScanCost(10, 8977)
    assert scan_blelloch(a, b)[1] == ScanCost(20, 2046)


def test_combine_is_associative_not_commutative() -> None:
    p, q, r = ((np.array(2.0), np.array(3.0)), (np.array(5.0), np.array(-1.0)),
               (np.array(-0.5), np.array(4.0)))
    assert combine(combine(p, q), r) == combine(p, combine(q, r))
    # p then q: h -> 5 (2 h + 3) - 1 = 10 h + 14
    assert combine(p, q) == (10.0, 14.0)
    assert combine(q, p) == (10.0, 1.0)      # q then p: 2 (5 h - 1) + 3


def test_float32_stays_float32_and_inputs_are_not_modified() -> None:
    a, b, h0 = _problem(np.random.default_rng(1), 2, 9, 3)
    a32, b32, h32 = (v.astype(np.float32) for v in (a, b, h0))
    copies = [v.copy() for v in (a32, b32, h32)]
    for method in METHODS:
        h, _ = linear_scan(a32, b32, h32, method)
        assert h.dtype == np.float32
        np.testing.assert_allclose(h, loop(a, b, h0), atol=1e-4)
    for v, c in zip((a32, b32, h32), copies, strict=True):
        np.testing.assert_array_equal(v, c)


@pytest.mark.parametrize("args, error, match", [
    ((np.zeros((2, 3, 4)), np.zeros((2, 3, 5))), ValueError, r"b must have shape"),
    ((np.zeros((2, 3)), np.zeros((2, 3))), ValueError, r"a must be 3-D"),
    ((np.zeros((2, 0, 4)), np.zeros((2, 0, 4))), ValueError, r"T = 0"),
    ((np.zeros((2, 3, 4)), np.zeros((2, 3, 4)), np.zeros((3, 4))), ValueError,
     r"h0 must have shape"),
    ((np.zeros((1, 2, 1)), np.array([[[1.0], [np.nan]]])), ValueError, r"b: contains 1 NaN"),
    ((np.zeros((1, 2, 1), dtype=bool), np.zeros((1, 2, 1))), TypeError, r"a: expected a float"),
    ((np.zeros((1, 2, 1)), np.full((1, 2, 1), Fraction(1), dtype=object)), TypeError,
     r"mix of object arrays"),
])
def test_clear_errors(args, error, match) -> None:
    for method in METHODS:
        with pytest.raises(error, match=match):
            linear_scan(*args, method=method)


def test_unknown_method() -> None:
    with pytest.raises(ValueError, match=r"method must be one of .*'blelloch'.*got 'fast'"):
        linear_scan(np.zeros((1, 2, 1)), np.zeros((1, 2, 1)), method="fast")


# --------------------------------------------------------------------------- backward


@pytest.mark.parametrize("method", METHODS)
def test_scan_backward_against_autograd(method: str) -> None:
    rng = np.random.default_rng(7)
    a, b, h0 = _problem(rng, 2, 11, 3)
    dh = rng.standard_normal(a.shape)
    h, _ = linear_scan(a, b, h0, method)
    da, db, dh0 = linear_scan_backward(dh, a, h, h0, method)
    ta, tb, th0 = (torch.tensor(v, requires_grad=True) for v in (a, b, h0))
    state, outs = th0, []
    for t in range(a.shape[1]):
        state = ta[:, t] * state + tb[:, t]
        outs.append(state)
    (torch.stack(outs, 1) * torch.from_numpy(dh)).sum().backward()
    for mine, ref in ((da, ta.grad), (db, tb.grad), (dh0, th0.grad)):
        np.testing.assert_allclose(mine, ref.numpy(), rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- minGRU


def _mingru_weights(rng: np.random.Generator, D: int, H: int):
    return rng.standard_normal((D, 2 * H)) / np.sqrt(D), rng.standard_normal(2 * H)


def mingru_by_hand(x, h0, Wx, b):
    """Feng et al. (2024), minGRU, one step at a time."""
    H = h0.shape[1]
    Wz, Wh, bz, bh = Wx[:, :H], Wx[:, H:], b[:H], b[H:]
    h, out = h0, []
    for t in range(x.shape[1]):
        z = 1 / (1 + np.exp(-(x[:, t] @ Wz + bz)))
        cand = x[:, t] @ Wh + bh
        h = (1 - z) * h + z * cand
        out.append(h)
    return np.stack(out, axis=1)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("N, T, D, H", [(1, 1, 1, 1), (2, 7, 3, 4), (3, 33, 2, 5)])
def test_mingru_forward_against_the_hand_loop(method, N, T, D, H) -> None:
    rng = np.random.default_rng(N * 100 + T)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, b = _mingru_weights(rng, D, H)
    h, cache = mingru_forward(x, h0, Wx, b, method=method)
    np.testing.assert_allclose(h, mingru_by_hand(x, h0, Wx, b), rtol=0, atol=1e-12)
    assert cache["cost"].rounds == {"sequential": T - 1, "hillis-steele": ceil_log2(T),
                                    "blelloch": 2 * ceil_log2(T)}[method]


def _torch_mingru(x, h0, Wx, b):
    H = h0.shape[1]
    pre = x @ Wx + b
    z, cand = torch.sigmoid(pre[..., :H]), pre[..., H:]
    h, out = h0, []
    for t in range(x.shape[1]):
        h = (1 - z[:, t]) * h + z[:, t] * cand[:, t]
        out.append(h)
    return torch.stack(out, 1)


@pytest.mark.parametrize("method", METHODS)
def test_mingru_backward_against_autograd(method: str) -> None:
    rng = np.random.default_rng(3)
    N, T, D, H = 2, 9, 3, 4
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, b = _mingru_weights(rng, D, H)
    dh = rng.standard_normal((N, T, H))
    h, cache = mingru_forward(x, h0, Wx, b, method=method)
    grads = mingru_backward(dh, cache)
    tensors = [torch.tensor(v, requires_grad=True) for v in (x, h0, Wx, b)]
    (_torch_mingru(*tensors) * torch.from_numpy(dh)).sum().backward()
    for name, mine, t in zip(("dx", "dh0", "dWx", "db"), grads, tensors, strict=True):
        np.testing.assert_allclose(mine, t.grad.numpy(), rtol=0, atol=1e-10, err_msg=name)


def test_mingru_backward_against_finite_differences() -> None:
    rng = np.random.default_rng(4)
    x, h0 = rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 2))
    Wx, b = _mingru_weights(rng, 3, 2)
    dh = rng.standard_normal((2, 6, 2))
    _, cache = mingru_forward(x, h0, Wx, b)
    dx, dh0, dWx, db = mingru_backward(dh, cache)
    for name, arr, mine in (("x", x, dx), ("h0", h0, dh0), ("Wx", Wx, dWx), ("b", b, db)):
        num = numerical_gradient(lambda: mingru_forward(x, h0, Wx, b)[0], arr, dh,
                                           name=name)
        assert rel_error(mine, num) < 1e-7, name


def test_mingru_clear_errors() -> None:
    rng = np.random.default_rng(0)
    x, h0 = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 4))
    Wx, b = _mingru_weights(rng, 3, 4)
    with pytest.raises(ValueError, match=r"Wx must have shape \(D, 2H\) = \(3, 8\)"):
        mingru_forward(x, h0, Wx[:, :6], b)
    with pytest.raises(ValueError, match=r"b must have shape"):
        mingru_forward(x, h0, Wx, b[:7])
    with pytest.raises(ValueError, match=r"method must be one of"):
        mingru_forward(x, h0, Wx, b, method="magic")
    _, cache = mingru_forward(x, h0, Wx, b)
    with pytest.raises(ValueError, match=r"dh must have shape"):
        mingru_backward(np.zeros((2, 4, 4)), cache)
    with pytest.raises(TypeError, match=r"expected the cache returned by mingru_forward"):
        mingru_backward(np.zeros((2, 5, 4)), {"kind": "gru"})
