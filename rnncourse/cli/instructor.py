"""The instructor's commands: ``rnncourse grade-class`` and ``rnncourse gradescope``.

* ``grade-class ROSTER --out DIR``: fetch every student's repository, grade the
  last commit before ``--deadline`` with the instructor's checks, write the
  gradebook and the feedback (:mod:`rnncourse.grading.roster`);
* ``gradescope --out autograder.zip``: the Gradescope autograder bundle
  (:mod:`rnncourse.grading.gradescope`); inside Gradescope, ``gradescope --run``
  grades one upload.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_commands"]


def _limits(p: argparse.ArgumentParser) -> None:
    from .argtypes import positive_float, positive_int

    p.add_argument("--timeout", type=positive_float, default=10.0, metavar="S",
                   help="seconds per exercise (default: 10)")
    p.add_argument("--memory", type=positive_int, default=512, metavar="MB",
                   help="memory per exercise, in MB (default: 512)")
    p.add_argument("--max-output", type=positive_float, default=1.0, metavar="MB",
                   help="output (stdout + stderr) per exercise, in MB (default: 1)")
    p.add_argument("--allow-weak-sandbox", action="store_true",
                   help="grade even where the kernel offers no Landlock (graded code could "
                        "then read and write the grader's files; the reports say so)")


def _make_limits(args: argparse.Namespace):
    from ..grading.runner import Limits

    return Limits(timeout=args.timeout, memory_mb=args.memory,
                  max_output=int(args.max_output * (1 << 20)))


def _notebook_list(text: str) -> list[str]:
    names = [n.strip().removesuffix(".ipynb") for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected notebook names, e.g. ch02_rnn,ch06_lstm")
    return names


def add_commands(commands: argparse._SubParsersAction) -> None:
    from .argtypes import positive_int

    p = commands.add_parser(
        "grade-class", help="grade a class from its git repositories (the instructor's grade)",
        description="Fetch every repository of the roster with git (no hooks, no submodules, "
                    "no checkout: only the notebooks are read out of the commit), grade the "
                    "last commit whose committer date is at or before --deadline with the "
                    "checks, and write OUT/gradebook.csv, OUT/gradebook.json and "
                    "OUT/feedback/<name>.md. Every notebook the checks expect counts: a "
                    "missing one scores 0 with the reason.",
    )
    p.add_argument("roster", type=Path, metavar="ROSTER",
                   help="a CSV file with the columns name,repository (git URLs), or a folder "
                        "holding one clone per student")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="folder for the gradebook and the feedback (created)")
    p.add_argument("--deadline", metavar="WHEN",
                   help="ISO 8601 with a time zone, e.g. 2026-12-01T23:59:00+01:00; without "
                        "it, the tip of the branch is graded")
    p.add_argument("--tests", type=Path, metavar="DIR",
                   help="the instructor's checks (<notebook>.py); the assignment is every "
                        "notebook they cover (default: the packaged checks of all chapters)")
    p.add_argument("--notebooks", type=_notebook_list, metavar="A,B",
                   help="grade only these notebooks, e.g. ch02_rnn,ch06_lstm")
    p.add_argument("--branch", metavar="NAME", help="the branch to grade (default: the "
                   "repository's default branch)")
    p.add_argument("--allow-local", action="store_true",
                   help="also fetch repositories given as local paths or file:// URLs")
    p.add_argument("--jobs", "-j", type=positive_int, metavar="N",
                   help="sandboxes run at a time (default: one per CPU core)")
    _limits(p)
    p.add_argument("--seed", type=int, metavar="N",
                   help="seed of the hidden cases, to reproduce an earlier grading run "
                        "(default: a fresh seed, recorded in the gradebook)")
    p.add_argument("--quiet", "-q", action="store_true", help="print only errors")
    p.set_defaults(func=cmd_grade_class)

    g = commands.add_parser(
        "gradescope", help="build a Gradescope autograder bundle",
        description="Write a Gradescope autograder zip: setup.sh installs rnncourse from "
                    "--source in a virtual environment, run_autograder grades the upload's "
                    "notebooks with the checks and writes results/results.json.",
    )
    g.add_argument("--out", type=Path, default=Path("autograder.zip"), metavar="ZIP",
                   help="the bundle to write (default: autograder.zip)")
    g.add_argument("--source", metavar="REQUIREMENT",
                   help="what setup.sh installs: the course's pinned source, e.g. "
                        "'rnncourse @ git+https://github.com/ORG/rnncourse@v0.1.0'")
    g.add_argument("--tests", type=Path, metavar="DIR",
                   help="the instructor's checks (default: the packaged ones)")
    g.add_argument("--notebooks", type=_notebook_list, metavar="A,B",
                   help="the notebooks of this assignment (default: every one with checks)")
    _limits(g)
    g.add_argument("--run", action="store_true",
                   help="(inside Gradescope, called by run_autograder) grade ROOT/submission")
    g.add_argument("--root", type=Path, default=Path("/autograder"), metavar="DIR",
                   help="with --run: Gradescope's folder (default: /autograder)")
    g.set_defaults(func=cmd_gradescope)


def cmd_grade_class(args: argparse.Namespace) -> int:
    from ..grading.engine import GradeError, Options
    from ..grading.roster import grade_class, parse_deadline, read_roster, write_outputs
    from .argtypes import tests_dir

    try:
        tests = tests_dir(args.tests)
        deadline = parse_deadline(args.deadline) if args.deadline else None
        students = read_roster(args.roster)

        def progress(msg: str) -> None:
            if not args.quiet:
                print(msg, file=sys.stderr, flush=True)

        options = Options(limits=_make_limits(args), jobs=args.jobs or 0, tests_dir=tests,
                          seed=args.seed, allow_weak_sandbox=args.allow_weak_sandbox)
        cls = grade_class(students, options=options,
                          deadline=deadline, branch=args.branch, only=args.notebooks,
                          allow_local=args.allow_local, progress=progress)
    except GradeError as exc:
        raise ValueError(str(exc)) from None
    paths = write_outputs(cls, args.out)
    if not args.quiet:
        width = max(len(s.name) for s in cls.students)
        for sr in cls.students:
            commit = sr.fetched.commit[:12] if sr.fetched else "-" * 12
            print(f"{sr.name:<{width}}  {commit}  {sr.result.score:g} / {cls.max_score:g}")
        print(f"wrote {paths['csv']}, {paths['json']} and {len(cls.students)} feedback files "
              f"in {args.out / 'feedback'}")
    return 0


def cmd_gradescope(args: argparse.Namespace) -> int:
    from ..grading import gradescope
    from ..grading.engine import GradeError
    from .argtypes import tests_dir

    try:
        if args.run:
            data = gradescope.run(args.root)
            print(f"{data['score']:g} / {sum(t['max_score'] for t in data['tests']):g} points; "
                  f"wrote {args.root / 'results' / 'results.json'}")
            return 0
        if not args.source:
            raise GradeError("--source is required: the pip requirement setup.sh installs, "
                             "e.g. 'rnncourse @ git+https://github.com/ORG/rnncourse@v0.1.0'")
        config = gradescope.build_bundle(args.out, source=args.source,
                                         tests_dir=tests_dir(args.tests),
                                         notebooks=args.notebooks, limits=_make_limits(args),
                                         allow_weak_sandbox=args.allow_weak_sandbox)
    except GradeError as exc:
        raise ValueError(str(exc)) from None
    print(f"wrote {args.out}: {len(config['notebooks'])} notebook(s), "
          f"{config['max_score']:g} points")
    return 0
