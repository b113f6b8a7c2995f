"""Grading spec of ``ch04_bptt.ipynb``: backpropagation through time.

The references are :mod:`rnncourse.numpy.rnn` and
:func:`rnncourse.numpy.gradcheck.numerical_gradient`.  The backward exercises
are driven through the student's own forward functions (their caches are theirs
to design): ``rnn_step_backward(dnext_h, rnn_step_forward(...)[1])``.
"""

from __future__ import annotations

import numpy as np

from rnncourse.grading.spec import Exercise, Notebook
from rnncourse.numpy.gradcheck import numerical_gradient as _numerical_gradient
from rnncourse.numpy.rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

__all__ = ["NOTEBOOK"]

# --------------------------------------------------------------------------- references


def numerical_gradient(f, x, h=1e-5):
    """Central differences of the scalar ``f()`` with respect to ``x`` (perturbed in place)."""
    return _numerical_gradient(f, x, h=h)


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
    ),
    reference=dict(
        numerical_gradient=numerical_gradient,
        rnn_step_forward=rnn_step_forward,
        rnn_step_backward=rnn_step_backward,
        rnn_forward=rnn_forward,
        rnn_backward=rnn_backward,
    ),
    helpers="import numpy as np\n",
    seed=404,
)
