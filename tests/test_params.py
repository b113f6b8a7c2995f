"""Parameter counts against the lecture's hand-derived numbers and torch.nn modules."""

from __future__ import annotations

import doctest
import itertools

import pytest
from conftest import torch_or_skip
from hypothesis import given
from hypothesis import strategies as st

import rnncourse.params
from rnncourse.params import count_parameters, output_layer_params, rnn_layer_params

torch = torch_or_skip()

TORCH_CLASSES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def numel(module) -> int:
    return sum(p.numel() for p in module.parameters())


# --------------------------------------------------------------------------- the lecture


def test_lecture_example_row_by_row():
    """234 inputs, hidden layers of 1024 and 512 units, 15 classes, no bias."""
    count = count_parameters("rnn", 234, [1024, 512], 15, bias=False)
    assert count.items() == [
        ("layer 1: U (input→hidden)", 239_616),     # 234 * 1024
        ("layer 1: W (hidden→hidden)", 1_048_576),  # 1024 * 1024
        ("layer 2: U (input→hidden)", 524_288),     # 1024 * 512
        ("layer 2: W (hidden→hidden)", 262_144),    # 512 * 512
        ("output: V (hidden→output)", 7_680),       # 512 * 15
    ]
    assert count.total == 2_082_304
    assert [r.formula for r in count.rows] == [
        "234·1024", "1024·1024", "1024·512", "512·512", "512·15",
    ]


def test_lecture_example_table():
    text = str(count_parameters("rnn", 234, [1024, 512], 15, bias=False))
    lines = text.splitlines()
    assert lines[0].startswith("Parameters of a 2-layer RNN")
    assert "no bias" in lines[0]
    assert lines[-1].split() == ["total", "2,082,304"]
    assert "1,048,576" in lines[2] and "W (hidden→hidden)" in lines[2]
    # The numbers are right-aligned: every body line ends in the same column.
    assert len({len(line) for line in lines[1:]}) == 1


def test_lecture_example_with_textbook_biases():
    count = count_parameters("rnn", 234, [1024, 512], 15)
    biases = [(name, n) for name, n in count.items() if ": b" in name or ": c" in name]
    assert biases == [
        ("layer 1: b (bias)", 1024),
        ("layer 2: b (bias)", 512),
        ("output: c (output bias)", 15),
    ]
    assert count.total == 2_082_304 + 1024 + 512 + 15 == 2_083_855


def test_notebook_reprs():
    count = count_parameters("rnn", 234, [1024, 512], 15, bias=False)
    md = count._repr_markdown_()
    assert "| layer 1: U (input→hidden) | 234·1024 | 239,616 |" in md
    assert "**2,082,304**" in md
    page = count._repr_html_()
    assert page.startswith("<table>") and page.endswith("</table>")
    assert "2,082,304" in page and page.count("<tr>") == 1 + 5 + 1


def test_doctests_in_the_module():
    result = doctest.testmod(rnncourse.params)
    assert result.attempted >= 3 and result.failed == 0


def test_layer_helpers_hand_derived():
    assert rnn_layer_params(234, 1024, bias=False) == 234 * 1024 + 1024 * 1024
    assert rnn_layer_params(3, 2) == 3 * 2 + 2 * 2 + 2 == 12
    assert rnn_layer_params(3, 2, gates=4) == 48
    assert rnn_layer_params(3, 2, gates=4, bias_convention="pytorch") == 4 * 10 + 2 * 8 == 56
    assert rnn_layer_params(3, 2, gates=4, peephole=True) == 48 + 6
    assert output_layer_params(512, 15, bias=False) == 7680
    assert output_layer_params(512, 15) == 7695


# --------------------------------------------------------------------------- torch.nn


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_pytorch_convention_equals_torch_modules(cell):
    cls = getattr(torch.nn, TORCH_CLASSES[cell])
    grid = itertools.product([1, 7], [1, 5], [1, 2, 3], [True, False], [True, False])
    for n, d, layers, bias, bidirectional in grid:
        m = cls(n, d, num_layers=layers, bias=bias, bidirectional=bidirectional)
        count = count_parameters(cell, n, d, num_layers=layers, bias=bias,
                                 bias_convention="pytorch", bidirectional=bidirectional)
        assert count.total == numel(m), (n, d, layers, bias, bidirectional)
        # ... and with an output layer reading both directions' states.
        dirs = 2 if bidirectional else 1
        head = torch.nn.Linear(d * dirs, 4, bias=bias)
        count = count_parameters(cell, n, d, 4, num_layers=layers, bias=bias,
                                 bias_convention="pytorch", bidirectional=bidirectional)
        assert count.total == numel(m) + numel(head)


