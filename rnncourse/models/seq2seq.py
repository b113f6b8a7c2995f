"""Encoder–decoder (sequence-to-sequence) models, decoding and evaluation (chapter 9).

Token conventions (shared by every function here)::

    PAD = 0   padding, ignored by the loss and by the accuracy
    BOS = 1   "begin of sequence": the decoder's first input
    EOS = 2   "end of sequence": the decoder's last output

Shapes (batch-first): ``src (N, S)`` source tokens, ``lengths (N,)`` their true
lengths, ``tgt_in (N, T)`` the decoder's inputs ``BOS y_1 ... y_{T-1}``,
``tgt_out (N, T)`` its targets ``y_1 ... y_{T-1} EOS`` (both padded with ``PAD``).

The plain encoder–decoder (Sutskever et al. 2014; Cho et al. 2014)::

    h_s   = RNN_enc(E_src[x_s], h_{s-1})            encoder states, s = 1..S
    z_0   = h_S                                     the whole source in one vector
    z_t   = RNN_dec(E_tgt[y_{t-1}], z_{t-1})        decoder state
    p(y_t | y_<t, x) = softmax(z_t V + c)

With ``context_every_step=True`` the decoder also reads the summary
``c = h_S`` at every step, as in Cho et al. 2014, instead of only through ``z_0``::

    z_t   = RNN_dec([E_tgt[y_{t-1}], c], z_{t-1})
    p(y_t | y_<t, x) = softmax([z_t, c] V + b)

Attention (Bahdanau, Cho & Bengio 2015), at every decoder step ``t``::

    e_{t,s} = score(z_{t-1}, h_s)                   one score per source position
    a_t     = softmax_s(e_t)                        attention weights, sum to 1
    c_t     = sum_s a_{t,s} h_s                      context vector
    z_t     = GRUCell([E_tgt[y_{t-1}], c_t], z_{t-1})
    p(y_t | y_<t, x) = softmax([z_t, c_t] V + c)

with one of three scores (``score=`` ``"additive"``, ``"dot"`` or ``"general"``;
the last two after Luong, Pham & Manning 2015)::

    additive   e_{t,s} = v . tanh(z_{t-1} W_q + h_s W_k)    W_q (H, A), W_k (H_enc, A), v (A,)
    dot        e_{t,s} = z_{t-1} . h_s                       no parameters (needs H_enc = H)
    general    e_{t,s} = z_{t-1} W_a h_s                     W_a (H, H_enc)

Cost of the scores for one source of length ``S`` (``h_s W_k`` and ``W_a h_s`` are
computed once per source, not once per step): additive ``O(S·H·A)`` per source
plus ``O(H·A + S·A)`` per decoder step (a tanh of an ``(S, A)`` array);
dot ``O(S·H)`` per step, one matrix–vector product; general ``O(S·H·H_enc)`` per
source, then ``O(S·H)`` per step like dot.

With ``bidirectional=True`` the encoder is a bidirectional GRU (Bahdanau et al.
2015): ``h_s = [h_s^fwd, h_s^bwd]``, each direction of width ``H/2`` so that
``h_s`` has width ``H``; the decoder starts from
``z_0 = tanh([h_S^fwd, h_1^bwd] W_init + b_init)`` (both directions' final states;
Bahdanau et al. used the backward one only).

Every decoder state here is batch-first: a tensor ``(N, H)`` (GRU) or a pair of
them ``(h, c)`` (LSTM), so that decoding can select beams with ``state[idx]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnncourse._args import as_rng
from rnncourse.data.reversal import reversal_data
from rnncourse.data.text import BOS, EOS, PAD
from rnncourse.torch import GRU, LSTM, GRUCell

__all__ = [
    "PAD", "BOS", "EOS",
    "Encoder", "Decoder", "Seq2Seq", "AdditiveAttention", "DotAttention",
    "GeneralAttention", "ATTENTION_SCORES", "make_attention", "AttentionDecoder",
    "AttentionSeq2Seq", "AlignedTagger",
    "sequence_loss", "greedy_decode", "beam_search", "beam_search_fn", "exhaustive_search",
    "length_penalty", "normalised_score",
    "sequence_accuracy", "token_accuracy", "model_step_fn", "table_step_fn",
]


State = Any  # Tensor (N, H), or a tuple (h, c) of them
Memory = Any  # what the decoder reads from the encoder at each step (None: nothing)


def _rnn(cell: str, input_size: int, hidden_size: int, bidirectional: bool = False
         ) -> nn.Module:
    if cell == "gru":
        return GRU(input_size, hidden_size, batch_first=True, bidirectional=bidirectional)
    if cell == "lstm":
        return LSTM(input_size, hidden_size, batch_first=True, bidirectional=bidirectional)
    raise ValueError(f"cell must be 'gru' or 'lstm', got {cell!r}")


def _to_batch_first(state: Any) -> State:
    """``h_n (dirs, N, H)`` (or ``(h_n, c_n)``) of a one-layer RNN -> ``(N, dirs·H)``
    (or a pair): one direction's state, or both directions' concatenated."""
    if isinstance(state, tuple):
        return tuple(_to_batch_first(s) for s in state)
    return state[0] if state.shape[0] == 1 else torch.cat(tuple(state), dim=-1)


def _to_layer_first(state: State) -> Any:
    if isinstance(state, tuple):
        return tuple(s.unsqueeze(0).contiguous() for s in state)
    return state.unsqueeze(0).contiguous()


def _select(obj: Any, idx: Tensor) -> Any:
    """Rows ``idx`` of every tensor in ``obj`` (a tensor, a tuple of them, or None)."""
    if obj is None:
        return None
    if isinstance(obj, tuple):
        return tuple(_select(o, idx) for o in obj)
    return obj[idx]


def _check_tokens(name: str, x: Tensor, ndim: int = 2) -> None:
    if not isinstance(x, Tensor) or x.ndim != ndim or x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a {ndim}-D integer tensor, got {shape}")


# --------------------------------------------------------------------------- the plain model


class Encoder(nn.Module):
    """Sequence-to-vector: embed the source tokens and run a recurrent layer over them.

    Args:
        vocab_size: number of source tokens ``K_src``.
        embed_size: embedding width ``D``.
        hidden_size: state width ``H``.
        cell: ``"gru"`` (:class:`rnncourse.torch.GRU`) or ``"lstm"``.
        bidirectional: run a second RNN from the last token back to the first.

    ``forward(src (N, S), lengths (N,) or None) -> (outputs (N, S, H), state)``:
    ``outputs[:, s]`` is ``h_s`` (zeros past a sequence's length) and ``state``
    its last state ``h_S`` (at each sequence's own length), ``(N, H)`` or a pair.
    Bidirectional: ``outputs[:, s] = [h_s^fwd, h_s^bwd]`` ``(N, S, 2H)``, where the
    backward RNN starts at each sequence's own last token, and ``state`` is
    ``[h_S^fwd, h_1^bwd]`` ``(N, 2H)``, the two directions' final states.
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int,
                 cell: str = "gru", bidirectional: bool = False) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=PAD)
        self.rnn = _rnn(cell, embed_size, hidden_size, bidirectional)

    def forward(self, src: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, State]:
        _check_tokens("src", src)
        outputs, state = self.rnn(self.embed(src), lengths=lengths)
        return outputs, _to_batch_first(state)


