"""rnncourse.torch.CIFGLSTM against a hand-written NumPy step and against torch.nn.LSTM."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnncourse.models.sequence import SequenceRegressor
from rnncourse.torch import CIFGLSTM


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _numpy_cifg(x, W_ih, W_hh, b_ih, b_hh):
    """The CIFG equations written out: x (N, T, D); blocks i, g, o; f = 1 - i."""
    N, T, _ = x.shape
    H = W_hh.shape[1]
    h = np.zeros((N, H))
    c = np.zeros((N, H))
    outs = []
    for t in range(T):
        a = x[:, t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh
        i = _sigmoid(a[:, :H])
        g = np.tanh(a[:, H:2 * H])
        o = _sigmoid(a[:, 2 * H:])
        f = 1.0 - i
        c = f * c + i * g
        h = o * np.tanh(c)
        outs.append(h)
    return np.stack(outs, axis=1), h, c


def test_cifg_matches_hand_written_equations():
    torch.manual_seed(0)
    layer = CIFGLSTM(3, 5, batch_first=True).double()
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    out, (h_n, c_n) = layer(x)
    p = {k: v.detach().numpy() for k, v in layer.named_parameters()}
    ref_out, ref_h, ref_c = _numpy_cifg(x.numpy(), p["weight_ih"], p["weight_hh"],
                                        p["bias_ih"], p["bias_hh"])
    np.testing.assert_allclose(out.detach().numpy(), ref_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_n[0].detach().numpy(), ref_h, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c_n[0].detach().numpy(), ref_c, rtol=1e-12, atol=1e-12)
    assert out.shape == (4, 7, 5) and h_n.shape == c_n.shape == (1, 4, 5)


def test_cifg_is_an_lstm_whose_forget_gate_is_the_negated_input_gate():
    """sigmoid(-a) = 1 - sigmoid(a): torch.nn.LSTM with W_f = -W_i, b_f = -b_i is a CIFG."""
    torch.manual_seed(1)
    D, H = 2, 4
    ours = CIFGLSTM(D, H).double()              # (T, N, D) layout, as torch.nn.LSTM's default
    ref = torch.nn.LSTM(D, H).double()
    i_, f_, g_, o_ = (slice(k * H, (k + 1) * H) for k in range(4))
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            mine = getattr(ours, name)
            theirs = getattr(ref, name + "_l0")
            theirs[i_] = mine[:H]
            theirs[f_] = -mine[:H]
            theirs[g_] = mine[H:2 * H]
            theirs[o_] = mine[2 * H:]
    x = torch.randn(9, 3, D, dtype=torch.float64)
    h0 = torch.randn(1, 3, H, dtype=torch.float64)
    c0 = torch.randn(1, 3, H, dtype=torch.float64)
    out, (h, c) = ours(x, (h0, c0))
    ref_out, (ref_h, ref_c) = ref(x, (h0, c0))
    torch.testing.assert_close(out, ref_out, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(h, ref_h, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(c, ref_c, rtol=1e-12, atol=1e-12)
    # and the gradients agree too (autograd through both)
    out.sum().backward()
    ref_out.sum().backward()
    torch.testing.assert_close(ours.weight_ih.grad[H:2 * H], ref.weight_ih_l0.grad[g_])


def test_cifg_parameters_and_forget_bias():
    layer = CIFGLSTM(2, 16, forget_bias=1.0)
    # three blocks: 3 (D H + H^2 + 2 H), three quarters of torch.nn.LSTM's count
    n = sum(p.numel() for p in layer.parameters())
    assert n == 3 * (2 * 16 + 16 * 16 + 2 * 16)
    assert n * 4 == 3 * sum(p.numel() for p in torch.nn.LSTM(2, 16).parameters())
    assert torch.all(layer.bias_ih[:16] == -1.0) and torch.all(layer.bias_hh[:16] == 0.0)
    # with zero input and state the forget gate is 1 - sigmoid(-1) = sigmoid(1)
    with torch.no_grad():
        layer.weight_ih.zero_()
        layer.bias_hh[16:].zero_()
    a_i = (layer.bias_ih + layer.bias_hh)[:16]
    torch.testing.assert_close(1 - torch.sigmoid(a_i), torch.sigmoid(torch.ones(16)))


def test_cifg_in_the_adding_model_and_bad_input():
    model = SequenceRegressor("cifg", 2, 8)
    assert isinstance(model.rnn, CIFGLSTM) and model.rnn.batch_first
    assert model(torch.randn(5, 6, 2)).shape == (5, 1)
    with pytest.raises(RuntimeError, match=r"input.size\(-1\) must be equal to input_size. "
                                           r"Expected 2, got 3"):  # torch.nn.LSTM's message
        model.rnn(torch.randn(5, 6, 3))
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        CIFGLSTM(2, 0)


def _as_lstm(ours: CIFGLSTM) -> torch.nn.LSTM:
    """torch.nn.LSTM with ``W_f = -W_i``, ``b_f = -b_i``: the same function (see above)."""
    H = ours.hidden_size
    ref = torch.nn.LSTM(ours.input_size, H, batch_first=ours.batch_first).to(
        ours.weight_ih.dtype)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            i, g, o = getattr(ours, name).split(H)
            getattr(ref, name + "_l0").copy_(torch.cat((i, -i, g, o)))
    return ref


def _outcome(m, inp, hx):
    """What ``m(inp, hx)`` gives: its tensors, or its exception's type and message."""
    try:
        out, (h, c) = m(inp) if hx is None else m(inp, hx)
    except Exception as exc:  # noqa: BLE001 -- compared with torch.nn's below
        return type(exc), str(exc)
    return out, h, c


