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
them. What a student cannot forge is *when the instructor fetched*: run this at
the deadline (the instructor workflow's schedule does) and keep the gradebook,
which records the graded commit of every student.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
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

__all__ = ["Student", "Fetched", "read_roster", "parse_deadline", "check_url", "fetch",
           "pick_commit", "extract_notebooks", "expected_notebooks", "complete",
           "grade_class", "ClassResult", "StudentResult", "write_outputs", "feedback_markdown"]

GIT_TIMEOUT = 300  # seconds for one git command (a clone of a large repository)
MAX_NOTEBOOK_BYTES = 50 << 20  # larger blobs are not read out of the repository
NAME_COLUMNS = ("name", "student", "identifier")
URL_COLUMNS = ("repository", "repo", "url", "git_url")


@dataclass(frozen=True)
class Student:
    """One row of the roster: a name and where their work is."""

    name: str
    source: str  # a git URL, or a local path (a clone, or a plain folder of notebooks)
    local: bool = False  # source is a path on this machine (a folder of clones)
    git: bool = True  # False: a plain folder, graded as found


@dataclass(frozen=True)
class Fetched:
    """The commit that is graded: its id and committer date."""

    commit: str
    committed_at: datetime


@dataclass
class StudentResult:
    """A student's grading: the roster entry, the commit and the grader's result."""

    student: Student
    result: SubmissionResult
    fetched: Fetched | None = None

    @property
    def name(self) -> str:
        return self.student.name


@dataclass
class ClassResult:
    """Everything :func:`write_outputs` needs."""

    students: list[StudentResult]
    expected: dict[str, dict[str, float]]  # notebook -> grade_id -> points, from the checks
    deadline: datetime | None = None
    branch: str | None = None
    notes: list[str] = field(default_factory=list)

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
    header = [h.strip().lower() for h in rows[0]]
    name_col = next((header.index(c) for c in NAME_COLUMNS if c in header), None)
    url_col = next((header.index(c) for c in URL_COLUMNS if c in header), None)
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
        students.append(Student(name, url))
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


class _FetchError(Exception):
    """A student's repository cannot be fetched (their problem or the network's)."""


def _last_line(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return (lines[-1] if lines else "no message")[:300]


def fetch(source: str, dest: Path, *, deadline: datetime | None = None,
          branch: str | None = None, allow_local: bool = False) -> Fetched:
    """Clone ``source`` into the new bare repository ``dest``; the commit to grade.

    Without a deadline the clone is shallow (``--depth 1``); with one, the
    branch's history comes without file contents (``--filter=blob:none``,
    which servers without partial-clone support ignore) so that the commit
    before the deadline can be found.
    """
    transport = check_url(source, allow_local=allow_local)
    if branch is not None and (branch.startswith("-") or not branch.strip()):
        raise GradeError(f"--branch {branch!r}: not a branch name")
    args = ["clone", "--bare", "--quiet", "--no-tags", "--single-branch",
            "--no-recurse-submodules", "--template="]
    if transport == "file":
        args.append("--no-local")  # through the transport: no hard links, no symlinked objects
    if branch:
        args += ["--branch", branch]
    args += ["--depth", "1"] if deadline is None else ["--filter=blob:none"]
    done = _git([*args, "--", source, str(dest)], allow_file=transport == "file")
    if done.returncode != 0:
        raise _FetchError(f"git clone failed: {_last_line(done.stderr)}")
    return pick_commit(dest, deadline, allow_file=transport == "file")


def pick_commit(git_dir: Path, deadline: datetime | None, *, allow_file: bool = False) -> Fetched:
    """The newest commit of HEAD's history whose committer date is at or before ``deadline``."""
    log = _git(["log", "--format=%H %ct", "HEAD"], git_dir=git_dir, allow_file=allow_file)
    if log.returncode != 0:
        raise _FetchError(f"the repository has no commits ({_last_line(log.stderr)})")
    limit = None if deadline is None else deadline.timestamp()
    best: tuple[int, str] | None = None
    for line in log.stdout.split("\n"):
        parts = line.split()
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            continue
        sha, when = parts[0], int(parts[1])
        if limit is not None and when > limit:
            continue
        if best is None or when > best[0]:
            best = (when, sha)
        if limit is None:
            break  # the tip
    if best is None:
        raise _FetchError("no commit before the deadline")
    return Fetched(best[1], datetime.fromtimestamp(best[0], timezone.utc))


def extract_notebooks(git_dir: Path, commit: str, dest: Path, *,
                      allow_file: bool = False) -> list[Path]:
    """Write the ``.ipynb`` blobs of ``commit`` under ``dest``; nothing else leaves git.

    Symbolic links (mode 120000), submodules (160000), hidden paths and
    blobs over :data:`MAX_NOTEBOOK_BYTES` are skipped.
    """
    # no --long: sizes would make a partial clone download every blob of the tree
    tree = _git(["ls-tree", "-r", "-z", "--full-tree", commit], git_dir=git_dir,
                allow_file=allow_file)
    if tree.returncode != 0:
        raise _FetchError(f"cannot list commit {commit[:12]}: {_last_line(tree.stderr)}")
    out: list[Path] = []
    for entry in tree.stdout.split("\0"):
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
        size = _git(["cat-file", "-s", fields[2]], git_dir=git_dir, allow_file=allow_file)
        if size.returncode != 0 or not size.stdout.strip().isdigit():
            raise _FetchError(f"cannot read {path} from commit {commit[:12]}")
        if int(size.stdout) > MAX_NOTEBOOK_BYTES:
            continue
        blob = _git(["cat-file", "blob", fields[2]], git_dir=git_dir, allow_file=allow_file,
                    binary=True)
        if blob.returncode != 0:
            raise _FetchError(f"cannot read {path} from commit {commit[:12]}")
        target = dest.joinpath(*parts)
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


def expected_notebooks(tests_dir: Path | None, only: Sequence[str] | None = None
                       ) -> dict[str, dict[str, float]]:
    """What the assignment is worth, from the checks: notebook -> exercise -> points.

    With ``tests_dir``, the notebooks that folder has checks for; else every
    packaged one; ``only`` narrows that to some notebooks.
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
    out = {}
    for stem in stems:
        try:
            spec = checks.load(stem, tests_dir)
        except checks.SpecError as exc:
            raise GradeError(str(exc)) from exc
        out[stem] = {ex.grade_id: float(ex.points) for ex in spec.exercises}
    return out


def _missing(stem: str, tests_dir: Path | None, reason: str) -> NotebookResult:
    spec = checks.load(stem, tests_dir)
    results = [ExerciseResult(stem, ex.grade_id, ex.function, ex.description, ex.points,
                              reason=f"`{ex.function}`: {reason}")
               for ex in spec.exercises]
    return NotebookResult(stem, "", results, note=reason)


def complete(result: SubmissionResult, expected: dict[str, dict[str, float]],
             tests_dir: Path | None, reason: str | None = None) -> SubmissionResult:
    """Every expected notebook in checks order; one the submission lacks scores 0.

    Notebooks that are not expected are dropped (they are worth nothing here).
    """
    have = {nb.name: nb for nb in result.notebooks}
    notebooks = []
    for stem in expected:
        if stem in have:
            notebooks.append(have[stem])
        else:
            why = reason or f"the notebook {stem}.ipynb is not in the submission"
            notebooks.append(_missing(stem, tests_dir, why))
    return SubmissionResult(result.name, notebooks, list(result.notes))


def grade_class(students: Sequence[Student], *, options: Options,
                deadline: datetime | None = None, branch: str | None = None,
                only: Sequence[str] | None = None, allow_local: bool = False,
                progress=None) -> ClassResult:
    """Fetch, pick the commit, extract the notebooks and grade every student."""
    expected = expected_notebooks(options.tests_dir, only)
    known = list(expected)
    workdir = Path(tempfile.mkdtemp(prefix="rnncourse-class-"))
    try:
        subs: list[Submission] = []
        fetched: list[Fetched | None] = []
        failures: dict[int, str] = {}
        for i, st in enumerate(students):
            notes: list[str] = []
            found: list[Path] = []
            got: Fetched | None = None
            if progress is not None:
                progress(f"fetching {st.name} ({i + 1}/{len(students)})")
            try:
                if st.git:
                    git_dir = workdir / f"{i:04d}.git"
                    got = fetch(st.source, git_dir, deadline=deadline, branch=branch,
                                allow_local=allow_local or st.local)
                    found = extract_notebooks(git_dir, got.commit, workdir / f"{i:04d}",
                                              allow_file=allow_local or st.local)
                    shutil.rmtree(git_dir, ignore_errors=True)
                else:
                    found = _notebooks_in_folder(Path(st.source))
                    notes.append("not a git repository: graded as found, no deadline applied")
            except _FetchError as exc:
                failures[i] = str(exc)
            keep = [p for p in found if checks.match(p.stem, known) is not None]
            subs.append(Submission(st.name, tuple(keep), follow_symlinks=False,
                                   notes=tuple(notes)))
            fetched.append(got)
        results = grade(subs, options)
        out = []
        for i, (st, res, got) in enumerate(zip(students, results, fetched, strict=True)):
            reason = None
            if i in failures:
                reason = f"nothing was graded: {failures[i]}"
                res.notes.append(reason)
            res = complete(res, expected, options.tests_dir, reason)
            # paths inside the temporary folder mean nothing to the reader: keep the repo path
            for nb in res.notebooks:
                if nb.path.startswith(str(workdir)):
                    nb.path = "/".join(Path(nb.path).relative_to(workdir).parts[1:])
            out.append(StudentResult(st, res, got))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return ClassResult(out, expected, deadline, branch)


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
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
            .replace("`", "'").replace("\n", " "))[:400]


def feedback_markdown(sr: StudentResult, cls: ClassResult) -> str:
    """One student's feedback: the graded commit, the points and the reasons."""
    r = sr.result
    lines = [f"# Feedback: {_md(sr.name)}", ""]
    if sr.fetched is not None:
        lines.append(f"- graded commit: `{sr.fetched.commit}` (committed "
                     f"{sr.fetched.committed_at.isoformat()})")
    if cls.deadline is not None:
        lines.append(f"- deadline: {cls.deadline.isoformat()} (the last commit whose committer "
                     f"date is at or before it is graded)")
    lines.append(f"- score: **{_pts(r.score)} / {_pts(cls.max_score)}** points")
    if r.seed is not None:
        lines.append(f"- hidden cases drawn with seed {r.seed} (`--seed {r.seed}` reproduces "
                     f"them); sandbox: {_md(r.sandbox) or 'n/a'}")
    lines.extend(f"- note: {_md(n)}" for n in r.notes)
    for nb in r.notebooks:
        lines += ["", f"## {nb.name} — {_pts(nb.score)} / {_pts(nb.max_score)}", ""]
        if nb.path:
            lines += [f"Graded file: `{_md(nb.path)}`", ""]
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
    """One row per student: name, repository, commit, points per exercise, total."""
    keys = [(nb, gid) for nb, ex in cls.expected.items() for gid in ex]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["name", "repository", "commit", "committed_at",
                *(f"{nb}/{gid}" for nb, gid in keys), "total", "max_score"])
    for sr in cls.students:
        got = {(e.notebook, e.grade_id): e.points for e in sr.result.exercises}
        w.writerow([_cell(sr.name), _cell(sr.student.source),
                    sr.fetched.commit if sr.fetched else "",
                    sr.fetched.committed_at.isoformat() if sr.fetched else "",
                    *(_pts(got.get(k, 0.0)) for k in keys),
                    _pts(sr.result.score), _pts(cls.max_score)])
    return buf.getvalue()


def gradebook_json(cls: ClassResult) -> dict:
    """The whole run as data: the deadline, the checks' points and every student."""
    return dict(
        deadline=cls.deadline.isoformat() if cls.deadline else None,
        branch=cls.branch, max_score=cls.max_score, checks=cls.expected,
        students=[dict(
            name=sr.name, repository=sr.student.source,
            commit=sr.fetched.commit if sr.fetched else None,
            committed_at=sr.fetched.committed_at.isoformat() if sr.fetched else None,
            score=sr.result.score, max_score=cls.max_score, notes=sr.result.notes,
            seed=sr.result.seed, sandbox=sr.result.sandbox,
            exercises=[dict(notebook=e.notebook, grade_id=e.grade_id, function=e.function,
                            points=e.points, max_points=e.max_points, passed=e.passed,
                            reason=e.reason) for e in sr.result.exercises],
        ) for sr in cls.students])


def write_outputs(cls: ClassResult, out: Path) -> dict[str, Path]:
    """``gradebook.csv``, ``gradebook.json`` and ``feedback/<name>.md`` under ``out``."""
    feedback = out / "feedback"
    feedback.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "gradebook.csv", "json": out / "gradebook.json"}
    paths["csv"].write_text(gradebook_csv(cls), encoding="utf-8")
    paths["json"].write_text(json.dumps(gradebook_json(cls), indent=2) + "\n", encoding="utf-8")
    taken: set[str] = set()
    for sr in cls.students:
        target = feedback / f"{safe_filename(sr.name, taken)}.md"
        target.write_text(feedback_markdown(sr, cls), encoding="utf-8")
        paths[f"feedback:{sr.name}"] = target
    return paths
