"""Grading spec of ``ch07_peephole.ipynb``: the peephole LSTM (Gers & Schmidhuber, 2000).

The references are :mod:`rnncourse.numpy.peephole` and
:func:`rnncourse.params.rnn_layer_params`.  Peephole weights ``p: (3, H)`` hold
the rows ``p_i, p_f, p_o``; the output gate looks at the *new* cell state.
"""

from __future__ import annotations

import numpy as np

from rnncourse.grading.spec import Exercise, Notebook
from rnncourse.numpy.peephole import (
    peephole_lstm_forward,
    peephole_lstm_step_backward,
    peephole_lstm_step_forward,
)
from rnncourse.params import rnn_layer_params

__all__ = ["NOTEBOOK"]

#: Run before the student's cells (and shown in the notebook's setup cell).
HELPERS = '''import numpy as np


def sigmoid(a):
    """The logistic function 1 / (1 + exp(-a)), no overflow for large |a|."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))
'''

# --------------------------------------------------------------------------- references


def count_peephole_params(n, d, bias=True):
    """One peephole LSTM layer: ``4 (n d + d d + d) + 3 d`` (without biases: no ``4 d``)."""
    return rnn_layer_params(int(n), int(d), gates=4, bias=bool(bias), peephole=True)


# --------------------------------------------------------------------------- hidden cases

# (N, T, D, H): a batch of one, one time step, one input feature, one hidden unit.
_SHAPES = ((1, 1, 1, 1), (1, 4, 3, 2), (3, 1, 2, 4), (2, 5, 1, 3), (4, 3, 3, 1))


def _weights(rng: np.random.Generator, D: int, H: int) -> dict:
    return dict(Wx=rng.standard_normal((D, 4 * H)) / np.sqrt(D),
                Wh=rng.standard_normal((H, 4 * H)) / np.sqrt(H),
                b=0.5 * rng.standard_normal(4 * H), p=rng.standard_normal((3, H)))


def _step_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(x=rng.standard_normal((N, D)), prev_h=rng.standard_normal((N, H)),
                 prev_c=rng.standard_normal((N, H)), dnext_h=rng.standard_normal((N, H)),
                 dnext_c=rng.standard_normal((N, H)), **_weights(rng, D, H))
            for N, _, D, H in _SHAPES]


def _sequence_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((N, H)),
                 c0=rng.standard_normal((N, H)), **_weights(rng, D, H))
            for N, T, D, H in _SHAPES]


def _count_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(n=1, d=1, bias=True), dict(n=234, d=1024, bias=False),
            dict(n=int(rng.integers(1, 300)), d=int(rng.integers(1, 300)), bias=True),
            dict(n=int(rng.integers(1, 300)), d=int(rng.integers(1, 300)), bias=False)]


# --------------------------------------------------------------------------- the spec

NOTEBOOK = Notebook(
    name="ch07_peephole",
    exercises=(
        Exercise(
            grade_id="peephole_step_forward",
            function="peephole_step_forward",
            points=3,
            call="peephole_step_forward(x, prev_h, prev_c, Wx, Wh, b, p)[:2]",
            cases=_step_cases,
            outputs=("next_h", "next_c"),
            description="one peephole LSTM step forward",
            returns=("next_h", "next_c", "cache"),
        ),
        Exercise(
            grade_id="count_peephole_params",
            function="count_peephole_params",
            points=1,
            call="count_peephole_params(n, d, bias)",
            cases=_count_cases,
            outputs=("count",),
            rtol=0, atol=0,
            description="parameters of a peephole LSTM layer",
        ),
        Exercise(
            grade_id="peephole_forward",
            function="peephole_forward",
            points=2,
            call="peephole_forward(x, h0, c0, Wx, Wh, b, p)[:2]",
            cases=_sequence_cases,
            outputs=("h", "c_T"),
            requires=("peephole_step_forward",),
            description="the peephole LSTM over a sequence",
            returns=("h", "c_T"),
        ),
        Exercise(
            grade_id="peephole_step_backward",
            function="peephole_step_backward",
            points=4,
            call=("peephole_step_backward(dnext_h, dnext_c, "
                  "peephole_step_forward(x, prev_h, prev_c, Wx, Wh, b, p)[2])"),
            cases=_step_cases,
            outputs=("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db", "dp"),
            requires=("peephole_step_forward",),
            description="one peephole LSTM step backward",
        ),
    ),
    reference=dict(
        peephole_step_forward=peephole_lstm_step_forward,
        count_peephole_params=count_peephole_params,
        peephole_forward=peephole_lstm_forward,
        peephole_step_backward=peephole_lstm_step_backward,
    ),
    helpers=HELPERS,
    seed=707,
)
