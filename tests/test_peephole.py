"""The NumPy peephole LSTM against the paper's equations in torch autograd, finite
differences, and torch.nn.LSTM at p = 0."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import central_diff, max_rel_error, torch_or_skip
from hypothesis import given
from hypothesis import strategies as st

from rnncourse.numpy.lstm import lstm_forward, lstm_step_forward
from rnncourse.numpy.peephole import (
    peephole_lstm_backward,
    peephole_lstm_forward,
    peephole_lstm_step_backward,
    peephole_lstm_step_forward,
)

torch = torch_or_skip()

TOL = 1e-10  # float64 agreement with torch


def make(rng, N, T, D, H, dtype=np.float64):
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    c0 = rng.standard_normal((N, H)).astype(dtype)
    Wx = (rng.standard_normal((D, 4 * H)) / np.sqrt(D)).astype(dtype)
    Wh = (rng.standard_normal((H, 4 * H)) / np.sqrt(H)).astype(dtype)
    b = rng.standard_normal(4 * H).astype(dtype)
    p = rng.standard_normal((3, H)).astype(dtype)
    return x, h0, c0, Wx, Wh, b, p


def reference(x, h0, c0, Wx, Wh, b, p):
    """Gers & Schmidhuber (2000) transcribed in torch, one step at a time.

    Written from the equations, in Olah's concatenated form: one matrix per
    gate acting on [h_{t-1}, x_t]. Returns (h: (N, T, H), c_T: (N, H)).
    """
    H = h0.shape[1]
    W = torch.cat([Wh, Wx], dim=0)  # (H + D, 4H)
    W_i, W_f, W_g, W_o = (W[:, k * H:(k + 1) * H] for k in range(4))
    b_i, b_f, b_g, b_o = (b[k * H:(k + 1) * H] for k in range(4))
    h, c, hs = h0, c0, []
    for t in range(x.shape[1]):
        hx = torch.cat([h, x[:, t]], dim=1)
        i = torch.sigmoid(hx @ W_i + b_i + p[0] * c)
        f = torch.sigmoid(hx @ W_f + b_f + p[1] * c)
        g = torch.tanh(hx @ W_g + b_g)
        c = f * c + i * g
        o = torch.sigmoid(hx @ W_o + b_o + p[2] * c)  # the new c
        h = o * torch.tanh(c)
        hs.append(h)
    return torch.stack(hs, dim=1), c


def leaves(*arrays):
    return [torch.from_numpy(np.ascontiguousarray(a)).requires_grad_() for a in arrays]


def maxabs(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)), initial=0.0))


def check_sequence_against_reference(rng, N, T, D, H, with_dc_T):
    args = make(rng, N, T, D, H)
    ts = leaves(*args)
    out, cn = reference(*ts)
    h, c_T, cache = peephole_lstm_forward(*args)
    assert h.shape == (N, T, H) and c_T.shape == (N, H)
    assert maxabs(h, out.detach().numpy()) <= TOL
    assert maxabs(c_T, cn.detach().numpy()) <= TOL

    dh = rng.standard_normal(h.shape)
    dc_T = rng.standard_normal(c_T.shape) if with_dc_T else None
    if with_dc_T:
        torch.autograd.backward([out, cn], [torch.from_numpy(dh), torch.from_numpy(dc_T)])
    else:
        out.backward(torch.from_numpy(dh))
    grads = peephole_lstm_backward(dh, cache, dc_T)
    assert len(grads) == 7
    for name, g, t in zip(("x", "h0", "c0", "Wx", "Wh", "b", "p"), grads, ts, strict=True):
        assert g.shape == t.shape, name
        assert maxabs(g, t.grad.numpy()) <= TOL, name


# --------------------------------------------------------------------------- against the paper


def test_step_matches_reference(rng):
    x, h0, c0, Wx, Wh, b, p = make(rng, 4, 1, 3, 5)
    ts = leaves(x, h0, c0, Wx, Wh, b, p)
    out, cn = reference(*ts)
    nh, nc, cache = peephole_lstm_step_forward(x[:, 0], h0, c0, Wx, Wh, b, p)
    assert maxabs(nh, out[:, 0].detach().numpy()) <= TOL
    assert maxabs(nc, cn.detach().numpy()) <= TOL

    dnh, dnc = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    torch.autograd.backward([out[:, 0], cn], [torch.from_numpy(dnh), torch.from_numpy(dnc)])
    dx, dprev_h, dprev_c, dWx, dWh, db, dp = peephole_lstm_step_backward(dnh, dnc, cache)
    assert maxabs(dx, ts[0].grad[:, 0].numpy()) <= TOL
    for g, t in zip((dprev_h, dprev_c, dWx, dWh, db, dp), ts[1:], strict=True):
        assert maxabs(g, t.grad.numpy()) <= TOL


@pytest.mark.parametrize("with_dc_T", [False, True])
def test_sequence_matches_reference(rng, with_dc_T):
    check_sequence_against_reference(rng, 3, 6, 4, 5, with_dc_T)


@given(
    N=st.integers(1, 3), T=st.integers(1, 4), D=st.integers(1, 4), H=st.integers(1, 4),
    with_dc_T=st.booleans(), seed=st.integers(0, 2**32 - 1),
)
def test_property_random_shapes_match_reference(N, T, D, H, with_dc_T, seed):
    check_sequence_against_reference(np.random.default_rng(seed), N, T, D, H, with_dc_T)


def test_output_gate_peeks_at_the_new_cell_state():
    """H = D = 1, zero weights: only p_o is non-zero, so o = sigma(p_o c_t), by hand."""
    Wx, Wh = np.zeros((1, 4)), np.zeros((1, 4))
    b = np.array([0.0, 0.0, 1.0, 0.0])  # g = tanh(1)
    p = np.array([[0.0], [0.0], [2.0]])
    c_prev = 0.5
    nh, nc, _ = peephole_lstm_step_forward(np.zeros((1, 1)), np.zeros((1, 1)),
                                           np.array([[c_prev]]), Wx, Wh, b, p)
    c = 0.5 * c_prev + 0.5 * np.tanh(1.0)
    assert nc[0, 0] == pytest.approx(c, abs=1e-15)
    assert nh[0, 0] == pytest.approx(np.tanh(c) / (1 + np.exp(-2.0 * c)), abs=1e-15)


# --------------------------------------------------------------------------- p = 0 is the LSTM


@pytest.mark.parametrize("with_dc_T", [False, True])
def test_zero_peepholes_equal_torch_lstm(rng, with_dc_T):
    N, T, D, H = 2, 5, 3, 4
    x, h0, c0, Wx, Wh, b_ih, _ = make(rng, N, T, D, H)
    b_hh = rng.standard_normal(4 * H)
    m = torch.nn.LSTM(D, H, batch_first=True).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(Wx.T.copy()))
        m.weight_hh_l0.copy_(torch.from_numpy(Wh.T.copy()))
        m.bias_ih_l0.copy_(torch.from_numpy(b_ih))
        m.bias_hh_l0.copy_(torch.from_numpy(b_hh))
    xt, h0t, c0t = leaves(x, h0[None], c0[None])
    out, (_, cn) = m(xt, (h0t, c0t))

    h, c_T, cache = peephole_lstm_forward(x, h0, c0, Wx, Wh, b_ih + b_hh, np.zeros((3, H)))
    assert maxabs(h, out.detach().numpy()) <= TOL
    assert maxabs(c_T, cn[0].detach().numpy()) <= TOL

    dh = rng.standard_normal(h.shape)
    dc_T = rng.standard_normal(c_T.shape) if with_dc_T else None
    if with_dc_T:
        torch.autograd.backward([out, cn[0]], [torch.from_numpy(dh), torch.from_numpy(dc_T)])
    else:
        out.backward(torch.from_numpy(dh))
    dx, dh0, dc0, dWx, dWh, db, dp = peephole_lstm_backward(dh, cache, dc_T)
    assert maxabs(dx, xt.grad.numpy()) <= TOL
    assert maxabs(dh0, h0t.grad[0].numpy()) <= TOL
    assert maxabs(dc0, c0t.grad[0].numpy()) <= TOL
    assert maxabs(dWx, m.weight_ih_l0.grad.numpy().T) <= TOL
    assert maxabs(dWh, m.weight_hh_l0.grad.numpy().T) <= TOL
    assert maxabs(db, m.bias_ih_l0.grad.numpy()) <= TOL
    assert dp.shape == (3, H) and np.all(dp != 0)  # p = 0 still gets a gradient


def test_zero_peepholes_equal_numpy_lstm_step(rng):
    x, h0, c0, Wx, Wh, b, _ = make(rng, 3, 1, 2, 4)
    a = peephole_lstm_step_forward(x[:, 0], h0, c0, Wx, Wh, b, np.zeros((3, 4)))
    r = lstm_step_forward(x[:, 0], h0, c0, Wx, Wh, b)
    assert maxabs(a[0], r[0]) <= 1e-15 and maxabs(a[1], r[1]) <= 1e-15


# --------------------------------------------------------------------------- finite differences


def test_step_backward_matches_finite_differences(rng):
    x, h0, c0, Wx, Wh, b, p = make(rng, 3, 1, 4, 5)
    x = np.ascontiguousarray(x[:, 0])
    dnh, dnc = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))

    def loss():
        nh, nc, _ = peephole_lstm_step_forward(x, h0, c0, Wx, Wh, b, p)
        return float(np.sum(nh * dnh) + np.sum(nc * dnc))

    _, _, cache = peephole_lstm_step_forward(x, h0, c0, Wx, Wh, b, p)
    grads = peephole_lstm_step_backward(dnh, dnc, cache)
    for arr, g in zip((x, h0, c0, Wx, Wh, b, p), grads, strict=True):
        assert max_rel_error(central_diff(loss, arr), g) <= 1e-7


@pytest.mark.parametrize("with_dc_T", [False, True])
def test_sequence_backward_matches_finite_differences(rng, with_dc_T):
    x, h0, c0, Wx, Wh, b, p = make(rng, 2, 5, 3, 4)
    dh = rng.standard_normal((2, 5, 4))
    dc_T = rng.standard_normal((2, 4)) if with_dc_T else None

    def loss():
        h, c_T, _ = peephole_lstm_forward(x, h0, c0, Wx, Wh, b, p)
        return float(np.sum(h * dh) + (np.sum(c_T * dc_T) if with_dc_T else 0.0))

    _, _, cache = peephole_lstm_forward(x, h0, c0, Wx, Wh, b, p)
    grads = peephole_lstm_backward(dh, cache, dc_T)
    for arr, g in zip((x, h0, c0, Wx, Wh, b, p), grads, strict=True):
        assert max_rel_error(central_diff(loss, arr), g) <= 1e-7


# --------------------------------------------------------------------------- structure


def test_sequence_equals_repeated_steps(rng):
    N, T, D, H = 2, 6, 3, 4
    x, h0, c0, Wx, Wh, b, p = make(rng, N, T, D, H)
    h, c_T, cache = peephole_lstm_forward(x, h0, c0, Wx, Wh, b, p)
    prev_h, prev_c, caches = h0, c0, []
    for t in range(T):
        prev_h, prev_c, sc = peephole_lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b, p)
        caches.append(sc)
        np.testing.assert_allclose(h[:, t], prev_h, rtol=0, atol=1e-14)
    np.testing.assert_allclose(c_T, prev_c, rtol=0, atol=1e-14)

    dh, dc_T = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))
    dx, dh0, dc0, *dw = peephole_lstm_backward(dh, cache, dc_T)
    dprev_h, dprev_c = np.zeros((N, H)), dc_T
    sums = [np.zeros_like(a) for a in (Wx, Wh, b, p)]
    for t in reversed(range(T)):
        dxt, dprev_h, dprev_c, *g = peephole_lstm_step_backward(dh[:, t] + dprev_h, dprev_c,
                                                                caches[t])
        np.testing.assert_allclose(dx[:, t], dxt, rtol=0, atol=1e-12)
        sums = [s + d for s, d in zip(sums, g, strict=True)]
    for ours, ref in zip((dh0, dc0, *dw), (dprev_h, dprev_c, *sums), strict=True):
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


def test_float32_in_float32_out(rng):
    args = make(rng, 2, 3, 4, 5, dtype=np.float32)
    h, c_T, cache = peephole_lstm_forward(*args)
    assert h.dtype == c_T.dtype == np.float32
    grads = peephole_lstm_backward(np.ones_like(h), cache, np.ones_like(c_T))
    assert all(g.dtype == np.float32 for g in grads)
    h64, c64, _ = peephole_lstm_forward(*(a.astype(np.float64) for a in args))
    assert maxabs(h, h64) < 1e-5 and maxabs(c_T, c64) < 1e-5


# --------------------------------------------------------------------------- bad inputs


@pytest.fixture
def seq_args(rng):
    x, h0, c0, Wx, Wh, b, p = make(rng, 2, 3, 3, 4)
    return dict(x=x, h0=h0, c0=c0, Wx=Wx, Wh=Wh, b=b, p=p)


def test_p_must_be_3_by_h(seq_args):
    with pytest.raises(ValueError, match=r"p must be 2-D with shape \(3, H\), got a 1-D array "
                                         r"of shape \(4,\)"):
        peephole_lstm_forward(**(seq_args | dict(p=np.zeros(4))))
    with pytest.raises(ValueError, match=r"p must have shape \(3, H\) = \(3, 4\), got \(3, 5\) "
                                         r"\(H = 4 from h0\)"):
        peephole_lstm_forward(**(seq_args | dict(p=np.zeros((3, 5)))))
    with pytest.raises(ValueError, match=r"p must have shape \(3, H\) = \(3, 4\), got \(4, 4\)"):
        peephole_lstm_forward(**(seq_args | dict(p=np.zeros((4, 4)))))


def test_lstm_weight_shapes_still_checked(seq_args):
    msg = r"Wx must have shape \(D, 4H\) = \(3, 16\), got \(3, 13\)"
    with pytest.raises(ValueError, match=msg):
        peephole_lstm_forward(**(seq_args | dict(Wx=np.zeros((3, 13)))))
    with pytest.raises(ValueError, match=r"c0 must have shape \(N, H\) = \(2, 4\), got \(3, 4\)"):
        peephole_lstm_forward(**(seq_args | dict(c0=np.zeros((3, 4)))))


def test_wrong_dtype_and_nan(seq_args):
    with pytest.raises(TypeError, match="p: expected a float64 or float32 array, got booleans"):
        peephole_lstm_forward(**(seq_args | dict(p=np.ones((3, 4), dtype=bool))))
    bad = seq_args["p"].copy()
    bad[2, 0] = np.inf
    with pytest.raises(ValueError, match=r"p: contains 0 NaN and 1 infinite value\(s\)"):
        peephole_lstm_forward(**(seq_args | dict(p=bad)))


def test_wrong_cache(seq_args):
    N, T, H = 2, 3, 4
    _, _, lstm_cache = lstm_forward(*(seq_args[k] for k in ("x", "h0", "c0", "Wx", "Wh", "b")))
    with pytest.raises(TypeError, match="cache returned by peephole_lstm_forward, got 'lstm'"):
        peephole_lstm_backward(np.zeros((N, T, H)), lstm_cache)
    step = {k: seq_args[k] for k in ("Wx", "Wh", "b", "p")}
    _, _, sc = peephole_lstm_step_forward(seq_args["x"][:, 0], seq_args["h0"], seq_args["c0"],
                                          **step)
    with pytest.raises(TypeError, match="cache returned by peephole_lstm_forward, "
                                        "got 'peephole_lstm_step'"):
        peephole_lstm_backward(np.zeros((N, T, H)), sc)
    _, _, lc = lstm_step_forward(seq_args["x"][:, 0], seq_args["h0"], seq_args["c0"],
                                 seq_args["Wx"], seq_args["Wh"], seq_args["b"])
    with pytest.raises(TypeError, match="cache returned by peephole_lstm_step_forward, "
                                        "got 'lstm_step'"):
        peephole_lstm_step_backward(np.zeros((N, H)), np.zeros((N, H)), lc)


def test_upstream_gradient_shapes(seq_args):
    h, _, cache = peephole_lstm_forward(**seq_args)
    with pytest.raises(ValueError, match=r"dc_T must have shape \(2, 4\) .* got \(4,\)"):
        peephole_lstm_backward(np.zeros_like(h), cache, np.zeros(4))
    with pytest.raises(ValueError, match=r"dh must have shape \(2, 3, 4\) .* got \(2, 3, 5\)"):
        peephole_lstm_backward(np.zeros((2, 3, 5)), cache)
