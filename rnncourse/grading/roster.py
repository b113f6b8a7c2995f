"""Grading a whole class from its git repositories: the instructor's trusted path.

``rnncourse grade-class ROSTER --deadline ... --tests DIR --out DIR``:

1. the roster names every student and their repository -- a CSV file with the
   columns ``name`` and ``repository`` (a git URL), or a folder holding one
   clone (or plain folder of notebooks) per student;
2. each repository is fetched with git into a fresh bare repository
   (:func:`fetch`): no hooks, no submodules, no checkout, only the ``https``
   and ``ssh`` transports (``file`` only with ``allow_local``; ``ext::`` never),
   shallow when there is no deadline;
3. the graded commit is the newest one on the branch whose **committer date**
   is at or before the deadline (:func:`pick_commit`);
4. only the notebooks' blobs are read out of that commit (``git cat-file``):
   nothing else from the repository -- a ``pyproject.toml``, a ``conftest.py``,
   a package named ``rnncourse`` -- is ever written to disk, imported or run;
5. the notebooks are graded by :func:`.engine.grade` against the instructor's
   checks, and every notebook the checks expect but the commit lacks scores 0
   with a reason (:func:`complete`): the maximum comes from the checks, never
   from what a student submitted;
6. :func:`write_outputs` writes ``gradebook.csv``, ``gradebook.json`` and one
   ``feedback/<name>.md`` per student.

Committer dates are written by the student's own git, so a student can forge
them. What a student cannot forge is *when the instructor fetched*:
``grade-class ROSTER --snapshot FILE`` run at the deadline records each
repository's tip (its commit id and the fetch time, from ``git ls-remote``) and
``grade-class ROSTER --from-snapshot FILE`` later grades exactly those commits;
``--submit-tags`` grades the newest Classroom 50 ``submit/<UTC>`` tag at or before
the deadline (tags its server creates when a student submits).

Every student's problem -- a repository that cannot be fetched, a commit dated in
the year 10000, a tree of 50 copies of a 20 MB blob -- is that student's
failure, with a status in the gradebook (``ok``, ``late-only``, ``no-commit``,
``fetch-error``), never the class's: only notebooks named as the checks expect
are read, one per notebook of the checks, each at most
:data:`~.notebook.MAX_NOTEBOOK_BYTES`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import checks
from .engine import (
    ExerciseResult,
    GradeError,
    NotebookResult,
    Options,
    Submission,
    SubmissionResult,
    grade,
)
from .notebook import MAX_NOTEBOOK_BYTES as _READ_LIMIT
from .report import md_escape
from .spec import Notebook

__all__ = ["Student", "Fetched", "LatePolicy", "read_roster", "parse_deadline", "check_url",
           "fetch", "pick_commit", "extract_notebooks", "expected_notebooks", "complete",
           "grade_class", "take_snapshot", "read_snapshot", "ClassResult", "StudentResult",
           "write_outputs", "feedback_markdown", "canvas_csv", "WEAK_REFUSED"]

GIT_TIMEOUT = 300  # seconds for one git command (a clone of a large repository)
MAX_NOTEBOOK_BYTES = _READ_LIMIT  # larger blobs are not read out of the repository
MAX_TREE_ENTRIES = 100_000  # entries of a commit's tree looked at
FETCH_TRIES = 3  # a clone that fails is tried again (the network), this many times in all
RETRY_DELAY = 2.0  # seconds before the second try; doubled before each later one
NAME_COLUMNS = ("name", "student", "identifier")
URL_COLUMNS = ("repository", "repo", "url", "git_url")
DEADLINE_COLUMNS = ("deadline", "extension")  # a student's own deadline (an extension)
STATUSES = ("ok", "late-only", "no-commit", "fetch-error")
WEAK_REFUSED = (
    "--allow-weak-sandbox is refused here: without Landlock, graded code can rewrite the "
    "grader's own files (its checks and its code), so weak mode lets any student set their "
    "own score, and other students' scores. Grade on a kernel with Landlock (Linux 5.13 or "
    "newer: any current Ubuntu or Debian, GitHub's ubuntu-24.04 runners)")


@dataclass(frozen=True)
class Student:
    """One row of the roster: a name and where their work is."""

    name: str
    source: str  # a git URL, or a local path (a clone, or a plain folder of notebooks)
    local: bool = False  # source is a path on this machine (a folder of clones)
    git: bool = True  # False: a plain folder, graded as found
    extra: tuple[tuple[str, str], ...] = ()  # the roster's other columns (SIS id, email...)
    deadline: datetime | None = None  # this student's own deadline (an extension)


@dataclass(frozen=True)
class Fetched:
    """The commit that is graded: its id, committer date and how it was chosen."""

    commit: str
    committed_at: datetime | None  # None: a date no calendar holds (year 10000)
    chosen_by: str = "deadline"  # deadline, tip, snapshot, submit-tag
    fetched_at: datetime | None = None  # snapshot: when the tip was recorded
    tag: str = ""  # submit-tag: the tag
    ignored: int = 0  # commits after the deadline, not graded


@dataclass(frozen=True)
class LatePolicy:
    """Late work: commits up to ``until`` count, ``percent_per_day`` off per started day."""

    until: datetime
    percent_per_day: float

    def penalty(self, late: timedelta) -> float:
        """The fraction of the score lost for work ``late`` after the deadline."""
        if late <= timedelta(0):
            return 0.0
        return min(1.0, math.ceil(late / timedelta(days=1)) * self.percent_per_day / 100)


@dataclass
class StudentResult:
    """A student's grading: the roster entry, the commit and the grader's result."""

    student: Student
    result: SubmissionResult
    fetched: Fetched | None = None
    status: str = "ok"  # one of STATUSES
    late: timedelta | None = None  # how late the graded commit is (a late policy)
    penalty: float = 0.0  # the fraction of the score taken off for it

    @property
    def name(self) -> str:
        return self.student.name

    @property
    def score(self) -> float:
        """The points after the late penalty."""
        return round(self.result.score * (1 - self.penalty), 6)


@dataclass
class ClassResult:
    """Everything :func:`write_outputs` needs."""

    students: list[StudentResult]
    expected: dict[str, dict[str, float]]  # notebook -> grade_id -> points, from the checks
    deadline: datetime | None = None
    branch: str | None = None
    notes: list[str] = field(default_factory=list)
    extra_columns: tuple[str, ...] = ()  # the roster's other columns, in its order
    late: LatePolicy | None = None
    chosen_by: str = "deadline"  # how commits were chosen: deadline, snapshot, submit-tag
    seed: int | None = None  # the run's seed; each student's cases come from student_seed

    @property
    def failed_fetches(self) -> list[StudentResult]:
        return [s for s in self.students if s.status == "fetch-error"]

    @property
    def max_score(self) -> float:
        return sum(p for nb in self.expected.values() for p in nb.values())


# --------------------------------------------------------------------------- the roster


def read_roster(path: str | os.PathLike) -> list[Student]:
    """The students of a roster CSV (``name``, ``repository``) or of a folder of clones."""
    path = Path(path)
    if path.is_dir():
        return _roster_folder(path)
    if not path.is_file():
        raise GradeError(f"roster {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GradeError(f"roster {path}: cannot read it as UTF-8 text: {exc}") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise GradeError(f"roster {path} is empty")
    original = [h.strip() for h in rows[0]]
    header = [h.lower() for h in original]
    name_col = next((header.index(c) for c in NAME_COLUMNS if c in header), None)
    url_col = next((header.index(c) for c in URL_COLUMNS if c in header), None)
    deadline_col = next((header.index(c) for c in DEADLINE_COLUMNS if c in header), None)
    extra_cols = [i for i, h in enumerate(original)
                  if h and i not in (name_col, url_col, deadline_col)]
    if name_col is None or url_col is None:
        raise GradeError(f"roster {path}: the first line must name the columns 'name' and "
                         f"'repository' (found: {', '.join(header) or 'nothing'})")
    students: list[Student] = []
    seen: set[str] = set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(name_col, url_col):
            raise GradeError(f"roster {path}, line {line}: expected {len(header)} columns, "
                             f"found {len(row)}")
        name, url = row[name_col].strip(), row[url_col].strip()
        if not name or not url:
            raise GradeError(f"roster {path}, line {line}: empty name or repository")
        if name in seen:
            raise GradeError(f"roster {path}, line {line}: {name!r} appears twice")
        seen.add(name)
        own = None
        if deadline_col is not None and deadline_col < len(row) and row[deadline_col].strip():
            try:
                own = parse_deadline(row[deadline_col])
            except GradeError as exc:
                raise GradeError(f"roster {path}, line {line}: {exc}") from None
        extra = tuple((original[i], row[i].strip() if i < len(row) else "") for i in extra_cols)
        students.append(Student(name, url, extra=extra, deadline=own))
    if not students:
        raise GradeError(f"roster {path} names no student")
    return students


def _is_git(folder: Path) -> bool:
    return (folder / ".git").exists() or ((folder / "HEAD").is_file()
                                          and (folder / "objects").is_dir())


def _roster_folder(folder: Path) -> list[Student]:
    students = [Student(sub.name, str(sub.resolve()), local=True, git=_is_git(sub))
                for sub in sorted(folder.iterdir())
                if sub.is_dir() and not sub.is_symlink() and not sub.name.startswith(".")]
    if not students:
        raise GradeError(f"roster folder {folder} has no student folders")
    return students


def parse_deadline(text: str) -> datetime:
    """An ISO 8601 date and time with a time zone, e.g. ``2026-12-01T23:59:00+01:00``."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise GradeError(f"--deadline {text!r}: not an ISO 8601 date and time "
                         f"(e.g. 2026-12-01T23:59:00+01:00)") from None
    if when.tzinfo is None:
        raise GradeError(f"--deadline {text!r}: give the time zone, e.g. "
                         f"{when.isoformat()}+01:00 or {when.isoformat()}Z")
    return when


