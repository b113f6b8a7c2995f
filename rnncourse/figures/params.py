"""Tables, figures and the calculator widget of chapter 3 (counting parameters).

Every number here comes from :mod:`rnncourse.params`; this module only lays the
numbers out: as a :class:`Table` (plain text for the terminal and for nbval, an
HTML or Markdown table in notebooks and on the website), as matplotlib figures, and as
a calculator (``ipywidgets`` in Jupyter, a plain form that the website makes live).

Sizes use the chapter's letters: input ``n``, hidden ``d``, output ``k``.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from rnncourse.params import GATES, ParamCount, count_parameters, counts_vs_hidden

__all__ = [
    "CELL_LABELS", "CALCULATOR_BIAS_OPTIONS", "Table", "as_table", "parse_hidden_sizes",
    "calculator_count", "calculator_html", "param_calculator", "plot_params_vs_hidden",
    "plot_breakdown",
]

#: Display names of the cell types understood by :func:`rnncourse.params.count_parameters`.
CELL_LABELS = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM", "peephole": "peephole LSTM"}

#: The calculator's bias choices: no bias, one vector per gate block, or PyTorch's two.
CALCULATOR_BIAS_OPTIONS = {
    "none": "no bias",
    "textbook": "textbook: one b per gate block",
    "pytorch": "PyTorch: bias_ih + bias_hh",
}

_calculators = itertools.count()  # ids of the calculators' HTML forms

_COLORS = {"rnn": "#1f77b4", "gru": "#2ca02c", "lstm": "#d62728", "peephole": "#9467bd"}


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Table:
    """A small table that prints as aligned text and renders as HTML or Markdown.

    ``repr()`` is the text form, so a notebook stores the numbers as plain text
    (which nbval compares); Jupyter and the website show :meth:`_repr_html_`.

    Args:
        columns: the header, one string per column.
        rows: the body; every row has ``len(columns)`` cells (any printable values).
        title: an optional caption printed above the table.
        align: one of ``"l"``/``"r"`` per column; default: left for the first
            column, right for the others.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    title: str = ""
    align: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "rows", tuple(tuple(r) for r in self.rows))
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"row {i} has {len(row)} cells, expected {len(self.columns)} "
                    f"(one per column of {list(self.columns)})"
                )
        align = self.align or "l" + "r" * (len(self.columns) - 1)
        if len(align) != len(self.columns) or set(align) - {"l", "r"}:
            raise ValueError(f"align must be one 'l' or 'r' per column, got {self.align!r}")
        object.__setattr__(self, "align", align)

    @staticmethod
    def _cell(value: Any) -> str:
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return f"{int(value):,}"
        return str(value)

    def text(self) -> str:
        """Aligned plain text: title, header, a rule, the rows."""
        body = [list(self.columns)] + [[self._cell(v) for v in r] for r in self.rows]
        widths = [max(len(r[j]) for r in body) for j in range(len(self.columns))]

        def line(cells: list[str]) -> str:
            parts = [c.ljust(w) if a == "l" else c.rjust(w)
                     for c, w, a in zip(cells, widths, self.align, strict=True)]
            return "  ".join(parts).rstrip()

        out = [self.title] if self.title else []
        out += [line(body[0]), "  ".join("-" * w for w in widths)]
        out += [line(r) for r in body[1:]]
        return "\n".join(out)

    def __repr__(self) -> str:
        return self.text()

    def _repr_markdown_(self) -> str:
        def esc(s: str) -> str:
            return s.replace("|", "\\|")

        rule = "|" + "|".join(":--" if a == "l" else "--:" for a in self.align) + "|"
        out = [f"**{esc(self.title)}**", ""] if self.title else []
        out += ["| " + " | ".join(esc(c) for c in self.columns) + " |", rule]
        out += ["| " + " | ".join(esc(self._cell(v)) for v in r) + " |" for r in self.rows]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        # The website renders this one (its Markdown renderer has no tables).
        e = html.escape

        def cells(tag: str, values: Sequence[str]) -> str:
            return "".join(f"<{tag} style='text-align:{'left' if a == 'l' else 'right'}'>"
                           f"{e(v)}</{tag}>" for v, a in zip(values, self.align, strict=True))

        caption = f"<caption><b>{e(self.title)}</b></caption>" if self.title else ""
        head = f"<thead><tr>{cells('th', self.columns)}</tr></thead>"
        body = "".join(f"<tr>{cells('td', [self._cell(v) for v in r])}</tr>"
                       for r in self.rows)
        return f"<table>{caption}{head}<tbody>{body}</tbody></table>"


def as_table(count: ParamCount) -> Table:
    """A :class:`~rnncourse.params.ParamCount` as a :class:`Table` with a total row."""
    rows = [(r.name, r.formula, r.count) for r in count.rows]
    rows.append(("total", "", count.total))
    return Table(("weights", "formula", "parameters"), rows, title=count.title, align="llr")


# --------------------------------------------------------------------------- the calculator