class Decoder(nn.Module):
    """Vector-to-sequence: a recurrent layer started from the encoder's summary.

    ``forward(tokens (N, T), state, context=None) -> (logits (N, T, K), state)``:
    reads the tokens ``y_0 = BOS, y_1, ...`` and scores the next token after each
    one, ``logits[:, t] = z_{t+1} V + b``.

    With ``context_size > 0`` (Cho et al. 2014) it also reads a fixed context
    vector ``c (N, context_size)`` at every step: the RNN's input is
    ``[E[y_t], c]`` and the output layer reads ``[z_{t+1}, c]``.
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int,
                 cell: str = "gru", context_size: int = 0) -> None:
        super().__init__()
        self.context_size = context_size
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=PAD)
        self.rnn = _rnn(cell, embed_size + context_size, hidden_size)
        self.out = nn.Linear(hidden_size + context_size, vocab_size)

    def forward(self, tokens: Tensor, state: State, context: Tensor | None = None
                ) -> tuple[Tensor, State]:
        _check_tokens("tokens", tokens)
        x = self.embed(tokens)
        if self.context_size:
            if context is None or context.shape != (tokens.shape[0], self.context_size):
                got = None if context is None else tuple(context.shape)
                raise ValueError(f"context must be ({tokens.shape[0]}, {self.context_size}), "
                                 f"got {got}")
            c = context[:, None, :].expand(-1, tokens.shape[1], -1)
            x = torch.cat([x, c], dim=-1)
        z, state = self.rnn(x, _to_layer_first(state))
        if self.context_size:
            z = torch.cat([z, c], dim=-1)
        return self.out(z), _to_batch_first(state)


class Seq2Seq(nn.Module):
    """The plain encoder–decoder: the decoder sees the source only through ``h_S``.

    ``forward(src, lengths, tgt_in) -> logits (N, T, K_tgt)`` is the teacher-forced
    pass used in training (the decoder reads the *true* previous tokens).
    ``encode`` and ``step`` are what the decoding functions call.

    ``context_every_step=True``: the decoder also reads ``c = h_S`` (the ``h`` of
    an LSTM's pair) at every step (Cho et al. 2014), see :class:`Decoder`.
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embed_size: int = 16,
                 hidden_size: int = 64, cell: str = "gru",
                 context_every_step: bool = False) -> None:
        super().__init__()
        self.context_every_step = context_every_step
        self.encoder = Encoder(src_vocab, embed_size, hidden_size, cell)
        self.decoder = Decoder(tgt_vocab, embed_size, hidden_size, cell,
                               context_size=hidden_size if context_every_step else 0)

    def encode(self, src: Tensor, lengths: Tensor | None = None) -> tuple[State, Memory]:
        """Initial decoder state ``z_0 = h_S`` and the memory: the context ``c = h_S``
        ``(N, H)`` with ``context_every_step``, else None (nothing more)."""
        _, state = self.encoder(src, lengths)
        if not self.context_every_step:
            return state, None
        return state, (state[0] if isinstance(state, tuple) else state)

    def step(self, token: Tensor, state: State, memory: Memory = None
             ) -> tuple[Tensor, State, Tensor | None]:
        """One decoder step: ``token (N,)`` -> ``(logits (N, K), new state, None)``."""
        logits, state = self.decoder(token[:, None], state, memory)
        return logits[:, 0], state, None

    def forward(self, src: Tensor, lengths: Tensor | None, tgt_in: Tensor) -> Tensor:
        state, memory = self.encode(src, lengths)
        logits, _ = self.decoder(tgt_in, state, memory)
        return logits


