"""Grading spec of ``ch04_bptt.ipynb``: backpropagation through time, and the gradient of
a language model's loss.

The references are :mod:`rnncourse.numpy.rnn`,
:func:`rnncourse.numpy.gradcheck.numerical_gradient` and, for language modelling
as probability, :mod:`rnncourse.numpy.lm`, :mod:`rnncourse.numpy.losses` and
:mod:`rnncourse.numpy.layers` (the temporal affine layer).  The backward exercises
are driven through the student's own forward functions (their caches are theirs
to design): ``rnn_step_backward(dnext_h, rnn_step_forward(...)[1])``.
"""

from __future__ import annotations

import numpy as np

from rnncourse.grading.spec import Exercise, Notebook
from rnncourse.numpy.gradcheck import numerical_gradient as _numerical_gradient
from rnncourse.numpy.layers import temporal_affine_backward as _affine_backward
from rnncourse.numpy.layers import temporal_affine_forward as _affine_forward
from rnncourse.numpy.lm import bits_per_char as _bits_per_char
from rnncourse.numpy.lm import temperature_softmax as _temperature_softmax
from rnncourse.numpy.losses import perplexity as _perplexity
from rnncourse.numpy.losses import temporal_softmax_cross_entropy as _cross_entropy
from rnncourse.numpy.optim import clip_grad_norm as _clip_grad_norm
from rnncourse.numpy.rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

__all__ = ["NOTEBOOK"]

# --------------------------------------------------------------------------- references


def numerical_gradient(f, x, h=1e-5):
    """Central differences of the scalar ``f()`` with respect to ``x`` (perturbed in place)."""
    return _numerical_gradient(f, x, h=h)


def language_model_metrics(scores, y):
    """``(L, exp(L), L / ln 2)``: mean negative log-likelihood in nats, perplexity, bits/char."""
    L = _cross_entropy(scores, y)[0]
    return L, _perplexity(L), _bits_per_char(L)


def sample_with_temperature(scores, temperature, u):
    """Inversion: the first k with ``u < cumsum(softmax(scores / temperature))[k]``."""
    cdf = np.cumsum(_temperature_softmax(scores, temperature), axis=-1)
    k = np.sum(cdf <= np.asarray(u)[:, None], axis=-1)
    return np.minimum(k, cdf.shape[-1] - 1).astype(np.int64)


def temporal_softmax_loss(scores, y):
    """The mean cross-entropy over all positions and its gradient, ``(loss, dscores)``."""
    return _cross_entropy(scores, y)


def temporal_affine_backward(dscores, h, V):
    """``(dh, dV, dc)`` of ``scores = h V + c``."""
    _, cache = _affine_forward(h, V, np.zeros(np.shape(V)[1]))
    return _affine_backward(dscores, cache)


