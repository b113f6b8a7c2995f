"""rnncourse.figures.peephole (chapter 7) against hand-made data and direct computations."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import torch_or_skip  # noqa: E402

torch = torch_or_skip()

from rnncourse.data import pulse as D  # noqa: E402
from rnncourse.figures import peephole as FIG  # noqa: E402
from rnncourse.models import pulse as P  # noqa: E402
from rnncourse.params import count_parameters  # noqa: E402


def test_pulse_data_has_one_spike_and_one_pulse_k_later():
    data = D.make_pulse_data(64, 12, 4, rng=3)
    assert data.x.shape == (64, 12, 1) and data.y.shape == (64, 12)
    assert (data.x.sum(dim=(1, 2)) == 1).all() and (data.y.sum(dim=1) == 1).all()
    spike = data.x[:, :, 0].argmax(dim=1)
    assert torch.equal(spike, data.spike)
    assert torch.equal(data.y.argmax(dim=1), spike + 4)
    assert int(data.target_time.max()) <= 11
    again = D.make_pulse_data(64, 12, 4, rng=np.random.default_rng(3))
    assert torch.equal(again.x, data.x)


@pytest.mark.parametrize("n, T, k", [(0, 5, 1), (3, 4, 4), (3, 5, 0)])
def test_pulse_data_rejects_bad_sizes(n, T, k):
    with pytest.raises(ValueError):
        D.make_pulse_data(n, T, k, rng=0)


def test_pulse_loss_weights_the_pulse_step():
    # By hand, T = 3, one sequence, all logits 0: every step costs log 2; the pulse step is
    # weighted T - 1 = 2, so the mean is (2 log 2 + log 2 + log 2) / 3 = 4/3 log 2.
    z = torch.zeros(1, 3)
    y = torch.tensor([[0.0, 1.0, 0.0]])
    assert P.pulse_loss(z, y).item() == pytest.approx(4 / 3 * np.log(2))


def test_pulse_net_shapes_states_and_cells():
    torch.manual_seed(0)
    data = D.make_pulse_data(5, 9, 3, rng=0)
    for cell in ("lstm", "peephole"):
        model = P.PulseNet(cell, 3)
        z = model(data.x)
        assert z.shape == (5, 9)
        h, c = model.states(data.x)
        assert h.shape == c.shape == (5, 9, 3)
        out, _ = model.rnn(data.x)
        torch.testing.assert_close(h, out.detach())
    peep = P.PulseNet("peephole", 3)
    n_lstm = sum(p.numel() for p in P.PulseNet("lstm", 3).rnn.parameters())
    assert sum(p.numel() for p in peep.rnn.parameters()) == n_lstm + 3 * 3
    assert n_lstm == count_parameters("lstm", 1, 3, bias_convention="pytorch").total
    with pytest.raises(ValueError):
        P.PulseNet("gru", 3)


def test_evaluate_scores_a_perfect_and_a_late_model():
    data = D.make_pulse_data(20, 10, 3, rng=1)

    class Oracle(P.PulseNet):
        def __init__(self, shift):
            super().__init__("lstm", 1)
            self.shift = shift

        def forward(self, x):
            target = torch.roll(x[:, :, 0], 3 + self.shift, dims=1)
            return 20 * target - 10

    perfect = P.evaluate(Oracle(0), data)
    assert perfect["on_time"] == 1.0 and perfect["within_one"] == 1.0
    assert perfect["mean_abs_lag"] == 0.0 and perfect["loss"] < 1e-3
    # sigmoid(10) on the target step, sigmoid(-10) on the 9 others: the share by hand
    hi, lo = 1 / (1 + np.exp(-10)), 1 / (1 + np.exp(10))
    assert perfect["target_share"] == pytest.approx(hi / (hi + 9 * lo), rel=1e-12)
    early = P.evaluate(Oracle(-1), data)  # one step early, never wraps here
    assert early["on_time"] == 0.0 and early["within_one"] == 1.0
    assert early["mean_abs_lag"] == pytest.approx(1.0) and early["mean_lag"] == pytest.approx(-1.0)
    assert early["target_share"] == pytest.approx(lo / (hi + 9 * lo), rel=1e-12)
    keep = data.target_time + 2 < data.x.shape[1]           # no wrap-around of the roll
    late = P.evaluate(Oracle(2), D.PulseData(data.x[keep], data.y[keep], data.spike[keep], 3))
    assert late["within_one"] == 0.0 and late["mean_lag"] == pytest.approx(2.0)


def test_target_share_does_not_jump_on_a_near_tie():
    # Two models whose outputs at the target and the next step are nearly tied, in either
    # order: the argmax score jumps from 1 to 0, the target share barely moves.
    data = D.make_pulse_data(8, 10, 3, rng=2)

    class Tied(P.PulseNet):
        def __init__(self, eps):
            super().__init__("lstm", 1)
            self.eps = eps

        def forward(self, x):
            target = torch.roll(x[:, :, 0], 3, dims=1)
            after = torch.roll(x[:, :, 0], 4, dims=1)
            return -10 + 12.0 * target + (12.0 + self.eps) * after

    a, b = P.evaluate(Tied(-0.01), data), P.evaluate(Tied(+0.01), data)
    assert a["on_time"] == 1.0 and b["on_time"] == 0.0
    assert abs(a["target_share"] - b["target_share"]) < 0.005


def test_training_is_seeded_and_summarise_matches_numpy():
    train = D.make_pulse_data(32, 8, 2, rng=0)
    test = D.make_pulse_data(16, 8, 2, rng=1)
    kwargs = dict(hidden_size=2, epochs=2, batch_size=16)
    results = []
    for seed in (0, 1):
        for cell in ("lstm", "peephole"):
            a, _ = P.train_pulse(cell, seed, train, **kwargs)
            b, _ = P.train_pulse(cell, seed, train, **kwargs)
            assert P.evaluate(a, test) == P.evaluate(b, test)       # the seed fixes the run
            results.append(P.Result(cell, seed, **P.evaluate(a, test)))
    s = P.summarise(results)
    losses = [r.loss for r in results if r.cell == "peephole"]
    assert s["peephole"]["loss"][0] == pytest.approx(np.mean(losses))
    assert s["peephole"]["loss"][1] == pytest.approx(np.std(losses, ddof=1))


def test_figures_smoke():
    for peephole, arrows in ((True, 3), (False, 0)):
        fig = FIG.plot_cell(peephole=peephole)
        assert len(fig.axes) == 1
        red = [t for t in fig.axes[0].texts
               if getattr(t, "arrow_patch", None) is not None
               and t.arrow_patch.get_linestyle() == "--"]
        assert len(red) == arrows
        plt.close(fig)
    data = D.make_pulse_data(4, 8, 2, rng=0)
    torch.manual_seed(0)
    fig = FIG.plot_predictions({"a": P.PulseNet("lstm", 2), "b": P.PulseNet("peephole", 2)},
                             data, rows=2)
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 4
    plt.close(fig)
    results = [P.Result(c, s, 0.1 * s, 0.5, 0.2, 1.0, 0.5, 1.0) for s in range(3)
               for c in ("lstm", "peephole")]
    fig = FIG.plot_comparison(results)
    assert len(fig.axes) == 1 and len(fig.axes[0].collections) >= 2
    plt.close(fig)
