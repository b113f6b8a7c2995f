"""scripts/format_notebooks.py: code cells formatted to fit the website's code column."""

from __future__ import annotations

import ast
import functools
import importlib.util
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
# Notebooks another branch is editing, formatted once it is merged (empty: none).
UNFORMATTED_FOR_NOW: set[str] = set()


@functools.cache
def _script():
    """The script, loaded once (each load would put ``scripts/`` on ``sys.path`` again)."""
    spec = importlib.util.spec_from_file_location(
        "format_notebooks", ROOT / "scripts" / "format_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


needs_ruff = pytest.mark.skipif(
    not (Path(sys.executable).with_name("ruff").is_file() or shutil.which("ruff")),
    reason="ruff is not installed")


def test_a_long_string_is_split_into_adjacent_literals_of_the_same_value():
    fmt = _script()
    source = ('print(\n    f"{name:8s} weights and context equal the equations: {ok}, and the '
              'rest {x!r} of a very long line"\n)')
    wrapped = fmt.wrap_long_lines(source, 40)
    assert all(len(line) <= 40 for line in wrapped.splitlines()), wrapped
    assert ast.dump(ast.parse(wrapped)) == ast.dump(ast.parse(source))
    printed: list[str] = []
    for code in (source, wrapped):
        exec(code, {"print": printed.append, "name": "dot", "ok": True, "x": [1]})
    assert printed[0] == printed[1] and "context equal the equations: True" in printed[0]


def test_a_long_comment_is_wrapped_above_its_code_and_a_field_is_never_cut():
    fmt = _script()
    source = ("x = 1  # a comment that is far too long for the forty columns here\n"
              'y = f"{x + 1:>30d}"')
    wrapped = fmt.wrap_long_lines(source, 40)
    lines = wrapped.splitlines()
    assert lines[-2:] == ["x = 1", 'y = f"{x + 1:>30d}"']  # one field: left as it is
    assert all(line.startswith("# ") and len(line) <= 40 for line in lines[:-2])


@needs_ruff
def test_install_cells_and_cells_ruff_cannot_parse_are_left_alone():
    fmt = _script()
    nb = nbformat.v4.new_notebook()
    install = "# rnncourse: install what this chapter needs when it is missing\nimport  os"
    nb.cells = [nbformat.v4.new_code_cell(install), nbformat.v4.new_code_cell("%time x=1"),
                nbformat.v4.new_code_cell("x=[1,2]")]
    changed, unparsed = fmt.format_notebook(nb)
    assert (changed, unparsed) == (1, [1])
    assert [c.source for c in nb.cells] == [install, "%time x=1", "x = [1, 2]"]


NOTEBOOKS = sorted([*(ROOT / "book").glob("*.ipynb"), *(ROOT / "solutions").glob("*.ipynb"),
                   *(ROOT / "exercises").glob("*.ipynb")])


@needs_ruff
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_code_is_formatted_to_fit_the_column(path: Path):
    """Book, solutions and exercises alike (``make exercises`` after formatting the
    solutions: the exercises are generated from them)."""
    if path.name in UNFORMATTED_FOR_NOW:
        pytest.skip("formatted after the branch that edits it is merged")
    nb = nbformat.read(path, as_version=4)
    before = [c.source for c in nb.cells]
    _script().format_notebook(nb)
    assert [c.source for c in nb.cells] == before, (
        f"run `python scripts/format_notebooks.py {path.relative_to(ROOT)}`")
    limit = _script().LINE_LENGTH
    long = [line for c in nb.cells if c.cell_type == "code"
            and "hide-input" not in c.metadata.get("tags", [])
            for line in c.source.splitlines() if len(line) > limit]
    assert not long, f"lines too long for the code column: {long}"


def test_a_trailing_comment_of_a_long_line_goes_above_it_unless_two_spaces_make_it_fit():
    fmt = _script()
    long = "    scale = min(max_norm / (norm + 1e-6), 1.0)          # clip by the global norm"
    short = "x = onehot[ids]                        # (1, L, K)"
    lifted = fmt.lift_comments(f"{long}\n{short}", 60).splitlines()
    assert lifted == ["    # clip by the global norm",
                      "    scale = min(max_norm / (norm + 1e-6), 1.0)", short]
    assert fmt.fit(long.strip(), 50) == ("# clip by the global norm\n"
                                         "scale = min(max_norm / (norm + 1e-6), 1.0)")
