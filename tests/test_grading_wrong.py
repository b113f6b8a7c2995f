"""Plausible wrong solutions (``grading_fixtures/wrong_solutions.py``) fail everywhere.

Each one must be rejected by its exercise's public check cell (run after the notebook's
earlier cells, as a student runs it) and by the grader (a copy of the solution notebook
with that one cell replaced, graded in the sandbox). ``make test-mutants`` runs the same
solutions with every mutant of every exercise; one exercise of it runs here.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from grading_fixtures.wrong_solutions import WRONG

from rnncourse.grading import Options, grade_paths
from rnncourse.grading.mutants import (
    _exercise,
    candidates,
    hidden_verdict,
    public_verdict,
    report,
    run,
)
from rnncourse.grading.sandbox import landlock_abi

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
CASES = [(stem, gid, label) for (stem, gid), wrong in WRONG.items() for label in wrong]


def with_cell(stem: str, grade_id: str, source: str) -> dict:
    """The solution notebook with the cell of ``grade_id`` replaced by ``source``."""
    nb = json.loads((SOLUTIONS / f"{stem}.ipynb").read_text())
    [cell] = [c for c in nb["cells"]
              if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id]
    cell["source"] = source.splitlines(keepends=True)
    return nb


@pytest.mark.parametrize(("stem", "grade_id", "label"), CASES)
def test_the_public_check_rejects_it(stem, grade_id, label):
    e = _exercise(SOLUTIONS, stem, grade_id)
    assert public_verdict(e, e.cells[e.index][2]) == "", "the solution itself must pass"
    assert public_verdict(e, WRONG[stem, grade_id][label]), label


@pytest.mark.parametrize(("stem", "grade_id", "label"), CASES)
def test_the_hidden_cases_reject_it_in_every_run(stem, grade_id, label):
    e = _exercise(SOLUTIONS, stem, grade_id)
    for seed in range(8):
        assert hidden_verdict(e, e.cells[e.index][2], seed) == ""
        assert hidden_verdict(e, WRONG[stem, grade_id][label], seed), (label, seed)


def test_a_forward_step_without_its_cache_is_told_so():
    wrong = WRONG["ch06_lstm", "lstm_step_forward"]["no cache returned"]
    e = _exercise(SOLUTIONS, "ch06_lstm", "lstm_step_forward")
    assert public_verdict(e, wrong) == (
        "CheckFailed: `lstm_step_forward` returned 2 values, but it must return 3, "
        "(next_h, next_c, cache): `cache` is missing")


@pytest.mark.skipif(sys.platform == "win32" or landlock_abi() < 1,
                    reason="the grader needs Landlock to grade")
def test_the_grader_rejects_every_wrong_solution(tmp_path):
    for i, (stem, gid, label) in enumerate(CASES):
        folder = tmp_path / f"s{i}"
        folder.mkdir()
        nb = with_cell(stem, gid, WRONG[stem, gid][label])
        (folder / f"{stem}.ipynb").write_text(json.dumps(nb))
    results = grade_paths([tmp_path], Options(jobs=2))
    assert len(results) == len(CASES)
    for (stem, gid, label), r in zip(CASES, sorted(results, key=lambda r: int(r.name[1:])),
                                     strict=True):
        e = {x.grade_id: x for x in r.exercises}
        assert e[gid].points == 0 and e[gid].reason, (stem, gid, label)
        others = [x for x in r.exercises if x.grade_id != gid and not x.passed]
        if (stem, gid) == ("ch06_lstm", "lstm_step_forward"):
            missing = ("`lstm_step_forward` returned 2 values, but it must return 3, "
                       "(next_h, next_c, cache): `cache` is missing")
            assert e[gid].reason.startswith(f"`lstm_step_forward`: {missing} (case 1 of")
            back = e["lstm_step_backward"].reason
            assert missing in back and "IndexError" not in back, back
            assert back.startswith("`lstm_step_backward`: this exercise failed because "
                                   "`lstm_step_forward`, which it calls, is wrong"), back
        else:  # an exercise that builds on it fails too, and says so
            for x in others:
                assert x.reason.startswith(f"`{x.function}`: this exercise failed because "
                                           f"`{e[gid].function}`, which it calls, is wrong"), \
                    x.reason


def test_the_mutation_tool_on_one_exercise():
    """Every mutant of clip_by_norm and the wrong solution: killed, or shown equivalent."""
    cands = candidates(SOLUTIONS, ["ch05_gradients"], WRONG, only=["clip_by_norm"])
    assert len(cands) >= 10
    assert any(c.kind == "wrong" for c in cands)
    assert {c.label.split(" (line")[0] for c in cands} >= {
        "sign flip (+ to -)", "dropped term (right of +, e.g. a bias)", "comparison off by one",
        "float32 result", "dropped copy (works in place)"}
    verdicts = run(SOLUTIONS, cands, seeds=[1, 2], jobs=1)
    text, ok = report(verdicts)
    assert ok, text
    line = next(x for x in text.splitlines() if x.startswith("ch05_gradients clip_by_norm"))
    assert re.fullmatch(r"ch05_gradients clip_by_norm +\d+ +2 +\d+ +100% +\d+ +100%", line), line


# --------------------------------------------------------------------------- check cells = grader

HELPER_CELL = '''\
def scale_for(grads, max_norm):
    return max_norm / (global_norm(grads) + 1e-6)
'''

USES_HELPER = '''\
def clip_by_norm(grads, max_norm):
    scale = scale_for(grads, max_norm)
    return [g * scale if scale < 1 else g.copy() for g in grads]
'''


def test_a_helper_from_another_cell_fails_in_the_check_cell_and_in_the_grader(tmp_path):
    """The check cell runs the exercise's cell on its own, as the grader does."""
    e = _exercise(SOLUTIONS, "ch05_gradients", "clip_by_norm")
    public = public_verdict(e, HELPER_CELL + "\n\n" + USES_HELPER)
    assert public == "", "in one cell, the helper is fine"
    # The helper in a cell of its own, run before: the check cell says what the grader will.
    from rnncourse.grading.mutants import _prefix, run_source

    ns = _prefix(e)
    run_source(HELPER_CELL, ns, "<helper cell>")
    run_source(USES_HELPER, ns, "<exercise cell>")
    with pytest.raises(AssertionError, match=(
            r"^`clip_by_norm` uses `scale_for`, which another cell of your notebook defines; "
            r"the autograder runs the cell of `clip_by_norm` on its own, after only the "
            r"setup's definitions and the cells of `global_norm`, so it would fail there "
            r"\(NameError: name 'scale_for' is not defined\): define `scale_for` inside the "
            r"cell of `clip_by_norm`$")):
        run_source(e.check, ns, "<check cell>")
    if sys.platform == "win32" or landlock_abi() < 1:
        pytest.skip("the grader needs Landlock to grade")
    nb = with_cell("ch05_gradients", "clip_by_norm", USES_HELPER)
    index = next(i for i, c in enumerate(nb["cells"])
                 if c["metadata"].get("nbgrader", {}).get("grade_id") == "clip_by_norm")
    nb["cells"].insert(index, {"cell_type": "code", "execution_count": None, "id": "helper",
                               "metadata": {}, "outputs": [],
                               "source": HELPER_CELL.splitlines(keepends=True)})
    path = tmp_path / "ch05_gradients.ipynb"
    path.write_text(json.dumps(nb))
    [r] = grade_paths([path], Options(jobs=2))
    e = {x.grade_id: x for x in r.exercises}["clip_by_norm"]
    assert e.points == 0
    assert e.reason.startswith("`clip_by_norm`: raised NameError: name 'scale_for' is not "
                               "defined"), e.reason
    assert ("-- the autograder runs this exercise's cell on its own, after only the setup's "
            "definitions and the cells of the exercises it builds on: define what it uses "
            "inside the cell (case 1 of 6)") in e.reason, e.reason


