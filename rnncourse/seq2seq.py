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

Bahdanau-style additive attention (Bahdanau, Cho & Bengio 2015), at every
decoder step ``t``::

    e_{t,s} = v . tanh(z_{t-1} W_q + h_s W_k)       one score per source position
    a_t     = softmax_s(e_t)                        attention weights, sum to 1
    c_t     = sum_s a_{t,s} h_s                      context vector
    z_t     = GRUCell([E_tgt[y_{t-1}], c_t], z_{t-1})
    p(y_t | y_<t, x) = softmax([z_t, c_t] V + c)

Every decoder state here is batch-first: a tensor ``(N, H)`` (GRU) or a pair of
them ``(h, c)`` (LSTM), so that decoding can select beams with ``state[idx]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnncourse.torch import GRU, LSTM, GRUCell

__all__ = [
    "PAD", "BOS", "EOS",
    "Encoder", "Decoder", "Seq2Seq", "AdditiveAttention", "AttentionDecoder",
    "AttentionSeq2Seq", "AlignedTagger",
    "sequence_loss", "greedy_decode", "beam_search", "beam_search_fn", "exhaustive_search",
    "sequence_accuracy", "token_accuracy", "model_step_fn",
]

PAD, BOS, EOS = 0, 1, 2

State = Any  # Tensor (N, H), or a tuple (h, c) of them
Memory = Any  # what the decoder reads from the encoder at each step (None: nothing)


def _rnn(cell: str, input_size: int, hidden_size: int) -> nn.Module:
    if cell == "gru":
        return GRU(input_size, hidden_size, batch_first=True)
    if cell == "lstm":
        return LSTM(input_size, hidden_size, batch_first=True)
    raise ValueError(f"cell must be 'gru' or 'lstm', got {cell!r}")


def _to_batch_first(state: Any) -> State:
    """``h_n (1, N, H)`` (or ``(h_n, c_n)``) of a one-layer RNN -> ``(N, H)`` (or a pair)."""
    if isinstance(state, tuple):
        return tuple(s[0] for s in state)
    return state[0]


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

    ``forward(src (N, S), lengths (N,) or None) -> (outputs (N, S, H), state)``:
    ``outputs[:, s]`` is ``h_s`` (zeros past a sequence's length) and ``state``
    its last state ``h_S`` (at each sequence's own length), ``(N, H)`` or a pair.
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int,
                 cell: str = "gru") -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=PAD)
        self.rnn = _rnn(cell, embed_size, hidden_size)

    def forward(self, src: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, State]:
        _check_tokens("src", src)
        outputs, state = self.rnn(self.embed(src), lengths=lengths)
        return outputs, _to_batch_first(state)


class Decoder(nn.Module):
    """Vector-to-sequence: a recurrent layer started from the encoder's summary.

    ``forward(tokens (N, T), state) -> (logits (N, T, K), state)``: reads the
    tokens ``y_0 = BOS, y_1, ...`` and scores the next token after each one,
    ``logits[:, t] = z_{t+1} V + c``.
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int,
                 cell: str = "gru") -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=PAD)
        self.rnn = _rnn(cell, embed_size, hidden_size)
        self.out = nn.Linear(hidden_size, vocab_size)

    def forward(self, tokens: Tensor, state: State) -> tuple[Tensor, State]:
        _check_tokens("tokens", tokens)
        z, state = self.rnn(self.embed(tokens), _to_layer_first(state))
        return self.out(z), _to_batch_first(state)


class Seq2Seq(nn.Module):
    """The plain encoder–decoder: the decoder sees the source only through ``h_S``.

    ``forward(src, lengths, tgt_in) -> logits (N, T, K_tgt)`` is the teacher-forced
    pass used in training (the decoder reads the *true* previous tokens).
    ``encode`` and ``step`` are what the decoding functions call.
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embed_size: int = 16,
                 hidden_size: int = 64, cell: str = "gru") -> None:
        super().__init__()
        self.encoder = Encoder(src_vocab, embed_size, hidden_size, cell)
        self.decoder = Decoder(tgt_vocab, embed_size, hidden_size, cell)

    def encode(self, src: Tensor, lengths: Tensor | None = None) -> tuple[State, Memory]:
        """Initial decoder state ``z_0 = h_S`` and the memory (None: nothing more)."""
        _, state = self.encoder(src, lengths)
        return state, None

    def step(self, token: Tensor, state: State, memory: Memory = None
             ) -> tuple[Tensor, State, Tensor | None]:
        """One decoder step: ``token (N,)`` -> ``(logits (N, K), new state, None)``."""
        logits, state = self.decoder(token[:, None], state)
        return logits[:, 0], state, None

    def forward(self, src: Tensor, lengths: Tensor | None, tgt_in: Tensor) -> Tensor:
        state, _ = self.encode(src, lengths)
        logits, _ = self.decoder(tgt_in, state)
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

    def forward(self, query: Tensor, keys: Tensor, values: Tensor,
                mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        scores = self.v(torch.tanh(self.W_q(query)[:, None, :] + keys))[..., 0]  # (N, S)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        context = torch.bmm(weights[:, None, :], values)[:, 0]  # (N, H)
        return context, weights


class AttentionDecoder(nn.Module):
    """A GRU decoder that reads a fresh context vector ``c_t`` at every step."""

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int,
                 attn_size: int | None = None) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=PAD)
        self.attention = AdditiveAttention(hidden_size, hidden_size, attn_size or hidden_size)
        self.cell = GRUCell(embed_size + hidden_size, hidden_size)
        self.out = nn.Linear(2 * hidden_size, vocab_size)

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

    The decoder starts from the encoder's last state, as in the plain model
    (Bahdanau et al. used a bidirectional encoder; one direction keeps the
    comparison with :class:`Seq2Seq` fair).
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embed_size: int = 16,
                 hidden_size: int = 64, attn_size: int | None = None) -> None:
        super().__init__()
        self.encoder = Encoder(src_vocab, embed_size, hidden_size, "gru")
        self.decoder = AttentionDecoder(tgt_vocab, embed_size, hidden_size, attn_size)

    def encode(self, src: Tensor, lengths: Tensor | None = None
               ) -> tuple[Tensor, tuple[Tensor, Tensor, Tensor]]:
        outputs, state = self.encoder(src, lengths)
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


