"""Grading spec of ``ch09_seq2seq.ipynb``: encoding, greedy and beam decoding, teacher forcing,
length-normalised beam search, dot-product attention, a decoder step with additive
attention and corpus BLEU.

The toy encoder-decoder has no biases and works on one sequence at a time
(vectors, not batches).  Its decoder step is part of the notebook's setup and
of :data:`HELPERS`, which the grader runs before the student's cells; the
references below call the very same step (the helper source is executed here
once).  ``tests/test_solutions.py`` checks the beam search against an
exhaustive search over all short sequences.
"""

from __future__ import annotations

import numpy as np

from rnncourse.analysis.bleu import corpus_bleu as _corpus_bleu
from rnncourse.grading.spec import Exercise, Notebook

__all__ = ["NOTEBOOK"]

#: Run before the student's cells (and shown in the notebook's setup cell).
HELPERS = '''import numpy as np


def log_softmax(scores):
    """log(softmax(scores)) of a vector of scores, without overflow."""
    z = scores - np.max(scores)
    return z - np.log(np.sum(np.exp(z)))


def decoder_step(token, h, E, Wx, Wh, V):
    """A step of the toy decoder: read `token`, update h, score the next token.

        x      = E[token]                 (D,)  embedding of the token read
        h      = tanh(x Wx + h Wh)        (H,)  new state
        scores = h V                      (K,)  a score per vocabulary token

    Returns (scores, h).
    """
    h = np.tanh(E[token] @ Wx + h @ Wh)
    return h @ V, h
'''

_helpers: dict = {}
exec(HELPERS, _helpers)  # the trusted helper source, shared with the notebook
log_softmax = _helpers["log_softmax"]
decoder_step = _helpers["decoder_step"]

# --------------------------------------------------------------------------- references


def encode(src, E, Wx, Wh):
    """The encoder's last state: ``h = tanh(E[token] Wx + h Wh)`` from ``h = 0``."""
    h = np.zeros(np.shape(Wh)[0])
    for token in src:
        h = np.tanh(E[int(token)] @ Wx + h @ Wh)
    return h


def greedy_decode(h0, E, Wx, Wh, V, bos, eos, max_len):
    """Feed back the best-scoring token until ``eos`` or ``max_len`` tokens."""
    tokens: list[int] = []
    token, h = int(bos), h0
    while len(tokens) < int(max_len):
        scores, h = decoder_step(token, h, E, Wx, Wh, V)
        token = int(np.argmax(scores))
        tokens.append(token)
        if token == int(eos):
            break
    return np.array(tokens, dtype=np.int64)


def beam_search(h0, E, Wx, Wh, V, bos, eos, max_len, beam_width):
    """The best hypothesis of a beam search; finished hypotheses stay in the beam.

    A hypothesis is ``(score, tokens, state)``, its score the sum of the
    log-probabilities of its tokens.  Each step replaces every unfinished
    hypothesis by its ``K`` one-token extensions and keeps a finished one (it
    ended with ``eos``) as it is; the ``beam_width`` best survive.  At the
    ``max_len``-th step the only extension is ``eos``, so every hypothesis of the
    final beam is finished: an unfinished prefix, whose log-probability lacks the
    factor ``p(eos | prefix)``, never competes with a complete output.  The search
    stops when every survivor is finished, after ``max_len`` steps at the latest.
    """
    eos = int(eos)
    beam: list[tuple[float, list[int], np.ndarray]] = [(0.0, [], h0)]
    for step in range(int(max_len)):
        candidates = []
        for score, tokens, h in beam:
            if tokens and tokens[-1] == eos:
                candidates.append((score, tokens, h))
                continue
            scores, h_next = decoder_step(tokens[-1] if tokens else int(bos), h, E, Wx, Wh, V)
            logp = log_softmax(scores)
            allowed = [eos] if step == int(max_len) - 1 else range(len(logp))
            candidates += [(score + float(logp[k]), [*tokens, k], h_next) for k in allowed]
        candidates.sort(key=lambda c: -c[0])  # stable: ties keep their order
        beam = candidates[:int(beam_width)]
        if all(tokens[-1] == eos for _, tokens, _ in beam):
            break
    score, tokens, _ = beam[0]
    return np.array(tokens, dtype=np.int64), float(score)