@given(
    cell=st.sampled_from(["rnn", "lstm", "gru"]),
    n=st.integers(1, 9),
    sizes=st.lists(st.integers(1, 9), min_size=1, max_size=3),
    k=st.one_of(st.none(), st.integers(1, 5)),
    bias=st.booleans(),
    bidirectional=st.booleans(),
)
def test_property_per_layer_sizes_equal_a_stack_of_torch_modules(
    cell, n, sizes, k, bias, bidirectional,
):
    """Different hidden sizes per layer: a stack of one-layer torch modules."""
    cls = getattr(torch.nn, TORCH_CLASSES[cell])
    dirs = 2 if bidirectional else 1
    total, layer_in = 0, n
    for d in sizes:
        total += numel(cls(layer_in, d, bias=bias, bidirectional=bidirectional))
        layer_in = dirs * d
    if k is not None:
        total += numel(torch.nn.Linear(layer_in, k, bias=bias))
    count = count_parameters(cell, n, sizes, k, bias=bias, bias_convention="pytorch",
                             bidirectional=bidirectional)
    assert count.total == total


# --------------------------------------------------------------------------- gated cells


@given(
    n=st.integers(1, 300),
    sizes=st.lists(st.integers(1, 300), min_size=1, max_size=4),
    bias=st.booleans(),
    convention=st.sampled_from(["textbook", "pytorch"]),
    bidirectional=st.booleans(),
)
def test_property_gated_cells_are_multiples_of_the_basic_cell(
    n, sizes, bias, convention, bidirectional,
):
    kw = dict(bias=bias, bias_convention=convention, bidirectional=bidirectional)
    rnn = count_parameters("rnn", n, sizes, **kw).total
    assert count_parameters("lstm", n, sizes, **kw).total == 4 * rnn
    assert count_parameters("gru", n, sizes, **kw).total == 3 * rnn
    dirs = 2 if bidirectional else 1
    peep = count_parameters("peephole", n, sizes, **kw).total
    assert peep == 4 * rnn + dirs * sum(3 * d for d in sizes)


def test_peephole_rows():
    count = count_parameters("peephole", 2, 3)
    assert count.items()[-1] == ("layer 1: p (peepholes, diagonal)", 9)
    # 4 (2·3 + 3·3) weights + 4·3 biases + 3·3 peepholes
    assert count.total == 60 + 12 + 9


def test_int_hidden_size_with_num_layers_equals_the_list():
    a = count_parameters("lstm", 10, 20, 3, num_layers=3, bidirectional=True)
    b = count_parameters("lstm", 10, [20, 20, 20], 3, num_layers=3, bidirectional=True)
    assert a.total == b.total and a.items() == b.items()
    # Bidirectional: layer 2 reads 2·20 features, the output layer too.
    assert ("layer 2 (reverse): U (input→hidden)", 4 * 40 * 20) in a.items()
    assert ("output: V (hidden→output)", 40 * 3) in a.items()


def test_cell_name_is_case_insensitive():
    assert count_parameters("LSTM", 3, 4).total == count_parameters("lstm", 3, 4).total


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(cell="transformer"), ValueError,
         r"cell must be one of 'rnn', 'lstm', 'gru', 'peephole', got 'transformer'"),
        (dict(input_size=0), ValueError, r"input_size must be a positive integer, got 0"),
        (dict(input_size=2.5), TypeError, r"input_size must be a positive integer, got 2.5"),
        (dict(input_size=True), TypeError, r"input_size must be a positive integer, got True"),
        (dict(hidden_sizes=[4, -1]), ValueError,
         r"hidden_sizes\[1\] must be a positive integer, got -1"),
        (dict(hidden_sizes=[]), ValueError, r"at least one layer"),
        (dict(hidden_sizes=4, num_layers=0), ValueError, r"num_layers must be a positive"),
        (dict(hidden_sizes=[4, 5], num_layers=3), ValueError,
         r"num_layers = 3 does not match the 2 hidden sizes \[4, 5\]"),
        (dict(output_size=0), ValueError, r"output_size must be a positive integer, got 0"),
        (dict(bias_convention="keras"), ValueError,
         r"bias_convention must be 'textbook' .* or 'pytorch' .*got 'keras'"),
        (dict(bias="yes"), TypeError, r"bias must be True or False, got 'yes'"),
        (dict(bidirectional=1), TypeError, r"bidirectional must be True or False, got 1"),
    ],
)
def test_bad_input_messages(kwargs, error, message):
    args = dict(cell="rnn", input_size=3, hidden_sizes=4) | kwargs
    with pytest.raises(error, match=message):
        count_parameters(**args)


def test_bad_layer_helper_input():
    with pytest.raises(ValueError, match=r"d must be a positive integer, got 0"):
        rnn_layer_params(3, 0)
    with pytest.raises(ValueError, match=r"bias_convention must be"):
        rnn_layer_params(3, 2, bias_convention="both")
    with pytest.raises(TypeError, match=r"k must be a positive integer, got '15'"):
        output_layer_params(512, "15")
