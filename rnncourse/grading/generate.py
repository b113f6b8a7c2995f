"""Generating the student notebooks ``exercises/`` from ``solutions/``.

``solutions/X.ipynb`` -> ``exercises/X.ipynb``, nbgrader's rules:

* in every code cell, each region from a ``### BEGIN SOLUTION`` line to its
  ``### END SOLUTION`` line becomes two lines at the region's indentation::

      # YOUR CODE HERE
      raise NotImplementedError()

  (in a Markdown solution cell, the region becomes ``YOUR ANSWER HERE``);
* every ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region is removed;
* all outputs and execution counts are cleared (and the execution timings that
  a notebook runner records in the cell metadata, which would make the
  exercises change whenever the solutions are re-run); the rest of the
  metadata (nbgrader's ``grade_id``, ``points``, ...) is kept.

A solution cell (``nbgrader.solution: true``) without a solution region, a
region left open, or a marker that survives generation is an error: the
exercises must never show a solution.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

from .notebook import NotebookError, read_notebook

__all__ = ["GenerateError", "STUB", "exercise_source", "make_exercise", "render",
           "generate_exercises", "Drift"]

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = "YOUR ANSWER HERE"


class GenerateError(ValueError):
    """A solution notebook whose markers do not make sense."""


def _replace_regions(lines: list[str], begin: str, end: str, stub: tuple[str, ...] | None,
                     where: str) -> tuple[list[str], int]:
    """Replace each ``begin``..``end`` region (marker lines included); count them."""
    out: list[str] = []
    count = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == end:
            raise GenerateError(f"{where}: {end!r} without {begin!r} (line {i + 1})")
        if line.strip() != begin:
            out.append(line)
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].strip() != end:
            if lines[j].strip() == begin:
                raise GenerateError(f"{where}: nested {begin!r} (line {j + 1})")
            j += 1
        if j == len(lines):
            raise GenerateError(f"{where}: {begin!r} without {end!r} (line {i + 1})")
        indent = line[: len(line) - len(line.lstrip())]
        newline = "\n" if j + 1 < len(lines) or lines[j].endswith("\n") else ""
        if stub is not None:
            out.extend(f"{indent}{s}\n" for s in stub[:-1])
            out.append(f"{indent}{stub[-1]}{newline}")
        count += 1
        i = j + 1
    if out and stub is None and not lines[-1].endswith("\n") and out[-1].endswith("\n"):
        out[-1] = out[-1][:-1]  # keep "no newline at the end" as it was
    return out, count


def exercise_source(source: str, *, cell_type: str = "code", solution: bool = False,
                    where: str = "cell") -> str:
    """One cell's source as the student sees it."""
    lines = source.splitlines(keepends=True)
    lines, _ = _replace_regions(lines, BEGIN_HIDDEN, END_HIDDEN, None, where)
    stub = STUB if cell_type == "code" else (MARKDOWN_STUB,)
    lines, n = _replace_regions(lines, BEGIN_SOLUTION, END_SOLUTION, stub, where)
    if solution and n == 0:
        raise GenerateError(f"{where} is a solution cell without a {BEGIN_SOLUTION!r} region")
    markers = {BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN}
    for line in lines:
        if line.strip() in markers:
            raise GenerateError(f"{where}: {line.strip()!r} left over after generation")
    return "".join(lines)


def make_exercise(nb: dict, name: str = "notebook") -> dict:
    """The exercise notebook for a solution notebook (a new dict; ``nb`` is unchanged)."""
    out = copy.deepcopy(nb)
    for i, cell in enumerate(out["cells"]):
        where = f"{name}, cell {i + 1}"
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        meta = cell.setdefault("metadata", {})
        nbg = meta.get("nbgrader") if isinstance(meta.get("nbgrader"), dict) else {}
        new = exercise_source(src, cell_type=cell.get("cell_type", "code"),
                              solution=bool(nbg.get("solution")), where=where)
        cell["source"] = new.splitlines(keepends=True)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        meta.pop("execution", None)
    return out


def render(nb: dict) -> str:
    """A notebook as Jupyter writes it: sorted keys, one-space indent, a final newline."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass
class Drift:
    """What :func:`generate_exercises` wrote, or with ``check=True`` would write."""

    changed: list[Path] = field(default_factory=list)  # missing or different
    stale: list[Path] = field(default_factory=list)  # an exercise without a solution

    def __bool__(self) -> bool:
        return bool(self.changed or self.stale)


def generate_exercises(solutions: Path, out: Path, *, check: bool = False) -> Drift:
    """Write ``out/X.ipynb`` for every ``solutions/X.ipynb`` (or only compare, with ``check``).

    Returns the notebooks that differ (written, unless ``check``) and the
    exercise notebooks that have no solution (never deleted automatically).
    """
    solutions, out = Path(solutions), Path(out)
    sources = sorted(solutions.glob("*.ipynb"))
    if not sources:
        raise GenerateError(f"no notebooks in {solutions}")
    drift = Drift()
    rendered = {}
    for path in sources:
        try:
            nb = read_notebook(path)
        except NotebookError as exc:
            raise GenerateError(str(exc)) from None
        rendered[out / path.name] = render(make_exercise(nb, path.name))
    for target, text in rendered.items():
        try:
            current = target.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            current = None
        if current != text:
            drift.changed.append(target)
            if not check:
                out.mkdir(parents=True, exist_ok=True)
                target.write_bytes(text.encode("utf-8"))
    drift.stale = sorted(p for p in out.glob("*.ipynb") if p not in rendered)
    return drift
