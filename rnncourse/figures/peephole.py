"""The timing task, the models, the comparison and the figures of chapter 7 (peepholes).

The task, **fire k steps later**: every sequence is silent except for one input spike
at a random time ``s``; the network must answer with one output pulse exactly ``k``
steps after it::

    x_t = 1 if t == s else 0          (N, T, 1)
    y_t = 1 if t == s + k else 0      (N, T)        s uniform in {0, ..., T - k - 1}

Between the spike and the pulse the input carries no information at all: the only
way to fire on time is to count the silent steps in the state. Gers & Schmidhuber
(2000) introduced peephole connections for exactly this kind of task ("Recurrent
nets that time and count").

A model (:class:`PulseNet`) is a one-layer recurrent layer of :mod:`rnncourse.torch`
(``LSTM`` or ``PeepholeLSTM``) followed by a linear read-out ``z_t = h_t V + c``, one
logit per step, trained with the binary cross-entropy on every step. The headline score
of a model is its **target share**, the share of its output ``sigmoid(z_t)`` that falls on
step ``s + k`` (see :func:`evaluate`); the argmax scores (exactly on time, within one
step) are reported beside it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from rnncourse.evidence import mean_std
from rnncourse.figures import white_subplots
from rnncourse.torch import LSTM, PeepholeLSTM
from rnncourse.train import fit

__all__ = [
    "PulseData", "make_pulse_data", "PulseNet", "pulse_loss", "Result", "METRICS", "train_pulse",
    "evaluate", "summarise", "plot_cell", "plot_predictions", "plot_comparison",
]

CELLS = {"lstm": LSTM, "peephole": PeepholeLSTM}


# --------------------------------------------------------------------------- the task


class PulseData(NamedTuple):
    """One sample of the task: ``x: (N, T, 1)``, ``y: (N, T)``, ``spike: (N,)``, ``k``."""

    x: Tensor
    y: Tensor
    spike: Tensor
    k: int

    @property
    def target_time(self) -> Tensor:
        """``(N,)``: the step at which each sequence must fire, ``spike + k``."""
        return self.spike + self.k


def make_pulse_data(n: int, T: int, k: int, rng: np.random.Generator | int) -> PulseData:
    """``n`` sequences of length ``T`` of the fire-``k``-steps-later task.

    Args:
        n: number of sequences.
        T: sequence length, at least ``k + 1``.
        k: the delay between the input spike and the output pulse, ``>= 1``.
        rng: a ``numpy.random.Generator`` or an integer seed.

    Returns:
        A :class:`PulseData` of float32 tensors (``spike`` is int64).
    """
    if k < 1 or T < k + 1 or n < 1:
        raise ValueError(f"need n >= 1, k >= 1 and T >= k + 1, got n={n}, T={T}, k={k}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    spike = gen.integers(0, T - k, size=n)
    x = np.zeros((n, T, 1), dtype=np.float32)
    y = np.zeros((n, T), dtype=np.float32)
    rows = np.arange(n)
    x[rows, spike, 0] = 1.0
    y[rows, spike + k] = 1.0
    return PulseData(torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(spike), k)


# --------------------------------------------------------------------------- the model


class PulseNet(nn.Module):
    """A recurrent layer and a linear read-out: ``(N, T, 1) -> (N, T)`` logits.

    Args:
        cell: ``"lstm"`` or ``"peephole"`` (:class:`rnncourse.torch.LSTM` or
            :class:`rnncourse.torch.PeepholeLSTM`, one layer, batch first).
        hidden_size: ``H``.
        forget_bias: initial forget-gate bias (passed to the layer).
    """

    def __init__(self, cell: str, hidden_size: int, forget_bias: float = 1.0) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be 'lstm' or 'peephole', got {cell!r}")
        self.cell = cell
        self.rnn = CELLS[cell](1, hidden_size, batch_first=True, forget_bias=forget_bias)
        self.readout = nn.Linear(hidden_size, 1)

    def forward(self, x: Tensor) -> Tensor:
        h, _ = self.rnn(x)                     # (N, T, H)
        return self.readout(h).squeeze(-1)     # (N, T)

    def states(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(h, c)``, both ``(N, T, H)``: every hidden and cell state (no gradients)."""
        with torch.no_grad():
            N, T, _ = x.shape
            H = self.rnn.hidden_size
            h = torch.zeros(1, N, H)
            c = torch.zeros(1, N, H)
            hs, cs = [], []
            for t in range(T):
                _, (h, c) = self.rnn(x[:, t:t + 1], (h, c))
                hs.append(h[0])
                cs.append(c[0])
            return torch.stack(hs, 1), torch.stack(cs, 1)


# --------------------------------------------------------------------------- training


