"""The NumPy LSTM against torch.nn.LSTM / LSTMCell, finite differences and hand-derived numbers."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import central_diff, max_rel_error, torch_or_skip
from hypothesis import given
from hypothesis import strategies as st

from rnncourse.numpy.lstm import (
    lstm_backward,
    lstm_forward,
    lstm_init,
    lstm_step_backward,
    lstm_step_forward,
)
from rnncourse.numpy.rnn import rnn_forward, rnn_step_forward

torch = torch_or_skip()

TOL = 1e-10  # float64 agreement with torch


def make(rng, N, T, D, H, dtype=np.float64):
    """Random inputs and weights; two separate non-zero biases, as torch has."""
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    c0 = rng.standard_normal((N, H)).astype(dtype)
    Wx = (rng.standard_normal((D, 4 * H)) / np.sqrt(D)).astype(dtype)
    Wh = (rng.standard_normal((H, 4 * H)) / np.sqrt(H)).astype(dtype)
    b_ih = rng.standard_normal(4 * H).astype(dtype)
    b_hh = rng.standard_normal(4 * H).astype(dtype)
    return x, h0, c0, Wx, Wh, b_ih, b_hh


def copy_weights(ih, hh, bih, bhh, Wx, Wh, b_ih, b_hh):
    """torch's weight_ih = Wx^T, weight_hh = Wh^T; our b = bias_ih + bias_hh."""
    with torch.no_grad():
        ih.copy_(torch.from_numpy(Wx.T.copy()))
        hh.copy_(torch.from_numpy(Wh.T.copy()))
        bih.copy_(torch.from_numpy(b_ih))
        bhh.copy_(torch.from_numpy(b_hh))


def torch_lstm(Wx, Wh, b_ih, b_hh):
    D, H4 = Wx.shape
    m = torch.nn.LSTM(D, H4 // 4, batch_first=True).double()
    copy_weights(m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0, Wx, Wh, b_ih, b_hh)
    return m


def leaf(a):
    return torch.from_numpy(np.ascontiguousarray(a)).requires_grad_()


def maxabs(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)), initial=0.0))


def check_sequence_against_torch(rng, N, T, D, H, with_dc_T):
    """Forward and every gradient of lstm_forward/backward vs torch.nn.LSTM."""
    x, h0, c0, Wx, Wh, b_ih, b_hh = make(rng, N, T, D, H)
    m = torch_lstm(Wx, Wh, b_ih, b_hh)
    xt, h0t, c0t = leaf(x), leaf(h0[None]), leaf(c0[None])
    out, (hn, cn) = m(xt, (h0t, c0t))

    h, c_T, cache = lstm_forward(x, h0, c0, Wx, Wh, b_ih + b_hh)
    assert h.shape == (N, T, H) and c_T.shape == (N, H) and h.dtype == np.float64
    assert maxabs(h, out.detach().numpy()) <= TOL
    assert maxabs(h[:, -1], hn[0].detach().numpy()) <= TOL
    assert maxabs(c_T, cn[0].detach().numpy()) <= TOL

    dh = rng.standard_normal(h.shape)
    dc_T = rng.standard_normal(c_T.shape) if with_dc_T else None
    if with_dc_T:
        # The loss reads torch's c_n too: sum(out * dh) + sum(c_n * dc_T).
        torch.autograd.backward([out, cn[0]], [torch.from_numpy(dh), torch.from_numpy(dc_T)])
    else:
        out.backward(torch.from_numpy(dh))
    dx, dh0, dc0, dWx, dWh, db = lstm_backward(dh, cache, dc_T)
    assert maxabs(dx, xt.grad.numpy()) <= TOL
    assert maxabs(dh0, h0t.grad[0].numpy()) <= TOL
    assert maxabs(dc0, c0t.grad[0].numpy()) <= TOL
    assert maxabs(dWx, m.weight_ih_l0.grad.numpy().T) <= TOL
    assert maxabs(dWh, m.weight_hh_l0.grad.numpy().T) <= TOL
    # Both torch biases receive the same gradient, which is ours.
    assert maxabs(db, m.bias_ih_l0.grad.numpy()) <= TOL
    assert maxabs(db, m.bias_hh_l0.grad.numpy()) <= TOL


# --------------------------------------------------------------------------- against torch


