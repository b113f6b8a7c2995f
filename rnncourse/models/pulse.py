"""Chapter 7's models of the timing task, their training and their scores.

A model (:class:`PulseNet`) is a one-layer recurrent layer of :mod:`rnncourse.torch`
(``LSTM`` or ``PeepholeLSTM``) followed by a linear read-out ``z_t = h_t V + c``, one
logit per step, trained with the binary cross-entropy on every step
(:func:`train_pulse`). The headline score of a model is its **target share**, the share
of its output ``sigmoid(z_t)`` that falls on step ``s + k`` (:func:`evaluate`); the argmax
scores (exactly on time, within one step) are reported beside it. The task is
:mod:`rnncourse.data.pulse`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from rnncourse.data.pulse import PulseData
from rnncourse.evidence import mean_std
from rnncourse.models.train import fit
from rnncourse.torch import LSTM, PeepholeLSTM

__all__ = [
    "CELLS", "PulseNet", "Result", "METRICS", "pulse_loss", "evaluate", "train_pulse",
    "summarise",
]

CELLS = {"lstm": LSTM, "peephole": PeepholeLSTM}


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
    """Train one :class:`PulseNet` with :func:`rnncourse.models.train.fit` (Adam, clip 1.0).

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