def parse_hidden_sizes(text: str) -> list[int]:
    """Hidden sizes typed as ``"1024, 512"`` (commas and/or spaces) -> ``[1024, 512]``.

    Raises:
        ValueError: with a message saying what was expected, for an empty text
            or anything that is not a positive integer.
    """
    parts = text.replace(",", " ").split()
    if not parts:
        raise ValueError("type at least one hidden size, e.g. '1024, 512'")
    sizes = []
    for p in parts:
        if not p.isdigit() or int(p) == 0:
            raise ValueError(f"hidden sizes must be positive integers, got {p!r} in {text!r}")
        sizes.append(int(p))
    return sizes


def calculator_count(
    cell: str, input_size: int, hidden_sizes: str | Sequence[int], output_size: int,
    bias: str = "textbook", bidirectional: bool = False,
) -> ParamCount:
    """What the calculator shows: :func:`count_parameters` with the widget's inputs.

    Args:
        cell: ``"rnn"``, ``"lstm"``, ``"gru"`` or ``"peephole"``.
        input_size: ``n``.
        hidden_sizes: ``d`` of every layer, bottom first, as a list or as text
            (``"1024, 512"``).
        output_size: ``k``; ``0`` for no output layer (like ``torch.nn.RNN``).
        bias: ``"none"``, ``"textbook"`` or ``"pytorch"``
            (see :data:`CALCULATOR_BIAS_OPTIONS`).
        bidirectional: every recurrent layer twice.
    """
    if bias not in CALCULATOR_BIAS_OPTIONS:
        raise ValueError(f"bias must be one of {list(CALCULATOR_BIAS_OPTIONS)}, got {bias!r}")
    sizes = parse_hidden_sizes(hidden_sizes) if isinstance(hidden_sizes, str) \
        else list(hidden_sizes)
    return count_parameters(
        cell, input_size, sizes, output_size if output_size else None,
        bias=bias != "none", bias_convention="textbook" if bias == "none" else bias,
        bidirectional=bidirectional,
    )


def calculator_html(cell: str = "rnn", input_size: int = 234,
                    hidden_sizes: str = "1024, 512", output_size: int = 15,
                    bias: str = "none", bidirectional: bool = False) -> str:
    """The calculator as a plain HTML form, with the table for these inputs below it.

    The website shows this form instead of the ipywidgets one (whose script weighs
    4.4 MB): ``_static/rnncourse.js`` recomputes the table in the browser whenever an
    input changes, with the rules of :func:`rnncourse.params.count_parameters`
    (tests/test_site.py checks its totals against ``torch.nn``).
    """
    e = html.escape
    uid = f"rnncourse-calculator-{next(_calculators)}"
    fields = iter(range(6))

    def field(label: str, control: str) -> str:
        fid = f"{uid}-{next(fields)}"
        return (f'<div class="rnncourse-field"><label for="{fid}">{e(label)}</label>'
                + control.replace("<select", f'<select id="{fid}"', 1)
                .replace("<input", f'<input id="{fid}"', 1) + "</div>")

    def select(options: dict[str, str], chosen: str) -> str:
        return "<select>" + "".join(
            f'<option value="{e(v)}"{" selected" if k == chosen else ""}>{e(v)}</option>'
            for k, v in options.items()) + "</select>"

    def number(value: int, low: int) -> str:
        return f'<input type="number" min="{low}" max="1000000" step="1" value="{value}">'

    try:
        shown = as_table(calculator_count(cell, input_size, hidden_sizes, output_size, bias,
                                          bidirectional))._repr_html_()
    except (TypeError, ValueError) as err:
        shown = f"<pre>cannot count: {e(str(err))}</pre>"
    checked = " checked" if bidirectional else ""
    return (
        f'<div class="rnncourse-calculator" id="{uid}">'
        '<p class="rnncourse-static-note rnncourse-live-note" role="note">Live in your '
        "browser, no kernel needed: change any input and the table is recomputed.</p>"
        + field("cell", select(CELL_LABELS, cell))
        + field("input size n", number(input_size, 1))
        + field("hidden sizes d (bottom first)",
                f'<input type="text" value="{e(hidden_sizes)}">')
        + field("output size k (0: none)", number(output_size, 0))
        + field("biases", select(CALCULATOR_BIAS_OPTIONS, bias))
        + field("bidirectional", f'<input type="checkbox"{checked}>')
        + f'<div class="rnncourse-calculator-output">{shown}</div></div>'
    )


