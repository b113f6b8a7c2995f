"""A tiny exercise notebook for the grader's tests, built in Python.

``fx_rnn.py`` beside this file is its spec (pass this folder as ``tests_dir``).
The notebook is generated rather than stored, so that nbval does not collect
it and each test can swap in the source of one cell.
"""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent

SOLUTIONS = {
    "count_params": '''\
def count_rnn_params(D, H):
    """Parameters of one RNN layer with D inputs and H hidden units."""
    ### BEGIN SOLUTION
    return D * H + H * H + H
    ### END SOLUTION
''',
    "rnn_step_forward": '''\
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """next_h = tanh(x Wx + prev_h Wh + b); returns (next_h, cache)."""
    ### BEGIN SOLUTION
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    cache = (x, prev_h, Wx, Wh, next_h)
    ### END SOLUTION
    return next_h, cache
''',
    "rnn_step_backward": '''\
def rnn_step_backward(dnext_h, cache):
    """Gradients (dx, dprev_h, dWx, dWh, db) of one step."""
    ### BEGIN SOLUTION
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    dx, dprev_h = da @ Wx.T, da @ Wh.T
    dWx, dWh, db = x.T @ da, prev_h.T @ da, da.sum(axis=0)
    ### END SOLUTION
    return dx, dprev_h, dWx, dWh, db
''',
}

CHECKS = {
    "count_params": '''\
assert count_rnn_params(3, 4) == 3 * 4 + 4 * 4 + 4
### BEGIN HIDDEN TESTS
assert count_rnn_params(1, 1) == 3
### END HIDDEN TESTS
''',
    "rnn_step_forward": '''\
h, _ = rnn_step_forward(np.zeros((2, 3)), np.zeros((2, 4)), np.ones((3, 4)), np.ones((4, 4)),
                        np.zeros(4))
assert h.shape == (2, 4) and np.all(h == 0)
''',
    "rnn_step_backward": '''\
g = rnn_step_backward(np.ones((2, 4)), rnn_step_forward(np.zeros((2, 3)), np.zeros((2, 4)),
                                                        np.ones((3, 4)), np.ones((4, 4)),
                                                        np.zeros(4))[1])
assert len(g) == 5
''',
}

POINTS = {"count_params": 1, "rnn_step_forward": 2, "rnn_step_backward": 3}


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def make_notebook(sources: dict[str, str | None] | None = None,
                  metadata: dict[str, bool] | None = None) -> dict:
    """The solution notebook, with the source of some cells replaced (None: cell removed).

    ``metadata={"rnn_step_backward": False}`` drops that cell's nbgrader metadata.
    """
    sources = {**SOLUTIONS, **(sources or {})}
    metadata = metadata or {}
    cells = [
        dict(cell_type="markdown", id="intro", metadata={},
             source=_lines("# Fixture\n\nThree exercises on one RNN step.")),
        dict(cell_type="code", id="setup", metadata={}, execution_count=1,
             source=_lines("import numpy as np"), outputs=[]),
    ]
    for gid, points in POINTS.items():
        if sources.get(gid) is None:
            continue
        meta = {"nbgrader": {"grade_id": gid, "points": points, "solution": True,
                             "grade": False, "locked": False, "schema_version": 3}}
        cells.append(dict(cell_type="code", id=f"ex-{gid}",
                          metadata=meta if metadata.get(gid, True) else {},
                          execution_count=2, source=_lines(sources[gid]), outputs=[]))
        check_meta = {"nbgrader": {"grade_id": f"check_{gid}", "points": 0, "solution": False,
                                   "grade": True, "locked": True, "schema_version": 3}}
        cells.append(dict(cell_type="code", id=f"check-{gid}", metadata=check_meta,
                          execution_count=3, source=_lines(CHECKS[gid]),
                          outputs=[{"name": "stdout", "output_type": "stream",
                                    "text": ["ok\n"]}]))
    return dict(cells=cells, metadata={"kernelspec": {"name": "python3",
                                                      "display_name": "Python 3",
                                                      "language": "python"}},
                nbformat=4, nbformat_minor=5)


def write_notebook(path: Path, nb: dict | str | bytes) -> Path:
    """Write a notebook (a dict, or raw text for malformed ones)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, dict):
        nb = json.dumps(nb, indent=1)
    path.write_bytes(nb.encode() if isinstance(nb, str) else nb)
    return path
