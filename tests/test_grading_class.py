"""The instructor's path: a roster of git repositories graded at a deadline, and Gradescope.

Every repository here is a bare git repository made by the test with commits
whose committer dates the test sets, so the expected commit and the expected
points are known in advance: the fixture notebook is worth 1 + 2 + 3 points
(``fx_rnn``), and a second spec with the same exercises (``fx_more``) makes
the assignment worth 12.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from grading_fixtures import FIXTURES, make_notebook, write_notebook

from rnncourse.cli import main
from rnncourse.grading import GradeError
from rnncourse.grading.roster import check_url, parse_deadline, read_roster

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="the sandbox needs POSIX"),
    pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
]

ROOT = Path(__file__).resolve().parents[1]
DEADLINE = "2026-12-01T23:59:00+01:00"
BEFORE = "2026-12-01T20:00:00+01:00"
AFTER = "2026-12-02T09:00:00+01:00"
STUB = ("def rnn_step_backward(dnext_h, cache):\n"
        "    # YOUR CODE HERE\n    raise NotImplementedError()\n")


@pytest.fixture(autouse=True)
def _no_retry_delay(monkeypatch):
    """A clone that fails is tried again at once (the delays are for a real network)."""
    from rnncourse.grading import roster

    monkeypatch.setattr(roster, "RETRY_DELAY", 0.0)


@pytest.fixture
def checks_dir(tmp_path) -> Path:
    """The instructor's checks: fx_rnn and a copy of it named fx_more (12 points in all)."""
    d = tmp_path / "private-checks"
    d.mkdir()
    text = (FIXTURES / "fx_rnn.py").read_text()
    (d / "fx_rnn.py").write_text(text)
    (d / "fx_more.py").write_text(text.replace('name="fx_rnn"', 'name="fx_more"'))
    return d


def _git(cwd: Path, *args: str, date: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="Student", GIT_AUTHOR_EMAIL="s@example.org",
               GIT_COMMITTER_NAME="Student", GIT_COMMITTER_EMAIL="s@example.org",
               GIT_CONFIG_NOSYSTEM="1", HOME=str(cwd))
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True)
    return done.stdout.strip()


def make_repo(base: Path, name: str, commits: list[tuple[str, dict[str, object]]]) -> Path:
    """A bare repository ``base/name.git`` with one commit per (date, {path: content})."""
    work = base / "work" / name
    work.mkdir(parents=True)
    _git(work, "init", "-q", "-b", "main")
    for date, files in commits:
        for rel, content in files.items():
            path = work / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, dict):
                write_notebook(path, content)
            else:
                path.write_text(str(content))
        _git(work, "add", "-A")
        _git(work, "commit", "-q", "-m", f"work of {date}", date=date)
    bare = base / f"{name}.git"
    _git(base, "clone", "-q", "--bare", str(work), str(bare))
    # serve partial clones, as GitHub does: grading with a deadline then fetches the
    # history without file contents, and each notebook's blob on demand
    _git(bare, "config", "uploadpack.allowFilter", "true")
    return bare


def _head(bare: Path, rev: str = "HEAD") -> str:
    return _git(bare, "rev-parse", rev)


SOLVED = make_notebook()
PARTIAL = make_notebook({"rnn_step_backward": STUB})


def _fake_package(marker: Path) -> dict[str, str]:
    """A student's pyproject.toml naming their own `rnncourse`, which would leave a marker."""
    code = f"open({str(marker)!r}, 'w').write('ran')\n"
    return {
        "pyproject.toml": '[project]\nname = "rnncourse"\nversion = "9.9.9"\n',
        "setup.py": code,
        "conftest.py": code,
        "rnncourse/__init__.py": code + "def grade(*a, **k):\n    return 77\n",
        "rnncourse/grading/checks/fx_rnn.py": code,
    }