def test_step_matches_torch_lstmcell(rng):
    x, h0, c0, Wx, Wh, b_ih, b_hh = make(rng, 4, 1, 3, 5)
    x = x[:, 0]
    cell = torch.nn.LSTMCell(3, 5).double()
    copy_weights(cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh,
                 Wx, Wh, b_ih, b_hh)
    xt, ht, ct = leaf(x), leaf(h0), leaf(c0)
    h1, c1 = cell(xt, (ht, ct))

    nh, nc, cache = lstm_step_forward(x, h0, c0, Wx, Wh, b_ih + b_hh)
    assert nh.shape == nc.shape == (4, 5)
    assert maxabs(nh, h1.detach().numpy()) <= TOL
    assert maxabs(nc, c1.detach().numpy()) <= TOL

    dnh, dnc = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    torch.autograd.backward([h1, c1], [torch.from_numpy(dnh), torch.from_numpy(dnc)])
    dx, dprev_h, dprev_c, dWx, dWh, db = lstm_step_backward(dnh, dnc, cache)
    assert maxabs(dx, xt.grad.numpy()) <= TOL
    assert maxabs(dprev_h, ht.grad.numpy()) <= TOL
    assert maxabs(dprev_c, ct.grad.numpy()) <= TOL
    assert maxabs(dWx, cell.weight_ih.grad.numpy().T) <= TOL
    assert maxabs(dWh, cell.weight_hh.grad.numpy().T) <= TOL
    assert maxabs(db, cell.bias_ih.grad.numpy()) <= TOL
    assert maxabs(db, cell.bias_hh.grad.numpy()) <= TOL


@pytest.mark.parametrize("with_dc_T", [False, True])
def test_sequence_matches_torch_lstm(rng, with_dc_T):
    check_sequence_against_torch(rng, 3, 7, 4, 5, with_dc_T)


@given(
    N=st.integers(1, 3), T=st.integers(1, 4), D=st.integers(1, 4), H=st.integers(1, 4),
    with_dc_T=st.booleans(), seed=st.integers(0, 2**32 - 1),
)
def test_property_random_shapes_match_torch(N, T, D, H, with_dc_T, seed):
    check_sequence_against_torch(np.random.default_rng(seed), N, T, D, H, with_dc_T)


def test_hand_derived_step():
    """D = H = 1, zero weights and bias: i = f = o = 1/2, g = tanh(x Wx) by hand."""
    Wx = np.array([[0.0, 0.0, 2.0, 0.0]])  # only the candidate sees x
    Wh = np.zeros((1, 4))
    b = np.zeros(4)
    x, h, c = np.array([[0.5]]), np.array([[3.0]]), np.array([[1.0]])
    nh, nc, _ = lstm_step_forward(x, h, c, Wx, Wh, b)
    g = np.tanh(1.0)
    assert nc[0, 0] == pytest.approx(0.5 * 1.0 + 0.5 * g, abs=1e-15)
    assert nh[0, 0] == pytest.approx(0.5 * np.tanh(0.5 + 0.5 * g), abs=1e-15)


# --------------------------------------------------------------------------- finite differences


def test_step_backward_matches_finite_differences(rng):
    x, h0, c0, Wx, Wh, b, _ = make(rng, 3, 1, 4, 5)
    x = np.ascontiguousarray(x[:, 0])
    dnh, dnc = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))

    def loss():
        nh, nc, _ = lstm_step_forward(x, h0, c0, Wx, Wh, b)
        return float(np.sum(nh * dnh) + np.sum(nc * dnc))

    _, _, cache = lstm_step_forward(x, h0, c0, Wx, Wh, b)
    grads = lstm_step_backward(dnh, dnc, cache)
    for arr, g in zip((x, h0, c0, Wx, Wh, b), grads, strict=True):
        assert max_rel_error(central_diff(loss, arr), g) <= 1e-7


@pytest.mark.parametrize("with_dc_T", [False, True])
def test_sequence_backward_matches_finite_differences(rng, with_dc_T):
    x, h0, c0, Wx, Wh, b, _ = make(rng, 2, 5, 3, 4)
    dh = rng.standard_normal((2, 5, 4))
    dc_T = rng.standard_normal((2, 4)) if with_dc_T else None

    def loss():
        h, c_T, _ = lstm_forward(x, h0, c0, Wx, Wh, b)
        return float(np.sum(h * dh) + (np.sum(c_T * dc_T) if with_dc_T else 0.0))

    _, _, cache = lstm_forward(x, h0, c0, Wx, Wh, b)
    grads = lstm_backward(dh, cache, dc_T)
    for arr, g in zip((x, h0, c0, Wx, Wh, b), grads, strict=True):
        assert max_rel_error(central_diff(loss, arr), g) <= 1e-7


# --------------------------------------------------------------------------- structure