def train_char_rnn(train_ids, valid_ids, K, H, seq_len, lr, max_norm, epochs, seed):
    """Stateful truncated BPTT of a one-layer character RNN (batch of one), SGD with the
    gradients clipped by their global norm; ``(losses, valid_bits)``.

    Initialisation from ``default_rng(seed)``, in this order: ``Wx = N(0, 1)^(K, H) / sqrt(K)``,
    ``Wh = N(0, 1)^(H, H) / sqrt(H)``, ``V = N(0, 1)^(H, K) / sqrt(H)``; ``b``, ``c`` zeros.
    Every epoch starts from ``h = 0`` and walks the text in chunks of ``seq_len`` inputs
    (the last may be shorter), carrying ``h`` from chunk to chunk; each chunk's mean
    cross-entropy is recorded (before its update).
    """
    train_ids, valid_ids = np.asarray(train_ids), np.asarray(valid_ids)
    K, H, seq_len = int(K), int(H), int(seq_len)
    rng = np.random.default_rng(int(seed))
    p = dict(Wx=rng.standard_normal((K, H)) / np.sqrt(K),
             Wh=rng.standard_normal((H, H)) / np.sqrt(H),
             V=rng.standard_normal((H, K)) / np.sqrt(H), b=np.zeros(H), c=np.zeros(K))
    eye = np.eye(K)
    losses = []
    for _ in range(int(epochs)):
        h_prev = np.zeros((1, H))
        for start in range(0, len(train_ids) - 1, seq_len):
            stop = min(start + seq_len, len(train_ids) - 1)
            x = eye[train_ids[start:stop]][None]
            y = train_ids[start + 1:stop + 1][None]
            h, cache = rnn_forward(x, h_prev, p["Wx"], p["Wh"], p["b"])
            scores, affine = _affine_forward(h, p["V"], p["c"])
            loss, dscores = _cross_entropy(scores, y)
            dh, dV, dc = _affine_backward(dscores, affine)
            _, _, dWx, dWh, db = rnn_backward(dh, cache)
            grads, _ = _clip_grad_norm(dict(Wx=dWx, Wh=dWh, b=db, V=dV, c=dc), float(max_norm))
            p = {k: p[k] - float(lr) * grads[k] for k in p}
            losses.append(loss)
            h_prev = h[:, -1]
    h, _ = rnn_forward(eye[valid_ids[:-1]][None], np.zeros((1, H)), p["Wx"], p["Wh"], p["b"])
    valid_loss, _ = _cross_entropy(h @ p["V"] + p["c"], valid_ids[1:][None])
    return np.array(losses), valid_loss / np.log(2)


# --------------------------------------------------------------------------- hidden cases

# (N, T, D, H): a batch of one, one time step, one input feature, one hidden unit.
_SHAPES = ((1, 1, 1, 1), (1, 4, 3, 2), (3, 1, 2, 4), (2, 5, 1, 3), (4, 3, 3, 1))


def _weights(rng: np.random.Generator, D: int, H: int) -> dict:
    return dict(Wx=rng.standard_normal((D, H)) / np.sqrt(D),
                Wh=rng.standard_normal((H, H)) / np.sqrt(H),
                b=0.5 * rng.standard_normal(H))


# The step h: the default (not passed), and other values passed by keyword. A function
# that ignores its h is off by about h^2 (relative) at h = 0.05: far outside rtol.
_STEPS = ({}, {"h": 1e-4}, {}, {"h": 0.05}, {"h": 1e-3})


def _gradient_cases(rng: np.random.Generator) -> list[dict]:
    # f(B) = sum(tanh(A B) * C): smooth, with a different gradient for every entry.
    return [dict(A=rng.standard_normal((N, D)), B=rng.standard_normal((D, H)) / np.sqrt(D),
                 C=rng.standard_normal((N, H)), kw=dict(kw))
            for (N, _, D, H), kw in zip(_SHAPES, _STEPS, strict=True)]


def _step_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(x=rng.standard_normal((N, D)), prev_h=rng.standard_normal((N, H)),
                 dnext_h=rng.standard_normal((N, H)), **_weights(rng, D, H))
            for N, _, D, H in _SHAPES]


def _sequence_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((N, H)),
                 dh=rng.standard_normal((N, T, H)), **_weights(rng, D, H))
            for N, T, D, H in _SHAPES]


# (N, T, K, scale, offset of the scores): one step and two symbols, a batch of one, a
# single symbol (certain: L = 0), scores near 800 that overflow exp() unless the largest is
# subtracted first (log-sum-exp; softmax does not change when a constant is added).
_LM_SHAPES = ((1, 1, 2, 1.0, 0.0), (1, 6, 5, 2.0, 0.0), (3, 4, 1, 1.0, 0.0),
              (2, 5, 7, 3.0, 800.0), (4, 3, 3, 0.5, -5.0))


def _metrics_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(scores=offset + scale * rng.standard_normal((N, T, K)),
                 y=rng.integers(0, K, size=(N, T)))
            for N, T, K, scale, offset in _LM_SHAPES]


