"""rnncourse.models.seq2seq (chapter 9) against hand-written references, torch.nn, brute force."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from rnncourse.models import seq2seq as S

torch.set_num_threads(1)


def table_step(table: torch.Tensor):
    """A decoder whose next-token log-probabilities depend only on the last token."""
    log_probs = torch.log_softmax(table, dim=1)

    def step(tokens, state):
        return log_probs[tokens], state
    return step


def brute_force(step, state, vocab_size, max_len, alpha=0.0, kind="power",
                bos=S.BOS, eos=S.EOS):
    """Score every complete output (at most ``max_len`` tokens, ending with its only
    ``eos``) with itertools (independent of exhaustive_search's recursion): the best
    ``log p / lp(L)``, with ``lp(L) = L**alpha`` (``kind="power"``; alpha 0: the raw
    log-probability) or ``((5 + L) / 6)**alpha`` (``kind="gnmt"``), and that score."""
    best, best_score = None, -math.inf
    for n in range(1, max_len + 1):
        for seq in itertools.product(range(vocab_size), repeat=n):
            if eos in seq[:-1] or seq[-1] != eos:     # complete outputs only
                continue
            lp, st, last = 0.0, state, bos
            for tok in seq:
                log_probs, st = step(torch.tensor([last]), st)
                lp += float(log_probs[0, tok])
                last = tok
            lp_len = n ** alpha if kind == "power" else ((5 + n) / 6) ** alpha
            if lp / lp_len > best_score:
                best, best_score = list(seq), lp / lp_len
    return best, best_score


def test_beam_on_hand_table():
    # after BOS: a (3) is best, but every continuation of a is poor; b (4) -> EOS is sure.
    table = torch.tensor([[0.0] * 5, [-9, -9, -9, 1.0, 0.5], [0.0] * 5,
                          [-9, -9, 0.2, 0.3, 0.1], [-9, -9, 3.0, -9, -9]])
    step = table_step(table)
    lp = torch.log_softmax(table, 1)
    tokens, score = S.beam_search_fn(step, None, beam_width=1, max_len=4)
    assert tokens == [3, 3, 3, 2]                        # greedy, with eos forced at max_len
    assert score == pytest.approx(float(lp[1, 3] + 2 * lp[3, 3] + lp[3, 2]))
    tokens, score = S.beam_search_fn(step, None, beam_width=2, max_len=4)
    assert tokens == [4, 2]
    assert score == pytest.approx(float(lp[1, 4] + lp[4, 2]))


def test_an_unfinished_prefix_never_wins():
    # tokens: 0 PAD, 1 BOS, 2 EOS, 3 a. After BOS and after a: a 0.9, EOS 0.1.
    # max_len 2: the complete outputs are [EOS] (0.1) and [a, EOS] (0.09); the prefix
    # [a, a] (0.81) is more probable than both, but it is not an output.
    row = [-math.inf, -math.inf, math.log(0.1), math.log(0.9)]
    table = torch.tensor([row] * 4, dtype=torch.float64)

    def step(tokens, state):
        return table[tokens], state

    for width in (1, 2, 4):
        tokens, lp = S.beam_search_fn(step, None, beam_width=width, max_len=2)
        assert tokens[-1] == S.EOS
    assert S.beam_search_fn(step, None, beam_width=2, max_len=2) == ([2], pytest.approx(
        math.log(0.1)))
    assert S.beam_search_fn(step, None, beam_width=1, max_len=2) == ([3, 2], pytest.approx(
        math.log(0.09)))                                   # greedy takes a, then must stop
    assert S.exhaustive_search(step, None, max_len=2, vocab_size=4) == ([2], pytest.approx(
        math.log(0.1)))
    assert brute_force(step, None, 4, 2) == ([2], pytest.approx(math.log(0.1)))


def toy_search(seed):
    """A small random Seq2Seq (4 symbols) with sharpened outputs, a source, and the
    decoder's start state and step function on it: ``(model, src, state, step)``."""
    torch.manual_seed(seed)
    model = S.Seq2Seq(4, 4, embed_size=3, hidden_size=5)
    with torch.no_grad():
        model.decoder.out.weight.mul_(6)
        src = torch.tensor([[3, 1, 3]])
        state, memory = model.encode(src)
    return model, src, state, S.model_step_fn(model, memory)


@pytest.mark.parametrize("seed", range(8))
def test_beam_search_matches_exhaustive_and_greedy(seed):
    model, src, state, step = toy_search(seed)
    with torch.no_grad():
        ref, ref_lp = brute_force(step, state, 4, 3)
        ex, ex_lp = S.exhaustive_search(step, state, max_len=3, vocab_size=4)
        wide, wide_lp = S.beam_search_fn(step, state, beam_width=4 ** 3, max_len=3)
        one, _ = S.beam_search_fn(step, state, beam_width=1, max_len=3)
        greedy = S.greedy_decode(model, src, max_len=3)[0].tolist()
    assert ex == ref and ex_lp == pytest.approx(ref_lp, abs=1e-9)
    assert wide == ref and wide_lp == pytest.approx(ref_lp, abs=1e-5)
    assert one[-1] == S.EOS                               # beam outputs are finished
    if S.EOS in greedy:
        assert one == greedy[:greedy.index(S.EOS) + 1]
        assert all(t == S.PAD for t in greedy[len(one):])
    else:                                                 # greedy ran out of steps
        assert one == greedy[:-1] + [S.EOS]
    assert S.beam_search(model, src[0], beam_width=4 ** 3, max_len=3)[0] == ref


def test_beam_search_attention_model_runs():
    torch.manual_seed(0)
    model = S.AttentionSeq2Seq(6, 6, embed_size=3, hidden_size=5)
    src = torch.tensor([3, 4, 5, 3])
    tokens, lp = S.beam_search(model, src, beam_width=3, max_len=5)
    assert 1 <= len(tokens) <= 5 and lp < 0 and tokens[-1] == S.EOS
    greedy = S.greedy_decode(model, src[None], max_len=5)[0].tolist()
    one, _ = S.beam_search(model, src, beam_width=1, max_len=5)
    assert one[:-1] == greedy[:len(one) - 1] and one[-1] == S.EOS


def test_seq2seq_matches_torch_nn():
    torch.manual_seed(0)
    model = S.Seq2Seq(7, 6, embed_size=4, hidden_size=5)
    enc, dec = nn.GRU(4, 5, batch_first=True), nn.GRU(4, 5, batch_first=True)
    enc.load_state_dict(model.encoder.rnn.state_dict())
    dec.load_state_dict(model.decoder.rnn.state_dict())
    src = torch.tensor([[3, 4, 5, 6], [6, 5, 0, 0]])
    lengths = torch.tensor([4, 2])
    tgt_in = torch.tensor([[1, 3, 4], [1, 5, 0]])
    with torch.no_grad():
        packed = nn.utils.rnn.pack_padded_sequence(model.encoder.embed(src), lengths,
                                                   batch_first=True, enforce_sorted=False)
        _, h = enc(packed)
        z, _ = dec(model.decoder.embed(tgt_in), h)
        ref = model.decoder.out(z)
        out = model(src, lengths, tgt_in)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_lstm_cell_option_runs():
    model = S.Seq2Seq(6, 6, embed_size=3, hidden_size=4, cell="lstm")
    src = torch.tensor([[3, 4, 5]])
    logits = model(src, None, torch.tensor([[1, 3]]))
    assert logits.shape == (1, 2, 6)
    assert S.greedy_decode(model, src, max_len=3).shape[0] == 1
    with pytest.raises(ValueError, match="cell"):
        S.Seq2Seq(6, 6, cell="rnn")


def test_attention_by_hand_and_mask():
    torch.manual_seed(1)
    att = S.AdditiveAttention(3, 2, 4)
    q, h = torch.randn(2, 3), torch.randn(2, 5, 2)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    with torch.no_grad():
        c, w = att(q, att.project_keys(h), h, mask)
        for n in range(2):
            L = int(mask[n].sum())
            e = torch.stack([att.v.weight[0] @ torch.tanh(att.W_q.weight @ q[n]
                                                         + att.W_k.weight @ h[n, s])
                             for s in range(L)])
            a = torch.exp(e) / torch.exp(e).sum()
            torch.testing.assert_close(w[n, :L], a)
            assert float(w[n, L:].abs().sum()) == 0
            torch.testing.assert_close(c[n], (a[:, None] * h[n, :L]).sum(0))


def test_attention_padding_does_not_change_output():
    torch.manual_seed(2)
    model = S.AttentionSeq2Seq(8, 8, embed_size=3, hidden_size=4)
    short = torch.tensor([[3, 4, 5]])
    padded = torch.tensor([[3, 4, 5, 0, 0]])
    tgt_in = torch.tensor([[1, 6, 7]])
    with torch.no_grad():
        a = model(short, torch.tensor([3]), tgt_in)
        b = model(padded, torch.tensor([3]), tgt_in)
    torch.testing.assert_close(a, b)


def test_sequence_loss_by_hand():
    logits = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0))
    target = torch.tensor([[3, 2, 0], [1, 3, 2]])
    lp = torch.log_softmax(logits, -1)
    terms = [lp[0, 0, 3], lp[0, 1, 2], lp[1, 0, 1], lp[1, 1, 3], lp[1, 2, 2]]
    assert float(S.sequence_loss(logits, target)) == pytest.approx(-float(sum(terms)) / 5)
    with pytest.raises(ValueError):
        S.sequence_loss(logits[0], target)


