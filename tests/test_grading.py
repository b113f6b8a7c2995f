"""The grader's parts: comparison, plain-data transport, reading untrusted files, reports, CLI.

The adversarial battery is ``test_grading_adversarial.py``; generation of the
exercises is ``test_grading_generate.py``. Here the expected values are
written out by hand.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from grading_fixtures import FIXTURES, make_notebook, write_notebook
from grading_fixtures import SOLUTIONS as SOLUTIONS_FX

from rnncourse.cli import main as _main
from rnncourse.grading import (
    Exercise,
    GradeError,
    Limits,
    Notebook,
    Options,
    checks,
    find_submissions,
    report,
    sandbox,
)
from rnncourse.grading import grade as _grade
from rnncourse.grading import grade_paths as _grade_paths
from rnncourse.grading.compare import compare
from rnncourse.grading.engine import Prepared
from rnncourse.grading.notebook import NotebookError, cells, find_cell, read_bytes, read_notebook
from rnncourse.grading.runner import read_npz
from rnncourse.grading.sandbox import Unsupported, decode, encode, landlock_abi

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the sandbox needs POSIX")


# Grading refuses to run without Landlock (unless --allow-weak-sandbox): the tests that
# grade skip there, the others (comparisons, notebooks, reports) still run.
def _needs_landlock() -> None:
    if landlock_abi() < 1:
        pytest.skip("the grader needs Landlock (Linux >= 5.13) to grade")


def grade(*args, **kwargs):
    _needs_landlock()
    return _grade(*args, **kwargs)


def grade_paths(*args, **kwargs):
    _needs_landlock()
    return _grade_paths(*args, **kwargs)


def main(argv):
    if argv[:1] == ["grade"]:
        _needs_landlock()
    return _main(argv)

ROOT = Path(__file__).resolve().parents[1]
FAST = Options(limits=Limits(timeout=10), jobs=4, tests_dir=FIXTURES)


@pytest.fixture
def fixture_nb(tmp_path) -> Path:
    return write_notebook(tmp_path / "student" / "fx_rnn.ipynb", make_notebook())


# --------------------------------------------------------------------------- compare


def test_compare_agreeing_values():
    a = np.array([[1.0, -2.0], [0.0, 3.5]])
    assert compare(a, a + 1e-12, "x") is None
    assert compare(3, np.int64(3), "n") is None
    assert compare(2.5, np.float64(2.5) + 1e-9, "f") is None
    assert compare(1.0, 1, "f") is None  # an int where a float is expected is fine
    assert compare(np.array([1, 2, 3]), np.array([1, 2, 3], dtype=np.int32), "tokens") is None
    assert compare([1, 2, 3], np.array([1, 2, 3]), "ids") is None
    assert compare((np.ones(2), 2.0), [np.ones(2), 2.0], "pair") is None
    assert compare(np.zeros(0), np.zeros(0, dtype=np.int64), "empty") is None
    assert compare(np.float64(4.0), np.array(4.0), "s") is None


@pytest.mark.parametrize(
    "exp, got, message",
    [
        (np.ones((4, 3)), np.ones((3, 4)), r"^x has shape \(3, 4\), expected \(4, 3\)$"),
        (np.ones(3), np.ones(3, np.float32),
         r"^x has dtype float32, expected float64 \(every float array you return must be "
         r"float64, like the inputs\)$"),
        # the same policy where the reference is a list of numbers
        ([1.0, 2.0], np.array([1.0, 2.0], np.float32), r"^x has dtype float32, expected float64"),
        (np.ones(3), np.ones(3, np.int64), r"^x has dtype int64, expected float64 \(floating"),
        (np.ones(3, np.int64), np.ones(3), r"^x has dtype float64, expected integers"),
        (np.ones((2, 2)), np.array([[1, np.nan], [1, 1]]),
         r"^x contains NaN \(first at index \(0, 1\)\)$"),
        (np.ones(2), np.array([1, -np.inf]), r"^x contains infinity \(first at index \(1,\)\)$"),
        # |2.62 - 2| / 2 = 0.31, by hand
        (np.array([1.0, 2.0]), np.array([1.0, 2.62]),
         r"^x differs from the reference, max relative error 0\.31 \(at index \(1,\): got 2\.62, "
         r"expected 2\)$"),
        (np.array([0.0, 1.0]), np.array([0.5, 1.0]),
         r"^x differs from the reference, max absolute error 0\.5 \(at index \(0,\)"),
        (np.array([1, 5, 7]), np.array([1, 4, 6]),
         r"^x differs from the reference at 2 of 3 position\(s\) \(at index \(1,\): got 4, "
         r"expected 5\)$"),
        (np.ones(3), [1.0, 1.0, 1.0],
         r"^x is a list, expected a NumPy array of shape \(3,\) \(convert it with np\.array\)$"),
        (np.ones(3), 1.0, r"^x is the float 1, expected a NumPy array of shape \(3,\)$"),
        (12, 12.0, r"^x is the float 12, expected an integer$"),
        (12, 13, r"^x is 13, expected 12$"),
        (True, 1, r"^x is the integer 1, expected a boolean$"),
        (1.5, float("nan"), r"^x is NaN$"),
        (2.0, 2.5,
         r"^x differs from the reference, relative error 0\.25 \(got 2\.5, expected 2\)$"),
        ((1, 2), (1, 2, 3), r"^x has 3 items, expected 2$"),
        ([np.ones(2), 3], [np.ones(2), 4], r"^x\[1\] is 4, expected 3$"),
        ({"a": 1}, {"b": 1}, r"^x has keys \['b'\], expected \['a'\]$"),
        ("abc", "abd", r"^x is the string 'abd', expected the string 'abc'$"),
        (None, 0, r"^x is the integer 0, expected None$"),
    ],
)
def test_compare_reasons(exp, got, message):
    reason = compare(exp, got, "x")
    assert reason is not None and re.search(message, reason), reason


# --------------------------------------------------------------------------- plain data


def test_encode_decode_round_trip():
    value = (np.arange(6.0).reshape(2, 3), [1, 2.5, True, None, "tok"], {"h": np.int64(3)},
             np.float32(1.5))
    arrays: dict = {}
    back = decode(encode(value, arrays), arrays)
    assert isinstance(back, tuple) and len(back) == 4
    np.testing.assert_array_equal(back[0], value[0])
    assert back[1] == [1, 2.5, True, None, "tok"]
    assert back[2]["h"] == 3 and back[2]["h"].dtype == np.int64
    assert back[3] == np.float32(1.5) and back[3].dtype == np.float32
    assert all(type(a) is np.ndarray for a in arrays.values())


class _Sub(np.ndarray):
    pass


@pytest.mark.parametrize(
    "value, message",
    [
        (np.zeros(2).view(_Sub), r"out is a _Sub \(a subclass of numpy\.ndarray\)"),
        (np.array([object()]), r"out is an array of Python objects"),
        (np.ones(2, complex), r"out is an array of complex numbers"),
        (1 + 2j, r"out is a complex number"),
        (object(), r"out is an object of type object"),
        (2**70, r"out is an integer too large"),
        ({1: 2}, r"out is a dict with a non-string key int"),
        ("x" * 20_000, r"out is a string longer than 10000 characters"),
        ([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
         r"nested more than 32 levels deep"),
    ],
)
def test_encode_refuses_what_cannot_travel(value, message):
    with pytest.raises(Unsupported, match=message):
        encode(value, {}, "out")


@pytest.mark.parametrize("node", [
    {"t": "array", "k": "missing"}, {"t": "scalar", "k": "a"}, {"t": "list", "v": "no"},
    {"t": "float", "v": "1"}, {"t": "dict", "v": [[1, {"t": "none"}]]}, {"t": "code"}, [],
])
def test_decode_rejects_malformed_trees(node):
    with pytest.raises(ValueError):
        decode(node, {"a": np.zeros(2)})


# --------------------------------------------------------------------------- untrusted files


def _npz(tmp_path: Path, **members: bytes) -> Path:
    path = tmp_path / "r.npz"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _npy(arr: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def test_read_npz_reads_plain_arrays(tmp_path):
    path = tmp_path / "ok.npz"
    np.savez(path, a=np.arange(6.0).reshape(2, 3), b=np.array(7, np.int32),
             f=np.asfortranarray(np.arange(6).reshape(2, 3)))
    got = read_npz(path, 1 << 20)
    np.testing.assert_array_equal(got["a"], np.arange(6.0).reshape(2, 3))
    assert got["b"] == 7 and got["b"].dtype == np.int32
    np.testing.assert_array_equal(got["f"], np.arange(6).reshape(2, 3))


@pytest.mark.parametrize("members, message", [
    ({"x.npy": _npy(np.array([{"a": 1}], dtype=object), allow_pickle=True)}, "not a plain number"),
    ({"x.npy": _npy(np.ones(4))[:-8]}, "does not match its header"),
    ({"x.npy": _npy(np.ones(4)).replace(b"(4,)", b"(9999999999,)".ljust(4))},
     "does not match its header|bad"),
    ({"x.npy": b"not a npy file"}, "bad .npy header"),
    ({"evil.py": b"print(1)"}, "unexpected member"),
    ({"x.npy": _npy(np.ones(2, complex))}, "not a plain number"),
])
def test_read_npz_refuses_anything_else(tmp_path, members, message):
    with pytest.raises(ValueError, match=message):
        read_npz(_npz(tmp_path, **members), 1 << 20)


def test_read_npz_refuses_non_zip_symlinks_and_fifos(tmp_path):
    (tmp_path / "plain.npz").write_bytes(b"no zip")
    with pytest.raises(ValueError, match="not a valid .npz"):
        read_npz(tmp_path / "plain.npz", 1 << 20)
    np.savez(tmp_path / "real.npz", a=np.ones(2))
    (tmp_path / "link.npz").symlink_to(tmp_path / "real.npz")
    with pytest.raises(ValueError, match="cannot open"):
        read_npz(tmp_path / "link.npz", 1 << 20)
    os.mkfifo(tmp_path / "fifo.npz")  # opening must not block
    with pytest.raises(ValueError, match="not a regular file"):
        read_npz(tmp_path / "fifo.npz", 1 << 20)
    with pytest.raises(ValueError, match="larger than"):
        read_npz(tmp_path / "real.npz", 10)


def test_read_notebook_messages(tmp_path):
    bad = write_notebook(tmp_path / "bad.ipynb", '{\n  "cells": [,]\n}')
    with pytest.raises(NotebookError, match=r"bad\.ipynb is not valid JSON \(line 2, column 13"):
        read_notebook(bad)
    with pytest.raises(NotebookError, match="is not a Jupyter notebook"):
        read_notebook(write_notebook(tmp_path / "a.ipynb", '{"cells": 3}'))
    with pytest.raises(NotebookError, match="is not UTF-8"):
        read_notebook(write_notebook(tmp_path / "b.ipynb", b'{"cells": ["\xff"]}'))
    with pytest.raises(NotebookError, match="nested too deeply"):
        read_notebook(write_notebook(tmp_path / "c.ipynb", "[" * 100_000 + "]" * 100_000))
    with pytest.raises(NotebookError, match="does not exist"):
        read_notebook(tmp_path / "missing.ipynb")
    with pytest.raises(NotebookError, match="larger than"):
        read_bytes(write_notebook(tmp_path / "big.ipynb", "x" * 100), 10)


def test_find_cell_by_grade_id_then_by_function():
    nb = make_notebook()
    nb["cells"].append(dict(nb["cells"][-2]))  # a duplicated backward cell: the last one wins
    all_cells = cells(nb)
    cell, note = find_cell(all_cells, "rnn_step_backward", "rnn_step_backward")
    assert cell.index == len(nb["cells"]) - 1 and "2 cells have grade_id" in note
    lost = cells(make_notebook(metadata={"rnn_step_forward": False}))
    cell, note = find_cell(lost, "rnn_step_forward", "rnn_step_forward")
    assert cell is not None and "def rnn_step_forward(" in cell.source
    assert "graded the cell that defines rnn_step_forward()" in note
    assert find_cell(lost, "nothing", "no_such_function") == (None, "")


# --------------------------------------------------------------------------- submissions


def test_find_submissions(tmp_path):
    a = write_notebook(tmp_path / "mine" / "fx_rnn.ipynb", make_notebook())
    b = write_notebook(tmp_path / "mine" / "other.ipynb", make_notebook())
    subs = find_submissions([a, b])
    assert [(s.name, s.notebooks) for s in subs] == [("mine", (a, b))]
    klass = tmp_path / "class"
    write_notebook(klass / "alice" / "exercises" / "fx_rnn.ipynb", make_notebook())
    write_notebook(klass / "bob" / "fx_rnn.ipynb", make_notebook())
    (klass / "carol").mkdir()
    (klass / "carol" / "fx_rnn.ipynb").symlink_to(klass / "bob" / "fx_rnn.ipynb")
    (klass / ".git").mkdir()
    subs = find_submissions([klass])
    assert [s.name for s in subs] == ["alice", "bob", "carol"]
    assert subs[0].notebooks == (klass / "alice" / "exercises" / "fx_rnn.ipynb",)
    assert subs[2].notebooks == () and "symbolic link" in subs[2].notes[0]
    assert [s.name for s in find_submissions([klass / "bob"])] == ["bob"]
    with pytest.raises(GradeError, match="does not exist"):
        find_submissions([tmp_path / "nope"])
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(GradeError, match="not a notebook"):
        find_submissions([tmp_path / "x.txt"])


def test_checks_match_and_load():
    known = ["ch02_rnn", "ch02_rnn_extra", "fx_rnn"]
    assert checks.match("ch02_rnn", known) == "ch02_rnn"
    assert checks.match("ch02_rnn (1)", known) == "ch02_rnn"
    assert checks.match("ch02_rnn_extra_alice", known) == "ch02_rnn_extra"
    assert checks.match("ch02_rnnx", known) is None
    spec = checks.load("fx_rnn", FIXTURES)
    assert spec.name == "fx_rnn" and [e.points for e in spec.exercises] == [1, 2, 3]
    assert "fx_rnn" in checks.available(FIXTURES)
    with pytest.raises(checks.SpecError, match="no checks for notebook 'nope'"):
        checks.load("nope")


def _ex(gid, **kw):
    base = dict(grade_id=gid, function=gid, points=1, call=f"{gid}()", cases=lambda rng: [{}],
                outputs=("y",))
    return Exercise(**{**base, **kw})


@pytest.mark.parametrize("nb, message", [
    (Notebook("other", ()), r"NOTEBOOK\.name is 'other', expected 'fx'"),
    (Notebook("fx", (_ex("a"), _ex("a"))), "duplicate grade_id"),
    (Notebook("fx", (_ex("a", requires=("b",)),)), "requires unknown exercise 'b'"),
    (Notebook("fx", (_ex("a", requires=("b",)), _ex("b", requires=("a",)))), "requires itself"),
    (Notebook("fx", (_ex("a", call="a("),)), "call is not an expression"),
    (Notebook("fx", (_ex("a", outputs=()),)), "outputs must be"),
    ("not a notebook", "NOTEBOOK is a str"),
])
def test_spec_validation(nb, message):
    with pytest.raises(checks.SpecError, match=message):
        checks.validate(nb, "fx")


def test_a_broken_reference_is_the_graders_error():
    nb = Notebook("fx", (_ex("a", call="1 / zero", cases=lambda rng: [{"zero": 0}]),))
    with pytest.raises(GradeError, match=r"the reference fails on case 1: ZeroDivisionError"):
        Prepared(nb)
    nb = Notebook("fx", (_ex("a", call="object()"),))
    with pytest.raises(GradeError, match="the reference output cannot be compared"):
        Prepared(nb)


# --------------------------------------------------------------------------- grading


def test_grading_is_deterministic_and_sequential_equals_parallel(tmp_path):
    klass = tmp_path / "class"
    write_notebook(klass / "good" / "fx_rnn.ipynb", make_notebook())
    wrong = SOLUTION_WRONG_DWH
    write_notebook(klass / "wrong" / "fx_rnn.ipynb", make_notebook({"rnn_step_backward": wrong}))
    one = grade_paths([klass], Options(jobs=1, tests_dir=FIXTURES, seed=7))
    many = grade_paths([klass], Options(jobs=6, tests_dir=FIXTURES, seed=7))
    flat = [[(e.grade_id, e.points, e.reason) for e in r.exercises] for r in one]
    assert flat == [[(e.grade_id, e.points, e.reason) for e in r.exercises] for r in many]
    assert [r.seed for r in one + many] == [7] * 4
    assert [r.score for r in one] == [6, 3]
    assert one[1].exercises[2].reason.startswith(
        "`rnn_step_backward`: dWh differs from the reference, max relative error 0.5 (at index "
        "(0, 0)")
    assert "cases agree with the reference" in one[1].exercises[2].details


def test_hidden_cases_are_drawn_per_run_and_reproduced_by_the_seed(tmp_path):
    spec = checks.load("fx_rnn", FIXTURES)

    def cases(seed):
        prep = Prepared(spec, seed).exercises["rnn_step_backward"]
        return prep.case_npz, [repr(r) for r in prep.reference]

    assert cases(11) == cases(11)
    assert cases(11) != cases(12) and cases(11) != cases(None)
    write_notebook(tmp_path / "fx_rnn.ipynb", make_notebook())
    seeds = {grade_paths([tmp_path / "fx_rnn.ipynb"],
                         Options(jobs=2, tests_dir=FIXTURES))[0].seed for _ in range(2)}
    assert len(seeds) == 2 and None not in seeds  # a fresh seed per run, recorded


SOLUTION_WRONG_DWH = '''\
def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, 1.5 * (prev_h.T @ da), da.sum(axis=0)
'''


def test_honest_code_may_use_numpy_and_the_standard_library(tmp_path):
    tour = '''\
import collections, dataclasses, functools, itertools, math, random, statistics, warnings
import numpy.testing, numpy.linalg, numpy.random
import logging, subprocess, socket, json, re, heapq, bisect, fractions, copy, typing
import decimal, hashlib, zlib, bz2, lzma, datetime, csv, struct, tempfile, pathlib, pickle

def count_rnn_params(D, H):
    np.testing.assert_allclose(np.linalg.norm(np.ones(4)), 2.0)
    with tempfile.TemporaryDirectory() as tmp:  # inside the sandbox's own folder
        pathlib.Path(tmp, "x.bin").write_bytes(zlib.compress(pickle.dumps([D, H])))
        assert pickle.loads(zlib.decompress(pathlib.Path(tmp, "x.bin").read_bytes())) == [D, H]
    assert hashlib.sha256(b"").hexdigest().startswith("e3b0") and decimal.Decimal(1)
    rng = np.random.default_rng(0)
    counts = collections.Counter([D, H, H])
    return int(math.prod([1]) * (counts[D] * 0 + D * H + H * H + H))
'''
    nb = write_notebook(tmp_path / "fx_rnn.ipynb", make_notebook({"count_params": tour}))
    [r] = grade_paths([nb], FAST)
    assert r.score == r.max_score, [e.reason for e in r.exercises]
    if landlock_abi():  # the kernel's file-system rules and the seccomp filter were both on
        assert {e.sandbox for e in r.exercises} == {
            f"landlock on (ABI {landlock_abi()}); seccomp on"}


def test_unknown_notebooks_are_skipped_with_a_note(tmp_path, fixture_nb):
    extra = write_notebook(fixture_nb.parent / "scratch.ipynb", make_notebook())
    [r] = grade_paths([fixture_nb, extra], FAST)
    assert [nb.name for nb in r.notebooks] == ["fx_rnn"]
    assert any("skipped scratch.ipynb: no checks for it" in n for n in r.notes)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp is Linux only")
def test_seccomp_filter_alone_stops_processes_signals_and_sockets():
    # The kernel layer under the audit hook: run with the filter and *no* hook.
    probe = '''
import os, signal, socket, sys, threading
from rnncourse.grading.sandbox import _install_seccomp
state = _install_seccomp()
if state != "on":
    print("SKIP", state); sys.exit(0)
def blocked(f):
    try:
        f()
    except PermissionError:
        return True
    return False
t = threading.Thread(target=lambda: None); t.start(); t.join()
print(blocked(os.fork), blocked(lambda: os.execv("/bin/true", ["true"])),
      blocked(lambda: os.kill(os.getppid(), 0)), blocked(socket.socket),
      blocked(lambda: os.mkfifo("fifo")), blocked(lambda: os.kill(os.getpid(), 0)))
'''
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    if out.stdout.startswith("SKIP"):
        pytest.skip(out.stdout)
    assert out.stdout.split() == ["True"] * 5 + ["False"], out.stdout + out.stderr


# --------------------------------------------------------------------------- reports and CLI


def test_cli_grade_writes_json_csv_summary_and_never_touches_the_submission(
        tmp_path, fixture_nb, monkeypatch, capsys):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    before = fixture_nb.read_bytes(), fixture_nb.stat().st_mtime_ns
    rc = main(["grade", str(fixture_nb), "--tests", str(FIXTURES), "--json",
               str(tmp_path / "results.json"), "--csv", str(tmp_path / "grades.csv"),
               "--jobs", "3"])
    out = capsys.readouterr().out
    assert rc == 0
    assert (fixture_nb.read_bytes(), fixture_nb.stat().st_mtime_ns) == before
    assert sorted(p.name for p in fixture_nb.parent.iterdir()) == ["fx_rnn.ipynb"]
    assert out.splitlines()[0] == "student: 6 / 6 points"
    assert re.search(r"pass  rnn_step_backward\s+3 / 3", out)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["score"] == 6 and results["max_score"] == 6
    assert [t["name"] for t in results["tests"]] == [
        "fx_rnn: count_rnn_params (parameters of one RNN layer)",
        "fx_rnn: rnn_step_forward (one step forward)",
        "fx_rnn: rnn_step_backward (one step backward)"]
    assert {t["status"] for t in results["tests"]} == {"passed"}
    assert [(t["score"], t["max_score"]) for t in results["tests"]] == [(1, 1), (2, 2), (3, 3)]
    rows = list(csv.reader((tmp_path / "grades.csv").open()))
    assert rows == [["submission", "fx_rnn/count_params", "fx_rnn/rnn_step_forward",
                     "fx_rnn/rnn_step_backward", "total", "max_score"],
                    ["student", "1", "2", "3", "6", "6"]]
    text = summary.read_text()
    assert text.startswith("earlier step\n### rnncourse grade: student: 6 / 6 points")
    assert "| fx_rnn | `rnn_step_backward` | 3 / 3 | ✅ pass |" in text


def test_cli_exit_status_is_the_graders_decision(tmp_path, capsys):
    # The submission ends its process with status 0 in one exercise and 3 in another:
    # neither reaches the grader's exit status.
    nb = write_notebook(tmp_path / "fx_rnn.ipynb", make_notebook({
        "count_params": "import os\nos._exit(0)\n",
        "rnn_step_backward": "import sys\nsys.exit(3)\n"}))
    args = ["grade", str(nb), "--tests", str(FIXTURES)]
    assert main(args) == 0
    assert main([*args, "--fail-under", "100"]) == 1
    assert main([*args, "--fail-under", "33"]) == 0  # 2 of 6 points
    out, err = capsys.readouterr()
    assert "1 submission(s) below 100%: fx_rnn" not in out and "below 100%" in err


@pytest.mark.parametrize("argv, message", [
    (["grade", "missing.ipynb"], r"^rnncourse grade: error: missing\.ipynb does not exist$"),
    (["grade", "x.ipynb", "--tests", "nowhere"], r"--tests nowhere: not a directory$"),
    (["grade", "x.ipynb", "--timeout", "0"], r"argument --timeout: expected a positive number"),
    (["grade", "x.ipynb", "--fail-under", "120"], r"expected a percentage from 0 to 100"),
    (["exercises", "--solutions", "nowhere"], r"^rnncourse exercises: error: no notebooks in"),
])
def test_cli_errors_are_one_line_with_status_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and re.search(message, err), err


def test_cli_refuses_to_overwrite_a_submission(fixture_nb, capsys):
    before = fixture_nb.read_bytes()
    assert main(["grade", str(fixture_nb), "--tests", str(FIXTURES), "--json",
                 str(fixture_nb)]) == 2
    assert "refusing to overwrite the submission" in capsys.readouterr().err
    assert fixture_nb.read_bytes() == before


def test_class_reports(tmp_path):
    klass = tmp_path / "class"
    write_notebook(klass / "=cmd" / "fx_rnn.ipynb", make_notebook({"count_params": None}))
    write_notebook(klass / "bob" / "fx_rnn.ipynb", make_notebook())
    (klass / "carol").mkdir()
    write_notebook(klass / "carol" / "notes.ipynb", make_notebook())
    results = grade(find_submissions([klass]), FAST)
    rows = list(csv.reader(io.StringIO(report.csv_text(results))))
    assert rows[0][-2:] == ["total", "max_score"]
    assert rows[1:] == [["'=cmd", "0", "2", "3", "5", "6"], ["bob", "1", "2", "3", "6", "6"],
                        ["carol", "0", "0", "0", "0", "6"]]
    both = report.json_report(results)
    assert [s["name"] for s in both["submissions"]] == ["=cmd", "bob", "carol"]
    assert both["submissions"][0]["tests"][0]["status"] == "failed"
    assert "the notebook has no cell for this exercise" in both["submissions"][0]["tests"][0][
        "output"]
    text = report.text(results)
    assert "3 submissions graded, mean score 3.67 / 6" in text
    assert "| =cmd | 5 / 6 | 1 |" in report.markdown(results)


def test_python_dash_m_rnncourse_grade(fixture_nb):
    out = subprocess.run([sys.executable, "-m", "rnncourse", "grade", str(fixture_nb), "--tests",
                          str(FIXTURES), "--quiet"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0 and out.stdout == "", out.stderr


# --------------------------------------------------------------------------- the course's notebooks

SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
needs_solutions = pytest.mark.skipif(not SOLUTIONS, reason="no solution notebooks yet")


@needs_solutions
def test_every_solution_notebook_has_checks_and_the_points_agree():
    known = checks.available()
    assert sorted(p.stem for p in SOLUTIONS) == sorted(known)
    for path in SOLUTIONS:
        spec = checks.load(path.stem)
        graded = {c.grade_id: c.nbgrader.get("points") for c in cells(read_notebook(path))
                  if c.nbgrader.get("solution")}
        assert graded == {e.grade_id: e.points for e in spec.exercises}, path.name
        assert len(spec.exercises) >= 3, path.name


@needs_solutions
def test_solutions_get_full_marks():
    [r] = grade_paths(SOLUTIONS, Options(jobs=4))
    assert len(r.notebooks) == len(SOLUTIONS) >= 8
    assert [e.reason for e in r.exercises if not e.passed] == []
    assert r.score == r.max_score > 0


@needs_solutions
def test_generated_exercises_get_zero_with_not_implemented(tmp_path):
    main(["exercises", "--solutions", str(ROOT / "solutions"), "--out", str(tmp_path)])
    [r] = grade_paths(sorted(tmp_path.glob("*.ipynb")), Options(jobs=4))
    assert r.score == 0 and len(r.exercises) >= 24
    for e in r.exercises:
        assert re.match(rf"^`{e.function}`: not implemented yet \(NotImplementedError( in \w+)?\)$",
                        e.reason), e.reason


# --------------------------------------------------------------------------- the kernel's rules


def test_landlock_plan_splits_a_root_around_denied_folders(tmp_path):
    lib = tmp_path / "lib"
    for sub in ("json", "site-packages/numpy/core", "site-packages/rnncourse", "site-packages/x"):
        (lib / sub).mkdir(parents=True)
    (lib / "os.py").write_text("")
    plan = sandbox.landlock_plan([str(lib), str(lib / "site-packages" / "numpy")],
                                 deny=[str(lib / "site-packages" / "rnncourse")],
                                 soft_deny=[str(lib / "site-packages")])
    real = {os.path.relpath(p, tmp_path.resolve()): kind for p, kind in plan}
    # lib holds denied folders: its names may be listed, each entry is planned on its own;
    # site-packages is not readable through lib, but NumPy, named itself, is; the grader's
    # package never is, not even when named.
    assert real == {"lib": "list", "lib/json": "read", "lib/os.py": "read",
                    "lib/site-packages/numpy": "read"}
    assert sandbox.landlock_plan([str(lib / "site-packages" / "rnncourse")],
                                 deny=[str(lib / "site-packages" / "rnncourse")]) == []


def test_without_landlock_grading_refuses_unless_the_instructor_accepts(tmp_path, monkeypatch):
    from rnncourse.grading import engine

    nb = write_notebook(tmp_path / "fx_rnn.ipynb", make_notebook())
    monkeypatch.setattr(engine, "landlock_abi", lambda: 0)
    with pytest.raises(GradeError, match=r"no Landlock .* --allow-weak-sandbox"):
        grade_paths([nb], FAST)
    assert main(["grade", str(nb), "--tests", str(FIXTURES)]) == 2
    weak = Options(jobs=2, tests_dir=FIXTURES, allow_weak_sandbox=True)
    [r] = grade_paths([nb], weak)
    assert r.score == r.max_score and r.sandbox.startswith("WEAK SANDBOX")
    assert "note: WEAK SANDBOX: this kernel offers no Landlock" in report.text([r])
    assert "WEAK SANDBOX" in report.gradescope(r)["output"]


# --------------------------------------------------------------------------- student feedback

FORWARD_ZEROES_X = '''\
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    cache = (x.copy(), prev_h, Wx, Wh, next_h)
    x[...] = 0                      # the caller's x, changed
    return next_h, cache
'''

BACKWARD_IN_PLACE = '''\
def rnn_step_backward(grad_out, saved):
    x, prev_h, Wx, Wh, next_h = saved
    grad_out *= 1 - next_h**2       # the caller's upstream gradient, changed
    return grad_out @ Wx.T, grad_out @ Wh.T, x.T @ grad_out, prev_h.T @ grad_out, \\
        grad_out.sum(axis=0)
'''


def test_changing_an_input_in_place_is_named_by_function_and_argument(tmp_path):
    nb = write_notebook(tmp_path / "a" / "fx_rnn.ipynb",
                        make_notebook({"rnn_step_backward": BACKWARD_IN_PLACE}))
    [r] = grade_paths([nb], FAST)
    e = {e.grade_id: e for e in r.exercises}
    # Its gradients are right (computed from the changed array), yet the caller's
    # dnext_h is gone: the student's own parameter name is what the message uses.
    assert e["rnn_step_backward"].points == 0
    assert e["rnn_step_backward"].reason.startswith(
        "`rnn_step_backward`: `rnn_step_backward` changes its argument `grad_out` in place -- "
        "the caller's array is modified; work on a copy instead (e.g. `grad_out = "
        "grad_out.copy()`"), e["rnn_step_backward"].reason
    assert e["rnn_step_forward"].passed and e["count_params"].passed

    nb = write_notebook(tmp_path / "b" / "fx_rnn.ipynb",
                        make_notebook({"rnn_step_forward": FORWARD_ZEROES_X}))
    [r] = grade_paths([nb], FAST)
    e = {e.grade_id: e for e in r.exercises}
    assert "`rnn_step_forward` changes its argument `x` in place" in e["rnn_step_forward"].reason
    # The backward exercise is not blamed on the backward: the forward it calls did it.
    assert ("`rnn_step_forward`, which this exercise calls, changes its argument `x` in place"
            in e["rnn_step_backward"].reason)


def test_every_wrong_output_is_listed_and_the_call_uses_the_students_names(tmp_path):
    two_wrong = '''\
def rnn_step_backward(grad_out, saved):
    x, prev_h, Wx, Wh, next_h = saved
    da = grad_out * (1 - next_h**2)
    return 2 * (da @ Wx.T), da @ Wh.T, x.T @ da, 3 * (prev_h.T @ da), da.sum(axis=0)
'''
    nb = write_notebook(tmp_path / "fx_rnn.ipynb",
                        make_notebook({"rnn_step_backward": two_wrong}))
    [r] = grade_paths([nb], FAST)
    e = {e.grade_id: e for e in r.exercises}["rnn_step_backward"]
    assert re.match(r"`rnn_step_backward`: 2 of 5 outputs are wrong: dx differs from the "
                    r"reference, max relative error 1 .*; dWh differs from the reference, "
                    r"max relative error 2 ", e.reason)  # 2x and 3x the right values, e.reason
    assert "case 1: rnn_step_backward(grad_out=array (1, 1) float64, saved=tuple of 5)" \
        in e.details


def test_a_wrong_function_that_an_exercise_calls_is_named_as_the_cause(tmp_path):
    off_by_one = SOLUTIONS_FX["rnn_step_forward"].replace("+ b)", "+ b + 1)")
    nb = write_notebook(tmp_path / "fx_rnn.ipynb",
                        make_notebook({"rnn_step_forward": off_by_one}))
    [r] = grade_paths([nb], FAST)
    e = {e.grade_id: e for e in r.exercises}
    assert not e["rnn_step_forward"].passed
    assert e["rnn_step_backward"].reason.startswith(
        "`rnn_step_backward`: this exercise failed because `rnn_step_forward`, which it calls, "
        "is wrong (see its own exercise; fix that first) -- here: "), e["rnn_step_backward"].reason


def test_the_exact_notebook_name_wins_over_copies(tmp_path):
    folder = tmp_path / "student"
    copy = write_notebook(folder / "fx_rnn (1).ipynb",
                          make_notebook({"count_params": "def count_rnn_params(D, H):\n"
                                                         "    return 0\n"}))
    exact = write_notebook(folder / "fx_rnn.ipynb", make_notebook())
    [r] = grade_paths([folder], FAST)
    assert [nb.path for nb in r.notebooks] == [str(exact)]
    assert r.score == r.max_score
    assert f"skipped {copy}: {exact} is graded as fx_rnn (the exact name wins over copies)" \
        in r.notes


def test_names_with_newlines_stay_on_one_line_in_every_report(tmp_path):
    folder = tmp_path / "class" / "evil\nname\r\x1b[2J"
    write_notebook(folder / "fx_rnn.ipynb", make_notebook())
    write_notebook(tmp_path / "class" / "other" / "fx_rnn.ipynb", make_notebook())
    results = grade_paths([tmp_path / "class"], FAST)
    for text in (report.text(results, verbose=True), report.markdown(results),
                 report.markdown(results[:1])):
        for line in text.splitlines():
            assert "\x1b" not in line and "\r" not in line
            assert not line.startswith("name"), text  # the newline did not split a line
    assert "evil?name??[2J" in report.text(results, verbose=True)
    assert "\n" not in report.gradescope(results[0])["output"].split("\n")[0]
    rows = list(csv.reader(io.StringIO(report.csv_text(results))))
    assert len(rows) == 3 and rows[1][0] == "evil?name??[2J"


def test_memory_exhausted_in_a_thread_is_reported_as_memory(tmp_path):
    hog = '''\
import threading

def count_rnn_params(D, H):
    out = []
    worker = threading.Thread(target=lambda: out.append(np.ones((10**5, 10**5))))
    worker.start()
    worker.join()
    return out[0].size
'''
    nb = write_notebook(tmp_path / "fx_rnn.ipynb", make_notebook({"count_params": hog}))
    [r] = grade_paths([nb], FAST)
    e = {e.grade_id: e for e in r.exercises}["count_params"]
    assert e.reason.startswith("`count_rnn_params`: used more than 512 MB of memory (in a "
                               "thread"), e.reason


@needs_solutions
def test_hidden_cases_pass_non_default_arguments(tmp_path):
    """numerical_gradient(f, x, h=1e-5): a step that ignores h fails where h = 0.05."""
    nb = json.loads((ROOT / "solutions" / "ch04_bptt.ipynb").read_text(encoding="utf-8"))
    ignores_h = '''\
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + 1e-5
        f_plus = f()
        x[i] = old - 1e-5
        f_minus = f()
        x[i] = old
        grad[i] = (f_plus - f_minus) / 2e-5
    return grad
'''
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "numerical_gradient":
            cell["source"] = ignores_h
    path = tmp_path / "ch04_bptt.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    [r] = grade_paths([path], Options(jobs=2, seed=1))
    e = {e.grade_id: e for e in r.exercises}
    assert re.match(r"`numerical_gradient`: grad differs from the reference, .* \(case 4 of 5\)",
                    e["numerical_gradient"].reason), e["numerical_gradient"].reason
    assert ("case 4: numerical_gradient(f=a function, x=array (1, 3) float64, h=0.05)"
            in e["numerical_gradient"].details)
    assert all(x.passed for x in r.exercises if x.grade_id != "numerical_gradient")


def test_the_seed_is_chosen_with_a_flag_and_shown_in_every_report(tmp_path, capsys):
    nb = write_notebook(tmp_path / "fx_rnn.ipynb", make_notebook())
    out = tmp_path / "results.json"
    assert main(["grade", str(nb), "--tests", str(FIXTURES), "--seed", "4242",
                 "--json", str(out)]) == 0
    reproduce = "hidden cases drawn with seed 4242 (rnncourse grade --seed 4242 reproduces them)"
    assert reproduce in capsys.readouterr().out
    assert reproduce in json.loads(out.read_text())["output"]