# --------------------------------------------------------------------------- git


_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^:]")


def check_url(url: str, *, allow_local: bool = False) -> str:
    """The transport of a repository URL (https, ssh, file); refuse anything else."""
    if not url or url.startswith("-") or any(c in url for c in "\0\n\r"):
        raise GradeError(f"repository {url!r}: not a URL")
    if "::" in url.split("/", 1)[0] or url.split(":", 1)[0].lower() in ("ext", "fd"):
        raise GradeError(f"repository {url!r}: git's transport helpers (ext::, fd::) "
                         f"run commands and are never allowed")
    lower = url.lower()
    if lower.startswith("https://"):
        return "https"
    if lower.startswith("ssh://") or _SCP_LIKE.match(url):
        return "ssh"
    if lower.startswith("file://") or url.startswith("/") or url.startswith("."):
        if not allow_local:
            raise GradeError(f"repository {url!r}: a local repository; pass --allow-local "
                             f"to grade repositories on this machine")
        return "file"
    raise GradeError(f"repository {url!r}: only https://, ssh:// (or user@host:path) and, "
                     f"with --allow-local, local paths are fetched")


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="/bin/false", SSH_ASKPASS="/bin/false",
               GIT_SSH_COMMAND="ssh -o BatchMode=yes", GIT_PROTOCOL_FROM_USER="0",
               GIT_CONFIG_NOSYSTEM="1", LC_ALL="C")
    token = os.environ.get("RNNCOURSE_GIT_TOKEN")
    if token:  # an instructor's token for private student repositories on GitHub
        import base64
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="http.https://github.com/.extraheader",
                   GIT_CONFIG_VALUE_0=f"AUTHORIZATION: basic {basic}")
    return env