def test_roster_graded_at_the_deadline(tmp_path, checks_dir):
    repos = tmp_path / "repos"
    repos.mkdir()
    marker = tmp_path / "student-code-ran"
    alice = make_repo(repos, "alice", [
        (BEFORE, {"exercises/fx_rnn.ipynb": PARTIAL, "exercises/fx_more.ipynb": SOLVED}),
        (AFTER, {"exercises/fx_rnn.ipynb": SOLVED}),  # too late: not graded
    ])
    bob = make_repo(repos, "bob", [  # fx_more deleted, and a fake rnncourse package
        (BEFORE, {"exercises/fx_rnn.ipynb": SOLVED, **_fake_package(marker)}),
    ])
    carol = make_repo(repos, "carol", [(BEFORE, {"fx_rnn.ipynb": SOLVED})])  # bob without it
    late = make_repo(repos, "late", [(AFTER, {"exercises/fx_rnn.ipynb": SOLVED})])
    roster = tmp_path / "roster.csv"
    roster.write_text("name,repository\n"
                      f"Alice,{alice}\nBob,file://{bob}\nCarol,{carol}\nLate,{late}\n"
                      f"=Eve,{repos / 'missing.git'}\n")
    out = tmp_path / "out"
    rc = main(["grade-class", str(roster), "--out", str(out), "--deadline", DEADLINE,
               "--tests", str(checks_dir), "--allow-local", "--jobs", "2", "-q"])
    assert rc == 3  # Eve's repository could not be fetched: the instructor must look
    assert not marker.exists()  # nothing from a student's repository ever ran

    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert [r["name"] for r in rows] == ["Alice", "Bob", "Carol", "Late", "'=Eve"]
    by = {r["name"]: r for r in rows}
    assert {r["max_score"] for r in rows} == {"12"}  # from the checks, for everyone
    # Alice: the commit before the deadline, whose backward is a stub (3 points lost)
    assert by["Alice"]["commit"] == _head(alice, "HEAD~1")
    assert by["Alice"]["total"] == "9"
    assert by["Alice"]["fx_rnn/rnn_step_backward"] == "0"
    assert by["Alice"]["committed_at"] == "2026-12-01T19:00:00+00:00"
    # Bob deleted fx_more and committed a fake package: 6 of 12, like Carol without it
    assert by["Bob"]["total"] == by["Carol"]["total"] == "6"
    assert by["Bob"]["fx_more/count_params"] == "0"
    assert by["Late"]["total"] == "0" and by["Late"]["commit"] == ""
    assert by["'=Eve"]["total"] == "0"
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "late-only", "fetch-error"]

    data = json.loads((out / "gradebook.json").read_text())
    assert data["max_score"] == 12 and data["deadline"] == "2026-12-01T23:59:00+01:00"
    bob_json = next(s for s in data["students"] if s["name"] == "Bob")
    missing = [e for e in bob_json["exercises"] if e["notebook"] == "fx_more"]
    assert len(missing) == 3 and all(not e["passed"] for e in missing)
    assert "fx_more.ipynb is not in the submission" in missing[0]["reason"]
    late_json = next(s for s in data["students"] if s["name"] == "Late")
    assert any("no commit before the deadline" in n for n in late_json["notes"])
    eve = next(s for s in data["students"] if s["name"] == "=Eve")
    assert any("git clone failed (3 tries)" in n for n in eve["notes"])
    from rnncourse.grading.engine import student_seed

    assert isinstance(data["seed"], int)  # the run's; each student's cases have their own
    assert [s["seed"] for s in data["students"]] == \
        [student_seed(data["seed"], s["name"]) for s in data["students"]]
    assert len({s["seed"] for s in data["students"]}) == len(data["students"])
    assert all(s["sandbox"].startswith("Landlock ABI") for s in data["students"])

    feedback = sorted(p.name for p in (out / "feedback").iterdir())
    assert feedback == ["Alice.md", "Bob.md", "Carol.md", "Eve.md", "Late.md"]
    alice_md = (out / "feedback" / "Alice.md").read_text()
    assert _head(alice, "HEAD~1") in alice_md and "**9 / 12**" in alice_md
    assert "not implemented yet" in alice_md
    assert "fx_more.ipynb is not in the submission" in (out / "feedback" / "Bob.md").read_text()


def test_without_a_deadline_the_tip_is_graded_shallowly(tmp_path, checks_dir):
    repos = tmp_path / "repos"
    repos.mkdir()
    alice = make_repo(repos, "alice", [
        (BEFORE, {"fx_rnn.ipynb": PARTIAL}), (AFTER, {"fx_rnn.ipynb": SOLVED}),
    ])
    roster = tmp_path / "roster.csv"
    roster.write_text(f"name,repository\nAlice,{alice}\n")
    out = tmp_path / "out"
    assert main(["grade-class", str(roster), "--out", str(out), "--tests", str(checks_dir),
                 "--notebooks", "fx_rnn", "--allow-local", "-q"]) == 0
    [row] = csv.DictReader((out / "gradebook.csv").open())
    assert row["commit"] == _head(alice) and row["total"] == row["max_score"] == "6"


