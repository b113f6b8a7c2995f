"""Mutation testing of the exercises: do the public checks and the hidden cases catch wrong code?

For every graded function, the reference solution (the solution cell of
``solutions/<stem>.ipynb``) is mutated, one change at a time, by AST operators
that model the slips students make -- swapped operands of ``@``, a missing or
an extra transpose, a wrong ``axis``, off-by-one and reversed loops over time,
``h`` and ``c`` swapped, gate blocks swapped, sign flips, a dropped term (a
bias), in-place updates of an argument, float32 instead of float64, a wrong
comparison or constant, tanh for sigmoid -- and the hand-written wrong
solutions of ``tests/grading_fixtures/wrong_solutions.py`` are added. Each
candidate is then

* run through the exercise's **public check cell**, after the notebook's
  cells before it (with the candidate in place of the solution): killed when the
  check raises or prints no ✓;
* graded on the **hidden cases** exactly as the grader compares them (the spec's
  call, the reference outputs, :func:`rnncourse.grading.engine._case_reason`,
  the in-place and documented-return rules), under several run seeds -- the
  grader draws fresh hidden cases on every run, so a mutant counts as killed by
  the hidden cases only if every seed kills it.

The report gives, per exercise, the number of candidates, how many the public
checks and the hidden cases kill, and every survivor (marked when a note in
:data:`EQUIVALENT` shows it equivalent to the solution). The targets: the
hidden cases kill every non-equivalent candidate, the public checks at least
90 %; ``python -m rnncourse.grading.mutants`` exits 1 under them.

Candidates run in a process pool, each with a time limit; it is a slow check
(``make test-mutants``), not part of ``make test``.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import hashlib
import importlib.util
import io
import linecache
import os
import re
import signal
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Candidate", "Verdict", "mutants", "candidates", "evaluate", "run", "report",
           "run_source", "main", "EQUIVALENT"]

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"

#: Survivors shown equivalent to the solution: (stem, grade_id, mutant key) -> why.
EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("ch05_gradients", "global_norm", "d0566b1caa"):
        "a float32 number: numbers may be NumPy numbers, and float32 keeps 7 digits, within "
        "the tolerance (the public check asks for a Python float and catches it)",
    ("ch05_gradients", "clip_by_norm", "ba7c3d3016"):
        "scale <= 1 for scale < 1: differs only at scale == 1, where it multiplies by 1.0",
    ("ch05_gradients", "clip_by_norm", "f1a102847a"):
        "returns the caller's arrays instead of copies when nothing is clipped: the values are "
        "right (the grader compares values); the public check catches the aliasing",
    ("ch05_gradients", "jacobian_norms", "1268ceae6e"):
        "the identity it starts from in float32: exact, and the first product is float64",
    ("ch06_lstm", "lstm_step_backward", "ed22c57008"):
        "np.concatenate(..., axis=-1) of 2-D arrays is axis=1",
}


_CACHE_NOTE = ("inside the cache, whose layout is the student's own design (the backward "
               "exercise reads it), or the shape of an array of the same shape")
_AXIS_NOTE = "axis -1 is axis 1 for the 2-D arrays of this exercise"
_ORDER_NOTE = "the loop's turns are independent (a sum, or a counter it does not read)"
_NUMBER_NOTE = ("a float32 number: numbers may be NumPy numbers, and float32 keeps 7 digits, "
                "within the tolerance")
_VECTOR_NOTE = "the transpose of a 1-D array is the same array"
_ZEROS_NOTE = "the zeros it starts from in float32: exact, and the first sum is float64"
_TIE_NOTE = ("the extensions in another order: the stable sort keeps their order only among "
             "equal scores")
_STOP_NOTE = ("stops early only when every hypothesis starts with eos (never, with two of "
              "them); a beam of finished hypotheses stays as it is in the later steps anyway")

#: Survivors shown equivalent, by label: (stem, grade_id, label pattern, why).
EQUIVALENT_RULES: list[tuple[str, str, str, str]] = [
    ("ch03_params", "largest_hidden_size", r".* \(line (4|[7-9]|1[0-3])\)",
     "the quadratic's root is only where the search starts, and it is exact: the two "
     "while loops that correct it never run on any input (a float32 count is exact for "
     "these sizes)"),
    ("ch06_lstm", "lstm_step_forward", r"(prev|next)_[hc] and (prev|next)_[hc] swapped .*",
     _CACHE_NOTE),
    ("ch07_peephole", "peephole_step_forward",
     r"(prev|next)_[hc] and (prev|next)_[hc] swapped .*", _CACHE_NOTE),
    ("ch01_sequences", "one_hot_windows", r"wrong axis \(1 to -1\) .*", _AXIS_NOTE),
    ("ch01_sequences", "window_baseline_accuracy", r"loop bound 1 off by -1 \(line 5\)",
     "the extra turn stores a follower for the empty context train[-1:w - 1], which no "
     "prediction looks up"),
    ("ch02_rnn", "stack_weights", r"axis dropped .*",
     "np.concatenate's default axis is 0"),
    ("ch02_rnn", "rnn_step_forward_concat", r"wrong axis \(1 to -1\) .*", _AXIS_NOTE),
    ("ch04_bptt", "language_model_metrics", r"(wrong axis \(-1 to None\)|axis dropped) .*",
     "a sum over all entries of a 1-D array, or of the one-hot row it picks"),
    ("ch04_bptt", "sample_with_temperature", r"wrong axis \(1 to -1\) .*", _AXIS_NOTE),
    ("ch04_bptt", "temporal_softmax_loss", r"float32 result .*", _NUMBER_NOTE),
    ("ch04_bptt", "temporal_softmax_loss", r"float32 instead of float64 \(line 4\)",
     "a one-hot table in float32: exact zeros and ones, and every product with it is "
     "float64"),
    ("ch04_bptt", "sample_with_temperature",
     r"(sign flip \(- to \+\)|dropped term \(right of -\)|constant - 1) \(line 6\)",
     "the clip to K - 1 (or K, K + 1) only acts when rounding leaves the last cumulative sum "
     "below u; u stays below 0.999 (the statement's rule, u < cumsum(p)[k], never passes K-1)"),
    ("ch04_bptt", "sample_with_temperature", r"comparison off by one \(line 5\)",
     "cdf < u for cdf <= u: differs only where a cumulative sum equals u exactly"),
    ("ch07_peephole", "peephole_step_backward", r"wrong axis \(1 to -1\) .*", _AXIS_NOTE),
    ("ch08_gru", "gru_step_backward", r"wrong axis \(1 to -1\) .*", _AXIS_NOTE),
    ("ch03_params", "count_pytorch_params", r"reversed loop .*", _ORDER_NOTE),
    ("ch03_params", "count_lstm_proj_params", r"reversed loop .*", _ORDER_NOTE),
    ("ch04_bptt", "train_char_rnn", r"float32 instead of float64 \(line (5|6|9|28)\)",
     "zeros (or a one-hot table) in float32: exact values, and every product with them "
     "is float64"),
    ("ch04_bptt", "train_char_rnn", r"reversed loop \(line 8\)", _ORDER_NOTE),
    ("ch04_bptt", "train_char_rnn",
     r"(sign flip \(\+ to -\)|dropped term \(right of \+, e\.g\. a bias\)) \(line 21\)",
     "the clipping scale with norm - 1e-6 or without the 1e-6: a relative change of 1e-6 / "
     "norm, below the tolerance for these gradients (norms of 0.1 and more); the public check "
     "of clip_by_norm (chapter 5) tests the 1e-6 itself"),
    ("ch10_applications", "kneser_ney_prob", r"reversed loop \(line 1\)",
     "the bigrams listed backwards: their counts stay the same"),
    ("ch10_applications", "best_mixture_weight", r"float32 result .*", _NUMBER_NOTE),
    ("ch08_gru", "count_gru_params", r"reversed loop \(line 4\)", _ORDER_NOTE),
    ("ch09_seq2seq", "greedy_decode", r"reversed loop .*", _ORDER_NOTE),
    ("ch09_seq2seq", "beam_search", r"reversed loop \(line 2\)", _ORDER_NOTE),
    ("ch09_seq2seq", "normalised_beam_search", r"reversed loop \(line 6\)", _ORDER_NOTE),
    ("ch09_seq2seq", "corpus_bleu", r"reversed loop \(line 5\)", _ORDER_NOTE),
    ("ch09_seq2seq", "corpus_bleu",
     r"(swapped operands of -|constant \+ 1) \(line (16|19)\)",
     "matches[1 - n] or matches[n - 2] (totals alike) permutes the four counts: the mean of "
     "their logarithms, and whether one is 0, stay the same"),
    ("ch09_seq2seq", "corpus_bleu", r"comparison off by one \(line 23\)",
     "hyp_len >= ref_len for >: at equality the penalty is exp(1 - 1) = 1"),
    ("ch09_seq2seq", "beam_search", r"reversed loop \(line 13\)", _TIE_NOTE),
    ("ch09_seq2seq", "normalised_beam_search", r"reversed loop \(line 17\)", _TIE_NOTE),
    ("ch09_seq2seq", "beam_search", r"constant - 1 \(line 19\)", _STOP_NOTE),
    ("ch09_seq2seq", "normalised_beam_search", r"constant - 1 \(line 23\)", _STOP_NOTE),
    *[(stem, gid, r"float32 result .*", _NUMBER_NOTE) for stem, gid in (
        ("ch01_sequences", "window_baseline_accuracy"), ("ch09_seq2seq", "teacher_forcing_loss"),
        ("ch09_seq2seq", "normalised_beam_search"), ("ch09_seq2seq", "corpus_bleu"))],
    ("ch09_seq2seq", "corpus_bleu", r"float32 instead of float64 \(line 8\)",
     "n-gram counts, exact in float32; the precisions then agree within the tolerance"),
    ("ch04_bptt", "rnn_backward", r"float32 instead of float64 \(line 4\)", _ZEROS_NOTE),
    ("ch06_lstm", "lstm_backward", r"float32 instead of float64 \(line (10|11)\)", _ZEROS_NOTE),
    ("ch09_seq2seq", "encode", r"float32 instead of float64 \(line 1\)",
     "the zeros it starts from in float32: exact, and the first product is float64"),
    ("ch09_seq2seq", "encode", r"constant \+ 1 \(line 1\)",
     "Wh.shape[1] is Wh.shape[0]: Wh is square"),
    ("ch09_seq2seq", "encode", r"extra transpose .*", _VECTOR_NOTE),
    ("ch09_seq2seq", "dot_attention", r"extra transpose .*", _VECTOR_NOTE),
    ("ch09_seq2seq", "attention_decoder_step", r"extra transpose .*", _VECTOR_NOTE),
]


# --------------------------------------------------------------------------- running cells


def run_source(source: str, namespace: dict, filename: str) -> str:
    """Execute a cell's source in ``namespace`` as IPython does; return what it printed.

    The source is kept in :mod:`linecache` under ``filename``, where IPython keeps a
    cell's source (and where :func:`~rnncourse.grading.student.check_call` finds it).
    """
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True),
                                 filename)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 -- course code
    return buffer.getvalue()


# --------------------------------------------------------------------------- candidates


@dataclass(frozen=True)
class Candidate:
    """A wrong version of one exercise's cell."""

    stem: str
    grade_id: str
    label: str  # "swapped operands of @ (line 5)" or "wrong: per-array norms"
    source: str
    kind: str = "mutant"  # or "wrong" (hand-written)

    @property
    def key(self) -> str:
        """A short name for the candidate that stays put while its code does: a hash of
        its syntax tree without docstrings, so that reformatting the solution (or editing
        its docstring) keeps the names of its mutants."""
        try:
            tree = ast.parse(self.source)
        except SyntaxError:
            return hashlib.sha1(self.source.encode()).hexdigest()[:10]
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Module)) and body
                    and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                node.body = body[1:] or [ast.Pass()]
        return hashlib.sha1(ast.dump(tree).encode()).hexdigest()[:10]