def test_sequence_equals_repeated_steps(rng):
    """lstm_forward/backward are the step equations with the input projection hoisted."""
    N, T, D, H = 2, 6, 3, 4
    x, h0, c0, Wx, Wh, b, _ = make(rng, N, T, D, H)
    h, c_T, cache = lstm_forward(x, h0, c0, Wx, Wh, b)
    prev_h, prev_c, caches = h0, c0, []
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        caches.append(step_cache)
        np.testing.assert_allclose(h[:, t], prev_h, rtol=0, atol=1e-14)
    np.testing.assert_allclose(c_T, prev_c, rtol=0, atol=1e-14)

    # BPTT by hand from the step backward: the same gradients as lstm_backward.
    dh, dc_T = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))
    dx, dh0, dc0, dWx, dWh, db = lstm_backward(dh, cache, dc_T)
    dprev_h, dprev_c = np.zeros((N, H)), dc_T
    sums = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
    for t in reversed(range(T)):
        dxt, dprev_h, dprev_c, *dw = lstm_step_backward(dh[:, t] + dprev_h, dprev_c, caches[t])
        np.testing.assert_allclose(dx[:, t], dxt, rtol=0, atol=1e-12)
        sums = [s + d for s, d in zip(sums, dw, strict=True)]
    for ours, ref in zip((dh0, dc0, dWx, dWh, db), (dprev_h, dprev_c, *sums), strict=True):
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


def test_float32_in_float32_out(rng):
    x, h0, c0, Wx, Wh, b, _ = make(rng, 2, 3, 4, 5, dtype=np.float32)
    h, c_T, cache = lstm_forward(x, h0, c0, Wx, Wh, b)
    assert h.dtype == c_T.dtype == np.float32
    grads = lstm_backward(np.ones_like(h), cache, np.ones_like(c_T))
    assert all(g.dtype == np.float32 for g in grads)
    nh, nc, sc = lstm_step_forward(x[:, 0], h0, c0, Wx, Wh, b)
    assert nh.dtype == nc.dtype == np.float32
    assert all(g.dtype == np.float32 for g in lstm_step_backward(nh, nc, sc))
    h64, c64, _ = lstm_forward(*(a.astype(np.float64) for a in (x, h0, c0, Wx, Wh, b)))
    assert maxabs(h, h64) < 1e-5 and maxabs(c_T, c64) < 1e-5


def test_float64_wins_when_mixed(rng):
    x, h0, c0, Wx, Wh, b, _ = make(rng, 2, 3, 4, 5)
    h, c_T, _ = lstm_forward(x.astype(np.float32), h0, c0, Wx, Wh, b)
    assert h.dtype == c_T.dtype == np.float64


# --------------------------------------------------------------------------- initialisation


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lstm_init_forget_bias_and_ranges(dtype):
    D, H = 3, 16
    P = lstm_init(D, H, np.random.default_rng(0), dtype=dtype)
    assert P["Wx"].shape == (D, 4 * H) and P["Wh"].shape == (H, 4 * H) and P["b"].shape == (4 * H,)
    assert all(v.dtype == dtype for v in P.values())
    k = 1 / np.sqrt(H)
    assert np.all(P["b"][H:2 * H] == 1.0)
    others = np.concatenate([P["b"][:H], P["b"][2 * H:], P["Wx"].ravel(), P["Wh"].ravel()])
    assert np.all(np.abs(others) <= dtype(k))  # k rounded like the entries
    assert np.std(others) > k / 3  # really spread over the range, not zeros
    # The forward pass accepts what lstm_init returns.
    h, _, _ = lstm_forward(np.zeros((1, 2, D), dtype), np.zeros((1, H), dtype),
                           np.zeros((1, H), dtype), **P)
    assert h.dtype == dtype


def test_lstm_init_seed_and_options():
    a = lstm_init(2, 3, 7)
    b = lstm_init(2, 3, np.random.default_rng(7))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    z = lstm_init(2, 3, 7, forget_bias=0.0)
    assert np.all(z["b"][3:6] == 0.0)
    u = lstm_init(2, 3, 7, forget_bias=None)  # PyTorch's behaviour: all uniform
    assert np.all(np.abs(u["b"]) <= 1 / np.sqrt(3)) and len(np.unique(u["b"][3:6])) == 3


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(input_size=0), ValueError, "input_size must be >= 1"),
        (dict(hidden_size=2.0), TypeError, "hidden_size must be an int"),
        (dict(rng=None), TypeError, "rng must be a numpy.random.Generator or an int seed"),
        (dict(dtype=np.float16), TypeError, "dtype must be float64 or float32"),
        (dict(forget_bias=float("nan")), ValueError, "forget_bias must be finite"),
    ],
)
def test_lstm_init_bad_arguments(kwargs, exc, match):
    args = dict(input_size=2, hidden_size=3, rng=0) | kwargs
    with pytest.raises(exc, match=match):
        lstm_init(**args)


# --------------------------------------------------------------------------- bad inputs


@pytest.fixture
def step_args(rng):
    x, h0, c0, Wx, Wh, b, _ = make(rng, 2, 1, 3, 4)
    return dict(x=x[:, 0], prev_h=h0, prev_c=c0, Wx=Wx, Wh=Wh, b=b)


