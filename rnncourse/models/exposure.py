"""Exposure bias, measured, and scheduled sampling, one remedy (the decoding page of chapter 9).

Teacher forcing trains the decoder on the *true* prefixes only,
``p(y_t | y_1 .. y_{t-1}, x)``; at test time it reads its *own* outputs
``y^_1 .. y^_{t-1}``, a distribution of prefixes it never saw in training. The mismatch
is called **exposure bias** (Ranzato et al. 2016; the remedy below is Bengio et al. 2015).
:func:`position_errors` measures it on a batch of examples, output position by position:

- ``teacher_forced[t]``: the error rate of the most probable token at ``t`` when the
  decoder reads the true prefix (what the training loss sees);
- ``free_running[t]``: the error rate of greedy decoding at ``t`` (what the user sees);
- ``after_error[t]`` / ``clean[t]``: the free-running error rate at ``t`` given that an
  earlier output was wrong / that every earlier output was right. On a clean prefix the
  decoder reads exactly the true prefix, so ``clean`` measures the same thing as
  ``teacher_forced`` on fewer examples; the difference between ``after_error`` and
  ``clean`` is how errors compound.

**Scheduled sampling** (Bengio et al. 2015) trains on a mixture: at every decoder step
after the first, the input is the true previous token with probability ``eps``, and a
token *sampled from the model's own distribution* at the previous step otherwise; ``eps``
decays over training (:func:`inverse_sigmoid_decay`, :func:`linear_decay`), from
teacher forcing towards free running. No gradient flows through the sampled tokens, as in
the paper. Huszár (2015) showed that the objective is not consistent: its optimum is in
general not the true conditional distribution, even with unlimited data and capacity.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from rnncourse.data.text import BOS, PAD

__all__ = [
    "inverse_sigmoid_decay", "linear_decay", "scheduled_sampling_logits", "ScheduledSampling",
    "PositionErrors", "position_errors",
]


def inverse_sigmoid_decay(update: int, k: float) -> float:
    """``eps_i = k / (k + exp(i / k))`` (Bengio et al. 2015), ``k >= 1``: the probability
    of reading the true token at update ``i``; about ``1`` at first, ``1/2`` when
    ``exp(i / k) = k``, then down to 0."""
    if k < 1 or update < 0:
        raise ValueError(f"need k >= 1 and update >= 0, got k={k}, update={update}")
    z = update / k
    if z > 700:                      # exp overflows; eps is 0 to double precision
        return 0.0
    return k / (k + math.exp(z))


def linear_decay(update: int, total: int, start: float = 1.0, end: float = 0.0) -> float:
    """``eps_i`` falling linearly from ``start`` (update 0) to ``end`` (update ``total``),
    then staying at ``end``."""
    if total < 1 or not 0 <= end <= start <= 1 or update < 0:
        raise ValueError(f"need total >= 1, 0 <= end <= start <= 1 and update >= 0, got "
                         f"total={total}, start={start}, end={end}, update={update}")
    return start + (end - start) * min(update, total) / total


def scheduled_sampling_logits(model: nn.Module, src: Tensor, lengths: Tensor | None,
                              tgt_in: Tensor, p_true: float,
                              generator: torch.Generator | None = None) -> Tensor:
    """The decoder's logits ``(N, T, K)`` when it reads a mixture of true and own tokens.

    Step 1 reads ``tgt_in[:, 0]`` (``BOS``). Before step ``t + 1`` a coin with
    ``P(true) = p_true`` is tossed for every sequence: the input is ``tgt_in[:, t]`` (the
    true token) or a token drawn from ``softmax(logits of step t)`` (detached). A true
    ``PAD`` input stays ``PAD`` (the loss ignores those steps). ``p_true = 1`` is teacher
    forcing, ``p_true = 0`` free running with sampling.

    ``model`` has ``encode(src, lengths) -> (state, memory)`` and ``step(token, state,
    memory) -> (logits, state, weights)`` (:class:`rnncourse.models.seq2seq.Seq2Seq` and
    ``AttentionSeq2Seq``). ``generator`` draws the coins and the tokens.
    """
    if not 0 <= p_true <= 1:
        raise ValueError(f"p_true must be in [0, 1], got {p_true}")
    if tgt_in.ndim != 2 or bool((tgt_in[:, 0] != BOS).any()):
        raise ValueError("tgt_in must be (N, T) and start with BOS")
    state, memory = model.encode(src, lengths)
    token = tgt_in[:, 0]
    out = []
    for t in range(tgt_in.shape[1]):
        logits, state, _ = model.step(token, state, memory)
        out.append(logits)
        if t + 1 < tgt_in.shape[1]:
            true = tgt_in[:, t + 1]
            with torch.no_grad():
                probs = torch.softmax(logits.detach().float(), dim=1)
                own = torch.multinomial(probs, 1, generator=generator)[:, 0]
                coin = torch.rand(true.shape, generator=generator, device=true.device) < p_true
            token = torch.where(coin | (true == PAD), true, own)
    return torch.stack(out, dim=1)


class ScheduledSampling(nn.Module):
    """Wrap an encoder–decoder so that :func:`rnncourse.models.train.fit` trains it with
    scheduled sampling.

    In training mode, ``forward(src, lengths, tgt_in)`` is :func:`scheduled_sampling_logits`
    with ``p_true = schedule(updates)``, ``updates`` counting the calls (one per batch);
    in evaluation mode it is the wrapped model's teacher-forced ``forward``. The coins and
    tokens come from a ``torch.Generator`` seeded with ``seed``. ``encode``/``step``
    are the wrapped model's, so the decoding functions accept the wrapper too.
    """

    def __init__(self, model: nn.Module, schedule: Callable[[int], float], seed: int = 0
                 ) -> None:
        super().__init__()
        self.model = model
        self.schedule = schedule
        self.updates = 0
        self.generator = torch.Generator().manual_seed(seed)
        self.p_true_history: list[float] = []

    def forward(self, src: Tensor, lengths: Tensor | None, tgt_in: Tensor) -> Tensor:
        if not self.training:
            return self.model(src, lengths, tgt_in)
        p_true = float(self.schedule(self.updates))
        self.updates += 1
        self.p_true_history.append(p_true)
        return scheduled_sampling_logits(self.model, src, lengths, tgt_in, p_true,
                                         self.generator)

    def encode(self, src: Tensor, lengths: Tensor | None = None):
        return self.model.encode(src, lengths)

    def step(self, token: Tensor, state, memory=None):
        return self.model.step(token, state, memory)


class PositionErrors(NamedTuple):
    """Error rates by output position ``t = 1..T`` (index ``t - 1``); NaN where no example
    has a target token there (or none is in the group). ``n*``: the counts behind them."""

    teacher_forced: np.ndarray
    free_running: np.ndarray
    after_error: np.ndarray
    clean: np.ndarray
    n: np.ndarray
    n_after_error: np.ndarray
    n_clean: np.ndarray


def _rate(wrong: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = mask.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, (wrong & mask).sum(axis=0) / np.maximum(n, 1), np.nan)
    return rate, n


@torch.no_grad()
def position_errors(model: nn.Module, src: Tensor, lengths: Tensor, tgt_in: Tensor,
                    tgt_out: Tensor, free_running: Tensor) -> PositionErrors:
    """Teacher-forced vs free-running errors by output position (see the module docstring).

    ``free_running (N, L)``: the model's greedy outputs for ``src``
    (:func:`rnncourse.models.seq2seq.greedy_decode`), cut or padded to ``T`` columns here.
    Position ``t`` counts for the examples whose target has a token there (``EOS``
    included). A free-running output is wrong at ``t`` when it differs from the target
    there (a ``PAD`` after an early ``EOS`` is wrong too).
    """
    was_training = model.training
    model.eval()
    try:
        teacher = model(src, lengths, tgt_in).argmax(-1)
    finally:
        model.train(was_training)
    T = tgt_out.shape[1]
    fr = free_running[:, :T]
    if fr.shape[1] < T:
        fr = torch.nn.functional.pad(fr, (0, T - fr.shape[1]), value=PAD)
    target = tgt_out.numpy()
    mask = target != PAD
    tf_wrong = teacher.numpy() != target
    fr_wrong = fr.numpy() != target
    earlier = np.zeros_like(fr_wrong)
    earlier[:, 1:] = np.logical_or.accumulate(fr_wrong & mask, axis=1)[:, :-1]
    tf_rate, n = _rate(tf_wrong, mask)
    fr_rate, _ = _rate(fr_wrong, mask)
    after, n_after = _rate(fr_wrong, mask & earlier)
    clean, n_clean = _rate(fr_wrong, mask & ~earlier)
    return PositionErrors(tf_rate, fr_rate, after, clean, n, n_after, n_clean)
