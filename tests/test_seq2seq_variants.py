"""Chapter 9's variants in rnncourse.models.seq2seq: bidirectional encoder, dot and general
attention, the context at every decoder step, length-normalised beam search.

References: torch.nn.GRU / GRUCell with copied weights, hand computation,
torch.nn.functional.scaled_dot_product_attention, autograd's gradcheck, and a brute-force
search over every output written with itertools.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch
from test_seq2seq import brute_force, toy_search  # every output scored with itertools
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnncourse.models import seq2seq as S

torch.set_num_threads(1)


# --------------------------------------------------------------------------- bidirectional encoder


def test_bidirectional_encoder_matches_torch_nn_gru():
    torch.manual_seed(0)
    enc = S.Encoder(7, 3, 4, bidirectional=True).double()
    ref = nn.GRU(3, 4, batch_first=True, bidirectional=True).double()
    ref.load_state_dict(enc.rnn.state_dict())
    src = torch.tensor([[3, 4, 5, 6, 3], [4, 4, 5, 0, 0], [6, 0, 0, 0, 0]])
    lengths = torch.tensor([5, 3, 1])
    outputs, state = enc(src, lengths)
    packed = pack_padded_sequence(enc.embed(src), lengths, batch_first=True,
                                  enforce_sorted=False)
    ref_out, ref_h = ref(packed)
    ref_out, _ = pad_packed_sequence(ref_out, batch_first=True, total_length=5)
    torch.testing.assert_close(outputs, ref_out, rtol=1e-12, atol=1e-12)
    # the state: forward final state (at each length), backward final state (at position 1)
    torch.testing.assert_close(state, torch.cat([ref_h[0], ref_h[1]], dim=1),
                               rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(state[:, 4:], ref_out[:, 0, 4:], rtol=1e-12, atol=1e-12)
    assert outputs.shape == (3, 5, 8) and state.shape == (3, 8)


def test_bidirectional_attention_model_initial_state():
    torch.manual_seed(1)
    model = S.AttentionSeq2Seq(6, 6, embed_size=3, hidden_size=8, bidirectional=True).double()
    assert model.encoder.rnn.hidden_size == 4
    ref = nn.GRU(3, 4, batch_first=True, bidirectional=True).double()
    ref.load_state_dict(model.encoder.rnn.state_dict())
    src = torch.tensor([[3, 4, 5, 3]])
    out, h = ref(model.encoder.embed(src))
    z0, (values, keys, mask) = model.encode(src)
    W, b = model.init.weight, model.init.bias
    torch.testing.assert_close(z0, torch.tanh(torch.cat([h[0], h[1]], 1) @ W.T + b))
    torch.testing.assert_close(values, out)
    assert mask.all()
    tokens = S.greedy_decode(model, src, max_len=5)
    assert tokens.shape[0] == 1 and 1 <= tokens.shape[1] <= 5
    with pytest.raises(ValueError, match="even hidden_size"):
        S.AttentionSeq2Seq(6, 6, hidden_size=7, bidirectional=True)


# --------------------------------------------------------------------------- attention scores


def _qkv(N=3, S_=5, H=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(N, H, generator=g, dtype=torch.float64),
            torch.randn(N, S_, H, generator=g, dtype=torch.float64))


def test_dot_attention_by_hand_and_sdpa():
    query, h = _qkv()
    mask = torch.arange(5)[None] < torch.tensor([[5], [3], [1]])
    attn = S.DotAttention(4, 4)
    assert list(attn.parameters()) == []
    context, weights = attn(query, attn.project_keys(h), h, mask)
    for n in range(3):
        L = int(mask[n].sum())
        e = [sum(float(query[n, i]) * float(h[n, s, i]) for i in range(4)) for s in range(L)]
        z = sum(math.exp(x) for x in e)
        a = [math.exp(x) / z for x in e] + [0.0] * (5 - L)
        assert weights[n].tolist() == pytest.approx(a, rel=1e-12, abs=1e-15)
    ref = F.scaled_dot_product_attention(query[:, None], h, h, attn_mask=mask[:, None],
                                         scale=1.0)[:, 0]
    torch.testing.assert_close(context, ref, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="query_size == key_size"):
        S.DotAttention(4, 5)


def test_general_attention_by_hand_and_sdpa():
    torch.manual_seed(2)
    query, _ = _qkv(H=4)
    h = torch.randn(3, 5, 6, dtype=torch.float64)          # key width 6 != query width 4
    attn = S.GeneralAttention(4, 6).double()
    W_a = attn.W_a.weight                                   # (4, 6)
    assert W_a.shape == (4, 6)
    context, weights = attn(query, attn.project_keys(h), h)
    e = torch.einsum("ni,ij,nsj->ns", query, W_a, h)        # q W_a h_s
    torch.testing.assert_close(weights, torch.softmax(e, 1), rtol=1e-12, atol=1e-14)
    ref = F.scaled_dot_product_attention(query[:, None], h @ W_a.T, h, scale=1.0)[:, 0]
    torch.testing.assert_close(context, ref, rtol=1e-12, atol=1e-12)


def test_make_attention_names():
    assert isinstance(S.make_attention("additive", 4, 4, 3), S.AdditiveAttention)
    assert isinstance(S.make_attention("dot", 4, 4), S.DotAttention)
    assert isinstance(S.make_attention("general", 4, 6), S.GeneralAttention)
    with pytest.raises(ValueError, match="score must be one of"):
        S.make_attention("cosine", 4, 4)
    for score in ("dot", "general"):
        torch.manual_seed(0)
        model = S.AttentionSeq2Seq(6, 6, embed_size=3, hidden_size=4, score=score)
        logits, w = model(torch.tensor([[3, 4, 5]]), None, torch.tensor([[1, 5, 4]]),
                          return_weights=True)
        assert logits.shape == (1, 3, 6)
        torch.testing.assert_close(w.sum(-1), torch.ones(1, 3))


@pytest.mark.parametrize("score", ["additive", "dot", "general"])
def test_attention_gradcheck(score):
    torch.manual_seed(3)
    attn = S.make_attention(score, 3, 3, 2).double()
    query, h = _qkv(N=2, S_=4, H=3, seed=4)
    query.requires_grad_(True)
    h.requires_grad_(True)
    mask = torch.tensor([[True] * 4, [True, True, False, False]])

    def f(q, v):
        return attn(q, attn.project_keys(v), v, mask)

    assert torch.autograd.gradcheck(f, (query, h))


# --------------------------------------------------------------------------- context every step


def test_context_every_step_matches_hand_unrolled_loop():
    torch.manual_seed(4)
    model = S.Seq2Seq(7, 6, embed_size=3, hidden_size=4, context_every_step=True).double()
    src, lengths = torch.tensor([[3, 4, 5, 6], [5, 3, 0, 0]]), torch.tensor([4, 2])
    tgt_in = torch.tensor([[1, 5, 5, 4, 3], [1, 3, 5, 2, 0]])
    logits = model(src, lengths, tgt_in)
    # by hand: encoder h_S from torch.nn.GRU, decoder unrolled with torch.nn.GRUCell
    enc = nn.GRU(3, 4, batch_first=True).double()
    enc.load_state_dict(model.encoder.rnn.state_dict())
    c = torch.stack([enc(model.encoder.embed(src[n:n + 1, :int(lengths[n])]))[1][0, 0]
                     for n in range(2)])
    cell = nn.GRUCell(3 + 4, 4).double()
    dec = model.decoder.rnn
    cell.load_state_dict(dict(weight_ih=dec.weight_ih_l0, weight_hh=dec.weight_hh_l0,
                              bias_ih=dec.bias_ih_l0, bias_hh=dec.bias_hh_l0))
    z, ref = c, []
    for t in range(5):
        z = cell(torch.cat([model.decoder.embed(tgt_in[:, t]), c], 1), z)
        ref.append(torch.cat([z, c], 1) @ model.decoder.out.weight.T + model.decoder.out.bias)
    torch.testing.assert_close(logits, torch.stack(ref, 1), rtol=1e-12, atol=1e-12)
    # decoding step by step reads the same context
    state, memory = model.encode(src, lengths)
    torch.testing.assert_close(memory, c, rtol=1e-12, atol=1e-12)
    for t in range(5):
        step_logits, state, _ = model.step(tgt_in[:, t], state, memory)
        torch.testing.assert_close(step_logits, logits[:, t], rtol=1e-10, atol=1e-12)


def test_context_every_step_gradcheck_and_errors():
    torch.manual_seed(5)
    dec = S.Decoder(5, 2, 3, context_size=3).double()
    tokens = torch.tensor([[1, 3, 4]])
    z0 = torch.randn(1, 3, dtype=torch.float64, requires_grad=True)
    c = torch.randn(1, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda z, c: dec(tokens, z, c)[0], (z0, c))
    with pytest.raises(ValueError, match="context must be"):
        dec(tokens, z0)
    # the plain model's parameters and outputs are unchanged by the option's default
    torch.manual_seed(0)
    plain = S.Seq2Seq(5, 5, embed_size=2, hidden_size=3)
    assert plain.decoder.rnn.input_size == 2 and plain.decoder.out.in_features == 3


# --------------------------------------------------------------------------- length normalisation


def test_length_penalty_values():
    assert S.length_penalty(4, 0.0) == 1.0 and S.length_penalty(4, 0.0, "gnmt") == 1.0
    assert S.length_penalty(4, 1.0) == 4.0
    assert S.length_penalty(4, 0.5) == pytest.approx(2.0, rel=1e-15)
    assert S.length_penalty(7, 1.0, "gnmt") == pytest.approx(2.0, rel=1e-15)   # (5+7)/6
    assert S.normalised_score(-6.0, 3, 1.0) == -2.0
    with pytest.raises(ValueError, match="kind must be"):
        S.length_penalty(3, 1.0, "cube")
    with pytest.raises(ValueError, match="alpha >= 0"):
        S.length_penalty(3, -1.0)


@pytest.mark.parametrize("seed,alpha,kind", [(s, a, k) for s in range(4)
                                             for a, k in ((0.5, "power"), (1.0, "power"),
                                                          (0.7, "gnmt"))])
def test_normalised_beam_search_matches_exhaustive(seed, alpha, kind):
    _, _, state, step = toy_search(seed)
    with torch.no_grad():
        ref, ref_score = brute_force(step, state, 4, 3, alpha, kind)
        ex, ex_lp = S.exhaustive_search(step, state, max_len=3, vocab_size=4, alpha=alpha,
                                        penalty=kind)
        wide, wide_lp = S.beam_search_fn(step, state, beam_width=4 ** 3, max_len=3,
                                         alpha=alpha, penalty=kind)
    assert ex == ref and wide == ref
    assert S.normalised_score(ex_lp, len(ex), alpha, kind) == pytest.approx(ref_score, abs=1e-9)
    assert wide_lp == pytest.approx(ex_lp, abs=1e-5)   # the raw log p is returned


def test_raw_scores_prefer_a_short_output_normalised_do_not():
    # tokens: 0 PAD, 1 BOS, 2 EOS, 3 a, 4 b. After BOS: EOS 0.3, a 0.7; after a: b 0.6,
    # EOS 0.4; after b: EOS 0.6, a 0.4 (probabilities, so exact fractions can be printed).
    p = {1: {2: Fraction(3, 10), 3: Fraction(7, 10)}, 3: {4: Fraction(3, 5), 2: Fraction(2, 5)},
         4: {2: Fraction(3, 5), 3: Fraction(2, 5)}}
    table = torch.full((5, 5), -math.inf, dtype=torch.float64)
    for prev, row in p.items():
        for tok, prob in row.items():
            table[prev, tok] = math.log(prob)
    table[0, 2] = table[2, 2] = 0.0

    def step(tokens, state):
        return table[tokens], state

    # by hand: p(EOS) = 3/10 beats p(a b EOS) = 63/250, but per token
    # (63/250)^(1/3) ≈ 0.632 beats 0.3.
    assert Fraction(3, 10) > Fraction(7, 10) * Fraction(3, 5) * Fraction(3, 5)
    raw, raw_lp = S.beam_search_fn(step, None, beam_width=4, max_len=3)
    norm, norm_lp = S.beam_search_fn(step, None, beam_width=4, max_len=3, alpha=1.0)
    assert raw == [2] and raw_lp == pytest.approx(math.log(0.3), rel=1e-12)
    assert norm == [3, 4, 2] and norm_lp == pytest.approx(math.log(63 / 250), rel=1e-12)
    assert S.exhaustive_search(step, None, max_len=3, vocab_size=5)[0] == [2]
    assert S.exhaustive_search(step, None, max_len=3, vocab_size=5, alpha=1.0)[0] == [3, 4, 2]
