"""Chapter 3's tables, figures and calculator (rnncourse.figures.params).

References are hand-derived numbers and ``torch.nn`` modules, not the package.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import torch_or_skip  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from rnncourse.figures.params import (  # noqa: E402
    CALCULATOR_BIAS_OPTIONS,
    Table,
    as_table,
    calculator_count,
    parse_hidden_sizes,
    plot_breakdown,
    plot_params_vs_hidden,
)
from rnncourse.params import (
    count_parameters,  # noqa: E402
    counts_vs_hidden,
)

LECTURE_BY_HAND = [234 * 1024, 1024 * 1024, 1024 * 512, 512 * 512, 512 * 15]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------- Table


def test_table_text_is_aligned_and_thousands_separated():
    t = Table(("name", "count"), [("a", 1234567), ("bb", 5)], title="T")
    lines = repr(t).splitlines()
    assert lines[0] == "T"
    assert lines[1].split() == ["name", "count"]
    assert lines[3].split() == ["a", "1,234,567"]
    assert lines[4].split() == ["bb", "5"]
    assert len(lines[3]) == len(lines[4])          # right-aligned numbers end together


def test_table_markdown_has_header_rule_and_escapes_pipes():
    md = Table(("x|y", "n"), [("a|b", 1000)])._repr_markdown_().splitlines()
    assert md == ["| x\\|y | n |", "|:--|--:|", "| a\\|b | 1,000 |"]


def test_table_rejects_ragged_rows_and_bad_alignment():
    with pytest.raises(ValueError, match="row 0 has 1 cells, expected 2"):
        Table(("a", "b"), [("only one",)])
    with pytest.raises(ValueError, match="align"):
        Table(("a", "b"), [], align="lx")


def test_as_table_of_the_lecture_example():
    t = as_table(count_parameters("rnn", 234, [1024, 512], 15, bias=False))
    counts = [row[2] for row in t.rows]
    assert counts == [*LECTURE_BY_HAND, 2_082_304]
    assert t.rows[-1][0] == "total"
    assert repr(t).splitlines()[-1].split() == ["total", "2,082,304"]
    assert "| total |  | 2,082,304 |" in t._repr_markdown_()


# --------------------------------------------------------------------------- calculator


@pytest.mark.parametrize("text, sizes", [
    ("1024, 512", [1024, 512]), ("7", [7]), (" 3 4,5 ", [3, 4, 5]), ("8,,9", [8, 9]),
])
def test_parse_hidden_sizes(text, sizes):
    assert parse_hidden_sizes(text) == sizes


@pytest.mark.parametrize("text", ["", "  ", "0", "-3", "2.5", "abc", "4, x"])
def test_parse_hidden_sizes_rejects(text):
    with pytest.raises(ValueError):
        parse_hidden_sizes(text)


def test_calculator_count_by_hand():
    # The lecture's network, each bias option: none, +1551 (textbook), +1024+512+1024+512+15.
    totals = [calculator_count("rnn", 234, "1024, 512", 15, bias=b).total
              for b in CALCULATOR_BIAS_OPTIONS]
    assert totals == [2_082_304, 2_082_304 + 1551, 2_082_304 + 2 * 1536 + 15]
    # Output size 0: no output layer. One LSTM layer n=10, d=20: 4 (200 + 400 + 20).
    assert calculator_count("lstm", 10, [20], 0).total == 2480
    # Bidirectional GRU, 2 layers of 4 on 3 inputs, PyTorch biases:
    # layer 1: 2 * 3 (12 + 16 + 8) = 216, layer 2 reads 8: 2 * 3 (32 + 16 + 8) = 336.
    assert calculator_count("gru", 3, "4 4", 0, bias="pytorch", bidirectional=True).total == 552
    with pytest.raises(ValueError, match="bias must be one of"):
        calculator_count("rnn", 3, "4", 0, bias="both")


def test_calculator_matches_torch():
    torch = torch_or_skip()
    torch.manual_seed(0)
    for cls, cell in ((torch.nn.RNN, "rnn"), (torch.nn.LSTM, "lstm"), (torch.nn.GRU, "gru")):
        m = cls(7, 5, num_layers=3, bidirectional=True)
        expected = sum(p.numel() for p in m.parameters())
        assert calculator_count(cell, 7, "5 5 5", 0, "pytorch", True).total == expected


def test_param_calculator_builds_and_updates():
    pytest.importorskip("ipywidgets")
    from rnncourse.figures.params import param_calculator

    w = param_calculator()
    names = [c.description for c in w.children[:-1]]
    assert len(names) == 6 and names[0] == "cell" and names[-1] == "bidirectional"
    assert w.kwargs == dict(cell="rnn", input_size=234, hidden_sizes="1024, 512",
                            output_size=15, bias="none", bidirectional=False)
    w.children[0].value = "lstm"                       # the controls drive the function
    assert w.kwargs["cell"] == "lstm"
    # displayed, it also offers the plain form that the website shows, for its inputs
    bundle = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    form = bundle["text/html"]
    assert '<option value="LSTM" selected>LSTM</option>' in form
    assert form.count('class="rnncourse-field"') == 6 and "<script" not in form
    # the table below the form: 2-layer LSTM, 234 -> [1024, 512] -> 15, no bias, by hand
    total = 4 * (234 * 1024 + 1024 * 1024) + 4 * (1024 * 512 + 512 * 512) + 512 * 15
    assert f"{total:,}" in form


def test_calculator_html_says_what_is_wrong():
    from rnncourse.figures.params import calculator_html

    form = calculator_html(hidden_sizes="4, x")
    assert "cannot count: hidden sizes must be positive integers" in form


# --------------------------------------------------------------------------- figures


def test_counts_vs_hidden_by_hand():
    counts = counts_vs_hidden([1, 2, 10], input_size=3, output_size=2)
    # g (n d + d d + d) + d k + k with n = 3, k = 2.
    def p(g, d):
        return g * (3 * d + d * d + d) + 2 * d + 2
    for cell, g in (("rnn", 1), ("gru", 3), ("lstm", 4)):
        np.testing.assert_array_equal(counts[cell], [p(g, 1), p(g, 2), p(g, 10)])
        assert counts[cell].dtype == np.int64


def test_plot_params_vs_hidden_smoke():
    fig = plot_params_vs_hidden(input_size=20, output_size=5, max_hidden=64)
    assert isinstance(fig, Figure)
    lin, log = fig.axes
    assert len(fig.axes) == 2
    assert len(lin.get_lines()) == 3 and len(log.get_lines()) == 4   # + the d^2 reference
    assert log.get_xscale() == "log" and log.get_yscale() == "log"
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)
    # The plotted data are the counts themselves.
    x, y = lin.get_lines()[2].get_data()
    assert y[-1] == count_parameters("lstm", 20, int(x[-1]), 5).total


def test_plot_breakdown_smoke():
    count = count_parameters("rnn", 234, [1024, 512], 15, bias=False)
    fig = plot_breakdown(count)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert sorted(p.get_width() for p in ax.patches) == sorted(LECTURE_BY_HAND)
    assert len(ax.texts) == len(LECTURE_BY_HAND)
    assert "2,082,304" in ax.get_title()


def test_table_html_escapes_and_aligns():
    out = Table(("a<b", "n"), [("x&y", 12345)], title="T")._repr_html_()
    assert out.startswith("<table><caption><b>T</b></caption>")
    assert "<th style='text-align:left'>a&lt;b</th>" in out
    assert "<td style='text-align:left'>x&amp;y</td><td style='text-align:right'>12,345</td>" in out