def test_wx_must_have_4h_columns(step_args):
    step_args["Wx"] = np.zeros((3, 3 * 4 + 1))
    msg = r"Wx must have shape \(D, 4H\) = \(3, 16\), got \(3, 13\)"
    with pytest.raises(ValueError, match=msg):
        lstm_step_forward(**step_args)


def test_wh_and_b_shapes(step_args):
    msg = r"Wh must have shape \(H, 4H\) = \(4, 16\), got \(4, 12\)"
    with pytest.raises(ValueError, match=msg):
        lstm_step_forward(**(step_args | dict(Wh=np.zeros((4, 12)))))
    with pytest.raises(ValueError, match=r"b must have shape \(4H,\) = \(16,\), got \(15,\)"):
        lstm_step_forward(**(step_args | dict(b=np.zeros(15))))


def test_prev_c_shape_mismatch(step_args):
    msg = r"prev_c must have shape \(N, H\) = \(2, 4\), got \(2, 3\)"
    with pytest.raises(ValueError, match=msg):
        lstm_step_forward(**(step_args | dict(prev_c=np.zeros((2, 3)))))
    with pytest.raises(ValueError, match=r"prev_c must be 2-D"):
        lstm_step_forward(**(step_args | dict(prev_c=np.zeros(4))))


def test_mismatched_batch_sizes(rng):
    x, h0, c0, Wx, Wh, b, _ = make(rng, 2, 3, 3, 4)
    with pytest.raises(ValueError, match=r"h0 must have shape \(N, H\) = \(2, 4\), got \(3, 4\)"):
        lstm_forward(x, np.zeros((3, 4)), c0, Wx, Wh, b)
    with pytest.raises(ValueError, match=r"c0 must have shape \(N, H\) = \(2, 4\), got \(1, 4\)"):
        lstm_forward(x, h0, np.zeros((1, 4)), Wx, Wh, b)


def test_wrong_dtype_and_nan(step_args):
    with pytest.raises(TypeError, match="x: expected a float64 or float32 array, got complex"):
        lstm_step_forward(**(step_args | dict(x=step_args["x"] + 0j)))
    with pytest.raises(TypeError, match="b: expected a float64 or float32 array, got booleans"):
        lstm_step_forward(**(step_args | dict(b=np.ones(16, dtype=bool))))
    bad = step_args["prev_c"].copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"prev_c: contains 1 NaN .* first at index \(1, 2\)"):
        lstm_step_forward(**(step_args | dict(prev_c=bad)))


def test_wrong_cache(step_args, rng):
    x, h0, _, _, _, _, _ = make(rng, 2, 3, 3, 4)
    _, rnn_cache = rnn_step_forward(step_args["x"], step_args["prev_h"], np.zeros((3, 4)),
                                    np.zeros((4, 4)), np.zeros(4))
    d = np.zeros((2, 4))
    with pytest.raises(TypeError, match=r"expected the cache returned by lstm_step_forward, "
                                        r"got 'rnn_step'"):
        lstm_step_backward(d, d, rnn_cache)
    _, seq_rnn_cache = rnn_forward(x, h0, np.zeros((3, 4)), np.zeros((4, 4)), np.zeros(4))
    with pytest.raises(TypeError, match="cache returned by lstm_forward, got 'rnn'"):
        lstm_backward(np.zeros((2, 3, 4)), seq_rnn_cache)
    # A step cache is not a sequence cache, and vice versa.
    _, _, step_cache = lstm_step_forward(**step_args)
    with pytest.raises(TypeError, match="cache returned by lstm_forward, got 'lstm_step'"):
        lstm_backward(np.zeros((2, 1, 4)), step_cache)
    with pytest.raises(TypeError, match="cache returned by lstm_step_forward, got 'tuple'"):
        lstm_step_backward(d, d, (1, 2))


def test_upstream_gradient_shapes(rng, step_args):
    _, _, step_cache = lstm_step_forward(**step_args)
    with pytest.raises(ValueError, match=r"dnext_c must have shape \(2, 4\) .* got \(2, 5\)"):
        lstm_step_backward(np.zeros((2, 4)), np.zeros((2, 5)), step_cache)
    x, h0, c0, Wx, Wh, b, _ = make(rng, 2, 3, 3, 4)
    h, _, cache = lstm_forward(x, h0, c0, Wx, Wh, b)
    with pytest.raises(ValueError, match=r"dh must have shape \(2, 3, 4\) .* got \(2, 4\)"):
        lstm_backward(np.zeros((2, 4)), cache)
    with pytest.raises(ValueError, match=r"dc_T must have shape \(2, 4\) .* got \(2, 3, 4\)"):
        lstm_backward(np.zeros_like(h), cache, np.zeros_like(h))
