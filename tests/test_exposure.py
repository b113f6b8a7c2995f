"""Scheduled sampling and the exposure-bias measurement (rnncourse.models.exposure).

References: the schedules' values by hand; the teacher-forced forward pass of the models
(``p_true = 1`` must equal it); a greedy chain built here by re-running the teacher-forced
pass on the growing prefix (``p_true = 0`` with a model so sharp that sampling is the
argmax); a scripted fake decoder whose own token is never the true one, to count how often
the true token is read (binomial interval, scipy.stats); and error tables worked out by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnncourse.data import reversal as D  # noqa: E402
from rnncourse.data.text import BOS, EOS, PAD  # noqa: E402
from rnncourse.models import seq2seq as S  # noqa: E402
from rnncourse.models.exposure import (  # noqa: E402
    ScheduledSampling,
    inverse_sigmoid_decay,
    linear_decay,
    position_errors,
    scheduled_sampling_logits,
)


def test_schedules_by_hand():
    assert inverse_sigmoid_decay(0, 1) == 0.5
    assert inverse_sigmoid_decay(0, 10) == pytest.approx(10 / 11)
    assert inverse_sigmoid_decay(20, 10) == pytest.approx(10 / (10 + math.e ** 2))
    assert inverse_sigmoid_decay(108 * math.log(108), 108) == pytest.approx(0.5)
    assert inverse_sigmoid_decay(10 ** 6, 2) == 0.0
    assert [linear_decay(i, 4, 1.0, 0.5) for i in (0, 1, 2, 4, 9)] == [1.0, 0.875, 0.75,
                                                                       0.5, 0.5]
    with pytest.raises(ValueError):
        inverse_sigmoid_decay(0, 0.5)
    with pytest.raises(ValueError):
        linear_decay(0, 4, 0.5, 0.9)


def _models():
    torch.manual_seed(0)
    return [S.Seq2Seq(D.VOCAB, D.VOCAB, embed_size=8, hidden_size=16),
            S.AttentionSeq2Seq(D.VOCAB, D.VOCAB, embed_size=8, hidden_size=16)]


@pytest.mark.parametrize("index", [0, 1], ids=["plain", "attention"])
def test_p_true_1_is_teacher_forcing(index):
    model = _models()[index].eval()
    data = D.reversal_data(6, 2, 5, rng=0)
    with torch.no_grad():
        ref = model(data.src, data.lengths, data.tgt_in)
        got = scheduled_sampling_logits(model, data.src, data.lengths, data.tgt_in, 1.0,
                                        torch.Generator().manual_seed(0))
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("index", [0, 1], ids=["plain", "attention"])
def test_p_true_0_reads_the_models_own_tokens(index):
    model = _models()[index].eval()
    with torch.no_grad():
        model.decoder.out.weight.mul_(1e4)          # sampling becomes the argmax
        model.decoder.out.bias.mul_(1e4)
    data = D.reversal_data(5, 4, 4, rng=1)          # T = 5, no padding
    with torch.no_grad():
        got = scheduled_sampling_logits(model, data.src, data.lengths, data.tgt_in, 0.0,
                                        torch.Generator().manual_seed(0))
        prefix = data.tgt_in[:, :1]                 # BOS
        for _ in range(data.tgt_in.shape[1] - 1):   # the greedy chain, by re-reading
            nxt = model(data.src, data.lengths, prefix)[:, -1].argmax(-1)
            prefix = torch.cat([prefix, nxt[:, None]], dim=1)
        ref = model(data.src, data.lengths, prefix)
    torch.testing.assert_close(got, ref, atol=1e-3, rtol=1e-5)


class _Scripted(torch.nn.Module):
    """A fake decoder whose own choice is always token 3 (the digit 0) and that records the
    tokens it reads."""

    def __init__(self):
        super().__init__()
        self.read = []

    def encode(self, src, lengths=None):
        return torch.zeros(src.shape[0], 1), None

    def step(self, token, state, memory=None):
        self.read.append(token.clone())
        logits = torch.full((token.shape[0], D.VOCAB), -1e9)
        logits[:, 3] = 0.0
        return logits, state, None


@pytest.mark.parametrize("p_true", [0.0, 0.3, 0.8, 1.0])
def test_the_true_token_is_read_with_probability_p_true(p_true):
    stats = pytest.importorskip("scipy.stats")
    N, T = 400, 6
    tgt_in = torch.randint(4, D.VOCAB, (N, T))     # digits 1-9: never the fake's own token
    tgt_in[:, 0] = BOS
    tgt_in[:50, 4:] = PAD                           # a PAD input stays PAD
    fake = _Scripted()
    scheduled_sampling_logits(fake, tgt_in[:, :1], None, tgt_in, p_true,
                              torch.Generator().manual_seed(1))
    read = torch.stack(fake.read, dim=1)            # (N, T)
    assert torch.equal(read[:, 0], tgt_in[:, 0])
    assert bool((read[:50, 4:] == PAD).all())
    real = tgt_in[:, 1:] != PAD
    true = ((read[:, 1:] == tgt_in[:, 1:]) & real).sum().item()
    own = ((read[:, 1:] == 3) & real).sum().item()
    n = int(real.sum())
    assert true + own == n                          # every input is one or the other
    low, high = stats.binom.interval(1 - 1e-6, n, p_true)
    assert low <= true <= high, (true, n * p_true)


def test_wrapper_counts_updates_and_is_teacher_forced_in_eval():
    from rnncourse.models.train import fit
    model = _models()[0]
    wrapped = ScheduledSampling(model, lambda i: linear_decay(i, 2, 1.0, 0.0), seed=0)
    data = D.reversal_data(30, 2, 4, rng=2)
    fit(wrapped, S.sequence_loss, D.batches(data, 10), epochs=1, lr=0.01, progress=False)
    assert wrapped.updates == 3 and wrapped.p_true_history == [1.0, 0.5, 0.0]
    wrapped.eval()
    with torch.no_grad():
        torch.testing.assert_close(wrapped(data.src, data.lengths, data.tgt_in),
                                   model(data.src, data.lengths, data.tgt_in))
    assert torch.equal(S.greedy_decode(wrapped, data.src, data.lengths),
                       S.greedy_decode(model, data.src, data.lengths))


class _Fixed(torch.nn.Module):
    """A fake model whose teacher-forced argmax is a given table."""

    def __init__(self, table):
        super().__init__()
        self.table = table

    def forward(self, src, lengths, tgt_in):
        return torch.nn.functional.one_hot(self.table, D.VOCAB).float()


def test_position_errors_by_hand():
    d = lambda *xs: [3 + x for x in xs]  # noqa: E731  digits -> ids
    tgt_out = torch.tensor([d(1, 2, 3) + [EOS], d(4, 5) + [EOS, PAD], d(6, 7, 8) + [EOS]])
    teacher = torch.tensor([d(1, 2, 3) + [EOS], d(4, 9) + [EOS, EOS], d(0, 7, 8) + [EOS]])
    free = torch.tensor([d(1, 2, 3) + [EOS], d(4, 9, 9) + [EOS], d(0, 0) + [EOS, PAD]])
    e = position_errors(_Fixed(teacher), None, None, tgt_out, tgt_out, free)
    # positions 1..4: targets exist at 3, 3, 3, 2 examples
    np.testing.assert_array_equal(e.n, [3, 3, 3, 2])
    np.testing.assert_allclose(e.teacher_forced, [1 / 3, 1 / 3, 0, 0])
    # free running: position 1 wrong for ex. 3; 2 wrong for 2, 3; 3 wrong for 2 (9 vs EOS)
    # and 3 (EOS vs 8); 4 wrong for 3 (PAD vs EOS)
    np.testing.assert_allclose(e.free_running, [1 / 3, 2 / 3, 2 / 3, 1 / 2])
    # after an earlier error: pos 2: ex. 3 (wrong); pos 3: ex. 2, 3 (both wrong); pos 4: ex. 3
    np.testing.assert_array_equal(e.n_after_error, [0, 1, 2, 1])
    np.testing.assert_allclose(e.after_error, [np.nan, 1, 1, 1])
    np.testing.assert_array_equal(e.n_clean, [3, 2, 1, 1])
    np.testing.assert_allclose(e.clean, [1 / 3, 1 / 2, 0, 0])


def test_on_a_clean_prefix_free_running_is_teacher_forced():
    # the identity behind the measurement, on a real (untrained, sharpened) model: where
    # every earlier greedy output was right, the decoder read the true prefix, so its
    # output equals the teacher-forced argmax there.
    model = _models()[0].eval()
    with torch.no_grad():
        model.decoder.out.weight.mul_(5)
    data = D.reversal_data(300, 2, 6, rng=4)
    pred = S.greedy_decode(model, data.src, data.lengths, max_len=data.tgt_out.shape[1])
    with torch.no_grad():
        teacher = model(data.src, data.lengths, data.tgt_in).argmax(-1)
    T = data.tgt_out.shape[1]
    pred = torch.nn.functional.pad(pred, (0, T - pred.shape[1]), value=PAD)
    ok = (pred == data.tgt_out)
    clean = torch.cumprod(torch.cat([torch.ones(len(ok), 1, dtype=torch.long),
                                     ok[:, :-1].long()], dim=1), dim=1).bool()
    keep = clean & (data.tgt_out != PAD)
    assert int(keep.sum()) > 300
    assert torch.equal(pred[keep], teacher[keep])
    e = position_errors(model, data.src, data.lengths, data.tgt_in, data.tgt_out, pred)
    np.testing.assert_array_equal(e.n_clean, keep.sum(0).numpy())