# (N, K, temperature): a single symbol; near-argmax; the model's own distribution; flattened.
_SAMPLE_SHAPES = ((3, 1, 1.0), (5, 4, 0.01), (1, 6, 1.0), (8, 3, 3.0), (6, 5, 0.5))


def _sample_cases(rng: np.random.Generator) -> list[dict]:
    # u stays below 0.999: no case depends on how the last cumulative sum rounds near 1.
    # The batch of one draws near the end of its distribution (u = 0.998), so that an id
    # clipped to the batch size rather than to K - 1 shows.
    cases = [dict(scores=2 * rng.standard_normal((N, K)), temperature=float(t),
                  u=np.full(1, 0.998) if N == 1 else 0.999 * rng.random(N))
             for N, K, t in _SAMPLE_SHAPES]
    # Rows thousands apart (a softmax must be stabilised row by row) with two large
    # scores in each row (an overflow shows even where only the largest would pass); with
    # u = 0.998 every row draws past its first id, where a NaN probability stops.
    scores = np.array([[1000.0], [0.0], [-700.0], [500.0]]) + rng.standard_normal((4, 3))
    cases.append(dict(scores=scores, temperature=1.0, u=np.full(4, 0.998)))
    return cases


def _softmax_loss_cases(rng: np.random.Generator) -> list[dict]:
    """The language-model shapes (a batch of one, one step, one position; scores near 800),
    and rows two thousand apart (a softmax must be stabilised row by row)."""
    cases = [dict(scores=offset + scale * rng.standard_normal((N, T, K)),
                  y=rng.integers(0, K, size=(N, T)))
             for N, T, K, scale, offset in _LM_SHAPES]
    cases.append(dict(scores=np.array([[[0.0]], [[-2000.0]]]) + rng.standard_normal((2, 1, 3)),
                      y=rng.integers(0, 3, size=(2, 1))))
    return cases


def _affine_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(dscores=rng.standard_normal((N, T, K)), h=rng.standard_normal((N, T, H)),
                 V=rng.standard_normal((H, K)))
            for N, T, H, K in ((1, 1, 1, 1), (2, 3, 4, 5), (1, 5, 2, 3), (3, 1, 3, 1),
                               (4, 2, 1, 6))]


def _training_cases(rng: np.random.Generator) -> list[dict]:
    """(K, H, train length, seq_len, epochs, max_norm): one step per chunk, one chunk for
    the whole text, a chunk length that does not divide the text, a last chunk of one step,
    a clipping threshold that acts, H = 1."""
    cases = []
    for K, H, n, seq_len, epochs, max_norm in ((3, 2, 9, 1, 1, 5.0), (4, 3, 12, 20, 2, 5.0),
                                               (5, 4, 25, 4, 2, 0.5), (3, 1, 14, 6, 1, 5.0),
                                               (4, 3, 20, 3, 3, 0.1)):
        cases.append(dict(train_ids=rng.integers(0, K, size=n),
                          valid_ids=rng.integers(0, K, size=8), K=K, H=H, seq_len=seq_len,
                          lr=0.5, max_norm=max_norm, epochs=epochs,
                          seed=int(rng.integers(0, 2**31))))
    return cases


# --------------------------------------------------------------------------- the spec

