"""Variable-length batches (``lengths=``) against PyTorch's packed sequences and finite differences.

The reference is ``torch.nn.RNN`` / ``torch.nn.LSTM`` fed
``pack_padded_sequence(x, lengths)`` and unpacked with ``pad_packed_sequence``:
its outputs (zeros at padding), its final states ``h_n`` / ``c_n`` (after each
sequence's last real step) and the gradients of a loss through them; and
each sequence run alone, without padding.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import central_diff, max_rel_error, torch_or_skip
from hypothesis import given
from hypothesis import strategies as st

from rnncourse.numpy import (
    gradcheck,
    last_states,
    lengths_mask,
    lstm_backward,
    lstm_forward,
    rnn_backward,
    rnn_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_cross_entropy,
)

torch = torch_or_skip()
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402


def weights_of(m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """torch.nn's weights in the package's row form: Wx = W_ih^T, Wh = W_hh^T, b = b_ih + b_hh."""
    return (m.weight_ih_l0.detach().numpy().T.copy(), m.weight_hh_l0.detach().numpy().T.copy(),
            (m.bias_ih_l0 + m.bias_hh_l0).detach().numpy())


def packed_run(m, x, lengths, state):
    """torch.nn module on a packed batch; returns (padded output, final state(s), input)."""
    xt = torch.from_numpy(x).requires_grad_()
    packed = pack_padded_sequence(xt, torch.from_numpy(lengths), batch_first=True,
                                  enforce_sorted=False)
    out, final = m(packed, state)
    out, out_lengths = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    assert out_lengths.tolist() == lengths.tolist()
    return out, final, xt


def batch(rng, N=4, T=6, D=3, H=5, lengths=(6, 2, 4, 1)):
    x = rng.standard_normal((N, T, D))
    return x, rng.standard_normal((N, H)), rng.standard_normal((N, H)), np.array(lengths)


# --------------------------------------------------------------------------- against torch.nn


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_matches_torch_packed_sequence(rng, nonlinearity):
    x, h0, _, lengths = batch(rng)
    N, T, D = x.shape
    H = h0.shape[1]
    m = torch.nn.RNN(D, H, nonlinearity=nonlinearity, batch_first=True).double()
    Wx, Wh, b = weights_of(m)
    h0t = torch.from_numpy(h0[None].copy()).requires_grad_()
    out, h_n, xt = packed_run(m, x, lengths, h0t)

    h, cache = rnn_forward(x, h0, Wx, Wh, b, nonlinearity=nonlinearity, lengths=lengths)
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=0, atol=1e-12)
    assert np.all(h[~lengths_mask(lengths, T)] == 0)  # padded outputs are exactly zero
    np.testing.assert_allclose(last_states(h, lengths), h_n[0].detach().numpy(), rtol=0,
                               atol=1e-12)

    # Gradients of an arbitrary loss of every output and of the final states.
    g_out, g_n = rng.standard_normal(h.shape), rng.standard_normal((N, H))
    ((out * torch.from_numpy(g_out)).sum() + (h_n[0] * torch.from_numpy(g_n)).sum()).backward()
    dh = g_out.copy()
    dh[np.arange(N), lengths - 1] += g_n  # h_n is the output at the last real step
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)
    for ours, theirs in [(dx, xt.grad.numpy()), (dh0, h0t.grad[0].numpy()),
                         (dWx, m.weight_ih_l0.grad.numpy().T),
                         (dWh, m.weight_hh_l0.grad.numpy().T), (db, m.bias_ih_l0.grad.numpy())]:
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-11)
    assert np.all(dx[~lengths_mask(lengths, T)] == 0)  # padded inputs are never read


def test_rnn_masked_cross_entropy_gradients_match_torch(rng):
    """A language-model loss over a padded batch: masked mean cross-entropy of h V + c."""
    x, h0, _, lengths = batch(rng, N=3, T=5, lengths=(5, 3, 2))
    N, T, D = x.shape
    H, K = h0.shape[1], 4
    V, c = rng.standard_normal((H, K)), rng.standard_normal(K)
    y = rng.integers(0, K, size=(N, T))
    m = torch.nn.RNN(D, H, batch_first=True).double()
    Wx, Wh, b = weights_of(m)
    out, _, xt = packed_run(m, x, lengths, torch.from_numpy(h0[None].copy()))
    Vt = torch.from_numpy(V).requires_grad_()
    mask = lengths_mask(lengths, T)
    scores_t = out @ Vt + torch.from_numpy(c)
    target = torch.from_numpy(np.where(mask, y, -100))  # ignore_index at padding
    loss_t = torch.nn.functional.cross_entropy(scores_t.reshape(-1, K), target.reshape(-1))
    loss_t.backward()

    h, cache = rnn_forward(x, h0, Wx, Wh, b, lengths=lengths)
    scores, aff = temporal_affine_forward(h, V, c)
    loss, dscores = temporal_softmax_cross_entropy(scores, y, mask=mask)
    dh, dV, _ = temporal_affine_backward(dscores, aff)
    dx, _, dWx, dWh, _ = rnn_backward(dh, cache)
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    np.testing.assert_allclose(dV, Vt.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dWx, m.weight_ih_l0.grad.numpy().T, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dWh, m.weight_hh_l0.grad.numpy().T, rtol=0, atol=1e-12)


def test_lstm_matches_torch_packed_sequence(rng):
    x, h0, c0, lengths = batch(rng)
    N, T, D = x.shape
    H = h0.shape[1]
    m = torch.nn.LSTM(D, H, batch_first=True).double()
    Wx, Wh, b = weights_of(m)
    h0t = torch.from_numpy(h0[None].copy()).requires_grad_()
    c0t = torch.from_numpy(c0[None].copy()).requires_grad_()
    out, (h_n, c_n), xt = packed_run(m, x, lengths, (h0t, c0t))

    h, c_T, cache = lstm_forward(x, h0, c0, Wx, Wh, b, lengths=lengths)
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=0, atol=1e-12)
    assert np.all(h[~lengths_mask(lengths, T)] == 0)
    np.testing.assert_allclose(last_states(h, lengths), h_n[0].detach().numpy(), rtol=0,
                               atol=1e-12)
    np.testing.assert_allclose(c_T, c_n[0].detach().numpy(), rtol=0, atol=1e-12)

    g_out, g_h, g_c = (rng.standard_normal(s) for s in (h.shape, (N, H), (N, H)))
    ((out * torch.from_numpy(g_out)).sum() + (h_n[0] * torch.from_numpy(g_h)).sum()
     + (c_n[0] * torch.from_numpy(g_c)).sum()).backward()
    dh = g_out.copy()
    dh[np.arange(N), lengths - 1] += g_h
    dx, dh0, dc0, dWx, dWh, db = lstm_backward(dh, cache, dc_T=g_c)
    for ours, theirs in [(dx, xt.grad.numpy()), (dh0, h0t.grad[0].numpy()),
                         (dc0, c0t.grad[0].numpy()), (dWx, m.weight_ih_l0.grad.numpy().T),
                         (dWh, m.weight_hh_l0.grad.numpy().T), (db, m.bias_ih_l0.grad.numpy())]:
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-11)


@given(N=st.integers(1, 4), T=st.integers(1, 5), D=st.integers(1, 3), H=st.integers(1, 4),
       seed=st.integers(0, 2**16), cell=st.sampled_from(["rnn", "lstm"]))
def test_property_random_lengths_match_torch(N, T, D, H, seed, cell):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, T, D))
    h0, c0 = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    lengths = rng.integers(1, T + 1, size=N)
    if cell == "rnn":
        m = torch.nn.RNN(D, H, batch_first=True).double()
        out, h_n, _ = packed_run(m, x, lengths, torch.from_numpy(h0[None].copy()))
        h, _ = rnn_forward(x, h0, *weights_of(m), lengths=lengths)
    else:
        m = torch.nn.LSTM(D, H, batch_first=True).double()
        state = (torch.from_numpy(h0[None].copy()), torch.from_numpy(c0[None].copy()))
        out, (h_n, c_n), _ = packed_run(m, x, lengths, state)
        h, c_T, _ = lstm_forward(x, h0, c0, *weights_of(m), lengths=lengths)
        np.testing.assert_allclose(c_T, c_n[0].detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(last_states(h, lengths), h_n[0].detach().numpy(), rtol=0,
                               atol=1e-12)


# ---------------------------------------------------------------------- padding changes nothing


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_each_sequence_alone_equals_its_row_of_the_padded_batch(rng, cell):
    """Run every sequence alone, unpadded: same states; whatever sits in the padding."""
    x, h0, c0, lengths = batch(rng)
    N, T, D = x.shape
    H = h0.shape[1]
    pad = ~lengths_mask(lengths, T)
    garbage = x.copy()
    garbage[pad] = 1e3 * rng.standard_normal((int(pad.sum()), D))  # never read
    if cell == "rnn":
        Wx, Wh, b = rng.standard_normal((D, H)), rng.standard_normal((H, H)) / 2, np.zeros(H)
        h, _ = rnn_forward(garbage, h0, Wx, Wh, b, lengths=lengths)
        for n, L in enumerate(lengths):
            alone, _ = rnn_forward(x[n:n + 1, :L], h0[n:n + 1], Wx, Wh, b)
            # equal up to rounding: BLAS may sum a batch of 1 in another order
            np.testing.assert_allclose(h[n, :L], alone[0], rtol=1e-14, atol=1e-15)
            np.testing.assert_allclose(last_states(h, lengths)[n], alone[0, -1], rtol=1e-14,
                                       atol=1e-15)
    else:
        Wx, Wh, b = (rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)) / 2,
                     np.zeros(4 * H))
        h, c_T, _ = lstm_forward(garbage, h0, c0, Wx, Wh, b, lengths=lengths)
        for n, L in enumerate(lengths):
            alone, c_alone, _ = lstm_forward(x[n:n + 1, :L], h0[n:n + 1], c0[n:n + 1], Wx, Wh, b)
            np.testing.assert_allclose(h[n, :L], alone[0], rtol=1e-14, atol=1e-15)
            np.testing.assert_allclose(c_T[n], c_alone[0], rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_full_lengths_are_the_unmasked_layer(rng, cell):
    x, h0, c0, _ = batch(rng)
    N, T, D = x.shape
    H = h0.shape[1]
    full = np.full(N, T)
    dh = rng.standard_normal((N, T, H))
    if cell == "rnn":
        Wx, Wh, b = rng.standard_normal((D, H)), rng.standard_normal((H, H)) / 2, np.zeros(H)
        a, ca = rnn_forward(x, h0, Wx, Wh, b)
        m, cm = rnn_forward(x, h0, Wx, Wh, b, lengths=full)
        ga, gm = rnn_backward(dh, ca), rnn_backward(dh, cm)
    else:
        Wx, Wh, b = (rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)) / 2,
                     np.zeros(4 * H))
        a, _, ca = lstm_forward(x, h0, c0, Wx, Wh, b)
        m, _, cm = lstm_forward(x, h0, c0, Wx, Wh, b, lengths=full)
        ga, gm = lstm_backward(dh, ca), lstm_backward(dh, cm)
    np.testing.assert_array_equal(a, m)
    for u, v in zip(ga, gm, strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-13, atol=1e-14)


# --------------------------------------------------------------------------- finite differences


def test_rnn_backward_with_lengths_matches_finite_differences(rng):
    x, h0, _, lengths = batch(rng, N=3, T=4, D=2, H=3, lengths=(4, 1, 3))
    Wx, Wh, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 3)) / 2, rng.standard_normal(3)
    dh = rng.standard_normal((3, 4, 3))

    def loss():
        return float(np.sum(rnn_forward(x, h0, Wx, Wh, b, lengths=lengths)[0] * dh))

    dx, dh0, dWx, dWh, db = rnn_backward(dh, rnn_forward(x, h0, Wx, Wh, b, lengths=lengths)[1])
    for ours, arr in [(dx, x), (dh0, h0), (dWx, Wx), (dWh, Wh), (db, b)]:
        assert max_rel_error(ours, central_diff(loss, arr)) < 1e-7
    # and the package's own gradcheck says the same
    errors = gradcheck(loss, dict(Wh=Wh, b=b), dict(Wh=dWh, b=db))
    assert max(errors.values()) < 1e-6, errors


def test_lstm_backward_with_lengths_matches_finite_differences(rng):
    x, h0, c0, lengths = batch(rng, N=3, T=4, D=2, H=2, lengths=(2, 4, 1))
    Wx, Wh, b = (rng.standard_normal((2, 8)), rng.standard_normal((2, 8)) / 2,
                 rng.standard_normal(8))
    dh, dc = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 2))

    def loss():
        h, c_T, _ = lstm_forward(x, h0, c0, Wx, Wh, b, lengths=lengths)
        return float(np.sum(h * dh) + np.sum(c_T * dc))

    grads = lstm_backward(dh, lstm_forward(x, h0, c0, Wx, Wh, b, lengths=lengths)[2], dc_T=dc)
    for ours, arr in zip(grads, [x, h0, c0, Wx, Wh, b], strict=True):
        assert max_rel_error(ours, central_diff(loss, arr)) < 1e-7


# --------------------------------------------------------------------------- helpers and errors


def test_lengths_mask_and_last_states_by_hand():
    np.testing.assert_array_equal(lengths_mask([3, 1, 2], 4),
                                  [[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 0, 0]])
    assert lengths_mask(np.array([2, 1])).shape == (2, 2)
    h = np.arange(2 * 3 * 1, dtype=float).reshape(2, 3, 1)  # h[n, t] = 3 n + t
    np.testing.assert_array_equal(last_states(h, [2, 3]), [[1.0], [5.0]])


def test_float32_in_float32_out(rng):
    x, h0, c0, lengths = batch(rng)
    x, h0, c0 = x.astype(np.float32), h0.astype(np.float32), c0.astype(np.float32)
    Wx, Wh, b = (rng.standard_normal((3, 5)).astype(np.float32),
                 rng.standard_normal((5, 5)).astype(np.float32), np.zeros(5, np.float32))
    h, cache = rnn_forward(x, h0, Wx, Wh, b, lengths=lengths)
    assert h.dtype == np.float32
    assert all(g.dtype == np.float32 for g in rnn_backward(np.ones_like(h), cache))
    W4 = rng.standard_normal((3, 20)).astype(np.float32)
    h, c_T, _ = lstm_forward(x, h0, c0, W4, np.zeros((5, 20), np.float32),
                             np.zeros(20, np.float32), lengths=lengths)
    assert h.dtype == c_T.dtype == np.float32


@pytest.mark.parametrize(("lengths", "exc", "match"), [
    ([3.0, 1.0], TypeError, r"rnn_forward: lengths must be integers, got floats .*astype\(int\)"),
    (["a", "b"], TypeError, "lengths must be integers"),
    ([3, 1, 2], ValueError, r"lengths must have shape \(N,\) = \(2,\).*got \(3,\)"),
    ([[3, 1]], ValueError, r"lengths must have shape \(N,\)"),
    ([3, 0], ValueError, "every length must be >= 1.*found 0"),
    ([4, 1], ValueError, "every length must be <= T = 3.*found 4"),
])
def test_bad_lengths_are_named(rng, lengths, exc, match):
    x, h0 = rng.standard_normal((2, 3, 2)), np.zeros((2, 4))
    with pytest.raises(exc, match=match):
        rnn_forward(x, h0, np.ones((2, 4)), np.eye(4), np.zeros(4), lengths=lengths)
    with pytest.raises(exc, match=match.replace("rnn_forward", "lstm_forward")):
        lstm_forward(x, h0, h0, np.ones((2, 16)), np.ones((4, 16)), np.zeros(16),
                     lengths=lengths)


def test_last_states_and_mask_errors():
    with pytest.raises(ValueError, match=r"last_states: h must be 3-D"):
        last_states(np.zeros((2, 3)), [1, 2])
    with pytest.raises(ValueError, match="every length must be <= T = 3"):
        last_states(np.zeros((2, 3, 1)), [1, 5])
    with pytest.raises(ValueError, match="lengths_mask: lengths must be 1-D"):
        lengths_mask([[1, 2]], 3)
    with pytest.raises(TypeError, match="lengths_mask: T must be an int"):
        lengths_mask([1, 2], 3.0)


def test_ch02_grading_reference_against_torch(rng):
    """rnncourse/grading/checks/ch02_rnn.py's rnn_forward_masked is torch's packed RNN."""
    from rnncourse.grading.checks.ch02_rnn import NOTEBOOK, rnn_forward_masked

    ex = next(e for e in NOTEBOOK.exercises if e.grade_id == "rnn_forward_masked")
    for case in ex.cases(rng):
        x, h0, lengths = case["x"], case["h0"], case["lengths"]
        D, H = case["Wx"].shape
        m = torch.nn.RNN(D, H, batch_first=True).double()
        with torch.no_grad():
            m.weight_ih_l0.copy_(torch.from_numpy(case["Wx"].T.copy()))
            m.weight_hh_l0.copy_(torch.from_numpy(case["Wh"].T.copy()))
            m.bias_ih_l0.copy_(torch.from_numpy(case["b"]))
            m.bias_hh_l0.zero_()
        out, h_n, _ = packed_run(m, x, lengths, torch.from_numpy(h0[None].copy()))
        h, h_last = rnn_forward_masked(**case)
        np.testing.assert_allclose(h, out.detach().numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(h_last, h_n[0].detach().numpy(), rtol=0, atol=1e-12)