def test_accuracies():
    target = torch.tensor([[5, 6, 2, 0], [5, 2, 0, 0], [7, 7, 7, 2]])
    pred = torch.tensor([[5, 6, 2, 9, 9], [5, 6, 2, 0, 0], [7, 7, 7, 2, 0]])
    assert S.sequence_accuracy(pred, target).tolist() == [True, False, True]
    assert float(S.token_accuracy(pred, target)) == pytest.approx(8 / 9)
    short = torch.tensor([[5, 6], [5, 2], [7, 7]])  # cut off: no EOS for rows 0 and 2
    assert S.sequence_accuracy(short, target).tolist() == [False, True, False]


def test_greedy_decode_stops_and_pads():
    table = torch.tensor([[0.0] * 5, [-9, -9, -9, 5, 0], [0.0] * 5,
                          [-9, -9, 5, 0, 0], [0.0] * 5])

    class Table(nn.Module):
        def encode(self, src, lengths=None):
            return torch.zeros(src.shape[0], 1), None

        def step(self, token, state, memory=None):
            return table[token], state, None

    out = S.greedy_decode(Table(), torch.tensor([[3], [4]]), max_len=6)
    assert out.tolist() == [[3, 2], [3, 2]]


def test_teacher_forcing_step_equals_decoding_steps():
    torch.manual_seed(3)
    for model in (S.Seq2Seq(6, 6, 3, 4), S.AttentionSeq2Seq(6, 6, 3, 4)):
        src, tgt_in = torch.tensor([[3, 4, 5]]), torch.tensor([[1, 4, 3, 5]])
        with torch.no_grad():
            full = model(src, None, tgt_in)
            state, memory = model.encode(src)
            for t in range(4):
                logits, state, _ = model.step(tgt_in[:, t], state, memory)
                torch.testing.assert_close(logits, full[:, t], atol=1e-6, rtol=1e-5)