NOTEBOOK = Notebook(
    name="ch04_bptt",
    exercises=(
        Exercise(
            grade_id="numerical_gradient",
            function="numerical_gradient",
            points=2,
            # f reads A, B, C through default arguments, so that it works however the case
            # is bound (globals or locals of eval). The second output is B itself after
            # the call: numerical_gradient must restore it.
            call=("numerical_gradient(lambda A=A, B=B, C=C: float(np.sum(np.tanh(A @ B) * C)), B, "
                  "**kw), B"),
            cases=_gradient_cases,
            outputs=("grad", "x after the call"),  # the notebook's names
            rtol=1e-5, atol=1e-7,
            description="gradient by central differences",
        ),
        Exercise(
            grade_id="rnn_step_forward",
            function="rnn_step_forward",
            points=1,
            call="rnn_step_forward(x, prev_h, Wx, Wh, b)[0]",
            cases=_step_cases,
            outputs=("next_h",),
            description="one step forward, keeping a cache",
            returns=("next_h", "cache"),
        ),
        Exercise(
            grade_id="rnn_step_backward",
            function="rnn_step_backward",
            points=3,
            call="rnn_step_backward(dnext_h, rnn_step_forward(x, prev_h, Wx, Wh, b)[1])",
            cases=_step_cases,
            outputs=("dx", "dprev_h", "dWx", "dWh", "db"),
            requires=("rnn_step_forward",),
            description="one step backward",
        ),
        Exercise(
            grade_id="rnn_forward",
            function="rnn_forward",
            points=1,
            call="rnn_forward(x, h0, Wx, Wh, b)[0]",
            cases=_sequence_cases,
            outputs=("h",),
            requires=("rnn_step_forward",),
            description="the forward pass over a sequence, keeping a cache",
            returns=("h", "cache"),
        ),
        Exercise(
            grade_id="rnn_backward",
            function="rnn_backward",
            points=3,
            call="rnn_backward(dh, rnn_forward(x, h0, Wx, Wh, b)[1])",
            cases=_sequence_cases,
            outputs=("dx", "dh0", "dWx", "dWh", "db"),
            requires=("rnn_step_forward", "rnn_step_backward", "rnn_forward"),
            description="backpropagation through time over a sequence",
        ),
        Exercise(
            grade_id="language_model_metrics",
            function="language_model_metrics",
            points=2,
            call="language_model_metrics(scores, y)",
            cases=_metrics_cases,
            outputs=("mean_nll", "perplexity", "bits_per_char"),
            rtol=1e-9, atol=1e-12,
            description="average negative log-likelihood, perplexity and bits per character",
        ),
        Exercise(
            grade_id="sample_with_temperature",
            function="sample_with_temperature",
            points=2,
            call="sample_with_temperature(scores, temperature, u)",
            cases=_sample_cases,
            outputs=("ids",),
            description="drawing the next symbol at a temperature, by inversion",
        ),
        Exercise(
            grade_id="temporal_softmax_loss",
            function="temporal_softmax_loss",
            points=2,
            call="temporal_softmax_loss(scores, y)",
            cases=_softmax_loss_cases,
            outputs=("loss", "dscores"),
            description="the softmax cross-entropy over time and its gradient",
        ),
        Exercise(
            grade_id="temporal_affine_backward",
            function="temporal_affine_backward",
            points=2,
            call="temporal_affine_backward(dscores, h, V)",
            cases=_affine_cases,
            outputs=("dh", "dV", "dc"),
            description="the output layer at every step, backward",
        ),
        Exercise(
            grade_id="train_char_rnn",
            function="train_char_rnn",
            points=4,
            call=("train_char_rnn(train_ids, valid_ids, K, H, seq_len, lr, max_norm, epochs, "
                  "seed)"),
            cases=_training_cases,
            outputs=("losses", "valid_bits"),
            requires=("rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
                      "temporal_softmax_loss", "temporal_affine_backward"),
            rtol=1e-6, atol=1e-10,
            description="training a character RNN: stateful truncated BPTT, clipping, "
                        "held-out bits per character",
        ),
    ),
    reference=dict(
        numerical_gradient=numerical_gradient,
        rnn_step_forward=rnn_step_forward,
        rnn_step_backward=rnn_step_backward,
        rnn_forward=rnn_forward,
        rnn_backward=rnn_backward,
        language_model_metrics=language_model_metrics,
        sample_with_temperature=sample_with_temperature,
        temporal_softmax_loss=temporal_softmax_loss,
        temporal_affine_backward=temporal_affine_backward,
        train_char_rnn=train_char_rnn,
    ),
    helpers="import numpy as np\n",
    seed=404,
)