def _git_config(allow_file: bool) -> list[str]:
    pairs = {
        "core.hooksPath": "/dev/null",  # no hook of anyone's runs
        "core.symlinks": "false",
        "core.fsmonitor": "false",
        "submodule.recurse": "false",
        "fetch.recurseSubmodules": "false",
        "protocol.allow": "never",  # then allow the transports we mean, one by one
        "protocol.https.allow": "always",
        "protocol.ssh.allow": "always",
        "protocol.file.allow": "always" if allow_file else "never",
        "transfer.fsckObjects": "true",
        "credential.interactive": "false",
    }
    return [arg for k, v in pairs.items() for arg in ("-c", f"{k}={v}")]


def _git(args: Sequence[str], *, git_dir: Path | None = None, allow_file: bool = False,
         binary: bool = False) -> subprocess.CompletedProcess:
    cmd = ["git", *_git_config(allow_file)]
    if git_dir is not None:
        cmd += ["--git-dir", str(git_dir)]
    try:
        return subprocess.run([*cmd, *args], capture_output=True, env=_git_env(),
                              timeout=GIT_TIMEOUT, check=False, stdin=subprocess.DEVNULL,
                              text=not binary)
    except FileNotFoundError:
        raise GradeError("git is not installed (it fetches the students' repositories)") \
            from None
    except subprocess.TimeoutExpired:
        raise _FetchError(f"git {args[0]} took more than {GIT_TIMEOUT} s") from None


def _git_retried(args: Sequence[str], *, allow_file: bool,
                 before: Callable[[], object] | None = None) -> subprocess.CompletedProcess:
    """:func:`_git` tried up to :data:`FETCH_TRIES` times (the network fails now and then),
    waiting ``RETRY_DELAY * 2**k`` between tries and calling ``before()`` ahead of each;
    a :class:`_FetchError` with git's last line when every try failed."""
    for attempt in range(FETCH_TRIES):
        if before is not None:
            before()
        done = _git(args, allow_file=allow_file)
        if done.returncode == 0:
            return done
        if attempt + 1 < FETCH_TRIES:
            time.sleep(RETRY_DELAY * 2 ** attempt)
    raise _FetchError(f"git {args[0]} failed ({FETCH_TRIES} tries): {_last_line(done.stderr)}")


class _FetchError(Exception):
    """A student's repository cannot be fetched or graded; ``status`` says which way."""

    def __init__(self, message: str, status: str = "fetch-error") -> None:
        super().__init__(message)
        self.status = status


