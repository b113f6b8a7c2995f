"""Grading spec of ``ch06_lstm.ipynb``: the LSTM cell, forward and backward, one step and
through time.

The references are :mod:`rnncourse.numpy.lstm` (gate order i, f, g, o).  The
backward exercises run the student's own forward to get the caches.
"""

from __future__ import annotations

import numpy as np

from rnncourse.grading.spec import Exercise, Notebook
from rnncourse.numpy.lstm import lstm_backward as _lstm_backward
from rnncourse.numpy.lstm import lstm_forward, lstm_step_backward, lstm_step_forward

__all__ = ["NOTEBOOK"]

#: Run before the student's cells (and shown in the notebook's setup cell).
HELPERS = '''import numpy as np


def sigmoid(a):
    """The logistic function 1 / (1 + exp(-a)), no overflow for large |a|."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))
'''

# --------------------------------------------------------------------------- references


def init_lstm_bias(H, forget_bias=1.0):
    """Zeros, except the forget gate's block ``b[H:2H]``, set to ``forget_bias``."""
    H = int(H)
    b = np.zeros(4 * H)
    b[H:2 * H] = forget_bias
    return b


def lstm_backward(dh, dc_T, x, h0, c0, Wx, Wh, b):
    """Backpropagation through time: ``(dx, dh0, dc0, dWx, dWh, db)``."""
    _, _, cache = lstm_forward(x, h0, c0, Wx, Wh, b)
    return _lstm_backward(dh, cache, dc_T)


# --------------------------------------------------------------------------- hidden cases

# (N, T, D, H): a batch of one, one time step, one input feature, one hidden unit.
_SHAPES = ((1, 1, 1, 1), (1, 4, 3, 2), (3, 1, 2, 4), (2, 5, 1, 3), (4, 3, 3, 1))


def _weights(rng: np.random.Generator, D: int, H: int) -> dict:
    return dict(Wx=rng.standard_normal((D, 4 * H)) / np.sqrt(D),
                Wh=rng.standard_normal((H, 4 * H)) / np.sqrt(H),
                b=0.5 * rng.standard_normal(4 * H))


def _step_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(x=rng.standard_normal((N, D)), prev_h=rng.standard_normal((N, H)),
                 prev_c=rng.standard_normal((N, H)), dnext_h=rng.standard_normal((N, H)),
                 dnext_c=rng.standard_normal((N, H)), **_weights(rng, D, H))
            for N, _, D, H in _SHAPES]


def _sequence_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((N, H)),
                 c0=rng.standard_normal((N, H)), **_weights(rng, D, H))
            for N, T, D, H in _SHAPES]


def _bptt_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(**case, dh=rng.standard_normal((N, T, H)), dc_T=rng.standard_normal((N, H)))
            for case, (N, T, _, H) in zip(_sequence_cases(rng), _SHAPES, strict=True)]


def _bias_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(H=1, forget_bias=1.0), dict(H=3, forget_bias=2.0), dict(H=5, forget_bias=0.0),
            dict(H=int(rng.integers(2, 9)), forget_bias=float(rng.uniform(-1, 3)))]


# --------------------------------------------------------------------------- the spec

NOTEBOOK = Notebook(
    name="ch06_lstm",
    exercises=(
        Exercise(
            grade_id="lstm_step_forward",
            function="lstm_step_forward",
            points=3,
            call="lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[:2]",
            cases=_step_cases,
            outputs=("next_h", "next_c"),
            description="one LSTM step forward",
            returns=("next_h", "next_c", "cache"),
        ),
        Exercise(
            grade_id="lstm_forward",
            function="lstm_forward",
            points=2,
            call="lstm_forward(x, h0, c0, Wx, Wh, b)[:2]",
            cases=_sequence_cases,
            outputs=("h", "c_T"),
            requires=("lstm_step_forward",),
            description="the LSTM over a sequence",
            returns=("h", "c_T"),
        ),
        Exercise(
            grade_id="init_lstm_bias",
            function="init_lstm_bias",
            points=1,
            call="init_lstm_bias(H, forget_bias)",
            cases=_bias_cases,
            outputs=("b",),
            description="the forget-gate bias initialisation",
        ),
        Exercise(
            grade_id="lstm_step_backward",
            function="lstm_step_backward",
            points=4,
            call=("lstm_step_backward(dnext_h, dnext_c, "
                  "lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b)[2])"),
            cases=_step_cases,
            outputs=("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"),
            requires=("lstm_step_forward",),
            description="one LSTM step backward",
        ),
        Exercise(
            grade_id="lstm_backward",
            function="lstm_backward",
            points=4,
            call="lstm_backward(dh, dc_T, x, h0, c0, Wx, Wh, b)",
            cases=_bptt_cases,
            outputs=("dx", "dh0", "dc0", "dWx", "dWh", "db"),
            requires=("lstm_step_forward", "lstm_step_backward"),
            description="backpropagation through time over a sequence",
        ),
    ),
    reference=dict(
        lstm_step_forward=lstm_step_forward,
        lstm_forward=lstm_forward,
        init_lstm_bias=init_lstm_bias,
        lstm_step_backward=lstm_step_backward,
        lstm_backward=lstm_backward,
    ),
    helpers=HELPERS,
    seed=606,
)