def test_aligned_tagger_is_causal():
    torch.manual_seed(4)
    tagger = S.AlignedTagger(8, 8, 3, 4)
    a = tagger(torch.tensor([[3, 4, 5, 6]]))
    b = tagger(torch.tensor([[3, 4, 7, 7]]))
    torch.testing.assert_close(a[:, :2], b[:, :2])
    assert not torch.allclose(a[:, 2:], b[:, 2:])


def test_table_step_fn_gives_the_table_and_the_exact_beam_curse():
    # chapter 9's hand-built decoder: after bos, eos 3/10 or a 7/10; after a, b 3/5 or
    # eos 2/5; after b, eos 3/5 or a 2/5. p(a b eos) = 63/250 = 0.252 < p(eos) = 0.3, but
    # per token (0.252)^(1/3) = 0.632 > 0.3.
    from fractions import Fraction as F
    a, b = 3, 4
    probs = {S.BOS: {S.EOS: F(3, 10), a: F(7, 10)}, a: {b: F(3, 5), S.EOS: F(2, 5)},
             b: {S.EOS: F(3, 5), a: F(2, 5)}}
    step = S.table_step_fn(probs, 5)
    log_probs, state = step(torch.tensor([S.BOS, a, b]), "kept")
    assert state == "kept" and log_probs.shape == (3, 5)
    assert torch.exp(log_probs[0, S.EOS]).item() == pytest.approx(0.3, rel=1e-15)
    assert torch.exp(log_probs[1, b]).item() == pytest.approx(0.6, rel=1e-15)
    assert log_probs[2, b].item() == -math.inf              # left out: probability 0
    for alpha, want in ((0.0, [S.EOS]), (1.0, [a, b, S.EOS])):
        assert brute_force(step, None, 5, 3, alpha)[0] == want
        assert S.exhaustive_search(step, None, max_len=3, vocab_size=5, alpha=alpha)[0] == want
    _, lp = S.exhaustive_search(step, None, max_len=3, vocab_size=5, alpha=1.0)
    assert lp == pytest.approx(math.log(63 / 250), rel=1e-12)
    with pytest.raises(ValueError, match="sum to 9/10"):
        S.table_step_fn({S.BOS: {S.EOS: F(3, 10), a: F(6, 10)}}, 5)
    with pytest.raises(ValueError, match="outside a vocabulary of 4"):
        S.table_step_fn(probs, 4)