def teacher_forcing_loss(h0, E, Wx, Wh, V, bos, target):
    """Mean of ``-log p(target[t] | bos, target[:t])``, reading the *true* previous token."""
    h, total = h0, 0.0
    previous = [int(bos), *(int(t) for t in target[:-1])]
    for token, wanted in zip(previous, target, strict=True):
        scores, h = decoder_step(token, h, E, Wx, Wh, V)
        total -= float(log_softmax(scores)[int(wanted)])
    return total / len(target)


def normalised_beam_search(h0, E, Wx, Wh, V, bos, eos, max_len, beam_width, alpha):
    """:func:`beam_search` ranking every hypothesis by ``log p / len(tokens) ** alpha``.

    Returns the tokens of the best-ranked hypothesis of the final beam (finished, as in
    :func:`beam_search`) and that normalised score (``alpha = 0``: the plain
    log-probability).
    """
    eos, alpha = int(eos), float(alpha)

    def rank(candidate):
        return candidate[0] / len(candidate[1]) ** alpha

    beam: list[tuple[float, list[int], np.ndarray]] = [(0.0, [], h0)]
    for step in range(int(max_len)):
        candidates = []
        for logp_sum, tokens, h in beam:
            if tokens and tokens[-1] == eos:
                candidates.append((logp_sum, tokens, h))
                continue
            scores, h_next = decoder_step(tokens[-1] if tokens else int(bos), h, E, Wx, Wh, V)
            logp = log_softmax(scores)
            allowed = [eos] if step == int(max_len) - 1 else range(len(logp))
            candidates += [(logp_sum + float(logp[k]), [*tokens, k], h_next) for k in allowed]
        candidates.sort(key=lambda c: -rank(c))  # stable: ties keep their order
        beam = candidates[:int(beam_width)]
        if all(tokens[-1] == eos for _, tokens, _ in beam):
            break
    best = beam[0]
    return np.array(best[1], dtype=np.int64), float(rank(best))


def dot_attention(query, keys, values):
    """``e = keys query``, ``a = softmax(e)``, ``context = a values``: ``(context, a)``."""
    e = np.asarray(keys, dtype=np.float64) @ np.asarray(query, dtype=np.float64)
    a = np.exp(e - e.max())
    a = a / a.sum()
    return a @ np.asarray(values, dtype=np.float64), a


def attention_decoder_step(token, h, enc, E, Wx, Wc, Wh, Wq, Wk, v, V):
    """Bahdanau's additive attention with the previous state as the query, then the toy
    recurrence with the context as a second input: ``(scores, h_new, weights)``."""
    e = np.tanh(h @ Wq + enc @ Wk) @ v
    a = np.exp(e - e.max())
    a = a / a.sum()
    h_new = np.tanh(E[int(token)] @ Wx + (a @ enc) @ Wc + h @ Wh)
    return h_new @ V, h_new, a


def corpus_bleu(hypotheses, references):
    """Corpus BLEU up to 4-grams, no smoothing (:func:`rnncourse.analysis.bleu.corpus_bleu`)."""
    return _corpus_bleu([[int(t) for t in h] for h in hypotheses],
                        [[int(t) for t in r] for r in references], max_n=4, smooth="none")


# --------------------------------------------------------------------------- hidden cases


def _decoder(rng: np.random.Generator, K: int, D: int, H: int, sharp: float) -> dict:
    """A random decoder over ``K`` tokens; ``sharp`` scales the scores (peakier softmax).

    The column of ``eos = 1`` is shrunk, so that its score stays near 0 and the
    decoders neither always stop at once nor never stop.
    """
    weights = dict(h0=rng.standard_normal(H), E=rng.standard_normal((K, D)),
                   Wx=rng.standard_normal((D, H)) / np.sqrt(D),
                   Wh=rng.standard_normal((H, H)) / np.sqrt(H),
                   V=sharp * rng.standard_normal((H, K)))
    weights["V"][:, 1] *= 0.3
    return weights


