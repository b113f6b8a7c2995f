"""The book's figures use no text smaller than rnncourse.figures.MIN_FONT_PT (9 pt).

tests/test_site.py computes how large that smallest text is on a 390 px screen from
each figure's size; that bound holds only if no figure sets a smaller font. Read
from the source (the figure modules and the book notebooks' code), and from
matplotlib's own defaults.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import matplotlib as mpl
import pytest
from matplotlib.font_manager import font_scalings

from rnncourse.figures import MAX_WIDTH_IN, MIN_FONT_PT

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted((ROOT / "rnncourse" / "figures").glob("*.py"))
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
_SIZE_KEYWORDS = {"fontsize", "size", "labelsize", "title_fontsize"}


def _font_sizes(source: str) -> list[tuple[int, object]]:
    """(line, value) of every literal font size passed as a keyword argument."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg in _SIZE_KEYWORDS and isinstance(kw.value, ast.Constant):
                    found.append((node.lineno, kw.value.value))
    return found


def _points(value: object) -> float:
    if isinstance(value, str):  # "small", "x-small", ...: relative to the default 10 pt
        return font_scalings[value] * mpl.rcParamsDefault["font.size"]
    return float(value)


def test_the_threshold_is_what_the_browser_test_assumes() -> None:
    assert MIN_FONT_PT == 9 and MAX_WIDTH_IN <= 6.5


@pytest.mark.parametrize("module", MODULES, ids=[m.stem for m in MODULES])
def test_figure_module_sets_no_small_font(module: Path) -> None:
    small = [(line, v) for line, v in _font_sizes(module.read_text(encoding="utf-8"))
             if _points(v) < MIN_FONT_PT]
    assert not small, f"{module.name}: font sizes below {MIN_FONT_PT} pt at lines {small}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_code_sets_no_small_font(path: Path) -> None:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    small = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        lines = [ln for ln in "".join(cell["source"]).splitlines()
                 if not ln.lstrip().startswith(("%", "!"))]
        try:
            sizes = _font_sizes("\n".join(lines))
        except SyntaxError:
            continue
        small += [(i, v) for _, v in sizes if _points(v) < MIN_FONT_PT]
    assert not small, f"{path.name}: (cell, font size) below {MIN_FONT_PT} pt: {small}"


def test_matplotlib_defaults_are_not_smaller() -> None:
    defaults = mpl.rcParamsDefault
    for key in ("xtick.labelsize", "ytick.labelsize", "legend.fontsize", "axes.labelsize",
                "axes.titlesize", "figure.titlesize"):
        assert _points(defaults[key]) >= MIN_FONT_PT, (key, defaults[key])
