"""Grading spec of ``ch02_rnn.ipynb``: the forward pass of the basic recurrent layer.

The references are :mod:`rnncourse.numpy.rnn` and :mod:`rnncourse.numpy.padding`,
narrowed to the notebook's signatures (the notebook's functions return the hidden
states only, no cache).
"""

from __future__ import annotations

import numpy as np

from rnncourse.grading.spec import Exercise, Notebook
from rnncourse.numpy.padding import last_states as _last_states
from rnncourse.numpy.rnn import rnn_forward as _rnn_forward
from rnncourse.numpy.rnn import rnn_step_forward as _rnn_step_forward

__all__ = ["NOTEBOOK"]

# --------------------------------------------------------------------------- references


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """``next_h = tanh(x Wx + prev_h Wh + b)``."""
    return _rnn_step_forward(x, prev_h, Wx, Wh, b)[0]


def rnn_forward(x, h0, Wx, Wh, b):
    """Every hidden state, ``(N, T, H)``."""
    return _rnn_forward(x, h0, Wx, Wh, b)[0]


def rnn_forward_masked(x, h0, Wx, Wh, b, lengths):
    """Packed-sequence semantics: ``(h with zeros at padding, state after each last real step)``."""
    h = _rnn_forward(x, h0, Wx, Wh, b, lengths=lengths)[0]
    return h, _last_states(h, lengths)


def stack_weights(Wx, Wh):
    """``W = [Wh; Wx]``: the rows that multiply ``h`` first, then those for ``x``."""
    return np.concatenate([np.asarray(Wh), np.asarray(Wx)], axis=0)


def rnn_step_forward_concat(x, prev_h, W, b):
    """``tanh([prev_h, x] W + b)``, computed by splitting ``W`` back into ``Wh`` and ``Wx``."""
    W = np.asarray(W)
    H = W.shape[1]
    return _rnn_step_forward(x, prev_h, W[H:], W[:H], b)[0]


# --------------------------------------------------------------------------- hidden cases

# (N, T, D, H): a batch of one, one time step, one input feature, one hidden unit.
_SHAPES = ((1, 1, 1, 1), (1, 4, 3, 2), (3, 1, 2, 4), (2, 5, 1, 3), (4, 3, 3, 1))


def _weights(rng: np.random.Generator, D: int, H: int) -> dict:
    return dict(Wx=rng.standard_normal((D, H)) / np.sqrt(D),
                Wh=rng.standard_normal((H, H)) / np.sqrt(H),
                b=0.5 * rng.standard_normal(H))


def _step_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(x=rng.standard_normal((N, D)), prev_h=rng.standard_normal((N, H)),
                 **_weights(rng, D, H)) for N, _, D, H in _SHAPES]


def _sequence_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((N, H)),
                 **_weights(rng, D, H)) for N, T, D, H in _SHAPES]


def _stack_cases(rng: np.random.Generator) -> list[dict]:
    cases = []
    for _, _, D, H in _SHAPES:
        w = _weights(rng, D, H)
        cases.append(dict(Wx=w["Wx"], Wh=w["Wh"]))
    return cases


def _concat_cases(rng: np.random.Generator) -> list[dict]:
    cases = []
    for N, _, D, H in _SHAPES:
        w = _weights(rng, D, H)
        cases.append(dict(x=rng.standard_normal((N, D)), prev_h=rng.standard_normal((N, H)),
                          W=np.concatenate([w["Wh"], w["Wx"]]), b=w["b"]))
    return cases


# The lengths of each case of _SHAPES (N of them, each in [1, T]): a batch of one that is
# all padding after its first step, one where every sequence is full (T = 1), mixed ones.
_LENGTHS = ((1,), (2,), (1, 1, 1), (5, 2), (3, 1, 2, 3))


def _masked_cases(rng: np.random.Generator) -> list[dict]:
    cases = []
    for (N, T, D, H), lengths in zip(_SHAPES, _LENGTHS, strict=True):
        lengths = np.array(lengths, dtype=np.int64)
        x = rng.standard_normal((N, T, D))
        x[np.arange(T) >= lengths[:, None]] = 100.0  # padding that must never be read
        cases.append(dict(x=x, h0=rng.standard_normal((N, H)), lengths=lengths,
                          **_weights(rng, D, H)))
    return cases


# --------------------------------------------------------------------------- the spec

NOTEBOOK = Notebook(
    name="ch02_rnn",
    exercises=(
        Exercise(
            grade_id="rnn_step_forward",
            function="rnn_step_forward",
            points=2,
            call="rnn_step_forward(x, prev_h, Wx, Wh, b)",
            cases=_step_cases,
            outputs=("next_h",),
            description="one step of the recurrent layer",
        ),
        Exercise(
            grade_id="rnn_forward",
            function="rnn_forward",
            points=2,
            call="rnn_forward(x, h0, Wx, Wh, b)",
            cases=_sequence_cases,
            outputs=("h",),
            requires=("rnn_step_forward",),
            description="the recurrent layer over a whole sequence",
        ),
        Exercise(
            grade_id="stack_weights",
            function="stack_weights",
            points=1,
            call="stack_weights(Wx, Wh)",
            cases=_stack_cases,
            outputs=("W",),
            description="the concatenated weight matrix [Wh; Wx]",
        ),
        Exercise(
            grade_id="rnn_step_forward_concat",
            function="rnn_step_forward_concat",
            points=2,
            call="rnn_step_forward_concat(x, prev_h, W, b)",
            cases=_concat_cases,
            outputs=("next_h",),
            description="one step in the concatenated form tanh([h, x] W + b)",
        ),
        Exercise(
            grade_id="rnn_forward_masked",
            function="rnn_forward_masked",
            points=3,
            call="rnn_forward_masked(x, h0, Wx, Wh, b, lengths)",
            cases=_masked_cases,
            outputs=("h", "h_last"),
            requires=("rnn_step_forward",),
            description="a padded batch of sequences of different lengths",
        ),
    ),
    reference=dict(
        rnn_step_forward=rnn_step_forward,
        rnn_forward=rnn_forward,
        stack_weights=stack_weights,
        rnn_step_forward_concat=rnn_step_forward_concat,
        rnn_forward_masked=rnn_forward_masked,
    ),
    helpers="import numpy as np\n",
    seed=202,
)