def _region(source: str) -> tuple[int, int]:
    """First and last line (1-based) inside the solution markers."""
    lines = [line.strip() for line in source.splitlines()]
    return lines.index(BEGIN) + 2, lines.index(END)


def _names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _params(tree: ast.AST) -> set[str]:
    fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))
    return {a.arg for a in fn.args.args + fn.args.kwonlyargs}


def _plus(node: ast.expr, k: int) -> ast.expr:
    return ast.BinOp(copy.deepcopy(node), ast.Add() if k > 0 else ast.Sub(),
                     ast.Constant(abs(k)))


def _attr(value: ast.expr, name: str) -> ast.expr:
    return ast.Attribute(copy.deepcopy(value), name, ast.Load())


_F32 = ast.keyword("dtype", ast.Attribute(ast.Name("np", ast.Load()), "float32", ast.Load()))
_ALLOCATORS = {"np.zeros", "np.ones", "np.empty", "np.zeros_like", "np.ones_like",
               "np.empty_like", "np.eye", "np.full", "np.array", "np.asarray"}
_SWAP_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
             ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}


def _node_mutations(node: ast.AST, ctx: dict) -> Iterator[tuple[str, ast.AST]]:
    """(what, replacement) for one node."""
    if isinstance(node, ast.BinOp):
        left, right = node.left, node.right
        if isinstance(node.op, ast.MatMult):
            yield "swapped operands of @", ast.BinOp(right, ast.MatMult(), left)
            yield "extra transpose (left of @)", ast.BinOp(_attr(left, "T"), ast.MatMult(), right)
            yield "extra transpose (right of @)", ast.BinOp(left, ast.MatMult(), _attr(right, "T"))
        if isinstance(node.op, ast.Add):
            yield "sign flip (+ to -)", ast.BinOp(left, ast.Sub(), right)
            yield "dropped term (right of +, e.g. a bias)", left
            yield "dropped term (left of +)", right
        if isinstance(node.op, ast.Sub):
            yield "sign flip (- to +)", ast.BinOp(left, ast.Add(), right)
            yield "swapped operands of -", ast.BinOp(right, ast.Sub(), left)
            yield "dropped term (right of -)", left
        if isinstance(node.op, ast.Mult):
            yield "dropped factor (right of *)", left
            yield "dropped factor (left of *)", right
        if isinstance(node.op, ast.Div):
            yield "division to multiplication", ast.BinOp(left, ast.Mult(), right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield "sign flip (dropped unary -)", node.operand
    if isinstance(node, ast.Attribute) and node.attr == "T":
        yield "missing transpose", node.value
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _SWAP_CMP:
        yield "comparison off by one", ast.Compare(node.left, [_SWAP_CMP[type(node.ops[0])]()],
                                                   node.comparators)
    if isinstance(node, ast.Constant) and type(node.value) is int and ctx.get("parent_kw") \
            != "axis":
        yield "constant + 1", ast.Constant(node.value + 1)
        if node.value > 0:
            yield "constant - 1", ast.Constant(node.value - 1)
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        other = ctx["hc"].get(node.id)
        if other:
            yield f"{node.id} and {other} swapped", ast.Name(other, ast.Load())
    if isinstance(node, ast.Call):
        func = ast.unparse(node.func)
        for i, kw in enumerate(node.keywords):
            if kw.arg == "axis" and isinstance(kw.value, (ast.Constant, ast.UnaryOp)):
                now = ast.unparse(kw.value)
                for alt in ("0", "1", "-1", "None"):
                    if alt != now:
                        new = copy.deepcopy(node)
                        new.keywords[i] = ast.keyword("axis", ast.parse(alt, mode="eval").body)
                        yield f"wrong axis ({now} to {alt})", new
                new = copy.deepcopy(node)
                del new.keywords[i]
                yield "axis dropped", new
        if func == "range" and node.args:
            args = node.args
            if len(args) == 1:
                yield "reversed loop", ast.Call(node.func, [_plus(args[0], -1), ast.Constant(-1),
                                                            ast.Constant(-1)], [])
                yield "loop one step short", ast.Call(node.func, [_plus(args[0], -1)], [])
                yield "loop from 1", ast.Call(node.func, [ast.Constant(1), args[0]], [])
            else:
                for j in range(min(len(args), 2)):
                    for k in (-1, 1):
                        new_args = list(args)
                        new_args[j] = _plus(args[j], k)
                        yield f"loop bound {j + 1} off by {k:+d}", ast.Call(node.func, new_args, [])
                if len(args) == 3:
                    yield "reversed loop", ast.Call(node.func, [_plus(args[1], 1),
                                                                _plus(args[0], 1)], [])
        if func == "reversed" and len(node.args) == 1:
            yield "loop not reversed", node.args[0]
        if func.endswith(".copy") and not node.args and isinstance(node.func, ast.Attribute):
            yield "dropped copy (works in place)", node.func.value
        if func in _ALLOCATORS and not any(k.arg == "dtype" for k in node.keywords):
            new = copy.deepcopy(node)
            new.keywords.append(copy.deepcopy(_F32))
            yield "float32 instead of float64", new
        if func == "np.tanh" and ctx["sigmoid"]:
            yield "sigmoid for tanh", ast.Call(ast.Name("sigmoid", ast.Load()), node.args, [])
        if func == "sigmoid":
            yield "tanh for sigmoid", ast.Call(_attr(ast.Name("np", ast.Load()), "tanh"),
                                               node.args, [])


def _statement_mutations(node: ast.AST, ctx: dict) -> Iterator[tuple[str, ast.AST]]:
    """In-place updates: ``p = p + y`` -> ``p += y`` for an argument ``p``."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1 \
            and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.BinOp) \
            and isinstance(node.value.left, ast.Name) \
            and node.value.left.id == node.targets[0].id and node.targets[0].id in ctx["params"]:
        yield "in-place update of an argument", ast.AugAssign(
            ast.Name(node.targets[0].id, ast.Store()), node.value.op, node.value.right)
    if isinstance(node, ast.Return) and node.value is not None:
        value = node.value
        if isinstance(value, ast.Tuple) and value.elts:
            first = ast.Call(_attr(ast.Name("np", ast.Load()), "asarray"), [value.elts[0]],
                             [copy.deepcopy(_F32)])
            yield "float32 result", ast.Return(ast.Tuple([first, *value.elts[1:]], ast.Load()))
        elif not isinstance(value, ast.Tuple):
            yield "float32 result", ast.Return(ast.Call(
                _attr(ast.Name("np", ast.Load()), "asarray"), [value], [copy.deepcopy(_F32)]))


def _gate_swaps(tree: ast.AST, lo: int, hi: int) -> Iterator[tuple[str, int, int]]:
    """Pairs of slices of one array (gate blocks ``a[:, :H]``, ``a[:, H:2 * H]``)."""
    groups: dict[str, list[int]] = {}
    nodes = list(ast.walk(tree))
    for i, n in enumerate(nodes):
        if isinstance(n, ast.Subscript) and lo <= getattr(n, "lineno", 0) <= hi and \
                any(isinstance(s, ast.Slice) for s in ast.walk(n.slice)):
            groups.setdefault(ast.unparse(n.value), []).append(i)
    for base, idx in groups.items():
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                if ast.unparse(nodes[idx[a]].slice) != ast.unparse(nodes[idx[b]].slice):
                    yield f"slices of {base} swapped (gate order)", idx[a], idx[b]


def _replace(tree: ast.AST, index: int, new: ast.AST) -> ast.AST:
    """A copy of ``tree`` with its ``index``-th node (in :func:`ast.walk` order) replaced."""
    tree = copy.deepcopy(tree)
    nodes = list(ast.walk(tree))
    target = nodes[index]
    for parent in nodes:
        for name, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, name, copy.deepcopy(new))
                return tree
            if isinstance(value, list) and any(v is target for v in value):
                value[[i for i, v in enumerate(value) if v is target][0]] = copy.deepcopy(new)
                return tree
    raise ValueError("node not found")


def mutants(source: str, sigmoid: bool = False) -> list[tuple[str, str]]:
    """``(label, source)`` of every single-change mutant of a solution cell's function.

    Only the lines inside the solution markers change; mutants that are the same code
    as the solution, or as another mutant, are left out, and so are those that do not
    compile.
    """
    lo, hi = _region(source)
    tree = ast.parse(source)
    names = _names(tree)
    hc = {}
    for n in names:
        for a, b in (("h", "c"),):
            if n.endswith(a) and n[:-1] + b in names:
                hc[n], hc[n[:-1] + b] = n[:-1] + b, n
    ctx = {"hc": hc, "params": _params(tree), "sigmoid": sigmoid}
    nodes = list(ast.walk(tree))
    parents_kw = {id(kw.value): kw.arg for kw in (n for n in nodes if isinstance(n, ast.keyword))}
    seen = {ast.unparse(tree)}
    out: list[tuple[str, str]] = []

    def keep(label: str, new_tree: ast.AST) -> None:
        text = ast.unparse(ast.fix_missing_locations(new_tree))
        if text in seen:
            return
        seen.add(text)
        try:
            compile(text, "<mutant>", "exec")
        except SyntaxError:
            return
        out.append((label, text + "\n"))

    for i, node in enumerate(nodes):
        line = getattr(node, "lineno", 0)
        if not lo <= line <= hi:
            continue
        node_ctx = dict(ctx, parent_kw=parents_kw.get(id(node)))
        for label, new in [*_node_mutations(node, node_ctx), *_statement_mutations(node, ctx)]:
            keep(f"{label} (line {line - lo + 1})", _replace(tree, i, new))
    for label, a, b in _gate_swaps(tree, lo, hi):
        swapped = copy.deepcopy(tree)
        walked = list(ast.walk(swapped))
        walked[a].slice, walked[b].slice = walked[b].slice, walked[a].slice
        keep(f"{label} (line {nodes[a].lineno - lo + 1})", swapped)
    return out


# --------------------------------------------------------------------------- the notebooks


@dataclass
class _Exercise:
    stem: str
    spec: Any
    ex: Any
    cells: list  # (grade_id or None, cell_type, source) of every cell
    index: int  # of the solution cell
    check: str  # the public check cell, hidden tests removed


def _load(solutions: Path, stem: str) -> dict[str, _Exercise]:
    from . import checks
    from .generate import exercise_source
    from .notebook import cells, read_notebook

    spec = checks.load(stem)
    all_cells = [(c.grade_id, c.cell_type, c.source)
                 for c in cells(read_notebook(solutions / f"{stem}.ipynb"))]
    out = {}
    for ex in spec.exercises:
        index = next(i for i, c in enumerate(all_cells)
                     if c[0] == ex.grade_id and c[1] == "code")
        check = next(c[2] for c in all_cells if c[0] == f"check_{ex.grade_id}")
        out[ex.grade_id] = _Exercise(stem, spec, ex, all_cells, index, exercise_source(check))
    return out


def candidates(solutions: Path, stems: Sequence[str] | None = None,
               wrong: dict | None = None, only: Sequence[str] = ()) -> list[Candidate]:
    """Every mutant of every exercise's solution, and the hand-written wrong solutions."""
    from . import checks

    out = []
    for stem in stems or checks.available():
        for gid, e in _load(solutions, stem).items():
            if only and gid not in only:
                continue
            source = e.cells[e.index][2]
            sigmoid = "def sigmoid" in e.spec.helpers
            out += [Candidate(stem, gid, label, text)
                    for label, text in mutants(source, sigmoid)]
            for label, text in (wrong or {}).get((stem, gid), {}).items():
                out.append(Candidate(stem, gid, f"wrong: {label}", text, "wrong"))
    return out


# --------------------------------------------------------------------------- judging


class _Timeout(BaseException):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout


_cache: dict[Any, Any] = {}
_counter = [0]


def _exercise(solutions: Path, stem: str, gid: str) -> _Exercise:
    key = ("ex", str(solutions), stem)
    if key not in _cache:
        _cache[key] = _load(solutions, stem)
    return _cache[key][gid]


def _copy(value: Any) -> Any:
    if isinstance(value, (np.ndarray, np.random.Generator, list, dict, set)):
        with contextlib.suppress(Exception):
            return copy.deepcopy(value)
    return value


def _prefix(e: _Exercise) -> dict:
    """The notebook's namespace just before the exercise's cell (solutions in place)."""
    key = ("prefix", e.stem, e.ex.grade_id)
    if key not in _cache:
        ns: dict[str, Any] = {"__name__": "__main__"}
        for i, (_, kind, source) in enumerate(e.cells[:e.index]):
            if kind == "code":
                run_source(source, ns, f"<{e.stem} cell {i + 1}>")
        _cache[key] = ns
    return {k: _copy(v) for k, v in _cache[key].items()}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"


def public_verdict(e: _Exercise, source: str) -> str:
    """Why the public check cell rejects ``source`` ("" when it passes it)."""
    ns = _prefix(e)
    _counter[0] += 1
    try:
        run_source(source, ns, f"<candidate {_counter[0]}>")
        printed = run_source(e.check, ns, f"<check {_counter[0]}>")
    except _Timeout:
        raise
    except BaseException as exc:  # noqa: BLE001 -- any failure is a rejection
        return _first_line(exc)
    return "" if "✓" in printed else "the check cell printed no ✓"


def _prepared(e: _Exercise, seed: int) -> Any:
    from .engine import Prepared

    key = ("prepared", e.stem, seed)
    if key not in _cache:
        _cache[key] = Prepared(e.spec, seed)
    return _cache[key]


def hidden_verdict(e: _Exercise, source: str, seed: int) -> str:
    """Why the grader rejects ``source`` on the hidden cases of run ``seed`` ("" if not)."""
    from .engine import Limits, _case_reason
    from .returns import SOURCE as RETURNS_SOURCE
    from .returns import wrap_call
    from .sandbox import Unsupported, encode

    spec, ex = e.spec, e.ex
    prepared = _prepared(e, seed)
    cases = ex.cases(prepared.rng(ex))
    reference = prepared.exercises[ex.grade_id].reference
    returns = {x.function: x.returns for x in spec.exercises if getattr(x, "returns", ())}
    ns: dict[str, Any] = {"__name__": "__main__"}
    _counter[0] += 1
    try:
        exec(compile(spec.helpers + RETURNS_SOURCE, "<helpers>", "exec"), ns)  # noqa: S102
        needed = {x.grade_id for x in spec.requirements(ex)}
        for x in spec.exercises:
            if x.grade_id in needed:
                cell = next(c for c in e.cells if c[0] == x.grade_id and c[1] == "code")
                run_source(cell[2], ns, f"<cell {x.grade_id}>")
        run_source(source, ns, f"<cell {ex.grade_id} {_counter[0]}>")
    except _Timeout:
        raise
    except BaseException as exc:  # noqa: BLE001
        return f"the cell fails: {_first_line(exc)}"
    if not callable(ns.get(ex.function)):
        return f"the cell does not define {ex.function}"
    call = compile(wrap_call(ex.call, returns), "<call>", "eval")
    for i, (case, ref) in enumerate(zip(cases, reference, strict=True)):
        given = copy.deepcopy(case)
        try:
            value = eval(call, {**ns, **given})  # noqa: S307
        except _Timeout:
            raise
        except BaseException as exc:  # noqa: BLE001
            return f"case {i + 1}: {_first_line(exc)}"
        for k in case:
            if not _same(case[k], given[k]):
                return f"case {i + 1}: changes its argument {k} in place"
        arrays: dict[str, np.ndarray] = {}
        try:
            if len(ex.outputs) == 1:
                node = encode(value, arrays, ex.outputs[0], prefix=f"c{i}_")
            elif isinstance(value, (tuple, list)) and len(value) == len(ex.outputs):
                node = {"t": "tuple", "v": [encode(v, arrays, o, prefix=f"c{i}_{j}_")
                                            for j, (v, o) in enumerate(zip(value, ex.outputs,
                                                                           strict=True))]}
            else:
                return f"case {i + 1}: returned the wrong number of outputs"
        except Unsupported as exc:
            return f"case {i + 1}: {exc}"
        why = _case_reason({"ok": node}, ref, ex, arrays, Limits())
        if why:
            return f"case {i + 1}: {why}"
    return ""


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and \
            np.array_equal(a, b, equal_nan=True)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and \
            all(_same(x, y) for x, y in zip(a, b, strict=True))
    return True


@dataclass
class Verdict:
    """What the public checks and the hidden cases of each run seed said of a candidate."""

    candidate: Candidate
    public: str  # the rejection, "" when the public checks pass it
    hidden: list[str] = field(default_factory=list)  # one per seed, "" when it passed

    @property
    def killed_public(self) -> bool:
        return bool(self.public)

    @property
    def killed_hidden(self) -> bool:
        return bool(self.hidden) and all(self.hidden)

    @property
    def equivalent(self) -> str:
        """Why it is equivalent to the solution ("" when it is not shown so).

        Only a candidate that the hidden cases do not kill can be equivalent: a note
        never excuses a mutant that some case tells apart.
        """
        c = self.candidate
        if self.killed_hidden:
            return ""
        if (c.stem, c.grade_id, c.key) in EQUIVALENT:
            return EQUIVALENT[c.stem, c.grade_id, c.key]
        for stem, gid, pattern, why in EQUIVALENT_RULES:
            if (stem, gid) == (c.stem, c.grade_id) and re.fullmatch(pattern, c.label):
                return why
        return ""


def evaluate(solutions: Path, candidate: Candidate, seeds: Sequence[int],
             timeout: float = 20.0) -> Verdict:
    """Judge one candidate (in this process; ``timeout`` seconds in all)."""
    e = _exercise(solutions, candidate.stem, candidate.grade_id)
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    verdict = Verdict(candidate, "")
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                np.errstate(all="ignore"):
            verdict.public = public_verdict(e, candidate.source)
            for seed in seeds:
                verdict.hidden.append(hidden_verdict(e, candidate.source, seed))
    except _Timeout:
        why = f"timed out after {timeout:g} s"
        verdict.public = verdict.public or why
        verdict.hidden += [why] * (len(seeds) - len(verdict.hidden))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return verdict


def _worker_init() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with contextlib.suppress(Exception):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def _evaluate_many(args: tuple) -> list[Verdict]:
    solutions, batch, seeds, timeout = args
    return [evaluate(solutions, c, seeds, timeout) for c in batch]


def run(solutions: Path, cands: Sequence[Candidate], seeds: Sequence[int], jobs: int = 0,
        timeout: float = 20.0) -> list[Verdict]:
    """Judge every candidate in a process pool (one batch per exercise and chunk)."""
    batches: list[list[Candidate]] = []
    for c in cands:
        if batches and batches[-1][0].grade_id == c.grade_id and \
                batches[-1][0].stem == c.stem and len(batches[-1]) < 25:
            batches[-1].append(c)
        else:
            batches.append([c])
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1:
        return [v for b in batches for v in _evaluate_many((solutions, b, seeds, timeout))]
    out: list[Verdict] = []
    with ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init) as pool:
        for verdicts in pool.map(_evaluate_many, [(solutions, b, seeds, timeout)
                                                  for b in batches]):
            out += verdicts
    return out


