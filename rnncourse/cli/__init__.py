"""The ``rnncourse`` command.

A small dispatcher: every subcommand is one ``add_*`` function that declares
its arguments and one ``cmd_*`` function that runs it and returns the exit
status.  ::

    rnncourse params rnn --input 234 --hidden 1024 512 --output 15 --no-bias
    rnncourse exercises [--check]                     # solutions/ -> exercises/
    rnncourse grade exercises/*.ipynb --json results.json
    rnncourse grade class/ --csv grades.csv --jobs 8  # a folder of student folders
    rnncourse grade-class roster.csv --deadline 2026-12-01T23:59+01:00 --tests private/ --out out/
    rnncourse gradescope --source 'rnncourse @ git+https://...@v0.1.0' --out autograder.zip
    rnncourse --version

Errors (bad arguments, impossible sizes) print one line on stderr and exit
with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from .. import __version__
from ..params import BIAS_CONVENTIONS, GATES, count_parameters
from .argtypes import add_partial_credit, percent, positive_float, positive_int, tests_dir

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block), status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")








# --------------------------------------------------------------------------- rnncourse params


def add_params(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "params", help="count the parameters of a recurrent network",
        description="Count the parameters of a (stacked, bidirectional) recurrent network "
                    "and print the breakdown, layer by layer.",
    )
    p.add_argument("cell", choices=list(GATES), metavar="CELL",
                   help=f"one of: {', '.join(GATES)}")
    p.add_argument("--input", type=positive_int, required=True, metavar="N", help="input size n")
    p.add_argument("--hidden", type=positive_int, nargs="+", required=True, metavar="H",
                   help="hidden size d of every layer, bottom first (or one size with --layers)")
    p.add_argument("--output", type=positive_int, metavar="K",
                   help="output size k (no output layer if left out)")
    p.add_argument("--layers", type=positive_int, metavar="L",
                   help="number of layers when one --hidden size is given")
    p.add_argument("--no-bias", dest="bias", action="store_false", help="no bias vectors")
    p.add_argument("--bias-convention", choices=list(BIAS_CONVENTIONS), default="textbook",
                   help="textbook: one bias per gate block; pytorch: bias_ih and bias_hh "
                        "(default: textbook)")
    p.add_argument("--bidirectional", action="store_true", help="two directions per layer")
    p.set_defaults(func=cmd_params)


def cmd_params(args: argparse.Namespace) -> int:
    hidden = args.hidden[0] if len(args.hidden) == 1 else args.hidden
    count = count_parameters(
        args.cell, args.input, hidden, args.output, num_layers=args.layers, bias=args.bias,
        bias_convention=args.bias_convention, bidirectional=args.bidirectional,
    )
    print(count.table())
    return 0


# --------------------------------------------------------------------------- rnncourse exercises


def add_exercises(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "exercises", help="generate the exercise notebooks from the solutions",
        description="Write exercises/X.ipynb for every solutions/X.ipynb: solution regions "
                    "become '# YOUR CODE HERE' + 'raise NotImplementedError()', hidden tests "
                    "are removed, outputs cleared.",
    )
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit with status 1 if exercises/ is not up to date")
    p.add_argument("--solutions", type=Path, default=Path("solutions"), metavar="DIR",
                   help="the solution notebooks (default: solutions)")
    p.add_argument("--out", type=Path, default=Path("exercises"), metavar="DIR",
                   help="where the exercise notebooks go (default: exercises)")
    p.set_defaults(func=cmd_exercises)


def cmd_exercises(args: argparse.Namespace) -> int:
    from ..grading.generate import generate_exercises

    drift = generate_exercises(args.solutions, args.out, check=args.check)
    for path in drift.changed:
        print(f"{path} is out of date (run: rnncourse exercises)" if args.check
              else f"wrote {path}")
    for path in drift.stale:
        print(f"{path} has no solution notebook in {args.solutions}", file=sys.stderr)
    if args.check:
        if drift:
            return 1
        print(f"{args.out} is up to date with {args.solutions}")
    elif not drift.changed:
        print(f"{args.out} is already up to date")
    return 0


# --------------------------------------------------------------------------- rnncourse grade


def add_grade(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "grade", help="grade exercise notebooks, each exercise in a sandboxed process",
        description="Grade notebooks: every exercise runs in its own sandboxed process, its "
                    "results are compared with the reference outside it. SUBMISSION is a "
                    "notebook (all notebooks given are one submission), a student's folder of "
                    "notebooks, or a class folder whose subfolders are the students'. The exit "
                    "status is 0 when grading ran (see --fail-under), 2 on errors.",
    )
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                   help="notebook files, a student's folder, or a class folder")
    p.add_argument("--tests", type=Path, metavar="DIR",
                   help="folder of private checks (<notebook>.py) replacing the packaged ones")
    p.add_argument("--timeout", type=positive_float, default=10.0, metavar="S",
                   help="seconds per exercise (default: 10)")
    p.add_argument("--memory", type=positive_int, default=512, metavar="MB",
                   help="memory per exercise, in MB (default: 512)")
    p.add_argument("--max-output", type=positive_float, default=1.0, metavar="MB",
                   help="output (stdout + stderr) per exercise, in MB (default: 1)")
    p.add_argument("--jobs", "-j", type=positive_int, metavar="N",
                   help="sandboxes run at a time (default: one per CPU core)")
    p.add_argument("--json", type=Path, metavar="FILE",
                   help="write the results in Gradescope's results.json format")
    p.add_argument("--csv", type=Path, metavar="FILE",
                   help="write a gradebook: one row per submission, one column per exercise")
    p.add_argument("--fail-under", type=percent, metavar="PERCENT",
                   help="exit with status 1 if a submission scores below PERCENT of its points")
    p.add_argument("--all-notebooks", action="store_true",
                   help="every notebook with checks counts (those of --tests when given): a "
                        "missing one scores 0, so the maximum is the assignment's")
    p.add_argument("--annotate", action="store_true",
                   help="print a GitHub Actions ::error annotation for every failed exercise")
    p.add_argument("--classroom50", type=Path, metavar="FILE",
                   help="write Classroom 50's result.json (classroom50/result/v1)")
    p.add_argument("--seed", type=int, metavar="N",
                   help="seed of the hidden cases, to reproduce an earlier grade (default: a "
                        "fresh seed per run, printed in the report)")
    p.add_argument("--allow-weak-sandbox", action="store_true",
                   help="grade even where the kernel offers no Landlock (graded code could "
                        "then read and write the grader's files; the report says so)")
    add_partial_credit(p)
    p.add_argument("--verbose", "-v", action="store_true",
                   help="details for every submission, not only a summary line")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    p.set_defaults(func=cmd_grade)




def cmd_grade(args: argparse.Namespace) -> int:
    from ..grading import report
    from ..grading.engine import GradeError, Options, find_submissions, grade
    from ..grading.runner import Limits

    tests_dir(args.tests)
    try:
        submissions = find_submissions(args.submissions)
        inputs = {p.resolve() for s in submissions for p in s.notebooks}
        for out in (args.json, args.csv, args.classroom50):
            if out is not None and out.resolve() in inputs:
                raise GradeError(f"refusing to overwrite the submission {out}")
        if args.classroom50 is not None and len(submissions) != 1:
            raise GradeError("--classroom50 grades exactly one submission")
        limits = Limits(timeout=args.timeout, memory_mb=args.memory,
                        max_output=int(args.max_output * (1 << 20)))
        if args.all_notebooks:  # every check is loaded before any sandbox runs
            from ..grading.roster import complete, expected_notebooks

            expected = expected_notebooks(args.tests)
        results = grade(submissions, Options(limits=limits, jobs=args.jobs or 0,
                                             tests_dir=args.tests, seed=args.seed,
                                             allow_weak_sandbox=args.allow_weak_sandbox,
                                             partial_credit=args.partial_credit))
        if args.all_notebooks:
            results = [complete(r, expected, args.tests) for r in results]
    except GradeError as exc:
        raise ValueError(str(exc)) from None
    if not args.quiet:
        print(report.text(results, verbose=True if args.verbose else None), end="")
    if args.json is not None:
        args.json.write_text(json.dumps(report.json_report(results), indent=2) + "\n",
                             encoding="utf-8")
    if args.csv is not None:
        args.csv.write_text(report.csv_text(results), encoding="utf-8")
    if args.classroom50 is not None:
        from ..grading.classroom50 import result_json

        args.classroom50.write_text(json.dumps(result_json(results[0], os.environ), indent=2)
                                    + "\n", encoding="utf-8")
    if args.annotate:
        from ..grading.github import annotations

        for line in annotations(results):
            print(line)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(report.markdown(results))
    if args.fail_under is not None:
        low = [r for r in results
               if r.max_score and 100 * r.score / r.max_score < args.fail_under]
        if low:
            print(f"{len(low)} submission(s) below {args.fail_under:g}%: "
                  + ", ".join(r.name for r in low[:10]), file=sys.stderr)
            return 1
    return 0


# --------------------------------------------------------------------------- bench


def add_bench(commands: argparse._SubParsersAction) -> None:
    from .. import bench  # standard library and NumPy only; torch loads in the workers

    bench.add_arguments(commands.add_parser(
        "bench",
        help="time forward+backward of the recurrent layers (NumPy, rnncourse.torch, torch.nn)",
        description=(bench.__doc__ or "").strip().splitlines()[0],
    ))


# --------------------------------------------------------------------------- the dispatcher


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rnncourse",
        description="Companion tools of the open course on recurrent neural networks.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_params(commands)
    add_exercises(commands)
    add_grade(commands)
    add_bench(commands)
    from .instructor import add_commands  # grade-class, gradescope

    add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and argument errors
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        return args.func(args)
    except (ValueError, TypeError) as exc:
        print(f"rnncourse {args.command}: error: {exc}", file=sys.stderr)
        return 2