# (K, D, H, max_len, beam_width, sharpness): H = 1, max_len = 1, beam_width = 1 (greedy)
# and a beam as wide as the vocabulary; bos = 0 and eos = 1 throughout.  With the seed
# below, beam search and greedy decoding disagree in three cases (once the beam stops
# early, once it runs longer), and greedy decoding stops at eos in one.
_DECODERS = ((3, 2, 1, 4, 2, 2.0), (4, 3, 2, 1, 3, 1.0), (5, 2, 4, 6, 1, 2.0),
             (4, 2, 3, 5, 4, 1.5), (6, 4, 5, 6, 3, 1.0))


def _encode_cases(rng: np.random.Generator) -> list[dict]:
    cases = []
    for K, D, H, T in ((3, 1, 1, 1), (4, 2, 3, 5), (5, 3, 1, 4), (6, 2, 4, 1), (4, 4, 2, 7)):
        cases.append(dict(src=rng.integers(0, K, size=T), E_src=rng.standard_normal((K, D)),
                          Ux=rng.standard_normal((D, H)) / np.sqrt(D),
                          Uh=rng.standard_normal((H, H)) / np.sqrt(H)))
    return cases


def _fixed_decoder(seed: int, alpha: float | None = None) -> dict:
    """A decoder drawn from its own seed, the same in every grading run: found (among the
    first seeds) to tell the beam searches apart from their slips that random decoders
    catch only in some runs -- an extension loop that skips token 0 or the last token,
    a hypothesis fed or judged finished by its first token instead of its last."""
    case = dict(**_decoder(np.random.default_rng(seed), 4, 2, 3, 2.0), bos=0, eos=1,
                max_len=5, beam_width=3)
    return case if alpha is None else dict(case, alpha=alpha)


def _decode_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(**_decoder(rng, K, D, H, sharp), bos=0, eos=1, max_len=L, beam_width=B)
            for K, D, H, L, B, sharp in _DECODERS] + [_fixed_decoder(192)]


def _loss_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(**_decoder(rng, K, D, H, sharp), bos=0, target=rng.integers(1, K, size=L))
            for K, D, H, L, _, sharp in _DECODERS]


# (K, D, H, max_len, beam_width, sharpness, alpha): a random decoder (H = 1) with alpha 0
# (plain beam search, a beam as wide as the vocabulary).
_NORMALISED = ((4, 2, 1, 5, 4, 1.5, 0.0),)


# A decoder that is a table of next-token log-probabilities (E = 20 I, Wx = I, Wh = 0: the
# state after a token is its one-hot vector), built so that raw scores pick the short output:
# p(eos) = 0.3 beats p(a b eos) = 0.7 * 0.6 * 0.6 = 0.252, not per token (0.632); and a
# search that prunes on the raw log p but ranks its final beam by the normalised score
# picks another output than one that ranks by the normalised score throughout.
_TABLE = np.log(np.array([[1e-12, 0.3, 0.7, 1e-12],     # after bos: eos or a
                          [0.25, 0.25, 0.25, 0.25],     # after eos (never read)
                          [1e-12, 0.4, 1e-12, 0.6],     # after a: b or eos
                          [1e-12, 0.6, 0.4, 1e-12]]))   # after b: eos or a


def _normalised_cases(rng: np.random.Generator) -> list[dict]:
    table = dict(h0=np.zeros(4), E=20.0 * np.eye(4), Wx=np.eye(4), Wh=np.zeros((4, 4)),
                 V=_TABLE.copy(), bos=0, eos=1)
    return [dict(**_decoder(rng, K, D, H, sharp), bos=0, eos=1, max_len=L, beam_width=B,
                 alpha=alpha)
            for K, D, H, L, B, sharp, alpha in _NORMALISED] + [
        _fixed_decoder(26, alpha=1.0),
        # Pruned by the raw log p, "a b a" loses its place at step 3 and "a b eos" wins;
        # ranked by the normalised score throughout, "a b a b eos" wins (in every run).
        dict(**table, max_len=5, beam_width=2, alpha=1.5),
        dict(**table, max_len=5, beam_width=3, alpha=0.0),
        # Only finished outputs win: the unfinished "a b" would beat "a eos" per token.
        dict(**table, max_len=2, beam_width=2, alpha=1.0),
        # Token 0 is an output like any other: "a" and "bos" swapped, the winner is 0 3 1.
        dict(table, V=_TABLE[_SWAP][:, _SWAP].copy(), bos=2, max_len=3, beam_width=2,
             alpha=1.0)]


