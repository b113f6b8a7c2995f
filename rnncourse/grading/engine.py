"""Grading submissions: find the notebooks, compute the references, run the sandboxes, score.

The whole flow, for every submission and every exercise of its notebooks:

1. the notebook is parsed as JSON in the grader (:mod:`.notebook`) and the
   source text of the exercise's cell -- and of the cells it ``requires`` -- is
   taken out;
2. the cases and the reference outputs are computed once per notebook spec, in
   the grader, with the spec's ``reference`` functions (:class:`Prepared`);
3. one sandbox process per exercise runs the student's cells and the spec's
   ``call`` on the cases (:func:`.runner.run_sandbox`), several at a time;
4. what came back is compared with the reference (:mod:`.compare`) and turned
   into points and a reason.

Scoring is all or nothing per exercise by default: the points when every case
agrees with the reference, else 0 with the reason for the first case that does
not (and how many failed). With ``Options(partial_credit=True)`` a failing
exercise earns its points times the fraction of hidden cases that agree --
except when its cell cannot run or a case breaks a rule of the grader (an
input changed in place, a blocked operation), which still costs all of it.

Output on stderr (warnings) never costs points; a blocked operation (importing
``rnncourse``, reading the checks, writing outside the sandbox, starting
processes, ...) always costs the exercise.
"""

from __future__ import annotations

import copy
import hashlib
import io
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import checks
from .compare import compare
from .notebook import MAX_CELL_CHARS, Cell, NotebookError, cells, find_cell, read_notebook
from .returns import SOURCE as RETURNS_SOURCE
from .returns import wrap_call
from .runner import (
    Limits,
    SandboxRun,
    SandboxServer,
    describe_exit,
    run_sandbox,
    trusted_paths,
)
from .sandbox import OUT_OF_MEMORY, WRITE_FAILED, Unsupported, decode, encode, landlock_abi
from .spec import Exercise, Notebook

__all__ = ["GradeError", "Options", "Submission", "ExerciseResult", "NotebookResult",
           "SubmissionResult", "Prepared", "find_submissions", "grade", "grade_paths",
           "check_sandbox", "student_seed"]


class GradeError(Exception):
    """The grader cannot run (bad arguments, broken checks); not a student's fault."""


@dataclass(frozen=True)
class Options:
    """How to grade: sandbox limits, parallelism and where the checks are."""

    limits: Limits = field(default_factory=Limits)
    jobs: int = 0  # sandboxes at a time; 0: one per CPU core
    tests_dir: Path | None = None  # private checks that replace the packaged ones
    seed: int | None = None  # of the hidden cases; None: a fresh one, drawn for this run
    allow_weak_sandbox: bool = False  # grade even where the kernel offers no Landlock
    partial_credit: bool = False  # points per hidden case that agrees, not all or nothing
    per_student_cases: bool = False  # each student's own hidden cases (student_seed)


