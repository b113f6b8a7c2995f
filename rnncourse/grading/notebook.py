"""Reading a submitted notebook as data: JSON in, cell source text out.

The grader never executes, imports or unpickles a submission in its own
process. It parses the ``.ipynb`` file as JSON (with a size limit), checks that
it is a Jupyter notebook, and hands the *source text* of the graded cells to
the sandbox. Graded cells are found by their nbgrader ``grade_id``; a cell
whose metadata was lost is found by the function it defines.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["NotebookError", "Cell", "read_json", "read_notebook", "cells", "find_cell",
           "MAX_NOTEBOOK_BYTES", "MAX_CELL_CHARS"]

MAX_NOTEBOOK_BYTES = 32 << 20
MAX_CELL_CHARS = 1 << 20


class NotebookError(ValueError):
    """A file that cannot be graded as a notebook; the message is for the student."""


@dataclass(frozen=True)
class Cell:
    """One cell: its position (0-based), type, source text and nbgrader metadata."""

    index: int
    cell_type: str
    source: str
    grade_id: str | None
    nbgrader: dict


def read_bytes(path: Path, limit: int, *, follow_symlinks: bool = True) -> bytes:
    """Read a regular file of at most ``limit`` bytes (never blocks on a FIFO)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise NotebookError(f"{path} does not exist") from None
    except OSError as exc:
        raise NotebookError(f"cannot open {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotebookError(f"{path} is not a regular file")
        if info.st_size > limit:
            raise NotebookError(f"{path} is larger than {limit >> 20} MB")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise NotebookError(f"{path} is larger than {limit >> 20} MB")
    return data


def read_json(data: bytes, what: str) -> Any:
    """Parse JSON with messages a student understands."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotebookError(f"{what} is not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{what} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                            f"{exc.msg}); was it saved completely?") from None
    except RecursionError:
        raise NotebookError(f"{what} is nested too deeply to be a notebook") from None


def read_notebook(path: Path, *, follow_symlinks: bool = True) -> dict:
    """Read and check a notebook file; return its JSON (``nbformat`` 4)."""
    nb = read_json(read_bytes(path, MAX_NOTEBOOK_BYTES, follow_symlinks=follow_symlinks),
                   path.name)
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError(f"{path.name} is not a Jupyter notebook (no list of cells)")
    if nb.get("nbformat") != 4:
        raise NotebookError(f"{path.name} has nbformat {nb.get('nbformat')!r}; expected 4 "
                            f"(open and save it with a current Jupyter)")
    return nb


def _source(cell: dict, index: int) -> str:
    src = cell.get("source", "")
    if isinstance(src, list) and all(isinstance(s, str) for s in src):
        src = "".join(src)
    if not isinstance(src, str):
        raise NotebookError(f"cell {index + 1} has a malformed source")
    return src


def cells(nb: dict) -> list[Cell]:
    """The notebook's cells, checked."""
    out = []
    for i, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise NotebookError(f"cell {i + 1} is malformed")
        meta = cell.get("metadata")
        nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
        nbg = nbg if isinstance(nbg, dict) else {}
        gid = nbg.get("grade_id")
        out.append(Cell(i, cell["cell_type"], _source(cell, i),
                        gid if isinstance(gid, str) else None, nbg))
    return out


def find_cell(all_cells: list[Cell], grade_id: str, function: str) -> tuple[Cell | None, str]:
    """The code cell of an exercise, and a note on how it was found.

    By ``grade_id`` first (the last such cell, as the last definition wins in
    a notebook), else by a cell that defines ``function`` (its metadata lost).
    """
    tagged = [c for c in all_cells if c.cell_type == "code" and c.grade_id == grade_id]
    if tagged:
        note = (f"{len(tagged)} cells have grade_id {grade_id!r}; the last one was graded"
                if len(tagged) > 1 else "")
        return tagged[-1], note
    pattern = re.compile(rf"^[ \t]*def[ \t]+{re.escape(function)}[ \t]*\(", re.MULTILINE)
    defining = [c for c in all_cells if c.cell_type == "code" and pattern.search(c.source)]
    if defining:
        return defining[-1], (f"the cell with grade_id {grade_id!r} is missing; graded the cell "
                              f"that defines {function}()")
    return None, ""