@pytest.mark.parametrize("batch_first", [False, True])
def test_cifg_hx_and_input_shapes_as_torch_nn_lstm(batch_first):
    """torch.nn.LSTM's interface: a (2, N, H) hx for one layer, a batch-1 hx for a batch of
    3 and 2-D states for a batched input raise its errors with its messages; an unbatched
    (T, D) input with (1, H) states runs, as in torch.nn."""
    torch.manual_seed(2)
    ours = CIFGLSTM(2, 4, batch_first=batch_first).double()
    ref = _as_lstm(ours)
    x = torch.randn(5, 3, 2, dtype=torch.float64)  # N = 3 and T = 5, or T = 3 and N = 5
    N = x.shape[0] if batch_first else x.shape[1]

    def z(*shape):
        return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))

    cases = [
        (x, None), (x, (z(1, N, 4), z(1, N, 4))),
        (x, (z(2, N, 4), z(2, N, 4))),  # two layers' states for one layer
        (x, (z(1, 1, 4), z(1, 1, 4))),  # a batch-1 state: not broadcast
        (x, (z(1, N, 4), z(1, 1, 4))), (x, (z(1, N, 4), z(1, N, 5))),
        (x, (z(N, 4), z(N, 4))),  # 2-D states for a batched input
        (x[:, 0], None), (x[:, 0], (z(1, 4), z(1, 4))),  # unbatched
        (x[:, 0], (z(1, 1, 4), z(1, 1, 4))),
        (x[None], None), (torch.randn(5, 3, 3, dtype=torch.float64), None),
        (x.float(), None),
    ]
    for inp, hx in cases:
        mine, theirs = _outcome(ours, inp, hx), _outcome(ref, inp, hx)
        assert len(mine) == len(theirs), (inp.shape, hx and [s.shape for s in hx], mine, theirs)
        if len(theirs) == 2:  # both raised
            assert mine[0] is theirs[0]
            assert mine[1] == theirs[1].replace("LSTM:", "CIFGLSTM:")
        else:
            for a, b in zip(mine, theirs, strict=True):
                torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