_SWAP = [2, 1, 0, 3]  # the tokens a and bos exchanged


def _attention_cases(rng: np.random.Generator) -> list[dict]:
    """(S, H, D_v, scale): one source position, a square case, and scores large enough
    (scale 30) that an unstabilised softmax overflows."""
    cases = []
    for S, H, Dv, scale in ((1, 3, 2, 1.0), (4, 4, 4, 1.0), (6, 2, 5, 1.0), (5, 3, 3, 30.0),
                            (7, 5, 1, 0.1)):
        cases.append(dict(query=scale * rng.standard_normal(H),
                          keys=scale * rng.standard_normal((S, H)),
                          values=rng.standard_normal((S, Dv))))
    # In every run, two keys along the query score in the thousands (exp overflows past 709).
    big = cases[3]
    unit = big["query"] / np.linalg.norm(big["query"])
    big["keys"][:2] = np.array([[40.0], [39.0]]) * unit
    return cases


def _attention_step_cases(rng: np.random.Generator) -> list[dict]:
    """(S, H_enc, H, A, D, K, scale of v): one source position, H = 1, A = 1, and scores in
    the thousands (an unstabilised softmax overflows)."""
    cases = []
    for S, He, H, A, D, K, scale in ((1, 2, 3, 2, 2, 4, 1.0), (5, 3, 1, 4, 2, 3, 1.0),
                                     (4, 4, 3, 1, 3, 5, 2.0), (6, 2, 4, 3, 1, 6, 1000.0),
                                     (3, 5, 2, 5, 4, 3, 0.5)):
        cases.append(dict(
            token=int(rng.integers(0, K)), h=rng.standard_normal(H),
            enc=rng.standard_normal((S, He)), E=rng.standard_normal((K, D)),
            Wx=rng.standard_normal((D, H)) / np.sqrt(D), Wc=rng.standard_normal((He, H)),
            Wh=rng.standard_normal((H, H)) / np.sqrt(H), Wq=rng.standard_normal((H, A)),
            Wk=rng.standard_normal((He, A)), v=scale * rng.standard_normal(A),
            V=rng.standard_normal((H, K))))
    # In every run: scores 1000 tanh(2) = 964 and 1000 tanh(1) = 762, both past exp's 709.
    cases.append(dict(token=1, h=rng.standard_normal(2), enc=np.array([[2.0], [1.0]]),
                      E=rng.standard_normal((2, 1)), Wx=rng.standard_normal((1, 2)),
                      Wc=rng.standard_normal((1, 2)), Wh=rng.standard_normal((2, 2)) / 2,
                      Wq=np.zeros((2, 1)), Wk=np.ones((1, 1)), v=np.array([1000.0]),
                      V=rng.standard_normal((2, 2))))
    return cases