class Result(NamedTuple):
    """What one training run measured on the held-out sequences.

    ``target_share`` is the headline score: it does not jump when two steps are nearly tied
    (an argmax does: a model whose outputs at the target and the next step are 0.89 and 0.88
    is "on time", and after a tiny change of its weights it is not).
    """

    cell: str
    seed: int
    target_share: float  # mean share of the output sigmoid(z_t) that falls on step spike + k
    within_one: float    # fraction of sequences whose largest output is within 1 step of it
    on_time: float       # fraction whose largest output is exactly at spike + k
    mean_abs_lag: float  # mean |argmax_t z_t - (spike + k)|, in steps
    mean_lag: float      # mean signed lag: > 0 fires late, < 0 early
    loss: float          # test loss, :func:`pulse_loss`


METRICS = ("target_share", "within_one", "on_time", "mean_abs_lag", "mean_lag", "loss")


def pulse_loss(z: Tensor, y: Tensor) -> Tensor:
    """Binary cross-entropy per step, ``z, y: (N, T)``; the one pulse step of a sequence
    weighs as much as its ``T - 1`` silent steps together (``pos_weight = T - 1``)."""
    weight = torch.tensor(float(y.shape[1] - 1))
    return nn.functional.binary_cross_entropy_with_logits(z, y, pos_weight=weight)


def evaluate(model: PulseNet, data: PulseData) -> dict[str, float]:
    """Every score of :class:`Result` but ``cell`` and ``seed``, as a dict, on ``data``.

    ``target_share`` is ``sigmoid(z_{s+k}) / sum_t sigmoid(z_t)``, averaged over the
    sequences: 1 for a model that fires at the target step only, about ``1/T`` for one that
    spreads its output evenly.
    """
    model.eval()
    with torch.no_grad():
        z = model(data.x)
        loss = pulse_loss(z, data.y).item()
        p = torch.sigmoid(z.double())
        rows = torch.arange(len(z))
        share = p[rows, data.target_time] / p.sum(dim=1)
        lag = (z.argmax(dim=1) - data.target_time).double()
    return dict(target_share=share.mean().item(),
                within_one=(lag.abs() <= 1).double().mean().item(),
                on_time=(lag == 0).double().mean().item(),
                mean_abs_lag=lag.abs().mean().item(), mean_lag=lag.mean().item(), loss=loss)


def train_pulse(
    cell: str, seed: int, train: PulseData, *, hidden_size: int = 4, epochs: int = 30,
    batch_size: int = 32, lr: float = 0.02, device: str | torch.device | None = None,
) -> tuple[PulseNet, Any]:
    """Train one :class:`PulseNet` with :func:`rnncourse.train.fit` (Adam, clip 1.0).

    ``seed`` seeds the weights (``torch.manual_seed``) and the batch order. Trains on
    ``device`` (None: the CPU unless ``$RNNCOURSE_DEVICE`` says otherwise), then
    moves the model to the CPU.
    Returns ``(model, history)``.
    """
    torch.manual_seed(seed)
    model = PulseNet(cell, hidden_size)
    n = len(train.x)

    order_gen = torch.Generator().manual_seed(seed)

    def batches() -> list:  # a fresh shuffle every epoch
        order = torch.randperm(n, generator=order_gen)
        return [(train.x[idx], train.y[idx]) for idx in order.split(batch_size)]

    history = fit(model, pulse_loss, batches, epochs=epochs, lr=lr,
                  clip_norm=1.0, device=device, progress=False)
    model.cpu()  # evaluated, and returned, on the CPU
    return model, history


def summarise(results: list[Result]) -> dict[str, dict[str, tuple[float, float]]]:
    """Per cell, ``{metric: (mean, std)}`` over the seeds (std with ``ddof=1``)."""
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for cell in dict.fromkeys(r.cell for r in results):
        rows = [r for r in results if r.cell == cell]
        out[cell] = {metric: mean_std([getattr(r, metric) for r in rows]) for metric in METRICS}
    return out


# --------------------------------------------------------------------------- figures


