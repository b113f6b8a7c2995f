"""Checks of ``fx_rnn.ipynb``, the grader's test fixture (not a course notebook).

Three exercises on :mod:`rnncourse.numpy.rnn`: a parameter count, one RNN
step forward (CS231n style, returning ``(next_h, cache)``), and its backward
pass, which drives the student's own forward (``requires``).
"""

from __future__ import annotations

import numpy as np

from rnncourse.grading.spec import Exercise, Notebook
from rnncourse.numpy.rnn import rnn_step_backward, rnn_step_forward

__all__ = ["NOTEBOOK"]


def count_rnn_params(D: int, H: int) -> int:
    """Wx (D, H) + Wh (H, H) + b (H,), derived by hand."""
    return D * H + H * H + H


# (N, D, H): a batch of one, one hidden unit, and N != D != H so that a transpose shows.
_SHAPES = ((1, 1, 1), (2, 3, 4), (4, 3, 2), (3, 5, 1))


def _step_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(x=rng.standard_normal((N, D)), prev_h=rng.standard_normal((N, H)),
                 Wx=rng.standard_normal((D, H)) / np.sqrt(D),
                 Wh=rng.standard_normal((H, H)) / np.sqrt(H), b=rng.standard_normal(H),
                 dnext_h=rng.standard_normal((N, H)))
            for N, D, H in _SHAPES]


def _count_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(D=1, H=1), dict(D=234, H=1024), dict(D=int(rng.integers(1, 50)), H=7)]


NOTEBOOK = Notebook(
    name="fx_rnn",
    exercises=(
        Exercise(grade_id="count_params", function="count_rnn_params", points=1,
                 call="count_rnn_params(D, H)", cases=_count_cases, outputs=("count",),
                 description="parameters of one RNN layer"),
        Exercise(grade_id="rnn_step_forward", function="rnn_step_forward", points=2,
                 call="rnn_step_forward(x, prev_h, Wx, Wh, b)[0]", cases=_step_cases,
                 outputs=("next_h",), description="one step forward"),
        Exercise(grade_id="rnn_step_backward", function="rnn_step_backward", points=3,
                 call="rnn_step_backward(dnext_h, rnn_step_forward(x, prev_h, Wx, Wh, b)[1])",
                 cases=_step_cases, outputs=("dx", "dprev_h", "dWx", "dWh", "db"),
                 requires=("rnn_step_forward",), description="one step backward"),
    ),
    reference=dict(count_rnn_params=count_rnn_params, rnn_step_forward=rnn_step_forward,
                   rnn_step_backward=rnn_step_backward),
    seed=7,
)
