"""Grading spec of ``ch03_params.ipynb``: counting the parameters of recurrent networks.

The references are :mod:`rnncourse.params`, and for the LSTM with projections a count
written out here (``tests/test_solutions.py`` checks it against ``torch.nn.LSTM``).  The
case data may reach a reference as NumPy integers or arrays rather than Python ints and
lists, so the wrappers convert them first (``rnncourse.params`` insists on exact types).
"""

from __future__ import annotations

import numpy as np

from rnncourse.grading.spec import Exercise, Notebook
from rnncourse.params import GATES, count_parameters, output_layer_params, rnn_layer_params

__all__ = ["NOTEBOOK"]

# --------------------------------------------------------------------------- references


def count_rnn_params(n, hidden_sizes, k, bias=True):
    """Stacked basic RNN plus output layer, one bias vector per layer (textbook)."""
    sizes = [int(d) for d in np.atleast_1d(hidden_sizes)]
    return count_parameters("rnn", int(n), sizes, int(k), bias=bool(bias)).total


def count_gated_params(cell, n, d, bias=True):
    """One recurrent layer of ``cell`` ("rnn", "lstm", "gru"), textbook biases."""
    return rnn_layer_params(int(n), int(d), gates=GATES[str(cell)], bias=bool(bias))


def count_pytorch_params(cell, n, d, num_layers=1):
    """What ``sum(p.numel() for p in torch.nn.<CELL>(n, d, num_layers).parameters())`` gives."""
    return count_parameters(str(cell), int(n), int(d), num_layers=int(num_layers),
                            bias_convention="pytorch").total


def largest_hidden_size(cell, n, k, budget):
    """The largest ``d`` whose one-layer network (with output layer) fits in ``budget``."""
    gates, n, k, budget = GATES[str(cell)], int(n), int(k), int(budget)
    best = 0
    while rnn_layer_params(n, best + 1, gates=gates) + output_layer_params(best + 1, k) <= budget:
        best += 1
    return best


def count_lstm_proj_params(n, d, proj_size, num_layers=1, bidirectional=False):
    """What ``torch.nn.LSTM(n, d, num_layers, bidirectional=..., proj_size=...)`` holds: per
    layer and direction ``weight_ih (4d, n_l)``, ``weight_hh (4d, p)``, two biases ``(4d,)``
    and ``weight_hr (p, d)``; ``n_l = directions * p`` above the first layer."""
    n, d, p, layers = int(n), int(d), int(proj_size), int(num_layers)
    directions = 2 if bool(bidirectional) else 1
    inputs = [n] + [directions * p] * (layers - 1)
    return sum(directions * (4 * d * (n_l + p) + 8 * d + p * d) for n_l in inputs)


# --------------------------------------------------------------------------- hidden cases


def _rnn_cases(rng: np.random.Generator) -> list[dict]:
    cases = [dict(n=234, hidden_sizes=[1024, 512], k=15, bias=False),  # the lecture's network
             dict(n=1, hidden_sizes=[1], k=1, bias=True)]
    for layers, bias in ((1, True), (3, True), (2, False)):
        cases.append(dict(n=int(rng.integers(1, 300)),
                          hidden_sizes=[int(d) for d in rng.integers(1, 600, size=layers)],
                          k=int(rng.integers(1, 50)), bias=bias))
    return cases


def _gated_cases(rng: np.random.Generator) -> list[dict]:
    cases = [dict(cell="lstm", n=1, d=1, bias=True)]
    for cell, bias in (("rnn", True), ("lstm", False), ("gru", True), ("gru", False)):
        cases.append(dict(cell=cell, n=int(rng.integers(1, 500)), d=int(rng.integers(1, 700)),
                          bias=bias))
    return cases


def _pytorch_cases(rng: np.random.Generator) -> list[dict]:
    cases = [dict(cell="gru", n=1, d=1, num_layers=1)]
    for cell, layers in (("rnn", 1), ("lstm", 2), ("gru", 3), ("lstm", 1)):
        cases.append(dict(cell=cell, n=int(rng.integers(1, 300)), d=int(rng.integers(1, 400)),
                          num_layers=layers))
    return cases


def _budget_cases(rng: np.random.Generator) -> list[dict]:
    return [
        dict(cell="rnn", n=234, k=15, budget=1_000_000),
        dict(cell="lstm", n=234, k=15, budget=1_000_000),
        dict(cell="gru", n=int(rng.integers(1, 100)), k=int(rng.integers(1, 20)),
             budget=int(rng.integers(1_000, 50_000))),
        dict(cell="lstm", n=3, k=2, budget=40),  # exactly d = 1: 4 (3 + 1 + 1) + 2 + 2 = 24 <= 40
        dict(cell="rnn", n=10, k=10, budget=25),  # even d = 1 needs 10 + 1 + 1 + 10 + 10 = 32
    ]


def _proj_cases(rng: np.random.Generator) -> list[dict]:
    """A projection of one unit, stacked one-direction and bidirectional layers."""
    cases = [dict(n=1, d=2, proj_size=1, num_layers=1, bidirectional=False),
             dict(n=10, d=20, proj_size=5, num_layers=2, bidirectional=True)]
    for layers, bidirectional in ((3, False), (1, True), (2, False)):
        d = int(rng.integers(2, 400))
        cases.append(dict(n=int(rng.integers(1, 300)), d=d, proj_size=int(rng.integers(1, d)),
                          num_layers=layers, bidirectional=bidirectional))
    return cases


# --------------------------------------------------------------------------- the spec

NOTEBOOK = Notebook(
    name="ch03_params",
    exercises=(
        Exercise(
            grade_id="count_rnn_params",
            function="count_rnn_params",
            points=2,
            call="count_rnn_params(n, hidden_sizes, k, bias)",
            cases=_rnn_cases,
            outputs=("count",),
            rtol=0, atol=0,
            description="parameters of a stacked RNN classifier",
        ),
        Exercise(
            grade_id="count_gated_params",
            function="count_gated_params",
            points=2,
            call="count_gated_params(cell, n, d, bias)",
            cases=_gated_cases,
            outputs=("count",),
            rtol=0, atol=0,
            description="parameters of one RNN, LSTM or GRU layer",
        ),
        Exercise(
            grade_id="count_pytorch_params",
            function="count_pytorch_params",
            points=2,
            call="count_pytorch_params(cell, n, d, num_layers)",
            cases=_pytorch_cases,
            outputs=("count",),
            rtol=0, atol=0,
            description="parameters of torch.nn.RNN / LSTM / GRU (two bias vectors)",
        ),
        Exercise(
            grade_id="largest_hidden_size",
            function="largest_hidden_size",
            points=2,
            call="largest_hidden_size(cell, n, k, budget)",
            cases=_budget_cases,
            outputs=("d",),
            rtol=0, atol=0,
            description="the largest hidden size that fits a parameter budget",
        ),
        Exercise(
            grade_id="count_lstm_proj_params",
            function="count_lstm_proj_params",
            points=2,
            call="count_lstm_proj_params(n, d, proj_size, num_layers, bidirectional)",
            cases=_proj_cases,
            outputs=("count",),
            rtol=0, atol=0,
            description="parameters of torch.nn.LSTM with projections (proj_size)",
        ),
    ),
    reference=dict(
        count_rnn_params=count_rnn_params,
        count_gated_params=count_gated_params,
        count_pytorch_params=count_pytorch_params,
        largest_hidden_size=largest_hidden_size,
        count_lstm_proj_params=count_lstm_proj_params,
    ),
    helpers="import numpy as np\n",
    seed=303,
)
