"""The NumPy RNN against torch.nn.RNN, torch autograd and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import central_diff, max_rel_error, torch_or_skip
from hypothesis import given
from hypothesis import strategies as st

from rnncourse.numpy import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

torch = torch_or_skip()


def make(rng, N, T, D, H, dtype=np.float64):
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = rng.standard_normal((N, H)).astype(dtype)
    Wx = (rng.standard_normal((D, H)) / np.sqrt(D)).astype(dtype)
    Wh = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(dtype)
    b_ih = rng.standard_normal(H).astype(dtype)
    b_hh = rng.standard_normal(H).astype(dtype)
    return x, h0, Wx, Wh, b_ih, b_hh


def torch_rnn(x, h0, Wx, Wh, b_ih, b_hh, nonlinearity):
    """torch.nn.RNN with the same weights: weight_ih = Wx^T, b = b_ih + b_hh."""
    D, H = Wx.shape
    m = torch.nn.RNN(D, H, nonlinearity=nonlinearity, batch_first=True).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(Wx.T.copy()))
        m.weight_hh_l0.copy_(torch.from_numpy(Wh.T.copy()))
        m.bias_ih_l0.copy_(torch.from_numpy(b_ih))
        m.bias_hh_l0.copy_(torch.from_numpy(b_hh))
    return m


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_forward_and_backward_match_torch(rng, nonlinearity):
    x, h0, Wx, Wh, b_ih, b_hh = make(rng, 3, 7, 4, 5)
    m = torch_rnn(x, h0, Wx, Wh, b_ih, b_hh, nonlinearity)
    xt = torch.from_numpy(x).requires_grad_()
    h0t = torch.from_numpy(h0[None].copy()).requires_grad_()
    out, hn = m(xt, h0t)

    h, cache = rnn_forward(x, h0, Wx, Wh, b_ih + b_hh, nonlinearity=nonlinearity)
    assert h.dtype == np.float64 and h.shape == (3, 7, 5)
    assert np.max(np.abs(h - out.detach().numpy())) <= 1e-10
    assert np.max(np.abs(h[:, -1] - hn[0].detach().numpy())) <= 1e-10

    dh = rng.standard_normal(h.shape)
    out.backward(torch.from_numpy(dh))
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)
    assert np.max(np.abs(dx - xt.grad.numpy())) <= 1e-10
    assert np.max(np.abs(dh0 - h0t.grad[0].numpy())) <= 1e-10
    assert np.max(np.abs(dWx - m.weight_ih_l0.grad.numpy().T)) <= 1e-10
    assert np.max(np.abs(dWh - m.weight_hh_l0.grad.numpy().T)) <= 1e-10
    # Both torch biases receive the same gradient, which is ours.
    assert np.max(np.abs(db - m.bias_ih_l0.grad.numpy())) <= 1e-10
    assert np.max(np.abs(db - m.bias_hh_l0.grad.numpy())) <= 1e-10


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_step_matches_torch_rnncell(rng, nonlinearity):
    x, h0, Wx, Wh, b_ih, b_hh = make(rng, 4, 1, 3, 6)
    cell = torch.nn.RNNCell(3, 6, nonlinearity=nonlinearity).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(Wx.T.copy()))
        cell.weight_hh.copy_(torch.from_numpy(Wh.T.copy()))
        cell.bias_ih.copy_(torch.from_numpy(b_ih))
        cell.bias_hh.copy_(torch.from_numpy(b_hh))
    xt = torch.from_numpy(x[:, 0].copy()).requires_grad_()
    ht = torch.from_numpy(h0).requires_grad_()
    out = cell(xt, ht)
    nh, cache = rnn_step_forward(x[:, 0], h0, Wx, Wh, b_ih + b_hh, nonlinearity)
    assert np.max(np.abs(nh - out.detach().numpy())) <= 1e-10
    d = rng.standard_normal(nh.shape)
    out.backward(torch.from_numpy(d))
    dx, dprev, dWx, dWh, db = rnn_step_backward(d, cache)
    assert np.max(np.abs(dx - xt.grad.numpy())) <= 1e-10
    assert np.max(np.abs(dprev - ht.grad.numpy())) <= 1e-10
    assert np.max(np.abs(dWx - cell.weight_ih.grad.numpy().T)) <= 1e-10
    assert np.max(np.abs(dWh - cell.weight_hh.grad.numpy().T)) <= 1e-10
    assert np.max(np.abs(db - cell.bias_ih.grad.numpy())) <= 1e-10


def test_step_backward_matches_finite_differences(rng):
    x, h0, Wx, Wh, b, _ = make(rng, 3, 1, 4, 5)
    x = np.ascontiguousarray(x[:, 0])
    d = rng.standard_normal((3, 5))

    def loss():
        return float(np.sum(rnn_step_forward(x, h0, Wx, Wh, b)[0] * d))

    _, cache = rnn_step_forward(x, h0, Wx, Wh, b)
    grads = rnn_step_backward(d, cache)
    for arr, g in zip((x, h0, Wx, Wh, b), grads, strict=True):
        assert max_rel_error(central_diff(loss, arr), g) <= 1e-7


def test_sequence_backward_matches_finite_differences(rng):
    x, h0, Wx, Wh, b, _ = make(rng, 2, 5, 3, 4)
    dh = rng.standard_normal((2, 5, 4))

    def loss():
        return float(np.sum(rnn_forward(x, h0, Wx, Wh, b)[0] * dh))

    _, cache = rnn_forward(x, h0, Wx, Wh, b)
    grads = rnn_backward(dh, cache)
    for arr, g in zip((x, h0, Wx, Wh, b), grads, strict=True):
        assert max_rel_error(central_diff(loss, arr), g) <= 1e-7


def test_sequence_equals_repeated_steps(rng):
    """rnn_forward's precomputed projection is the same recurrence as the step loop."""
    x, h0, Wx, Wh, b, _ = make(rng, 2, 6, 3, 4)
    h, _ = rnn_forward(x, h0, Wx, Wh, b)
    prev = h0
    for t in range(6):
        prev, _ = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
        np.testing.assert_allclose(h[:, t], prev, rtol=0, atol=1e-14)


