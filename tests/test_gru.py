"""The NumPy GRU against torch.nn.GRU, a torch transcription of Cho et al., finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import central_diff, max_rel_error, torch_or_skip
from hypothesis import given
from hypothesis import strategies as st

from rnncourse.numpy.gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward
from rnncourse.numpy.rnn import rnn_forward

torch = torch_or_skip()

FORMS = ["pytorch", "cho"]


def make(rng, N, T, D, H, dtype=np.float64):
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    Wx = (rng.standard_normal((D, 3 * H)) / np.sqrt(D)).astype(dtype)
    Wh = (rng.standard_normal((H, 3 * H)) / np.sqrt(H)).astype(dtype)
    bx = rng.standard_normal(3 * H).astype(dtype)
    bh = rng.standard_normal(3 * H).astype(dtype)
    return x, h0, Wx, Wh, bx, bh


def maxabs(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def copy_weights(m, Wx, Wh, bx, bh, suffix=""):
    with torch.no_grad():
        getattr(m, "weight_ih" + suffix).copy_(torch.from_numpy(Wx.T.copy()))
        getattr(m, "weight_hh" + suffix).copy_(torch.from_numpy(Wh.T.copy()))
        getattr(m, "bias_ih" + suffix).copy_(torch.from_numpy(bx))
        getattr(m, "bias_hh" + suffix).copy_(torch.from_numpy(bh))
    return m


def torch_gru(Wx, Wh, bx, bh):
    D, H3 = Wx.shape
    return copy_weights(torch.nn.GRU(D, H3 // 3, batch_first=True).double(), Wx, Wh, bx, bh,
                        "_l0")


def cho_reference(x, h0, Wx, Wh, bx, bh):
    """Cho et al. (2014), eqs. (5)-(8), written in torch's column-vector layout.

    Returns ``(out, leaves)`` where ``out: (N, T, H)`` and ``leaves`` are the
    torch tensors (x, h0, W_ih, W_hh, b_ih, b_hh) whose ``.grad`` autograd fills.
    """
    leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True)
              for a in (x, h0, Wx.T.copy(), Wh.T.copy(), bx, bh)]
    xs, h, W_ih, W_hh, b_ih, b_hh = leaves
    W_ir, W_iz, W_in = W_ih.chunk(3, dim=0)  # (H, D) each
    W_hr, W_hz, W_hn = W_hh.chunk(3, dim=0)  # (H, H) each
    b_ir, b_iz, b_in = b_ih.chunk(3)
    b_hr, b_hz, b_hn = b_hh.chunk(3)
    outs = []
    for t in range(xs.shape[1]):
        x_t = xs[:, t]
        r = torch.sigmoid(x_t @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
        z = torch.sigmoid(x_t @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
        h_tilde = torch.tanh(x_t @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
        h = z * h + (1 - z) * h_tilde
        outs.append(h)
    return torch.stack(outs, dim=1), leaves


def reference(form, x, h0, Wx, Wh, bx, bh):
    """(out, [grad accessors]) for either form; out is differentiable w.r.t. everything."""
    if form == "cho":
        out, leaves = cho_reference(x, h0, Wx, Wh, bx, bh)
        return out, lambda: [leaf.grad.numpy() for leaf in leaves[:2]] + [
            leaves[2].grad.numpy().T, leaves[3].grad.numpy().T,
            leaves[4].grad.numpy(), leaves[5].grad.numpy()]
    m = torch_gru(Wx, Wh, bx, bh)
    xt = torch.from_numpy(x).requires_grad_()
    h0t = torch.from_numpy(h0[None].copy()).requires_grad_()
    out, _ = m(xt, h0t)
    return out, lambda: [
        xt.grad.numpy(), h0t.grad[0].numpy(), m.weight_ih_l0.grad.numpy().T,
        m.weight_hh_l0.grad.numpy().T, m.bias_ih_l0.grad.numpy(), m.bias_hh_l0.grad.numpy()]


# --------------------------------------------------------------------------- against torch


def test_step_matches_torch_grucell(rng):
    x, h0, Wx, Wh, bx, bh = make(rng, 4, 1, 3, 5)
    x = np.ascontiguousarray(x[:, 0])
    cell = copy_weights(torch.nn.GRUCell(3, 5).double(), Wx, Wh, bx, bh)
    xt = torch.from_numpy(x).requires_grad_()
    ht = torch.from_numpy(h0).requires_grad_()
    out = cell(xt, ht)

    nh, cache = gru_step_forward(x, h0, Wx, Wh, bx, bh)
    assert nh.shape == (4, 5) and nh.dtype == np.float64
    assert maxabs(nh, out.detach().numpy()) <= 1e-10

    d = rng.standard_normal(nh.shape)
    out.backward(torch.from_numpy(d))
    dx, dprev, dWx, dWh, dbx, dbh = gru_step_backward(d, cache)
    assert maxabs(dx, xt.grad.numpy()) <= 1e-10
    assert maxabs(dprev, ht.grad.numpy()) <= 1e-10
    assert maxabs(dWx, cell.weight_ih.grad.numpy().T) <= 1e-10
    assert maxabs(dWh, cell.weight_hh.grad.numpy().T) <= 1e-10
    assert maxabs(dbx, cell.bias_ih.grad.numpy()) <= 1e-10
    assert maxabs(dbh, cell.bias_hh.grad.numpy()) <= 1e-10


def test_sequence_matches_torch_gru(rng):
    x, h0, Wx, Wh, bx, bh = make(rng, 3, 7, 4, 5)
    m = torch_gru(Wx, Wh, bx, bh)
    xt = torch.from_numpy(x).requires_grad_()
    h0t = torch.from_numpy(h0[None].copy()).requires_grad_()
    out, hn = m(xt, h0t)

    h, cache = gru_forward(x, h0, Wx, Wh, bx, bh)
    assert h.shape == (3, 7, 5) and h.dtype == np.float64
    assert maxabs(h, out.detach().numpy()) <= 1e-10
    assert maxabs(h[:, -1], hn[0].detach().numpy()) <= 1e-10

    dh = rng.standard_normal(h.shape)
    out.backward(torch.from_numpy(dh))
    dx, dh0, dWx, dWh, dbx, dbh = gru_backward(dh, cache)
    assert maxabs(dx, xt.grad.numpy()) <= 1e-10
    assert maxabs(dh0, h0t.grad[0].numpy()) <= 1e-10
    assert maxabs(dWx, m.weight_ih_l0.grad.numpy().T) <= 1e-10
    assert maxabs(dWh, m.weight_hh_l0.grad.numpy().T) <= 1e-10
    assert maxabs(dbx, m.bias_ih_l0.grad.numpy()) <= 1e-10
    assert maxabs(dbh, m.bias_hh_l0.grad.numpy()) <= 1e-10


def test_cho_sequence_matches_torch_transcription(rng):
    x, h0, Wx, Wh, bx, bh = make(rng, 3, 6, 4, 5)
    out, leaves = cho_reference(x, h0, Wx, Wh, bx, bh)
    h, cache = gru_forward(x, h0, Wx, Wh, bx, bh, form="cho")
    assert maxabs(h, out.detach().numpy()) <= 1e-10

    dh = rng.standard_normal(h.shape)
    out.backward(torch.from_numpy(dh))
    dx, dh0, dWx, dWh, dbx, dbh = gru_backward(dh, cache)
    xs, h0t, W_ih, W_hh, b_ih, b_hh = leaves
    assert maxabs(dx, xs.grad.numpy()) <= 1e-10
    assert maxabs(dh0, h0t.grad.numpy()) <= 1e-10
    assert maxabs(dWx, W_ih.grad.numpy().T) <= 1e-10
    assert maxabs(dWh, W_hh.grad.numpy().T) <= 1e-10
    assert maxabs(dbx, b_ih.grad.numpy()) <= 1e-10
    assert maxabs(dbh, b_hh.grad.numpy()) <= 1e-10


def test_cho_step_matches_torch_transcription(rng):
    x, h0, Wx, Wh, bx, bh = make(rng, 4, 1, 3, 2)
    out, leaves = cho_reference(x, h0, Wx, Wh, bx, bh)
    nh, cache = gru_step_forward(x[:, 0], h0, Wx, Wh, bx, bh, form="cho")
    assert maxabs(nh, out[:, 0].detach().numpy()) <= 1e-10

    d = rng.standard_normal(nh.shape)
    out[:, 0].backward(torch.from_numpy(d))
    grads = gru_step_backward(d, cache)
    expected = [leaves[0].grad[:, 0].numpy(), leaves[1].grad.numpy(),
                leaves[2].grad.numpy().T, leaves[3].grad.numpy().T,
                leaves[4].grad.numpy(), leaves[5].grad.numpy()]
    for g, e in zip(grads, expected, strict=True):
        assert g.shape == e.shape
        assert maxabs(g, e) <= 1e-10


# --------------------------------------------------------------------------- finite differences


@pytest.mark.parametrize("form", FORMS)
def test_step_backward_matches_finite_differences(rng, form):
    x, h0, Wx, Wh, bx, bh = make(rng, 3, 1, 4, 3)
    x = np.ascontiguousarray(x[:, 0])
    d = rng.standard_normal((3, 3))
    args = (x, h0, Wx, Wh, bx, bh)

    def loss():
        return float(np.sum(gru_step_forward(*args, form=form)[0] * d))

    _, cache = gru_step_forward(*args, form=form)
    grads = gru_step_backward(d, cache)
    for arr, g in zip(args, grads, strict=True):
        assert max_rel_error(central_diff(loss, arr), g) <= 1e-7


@pytest.mark.parametrize("form", FORMS)
def test_sequence_backward_matches_finite_differences(rng, form):
    x, h0, Wx, Wh, bx, bh = make(rng, 2, 5, 3, 3)
    dh = rng.standard_normal((2, 5, 3))
    args = (x, h0, Wx, Wh, bx, bh)

    def loss():
        return float(np.sum(gru_forward(*args, form=form)[0] * dh))

    _, cache = gru_forward(*args, form=form)
    grads = gru_backward(dh, cache)
    for arr, g in zip(args, grads, strict=True):
        assert max_rel_error(central_diff(loss, arr), g) <= 1e-7


# --------------------------------------------------------------------------- the two forms


def test_the_two_forms_differ(rng):
    x, h0, Wx, Wh, bx, bh = make(rng, 2, 4, 3, 4)
    h_pt, _ = gru_forward(x, h0, Wx, Wh, bx, bh, form="pytorch")
    h_cho, _ = gru_forward(x, h0, Wx, Wh, bx, bh, form="cho")
    assert maxabs(h_pt, h_cho) > 1e-2


def test_the_two_forms_agree_without_the_n_hidden_term(rng):
    """With Wh_n = 0 and bh_n = 0: r ⊙ (h Wh_n + bh_n) = 0 = (r ⊙ h) Wh_n + bh_n."""
    x, h0, Wx, Wh, bx, bh = make(rng, 2, 4, 3, 4)
    Wh[:, 8:] = 0.0
    bh[8:] = 0.0
    h_pt, c_pt = gru_forward(x, h0, Wx, Wh, bx, bh, form="pytorch")
    h_cho, c_cho = gru_forward(x, h0, Wx, Wh, bx, bh, form="cho")
    assert maxabs(h_pt, h_cho) <= 1e-14
    # The gradients agree too, except those of Wh_n and bh_n themselves: how a change of
    # them would act still depends on the form (dWh_n = h^T (r ⊙ da_n) vs (r ⊙ h)^T da_n).
    dh = rng.standard_normal(h_pt.shape)
    dx, dh0, dWx, dWh, dbx, dbh = gru_backward(dh, c_pt)
    dx_c, dh0_c, dWx_c, dWh_c, dbx_c, dbh_c = gru_backward(dh, c_cho)
    for g_pt, g_cho in [(dx, dx_c), (dh0, dh0_c), (dWx, dWx_c), (dbx, dbx_c),
                        (dWh[:, :8], dWh_c[:, :8]), (dbh[:8], dbh_c[:8])]:
        assert maxabs(g_pt, g_cho) <= 1e-12
    assert maxabs(dWh[:, 8:], dWh_c[:, 8:]) > 1e-3
    # bh_n alone is enough to tell them apart: r multiplies it in PyTorch's form only.
    bh[8:] = 1.0
    assert maxabs(gru_forward(x, h0, Wx, Wh, bx, bh)[0],
                  gru_forward(x, h0, Wx, Wh, bx, bh, form="cho")[0]) > 1e-3


def test_hand_computed_step():
    """D = H = 1, all weights 0 except chosen ones: r = z = sigmoid(0) = 1/2."""
    x = np.array([[1.0]])
    h = np.array([[2.0]])
    Wx = np.array([[0.0, 0.0, 0.5]])  # x Wx_n = 0.5
    Wh = np.array([[0.0, 0.0, 1.0]])  # h Wh_n = 2
    bx = np.zeros(3)
    bh = np.array([0.0, 0.0, 1.0])    # bh_n = 1
    # PyTorch: n = tanh(0.5 + 0.5 * (2 + 1)) = tanh(2); Cho: n = tanh(0.5 + 1 * 1 + 1) = tanh(2.5)
    h_pt, _ = gru_step_forward(x, h, Wx, Wh, bx, bh)
    h_cho, _ = gru_step_forward(x, h, Wx, Wh, bx, bh, form="cho")
    assert h_pt[0, 0] == pytest.approx(0.5 * np.tanh(2.0) + 1.0, abs=1e-15)
    assert h_cho[0, 0] == pytest.approx(0.5 * np.tanh(2.5) + 1.0, abs=1e-15)


@pytest.mark.parametrize("form", FORMS)
def test_sequence_equals_repeated_steps(rng, form):
    x, h0, Wx, Wh, bx, bh = make(rng, 2, 6, 3, 4)
    h, _ = gru_forward(x, h0, Wx, Wh, bx, bh, form=form)
    prev = h0
    for t in range(6):
        prev, _ = gru_step_forward(x[:, t], prev, Wx, Wh, bx, bh, form=form)
        np.testing.assert_allclose(h[:, t], prev, rtol=0, atol=1e-14)


@pytest.mark.parametrize("form", FORMS)
def test_float32_in_float32_out(rng, form):
    args = make(rng, 2, 3, 4, 5, dtype=np.float32)
    h, cache = gru_forward(*args, form=form)
    assert h.dtype == np.float32
    grads = gru_backward(np.ones_like(h), cache)
    assert all(g.dtype == np.float32 for g in grads)
    nh, c = gru_step_forward(args[0][:, 0], *args[1:], form=form)
    assert nh.dtype == np.float32
    assert all(g.dtype == np.float32 for g in gru_step_backward(np.ones_like(nh), c))
    h64, cache64 = gru_forward(*(a.astype(np.float64) for a in args), form=form)
    assert maxabs(h, h64) < 1e-5
    for g, g64 in zip(grads, gru_backward(np.ones_like(h64), cache64), strict=True):
        assert maxabs(g, g64) < 1e-4


@given(
    N=st.integers(1, 3), T=st.integers(1, 4), D=st.integers(1, 4), H=st.integers(1, 4),
    form=st.sampled_from(FORMS), seed=st.integers(0, 2**32 - 1),
)
def test_property_random_shapes_match_reference(N, T, D, H, form, seed):
    rng = np.random.default_rng(seed)
    args = make(rng, N, T, D, H)
    out, ref_grads = reference(form, *args)
    h, cache = gru_forward(*args, form=form)
    assert h.shape == (N, T, H)
    assert maxabs(h, out.detach().numpy()) <= 1e-10
    dh = rng.standard_normal(h.shape)
    out.backward(torch.from_numpy(dh))
    for g, e in zip(gru_backward(dh, cache), ref_grads(), strict=True):
        assert g.shape == e.shape
        assert maxabs(g, e) <= 1e-10


# --------------------------------------------------------------------------- bad inputs


def test_missing_or_merged_bias_is_reported(rng):
    x, h0, Wx, Wh, bx, bh = make(rng, 2, 3, 4, 5)
    with pytest.raises(TypeError, match=r"gru_forward: bx: expected an array, got None"):
        gru_forward(x, h0, Wx, Wh, None, bh)
    with pytest.raises(TypeError, match="bh"):
        gru_forward(x, h0, Wx, Wh, bx)  # one bias, as for the plain RNN
    with pytest.raises(ValueError, match=r"bx must have shape \(3H,\) = \(15,\), got \(5,\)"):
        gru_forward(x, h0, Wx, Wh, bx[:5], bh)


def test_wrong_weight_shape_mentions_3H(rng):
    x, h0, Wx, _, bx, bh = make(rng, 2, 3, 4, 5)
    Wh4 = np.zeros((5, 20))  # an LSTM's Wh
    msg = r"Wh must have shape \(H, 3H\) = \(5, 15\), got \(5, 20\)"
    with pytest.raises(ValueError, match=msg):
        gru_forward(x, h0, Wx, Wh4, bx, bh)
    with pytest.raises(ValueError, match=r"Wx must have shape \(D, 3H\) = \(4, 6\), got \(4, 7\)"):
        gru_step_forward(x[:, 0], np.zeros((2, 2)), np.zeros((4, 7)), Wh4, bx, bh)


def test_unknown_form(rng):
    args = make(rng, 2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"form must be 'pytorch' or 'cho', got 'keras'"):
        gru_forward(*args, form="keras")
    with pytest.raises(ValueError, match=r"gru_step_forward: form must be"):
        gru_step_forward(args[0][:, 0], *args[1:], form="keras")


def test_bad_dtype_batch_nan_and_cache(rng):
    x, h0, Wx, Wh, bx, bh = make(rng, 2, 3, 4, 5)
    with pytest.raises(TypeError, match=r"gru_forward: x: expected a float64 or float32 array"):
        gru_forward(x > 0, h0, Wx, Wh, bx, bh)
    with pytest.raises(ValueError, match=r"h0 must have shape \(N, H\) = \(2, 5\), got \(3, 5\)"):
        gru_forward(x, np.zeros((3, 5)), Wx, Wh, bx, bh)
    bad = x.copy()
    bad[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match=r"x: contains 1 NaN .* first at index \(1, 2, 0\)"):
        gru_forward(bad, h0, Wx, Wh, bx, bh)
    h, cache = gru_forward(x, h0, Wx, Wh, bx, bh)
    with pytest.raises(ValueError, match=r"gru_backward: dh must have shape \(2, 3, 5\)"):
        gru_backward(h[:, :2], cache)
    _, step_cache = gru_step_forward(x[:, 0], h0, Wx, Wh, bx, bh)
    with pytest.raises(TypeError, match=r"expected the cache returned by gru_forward"):
        gru_backward(h, step_cache)
    _, rnn_cache = rnn_forward(x, h0, Wx[:, :5], Wh[:, :5], bx[:5])
    with pytest.raises(TypeError, match=r"gru_step_forward, got 'rnn'"):
        gru_step_backward(h[:, 0], rnn_cache)