def _when(timestamp: int) -> datetime | None:
    """A committer date as a datetime; None where no calendar holds it (year 10000)."""
    try:
        return datetime.fromtimestamp(timestamp, timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None


def _last_line(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return (lines[-1] if lines else "no message")[:300]


def _check_branch(branch: str | None) -> None:
    if branch is not None and (branch.startswith("-") or not branch.strip()):
        raise GradeError(f"--branch {branch!r}: not a branch name")


def fetch(source: str, dest: Path, *, deadline: datetime | None = None,
          branch: str | None = None, allow_local: bool = False, commit: str | None = None,
          submit_tags: bool = False) -> Fetched:
    """Clone ``source`` into the new bare repository ``dest``; the commit to grade.

    Without a deadline the clone is shallow (``--depth 1``); with one, the
    branch's history comes without file contents (``--filter=blob:none``,
    which servers without partial-clone support ignore) so that the commit
    before the deadline can be found. ``commit`` (a snapshot's): that commit,
    whatever its date. ``submit_tags``: the newest Classroom 50 ``submit/<UTC>`` tag
    at or before the deadline. A clone that fails is tried :data:`FETCH_TRIES` times.
    """
    transport = check_url(source, allow_local=allow_local)
    _check_branch(branch)
    args = ["clone", "--bare", "--quiet", "--single-branch", "--no-recurse-submodules",
            "--template="]
    if not submit_tags:
        args.append("--no-tags")
    if transport == "file":
        args.append("--no-local")  # through the transport: no hard links, no symlinked objects
    if branch:
        args += ["--branch", branch]
    shallow = deadline is None and commit is None and not submit_tags
    args += ["--depth", "1"] if shallow else ["--filter=blob:none"]
    allow_file = transport == "file"
    _git_retried([*args, "--", source, str(dest)], allow_file=allow_file,
                 before=lambda: shutil.rmtree(dest, ignore_errors=True))
    if submit_tags:
        tags = _git(["fetch", "--quiet", "--no-tags", "origin",
                     "+refs/tags/submit/*:refs/tags/submit/*"], git_dir=dest,
                    allow_file=allow_file)
        if tags.returncode != 0:
            raise _FetchError(f"git fetch of the submit/ tags failed: {_last_line(tags.stderr)}")
        return pick_submit_tag(dest, deadline, allow_file=allow_file)
    if commit is not None:
        return _snapshot_commit(dest, commit, allow_file=allow_file)
    return pick_commit(dest, deadline, allow_file=allow_file)


def pick_commit(git_dir: Path, deadline: datetime | None, *, allow_file: bool = False) -> Fetched:
    """The newest commit of HEAD's history whose committer date is at or before ``deadline``.

    A date no calendar holds (the year 10000) counts as after every deadline; the
    branch's tip, without a deadline, is graded whatever its date.
    """
    log = _git(["log", "--format=%H %ct", "HEAD"], git_dir=git_dir, allow_file=allow_file)
    if log.returncode != 0:
        raise _FetchError(f"the repository has no commits ({_last_line(log.stderr)})",
                          "no-commit")
    limit = None if deadline is None else deadline.timestamp()
    best: tuple[int, str] | None = None
    seen = ignored = 0
    for line in log.stdout.split("\n"):
        parts = line.split()
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            continue
        seen += 1
        sha, when = parts[0], int(parts[1])
        if limit is None:
            return Fetched(sha, _when(when), "tip")
        if when > limit or _when(when) is None:
            ignored += 1
            continue
        if best is None or when > best[0]:
            best = (when, sha)
    if best is None:
        if seen:
            raise _FetchError(f"no commit before the deadline ({seen} after it)", "late-only")
        raise _FetchError("the repository has no commits", "no-commit")
    return Fetched(best[1], _when(best[0]), "deadline", ignored=ignored)


_SUBMIT_TAG = re.compile(r"submit/(\d{4})-?(\d{2})-?(\d{2})[T_-]?(\d{2})[-.]?(\d{2})[-.]?"
                         r"(\d{2})(?:[.,]\d+)?Z?(?:-[0-9a-f]{4,64})?")


def submit_tag_time(tag: str) -> datetime | None:
    """The UTC time in a ``submit/<UTC>`` tag name; None for any other name.

    Classroom 50 names them ``submit/2026-12-01T22-58-00Z-<short commit>`` (git refuses
    ``:`` in names); ``submit/20261201T225800Z`` and no suffix are read as well.
    """
    m = _SUBMIT_TAG.fullmatch(tag.removeprefix("refs/tags/"))
    if m is None:
        return None
    try:
        return datetime(*map(int, m.groups()), tzinfo=timezone.utc)
    except ValueError:
        return None


def pick_submit_tag(git_dir: Path, deadline: datetime | None, *,
                    allow_file: bool = False) -> Fetched:
    """The commit of the newest ``submit/<UTC>`` tag at or before ``deadline``.

    The time is the tag's name, which Classroom 50's server writes when the student
    submits, not a date the student's git wrote.
    """
    refs = _git(["for-each-ref", "--format=%(refname) %(*objectname) %(objectname)",
                 "refs/tags/submit/"], git_dir=git_dir, allow_file=allow_file)
    best: tuple[datetime, str, str] | None = None
    later = 0
    for line in refs.stdout.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, sha = parts[0], parts[1] if len(parts) == 3 else parts[-1]
        when = submit_tag_time(name)
        if when is None:
            continue
        if deadline is not None and when > deadline:
            later += 1
            continue
        if best is None or when > best[0]:
            best = (when, sha, name.removeprefix("refs/tags/"))
    if best is None:
        if later:
            raise _FetchError(f"no submit/ tag before the deadline ({later} after it)",
                              "late-only")
        raise _FetchError("no submit/<UTC> tag: the student never submitted", "no-commit")
    commit = _git(["rev-parse", "--verify", "--quiet", f"{best[1]}^{{commit}}"],
                  git_dir=git_dir, allow_file=allow_file).stdout.strip()
    if not commit:
        raise _FetchError(f"the tag {best[2]} does not name a commit")
    return Fetched(commit, best[0], "submit-tag", tag=best[2], ignored=later)


def _snapshot_commit(git_dir: Path, commit: str, *, allow_file: bool = False) -> Fetched:
    """The snapshot's commit, fetched by id if the branch moved past it or away from it."""
    def resolve() -> str:
        return _git(["rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"],
                    git_dir=git_dir, allow_file=allow_file).stdout.strip()

    if not resolve():
        _git(["fetch", "--quiet", "--no-tags", "--filter=blob:none", "origin", commit],
             git_dir=git_dir, allow_file=allow_file)
    if resolve() != commit:
        raise _FetchError(f"the snapshot's commit {commit[:12]} is no longer in the "
                          f"repository (history rewritten?)")
    log = _git(["log", "-1", "--format=%ct", commit], git_dir=git_dir, allow_file=allow_file)
    stamp = log.stdout.strip()
    return Fetched(commit, _when(int(stamp)) if stamp.lstrip("-").isdigit() else None,
                   "snapshot")


def extract_notebooks(git_dir: Path, commit: str, dest: Path, *, allow_file: bool = False,
                      expected: Sequence[str] | None = None,
                      notes: list[str] | None = None) -> list[Path]:
    """Write the ``.ipynb`` blobs of ``commit`` under ``dest``; nothing else leaves git.

    Symbolic links (mode 120000), submodules (160000), hidden paths and
    blobs over :data:`MAX_NOTEBOOK_BYTES` are skipped. With ``expected`` (the
    notebooks of the checks), only files named after them are considered, and only
    one per notebook is written -- the one the grader would grade: the exact name
    first, then ``exercises/``, then the shallowest path -- so that no tree, however
    many copies of a large blob it holds, costs more than ``len(expected)`` files of at
    most :data:`MAX_NOTEBOOK_BYTES`. What was skipped goes to ``notes``.
    """
    # no --long: sizes would make a partial clone download every blob of the tree
    tree = _git(["ls-tree", "-r", "-z", "--full-tree", commit], git_dir=git_dir,
                allow_file=allow_file)
    if tree.returncode != 0:
        raise _FetchError(f"cannot list commit {commit[:12]}: {_last_line(tree.stderr)}")
    notes = notes if notes is not None else []
    candidates: list[tuple[str, str]] = []  # (path, blob)
    for n, entry in enumerate(tree.stdout.split("\0")):
        if n >= MAX_TREE_ENTRIES:
            notes.append(f"only the first {MAX_TREE_ENTRIES} files of the commit were looked at")
            break
        if "\t" not in entry:
            continue
        meta, path = entry.split("\t", 1)
        fields = meta.split()
        if len(fields) != 3 or fields[0] not in ("100644", "100755") or fields[1] != "blob":
            continue
        parts = path.split("/")
        if not path.endswith(".ipynb") or any(p.startswith(".") or p in ("", "..")
                                              for p in parts):
            continue
        candidates.append((path, fields[2]))

    def order(item: tuple[str, str]) -> tuple:
        parts = item[0].split("/")
        return (parts[0] != "exercises", len(parts), item[0])

    candidates.sort(key=order)
    chosen: list[tuple[str, str]] = candidates
    if expected is not None:
        known = list(expected)
        groups: dict[str, list[tuple[str, str]]] = {}
        for path, blob in candidates:
            stem = Path(path).stem
            name = checks.match(stem, known)
            if name is not None:
                groups.setdefault(name, []).append((path, blob))
        chosen = []
        skipped = 0
        for name, group in groups.items():
            exact = [c for c in group if Path(c[0]).stem == name]
            pick = (exact or group)[0]
            chosen.append(pick)
            skipped += len(group) - 1
            for path, _ in [c for c in group if c is not pick][:3]:
                notes.append(f"skipped {path}: {pick[0]} is graded as {name}")
        if skipped > 3:
            notes.append(f"skipped {skipped - 3} more notebook copies")
    out: list[Path] = []
    for path, blob_id in chosen:
        size = _git(["cat-file", "-s", blob_id], git_dir=git_dir, allow_file=allow_file)
        if size.returncode != 0 or not size.stdout.strip().isdigit():
            raise _FetchError(f"cannot read {path} from commit {commit[:12]}")
        if int(size.stdout) > MAX_NOTEBOOK_BYTES:
            notes.append(f"skipped {path}: larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
            continue
        blob = _git(["cat-file", "blob", blob_id], git_dir=git_dir, allow_file=allow_file,
                    binary=True)
        if blob.returncode != 0:
            raise _FetchError(f"cannot read {path} from commit {commit[:12]}")
        target = dest.joinpath(*path.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob.stdout)
        out.append(target)
    # exercises/ first, then shallower paths: the first notebook per checks is graded
    out.sort(key=lambda p: (p.relative_to(dest).parts[0] != "exercises",
                            len(p.relative_to(dest).parts), str(p)))
    return out


def _notebooks_in_folder(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        found += [Path(root) / f for f in sorted(files)
                  if f.endswith(".ipynb") and not f.startswith(".")
                  and not (Path(root) / f).is_symlink()]
    return found


# --------------------------------------------------------------------------- grading


_SPECS: dict[tuple[str, str], Notebook] = {}  # (tests_dir, stem) -> spec, loaded once


def _spec(stem: str, tests_dir: Path | None) -> Notebook:
    """A notebook's checks, loaded once per process (before any sandbox runs)."""
    key = (str(tests_dir.resolve()) if tests_dir is not None else "", stem)
    if key not in _SPECS:
        try:
            _SPECS[key] = checks.load(stem, tests_dir)
        except checks.SpecError as exc:
            raise GradeError(str(exc)) from exc
    return _SPECS[key]


def expected_notebooks(tests_dir: Path | None, only: Sequence[str] | None = None
                       ) -> dict[str, dict[str, float]]:
    """What the assignment is worth, from the checks: notebook -> exercise -> points.

    With ``tests_dir``, the notebooks that folder has checks for; else every
    packaged one; ``only`` narrows that to some notebooks. Every spec is loaded here,
    once, and kept: :func:`complete` never reads the checks again after the
    sandboxes ran.
    """
    stems = ([s for s in checks.available(tests_dir) if (tests_dir / f"{s}.py").is_file()]
             if tests_dir is not None else checks.available())
    if only:
        unknown = [s for s in only if s not in checks.available(tests_dir)]
        if unknown:
            raise GradeError(f"--notebooks: no checks for {', '.join(unknown)} "
                             f"(checks exist for: {', '.join(checks.available(tests_dir))})")
        stems = list(only)
    if not stems:
        raise GradeError(f"no checks in {tests_dir}: expected <notebook>.py files")
    return {stem: {ex.grade_id: float(ex.points) for ex in _spec(stem, tests_dir).exercises}
            for stem in stems}


def _missing(stem: str, tests_dir: Path | None, reason: str) -> NotebookResult:
    spec = _spec(stem, tests_dir)
    results = [ExerciseResult(stem, ex.grade_id, ex.function, ex.description, ex.points,
                              reason=f"`{ex.function}`: {reason}")
               for ex in spec.exercises]
    return NotebookResult(stem, "", results, note=reason)


def complete(result: SubmissionResult, expected: dict[str, dict[str, float]],
             tests_dir: Path | None, reason: str | None = None) -> SubmissionResult:
    """Every expected notebook in checks order; one the submission lacks scores 0.

    Notebooks that are not expected are dropped (they are worth nothing here). The
    seed of the hidden cases and the sandbox's description (a WEAK SANDBOX marking
    included) are carried over.
    """
    have = {nb.name: nb for nb in result.notebooks}
    notebooks = []
    for stem in expected:
        if stem in have:
            notebooks.append(have[stem])
        else:
            why = reason or f"the notebook {stem}.ipynb is not in the submission"
            notebooks.append(_missing(stem, tests_dir, why))
    return SubmissionResult(result.name, notebooks, list(result.notes), result.seed,
                            result.sandbox)


def _describe_failure(exc: BaseException) -> str:
    if isinstance(exc, (_FetchError, GradeError)):
        return str(exc)[:300]
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def grade_class(students: Sequence[Student], *, options: Options,
                deadline: datetime | None = None, branch: str | None = None,
                only: Sequence[str] | None = None, allow_local: bool = False,
                progress=None, snapshot: Mapping[str, Mapping[str, str]] | None = None,
                submit_tags: bool = False, late: LatePolicy | None = None) -> ClassResult:
    """Fetch, pick the commit, extract the notebooks and grade every student.

    ``snapshot`` (from :func:`read_snapshot`): grade each student's recorded commit.
    ``submit_tags``: grade the newest Classroom 50 ``submit/<UTC>`` tag before the
    deadline. ``late``: commits up to ``late.until`` count, with a penalty. Whatever
    goes wrong with one student's repository is that student's failure.
    """
    if options.allow_weak_sandbox:
        raise GradeError(WEAK_REFUSED)
    if late is not None and deadline is None:
        raise GradeError("a late policy (--late-until) needs a --deadline")
    expected = expected_notebooks(options.tests_dir, only)  # every check, before any sandbox
    known = list(expected)
    # Each student's own hidden cases: nothing one sandbox learns is another's answer.
    seed = options.seed if options.seed is not None else secrets.randbelow(1 << 32)
    options = replace(options, seed=seed, per_student_cases=True)
    workdir = Path(tempfile.mkdtemp(prefix="rnncourse-class-"))
    try:
        subs: list[Submission] = []
        fetched: list[Fetched | None] = []
        failures: dict[int, tuple[str, str]] = {}
        for i, st in enumerate(students):
            notes: list[str] = []
            found: list[Path] = []
            got: Fetched | None = None
            if progress is not None:
                progress(f"fetching {st.name} ({i + 1}/{len(students)})")
            own = st.deadline or deadline
            cutoff = late.until if late is not None and own is not None and \
                late.until > own else own
            try:
                if st.git:
                    git_dir = workdir / f"{i:04d}.git"
                    recorded = None
                    if snapshot is not None:
                        entry = snapshot.get(st.name)
                        if entry is None or not entry.get("commit"):
                            why = (entry or {}).get("error") or "not in the snapshot"
                            raise _FetchError(f"snapshot: {why}",
                                              (entry or {}).get("status", "fetch-error"))
                        recorded = entry["commit"]
                    local = allow_local or st.local
                    got = fetch(st.source, git_dir, deadline=cutoff, branch=branch,
                                allow_local=local, commit=recorded, submit_tags=submit_tags)
                    if recorded is not None:
                        got = Fetched(got.commit, got.committed_at, "snapshot",
                                      _parse_time(snapshot[st.name].get("fetched_at")))
                    found = extract_notebooks(git_dir, got.commit, workdir / f"{i:04d}",
                                              allow_file=local, expected=known, notes=notes)
                    shutil.rmtree(git_dir, ignore_errors=True)
                else:
                    found = _notebooks_in_folder(Path(st.source))
                    notes.append("not a git repository: graded as found, no deadline applied")
            except _FetchError as exc:
                failures[i] = (exc.status, _describe_failure(exc))
            except GradeError as exc:
                if "git is not installed" in str(exc):
                    raise
                failures[i] = ("fetch-error", _describe_failure(exc))
            except Exception as exc:  # noqa: BLE001 -- a hostile repository is one student's
                failures[i] = ("fetch-error", _describe_failure(exc))
            keep = [p for p in found if checks.match(p.stem, known) is not None]
            subs.append(Submission(st.name, tuple(keep), follow_symlinks=False,
                                   notes=tuple(notes)))
            fetched.append(None if i in failures else got)
        results = grade(subs, options)
        out = []
        for i, (st, res, got) in enumerate(zip(students, results, fetched, strict=True)):
            reason = None
            status = "ok"
            if i in failures:
                status, why = failures[i]
                reason = f"nothing was graded: {why}"
                res.notes.append(reason)
            res = complete(res, expected, options.tests_dir, reason)
            # paths inside the temporary folder mean nothing to the reader: keep the repo path
            for nb in res.notebooks:
                if nb.path.startswith(str(workdir)):
                    nb.path = "/".join(Path(nb.path).relative_to(workdir).parts[1:])
            sr = StudentResult(st, res, got, status)
            own = st.deadline or deadline
            if got is not None and got.fetched_at is not None and own is not None and \
                    got.fetched_at > own:
                res.notes.append(f"the snapshot was recorded {_duration(got.fetched_at - own)} "
                                 f"after the deadline: work of that time is graded")
            if got is not None and got.ignored:
                res.notes.append(f"{got.ignored} later commit(s) or tag(s) after the "
                                 f"{'deadline' if late is None else 'late cutoff'} were "
                                 f"not graded")
            if late is not None and own is not None and got is not None:
                when = got.committed_at
                if when is not None and when > own:
                    sr.late = when - own
                    sr.penalty = late.penalty(sr.late)
                    res.notes.append(f"late by {_duration(sr.late)}: "
                                     f"{100 * sr.penalty:g}% of the score taken off")
            out.append(sr)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    extra = tuple(dict.fromkeys(k for st in students for k, _ in st.extra))
    chosen = "snapshot" if snapshot is not None else "submit-tag" if submit_tags else \
        "deadline" if deadline is not None else "tip"
    return ClassResult(out, expected, deadline, branch, extra_columns=extra, late=late,
                       chosen_by=chosen, seed=seed)


def _duration(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


# --------------------------------------------------------------------------- snapshots


def take_snapshot(students: Sequence[Student], *, branch: str | None = None,
                  allow_local: bool = False, progress=None) -> dict:
    """Each repository's tip now (``git ls-remote``): the evidence a student cannot forge.

    Run at the deadline; :func:`grade_class` with ``snapshot=`` grades these commits
    later, whatever dates their committers wrote.
    """
    _check_branch(branch)
    ref = f"refs/heads/{branch}" if branch else "HEAD"
    entries: dict[str, dict[str, str]] = {}
    for i, st in enumerate(students):
        if progress is not None:
            progress(f"recording {st.name} ({i + 1}/{len(students)})")
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        entry = {"repository": st.source, "fetched_at": now}
        try:
            if not st.git:
                raise _FetchError("not a git repository")
            transport = check_url(st.source, allow_local=allow_local or st.local)
            done = _git_retried(["ls-remote", "--", st.source, ref],
                                allow_file=transport == "file")
            shas = [line.split()[0] for line in done.stdout.splitlines()
                    if line.split()[1:] == [ref]]
            if not shas or not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", shas[0]):
                raise _FetchError(f"no {branch or 'default'} branch: no commit", "no-commit")
            entry.update(commit=shas[0], status="ok")
        except (_FetchError, GradeError) as exc:
            entry.update(commit="", status=getattr(exc, "status", "fetch-error"),
                         error=str(exc)[:300])
        entries[st.name] = entry
    return {"schema": "rnncourse/snapshot/v1", "branch": branch, "students": entries}


def read_snapshot(path: Path) -> dict[str, dict[str, str]]:
    """The students' entries of a snapshot file written by ``grade-class --snapshot``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GradeError(f"--from-snapshot {path}: cannot read it: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != "rnncourse/snapshot/v1" \
            or not isinstance(data.get("students"), dict):
        raise GradeError(f"--from-snapshot {path}: not a snapshot written by "
                         f"rnncourse grade-class --snapshot")
    out = {}
    for name, entry in data["students"].items():
        if not isinstance(entry, dict):
            raise GradeError(f"--from-snapshot {path}: the entry of {name!r} is malformed")
        commit = entry.get("commit", "")
        if commit and not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", str(commit)):
            raise GradeError(f"--from-snapshot {path}: {name!r} has no valid commit id")
        out[str(name)] = {k: str(v) for k, v in entry.items()}
    return out


# --------------------------------------------------------------------------- outputs


def _pts(x: float) -> str:
    return f"{x:g}"


def _cell(text: str) -> str:
    """A CSV cell that a spreadsheet does not take for a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def safe_filename(name: str, taken: set[str]) -> str:
    """A file name for a student's feedback: letters, digits, ``._-``; unique in ``taken``."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "student"
    base = base[:80]
    candidate, n = base, 2
    while candidate.lower() in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate.lower())
    return candidate


def _md(text: str) -> str:
    return md_escape(text, 400)


def _iso(when: datetime | None) -> str:
    return when.isoformat() if when is not None else ""


_CHOSEN = {
    "deadline": "the last commit whose committer date is at or before the deadline is graded",
    "snapshot": "the commit recorded at the deadline (grade-class --snapshot) is graded",
    "submit-tag": "the newest submit/ tag at or before the deadline is graded",
    "tip": "the tip of the branch is graded",
}


def feedback_markdown(sr: StudentResult, cls: ClassResult) -> str:
    """One student's feedback: the graded commit, the points and the reasons."""
    r = sr.result
    lines = [f"# Feedback: {_md(sr.name)}", ""]
    if sr.fetched is not None:
        when = sr.fetched.committed_at
        verb = "submitted" if sr.fetched.chosen_by == "submit-tag" else "committed"
        lines.append(f"- graded commit: `{sr.fetched.commit}` ({verb} "
                     f"{_iso(when) or 'at a date no calendar holds'})")
        if sr.fetched.tag:
            lines.append(f"- submission: tag `{_md(sr.fetched.tag)}`")
        if sr.fetched.fetched_at is not None:
            lines.append(f"- recorded at the deadline: {_iso(sr.fetched.fetched_at)}")
    if sr.status != "ok":
        lines.append(f"- status: {sr.status}")
    deadline = sr.student.deadline or cls.deadline
    if deadline is not None:
        own = " (your extension)" if sr.student.deadline is not None else ""
        lines.append(f"- deadline: {deadline.isoformat()}{own} ({_CHOSEN[cls.chosen_by]})")
    if sr.penalty:
        lines.append(f"- late penalty: {100 * sr.penalty:g}% (late by {_duration(sr.late)}); "
                     f"before it {_pts(r.score)} points")
    lines.append(f"- score: **{_pts(sr.score)} / {_pts(cls.max_score)}** points")
    if r.seed is not None:
        lines.append(f"- your hidden cases were drawn with seed {r.seed} (`rnncourse grade "
                     f"--seed {r.seed}` on your notebooks draws them again); sandbox: "
                     f"{_md(r.sandbox) or 'n/a'}")
    lines.extend(f"- note: {_md(n)}" for n in r.notes)
    for nb in r.notebooks:
        lines += ["", f"## {_md(nb.name)} — {_pts(nb.score)} / {_pts(nb.max_score)}", ""]
        if nb.path:
            lines += [f"Graded file: {_md(nb.path)}", ""]
        lines += ["| exercise | points | result |", "|---|---:|---|"]
        for e in nb.exercises:
            verdict = "pass" if e.passed else _md(e.reason.removeprefix(f"`{e.function}`: "))
            lines.append(f"| `{e.function}` | {_pts(e.points)} / {_pts(e.max_points)} | "
                         f"{verdict} |")
        for e in nb.exercises:
            if not e.passed and e.details:
                fence = "~~~~" if "```" in e.details else "```"
                lines += ["", f"Details for `{e.function}`:", "", fence + "text",
                          e.details.replace("~~~~", "~ ~ ~ ~"), fence]
    return "\n".join(lines) + "\n"


def gradebook_csv(cls: ClassResult) -> str:
    """One row per student: name, the roster's other columns, repository, status, commit,
    points per exercise, the late penalty and the total."""
    keys = [(nb, gid) for nb, ex in cls.expected.items() for gid in ex]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["name", *cls.extra_columns, "repository", "status", "commit", "committed_at",
                *(f"{nb}/{gid}" for nb, gid in keys), "points", "late_penalty", "total",
                "max_score"])
    for sr in cls.students:
        got = {(e.notebook, e.grade_id): e.points for e in sr.result.exercises}
        extra = dict(sr.student.extra)
        w.writerow([_cell(sr.name), *(_cell(extra.get(c, "")) for c in cls.extra_columns),
                    _cell(sr.student.source), sr.status,
                    sr.fetched.commit if sr.fetched else "",
                    _iso(sr.fetched.committed_at) if sr.fetched else "",
                    *(_pts(got.get(k, 0.0)) for k in keys),
                    _pts(sr.result.score), f"{100 * sr.penalty:g}%", _pts(sr.score),
                    _pts(cls.max_score)])
    return buf.getvalue()


_CANVAS_IDS = {"ID": ("canvas_id", "canvas id", "id", "user_id"),
               "SIS User ID": ("sis_user_id", "sis user id", "sis_id", "sis id", "student_id"),
               "SIS Login ID": ("sis_login_id", "sis login id", "login_id", "login", "email"),
               "Section": ("section",)}


def canvas_csv(cls: ClassResult, assignment: str) -> str:
    """A gradebook Canvas imports (Grades -> Import): one column, ``assignment``.

    Canvas matches rows on ``ID``, ``SIS User ID`` or ``SIS Login ID``: give the
    roster one of those columns (``canvas_id``, ``sis_user_id``, ``sis_login_id`` or
    ``email``, ...); the scores are after the late penalty.
    """
    if not assignment.strip() or any(c in assignment for c in "\n\r"):
        raise GradeError("--canvas: give the assignment's name as Canvas shows it")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["Student", *_CANVAS_IDS, assignment])
    w.writerow(["Points Possible", "", "", "", "", _pts(cls.max_score)])
    for sr in cls.students:
        extra = {k.strip().lower(): v for k, v in sr.student.extra}
        ids = [next((extra[a] for a in aliases if extra.get(a)), "")
               for aliases in _CANVAS_IDS.values()]
        w.writerow([_cell(sr.name), *map(_cell, ids), _pts(sr.score)])
    return buf.getvalue()


def gradebook_json(cls: ClassResult) -> dict:
    """The whole run as data: the deadline, the checks' points and every student."""
    return dict(
        deadline=cls.deadline.isoformat() if cls.deadline else None,
        branch=cls.branch, max_score=cls.max_score, checks=cls.expected,
        chosen_by=cls.chosen_by, seed=cls.seed,
        late_policy=None if cls.late is None else dict(
            until=cls.late.until.isoformat(), percent_per_day=cls.late.percent_per_day),
        students=[dict(
            name=sr.name, repository=sr.student.source, status=sr.status,
            columns=dict(sr.student.extra),
            deadline=sr.student.deadline.isoformat() if sr.student.deadline else None,
            commit=sr.fetched.commit if sr.fetched else None,
            committed_at=_iso(sr.fetched.committed_at) or None if sr.fetched else None,
            fetched_at=_iso(sr.fetched.fetched_at) or None if sr.fetched else None,
            tag=sr.fetched.tag or None if sr.fetched else None,
            points=sr.result.score, late_penalty=sr.penalty,
            score=sr.score, max_score=cls.max_score, notes=sr.result.notes,
            seed=sr.result.seed, sandbox=sr.result.sandbox,
            exercises=[dict(notebook=e.notebook, grade_id=e.grade_id, function=e.function,
                            points=e.points, max_points=e.max_points, passed=e.passed,
                            reason=e.reason) for e in sr.result.exercises],
        ) for sr in cls.students])


def write_outputs(cls: ClassResult, out: Path, *, canvas: str | None = None
                  ) -> dict[str, Path]:
    """``gradebook.csv``, ``gradebook.json``, ``feedback/<name>.md`` (and ``canvas.csv``)."""
    feedback = out / "feedback"
    feedback.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "gradebook.csv", "json": out / "gradebook.json"}
    paths["csv"].write_text(gradebook_csv(cls), encoding="utf-8")
    paths["json"].write_text(json.dumps(gradebook_json(cls), indent=2) + "\n", encoding="utf-8")
    if canvas is not None:
        paths["canvas"] = out / "canvas.csv"
        paths["canvas"].write_text(canvas_csv(cls, canvas), encoding="utf-8")
    taken: set[str] = set()
    for sr in cls.students:
        target = feedback / f"{safe_filename(sr.name, taken)}.md"
        target.write_text(feedback_markdown(sr, cls), encoding="utf-8")
        paths[f"feedback:{sr.name}"] = target
    return paths
