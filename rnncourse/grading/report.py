"""Reports of a grading run: text, Gradescope JSON, Markdown, CSV.

* :func:`text` -- the table printed on the terminal;
* :func:`gradescope` -- one submission in Gradescope's ``results.json`` shape
  (``score``, ``max_score``, ``output``, ``tests: [{name, score, max_score,
  status, output}]``); :func:`json_report` wraps several;
* :func:`markdown` -- the summary appended to ``$GITHUB_STEP_SUMMARY``;
* :func:`csv_text` -- a gradebook, one row per submission, one column per exercise.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from .engine import ExerciseResult, SubmissionResult

__all__ = ["text", "gradescope", "json_report", "markdown", "csv_text", "md_escape"]


def _pts(x: float) -> str:
    return f"{x:g}"


def _indent(s: str, pad: str) -> str:
    return "\n".join(pad + line for line in s.splitlines())


def _one_line(s: str) -> str:
    """A student-chosen name (file or folder) on one printable line."""
    return "".join(c if c.isprintable() else "?" for c in s)


def _run_notes(r: SubmissionResult) -> list[str]:
    """How this run was graded: the hidden cases' seed and a weak sandbox, if it was one."""
    notes = []
    if r.seed is not None:
        notes.append(f"hidden cases drawn with seed {r.seed} (rnncourse grade --seed {r.seed} "
                     f"reproduces them)")
    if r.sandbox.startswith("WEAK"):
        notes.append(r.sandbox)
    return notes


def text(results: Sequence[SubmissionResult], *, verbose: bool | None = None) -> str:
    """The terminal report; full details for one submission (or ``verbose``), else a summary."""
    verbose = len(results) == 1 if verbose is None else verbose
    lines: list[str] = []
    for r in results:
        if verbose:
            lines.append(f"{_one_line(r.name)}: {_pts(r.score)} / {_pts(r.max_score)} points")
            for note in [*r.notes, *_run_notes(r)]:
                lines.append(f"  note: {_one_line(note)}")
            for nb in r.notebooks:
                lines.append(f"  {nb.name} ({_one_line(nb.path)}): {_pts(nb.score)} / "
                             f"{_pts(nb.max_score)}")
                width = max((len(e.function) for e in nb.exercises), default=10)
                for e in nb.exercises:
                    mark = "pass" if e.passed else "FAIL"
                    why = e.reason.removeprefix(f"`{e.function}`: ")
                    lines.append(f"    {mark}  {e.function:<{width}}  {_pts(e.points):>3} / "
                                 f"{_pts(e.max_points):<3}  {why}".rstrip())
                    if e.details and not e.passed:
                        lines.append(_indent(e.details, " " * 12))
            lines.append("")
        else:
            failed = sum(not e.passed for e in r.exercises)
            row = f"{_one_line(r.name):<30} {_pts(r.score):>6} / {_pts(r.max_score):<6}"
            lines.append(row + (f" {failed} exercise(s) failed" if failed else ""))
    if len(results) > 1:
        total = sum(r.score for r in results)
        lines.append(f"{len(results)} submissions graded, mean score "
                     f"{total / len(results):.2f} / {_pts(max(r.max_score for r in results))}")
        if not verbose:
            lines.extend(f"note: {n}" for n in _run_notes(results[0]))
    return "\n".join(lines).rstrip() + "\n"


def _output(e: ExerciseResult) -> str:
    if e.passed:
        return f"{e.function}: all checks agree with the reference"
    return e.reason + (f"\n{e.details}" if e.details else "")


def _test_name(e: ExerciseResult) -> str:
    return f"{e.notebook}: {e.function}" + (f" ({e.description})" if e.description else "")


def gradescope(r: SubmissionResult) -> dict:
    """One submission as Gradescope's ``results.json``."""
    tests = [dict(name=_test_name(e), score=e.points, max_score=e.max_points,
                  status="passed" if e.passed else "failed", output=_output(e),
                  visibility="visible")
             for e in r.exercises]
    notes = "".join(f"\nnote: {_one_line(n)}" for n in [*r.notes, *_run_notes(r)])
    return dict(score=r.score, max_score=r.max_score,
                output=f"{_one_line(r.name)}: {_pts(r.score)} / {_pts(r.max_score)} "
                       f"points{notes}",
                visibility="visible", stdout_visibility="visible", tests=tests,
                execution_time=round(sum(e.seconds for e in r.exercises), 3))


