"""Tests of rnncourse.figures.lstm (chapter 6): gradient-flow measurement and figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from rnncourse.analysis.gradients import gradient_norms  # noqa: E402
from rnncourse.figures.lstm import (  # noqa: E402
    plot_adding_losses,
    plot_gradient_flow,
    plot_lstm_cell,
)
from rnncourse.numpy import lstm_init  # noqa: E402


def _torch_state_grads(kind, p, x, u):
    """dL/dstate_t for L = sum over the batch of h_T . u, by torch autograd."""
    Wx, Wh, b = (torch.tensor(p[k], requires_grad=True) for k in ("Wx", "Wh", "b"))
    x = torch.tensor(x)
    N, T, _ = x.shape
    H = Wh.shape[0]
    h, c, states = torch.zeros(N, H, dtype=x.dtype), torch.zeros(N, H, dtype=x.dtype), []
    for t in range(T):
        a = x[:, t] @ Wx + h @ Wh + b
        if kind == "rnn":
            h = torch.tanh(a)
            states.append(h)
        else:
            i, f, g, o = a.split(H, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            states.append(c)
        states[-1].retain_grad()
    (h @ torch.tensor(u)).sum().backward()
    return np.array([s.grad.norm(dim=1).mean().item() for s in states])


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_gradient_norms_match_autograd(kind, rng):
    D, H, N, T = 3, 5, 4, 9
    if kind == "lstm":
        p = lstm_init(D, H, rng, forget_bias=1.0)
    else:
        p = dict(Wx=rng.standard_normal((D, H)) * 0.5, Wh=rng.standard_normal((H, H)) * 0.5,
                 b=rng.standard_normal(H) * 0.1)
    x = rng.standard_normal((N, T, D))
    u = rng.standard_normal(H)
    u /= np.linalg.norm(u)
    np.testing.assert_allclose(gradient_norms(kind, p, x, u), _torch_state_grads(kind, p, x, u),
                               rtol=1e-10, atol=1e-14)


def test_forget_bias_slows_the_decay(rng):
    x = rng.standard_normal((8, 40, 2))
    n0 = gradient_norms("lstm", lstm_init(2, 8, 0, forget_bias=0.0), x)
    n1 = gradient_norms("lstm", lstm_init(2, 8, 0, forget_bias=1.0), x)
    assert n1[0] / n1[-1] > 100 * n0[0] / n0[-1]


def test_gradient_norms_rejects_kind():
    with pytest.raises(ValueError):
        gradient_norms("gru", lstm_init(2, 3, 0), np.zeros((1, 2, 2)))


def test_plots_smoke():
    fig = plot_gradient_flow({"a": {"x": np.array([1e-3, 1e-1, 1.0])},
                              "b": {"x": np.ones(3), "y": np.zeros(3)}})
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert len(fig.axes[1].get_lines()) == 2
    runs = [dict(cell=c, T=T, loss=[0.3, 0.2, 0.1]) for T in (5, 10) for c in ("rnn", "lstm")]
    fig = plot_adding_losses(runs)
    assert len(fig.axes) == 2 and len(fig.axes[0].get_lines()) == 3  # 2 cells + baseline
    fig = plot_lstm_cell()
    assert len(fig.axes) == 1 and len(fig.axes[0].patches) > 20
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)