def _bleu_cases(rng: np.random.Generator) -> list[dict]:
    """Corpora of digit strings: noisy copies, a perfect copy, too-short outputs (brevity
    penalty), a repeated token (clipping), outputs without a matching 4-gram (BLEU 0)."""
    def noisy(ref: np.ndarray, p: float) -> np.ndarray:
        flip = rng.random(len(ref)) < p
        return np.where(flip, rng.integers(0, 10, size=len(ref)), ref).astype(np.int64)

    def refs(n: int, length: int) -> list[np.ndarray]:
        return [rng.integers(0, 10, size=length) for _ in range(n)]

    cases = []
    for n, length, p in ((6, 9, 0.3), (20, 12, 0.2)):
        r = refs(n, length)
        cases.append(dict(hypotheses=[noisy(x, p) for x in r], references=r))
    r = refs(4, 6)
    cases.append(dict(hypotheses=[x.copy() for x in r], references=r))          # BLEU 1
    # Too short (the brevity penalty, 7 tokens for 10), with BLEU > 0: exactly one 4-gram
    # matches, and the two-token output has no 3- or 4-grams at all (it adds none to those
    # totals).
    cases.append(dict(hypotheses=[np.array([1, 2, 3, 4, 9]), np.array([7, 7])],
                      references=[np.array([1, 2, 3, 4, 5, 6, 7]), np.array([7, 8, 9])]))
    r = [np.array([7, 3, 7, 2, 7, 5, 1]), np.array([4, 4, 1, 0, 9, 2, 9])]
    cases.append(dict(hypotheses=[np.array([7, 7, 7, 2, 7, 5, 1]),
                                  np.array([4, 4, 4, 1, 0, 9, 9])], references=r))  # clipping
    r = [np.array([1, 2, 3, 4, 5]), np.array([6, 7, 8, 9, 0])]
    cases.append(dict(hypotheses=[np.array([1, 2, 3, 9, 5]), np.array([6, 7, 8, 0, 9])],
                      references=r))                                              # no 4-gram match
    return cases


# --------------------------------------------------------------------------- the spec

NOTEBOOK = Notebook(
    name="ch09_seq2seq",
    exercises=(
        Exercise(
            grade_id="encode",
            function="encode",
            points=2,
            call="encode(src, E_src, Ux, Uh)",
            cases=_encode_cases,
            outputs=("h_T",),
            description="the encoder's final state",
        ),
        Exercise(
            grade_id="greedy_decode",
            function="greedy_decode",
            points=3,
            call="greedy_decode(h0, E, Wx, Wh, V, bos, eos, max_len)",
            cases=_decode_cases,
            outputs=("tokens",),
            description="greedy decoding",
        ),
        Exercise(
            grade_id="beam_search",
            function="beam_search",
            points=4,
            call="beam_search(h0, E, Wx, Wh, V, bos, eos, max_len, beam_width)",
            cases=_decode_cases,
            outputs=("tokens", "score"),
            description="beam search decoding",
        ),
        Exercise(
            grade_id="teacher_forcing_loss",
            function="teacher_forcing_loss",
            points=2,
            call="teacher_forcing_loss(h0, E, Wx, Wh, V, bos, target)",
            cases=_loss_cases,
            outputs=("loss",),
            description="the cross-entropy loss with teacher forcing",
        ),
        Exercise(
            grade_id="normalised_beam_search",
            function="normalised_beam_search",
            points=3,
            call="normalised_beam_search(h0, E, Wx, Wh, V, bos, eos, max_len, beam_width, alpha)",
            cases=_normalised_cases,
            outputs=("tokens", "score"),
            description="beam search normalised for length",
        ),
        Exercise(
            grade_id="dot_attention",
            function="dot_attention",
            points=2,
            call="dot_attention(query, keys, values)",
            cases=_attention_cases,
            outputs=("context", "weights"),
            description="dot-product attention",
        ),
        Exercise(
            grade_id="attention_decoder_step",
            function="attention_decoder_step",
            points=3,
            call="attention_decoder_step(token, h, enc, E, Wx, Wc, Wh, Wq, Wk, v, V)",
            cases=_attention_step_cases,
            outputs=("scores", "h_new", "weights"),
            description="a decoder step with additive (Bahdanau) attention",
        ),
        Exercise(
            grade_id="corpus_bleu",
            function="corpus_bleu",
            points=4,
            call="corpus_bleu(hypotheses, references)",
            cases=_bleu_cases,
            outputs=("bleu",),
            description="corpus BLEU",
        ),
    ),
    reference=dict(
        encode=encode,
        greedy_decode=greedy_decode,
        beam_search=beam_search,
        teacher_forcing_loss=teacher_forcing_loss,
        normalised_beam_search=normalised_beam_search,
        dot_attention=dot_attention,
        attention_decoder_step=attention_decoder_step,
        corpus_bleu=corpus_bleu,
    ),
    helpers=HELPERS,
    seed=900,
)