def test_a_folder_of_clones(tmp_path, checks_dir):
    repos = tmp_path / "repos"
    repos.mkdir()
    bare = make_repo(repos, "alice", [(BEFORE, {"exercises/fx_rnn.ipynb": SOLVED}),
                                      (AFTER, {"exercises/fx_rnn.ipynb": PARTIAL})])
    klass = tmp_path / "class"
    klass.mkdir()
    _git(klass, "clone", "-q", str(bare), "alice")
    write_notebook(klass / "bob" / "fx_rnn.ipynb", PARTIAL)  # a plain folder
    out = tmp_path / "out"
    assert main(["grade-class", str(klass), "--out", str(out), "--deadline", DEADLINE,
                 "--tests", str(checks_dir), "--notebooks", "fx_rnn", "-q"]) == 0
    rows = {r["name"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert rows["alice"]["total"] == "6" and rows["alice"]["commit"] == _head(bare, "HEAD~1")
    assert rows["bob"]["total"] == "3" and rows["bob"]["commit"] == ""


@pytest.mark.parametrize("url, message", [
    ("ext::sh -c touch% /tmp/pwned", "never allowed"),
    ("fd::3", "never allowed"),
    ("--upload-pack=touch /tmp/x", "not a URL"),
    ("/srv/git/alice.git", "--allow-local"),
    ("file:///srv/git/alice.git", "--allow-local"),
    ("http://example.org/a.git", "only https://"),
    ("git://example.org/a.git", "only https://"),
])
def test_only_https_ssh_and_explicit_local_urls(url, message):
    with pytest.raises(GradeError, match=message):
        check_url(url)


def test_allowed_urls():
    assert check_url("https://github.com/org/repo.git") == "https"
    assert check_url("git@github.com:org/repo.git") == "ssh"
    assert check_url("ssh://git@host/org/repo") == "ssh"
    assert check_url("/srv/git/a.git", allow_local=True) == "file"


def test_git_itself_refuses_the_file_transport_unless_allowed(tmp_path):
    """Behind check_url, git's protocol.file.allow=never stops a local clone too."""
    from rnncourse.grading import roster

    repos = tmp_path / "repos"
    repos.mkdir()
    bare = make_repo(repos, "alice", [(BEFORE, {"fx_rnn.ipynb": SOLVED})])
    done = roster._git(["clone", "--bare", "--no-local", "--", str(bare),
                        str(tmp_path / "x.git")])
    assert done.returncode != 0 and "transport 'file' not allowed" in done.stderr
    assert roster.fetch(str(bare), tmp_path / "ok.git", allow_local=True).commit == _head(bare)


def test_deadline_parsing():
    assert parse_deadline("2026-12-01T23:59Z") == datetime(2026, 12, 1, 23, 59,
                                                            tzinfo=timezone.utc)
    with pytest.raises(GradeError, match="time zone"):
        parse_deadline("2026-12-01T23:59")
    with pytest.raises(GradeError, match="ISO 8601"):
        parse_deadline("next friday")


def test_roster_errors(tmp_path):
    bad = tmp_path / "r.csv"
    bad.write_text("student_login,url\n")
    with pytest.raises(GradeError, match="'name' and 'repository'"):
        read_roster(bad)
    bad.write_text("name,repository\nann,https://x/a\nann,https://x/b\n")
    with pytest.raises(GradeError, match="line 3: 'ann' appears twice"):
        read_roster(bad)
    with pytest.raises(GradeError, match="does not exist"):
        read_roster(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- Gradescope


def test_gradescope_bundle_writes_results_json(tmp_path, checks_dir):
    bundle = tmp_path / "autograder.zip"
    assert main(["gradescope", "--out", str(bundle), "--tests", str(checks_dir),
                 "--source", "rnncourse @ git+https://github.com/ORG/rnncourse@" + "a" * 40]) == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as z:
        names = sorted(z.namelist())
        z.extractall(root / "source")
        mode = z.getinfo("run_autograder").external_attr >> 16
    assert names == ["SOURCE", "checks/fx_more.py", "checks/fx_rnn.py", "config.json",
                     "run_autograder", "setup.sh"]
    assert mode & 0o111  # executable, as Gradescope runs it
    sub = root / "submission"
    write_notebook(sub / "fx_rnn.ipynb", PARTIAL)  # fx_more not uploaded
    (sub / "pyproject.toml").write_text('[project]\nname = "rnncourse"\n')
    env = {**os.environ, "AUTOGRADER_ROOT": str(root),
           "RNNCOURSE": str(Path(sys.executable).parent / "rnncourse")}
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    # Gradescope's format: a score and one test per exercise with its own points
    assert results["score"] == 3
    assert sum(t["max_score"] for t in results["tests"]) == 12
    assert len(results["tests"]) == 6
    for t in results["tests"]:
        assert set(t) >= {"name", "score", "max_score", "status", "output"}
        assert t["status"] in ("passed", "failed")
        assert (t["status"] == "passed") == (t["score"] == t["max_score"])
    failed = [t["name"] for t in results["tests"] if t["status"] == "failed"]
    assert failed == ["fx_more: count_rnn_params (parameters of one RNN layer)",
                      "fx_more: rnn_step_forward (one step forward)",
                      "fx_more: rnn_step_backward (one step backward)",
                      "fx_rnn: rnn_step_backward (one step backward)"]


def test_gradescope_setup_installs_the_given_source_only(tmp_path):
    bundle = tmp_path / "a.zip"
    source = "rnncourse @ git+https://github.com/ORG/rnncourse@v0.1.0"
    assert main(["gradescope", "--out", str(bundle), "--notebooks", "ch02_rnn",
                 "--source", source]) == 0
    with zipfile.ZipFile(bundle) as z:
        assert z.read("SOURCE").decode().strip() == source
        setup = z.read("setup.sh").decode()
        assert json.loads(z.read("config.json"))["notebooks"] == ["ch02_rnn"]
        assert z.namelist().count("checks/ch02_rnn.py") == 1
    assert 'pip install --quiet "$(cat /autograder/source/SOURCE)"' in setup
    assert "submission" not in setup  # nothing of the upload is installed


# --------------------------------------------------------------------------- student CLI options


def test_grade_all_notebooks_annotations_and_classroom50(tmp_path, checks_dir, capsys,
                                                         monkeypatch):
    nb = write_notebook(tmp_path / "student" / "fx_rnn.ipynb", PARTIAL)
    monkeypatch.setenv("CLASSROOM", "rnn-2026")
    monkeypatch.setenv("ASSIGNMENT", "week2")
    monkeypatch.setenv("COMMIT_URL", "https://github.com/o/r/commit/abc")
    result = tmp_path / "result.json"
    rc = main(["grade", str(nb), "--tests", str(checks_dir), "--all-notebooks", "--annotate",
               "--classroom50", str(result), "-q"])
    assert rc == 0
    out = capsys.readouterr().out.splitlines()
    errors = [line for line in out if line.startswith("::error")]
    assert len(errors) == 4  # the stub, and fx_more's three exercises (missing notebook)
    assert errors[0].startswith("::error title=fx_more%3A count_rnn_params 0 / 1::")
    assert errors[3].startswith(f"::error file={nb},title=fx_rnn%3A rnn_step_backward 0 / 3::")
    assert "not implemented yet" in errors[3]
    data = json.loads(result.read_text())
    assert data["schema"] == "classroom50/result/v1"
    assert (data["score"], data["max-score"]) == (3, 12)
    assert data["classroom"] == "rnn-2026" and data["review"] == data["commit"]
    assert [t["passed"] for t in data["tests"]] == [False, False, False, True, True, False]
    assert all(isinstance(t["score"], int) for t in data["tests"])


def test_with_a_deadline_only_the_notebooks_contents_are_downloaded(tmp_path):
    """A partial clone: the history and trees come, and then only the notebooks' blobs."""
    from rnncourse.grading.roster import extract_notebooks, fetch

    repos = tmp_path / "repos"
    repos.mkdir()
    bare = make_repo(repos, "alice", [(BEFORE, {"exercises/fx_rnn.ipynb": SOLVED,
                                                "data/big.txt": "x" * 100_000,
                                                "pyproject.toml": "[project]\n"})])
    git_dir = tmp_path / "alice.git"
    got = fetch(str(bare), git_dir, deadline=parse_deadline(DEADLINE), allow_local=True)
    [nb] = extract_notebooks(git_dir, got.commit, tmp_path / "out", allow_file=True)
    assert nb == tmp_path / "out" / "exercises" / "fx_rnn.ipynb"
    assert sorted(p.name for p in (tmp_path / "out").rglob("*") if p.is_file()) == \
        ["fx_rnn.ipynb"]
    blob = {path: _git(bare, "rev-parse", f"HEAD:{path}")
            for path in ("data/big.txt", "pyproject.toml", "exercises/fx_rnn.ipynb")}
    listing = _git(git_dir, "rev-list", "--objects", "--missing=print", "HEAD")
    missing = {line[1:].split()[0] for line in listing.splitlines() if line.startswith("?")}
    assert blob["data/big.txt"] in missing and blob["pyproject.toml"] in missing
    assert blob["exercises/fx_rnn.ipynb"] not in missing


# --------------------------------------------------------------------------- the instructor's items


def test_status_column_retry_and_exit_status(tmp_path, checks_dir, monkeypatch):
    """ok / late-only / no-commit / fetch-error; a clone that fails once is tried again."""
    from rnncourse.grading import roster

    repos = tmp_path / "repos"
    repos.mkdir()
    flaky = make_repo(repos, "flaky", [(BEFORE, {"exercises/fx_rnn.ipynb": SOLVED})])
    late = make_repo(repos, "late", [(AFTER, {"exercises/fx_rnn.ipynb": SOLVED})])
    empty = repos / "empty.git"
    _git(repos, "init", "-q", "--bare", str(empty))
    clones: dict[str, int] = {}
    original = roster._git

    def git(args, **kwargs):
        if args[0] == "clone":
            source = args[-2]
            clones[source] = clones.get(source, 0) + 1
            if source == str(flaky) and clones[source] == 1:  # the network, once
                return subprocess.CompletedProcess(args, 128, "", "fatal: early EOF\n")
        return original(args, **kwargs)

    monkeypatch.setattr(roster, "_git", git)
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text(f"name,repository\nflaky,{flaky}\nlate,{late}\nempty,{empty}\n"
                          f"gone,{repos / 'gone.git'}\n")
    out = tmp_path / "out"
    rc = main(["grade-class", str(roster_csv), "--out", str(out), "--deadline", DEADLINE,
               "--tests", str(checks_dir), "--notebooks", "fx_rnn", "--allow-local", "-q"])
    assert rc == 3
    rows = {r["name"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert {n: r["status"] for n, r in rows.items()} == {
        "flaky": "ok", "late": "late-only", "empty": "no-commit", "gone": "fetch-error"}
    assert rows["flaky"]["total"] == "6"
    assert clones[str(flaky)] == 2 and clones[str(repos / "gone.git")] == 3
    # without the failed fetch, the run succeeds
    roster_csv.write_text(f"name,repository\nflaky,{flaky}\nlate,{late}\n")
    assert main(["grade-class", str(roster_csv), "--out", str(out), "--deadline", DEADLINE,
                 "--tests", str(checks_dir), "--notebooks", "fx_rnn", "--allow-local",
                 "-q"]) == 0


def test_extra_columns_extensions_late_penalty_and_canvas(tmp_path, checks_dir):
    repos = tmp_path / "repos"
    repos.mkdir()
    # ann: an extension to 3 December; her work of 2 December is on time for her
    ann = make_repo(repos, "ann", [(AFTER, {"exercises/fx_rnn.ipynb": SOLVED})])
    # ben: 9 hours late (1 started day) under a 3-day late window at 20% a day
    ben = make_repo(repos, "ben", [(BEFORE, {"exercises/fx_rnn.ipynb": PARTIAL}),
                                   (AFTER, {"exercises/fx_rnn.ipynb": SOLVED})])
    # cy: on time, later work after the late window is ignored (and said so)
    cy = make_repo(repos, "cy", [(BEFORE, {"exercises/fx_rnn.ipynb": SOLVED}),
                                 ("2026-12-09T09:00:00+01:00", {"exercises/fx_rnn.ipynb": STUB})])
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text(
        "name,repository,SIS User ID,email,section,deadline\n"
        f"ann,{ann},S001,ann@uni.example,A,2026-12-03T23:59:00+01:00\n"
        f"ben,{ben},S002,ben@uni.example,B,\n"
        f"cy,{cy},=S003,cy@uni.example,B,\n")
    out = tmp_path / "out"
    rc = main(["grade-class", str(roster_csv), "--out", str(out), "--deadline", DEADLINE,
               "--tests", str(checks_dir), "--notebooks", "fx_rnn", "--allow-local", "-q",
               "--late-until", "2026-12-04T23:59:00+01:00", "--late-penalty", "20",
               "--canvas", "Week 2: RNN step"])
    assert rc == 0
    rows = list(csv.reader((out / "gradebook.csv").open()))
    assert rows[0][:7] == ["name", "SIS User ID", "email", "section", "repository", "status",
                           "commit"]
    by = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert by["ann"]["SIS User ID"] == "S001" and by["cy"]["SIS User ID"] == "'=S003"
    assert (by["ann"]["points"], by["ann"]["late_penalty"], by["ann"]["total"]) == \
        ("6", "0%", "6")
    assert by["ben"]["commit"] == _head(ben) and \
        (by["ben"]["points"], by["ben"]["late_penalty"], by["ben"]["total"]) == ("6", "20%", "4.8")
    assert by["cy"]["commit"] == _head(cy, "HEAD~1") and by["cy"]["total"] == "6"
    ben_md = (out / "feedback" / "ben.md").read_text().replace("\\", "")
    assert "late penalty: 20% (late by 9.0 h)" in ben_md and "**4.8 / 6**" in ben_md
    assert "(your extension)" in (out / "feedback" / "ann.md").read_text()
    cy_md = (out / "feedback" / "cy.md").read_text().replace("\\", "")
    assert "1 later commit(s) or tag(s) after the late cutoff were not graded" in cy_md
    canvas = list(csv.reader((out / "canvas.csv").open()))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                         "Week 2: RNN step"]
    assert canvas[1] == ["Points Possible", "", "", "", "", "6"]
    assert canvas[2:] == [["ann", "", "S001", "ann@uni.example", "A", "6"],
                          ["ben", "", "S002", "ben@uni.example", "B", "4.8"],
                          ["cy", "", "'=S003", "cy@uni.example", "B", "6"]]
    data = json.loads((out / "gradebook.json").read_text())
    assert data["late_policy"] == {"until": "2026-12-04T23:59:00+01:00", "percent_per_day": 20}
    assert data["students"][0]["columns"]["email"] == "ann@uni.example"


def test_late_policy_arithmetic():
    from datetime import timedelta

    from rnncourse.grading.roster import LatePolicy

    policy = LatePolicy(datetime(2026, 12, 9, tzinfo=timezone.utc), 15)
    assert policy.penalty(timedelta(0)) == 0
    assert policy.penalty(timedelta(minutes=1)) == 0.15  # a started day counts
    assert policy.penalty(timedelta(days=1)) == 0.15
    assert policy.penalty(timedelta(days=1, seconds=1)) == 0.30
    assert policy.penalty(timedelta(days=30)) == 1.0


def test_a_roster_deadline_must_have_a_time_zone(tmp_path):
    bad = tmp_path / "r.csv"
    bad.write_text("name,repository,deadline\nann,https://x/a,2026-12-03T23:59\n")
    with pytest.raises(GradeError, match="line 2: --deadline .*give the time zone"):
        read_roster(bad)


@pytest.mark.parametrize("source", [
    "rnncourse", "rnncourse==0.1.0", "rnncourse @ git+https://github.com/ORG/rnncourse",
    "rnncourse @ git+https://github.com/ORG/rnncourse@main",
    "rnncourse @ git+https://github.com/ORG/rnncourse@abc",
])
def test_gradescope_refuses_an_unpinned_source(tmp_path, capsys, source):
    assert main(["gradescope", "--out", str(tmp_path / "a.zip"), "--notebooks", "ch02_rnn",
                 "--source", source]) == 2
    assert "is not pinned" in capsys.readouterr().err
    assert not (tmp_path / "a.zip").exists()


def test_gradescope_without_landlock_still_writes_an_explanatory_results_json(
        tmp_path, checks_dir, monkeypatch, capsys):
    from rnncourse.grading import engine

    bundle = tmp_path / "autograder.zip"
    assert main(["gradescope", "--out", str(bundle), "--tests", str(checks_dir),
                 "--source", "rnncourse @ git+https://github.com/ORG/rnncourse@" + "b" * 40]) == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "source")
        assert "rnncourse gradescope --self-test" in z.read("setup.sh").decode()
    write_notebook(root / "submission" / "fx_rnn.ipynb", SOLVED)
    assert main(["gradescope", "--self-test"]) == 0
    assert "can sandbox graded code here: Landlock ABI" in capsys.readouterr().out
    monkeypatch.setattr(engine, "landlock_abi", lambda: 0)  # Gradescope on an old kernel
    assert main(["gradescope", "--self-test"]) == 2
    assert main(["gradescope", "--run", "--root", str(root)]) == 2
    assert "offers no Landlock" in capsys.readouterr().err
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["score"] == 0 and data["tests"] == []
    assert data["output"].startswith("The autograder could not grade this submission; this "
                                     "is not a problem with your work")
    assert "offers no Landlock" in data["output"]