def student_seed(seed: int, name: str) -> int:
    """A student's own seed of the hidden cases: the run's seed mixed with their name.

    ``rnncourse grade --seed`` with it draws that student's cases again.
    """
    digest = hashlib.sha256(f"{seed}\0{name}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:4], "little")


@dataclass(frozen=True)
class Submission:
    """One student's work: a name and the notebook files to grade."""

    name: str
    notebooks: tuple[Path, ...]
    follow_symlinks: bool = True
    notes: tuple[str, ...] = ()


@dataclass
class ExerciseResult:
    """Points and reason for one exercise of one notebook."""

    notebook: str
    grade_id: str
    function: str
    description: str
    max_points: float
    points: float = 0.0
    reason: str = ""  # one line; empty when the exercise passed
    details: str = ""  # more lines for the student: their output, the failing line
    seconds: float = 0.0
    sandbox: str = ""  # how the sandbox was protected (seccomp state)

    @property
    def passed(self) -> bool:
        return not self.reason


@dataclass
class NotebookResult:
    """The exercises of one notebook file."""

    name: str  # the checks' name, e.g. "ch02_rnn"
    path: str
    exercises: list[ExerciseResult]
    note: str = ""

    @property
    def score(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(e.max_points for e in self.exercises)


@dataclass
class SubmissionResult:
    """All notebooks of one submission."""

    name: str
    notebooks: list[NotebookResult]
    notes: list[str] = field(default_factory=list)
    seed: int | None = None  # the hidden cases' seed: `rnncourse grade --seed` reproduces them
    sandbox: str = ""  # what enforced the isolation, e.g. "Landlock ABI 7, seccomp, rlimits"

    @property
    def exercises(self) -> list[ExerciseResult]:
        return [e for nb in self.notebooks for e in nb.exercises]

    @property
    def score(self) -> float:
        return sum(nb.score for nb in self.notebooks)

    @property
    def max_score(self) -> float:
        return sum(nb.max_score for nb in self.notebooks)


# --------------------------------------------------------------------------- submissions


def _notebooks_below(folder: Path, notes: list[str]) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".ipynb") and not name.startswith("."):
                path = Path(root) / name
                if path.is_symlink():
                    notes.append(f"skipped {path}: a symbolic link (submit the notebook itself)")
                else:
                    found.append(path)
    return found


def find_submissions(paths: Sequence[str | os.PathLike]) -> list[Submission]:
    """Submissions named on the command line.

    * notebook files: together, one submission (a student grading their own work);
    * a directory holding notebooks: one submission (its notebooks, at any depth);
    * any other directory: a class; each subdirectory is one submission.
    """
    files: list[Path] = []
    out: list[Submission] = []
    for p in map(Path, paths):
        if p.is_file():
            if p.suffix != ".ipynb":
                raise GradeError(f"{p} is not a notebook (.ipynb) file")
            files.append(p)
        elif p.is_dir():
            if any(q.suffix == ".ipynb" and q.is_file() for q in p.iterdir()):
                notes: list[str] = []
                out.append(Submission(p.resolve().name, tuple(_notebooks_below(p, notes)), False,
                                      tuple(notes)))
                continue
            for sub in sorted(q for q in p.iterdir() if q.is_dir() and not q.name.startswith(".")):
                notes = []
                if sub.is_symlink():
                    continue
                found = _notebooks_below(sub, notes)
                if found or notes:
                    out.append(Submission(sub.name, tuple(found), False, tuple(notes)))
        else:
            raise GradeError(f"{p} does not exist")
    if files:
        parents = {f.resolve().parent for f in files}
        name = parents.pop().name if len(parents) == 1 else "submission"
        out.insert(0, Submission(name, tuple(files)))
    if not out:
        raise GradeError("no notebooks to grade in " + ", ".join(map(str, paths)))
    return out


# --------------------------------------------------------------------------- references


@dataclass
class _PreparedExercise:
    exercise: Exercise
    case_nodes: list[dict]
    case_npz: bytes
    reference: list[Any]  # plain data, one per case (a tuple when several outputs)
    shapes: list[str]  # "x (2, 3), prev_h (2, 4)" per case, for messages


class Prepared:
    """A notebook spec with its cases and reference outputs, computed once, in the grader."""

    def __init__(self, spec: Notebook, seed: int | None = None) -> None:
        self.spec = spec
        self.seed = seed
        self.exercises = {ex.grade_id: self._prepare(ex) for ex in spec.exercises}

    def rng(self, ex: Exercise) -> np.random.Generator:
        """The generator of an exercise's cases: the spec's seed, mixed with the run's seed."""
        if self.seed is None:
            return np.random.default_rng(self.spec.seed)
        return np.random.default_rng([self.seed, self.spec.seed,
                                      *ex.grade_id.encode("utf-8")])

    def _prepare(self, ex: Exercise) -> _PreparedExercise:
        where = f"checks {self.spec.name}, exercise {ex.grade_id}"
        cases = ex.cases(self.rng(ex))
        arrays: dict[str, np.ndarray] = {}
        try:
            nodes = [encode(c, arrays, f"case {i + 1}", prefix="c") for i, c in enumerate(cases)]
        except Unsupported as exc:
            raise GradeError(f"{where}: a case cannot be sent to the sandbox: {exc}") from None
        if any(n["t"] != "dict" for n in nodes):
            raise GradeError(f"{where}: every case must be a dict of variables")
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        scope: dict[str, Any] = {"__name__": "__grader__"}
        exec(compile(self.spec.helpers, f"<helpers of {self.spec.name}>", "exec"), scope)
        scope.update(self.spec.reference)
        call = compile(ex.call, f"<{where}>", "eval")
        reference = []
        for i, case in enumerate(cases):
            try:
                value = eval(call, {**scope, **copy.deepcopy(case)})
            except Exception as exc:
                raise GradeError(f"{where}: the reference fails on case {i + 1}: "
                                 f"{type(exc).__name__}: {exc}") from exc
            reference.append(self._plain(value, ex, where))
        shapes = [", ".join(f"{k} {np.shape(v)}" if isinstance(v, np.ndarray) else f"{k} = {v!r}"
                            for k, v in c.items())[:300] for c in cases]
        return _PreparedExercise(ex, nodes, buf.getvalue(), reference, shapes)

    @staticmethod
    def _plain(value: Any, ex: Exercise, where: str) -> Any:
        """The reference output as plain data, normalised exactly as the sandbox does it."""
        if len(ex.outputs) > 1 and (not isinstance(value, (tuple, list))
                                    or len(value) != len(ex.outputs)):
            raise GradeError(f"{where}: the reference returns {type(value).__name__}, "
                             f"not {len(ex.outputs)} outputs")
        arrays: dict[str, np.ndarray] = {}
        try:
            if len(ex.outputs) == 1:
                return decode(encode(value, arrays, ex.outputs[0]), arrays)
            pairs = zip(value, ex.outputs, strict=True)
            return tuple(decode(encode(v, arrays, o), arrays) for v, o in pairs)
        except Unsupported as exc:
            raise GradeError(f"{where}: the reference output cannot be compared: {exc}") from None


# --------------------------------------------------------------------------- judging


def _where(info: dict) -> str:
    w = info.get("where")
    if not isinstance(w, dict):
        return ""
    fn, line, text = w.get("function"), w.get("line"), w.get("text")
    loc = f"in {fn}, " if isinstance(fn, str) and fn and fn != "<module>" else ""
    loc += f"line {line} of its cell" if isinstance(line, int) else ""
    if isinstance(text, str) and text:
        loc += f": {text[:100]}"
    return f" ({loc})" if loc else ""


def _error_reason(info: Any, ex: Exercise, limits: Limits, while_: str = "") -> str:
    if not isinstance(info, dict):
        return "returned an unreadable result"
    kind = str(info.get("type", "an exception"))[:80]
    msg = str(info.get("message", ""))[:300]
    raised_in = ""
    w = info.get("where")
    if isinstance(w, dict) and isinstance(w.get("function"), str) \
            and w["function"] not in (ex.function, "<module>", ""):
        raised_in = f" in {w['function']}"
    if info.get("unsupported"):
        return msg
    if info.get("blocked"):  # also reported through the pipe, unless the student closed it
        return msg.removeprefix("[blocked by the grader] ")
    if kind == "MissingReturnValue" and info.get("where") is None:
        return msg  # raised by the grader's check of the documented return values
    if info.get("not_implemented"):
        return f"not implemented yet (NotImplementedError{raised_in})"
    if info.get("exit"):
        code = "" if msg == "None" else msg
        return f"your code called sys.exit({code}){while_ or ' before returning'}"
    if info.get("memory"):
        return f"used more than {limits.memory_mb} MB of memory"
    if kind == "RuntimeError" and msg.startswith("can't start new thread"):
        return (f"could not start a thread: out of memory (the limit is {limits.memory_mb} MB, "
                f"a thread's stack included){while_}{_where(info)}")
    hint = ""
    if kind == "NameError":
        hint = (" -- the autograder runs this exercise's cell on its own, after only the "
                "setup's definitions and the cells of the exercises it builds on: define "
                "what it uses inside the cell")
    return f"raised {kind}: {msg}{while_}{_where(info)}{hint}"


def _crash_reason(run: SandboxRun, limits: Limits) -> str:
    stderr = run.stderr
    if run.blocked:
        return run.blocked[0]
    if run.timed_out:
        return f"timed out after {limits.timeout:g} s (an endless loop?)"
    if run.flooded:
        return f"printed more than {limits.max_output / (1 << 20):g} MB of output"
    if "MemoryError" in stderr or "Cannot allocate memory" in stderr or "bad_alloc" in stderr:
        return f"used more than {limits.memory_mb} MB of memory"
    code = run.exit_code
    if code is not None and code < 0:
        if run.cpu_s >= limits.job()["cpu_s"] - 0.5:
            return f"used more than {limits.job()['cpu_s']} s of CPU time"
        return f"crashed ({describe_exit(code)})"
    if run.problem == "no result" and code == OUT_OF_MEMORY:
        return (f"used more than {limits.memory_mb} MB of memory (no memory was left to send "
                f"the results back)")
    if run.problem == "no result" and code == WRITE_FAILED:
        return (f"no result came back: your code closed or damaged the pipe that carries the "
                f"results (or called os._exit({WRITE_FAILED}))")
    if run.problem == "no result":
        return (f"your code ended the process (os._exit / sys.exit) before returning "
                f"({describe_exit(code)})")
    return f"returned {run.problem}"


def _printable(text: str, *, one_line: bool = False) -> str:
    """Student-controlled text, safe for a terminal, a table or a CSV cell."""
    keep = "\t" if one_line else "\n\t"
    text = "".join(c if c.isprintable() or c in keep else ("?" if c != "\n" else " ")
                   for c in text)
    return text.replace("\t", " ") if one_line else text


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def judge(run: SandboxRun, prep: _PreparedExercise, limits: Limits) -> tuple[str, str]:
    """The reason an exercise fails (empty if it passes) and details for the student."""
    reason, details, _ = judge_cases(run, prep, limits)
    return reason, details


def judge_cases(run: SandboxRun, prep: _PreparedExercise,
                limits: Limits) -> tuple[str, str, float]:
    """:func:`judge`, and the fraction of the hidden cases that agree with the reference
    (0 when the cell could not run, or a case broke a rule of the grader)."""
    ex = prep.exercise
    agree = 0.0
    status = run.status
    details: list[str] = []
    reason = ""
    if run.blocked or status is None:
        reason = _crash_reason(run, limits)
    elif status.get("setup_error") is not None:
        err = status["setup_error"]
        if not isinstance(err, dict):
            reason = "returned an unreadable result"
        else:
            cell = err.get("cell")
            need = f" `{cell}` (needed by this exercise):" if cell not in (None, ex.grade_id) \
                else ""
            stage = err.get("stage")
            if stage == "syntax":
                w = err.get("where") if isinstance(err.get("where"), dict) else {}
                reason = (f"syntax error in the cell{need and ' of' + need[:-1]}, line "
                          f"{w.get('line')}: {str(err.get('message'))[:200]}")
            elif stage == "undefined":
                defined = err.get("defined") if isinstance(err.get("defined"), list) else []
                names = ", ".join(str(d)[:40] for d in defined[:10])
                reason = (f"the cell does not define `{str(err.get('function'))[:60]}`"
                          + (f" (did you rename it? it defines: {names})" if names else
                             " (did you rename it?)"))
                if need:
                    reason = need.strip(" :") + ": " + reason
            elif stage == "helpers":
                reason = "the grader's helper code failed: " + _error_reason(err, ex, limits)
            else:
                reason = _error_reason(err, ex, limits, " while its cell was run")
                if need:
                    reason = f"the cell of{need[:-1]} {reason}"
    else:
        results = status["cases"]
        n = len(prep.reference)
        if len(results) != n:
            reason = "returned an unreadable result"
        failed = 0
        for i, (rec, ref) in enumerate(zip(results, prep.reference, strict=False)):
            why = _case_reason(rec, ref, ex, run.arrays, limits)
            if why:
                failed += 1
                if not reason:
                    reason = why
                    if not why.startswith("not implemented"):
                        reason += f" (case {i + 1} of {n})" if n > 1 else ""
                        details.append(f"case {i + 1}: {_call_text(rec, ex, prep.shapes[i])}")
        if failed and n > 1 and not reason.startswith("not implemented"):
            details.append(f"{n - failed} of {n} cases agree with the reference")
        if len(results) == n and n:
            agree = (n - failed) / n
    if reason:
        if run.stdout.strip():
            details.append("your code printed (last lines):\n" + _tail(run.stdout))
        if run.stderr.strip():
            details.append("on stderr (last lines):\n" + _tail(run.stderr))
    if run.blocked or "in place" in reason:
        agree = 0.0  # a broken rule of the grader costs the whole exercise
    return reason, "\n".join(details), agree


def _call_text(rec: Any, ex: Exercise, shapes: str) -> str:
    """The failing call in the student's terms: ``rnn_backward(dh=array (2, 5, 3) float64, ...)``.

    The arguments are named as the student's function names its parameters; when the
    function was never reached, the grader's own description of the inputs is used.
    """
    args = rec.get("args") if isinstance(rec, dict) else None
    if isinstance(args, list) and all(isinstance(a, list) and len(a) == 2 for a in args):
        inner = ", ".join(f"{str(k)[:40]}={str(v)[:60]}" for k, v in args[:12])
        return f"{ex.function}({inner})"
    return f"inputs {shapes}"


def _inplace_reason(changed: Any, ex: Exercise) -> str:
    """Which function changed which of its arguments in place, in the student's names."""
    if not isinstance(changed, list) or not changed:
        return "returned an unreadable result"
    parts = []
    for item in changed[:5]:
        if not (isinstance(item, list) and len(item) == 2):
            return "returned an unreadable result"
        fn, arg = str(item[0])[:60], str(item[1])[:60]
        if not fn:
            parts.append(f"the input `{arg}` was changed in place during the call")
        elif fn == ex.function:
            parts.append(f"`{fn}` changes its argument `{arg}` in place")
        else:
            parts.append(f"`{fn}`, which this exercise calls, changes its argument `{arg}` in "
                         f"place")
    first = str(changed[0][1]).split("[")[0]
    return ("; ".join(parts) + f" -- the caller's array is modified; work on a copy instead "
            f"(e.g. `{first} = {first}.copy()`, or `x = x + 1` rather than `x += 1`)")


def _case_reason(rec: Any, ref: Any, ex: Exercise, arrays: dict, limits: Limits) -> str:
    if not isinstance(rec, dict):
        return "returned an unreadable result"
    if "inplace" in rec:
        return _inplace_reason(rec["inplace"], ex)
    threads = rec.get("thread_errors")
    if "error" in rec and isinstance(threads, list) and "MemoryError" in threads:
        return (f"used more than {limits.memory_mb} MB of memory (in a thread, which then "
                f"ended; this call failed as a consequence: "
                f"{_error_reason(rec['error'], ex, limits)})")
    if "error" in rec:
        return _error_reason(rec["error"], ex, limits)
    try:
        value = decode(rec.get("ok"), arrays)
    except ValueError:
        return "returned an unreadable result"
    if len(ex.outputs) == 1:
        return compare(ref, value, ex.outputs[0], ex.rtol, ex.atol) or ""
    if not isinstance(value, tuple) or len(value) != len(ex.outputs):
        return "returned an unreadable result"
    reasons = [compare(r, v, name, ex.rtol, ex.atol)
               for r, v, name in zip(ref, value, ex.outputs, strict=True)]
    reasons = [r for r in reasons if r]
    if len(reasons) > 1:  # every differing output, not only the first
        return f"{len(reasons)} of {len(ex.outputs)} outputs are wrong: " + "; ".join(reasons)
    return reasons[0] if reasons else ""


# --------------------------------------------------------------------------- grading


@dataclass
class _Task:
    result: ExerciseResult
    prep: _PreparedExercise
    job: dict
    notebook: NotebookResult | None = None
    requires: tuple[str, ...] = ()  # grade_ids of the exercises it builds on, transitively
    called: set[str] = field(default_factory=set)  # the student's functions that ran


def _blame_dependencies(tasks: Sequence[_Task]) -> None:
    """Say so where an exercise failed and a function it called fails its own exercise."""
    for t in tasks:
        r = t.result
        if (r.passed or t.notebook is None or "not implemented yet" in r.reason
                or f"`{r.function}` changes its argument" in r.reason):
            continue  # already named: "NotImplementedError in X", or its own in-place change
        by_id = {e.grade_id: e for e in t.notebook.exercises}
        wrong = [by_id[g].function for g in t.requires
                 if g in by_id and not by_id[g].passed and by_id[g].function in t.called
                 and f"`{by_id[g].function}`, which this exercise calls," not in r.reason]
        if wrong:
            names = " and ".join(f"`{w}`" for w in wrong)
            verb = "is" if len(wrong) == 1 else "are"
            own = "its own exercise" if len(wrong) == 1 else "their own exercises"
            why = r.reason.removeprefix(f"`{r.function}`: ")
            r.reason = (f"`{r.function}`: this exercise failed because {names}, which it calls, "
                        f"{verb} wrong (see {own}; fix that first) -- here: {why}")


def _plan_notebook(path: Path, spec_name: str, prepared: Prepared, paths: dict,
                   follow_symlinks: bool) -> tuple[NotebookResult, list[_Task]]:
    spec = prepared.spec
    results = [ExerciseResult(spec_name, ex.grade_id, ex.function, ex.description, ex.points)
               for ex in spec.exercises]
    nb_result = NotebookResult(spec_name, str(path), results)
    try:
        all_cells = cells(read_notebook(path, follow_symlinks=follow_symlinks))
    except NotebookError as exc:
        nb_result.note = str(exc)
        for r in results:
            r.reason = f"`{r.function}`: {exc}"
        return nb_result, []
    found: dict[str, tuple[Cell | None, str]] = {
        ex.grade_id: find_cell(all_cells, ex.grade_id, ex.function) for ex in spec.exercises}
    tasks = []
    for ex, result in zip(spec.exercises, results, strict=True):
        problems = []
        needed = spec.requirements(ex, include_self=True)  # its cell after theirs
        for need in needed:
            cell, note = found[need.grade_id]
            if note and need is ex:
                result.details = note
            if cell is None:
                if need is ex:
                    problems.append(f"the notebook has no cell for this exercise (grade_id "
                                    f"{ex.grade_id!r}, defining {ex.function}); did you delete "
                                    f"it or change its metadata?")
                else:
                    problems.append(f"it needs `{need.function}` (grade_id {need.grade_id!r}), "
                                    f"whose cell is missing from the notebook")
            elif len(cell.source) > MAX_CELL_CHARS:
                problems.append(f"the cell of `{need.function}` is larger than "
                                f"{MAX_CELL_CHARS >> 20} MB")
        if problems:
            result.reason = f"`{ex.function}`: {problems[0]}"
            continue
        prep = prepared.exercises[ex.grade_id]
        returns = {e.function: e.returns for e in spec.exercises if e.returns}
        job = dict(
            cells=[dict(name=need.grade_id, function=need.function,
                        source=found[need.grade_id][0].source) for need in needed],
            helpers=spec.helpers + (RETURNS_SOURCE if returns else ""),
            call=wrap_call(ex.call, returns), outputs=list(ex.outputs),
            function=ex.function, rtol=ex.rtol, atol=ex.atol,
            cases=prep.case_nodes, **paths,
        )
        requires = tuple(e.grade_id for e in needed if e is not ex)
        tasks.append(_Task(result, prep, job, nb_result, requires))
    return nb_result, tasks


def _execute(task: _Task, limits: Limits, workdir: Path,
             server: SandboxServer | None = None, partial: bool = False) -> None:
    run = run_sandbox(task.job, task.prep.case_npz, limits, workdir, server)
    reason, details, agree = judge_cases(run, task.prep, limits)
    if run.status:
        for rec in run.status["cases"]:
            called = rec.get("called") if isinstance(rec, dict) else None
            if isinstance(called, list):
                task.called.update(str(c) for c in called[:100])
    r = task.result
    r.seconds = run.seconds
    if run.status:
        r.sandbox = (f"landlock {str(run.status.get('landlock', ''))[:60]}; "
                     f"seccomp {str(run.status.get('seccomp', ''))[:60]}")
    r.details = _printable("\n".join(d for d in (r.details, details) if d))
    if reason:
        r.reason = f"`{r.function}`: {_printable(reason, one_line=True)}"
        r.points = round(r.max_points * agree, 2) if partial else 0.0
    else:
        r.points = r.max_points


WEAK_SANDBOX = ("WEAK SANDBOX: this kernel offers no Landlock, so graded code could read and "
                "write any file the grader's user can (only seccomp, resource limits and the "
                "in-process audit hook applied; accepted with --allow-weak-sandbox)")


def check_sandbox(allow_weak: bool = False) -> str:
    """What will isolate the graded code here; :class:`GradeError` if too little, unless allowed.

    Landlock (Linux >= 5.13) is what confines each sandbox's files: without it a
    sandbox could read the grader's environment or checks and rewrite other
    sandboxes' work. Grading without it needs the instructor's explicit consent.
    """
    abi = landlock_abi()
    if abi >= 1:
        return f"Landlock ABI {abi}, seccomp, resource limits, audit hook"
    if not allow_weak:
        raise GradeError(
            "this kernel offers no Landlock (Linux 5.13 or newer, with 'landlock' in its LSM "
            "list), which the grader needs to confine each sandbox's files; without it graded "
            "code could read the grader's files and environment and change other students' "
            "sandboxes. Grade on such a machine (any current Ubuntu, Debian or Docker host "
            "qualifies), or pass --allow-weak-sandbox to accept the weaker isolation "
            "(the report says so) -- only to check your own work: in weak mode graded code "
            "can rewrite the grader's files, so any student can set their own score")
    return WEAK_SANDBOX


def grade(submissions: Sequence[Submission], options: Options | None = None,
          progress: Callable[[int, int], None] | None = None) -> list[SubmissionResult]:
    """Grade every submission; one result per submission, in order.

    Raises :class:`GradeError` only for the grader's own problems (broken
    checks, no temporary directory); anything wrong with a submission becomes
    a reason in its result.
    """
    options = options or Options()
    sandbox_state = check_sandbox(options.allow_weak_sandbox)
    seed = options.seed if options.seed is not None else secrets.randbelow(1 << 32)
    known = checks.available(options.tests_dir)
    prepared: dict[str, Prepared] = {}
    out: list[SubmissionResult] = []
    tasks: list[_Task] = []
    paths = trusted_paths(options.tests_dir, require_landlock=not options.allow_weak_sandbox)
    specs: dict[str, Notebook] = {}
    for sub in submissions:
        own = student_seed(seed, sub.name) if options.per_student_cases else seed
        result = SubmissionResult(sub.name, [], list(sub.notes), own, sandbox_state)
        chosen: dict[str, list[Path]] = {}
        for path in sub.notebooks:
            name = checks.match(path.stem, known)
            if name is None:
                result.notes.append(f"skipped {path.name}: no checks for it (checks exist for: "
                                    f"{', '.join(known) or 'none'})")
                continue
            chosen.setdefault(name, []).append(path)
        for name, candidates in chosen.items():
            # The notebook named exactly as the checks wins over copies ("ch04_bptt (1)").
            exact = [p for p in candidates if p.stem == name]
            path = (exact or candidates)[0]
            for other in candidates:
                if other is not path:
                    why = " (the exact name wins over copies)" if exact else ""
                    result.notes.append(f"skipped {other}: {path} is graded as {name}{why}")
            key = f"{name}\0{own}"
            if key not in prepared:
                try:
                    if name not in specs:
                        specs[name] = checks.load(name, options.tests_dir)
                    prepared[key] = Prepared(specs[name], own)
                except checks.SpecError as exc:
                    raise GradeError(str(exc)) from exc
            nb_result, nb_tasks = _plan_notebook(path, name, prepared[key], paths,
                                                 sub.follow_symlinks)
            result.notebooks.append(nb_result)
            tasks.extend(nb_tasks)
        out.append(result)
    jobs = options.jobs or os.cpu_count() or 1
    try:
        workdir = Path(tempfile.mkdtemp(prefix="rnncourse-grade-"))
    except OSError as exc:
        raise GradeError(f"cannot create a temporary directory: {exc}") from exc
    server = None
    try:
        if tasks:
            try:
                server = SandboxServer(paths, workdir)
            except OSError:  # then every sandbox starts a fresh interpreter
                server = None
        done = 0
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(_execute, t, options.limits, workdir, server,
                                   options.partial_credit) for t in tasks]
            for f in futures:
                f.result()
                done += 1
                if progress is not None:
                    progress(done, len(futures))
    finally:
        if server is not None:
            server.close()
        shutil.rmtree(workdir, ignore_errors=True)
    _blame_dependencies(tasks)
    return out


def grade_paths(paths: Sequence[str | os.PathLike], options: Options | None = None,
                progress: Callable[[int, int], None] | None = None) -> list[SubmissionResult]:
    """:func:`find_submissions` then :func:`grade`."""
    return grade(find_submissions(paths), options, progress)