def plot_cell(peephole: bool = True) -> Figure:
    """A diagram of one (peephole) LSTM cell: the cell-state line, the four blocks, and
    (dashed) the three peephole connections ``c_{t-1} -> i, f`` and ``c_t -> o``."""
    fig, axes = white_subplots(1, 1, figsize=(7.5, 3.6))
    ax = axes[0, 0]
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 5)
    ax.axis("off")
    box = dict(boxstyle="round,pad=0.3", edgecolor="black", linewidth=1.2)
    arrow = dict(arrowstyle="-|>", color="black", linewidth=1.2)
    # the cell-state line along the top
    ax.annotate("", xy=(9.6, 4.2), xytext=(0.4, 4.2), arrowprops=arrow)
    ax.text(0.3, 4.45, r"$c_{t-1}$", fontsize=12)
    ax.text(9.2, 4.45, r"$c_t$", fontsize=12)
    ops = {"×": (2.6, 4.2), "+": (5.0, 4.2)}
    for label, (x, y) in ops.items():
        ax.text(x, y, label, ha="center", va="center", fontsize=11,
                bbox=dict(boxstyle="circle,pad=0.2", facecolor="#fff3c4", edgecolor="black"))
    gates = {r"$f_t$": (2.6, 1.6, "#cfe2ff"), r"$i_t$": (4.2, 1.6, "#cfe2ff"),
             r"$g_t$": (5.8, 1.6, "#d9f2d9"), r"$o_t$": (7.6, 1.6, "#cfe2ff")}
    for label, (x, y, colour) in gates.items():
        ax.text(x, y, label, ha="center", va="center", fontsize=13, bbox={**box,
                                                                           "facecolor": colour})
    # inputs x_t, h_{t-1} along the bottom, feeding every block
    ax.annotate("", xy=(8.2, 0.4), xytext=(0.4, 0.4), arrowprops=dict(arrowstyle="-",
                                                                      color="gray"))
    ax.text(0.3, 0.05, r"$x_t,\ h_{t-1}$", fontsize=11, color="dimgray")
    for x, _, _ in gates.values():
        ax.annotate("", xy=(x, 1.25), xytext=(x, 0.4), arrowprops={**arrow, "color": "gray"})
    # f multiplies the cell; i * g is added; o reads tanh(c_t)
    ax.annotate("", xy=(2.6, 3.9), xytext=(2.6, 1.95), arrowprops=arrow)
    ax.annotate("", xy=(5.0, 3.9), xytext=(4.2, 1.95), arrowprops=arrow)
    ax.annotate("", xy=(5.0, 3.9), xytext=(5.8, 1.95), arrowprops=arrow)
    ax.annotate("", xy=(9.4, 1.6), xytext=(8.0, 1.6), arrowprops=arrow)
    ax.text(8.3, 1.1, r"$h_t = o_t\odot\tanh(c_t)$", fontsize=10)
    if peephole:
        peep = dict(arrowstyle="-|>", color="#c0392b", linewidth=1.6, linestyle="--",
                    connectionstyle="arc3,rad=0.25")
        ax.annotate("", xy=(2.35, 1.95), xytext=(1.4, 4.2), arrowprops=peep)
        ax.annotate("", xy=(3.95, 1.95), xytext=(1.6, 4.2), arrowprops=peep)
        ax.annotate("", xy=(7.6, 1.95), xytext=(7.6, 4.2),
                    arrowprops={**peep, "connectionstyle": "arc3,rad=0"})
        ax.text(0.35, 2.6, r"$p_f,\ p_i$", color="#c0392b", fontsize=11)
        ax.text(7.75, 3.0, r"$p_o$", color="#c0392b", fontsize=11)
        ax.set_title("Peephole LSTM cell (dashed red: the peepholes)", fontsize=11)
    else:
        ax.set_title("LSTM cell", fontsize=11)
    return fig


def plot_predictions(models: dict[str, PulseNet], data: PulseData, rows: int = 3) -> Figure:
    """The first ``rows`` test sequences: the input spike, the target time and every
    model's output probability ``sigmoid(z_t)``; one panel per sequence."""
    fig, axes = white_subplots(rows, 1, figsize=(7, 1.6 * rows + 0.6))
    T = data.x.shape[1]
    with torch.no_grad():
        probs = {name: torch.sigmoid(m.eval()(data.x[:rows])) for name, m in models.items()}
    for r in range(rows):
        ax = axes[r, 0]
        s, tt = int(data.spike[r]), int(data.target_time[r])
        ax.axvline(s, color="gray", linewidth=1.5, label="input spike")
        ax.axvline(tt, color="black", linestyle=":", linewidth=1.5, label="target time")
        for j, (name, p) in enumerate(probs.items()):
            ax.plot(range(T), p[r].numpy(), marker=".", color=f"C{j}", label=name)
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel("output")
        if r == 0:
            ax.legend(loc="upper left", fontsize=9, ncols=2)
    axes[-1, 0].set_xlabel("time step t")
    fig.tight_layout()
    return fig


def plot_comparison(results: list[Result], metric: str = "target_share") -> Figure:
    """One dot per seed and the mean ± std per cell, for ``metric``."""
    fig, axes = white_subplots(1, 1, figsize=(4.5, 3.2))
    ax = axes[0, 0]
    summary = summarise(results)
    for j, (cell, stats) in enumerate(summary.items()):
        values = [getattr(r, metric) for r in results if r.cell == cell]
        ax.scatter(np.full(len(values), j) + np.linspace(-0.08, 0.08, len(values)), values,
                   color=f"C{j}", alpha=0.6, zorder=3)
        mean, std = stats[metric]
        ax.errorbar(j + 0.25, mean, yerr=std, fmt="o", color="black", capsize=4)
    ax.set_xticks(range(len(summary)), list(summary))
    ax.set_xlim(-0.5, len(summary) - 0.3)
    ax.set_ylabel({"target_share": "output share on the target step",
                   "within_one": "peak within 1 step (test)", "on_time": "fired on time (test)",
                   "mean_abs_lag": "mean |lag| (steps)", "loss": "test loss"}.get(metric, metric))
    ax.set_title("one dot per seed; black: mean ± std", fontsize=10)
    fig.tight_layout()
    return fig
