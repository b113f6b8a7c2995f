"""Attacks on the instructor's path: weak mode, hostile repositories, backdated commits,
Markdown in exception text.

Each is graded beside an honest student: the attacker gets nothing it did not earn, the
honest student keeps full marks, and the class's run completes with its gradebook.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import pytest
from grading_fixtures import FIXTURES, make_notebook, write_notebook
from test_grading_class import (  # the autouse fixture applies here too
    BEFORE,
    DEADLINE,
    SOLVED,
    _git,
    _head,
    _no_retry_delay,  # noqa: F401
    make_repo,
)

from rnncourse.cli import main
from rnncourse.grading import engine, roster, runner
from rnncourse.grading.sandbox import landlock_abi

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="the sandbox needs POSIX"),
    pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
    pytest.mark.skipif(landlock_abi() < 1, reason="the grader needs Landlock (Linux >= 5.13)"),
]

WEAK_MESSAGE = "weak mode lets any student set their own score"


@pytest.fixture
def checks_dir(tmp_path) -> Path:
    d = tmp_path / "private-checks"
    d.mkdir()
    shutil.copy(FIXTURES / "fx_rnn.py", d / "fx_rnn.py")
    return d


def _grade_class(tmp_path: Path, checks_dir: Path, rows: dict[str, Path], *extra: str
                 ) -> tuple[int, dict[str, dict], Path]:
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text("name,repository\n" + "".join(f"{n},{p}\n" for n, p in rows.items()))
    out = tmp_path / "out"
    rc = main(["grade-class", str(roster_csv), "--out", str(out), "--tests", str(checks_dir),
               "--allow-local", "--jobs", "2", "-q", *extra])
    by = {r["name"]: r for r in csv.DictReader((out / "gradebook.csv").open())} \
        if (out / "gradebook.csv").exists() else {}
    return rc, by, out


# --------------------------------------------------------------------------- 6. weak mode


@pytest.mark.parametrize("command", [
    ["grade-class", "roster.csv", "--out", "out", "--allow-weak-sandbox"],
    ["gradescope", "--out", "a.zip", "--allow-weak-sandbox", "--source",
     "rnncourse @ git+https://github.com/ORG/rnncourse@" + "a" * 40],
], ids=["grade-class", "gradescope"])
def test_weak_mode_is_refused_where_students_are_graded(tmp_path, monkeypatch, capsys,
                                                        command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "roster.csv").write_text("name,repository\na,https://example.org/a\n")
    assert main(command) == 2
    err = capsys.readouterr().err
    assert WEAK_MESSAGE in err, err
    assert not (tmp_path / "out").exists() and not (tmp_path / "a.zip").exists()


def test_a_weak_bundle_is_refused_inside_gradescope_too(tmp_path, checks_dir):
    """A bundle whose config asks for weak mode (an old bundle): refused, results.json says so."""
    from rnncourse.grading import gradescope

    root = tmp_path / "autograder"
    (root / "source" / "checks").mkdir(parents=True)
    shutil.copy(checks_dir / "fx_rnn.py", root / "source" / "checks" / "fx_rnn.py")
    (root / "source" / "config.json").write_text(json.dumps(dict(
        notebooks=["fx_rnn"], timeout=5, memory_mb=256, max_output=1 << 20,
        allow_weak_sandbox=True, max_score=6)))
    write_notebook(root / "submission" / "fx_rnn.ipynb", make_notebook())
    with pytest.raises(engine.GradeError, match=WEAK_MESSAGE):
        gradescope.run(root)
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["score"] == 0 and WEAK_MESSAGE in data["output"]


def test_checks_are_all_loaded_before_any_sandbox_runs(tmp_path, checks_dir, monkeypatch):
    """The weak-mode forgery: a check module rewritten by a sandbox and executed afterwards.

    Here every load of a check after the first sandbox started fails the test, for the
    notebooks the students graded and for the one nobody submitted (scored by complete()).
    """
    from rnncourse.grading import checks

    shutil.copy(checks_dir / "fx_rnn.py", checks_dir / "fx_more.py")
    text = (checks_dir / "fx_more.py").read_text().replace('name="fx_rnn"', 'name="fx_more"')
    (checks_dir / "fx_more.py").write_text(text)
    started: list[bool] = []
    original_run, original_load = runner.run_sandbox, checks.load

    def run_sandbox(*args, **kwargs):
        started.append(True)
        return original_run(*args, **kwargs)

    def load(*args, **kwargs):
        assert not started, f"checks.load{args} after a sandbox ran"
        return original_load(*args, **kwargs)

    monkeypatch.setattr(engine, "run_sandbox", run_sandbox)
    monkeypatch.setattr(checks, "load", load)
    monkeypatch.setattr(roster, "_SPECS", {})
    repos = tmp_path / "repos"
    repos.mkdir()
    alice = make_repo(repos, "alice", [(BEFORE, {"exercises/fx_rnn.ipynb": SOLVED})])
    rc, by, _ = _grade_class(tmp_path, checks_dir, {"alice": alice}, "--deadline", DEADLINE)
    assert rc == 0 and started
    assert by["alice"]["total"] == "6" and by["alice"]["max_score"] == "12"
    # and the student's command: grade --all-notebooks
    monkeypatch.setattr(roster, "_SPECS", {})
    started.clear()
    nb = write_notebook(tmp_path / "me" / "fx_rnn.ipynb", make_notebook())
    assert main(["grade", str(nb), "--tests", str(checks_dir), "--all-notebooks", "-q"]) == 0
    assert started


def test_grade_all_notebooks_keeps_the_seed_and_the_weak_marking(tmp_path, checks_dir,
                                                                 monkeypatch):
    monkeypatch.setattr(engine, "landlock_abi", lambda: 0)  # a kernel without Landlock
    nb = write_notebook(tmp_path / "me" / "fx_rnn.ipynb", make_notebook())
    shutil.copy(checks_dir / "fx_rnn.py", checks_dir / "fx_more.py")
    text = (checks_dir / "fx_more.py").read_text().replace('name="fx_rnn"', 'name="fx_more"')
    (checks_dir / "fx_more.py").write_text(text)
    out = tmp_path / "r.json"
    assert main(["grade", str(nb), "--tests", str(checks_dir), "--all-notebooks",
                 "--allow-weak-sandbox", "--seed", "1234", "--json", str(out), "-q"]) == 0
    data = json.loads(out.read_text())
    assert (data["score"], data["max_score"]) == (6, 12)
    assert "hidden cases drawn with seed 1234" in data["output"]
    assert "WEAK SANDBOX" in data["output"]


# --------------------------------------------------------------------------- 7. hostile repos


def test_a_commit_dated_in_the_year_10000_is_one_students_problem(tmp_path, checks_dir):
    repos = tmp_path / "repos"
    repos.mkdir()
    honest = make_repo(repos, "honest", [(BEFORE, {"exercises/fx_rnn.ipynb": SOLVED})])
    future = make_repo(repos, "future", [("@253402300800 +0000",
                                          {"exercises/fx_rnn.ipynb": SOLVED})])
    both = make_repo(repos, "both", [(BEFORE, {"exercises/fx_rnn.ipynb": SOLVED}),
                                     ("@253402300800 +0000", {"exercises/fx_rnn.ipynb": "{}"})])
    rows = {"honest": honest, "future": future, "both": both}
    rc, by, out = _grade_class(tmp_path, checks_dir, rows, "--deadline", DEADLINE)
    assert rc == 0
    assert (by["honest"]["status"], by["honest"]["total"]) == ("ok", "6")
    assert (by["future"]["status"], by["future"]["total"]) == ("late-only", "0")
    # the year-10000 commit counts as after the deadline: the one before it is graded
    assert by["both"]["commit"] == _head(both, "HEAD~1") and by["both"]["total"] == "6"
    # without a deadline the tip is graded, whatever date it claims
    (tmp_path / "tip").mkdir()
    rc, by, out = _grade_class(tmp_path / "tip", checks_dir, rows)
    assert rc == 0 and by["future"]["total"] == "6" and by["future"]["committed_at"] == ""
    assert "a date no calendar holds" in (out / "feedback" / "future.md").read_text()


def test_one_large_blob_behind_many_notebook_paths_is_read_once(tmp_path, checks_dir):
    """50 paths to one 20 MB blob: one file is written, not 1 GB; the rest are noted."""
    repos = tmp_path / "repos"
    repos.mkdir()
    big = "x" * (20 << 20)
    files = {f"copies/c{i:02d}/fx_rnn.ipynb": big for i in range(48)}
    files.update({"other/fx_rnn_v2.ipynb": big, "exercises/fx_rnn (1).ipynb": big})
    hostile = make_repo(repos, "hostile", [(BEFORE, files)])
    honest = make_repo(repos, "honest", [(BEFORE, {"exercises/fx_rnn.ipynb": SOLVED})])
    git_dir = tmp_path / "h.git"
    got = roster.fetch(str(hostile), git_dir, deadline=roster.parse_deadline(DEADLINE),
                       allow_local=True)
    notes: list[str] = []
    dest = tmp_path / "extracted"
    found = roster.extract_notebooks(git_dir, got.commit, dest, allow_file=True,
                                     expected=["fx_rnn"], notes=notes)
    written = [p for p in dest.rglob("*") if p.is_file()]
    # the exact name wins over copies, as the grader decides (then exercises/, then depth)
    assert found == written == [dest / "copies" / "c00" / "fx_rnn.ipynb"]
    assert sum(p.stat().st_size for p in written) == 20 << 20
    assert len(notes) == 4 and notes[-1] == "skipped 46 more notebook copies"
    rc, by, out = _grade_class(tmp_path, checks_dir, {"hostile": hostile, "honest": honest},
                               "--deadline", DEADLINE)
    assert rc == 0
    assert by["honest"]["total"] == "6" and by["hostile"]["total"] == "0"
    feedback = (out / "feedback" / "hostile.md").read_text()
    assert "is not valid JSON" in feedback and "skipped 46 more notebook copies" in feedback


def test_an_unreadable_repository_is_that_students_failure(tmp_path, checks_dir, monkeypatch):
    """Anything a repository makes git or the grader raise stays with its student."""
    repos = tmp_path / "repos"
    repos.mkdir()
    honest = make_repo(repos, "honest", [(BEFORE, {"exercises/fx_rnn.ipynb": SOLVED})])
    odd = make_repo(repos, "odd", [(BEFORE, {"exercises/fx_rnn.ipynb": SOLVED})])
    original = roster.extract_notebooks

    def extract(git_dir, *args, **kwargs):
        if "0001" in str(git_dir):  # the second student: an error nobody foresaw
            raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
        return original(git_dir, *args, **kwargs)

    monkeypatch.setattr(roster, "extract_notebooks", extract)
    rc, by, out = _grade_class(tmp_path, checks_dir, {"honest": honest, "odd": odd},
                               "--deadline", DEADLINE)
    assert rc == 3  # a fetch error: the instructor must look
    assert (by["honest"]["status"], by["honest"]["total"]) == ("ok", "6")
    assert (by["odd"]["status"], by["odd"]["total"]) == ("fetch-error", "0")
    assert "UnicodeDecodeError" in (out / "feedback" / "odd.md").read_text()


# --------------------------------------------------------------------------- 8. backdated commits


def _backdate(bare: Path, files: dict) -> str:
    """A commit made now (after the deadline) with a committer date before it, pushed."""
    work = bare.parent / "work" / bare.stem
    for rel, content in files.items():
        write_notebook(work / rel, content)
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "forged", date=BEFORE.replace("20:00", "21:00"))
    _git(work, "push", "-q", str(bare), "HEAD:main")
    return _head(bare)


def test_a_snapshot_at_the_deadline_defeats_backdated_commits(tmp_path, checks_dir):
    repos = tmp_path / "repos"
    repos.mkdir()
    partial = make_notebook({"rnn_step_backward": "def rnn_step_backward(d, c):\n"
                                                  "    raise NotImplementedError()\n"})
    alice = make_repo(repos, "alice", [(BEFORE, {"exercises/fx_rnn.ipynb": partial})])
    honest = make_repo(repos, "honest", [(BEFORE, {"exercises/fx_rnn.ipynb": SOLVED})])
    at_deadline = _head(alice)
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text(f"name,repository\nalice,{alice}\nhonest,{honest}\n"
                          f"gone,{repos / 'gone.git'}\n")
    snap = tmp_path / "snapshot.json"
    assert main(["grade-class", str(roster_csv), "--out", str(tmp_path / "unused"),
                 "--snapshot", str(snap), "--allow-local", "-q"]) == 3  # gone: unreachable
    recorded = json.loads(snap.read_text())["students"]
    assert recorded["alice"]["commit"] == at_deadline
    assert recorded["gone"]["status"] == "fetch-error" and recorded["gone"]["commit"] == ""
    forged = _backdate(alice, {"exercises/fx_rnn.ipynb": SOLVED})  # after the deadline
    # by committer date, the forged commit passes for work done before the deadline ...
    (tmp_path / "by-date").mkdir()
    rc, by, _ = _grade_class(tmp_path / "by-date", checks_dir, {"alice": alice},
                             "--deadline", DEADLINE)
    assert by["alice"]["commit"] == forged and by["alice"]["total"] == "6"
    # ... the snapshot grades what was there at the deadline
    out = tmp_path / "out"
    rc = main(["grade-class", str(roster_csv), "--out", str(out), "--tests", str(checks_dir),
               "--from-snapshot", str(snap), "--allow-local", "-q"])
    assert rc == 3  # "gone" could not be recorded
    rows = {r["name"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert rows["alice"]["commit"] == at_deadline and rows["alice"]["total"] == "3"
    assert rows["honest"]["total"] == "6" and rows["gone"]["status"] == "fetch-error"
    data = json.loads((out / "gradebook.json").read_text())
    alice_json = next(s for s in data["students"] if s["name"] == "alice")
    assert alice_json["fetched_at"] == recorded["alice"]["fetched_at"]
    assert data["chosen_by"] == "snapshot"


def test_classroom50_submit_tags_defeat_backdated_commits(tmp_path, checks_dir):
    repos = tmp_path / "repos"
    repos.mkdir()
    partial = make_notebook({"rnn_step_backward": "def rnn_step_backward(d, c):\n"
                                                  "    raise NotImplementedError()\n"})
    alice = make_repo(repos, "alice", [(BEFORE, {"exercises/fx_rnn.ipynb": partial})])
    submitted = _head(alice)
    tag = f"submit/2026-12-01T22-10-00Z-{submitted[:7]}"  # Classroom 50's tag, in time
    _git(alice, "tag", tag, submitted)
    forged = _backdate(alice, {"exercises/fx_rnn.ipynb": SOLVED})
    _git(alice, "tag", "submit/20261202T080000Z", forged)  # submitted after the deadline
    _git(alice, "tag", "submit/not-a-time", forged)
    never = make_repo(repos, "never", [(BEFORE, {"exercises/fx_rnn.ipynb": SOLVED})])
    rc, by, out = _grade_class(tmp_path, checks_dir, {"alice": alice, "never": never},
                               "--deadline", DEADLINE, "--submit-tags")
    assert rc == 0
    assert by["alice"]["commit"] == submitted and by["alice"]["total"] == "3"
    assert by["never"]["status"] == "no-commit" and by["never"]["total"] == "0"
    feedback = (out / "feedback" / "alice.md").read_text().replace("\\", "")  # escapes
    assert tag in feedback and "(submitted 2026-12-01T22:10" in feedback
    assert "1 later commit(s) or tag(s)" in feedback


def test_submit_tag_times():
    assert roster.submit_tag_time("submit/2026-12-01T22-10-00Z").isoformat() == \
        "2026-12-01T22:10:00+00:00"
    assert roster.submit_tag_time("refs/tags/submit/20261201T221000Z").hour == 22
    assert roster.submit_tag_time("submit/2026-12-01T10-00-00Z-abc1234").hour == 10
    assert roster.submit_tag_time("submit/2026-13-01T22-10-00Z") is None
    assert roster.submit_tag_time("v1.0") is None


# --------------------------------------------------------------------------- 9. Markdown


INJECT = ("[click here](https://evil.example/steal) ![x](https://evil.example/t.png) "
          "<img src=x onerror=alert(1)> **bold** _it_ | forged cell | `code` www.evil.example")


def _html(markdown_text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown_text)


def test_markdown_in_exception_text_is_shown_as_text(tmp_path, checks_dir, monkeypatch):
    pytest.importorskip("markdown_it")
    cell = f"def count_rnn_params(D, H):\n    raise ValueError({INJECT!r})\n"
    repos = tmp_path / "repos"
    repos.mkdir()
    name = "Eve <b>[x](https://evil.example)</b>"
    eve = make_repo(repos, "eve", [(BEFORE, {"exercises/fx_rnn.ipynb": make_notebook(
        {"count_params": cell})})])
    rc, by, out = _grade_class(tmp_path, checks_dir, {name: eve}, "--deadline", DEADLINE)
    assert rc == 0
    [feedback] = (out / "feedback").iterdir()
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    nb = write_notebook(tmp_path / "me" / "fx_rnn.ipynb", make_notebook({"count_params": cell}))
    main(["grade", str(nb), "--tests", str(checks_dir), "-q"])
    for text in (feedback.read_text(), summary.read_text()):
        html = _html(text)
        assert "ValueError" in html
        for tag in ("<a ", "<img", "<strong>bold", "<em>it", "<b>", "<s>"):
            assert tag not in html, (tag, html)
        assert "[click here](https://evil.example/steal)" in html  # shown, as text
        rows = [line for line in html.splitlines() if line.startswith("<tr>")]
        assert all(line.count("<td") <= 4 for line in rows)  # no forged table cell