def test_a_blank_exercise_notebook_says_not_implemented_in_one_line_in_jupyter(tmp_path):
    """In a real kernel: the check cell's error is one line, no traceback of the package."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(ROOT / "exercises" / "ch05_gradients.ipynb", as_version=4)
    nb.cells = nb.cells[:11]  # setup, global_norm and its check, clip_by_norm and its check
    client = nbclient.NotebookClient(nb, timeout=120, allow_errors=True,
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    errors = {c.metadata.get("nbgrader", {}).get("grade_id"): o for c in nb.cells
              if c.cell_type == "code" for o in c.outputs if o.output_type == "error"}
    assert set(errors) == {"check_global_norm", "check_clip_by_norm"}
    for gid, error in errors.items():
        name = gid.removeprefix("check_")
        assert error.ename == "NotImplementedYet"
        assert error.traceback == [
            f"NotImplementedYet: `{name}` is not implemented yet: replace "
            f"`raise NotImplementedError()` in its cell with your code, run that cell, then "
            f"this one"], error.traceback


# --------------------------------------------------------------------------- partial credit

# Right for N = 1 only: (x Wx).sum(axis=0) collapses the batch, which is harmless for one row.
BATCH_OF_ONE = '''\
def gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
    H = prev_h.shape[1]
    a = x @ Wx + bx
    a = np.broadcast_to(a.sum(axis=0), (x.shape[0], 3 * H))
    c = prev_h @ Wh + bh
    r = sigmoid(a[:, :H] + c[:, :H])
    z = sigmoid(a[:, H:2 * H] + c[:, H:2 * H])
    n = np.tanh(a[:, 2 * H:] + r * c[:, 2 * H:])
    return (1 - z) * n + z * prev_h
'''


@pytest.mark.skipif(sys.platform == "win32" or landlock_abi() < 1,
                    reason="the grader needs Landlock to grade")
def test_partial_credit_per_hidden_case_is_an_instructors_option(tmp_path):
    from rnncourse.grading.checks.ch08_gru import NOTEBOOK

    nb = with_cell("ch08_gru", "gru_step_forward", BATCH_OF_ONE)
    path = tmp_path / "ch08_gru.ipynb"
    path.write_text(json.dumps(nb))
    ex = next(e for e in NOTEBOOK.exercises if e.grade_id == "gru_step_forward")
    cases = ex.cases(np.random.default_rng(NOTEBOOK.seed))
    ones = sum(c["x"].shape[0] == 1 for c in cases)
    assert 0 < ones < len(cases)
    [all_or_nothing] = grade_paths([path], Options(jobs=2, seed=0))
    [partial] = grade_paths([path], Options(jobs=2, seed=0, partial_credit=True))
    a = {e.grade_id: e for e in all_or_nothing.exercises}["gru_step_forward"]
    p = {e.grade_id: e for e in partial.exercises}["gru_step_forward"]
    assert a.points == 0 and a.reason == p.reason
    assert re.search(r"next_h differs from the reference, max relative error [\d.e+-]+ "
                     r"\(at index \(\d+, \d+\): got [-\d.e+]+, expected [-\d.e+]+\) "
                     r"\(case \d of \d\)$", p.reason), p.reason
    assert p.points == round(ex.points * ones / len(cases), 2), (p.points, ones)
    # The exercises that do not call it are right: full points.
    full = {e.grade_id for e in partial.exercises if e.points == e.max_points}
    assert full == {"gru_step_forward_cho", "count_gru_params", "gru_step_backward"}, full


@pytest.mark.skipif(sys.platform == "win32" or landlock_abi() < 1,
                    reason="the grader needs Landlock to grade")
def test_partial_credit_from_the_command_line(tmp_path):
    """`rnncourse grade --partial-credit` passes the option through: the same batch-of-one
    GRU scores 0 without it and a share of its points with it."""
    from rnncourse.cli import main

    nb = with_cell("ch08_gru", "gru_step_forward", BATCH_OF_ONE)
    path = tmp_path / "ch08_gru.ipynb"
    path.write_text(json.dumps(nb))
    points = {}
    for flag in ([], ["--partial-credit"]):
        out = tmp_path / f"r{len(flag)}.json"
        main(["grade", str(path), "--seed", "0", "--json", str(out), "--quiet", *flag])
        tests = json.loads(out.read_text())["tests"]     # Gradescope's results.json layout
        points[bool(flag)] = next(t["score"] for t in tests
                                  if t["name"].startswith("ch08_gru: gru_step_forward ("))
    assert points[False] == 0 and 0 < points[True] < 4, points