# --------------------------------------------------------------------------- the report


@dataclass
class Row:
    stem: str
    grade_id: str
    total: int
    public: int
    hidden: int
    equivalent: int
    survivors: list[Verdict]

    @property
    def counted(self) -> int:
        return self.total - self.equivalent

    def rate(self, killed: int) -> float:
        return killed / self.counted if self.counted else 1.0


def rows(verdicts: Sequence[Verdict]) -> list[Row]:
    out: dict[tuple[str, str], Row] = {}
    for v in verdicts:
        c = v.candidate
        r = out.setdefault((c.stem, c.grade_id), Row(c.stem, c.grade_id, 0, 0, 0, 0, []))
        r.total += 1
        if v.equivalent:
            r.equivalent += 1
        else:
            r.public += v.killed_public
            r.hidden += v.killed_hidden
        if not (v.killed_public and v.killed_hidden):
            r.survivors.append(v)
    return list(out.values())


def report(verdicts: Sequence[Verdict], public_target: float = 0.9,
           hidden_target: float = 1.0) -> tuple[str, bool]:
    """The per-exercise table, the survivors, and whether every target is met."""
    table = rows(verdicts)
    lines = [f"{'exercise':<40} {'mutants':>7} {'equiv':>5} {'public':>13} {'hidden':>13}"]
    ok = True
    for r in table:
        pub, hid = r.rate(r.public), r.rate(r.hidden)
        flag = "" if pub >= public_target and hid >= hidden_target else "  <- under target"
        ok &= not flag
        lines.append(f"{r.stem + ' ' + r.grade_id:<40} {r.total:>7} {r.equivalent:>5} "
                     f"{r.public:>5} {pub:>6.0%} {r.hidden:>5} {hid:>6.0%}{flag}")
    total = sum(r.counted for r in table)
    pub = sum(r.public for r in table)
    hid = sum(r.hidden for r in table)
    lines.append(f"{'all':<40} {sum(r.total for r in table):>7} "
                 f"{sum(r.equivalent for r in table):>5} {pub:>5} {pub / max(total, 1):>6.0%} "
                 f"{hid:>5} {hid / max(total, 1):>6.0%}")
    lines.append("")
    lines.append(f"targets: hidden cases kill {hidden_target:.0%} and the public checks "
                 f"{public_target:.0%} of the non-equivalent mutants of every exercise")
    survivors = [v for r in table for v in r.survivors]
    if survivors:
        lines.append("")
        lines.append("survivors (public: passes the public checks; hidden: passes the hidden "
                     "cases of k of n runs):")
    for v in survivors:
        c = v.candidate
        where = []
        if not v.killed_public:
            where.append("public")
        if not v.killed_hidden:
            where.append(f"hidden {sum(not h for h in v.hidden)}/{len(v.hidden)}")
        note = f"  [equivalent: {v.equivalent}]" if v.equivalent else ""
        lines.append(f"  {c.stem} {c.grade_id} [{c.key}] {c.label}: survives "
                     f"{', '.join(where)}{note}")
    return "\n".join(lines), ok


def load_wrong(path: Path | None) -> dict:
    """The hand-written wrong solutions: ``WRONG`` of a Python file, or nothing."""
    if path is None or not path.is_file():
        return {}
    spec = importlib.util.spec_from_file_location("_rnncourse_wrong_solutions", path)
    if spec is None or spec.loader is None:
        return {}
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.WRONG)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnncourse.grading.mutants",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("stems", nargs="*", help="notebooks (default: all)")
    parser.add_argument("--only", nargs="*", default=(), help="grade_ids to test")
    parser.add_argument("--solutions", type=Path, default=Path("solutions"))
    parser.add_argument("--wrong", type=Path,
                        default=Path("tests/grading_fixtures/wrong_solutions.py"))
    parser.add_argument("--seeds", type=int, default=4, help="grading runs per mutant")
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--public-target", type=float, default=0.9)
    args = parser.parse_args(argv)
    cands = candidates(args.solutions, args.stems or None, load_wrong(args.wrong), args.only)
    verdicts = run(args.solutions, cands, list(range(1, args.seeds + 1)), args.jobs,
                   args.timeout)
    text, ok = report(verdicts, args.public_target)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
