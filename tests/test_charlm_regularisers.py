"""Chapter 10's regularisers and stateful batches, against independent references:
``torch.nn.Dropout``'s statistics, a second untied model for the tied gradient, the text
itself for the streams, and a one-pass softmax for the per-character log-probabilities."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from rnncourse.data.text import stateful_batches
from rnncourse.models import charlm as LM


def test_locked_dropout_shares_one_mask_across_time_and_matches_nn_dropout_statistics():
    torch.manual_seed(0)
    p, x = 0.3, torch.ones(400, 12, 50)
    locked = LM.LockedDropout(p).train()(x)
    standard = torch.nn.Dropout(p).train()(x)
    # the same values as nn.Dropout: 0 or 1 / (1 - p)
    for y in (locked, standard):
        values = np.unique(y.numpy())
        assert len(values) == 2 and values[0] == 0
        assert values[1] == pytest.approx(1 / (1 - p), rel=1e-6)
    # variational: every time step of a sequence carries the same mask; nn.Dropout does not
    assert torch.equal(locked, locked[:, :1].expand_as(locked))
    assert not torch.equal(standard, standard[:, :1].expand_as(standard))
    # keep rate 1 - p: a binomial test on the 400 * 50 independent mask entries, and the
    # same test passes for nn.Dropout's entries
    for kept, n in (((locked[:, 0] > 0).sum(), 400 * 50), ((standard > 0).sum(), x.numel())):
        assert stats.binomtest(int(kept), n, 1 - p).pvalue > 1e-3
    # the expectation is kept (scaled by 1 / (1 - p)), as with nn.Dropout
    assert abs(float(locked.mean()) - 1) < 0.03 and abs(float(standard.mean()) - 1) < 0.03


def test_locked_dropout_is_the_identity_in_eval_mode_and_at_p_zero():
    x = torch.randn(3, 5, 4)
    assert torch.equal(LM.LockedDropout(0.5).eval()(x), x)
    assert torch.equal(LM.LockedDropout(0.0).train()(x), x)
    with pytest.raises(ValueError, match="p must be"):
        LM.LockedDropout(1.0)
    with pytest.raises(ValueError, match="expected"):
        LM.LockedDropout(0.5)(torch.ones(3, 4))


def test_charlm_dropout_kinds_and_default_state_dict():
    assert isinstance(LM.CharLM(10, dropout=0.2).drop, LM.LockedDropout)
    assert isinstance(LM.CharLM(10, dropout=0.2, variational=False).drop, torch.nn.Dropout)
    # no new parameters: the shipped weights of the plain model still load
    assert list(LM.CharLM(10).state_dict()) == [
        "embed.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0",
        "rnn.bias_hh_l0", "head.weight", "head.bias"]
    torch.manual_seed(0)
    model = LM.CharLM(10, 8, 8, dropout=0.5).train()
    x = torch.randint(10, (2, 6))
    assert not torch.equal(model(x), model(x))          # training: random masks
    model.eval()
    assert torch.equal(model(x), model(x))


def test_tied_weights_share_one_parameter_and_its_gradient_is_the_sum_of_both_uses():
    torch.manual_seed(0)
    tied = LM.CharLM(10, 16, 16, tie_weights=True)
    assert tied.head.weight is tied.embed.weight
    untied = LM.CharLM(10, 16, 16)
    assert (sum(p.numel() for p in untied.parameters())
            - sum(p.numel() for p in tied.parameters())) == 10 * 16
    untied.load_state_dict(tied.state_dict())               # the same numbers, two Parameters
    x, y = torch.randint(10, (3, 7)), torch.randint(10, (3, 7))
    for m in (tied, untied):
        LM.sequence_cross_entropy(m(x), y).backward()
    torch.testing.assert_close(tied.embed.weight.grad,
                               untied.embed.weight.grad + untied.head.weight.grad)
    with pytest.raises(ValueError, match="embed_size == hidden_size"):
        LM.CharLM(10, 8, 16, tie_weights=True)


def test_stateful_batches_continue_each_stream_from_batch_to_batch():
    ids = np.arange(1000) % 97
    epoch = stateful_batches(ids, seq_len=10, batch_size=4, seed=3)
    batches = epoch()
    x = torch.cat([b[0] for b in batches], dim=1)          # (4, 10 k): each row a stream
    y = torch.cat([b[1] for b in batches], dim=1)
    start = int(np.flatnonzero(ids == int(x[0, 0]))[0])     # the epoch's random offset
    assert 0 <= start < 10
    length = (len(ids) - start - 1) // 4
    for i in range(4):                                     # row i: a contiguous piece
        first = start + i * length
        assert x[i].tolist() == ids[first:first + x.shape[1]].tolist()
        assert y[i].tolist() == ids[first + 1:first + 1 + x.shape[1]].tolist()
    assert all(b[0].shape == (4, 10) for b in batches)
    again = stateful_batches(ids, seq_len=10, batch_size=4, seed=3)()
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again, strict=True))
    with pytest.raises(ValueError, match="need at least"):
        stateful_batches(ids[:50], 10, 4)


def test_stateful_batches_with_random_lengths_still_tile_the_streams():
    ids = np.arange(20_000) % 997                          # no repeats within a stream
    epoch = stateful_batches(ids, seq_len=32, batch_size=4, seed=5, random_lengths=True)
    batches = epoch()
    x = torch.cat([b[0] for b in batches], dim=1)
    y = torch.cat([b[1] for b in batches], dim=1)
    start = int(x[0, 0])
    length = (len(ids) - start - 1) // 4
    for i in range(4):
        first = start + i * length
        assert x[i].tolist() == ids[first:first + x.shape[1]].tolist()
        assert y[i].tolist() == ids[first + 1:first + 1 + x.shape[1]].tolist()
    assert length - x.shape[1] < 32 + 4 * 5                # only an incomplete chunk is left
    lengths = np.array([b[0].shape[1] for b in batches])
    assert lengths.min() >= 5 and len(set(lengths.tolist())) > 10
    # AWD-LSTM's rule: N(32, 5) with probability 0.95, N(16, 5) otherwise: mean 31.2, so
    # about 5,000 / 31.2 = 160 batches, of which about 10.5 shorter than 22 (0.05 * 0.885
    # + 0.95 * 0.023 of them; 2 to 22 is beyond the 99.9 % range of that count)
    n = len(lengths)
    assert 150 <= n <= 170 and abs(lengths.mean() - 31.2) < 1.5
    assert 2 <= (lengths < 22).sum() <= 22
    assert [b[0].shape[1] for b in epoch()] != lengths.tolist()   # another epoch, other cuts
    again = stateful_batches(ids, seq_len=32, batch_size=4, seed=5, random_lengths=True)()
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again, strict=True))


def test_log2_probs_match_one_softmax_over_the_whole_text():
    torch.manual_seed(0)
    model = LM.CharLM(12, 8, 16).eval()
    ids = np.random.default_rng(0).integers(12, size=300)
    got = LM.log2_probs(model, ids, seq_len=64)              # read in chunks, state carried
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.as_tensor(ids[None, :-1]))[0].double(), -1)
    want = (logp[torch.arange(299), torch.as_tensor(ids[1:])] / np.log(2)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert abs(-got.mean() - LM.bits_per_char(model, ids)) < 1e-9


def test_char_classes_by_hand():
    labels = LM.char_classes("Ab 9\n$x_t$, é!")
    names = [LM.CHAR_CLASSES[k] for k in labels]
    assert names == ["letters", "letters", "space", "digits", "line break",
                     "maths and markup", "letters", "maths and markup", "letters",
                     "maths and markup", "other punctuation", "space", "letters",
                     "other punctuation"]


def test_fused_charlm_is_the_same_model_as_the_package_layer():
    torch.manual_seed(0)
    for cell in ("lstm", "gru"):
        ours, fused = LM.CharLM(11, 6, 9, cell), LM.CharLM(11, 6, 9, cell, fused=True)
        assert isinstance(fused.rnn, (torch.nn.LSTM, torch.nn.GRU))
        fused.load_state_dict(ours.state_dict())
        x = torch.randint(11, (2, 7))
        torch.testing.assert_close(fused(x), ours(x))


def test_shipped_tuned_weights_load_into_the_package_layer_and_score_as_stored():
    # scripts/tune_ch10_charlm.py trained with fused=True; the package's own LSTM, with the
    # same weights, must give the stored validation score of seed 0
    import json

    from rnncourse.data import bookdata
    from rnncourse.data.corpus import book_corpus
    tuned = json.loads(bookdata.path("ch10/charlm_tuned.json").read_text())
    chosen = tuned["chosen"]
    hidden, tied = chosen["hidden"], "tied" in chosen["reg"]
    corpus = book_corpus()
    model = LM.CharLM(len(corpus.vocab), hidden if tied else 32, hidden, dropout=0.1,
                      tie_weights=tied)
    model.load_state_dict(torch.load(bookdata.path("ch10/charlm_tuned.pt"), weights_only=True))
    assert (model.head.weight is model.embed.weight) == tied
    bpc = LM.bits_per_char(model, corpus.vocab.encode(corpus.validation))
    assert bpc == pytest.approx(tuned["final"][0]["validation"]["lstm_bpc"], rel=1e-4)
