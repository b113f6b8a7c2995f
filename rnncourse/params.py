"""Counting the parameters of a recurrent network (chapter 3).

The book's notation: input ``x in R^n``, hidden state ``s in R^d``, output
``y in R^k``, and three weight matrices::

    U in R^{n x d}    input  -> hidden
    W in R^{d x d}    hidden -> hidden
    V in R^{d x k}    hidden -> output

so one basic recurrent layer has ``n d + d d`` weights (``+ d`` bias) and the
output layer ``d k`` (``+ k``).  The gated cells repeat the same pair of
matrices once per gate block: the LSTM has 4 blocks (input, forget, cell,
output gates), the GRU 3 (reset, update, new), so they have 4x and 3x the
weights of a basic layer with the same sizes.  A peephole LSTM adds three
diagonal peephole vectors (``3 d``).  In a stack, layer ``l > 0`` reads the
hidden state of layer ``l - 1`` (both directions' states, concatenated, when
the network is bidirectional), and a bidirectional network has every
recurrent layer twice.

Biases come in two conventions:

* ``"textbook"``: one bias vector per gate block, ``g d`` per layer;
* ``"pytorch"``: ``torch.nn.RNN/LSTM/GRU`` keep two, ``bias_ih`` and
  ``bias_hh``, ``2 g d`` per layer -- the sum is all that matters for RNN and
  LSTM, so this convention has ``g d`` redundant numbers per layer.

The lecture's example, a classifier with 234 inputs, two layers of 1024 and
512 units and 15 classes, no biases::

    >>> print(count_parameters("rnn", 234, [1024, 512], 15, bias=False))
    Parameters of a 2-layer RNN (input 234, hidden [1024, 512], output 15, no bias)
      layer 1: U (input→hidden)    234·1024      239,616
      layer 1: W (hidden→hidden)   1024·1024   1,048,576
      layer 2: U (input→hidden)    1024·512      524,288
      layer 2: W (hidden→hidden)   512·512       262,144
      output: V (hidden→output)    512·15          7,680
      total                                    2,082,304

(The original lecture notes named these five matrices U1, V1, U2, V2 and W,
swapping the letters relative to their own definitions of U, W and V; the
rows here use the definitions consistently: U input->hidden, W
hidden->hidden, V hidden->output.)
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "GATES",
    "BIAS_CONVENTIONS",
    "Row",
    "ParamCount",
    "count_parameters",
    "rnn_layer_params",
    "output_layer_params",
]

#: Number of gate blocks (copies of U and W) per cell type.
GATES = {"rnn": 1, "lstm": 4, "gru": 3, "peephole": 4}

#: Biases per gate block and layer: one vector in the textbook, two in PyTorch.
BIAS_CONVENTIONS = {"textbook": 1, "pytorch": 2}

_NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU", "peephole": "peephole LSTM"}


# --------------------------------------------------------------------------- validation


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def _check_cell(cell: Any) -> str:
    key = cell.lower() if isinstance(cell, str) else cell
    if key not in GATES:
        raise ValueError(f"cell must be one of {', '.join(map(repr, GATES))}, got {cell!r}")
    return key


def _check_bias(bias: Any, bias_convention: Any) -> None:
    if not isinstance(bias, bool):
        raise TypeError(f"bias must be True or False, got {bias!r}")
    if bias_convention not in BIAS_CONVENTIONS:
        raise ValueError(
            "bias_convention must be 'textbook' (one bias vector per gate block) or "
            f"'pytorch' (two: bias_ih and bias_hh), got {bias_convention!r}"
        )


# --------------------------------------------------------------------------- per layer


def rnn_layer_params(
    n: int, d: int, gates: int = 1, bias: bool = True, bias_convention: str = "textbook",
    peephole: bool = False,
) -> int:
    """Parameters of one recurrent layer in one direction.

    ``gates (n d + d d)`` weights, plus ``gates d`` biases (textbook) or
    ``2 gates d`` (PyTorch), plus ``3 d`` peephole weights for a peephole LSTM.

    Args:
        n: input size of the layer (for a stacked layer, the hidden size below
            it, times 2 if bidirectional).
        d: hidden size.
        gates: 1 for the basic RNN, 4 for the LSTM, 3 for the GRU.
        bias, bias_convention: see :func:`count_parameters`.
        peephole: add the three diagonal peephole vectors of a peephole LSTM.

    >>> rnn_layer_params(234, 1024, bias=False)     # 234·1024 + 1024·1024
    1288192
    """
    n, d, gates = (_positive_int(k, v) for k, v in (("n", n), ("d", d), ("gates", gates)))
    _check_bias(bias, bias_convention)
    count = gates * (n * d + d * d)
    if bias:
        count += BIAS_CONVENTIONS[bias_convention] * gates * d
    if peephole:
        count += 3 * d
    return count


def output_layer_params(d: int, k: int, bias: bool = True) -> int:
    """Parameters of the output layer ``y = s V (+ c)``: ``d k`` (``+ k``).

    >>> output_layer_params(512, 15, bias=False)
    7680
    """
    d, k = _positive_int("d", d), _positive_int("k", k)
    _check_bias(bias, "textbook")
    return d * k + (k if bias else 0)


# --------------------------------------------------------------------------- the result


class Row(NamedTuple):
    """One line of the breakdown: what, how many, and the product that gives it."""

    name: str
    count: int
    formula: str


@dataclass(frozen=True)
class ParamCount:
    """An ordered breakdown of a network's parameters; ``total`` is their sum.

    ``str()`` (or :meth:`table`) gives an aligned text table, and notebooks show
    it as a Markdown/HTML table.
    """

    title: str
    rows: tuple[Row, ...]

    @property
    def total(self) -> int:
        return sum(r.count for r in self.rows)

    def items(self) -> list[tuple[str, int]]:
        """The breakdown as ``(name, count)`` pairs, in order."""
        return [(r.name, r.count) for r in self.rows]

    def table(self) -> str:
        """Aligned text table, thousands separated, with a total line."""
        lines = [(r.name, r.formula, f"{r.count:,}") for r in self.rows]
        lines.append(("total", "", f"{self.total:,}"))
        w0 = max(len(a) for a, _, _ in lines)
        w1 = max(len(b) for _, b, _ in lines)
        w2 = max(len(c) for _, _, c in lines)
        body = [f"  {a:<{w0}}   {b:<{w1}}   {c:>{w2}}".rstrip() for a, b, c in lines]
        return "\n".join([self.title, *body])

    def __str__(self) -> str:
        return self.table()

    def _repr_markdown_(self) -> str:
        out = [f"**{self.title}**", "", "| | formula | parameters |", "|:--|:--|--:|"]
        out += [f"| {r.name} | {r.formula} | {r.count:,} |" for r in self.rows]
        out.append(f"| **total** | | **{self.total:,}** |")
        return "\n".join(out)

    def _repr_html_(self) -> str:
        e = html.escape
        rows = "".join(
            f"<tr><td style='text-align:left'>{e(r.name)}</td>"
            f"<td style='text-align:left'>{e(r.formula)}</td>"
            f"<td style='text-align:right'>{r.count:,}</td></tr>"
            for r in self.rows
        )
        total = (f"<tr><th style='text-align:left'>total</th><td></td>"
                 f"<th style='text-align:right'>{self.total:,}</th></tr>")
        return (f"<table><caption>{e(self.title)}</caption>"
                "<tr><th></th><th>formula</th><th>parameters</th></tr>"
                f"{rows}{total}</table>")


# --------------------------------------------------------------------------- a network


def count_parameters(
    cell: str,
    input_size: int,
    hidden_sizes: int | list[int],
    output_size: int | None = None,
    *,
    num_layers: int | None = None,
    bias: bool = True,
    bias_convention: str = "textbook",
    bidirectional: bool = False,
) -> ParamCount:
    """Count the parameters of a (stacked, possibly bidirectional) recurrent network.

    Args:
        cell: ``"rnn"``, ``"lstm"``, ``"gru"`` or ``"peephole"`` (peephole LSTM).
        input_size: ``n``, features per time step.
        hidden_sizes: ``d`` of every layer, bottom first, e.g. ``[1024, 512]``;
            or one int, used for all ``num_layers`` layers (as ``torch.nn`` does).
        output_size: ``k``; ``None`` for no output layer (just the recurrent
            stack, like ``torch.nn.RNN``).
        num_layers: with an int ``hidden_sizes``: how many layers (default 1).
            With a list it may be given but must equal the list's length.
        bias: include biases (recurrent layers and output layer alike).
        bias_convention: ``"textbook"`` (``g d`` per layer) or ``"pytorch"``
            (``bias_ih`` and ``bias_hh``, ``2 g d`` per layer, which is what
            ``sum(p.numel() for p in module.parameters())`` gives).
        bidirectional: every recurrent layer twice, and every layer above the
            first (and the output layer) reads ``2 d`` features.

    Returns:
        A :class:`ParamCount`: rows such as ``("layer 1: U (input→hidden)",
        239616, "234·1024")`` in order, and ``.total``.
    """
    cell = _check_cell(cell)
    n = _positive_int("input_size", input_size)
    _check_bias(bias, bias_convention)
    if not isinstance(bidirectional, bool):
        raise TypeError(f"bidirectional must be True or False, got {bidirectional!r}")
    if isinstance(hidden_sizes, (list, tuple)):
        if not hidden_sizes:
            raise ValueError("hidden_sizes must name at least one layer, got an empty list")
        sizes = [_positive_int(f"hidden_sizes[{i}]", d) for i, d in enumerate(hidden_sizes)]
        if num_layers is not None and _positive_int("num_layers", num_layers) != len(sizes):
            raise ValueError(
                f"num_layers = {num_layers} does not match the {len(sizes)} hidden sizes "
                f"{sizes}; give one size per layer, or one int and num_layers"
            )
    else:
        d = _positive_int("hidden_sizes", hidden_sizes)
        sizes = [d] * _positive_int("num_layers", 1 if num_layers is None else num_layers)
    k = None if output_size is None else _positive_int("output_size", output_size)

    g = GATES[cell]
    nb = BIAS_CONVENTIONS[bias_convention]
    dirs = 2 if bidirectional else 1
    times = "" if g == 1 else f"{g}·"
    rows: list[Row] = []
    layer_in = n
    for l, d in enumerate(sizes, start=1):
        for direction in ("forward", "reverse")[:dirs]:
            tag = f"layer {l}" + (f" ({direction})" if bidirectional else "")
            rows.append(Row(f"{tag}: U (input→hidden)", g * layer_in * d,
                            f"{times}{layer_in}·{d}"))
            rows.append(Row(f"{tag}: W (hidden→hidden)", g * d * d, f"{times}{d}·{d}"))
            if bias and nb == 1:
                rows.append(Row(f"{tag}: b (bias)", g * d, f"{times}{d}"))
            elif bias:
                rows.append(Row(f"{tag}: b_ih (input bias)", g * d, f"{times}{d}"))
                rows.append(Row(f"{tag}: b_hh (hidden bias)", g * d, f"{times}{d}"))
            if cell == "peephole":
                rows.append(Row(f"{tag}: p (peepholes, diagonal)", 3 * d, f"3·{d}"))
        layer_in = dirs * d  # the next layer reads this one's (concatenated) states
    if k is not None:
        rows.append(Row("output: V (hidden→output)", layer_in * k, f"{layer_in}·{k}"))
        if bias:
            rows.append(Row("output: c (output bias)", k, f"{k}"))

    parts = [f"input {n}", f"hidden {sizes if len(sizes) > 1 else sizes[0]}"]
    if k is not None:
        parts.append(f"output {k}")
    if bidirectional:
        parts.append("bidirectional")
    parts.append(f"{bias_convention} biases" if bias else "no bias")
    depth = f"{len(sizes)}-layer " if len(sizes) > 1 else ""
    title = f"Parameters of a {depth}{_NAMES[cell]} ({', '.join(parts)})"
    return ParamCount(title=title, rows=tuple(rows))


def counts_vs_hidden(
    hidden_sizes: Sequence[int], input_size: int, output_size: int | None = None,
    cells: Sequence[str] = ("rnn", "gru", "lstm"), bias_convention: str = "textbook",
) -> dict[str, np.ndarray]:
    """Total parameters of a one-layer network for every hidden size ``d``.

    Returns:
        ``{cell: counts}`` with ``counts: (len(hidden_sizes),)`` int64, each
        ``count_parameters(cell, input_size, d, output_size).total``.
    """
    return {
        cell: np.array([
            count_parameters(cell, input_size, int(d), output_size,
                             bias_convention=bias_convention).total
            for d in hidden_sizes
        ], dtype=np.int64)
        for cell in cells
    }


def growing_mlp_parameters(input_size: int, hidden_size: int, output_size: int,
                           steps: int) -> list[int]:
    """Parameters of ``f_t``, the one-hidden-layer MLP that reads ``x_1 ... x_t`` at step ``t``.

    ``f_t`` takes the ``t D`` numbers ``[x_1, ..., x_t]``, so it has
    ``t D H + H`` (first layer) ``+ H K + K`` (output layer) parameters, and
    none of them is shared with ``f_{t-1}``. Returns the counts for
    ``t = 1 ... steps``.
    """
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("output_size", output_size), ("steps", steps)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"growing_mlp_parameters: {name} must be a positive integer, "
                             f"got {value!r}")
    D, H, K = input_size, hidden_size, output_size
    return [t * D * H + H + H * K + K for t in range(1, steps + 1)]