def test_float32_in_float32_out(rng):
    x, h0, Wx, Wh, b, _ = make(rng, 2, 3, 4, 5, dtype=np.float32)
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    assert h.dtype == np.float32
    grads = rnn_backward(np.ones_like(h), cache)
    assert all(g.dtype == np.float32 for g in grads)
    h64, _ = rnn_forward(*(a.astype(np.float64) for a in (x, h0, Wx, Wh, b)))
    assert np.max(np.abs(h - h64)) < 1e-5


@given(
    N=st.integers(1, 3), T=st.integers(1, 4), D=st.integers(1, 4), H=st.integers(1, 4),
    nonlinearity=st.sampled_from(["tanh", "relu"]), seed=st.integers(0, 2**32 - 1),
)
def test_property_random_shapes_match_torch(N, T, D, H, nonlinearity, seed):
    rng = np.random.default_rng(seed)
    x, h0, Wx, Wh, b_ih, b_hh = make(rng, N, T, D, H)
    m = torch_rnn(x, h0, Wx, Wh, b_ih, b_hh, nonlinearity)
    xt = torch.from_numpy(x).requires_grad_()
    h0t = torch.from_numpy(h0[None].copy()).requires_grad_()
    out, _ = m(xt, h0t)
    h, cache = rnn_forward(x, h0, Wx, Wh, b_ih + b_hh, nonlinearity)
    assert h.shape == (N, T, H)
    assert np.max(np.abs(h - out.detach().numpy())) <= 1e-10
    dh = rng.standard_normal(h.shape)
    out.backward(torch.from_numpy(dh))
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)
    assert np.max(np.abs(dx - xt.grad.numpy())) <= 1e-10
    assert np.max(np.abs(dh0 - h0t.grad[0].numpy())) <= 1e-10
    assert np.max(np.abs(dWh - m.weight_hh_l0.grad.numpy().T)) <= 1e-10


