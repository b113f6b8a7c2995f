"""Grading spec of ``ch08_gru.ipynb``: the GRU step in PyTorch's and in Cho's form, and one
step backward.

The references are :mod:`rnncourse.numpy.gru` (gate order r, z, n; two bias
vectors ``bx``, ``bh``) and :func:`rnncourse.params.count_parameters`.
"""

from __future__ import annotations

import numpy as np

from rnncourse.grading.spec import Exercise, Notebook
from rnncourse.numpy.gru import gru_forward as _gru_forward
from rnncourse.numpy.gru import gru_step_backward as _gru_step_backward
from rnncourse.numpy.gru import gru_step_forward as _gru_step_forward
from rnncourse.params import count_parameters

__all__ = ["NOTEBOOK"]

#: Run before the student's cells (and shown in the notebook's setup cell).
HELPERS = '''import numpy as np


def sigmoid(a):
    """The logistic function 1 / (1 + exp(-a)), no overflow for large |a|."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))
'''

# --------------------------------------------------------------------------- references


def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    """PyTorch's form: the reset gate scales ``h Wh_n + bh_n``."""
    return _gru_step_forward(x, prev_h, Wx, Wh, bx, bh, form="pytorch")[0]


def gru_step_forward_cho(x, prev_h, Wx, Wh, bx, bh):
    """Cho et al.'s form: the reset gate scales ``h`` before the product with ``Wh_n``."""
    return _gru_step_forward(x, prev_h, Wx, Wh, bx, bh, form="cho")[0]


def gru_forward(x, h0, Wx, Wh, bx, bh):
    """Every hidden state, ``(N, T, H)``, PyTorch's form."""
    return _gru_forward(x, h0, Wx, Wh, bx, bh, form="pytorch")[0]


def gru_step_backward(dnext_h, x, prev_h, Wx, Wh, bx, bh):
    """PyTorch's form, backward: ``(dx, dprev_h, dWx, dWh, dbx, dbh)``."""
    return _gru_step_backward(dnext_h, _gru_step_forward(x, prev_h, Wx, Wh, bx, bh)[1])


def count_gru_params(n, d, num_layers=1, bidirectional=False):
    """What ``torch.nn.GRU(n, d, num_layers, bidirectional=...)`` holds."""
    return count_parameters("gru", int(n), int(d), num_layers=int(num_layers),
                            bias_convention="pytorch", bidirectional=bool(bidirectional)).total


# --------------------------------------------------------------------------- hidden cases

# (N, T, D, H): a batch of one, one time step, one input feature, one hidden unit.
_SHAPES = ((1, 1, 1, 1), (1, 4, 3, 2), (3, 1, 2, 4), (2, 5, 1, 3), (4, 3, 3, 1))


def _weights(rng: np.random.Generator, D: int, H: int) -> dict:
    return dict(Wx=rng.standard_normal((D, 3 * H)) / np.sqrt(D),
                Wh=rng.standard_normal((H, 3 * H)) / np.sqrt(H),
                bx=0.5 * rng.standard_normal(3 * H), bh=0.5 * rng.standard_normal(3 * H))


def _step_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(x=rng.standard_normal((N, D)), prev_h=rng.standard_normal((N, H)),
                 **_weights(rng, D, H)) for N, _, D, H in _SHAPES]


def _backward_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(**case, dnext_h=rng.standard_normal(case["prev_h"].shape))
            for case in _step_cases(rng)]


def _sequence_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(x=rng.standard_normal((N, T, D)), h0=rng.standard_normal((N, H)),
                 **_weights(rng, D, H)) for N, T, D, H in _SHAPES]


def _count_cases(rng: np.random.Generator) -> list[dict]:
    return [dict(n=1, d=1, num_layers=1, bidirectional=False),
            dict(n=10, d=20, num_layers=2, bidirectional=True),
            dict(n=int(rng.integers(1, 300)), d=int(rng.integers(1, 300)), num_layers=1,
                 bidirectional=True),
            dict(n=int(rng.integers(1, 300)), d=int(rng.integers(1, 300)), num_layers=3,
                 bidirectional=False)]


# --------------------------------------------------------------------------- the spec

NOTEBOOK = Notebook(
    name="ch08_gru",
    exercises=(
        Exercise(
            grade_id="gru_step_forward",
            function="gru_step_forward",
            points=3,
            call="gru_step_forward(x, prev_h, Wx, Wh, bx, bh)",
            cases=_step_cases,
            outputs=("next_h",),
            description="one GRU step, PyTorch's form",
        ),
        Exercise(
            grade_id="gru_step_forward_cho",
            function="gru_step_forward_cho",
            points=2,
            call="gru_step_forward_cho(x, prev_h, Wx, Wh, bx, bh)",
            cases=_step_cases,
            outputs=("next_h",),
            description="one GRU step, Cho et al.'s form",
        ),
        Exercise(
            grade_id="gru_forward",
            function="gru_forward",
            points=2,
            call="gru_forward(x, h0, Wx, Wh, bx, bh)",
            cases=_sequence_cases,
            outputs=("h",),
            requires=("gru_step_forward",),
            description="the GRU over a sequence",
        ),
        Exercise(
            grade_id="count_gru_params",
            function="count_gru_params",
            points=1,
            call="count_gru_params(n, d, num_layers, bidirectional)",
            cases=_count_cases,
            outputs=("count",),
            rtol=0, atol=0,
            description="parameters of torch.nn.GRU",
        ),
        Exercise(
            grade_id="gru_step_backward",
            function="gru_step_backward",
            points=4,
            call="gru_step_backward(dnext_h, x, prev_h, Wx, Wh, bx, bh)",
            cases=_backward_cases,
            outputs=("dx", "dprev_h", "dWx", "dWh", "dbx", "dbh"),
            description="one GRU step backward (PyTorch's form)",
        ),
    ),
    reference=dict(
        gru_step_forward=gru_step_forward,
        gru_step_forward_cho=gru_step_forward_cho,
        gru_forward=gru_forward,
        count_gru_params=count_gru_params,
        gru_step_backward=gru_step_backward,
    ),
    helpers=HELPERS,
    seed=808,
)
