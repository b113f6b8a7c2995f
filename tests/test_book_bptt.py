"""Tests for rnncourse.figures.bptt (chapter 4): the toy model against torch autograd and
central differences written here, the hidden-state recurrence against torch, and the figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import torch_or_skip  # noqa: E402

from rnncourse.analysis.gradients import total_hidden_gradients
from rnncourse.data.text import char_dataset  # noqa: E402
from rnncourse.figures.bptt import (  # noqa: E402
    draw_bptt_graph,
    plot_loss_curves,
    plot_tbptt_tradeoff,
)
from rnncourse.models.classifier import init_rnn_classifier, rnn_classifier_loss


def _central_difference(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        fp = f()
        x[i] = old - eps
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def _problem(seed=0, N=2, T=4, D=3, H=5, K=3):
    rng = np.random.default_rng(seed)
    params = init_rnn_classifier(D, H, K, seed=seed)
    params["b"] = 0.1 * rng.standard_normal(H)
    params["c"] = 0.1 * rng.standard_normal(K)
    x = rng.standard_normal((N, T, D))
    y = rng.integers(0, K, size=(N, T))
    h0 = rng.standard_normal((N, H))
    return params, x, y, h0


def test_char_dataset_by_hand():
    vocab, x, y = char_dataset("abca")
    assert vocab == ["a", "b", "c"]
    np.testing.assert_array_equal(x[0], np.eye(3)[[0, 1, 2]])  # inputs a, b, c
    np.testing.assert_array_equal(y, [[1, 2, 0]])  # targets b, c, a
    with pytest.raises(ValueError):
        char_dataset("a")


def test_one_step_loss_by_hand():
    # T = 1, N = 1, H = K = 1: C = -log softmax over one class = 0, and with K = 2 by hand.
    params = dict(Wx=np.array([[0.5]]), Wh=np.array([[0.0]]), b=np.array([0.0]),
                  V=np.array([[1.0, -1.0]]), c=np.array([0.0, 0.0]))
    x = np.array([[[2.0]]])
    loss, grads, h = rnn_classifier_loss(params, x, np.array([[0]]), np.zeros((1, 1)))
    h1 = np.tanh(1.0)
    assert h[0, 0, 0] == pytest.approx(h1)
    assert loss == pytest.approx(np.log1p(np.exp(-2 * h1)))
    p0 = 1 / (1 + np.exp(-2 * h1))
    np.testing.assert_allclose(grads["c"], [p0 - 1, 1 - p0])


def test_mask_selects_outputs():
    params, x, y, h0 = _problem()
    mask = np.zeros(y.shape)
    mask[:, -1] = 1
    loss_m, grads_m, _ = rnn_classifier_loss(params, x, y, h0, mask)
    # the cost of the last output only, as a model on the last step's scores
    loss_all, _, h = rnn_classifier_loss(params, x, y, h0)
    scores = h[:, -1] @ params["V"] + params["c"]
    logp = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    assert loss_m == pytest.approx(-logp[np.arange(len(y)), y[:, -1]].mean())
    assert loss_m != pytest.approx(loss_all)


@pytest.mark.parametrize("use_mask", [False, True])
def test_gradients_against_central_differences(use_mask):
    params, x, y, h0 = _problem(seed=1)
    mask = None
    if use_mask:
        mask = np.zeros(y.shape)
        mask[:, [1, 3]] = 1
    _, grads, _ = rnn_classifier_loss(params, x, y, h0, mask)
    inputs = {**params, "h0": h0}
    for name, arr in inputs.items():
        num = _central_difference(lambda: rnn_classifier_loss(params, x, y, h0, mask)[0], arr)
        np.testing.assert_allclose(grads[name], num, rtol=1e-6, atol=1e-9, err_msg=name)


def test_gradients_against_torch():
    torch = torch_or_skip()
    params, x, y, h0 = _problem(seed=2, T=6)
    mask = np.zeros(y.shape)
    mask[:, [2, 3, 5]] = 1
    loss, grads, _ = rnn_classifier_loss(params, x, y, h0, mask)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in {**params, "h0": h0}.items()}
    h = t["h0"]
    hs = []
    for step in range(x.shape[1]):
        h = torch.tanh(torch.from_numpy(x[:, step]) @ t["Wx"] + h @ t["Wh"] + t["b"])
        hs.append(h)
    scores = torch.stack(hs, dim=1) @ t["V"] + t["c"]
    keep = torch.from_numpy(mask.astype(bool))
    loss_t = torch.nn.functional.cross_entropy(scores[keep], torch.from_numpy(y)[keep])
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    for name, tensor in t.items():
        np.testing.assert_allclose(grads[name], tensor.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


def test_total_hidden_gradients_against_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(3)
    N, T, D, H = 2, 5, 3, 4
    x = torch.from_numpy(rng.standard_normal((N, T, D)))
    Wx = torch.from_numpy(rng.standard_normal((D, H)) / 2)
    Wh = torch.from_numpy(rng.standard_normal((H, H)) / 2).requires_grad_()
    dh_out = rng.standard_normal((N, T, H))
    dh_out[:, [0, 2]] = 0  # outputs not used by the cost
    h = torch.zeros(N, H, dtype=torch.float64)
    hs = []
    for step in range(T):
        h = torch.tanh(x[:, step] @ Wx + h @ Wh)
        h.retain_grad()
        hs.append(h)
    (torch.stack(hs, dim=1) * torch.from_numpy(dh_out)).sum().backward()
    expected = np.stack([s.grad.numpy() for s in hs], axis=1)
    h_np = np.stack([s.detach().numpy() for s in hs], axis=1)
    got = total_hidden_gradients(dh_out, h_np, Wh.detach().numpy())
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_total_hidden_gradients_zero_after_last_used():
    rng = np.random.default_rng(4)
    h = np.tanh(rng.standard_normal((1, 5, 3)))
    dh_out = np.zeros((1, 5, 3))
    dh_out[:, 2] = 1.0
    total = total_hidden_gradients(dh_out, h, rng.standard_normal((3, 3)))
    assert not total[:, 3:].any()
    assert np.all(np.abs(total[:, :3]).sum(axis=-1) > 0)
    with pytest.raises(ValueError):
        total_hidden_gradients(dh_out, h, np.eye(4))


def test_draw_bptt_graph_counts_arrows():
    fig = draw_bptt_graph(T=5, used=[2, 3, 4])
    ax, = fig.axes
    kinds = [p.get_gid() for p in ax.patches]
    assert kinds.count("backward-1") == 3  # C -> Y_2, Y_3, Y_4
    assert kinds.count("backward-2") == 3  # Y_t -> h_t
    assert kinds.count("backward-3") == 4  # h_4 -> h_3 -> ... -> h_0
    assert kinds.count("node") == 3 * 5 + 1
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)
    plt.close(fig)
    fig = draw_bptt_graph(T=5, used=[1, 3])
    kinds = [p.get_gid() for p in fig.axes[0].patches]
    assert kinds.count("backward-3") == 3  # nothing flows back from h_4
    plt.close(fig)
    with pytest.raises(ValueError):
        draw_bptt_graph(T=3, used=[3])


def test_plots():
    fig = plot_tbptt_tradeoff([1, 2, 4], [0.5, 0.2, 0.0], T=4)
    assert len(fig.axes) == 2
    assert len(fig.axes[0].lines) == 1 and len(fig.axes[1].lines) == 2
    plt.close(fig)
    fig = plot_loss_curves({"SGD": [2.0, 1.0], "Adam": [2.0, 0.5]})
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 2
    plt.close(fig)
    with pytest.raises(ValueError):
        plot_tbptt_tradeoff([1, 2], [0.1], T=2)