def param_calculator(
    cell: str = "rnn", input_size: int = 234, hidden_sizes: str = "1024, 512",
    output_size: int = 15, bias: str = "none", bidirectional: bool = False,
) -> Any:
    """An ``ipywidgets.interactive`` parameter calculator; display it in a notebook.

    Controls: cell type, input size, hidden sizes (text, bottom layer first),
    output size (0: none), bias convention and bidirectional; the output is
    the breakdown table of :func:`calculator_count` (or the error message for
    an invalid entry). The defaults are the lecture's example.

    Displayed, it also offers :func:`calculator_html` (``text/html``), which the website
    shows instead: it works there without a kernel and without the ipywidgets script.
    """
    import ipywidgets as widgets
    from IPython.display import display

    style = {"description_width": "initial"}
    controls = dict(
        cell=widgets.Dropdown(options=[(v, k) for k, v in CELL_LABELS.items()], value=cell,
                              description="cell", style=style),
        input_size=widgets.BoundedIntText(value=input_size, min=1, max=10**6,
                                          description="input size n", style=style),
        hidden_sizes=widgets.Text(value=hidden_sizes, continuous_update=False,
                                  description="hidden sizes d (bottom first)", style=style),
        output_size=widgets.BoundedIntText(value=output_size, min=0, max=10**6,
                                           description="output size k (0: none)", style=style),
        bias=widgets.Dropdown(options=[(v, k) for k, v in CALCULATOR_BIAS_OPTIONS.items()],
                              value=bias, description="biases", style=style),
        bidirectional=widgets.Checkbox(value=bidirectional, description="bidirectional"),
    )

    def show(**kwargs: Any) -> None:
        try:
            display(as_table(calculator_count(**kwargs)))
        except (TypeError, ValueError) as err:
            print(f"cannot count: {err}")

    class _Calculator(widgets.interactive):
        def _repr_mimebundle_(self, **kwargs: Any) -> dict:
            bundle = super()._repr_mimebundle_(**kwargs) or {}
            bundle["text/html"] = calculator_html(**self.kwargs)
            return bundle

    return _Calculator(show, **controls)


# --------------------------------------------------------------------------- figures


def plot_params_vs_hidden(
    input_size: int = 234, output_size: int | None = 15, max_hidden: int = 1024,
    cells: Sequence[str] = ("rnn", "gru", "lstm"),
) -> Figure:
    """Parameters against hidden size ``d``: linear axes (top), log-log (bottom).

    On the log-log axes a curve of slope 2 is quadratic growth; a dashed
    ``d^2`` line of that slope is drawn for reference. White background, so the
    figure reads the same in light and dark themes. The figure is made with
    ``pyplot``, so ``plt.show()`` displays it in a notebook.

    Returns:
        A figure with 2 axes, one line per cell on each (plus the reference line
        on the bottom).
    """
    d = np.unique(np.geomspace(1, max_hidden, 60).round().astype(int))
    counts = counts_vs_hidden(d, input_size, output_size, cells)
    fig = plt.figure(figsize=(6.2, 6.6), facecolor="white")  # stacked: readable on a phone
    lin, log = fig.subplots(2, 1)
    for ax in (lin, log):
        ax.set_facecolor("white")
        for cell in cells:
            ax.plot(d, counts[cell], color=_COLORS.get(cell), lw=2,
                    label=f"{CELL_LABELS[cell]} ({GATES[cell]} block{'s' * (GATES[cell] > 1)})")
        ax.set_xlabel("hidden size d")
        ax.grid(True, alpha=0.3)
    lin.set_ylabel("parameters")
    lin.ticklabel_format(axis="y", style="sci", scilimits=(6, 6))
    lin.set_title("linear axes: a parabola")
    lin.legend(loc="upper left")
    log.set_xscale("log")
    log.set_yscale("log")
    log.plot(d, d.astype(float) ** 2, "k--", lw=1, label="$d^2$ (slope 2)")
    log.set_title("log-log axes: slope 1, then 2")
    log.legend(loc="upper left")
    out = "no output layer" if output_size is None else f"k = {output_size}"
    fig.suptitle(f"One recurrent layer, n = {input_size}, {out},\ntextbook biases")
    fig.tight_layout()
    return fig


def plot_breakdown(count: ParamCount) -> Figure:
    """A horizontal bar per row of ``count``, labelled with its number and share.

    Returns:
        A figure with 1 axes holding ``len(count.rows)`` bars.
    """
    names = [r.name for r in count.rows]
    values = np.array([r.count for r in count.rows], dtype=float)
    fig = plt.figure(figsize=(5.8, 0.45 * len(names) + 1.2), facecolor="white")
    ax = fig.subplots()
    ax.set_facecolor("white")
    y = np.arange(len(names))[::-1]
    colors = ["#d62728" if "W (" in n else "#1f77b4" if "U (" in n else "#7f7f7f"
              for n in names]
    ax.barh(y, values, color=colors)
    for yi, v in zip(y, values, strict=True):
        ax.text(v + values.max() * 0.01, yi, f"{int(v):,}  ({v / values.sum():.1%})",
                va="center", fontsize=9)
    ax.set_yticks(y, names)
    ax.set_xlim(0, values.max() * 1.35)
    ax.set_xlabel("parameters")
    ax.set_title(f"{count.title}\ntotal {count.total:,}", fontsize=10)
    fig.tight_layout()
    return fig