# --------------------------------------------------------------------------- attention


class AdditiveAttention(nn.Module):
    """Bahdanau's additive attention.

    ``forward(query (N, Hq), keys (N, S, A), values (N, S, H), mask (N, S) or None)
    -> (context (N, H), weights (N, S))`` with ``keys = h_s W_k`` precomputed
    (:meth:`project_keys`)::

        e_s = v . tanh(query W_q + keys_s),   a = softmax(e) over unmasked s,
        context = sum_s a_s values_s
    """

    def __init__(self, query_size: int, key_size: int, attn_size: int) -> None:
        super().__init__()
        self.W_q = nn.Linear(query_size, attn_size, bias=False)
        self.W_k = nn.Linear(key_size, attn_size, bias=False)
        self.v = nn.Linear(attn_size, 1, bias=False)

    def project_keys(self, encoder_outputs: Tensor) -> Tensor:
        """``h_s W_k`` for every source position at once: ``(N, S, H) -> (N, S, A)``."""
        return self.W_k(encoder_outputs)

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:
        """``e_s = v . tanh(query W_q + keys_s)``: ``(N, Hq), (N, S, A) -> (N, S)``."""
        return self.v(torch.tanh(self.W_q(query)[:, None, :] + keys))[..., 0]

    def forward(self, query: Tensor, keys: Tensor, values: Tensor,
                mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return _attend(self.scores(query, keys), values, mask)


def _attend(scores: Tensor, values: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """Softmax of ``scores (N, S)`` over the unmasked positions, then the weighted
    sum of ``values (N, S, H)``: ``(context (N, H), weights (N, S))``."""
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=1)
    context = torch.bmm(weights[:, None, :], values)[:, 0]  # (N, H)
    return context, weights


class DotAttention(nn.Module):
    """Luong's dot-product score, ``e_s = query . h_s``: no parameters.

    Same interface as :class:`AdditiveAttention`; the keys are the encoder
    states themselves, so ``query_size`` must equal ``key_size``. (The
    Transformer's scaled version divides by ``sqrt(H)``; not here.)
    """

    def __init__(self, query_size: int, key_size: int, attn_size: int | None = None) -> None:
        super().__init__()
        if query_size != key_size:
            raise ValueError(f"dot-product attention needs query_size == key_size, got "
                             f"{query_size} and {key_size} (use 'general')")

    def project_keys(self, encoder_outputs: Tensor) -> Tensor:
        return encoder_outputs

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:
        """``e_s = query . keys_s``: ``(N, H), (N, S, H) -> (N, S)``."""
        return torch.bmm(keys, query[:, :, None])[..., 0]

    def forward(self, query: Tensor, keys: Tensor, values: Tensor,
                mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return _attend(self.scores(query, keys), values, mask)


class GeneralAttention(DotAttention):
    """Luong's "general" score, ``e_s = query W_a h_s`` with ``W_a (Hq, Hk)``.

    The keys are ``W_a h_s`` for every source position, computed once per
    source (:meth:`project_keys`); each step is then a dot product.
    """

    def __init__(self, query_size: int, key_size: int, attn_size: int | None = None) -> None:
        nn.Module.__init__(self)
        self.W_a = nn.Linear(key_size, query_size, bias=False)  # weight: (Hq, Hk) = W_a

    def project_keys(self, encoder_outputs: Tensor) -> Tensor:
        """``W_a h_s`` for every source position: ``(N, S, Hk) -> (N, S, Hq)``."""
        return self.W_a(encoder_outputs)


ATTENTION_SCORES = {"additive": AdditiveAttention, "dot": DotAttention,
                    "general": GeneralAttention}


def make_attention(score: str, query_size: int, key_size: int,
                   attn_size: int | None = None) -> nn.Module:
    """The attention module named ``score``: ``"additive"``, ``"dot"`` or ``"general"``."""
    if score not in ATTENTION_SCORES:
        raise ValueError(f"score must be one of {sorted(ATTENTION_SCORES)}, got {score!r}")
    return ATTENTION_SCORES[score](query_size, key_size, attn_size or query_size)


class AttentionDecoder(nn.Module):
    """A GRU decoder that reads a fresh context vector ``c_t`` at every step.

    ``score`` names the attention score (:data:`ATTENTION_SCORES`); the encoder
    states it reads have width ``memory_size`` (default ``hidden_size``).
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int,
                 attn_size: int | None = None, score: str = "additive",
                 memory_size: int | None = None) -> None:
        super().__init__()
        memory_size = memory_size or hidden_size
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=PAD)
        self.attention = make_attention(score, hidden_size, memory_size, attn_size)
        self.cell = GRUCell(embed_size + memory_size, hidden_size)
        self.out = nn.Linear(hidden_size + memory_size, vocab_size)

    def step(self, token: Tensor, state: Tensor, memory: tuple[Tensor, Tensor, Tensor]
             ) -> tuple[Tensor, Tensor, Tensor]:
        """``token (N,)``, ``state z_{t-1} (N, H)``, memory ``(h (N,S,H), keys, mask)``
        -> ``(logits (N, K), z_t (N, H), weights a_t (N, S))``."""
        values, keys, mask = memory
        context, weights = self.attention(state, keys, values, mask)
        state = self.cell(torch.cat([self.embed(token), context], dim=1), state)
        return self.out(torch.cat([state, context], dim=1)), state, weights


class AttentionSeq2Seq(nn.Module):
    """Encoder (GRU) + :class:`AttentionDecoder`; the same interface as :class:`Seq2Seq`.

    ``score``: ``"additive"`` (Bahdanau), ``"dot"`` or ``"general"`` (Luong).
    Only the score changes between them: the query is always the previous decoder
    state ``z_{t-1}`` and the context always enters the GRU cell and the output
    layer (Luong et al. query with the new state and combine differently).

    By default the encoder runs one way and the decoder starts from its last
    state, as in the plain model. ``bidirectional=True`` (Bahdanau et al.): a
    bidirectional GRU with ``hidden_size // 2`` per direction (``hidden_size``
    must be even), so that ``h_s = [h_s^fwd, h_s^bwd]`` has width
    ``hidden_size``, and ``z_0 = tanh([h_S^fwd, h_1^bwd] W_init + b_init)``
    (``self.init``).
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embed_size: int = 16,
                 hidden_size: int = 64, attn_size: int | None = None,
                 score: str = "additive", bidirectional: bool = False) -> None:
        super().__init__()
        self.bidirectional = bidirectional
        if bidirectional:
            if hidden_size % 2:
                raise ValueError(f"a bidirectional encoder needs an even hidden_size, "
                                 f"got {hidden_size}")
            self.encoder = Encoder(src_vocab, embed_size, hidden_size // 2, "gru",
                                   bidirectional=True)
            self.init = nn.Linear(hidden_size, hidden_size)
        else:
            self.encoder = Encoder(src_vocab, embed_size, hidden_size, "gru")
        self.decoder = AttentionDecoder(tgt_vocab, embed_size, hidden_size, attn_size, score)

    def encode(self, src: Tensor, lengths: Tensor | None = None
               ) -> tuple[Tensor, tuple[Tensor, Tensor, Tensor]]:
        outputs, state = self.encoder(src, lengths)
        if self.bidirectional:
            state = torch.tanh(self.init(state))
        S = src.shape[1]
        if lengths is None:
            mask = torch.ones(src.shape, dtype=torch.bool, device=src.device)
        else:
            lengths = torch.as_tensor(lengths, device=src.device)
            mask = torch.arange(S, device=src.device)[None, :] < lengths[:, None]
        return state, (outputs, self.decoder.attention.project_keys(outputs), mask)

    def step(self, token: Tensor, state: Tensor, memory: tuple[Tensor, Tensor, Tensor]
             ) -> tuple[Tensor, Tensor, Tensor]:
        return self.decoder.step(token, state, memory)

    def forward(self, src: Tensor, lengths: Tensor | None, tgt_in: Tensor,
                return_weights: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """Teacher-forced logits ``(N, T, K)`` (and the weights ``(N, T, S)`` if asked)."""
        state, memory = self.encode(src, lengths)
        logits, weights = [], []
        for token in tgt_in.unbind(1):  # the loop the recurrence forces
            step_logits, state, w = self.step(token, state, memory)
            logits.append(step_logits)
            weights.append(w)
        out = torch.stack(logits, dim=1)
        return (out, torch.stack(weights, dim=1)) if return_weights else out


# --------------------------------------------------------------------------- the aligned baseline


class AlignedTagger(nn.Module):
    """One RNN that emits an output at every input step ("translating on the fly").

    ``forward(src (N, S)) -> logits (N, S, K)``: output ``t`` is computed from
    ``x_1 .. x_t`` only, so it cannot depend on anything said later.
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embed_size: int = 16,
                 hidden_size: int = 64) -> None:
        super().__init__()
        self.embed = nn.Embedding(src_vocab, embed_size, padding_idx=PAD)
        self.rnn = GRU(embed_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, tgt_vocab)

    def forward(self, src: Tensor) -> Tensor:
        _check_tokens("src", src)
        h, _ = self.rnn(self.embed(src))
        return self.out(h)


# --------------------------------------------------------------------------- loss and metrics


def sequence_loss(logits: Tensor, target: Tensor) -> Tensor:
    """Mean cross-entropy over the non-``PAD`` target tokens.

    ``logits (N, T, K)``, ``target (N, T)`` -> scalar
    ``-(1/#tokens) sum_{n,t: y != PAD} log softmax(logits[n, t])[y_{n,t}]``.
    """
    if logits.ndim != 3 or logits.shape[:2] != target.shape:
        raise ValueError(f"logits must be (N, T, K) and target (N, T); got "
                         f"{tuple(logits.shape)} and {tuple(target.shape)}")
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                           ignore_index=PAD)


def _align(pred: Tensor, T: int) -> Tensor:
    """``pred (N, L)`` cut or padded (with PAD) to ``T`` columns."""
    if pred.shape[1] >= T:
        return pred[:, :T]
    return F.pad(pred, (0, T - pred.shape[1]), value=PAD)


def sequence_accuracy(pred: Tensor, target: Tensor) -> Tensor:
    """Per-sequence exact match, ``(N,)`` booleans.

    ``target (N, T)`` ends with ``EOS`` then ``PAD``; ``pred (N, L)`` is right
    when it equals the target up to and including its ``EOS`` (what it writes
    after that is never read). ``.float().mean()`` is the sequence accuracy.
    """
    pred = _align(pred, target.shape[1])
    return ((pred == target) | (target == PAD)).all(dim=1)


def token_accuracy(pred: Tensor, target: Tensor) -> Tensor:
    """Fraction of non-``PAD`` target tokens predicted right, position by position."""
    pred = _align(pred, target.shape[1])
    keep = target != PAD
    return ((pred == target) & keep).sum() / keep.sum()


# --------------------------------------------------------------------------- decoding


@torch.no_grad()
def greedy_decode(model: nn.Module, src: Tensor, lengths: Tensor | None = None,
                  max_len: int = 20) -> Tensor:
    """Feed back the most probable token at every step, for a whole batch.

    ``model`` has ``encode(src, lengths) -> (state, memory)`` and
    ``step(token (N,), state, memory) -> (logits (N, K), state, weights)``.

    Returns ``tokens (N, L)``, ``L <= max_len``: each row ends with its first
    ``EOS``, then ``PAD``; decoding stops once every row has written ``EOS``.
    """
    _check_tokens("src", src)
    was_training = model.training
    model.eval()
    state, memory = model.encode(src, lengths)
    token = torch.full((src.shape[0],), BOS, dtype=torch.long, device=src.device)
    done = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)
    out = []
    for _ in range(max_len):
        logits, state, _ = model.step(token, state, memory)
        token = logits.argmax(dim=1).masked_fill(done, PAD)
        out.append(token)
        done |= token == EOS
        if bool(done.all()):
            break
    model.train(was_training)
    return torch.stack(out, dim=1)


StepFn = Callable[[Tensor, State], tuple[Tensor, State]]
"""``step(tokens (B,), state) -> (log_probs (B, K), new state)`` for B hypotheses."""

LENGTH_PENALTIES = ("power", "gnmt")


def length_penalty(length: int, alpha: float, kind: str = "power") -> float:
    """The divisor of a hypothesis's log-probability, for ``length`` tokens (``eos`` counted).

    ``"power"``: ``length ** alpha`` (``alpha = 1``: the mean log-probability per
    token; ``alpha = 0``: no normalisation). ``"gnmt"``: ``((5 + length) / 6) ** alpha``,
    the length penalty of Wu et al. 2016 (GNMT), which they used with ``alpha``
    between 0.6 and 0.7. Both are 1 for ``alpha = 0``.
    """
    if kind not in LENGTH_PENALTIES:
        raise ValueError(f"kind must be one of {LENGTH_PENALTIES}, got {kind!r}")
    if length < 1 or alpha < 0:
        raise ValueError(f"need length >= 1 and alpha >= 0, got {length}, {alpha}")
    base = length if kind == "power" else (5 + length) / 6
    return float(base) ** alpha


def normalised_score(log_prob: float, length: int, alpha: float, kind: str = "power") -> float:
    """``log_prob / length_penalty(length, alpha, kind)``: what length-normalised
    beam search (and :func:`exhaustive_search` with the same ``alpha``) maximise."""
    return log_prob / length_penalty(length, alpha, kind)


def beam_search_fn(step: StepFn, state: State, *, beam_width: int, max_len: int,
                   bos: int = BOS, eos: int = EOS, alpha: float = 0.0,
                   penalty: str = "power") -> tuple[list[int], float]:
    """Beam search over any step function; returns ``(tokens, log-probability)``.

    A hypothesis is ``(log p, tokens)``, ``log p(tokens)`` being the sum of the
    log-probabilities of its tokens; it is *finished* once its last token is
    ``eos``. Hypotheses are ranked by :func:`normalised_score`,
    ``log p / length_penalty(len(tokens), alpha, penalty)`` — by ``log p`` itself
    with the default ``alpha = 0``. Starting from one empty hypothesis (state
    ``state``, a batch of one), at most ``max_len`` times:

    1. expand: every unfinished hypothesis becomes its ``K`` one-token
       extensions (one call of ``step`` for all of them); a finished one stays. At the
       ``max_len``-th token the only extension is ``eos`` (with its log-probability):
       an output is at most ``max_len`` tokens, ``eos`` included, and always finished;
    2. prune: keep the ``beam_width`` best candidates by that rank (ties: first come);
    3. stop early when all of them are finished.

    Returns the best-ranked hypothesis of the last beam, which is finished (it ends
    with ``eos``), and its *raw* ``log p``. An unfinished prefix never competes with a
    complete output: its ``log p`` lacks the factor ``p(eos | prefix)``, so it would be
    compared on unequal terms. With ``beam_width = 1`` and ``alpha = 0`` this is greedy
    decoding, except that an output still unfinished at ``max_len`` ends with a forced
    ``eos``; with ``beam_width >= K**max_len`` nothing is ever pruned and it is exhaustive
    search under the same score (:func:`exhaustive_search`).
    """
    if beam_width < 1 or max_len < 1:
        raise ValueError(f"beam_width and max_len must be >= 1, got {beam_width}, {max_len}")
    length_penalty(1, alpha, penalty)  # validates alpha and penalty

    def rank(hyp: tuple[float, list[int], int]) -> float:
        return normalised_score(hyp[0], len(hyp[1]), alpha, penalty)

    beam: list[tuple[float, list[int], int]] = [(0.0, [], 0)]  # (score, tokens, row of state)
    for position in range(max_len):
        live = [hyp for hyp in beam if not (hyp[1] and hyp[1][-1] == eos)]
        if not live:
            break
        rows = torch.tensor([row for _, _, row in live])
        last = torch.tensor([tokens[-1] if tokens else bos for _, tokens, _ in live])
        log_probs, state = step(last, _select(state, rows))  # (B, K): one row per live hyp
        log_probs = log_probs.detach().double().cpu().tolist()
        allowed = [eos] if position == max_len - 1 else range(len(log_probs[0]))
        candidates = [hyp for hyp in beam if hyp[1] and hyp[1][-1] == eos]
        for j, (score, tokens, _) in enumerate(live):
            candidates += [(score + log_probs[j][k], tokens + [k], j) for k in allowed]
        candidates.sort(key=rank, reverse=True)  # stable
        beam = candidates[:beam_width]
    score, tokens, _ = beam[0]
    return tokens, float(score)


def exhaustive_search(step: StepFn, state: State, *, max_len: int, vocab_size: int,
                      bos: int = BOS, eos: int = EOS, alpha: float = 0.0,
                      penalty: str = "power") -> tuple[list[int], float]:
    """The best output of all, by scoring every sequence (``K**max_len`` of them).

    The candidates are the complete outputs: the sequences of at most ``max_len``
    tokens that end with their first ``eos`` (a prefix that reaches ``max_len`` without
    one is not an output, and its ``log p`` lacks the factor ``p(eos | prefix)``). "Best"
    is the highest ``normalised_score(log p, length, alpha, penalty)``: the most probable
    output for ``alpha = 0``. Returns ``(tokens, log p(tokens))``. Only for tiny ``K`` and
    ``max_len``: this is the reference beam search approximates.
    """
    length_penalty(1, alpha, penalty)  # validates alpha and penalty
    best: tuple[list[int], float] = ([], -math.inf)
    best_score = -math.inf

    def visit(prefix: list[int], logp: float, st: State) -> None:
        nonlocal best, best_score
        last = prefix[-1] if prefix else bos
        log_probs, new_state = step(torch.tensor([last]), st)
        for tok in range(vocab_size):
            lp = logp + float(log_probs[0, tok])
            seq = prefix + [tok]
            if tok == eos:
                score = normalised_score(lp, len(seq), alpha, penalty)
                if score > best_score:
                    best, best_score = (seq, lp), score
            elif len(seq) < max_len:
                visit(seq, lp, new_state)

    visit([], 0.0, state)
    return best


def table_step_fn(probs: dict, vocab_size: int) -> StepFn:
    """A decoder that is a table, as a :data:`StepFn`: the next token's distribution
    depends on the previous token only, ``probs[prev][token]`` (numbers or
    :class:`fractions.Fraction`; a token left out has probability 0). The state passes
    through unchanged. A small exact model on which beam search and
    :func:`exhaustive_search` can be followed by hand (chapter 9's beam pages).

    Raises ``ValueError`` if a token is outside ``[0, vocab_size)``, a probability is
    negative, or a row does not sum to 1.
    """
    table = torch.full((vocab_size, vocab_size), -math.inf, dtype=torch.float64)
    for prev, row in probs.items():
        total = sum(row.values())
        if abs(float(total) - 1.0) > 1e-12:
            raise ValueError(f"the probabilities after token {prev} sum to {total}, not 1")
        for tok, p in row.items():
            if not (0 <= prev < vocab_size and 0 <= tok < vocab_size):
                raise ValueError(f"token {prev} -> {tok} is outside a vocabulary of "
                                 f"{vocab_size}")
            if p < 0:
                raise ValueError(f"p({tok} | {prev}) = {p} is negative")
            if p > 0:
                table[prev, tok] = math.log(float(p))

    def step(tokens: Tensor, state: State) -> tuple[Tensor, State]:
        return table[tokens], state
    return step


def model_step_fn(model: nn.Module, memory: Memory) -> StepFn:
    """Wrap ``model.step`` as a :data:`StepFn` for B hypotheses of one source.

    The memory (computed for a batch of one) is repeated for the B hypotheses.
    """
    def step(tokens: Tensor, state: State) -> tuple[Tensor, State]:
        B = tokens.shape[0]
        mem = _select(memory, torch.zeros(B, dtype=torch.long))
        logits, new_state, _ = model.step(tokens, state, mem)
        return torch.log_softmax(logits, dim=1), new_state
    return step


@torch.no_grad()
def beam_search(model: nn.Module, src: Tensor, *, beam_width: int = 5,
                max_len: int = 20, alpha: float = 0.0, penalty: str = "power"
                ) -> tuple[list[int], float]:
    """Beam search for one source sequence ``src (S,)`` with a :class:`Seq2Seq`-like model.

    Returns ``(tokens, log p(tokens | src))``; see :func:`beam_search_fn` (``alpha``
    and ``penalty``: its length normalisation).
    """
    _check_tokens("src", src, ndim=1)
    was_training = model.training
    model.eval()
    state, memory = model.encode(src[None], None)
    try:
        return beam_search_fn(model_step_fn(model, memory), state, beam_width=beam_width,
                              max_len=max_len, alpha=alpha, penalty=penalty)
    finally:
        model.train(was_training)


def accuracy_by_length(decode, lengths: Sequence[int], n: int,
                       rng: np.random.Generator | int) -> np.ndarray:
    """Sequence accuracy at each source length: ``decode(src, lengths) -> tokens``.

    ``n`` fresh reversal examples per length; returns ``(len(lengths),)`` floats.
    """
    rng = as_rng(rng, name="rng")
    acc = []
    for L in lengths:
        data = reversal_data(n, L, L, rng)
        pred = decode(data.src, data.lengths)
        acc.append(float(sequence_accuracy(pred, data.tgt_out).float().mean()))
    return np.array(acc)