def beam_search_fn(step: StepFn, state: State, *, beam_width: int, max_len: int,
                   bos: int = BOS, eos: int = EOS) -> tuple[list[int], float]:
    """Beam search over any step function; returns ``(tokens, log-probability)``.

    A hypothesis is ``(score, tokens)``, the score being ``log p(tokens)``, the
    sum of the log-probabilities of its tokens; it is *finished* once its last
    token is ``eos``. Starting from one empty hypothesis (state ``state``, a batch
    of one), at most ``max_len`` times:

    1. expand: every unfinished hypothesis becomes its ``K`` one-token
       extensions (one call of ``step`` for all of them); a finished one stays;
    2. prune: keep the ``beam_width`` best candidates (ties: first come);
    3. stop early when all of them are finished.

    Returns the best hypothesis of the last beam (``eos`` included if written).
    With ``beam_width = 1`` this is greedy decoding; with ``beam_width >= K**max_len``
    nothing is ever pruned and it is exhaustive search.
    """
    if beam_width < 1 or max_len < 1:
        raise ValueError(f"beam_width and max_len must be >= 1, got {beam_width}, {max_len}")
    beam: list[tuple[float, list[int], int]] = [(0.0, [], 0)]  # (score, tokens, row of state)
    for _ in range(max_len):
        live = [hyp for hyp in beam if not (hyp[1] and hyp[1][-1] == eos)]
        if not live:
            break
        rows = torch.tensor([row for _, _, row in live])
        last = torch.tensor([tokens[-1] if tokens else bos for _, tokens, _ in live])
        log_probs, state = step(last, _select(state, rows))  # (B, K): one row per live hyp
        log_probs = log_probs.detach().double().cpu().tolist()
        candidates = [hyp for hyp in beam if hyp[1] and hyp[1][-1] == eos]
        for j, (score, tokens, _) in enumerate(live):
            candidates += [(score + lp, tokens + [k], j) for k, lp in enumerate(log_probs[j])]
        candidates.sort(key=lambda hyp: hyp[0], reverse=True)  # stable
        beam = candidates[:beam_width]
    score, tokens, _ = beam[0]
    return tokens, float(score)


def exhaustive_search(step: StepFn, state: State, *, max_len: int, vocab_size: int,
                      bos: int = BOS, eos: int = EOS) -> tuple[list[int], float]:
    """The most probable output of all, by scoring every sequence (``K**max_len`` of them).

    A sequence stops at its first ``eos`` or at ``max_len`` tokens. Only for tiny
    ``K`` and ``max_len``: this is the reference beam search approximates.
    """
    best: tuple[list[int], float] = ([], -math.inf)

    def visit(prefix: list[int], logp: float, st: State) -> None:
        nonlocal best
        last = prefix[-1] if prefix else bos
        log_probs, new_state = step(torch.tensor([last]), st)
        for tok in range(vocab_size):
            lp = logp + float(log_probs[0, tok])
            seq = prefix + [tok]
            if tok == eos or len(seq) == max_len:
                if lp > best[1]:
                    best = (seq, lp)
            else:
                visit(seq, lp, new_state)

    visit([], 0.0, state)
    return best


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
                max_len: int = 20) -> tuple[list[int], float]:
    """Beam search for one source sequence ``src (S,)`` with a :class:`Seq2Seq`-like model.

    Returns ``(tokens, log p(tokens | src))``; see :func:`beam_search_fn`.
    """
    _check_tokens("src", src, ndim=1)
    was_training = model.training
    model.eval()
    state, memory = model.encode(src[None], None)
    try:
        return beam_search_fn(model_step_fn(model, memory), state, beam_width=beam_width,
                              max_len=max_len)
    finally:
        model.train(was_training)
