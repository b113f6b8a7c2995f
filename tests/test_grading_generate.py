"""Generating exercises/ from solutions/: nbgrader's rules, and the check that they are current."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from grading_fixtures import FIXTURES, make_notebook, write_notebook

from rnncourse.cli import main
from rnncourse.grading import Options, grade_paths
from rnncourse.grading.generate import GenerateError, exercise_source, make_exercise, render
from rnncourse.grading.sandbox import landlock_abi

ROOT = Path(__file__).resolve().parents[1]


def test_solution_region_becomes_the_stub_at_its_indentation():
    src = (
        "def f(x):\n"
        '    """Doc."""\n'
        "    ### BEGIN SOLUTION\n"
        "    y = 2 * x\n"
        "    ### END SOLUTION\n"
        "    return y\n"
    )
    assert exercise_source(src, solution=True) == (
        "def f(x):\n"
        '    """Doc."""\n'
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError()\n"
        "    return y\n"
    )


def test_every_region_is_replaced_and_the_last_line_keeps_its_newline_state():
    src = ("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n\n"
           "def g():\n        ### BEGIN SOLUTION\n        return 2\n        ### END SOLUTION")
    assert exercise_source(src, solution=True) == (
        "def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\n"
        "def g():\n        # YOUR CODE HERE\n        raise NotImplementedError()")


def test_hidden_tests_are_removed_and_markdown_answers_stubbed():
    src = "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(0) == 0\n### END HIDDEN TESTS\n"
    assert exercise_source(src) == "assert f(1) == 2\n"
    md = "Answer:\n### BEGIN SOLUTION\nThe gradient vanishes.\n### END SOLUTION\n"
    assert exercise_source(md, cell_type="markdown", solution=True) == \
        "Answer:\nYOUR ANSWER HERE\n"
    # Markers quoted inside a line are text, not markers.
    assert exercise_source("Write between `### BEGIN SOLUTION` and ...") == \
        "Write between `### BEGIN SOLUTION` and ..."


@pytest.mark.parametrize("src, solution, message", [
    ("### BEGIN SOLUTION\nx = 1\n", False, "without '### END SOLUTION'"),
    ("x = 1\n### END SOLUTION\n", False, "without '### BEGIN SOLUTION'"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", False, "nested"),
    ("### BEGIN HIDDEN TESTS\nassert 1\n", False, "without '### END HIDDEN TESTS'"),
    ("def f():\n    return 1\n", True, "a solution cell without a '### BEGIN SOLUTION' region"),
])
def test_malformed_markers_are_errors(src, solution, message):
    with pytest.raises(GenerateError, match=message):
        exercise_source(src, solution=solution, where="nb, cell 3")


def test_make_exercise_clears_outputs_keeps_metadata_and_leaves_the_input_alone():
    nb = make_notebook()
    nb["cells"][2]["metadata"]["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00"}
    original = json.dumps(nb, sort_keys=True)
    ex = make_exercise(nb, "fx_rnn.ipynb")
    assert json.dumps(nb, sort_keys=True) == original
    assert len(ex["cells"]) == len(nb["cells"])
    for old, new in zip(nb["cells"], ex["cells"], strict=True):
        assert new.get("id") == old.get("id") and new["cell_type"] == old["cell_type"]
        assert new["metadata"].get("nbgrader") == old["metadata"].get("nbgrader")
        assert "execution" not in new["metadata"]
        if new["cell_type"] == "code":
            assert new["outputs"] == [] and new["execution_count"] is None
    text = render(ex)
    assert "### BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "count_rnn_params(1, 1) == 3" not in text  # the hidden test is gone
    assert "D * H + H * H + H" not in text  # and so is the solution
    assert text.count("# YOUR CODE HERE") == 3 and text.endswith("}\n")
    assert ex["metadata"] == nb["metadata"] and ex["nbformat"] == 4


def test_cli_generates_then_check_detects_drift(tmp_path, capsys):
    sol, out = tmp_path / "solutions", tmp_path / "exercises"
    write_notebook(sol / "fx_rnn.ipynb", make_notebook())
    args = ["--solutions", str(sol), "--out", str(out)]
    assert main(["exercises", "--check", *args]) == 1  # nothing generated yet
    assert "exercises/fx_rnn.ipynb is out of date" in capsys.readouterr().out
    assert main(["exercises", *args]) == 0
    assert capsys.readouterr().out == f"wrote {out / 'fx_rnn.ipynb'}\n"
    assert main(["exercises", "--check", *args]) == 0
    assert main(["exercises", *args]) == 0
    assert "already up to date" in capsys.readouterr().out
    # A hand edit of an exercise, a changed solution, a stale exercise: all drift.
    target = out / "fx_rnn.ipynb"
    generated = target.read_text()
    target.write_text(generated.replace("YOUR CODE HERE", "my answer"))
    assert main(["exercises", "--check", *args]) == 1
    target.write_text(generated)
    write_notebook(sol / "fx_rnn.ipynb", make_notebook({"count_params": "def count_rnn_params(D, H):\n    ### BEGIN SOLUTION\n    return 0\n    ### END SOLUTION\n"}))  # noqa: E501
    assert main(["exercises", "--check", *args]) == 1
    main(["exercises", *args])
    write_notebook(out / "old.ipynb", make_notebook())
    capsys.readouterr()
    assert main(["exercises", "--check", *args]) == 1
    assert "old.ipynb has no solution notebook" in capsys.readouterr().err


@pytest.mark.skipif(landlock_abi() < 1, reason="the grader needs Landlock (Linux >= 5.13)")
def test_every_check_fails_on_the_stub_and_passes_on_the_solution(tmp_path):
    sol = write_notebook(tmp_path / "solutions" / "fx_rnn.ipynb", make_notebook())
    main(["exercises", "--solutions", str(sol.parent), "--out", str(tmp_path / "exercises")])
    options = Options(jobs=4, tests_dir=FIXTURES)
    [solved] = grade_paths([sol], options)
    [stub] = grade_paths([tmp_path / "exercises" / "fx_rnn.ipynb"], options)
    assert [e.points for e in solved.exercises] == [1, 2, 3]
    assert [e.points for e in stub.exercises] == [0, 0, 0]
    assert all(re.search(r"not implemented yet", e.reason) for e in stub.exercises)


SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


@pytest.mark.skipif(not SOLUTIONS, reason="no solution notebooks yet")
def test_repository_exercises_are_up_to_date(capsys):
    # If this fails: run `rnncourse exercises` at the repository root and commit exercises/.
    rc = main(["exercises", "--check", "--solutions", str(ROOT / "solutions"), "--out",
               str(ROOT / "exercises")])
    assert rc == 0, capsys.readouterr()