def json_report(results: Sequence[SubmissionResult]) -> dict:
    """``results.json`` for one submission; for several, ``{"submissions": [...]}``."""
    if len(results) == 1:
        return gradescope(results[0])
    return dict(submissions=[dict(name=r.name, **gradescope(r)) for r in results])


_MD_PUNCT = set("\\`*[]()!|~>:")  # backslash-escaped (CommonMark: any punctuation may be)
_HTML = {"<": "&lt;", "&": "&amp;"}


def md_escape(text: str, limit: int = 300) -> str:
    """Student-controlled text as literal Markdown, on one line, at most ``limit`` characters.

    Meant for inline positions (a table cell, a list item after its marker): no link,
    image, autolink (``:`` and ``www.`` are broken), emphasis, code span, table cell,
    strikethrough or raw HTML can start in it, and control characters become ``?``.
    ``_`` is escaped where it could open or close emphasis (not inside a word, as in
    ``fx_more``). It is cut before escaping, so an escape is never split.
    """
    text = _one_line(text.replace("\r", " ").replace("\n", " "))[:limit]
    out = []
    for i, c in enumerate(text):
        if c in _HTML:
            out.append(_HTML[c])
        elif c in _MD_PUNCT:
            out.append("\\" + c)
        elif c == "_" and not (0 < i < len(text) - 1 and text[i - 1].isalnum()
                               and text[i + 1].isalnum()):
            out.append("\\_")
        elif c == "." and text[max(0, i - 3):i].lower() == "www":
            out.append("\\.")
        else:
            out.append(c)
    return "".join(out)


def _md(s: str) -> str:
    return md_escape(s, 300)


def markdown(results: Sequence[SubmissionResult]) -> str:
    """A Markdown summary (for ``$GITHUB_STEP_SUMMARY``)."""
    out = []
    if len(results) == 1:
        r = results[0]
        out.append(f"### rnncourse grade: {_md(r.name)}: {_pts(r.score)} / "
                   f"{_pts(r.max_score)} points\n")
        out.append("| notebook | exercise | points | result |")
        out.append("|---|---|---:|---|")
        for e in r.exercises:
            result = "✅ pass" if e.passed else f"❌ {_md(e.reason)}"
            out.append(f"| {e.notebook} | `{e.function}` | {_pts(e.points)} / "
                       f"{_pts(e.max_points)} | {result} |")
        out.extend(f"\n> note: {_md(n)}" for n in [*r.notes, *_run_notes(r)])
    else:
        out.append(f"### rnncourse grade: {len(results)} submissions\n")
        out.append("| submission | points | failed exercises |")
        out.append("|---|---:|---:|")
        for r in results:
            failed = sum(not e.passed for e in r.exercises)
            out.append(f"| {_md(r.name)} | {_pts(r.score)} / {_pts(r.max_score)} | {failed} |")
        out.extend(f"\n> note: {_md(n)}" for n in _run_notes(results[0]))
    return "\n".join(out) + "\n"


def csv_text(results: Sequence[SubmissionResult]) -> str:
    """A gradebook: one row per submission, one column per exercise, then the totals.

    Every exercise of every notebook that any submission was graded on gets a
    column; a submission without that notebook scores 0 there, so ``total``
    and ``max_score`` mean the same thing on every row.
    """
    columns: dict[tuple[str, str], float] = {}
    for r in results:
        for e in r.exercises:
            columns.setdefault((e.notebook, e.grade_id), e.max_points)
    keys = sorted(columns, key=lambda k: k[0])  # notebooks sorted, exercises in notebook order
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["submission", *(f"{nb}/{gid}" for nb, gid in keys), "total", "max_score"])
    max_total = sum(columns.values())
    for r in results:
        got = {(e.notebook, e.grade_id): e.points for e in r.exercises}
        row = [_pts(got.get(k, 0.0)) for k in keys]
        name = _one_line(r.name)
        name = "'" + name if name[:1] in ("=", "+", "-", "@") else name  # not a formula
        w.writerow([name, *row, _pts(sum(got.get(k, 0.0) for k in keys)), _pts(max_total)])
    return buf.getvalue()