# ----------------------------------------------------------------------------- bad input


def step_args(rng, N=3, D=4, H=5):
    return dict(
        x=rng.standard_normal((N, D)), prev_h=rng.standard_normal((N, H)),
        Wx=rng.standard_normal((D, H)), Wh=rng.standard_normal((H, H)),
        b=rng.standard_normal(H),
    )


def test_bad_weight_shape_names_argument_and_shapes(rng):
    a = step_args(rng)
    a["Wh"] = rng.standard_normal((5, 6))
    with pytest.raises(ValueError, match=r"rnn_step_forward: Wh must have shape \(H, H\) = "
                                         r"\(5, 5\), got \(5, 6\) \(H = 5 from prev_h\)"):
        rnn_step_forward(**a)


def test_mismatched_batch_sizes(rng):
    a = step_args(rng)
    a["prev_h"] = rng.standard_normal((2, 5))
    with pytest.raises(ValueError, match=r"prev_h must have shape \(N, H\) = \(3, 5\), "
                                         r"got \(2, 5\) \(N = 3 from x\)"):
        rnn_step_forward(**a)


def test_wrong_number_of_dimensions(rng):
    x, h0, Wx, Wh, b, _ = make(rng, 2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"x must be 2-D with shape \(N, D\), "
                                         r"got a 3-D array of shape \(2, 3, 4\)"):
        rnn_step_forward(x, h0, Wx, Wh, b)
    with pytest.raises(ValueError, match=r"rnn_forward: x must be 3-D"):
        rnn_forward(x[:, 0], h0, Wx, Wh, b)
    with pytest.raises(ValueError, match=r"b must be 1-D with shape \(H,\)"):
        rnn_forward(x, h0, Wx, Wh, b[None])


@pytest.mark.parametrize("bad, what", [
    (lambda a: a.astype(np.complex128), "complex numbers"),
    (lambda a: a > 0, "booleans"),
    (lambda a: a.astype(str), "strings"),
    (lambda a: a.astype(np.float16), "float16 is not supported"),
])
def test_wrong_dtype(rng, bad, what):
    a = step_args(rng)
    a["Wx"] = bad(a["Wx"])
    with pytest.raises(TypeError, match=f"rnn_step_forward: Wx: .*{what}"):
        rnn_step_forward(**a)


def test_integer_and_list_inputs_become_float64(rng):
    a = step_args(rng)
    a["x"] = np.arange(12).reshape(3, 4)
    a["b"] = [0.0] * 5
    h, _ = rnn_step_forward(**a)
    assert h.dtype == np.float64
    expected = np.tanh(a["x"] @ a["Wx"] + a["prev_h"] @ a["Wh"])
    np.testing.assert_allclose(h, expected, rtol=1e-12)


def test_non_finite_input(rng):
    a = step_args(rng)
    a["prev_h"][1, 2] = np.nan
    with pytest.raises(ValueError, match=r"prev_h: contains 1 NaN and 0 infinite value\(s\), "
                                         r"first at index \(1, 2\)"):
        rnn_step_forward(**a)


def test_bad_nonlinearity_cache_and_upstream(rng):
    a = step_args(rng)
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"):
        rnn_step_forward(**a, nonlinearity="sigmoid")
    h, cache = rnn_step_forward(**a)
    with pytest.raises(ValueError, match=r"dnext_h must have shape \(3, 5\) .*got \(3, 4\)"):
        rnn_step_backward(np.ones((3, 4)), cache)
    x, h0, Wx, Wh, b, _ = make(rng, 3, 2, 4, 5)
    _, seq_cache = rnn_forward(x, h0, Wx, Wh, b)
    with pytest.raises(TypeError, match="expected the cache returned by rnn_step_forward, "
                                        "got 'rnn'"):
        rnn_step_backward(np.ones((3, 5)), seq_cache)
    with pytest.raises(TypeError, match="expected the cache returned by rnn_forward"):
        rnn_backward(np.ones((3, 2, 5)), (1, 2, 3))
