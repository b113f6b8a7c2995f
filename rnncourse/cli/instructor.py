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
                   help="refused by this command: without Landlock, weak mode lets any "
                        "student set their own score")


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
    from .argtypes import add_partial_credit, positive_int

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
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="folder for the gradebook and the feedback (created; required unless "
                        "--snapshot)")
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
                   help="seed of the run, to reproduce an earlier one (default: a fresh seed, "
                        "recorded in gradebook.json); each student's hidden cases are drawn "
                        "from it and their name, so no two students share them")
    add_partial_credit(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--snapshot", type=Path, metavar="FILE",
                       help="grade nothing: record every repository's tip now (commit id and "
                            "time, from git ls-remote) in FILE. Run it at the deadline; "
                            "--from-snapshot FILE then grades those commits, whatever dates "
                            "their committers wrote")
    which.add_argument("--from-snapshot", type=Path, metavar="FILE",
                       help="grade the commits recorded by --snapshot")
    which.add_argument("--submit-tags", action="store_true",
                       help="grade the newest Classroom 50 submit/<UTC> tag at or before the "
                            "deadline (tags its server writes when a student submits)")
    p.add_argument("--late-until", metavar="WHEN",
                   help="also grade work committed after the deadline up to WHEN (ISO 8601), "
                        "with --late-penalty")
    p.add_argument("--late-penalty", type=float, default=0.0, metavar="PCT",
                   help="with --late-until: percent of the score taken off per started day "
                        "late (default: 0)")
    p.add_argument("--canvas", metavar="ASSIGNMENT",
                   help="also write OUT/canvas.csv, a gradebook Canvas imports, with one "
                        "column named ASSIGNMENT (rows matched on the roster's canvas_id, "
                        "sis_user_id or sis_login_id/email column)")
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
                   help="what setup.sh installs: the course's grader pinned to a commit, a "
                        "release tag or a wheel, e.g. "
                        "'rnncourse @ git+https://github.com/ORG/rnncourse@<commit>'")
    g.add_argument("--tests", type=Path, metavar="DIR",
                   help="the instructor's checks (default: the packaged ones)")
    g.add_argument("--notebooks", type=_notebook_list, metavar="A,B",
                   help="the notebooks of this assignment (default: every one with checks)")
    _limits(g)
    g.add_argument("--run", action="store_true",
                   help="(inside Gradescope, called by run_autograder) grade ROOT/submission")
    g.add_argument("--root", type=Path, default=Path("/autograder"), metavar="DIR",
                   help="with --run: Gradescope's folder (default: /autograder)")
    g.add_argument("--self-test", action="store_true",
                   help="(run by setup.sh when Gradescope builds the image) check that this "
                        "machine can sandbox graded code; exit 2 if not")
    g.set_defaults(func=cmd_gradescope)


FETCH_FAILED = 3  # exit status of grade-class when some repository could not be fetched


def cmd_grade_class(args: argparse.Namespace) -> int:
    import json

    from ..grading.engine import GradeError, Options
    from ..grading.roster import (
        WEAK_REFUSED,
        LatePolicy,
        grade_class,
        parse_deadline,
        read_roster,
        read_snapshot,
        take_snapshot,
        write_outputs,
    )
    from .argtypes import tests_dir

    def progress(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    try:
        if args.allow_weak_sandbox:
            raise GradeError(WEAK_REFUSED)
        students = read_roster(args.roster)
        if args.snapshot is not None:
            data = take_snapshot(students, branch=args.branch, allow_local=args.allow_local,
                                 progress=progress)
            args.snapshot.parent.mkdir(parents=True, exist_ok=True)
            args.snapshot.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
            failed = [n for n, e in data["students"].items() if e["status"] == "fetch-error"]
            print(f"recorded {len(students) - len(failed)} tip(s) in {args.snapshot}")
            if failed:
                print(f"could not reach {len(failed)} repository(ies): {', '.join(failed[:10])}",
                      file=sys.stderr)
                return FETCH_FAILED
            return 0
        if args.out is None:
            raise GradeError("--out DIR is required: where the gradebook and the feedback go")
        tests = tests_dir(args.tests)
        deadline = parse_deadline(args.deadline) if args.deadline else None
        if args.late_penalty and not args.late_until:
            raise GradeError("--late-penalty needs --late-until (until when late work counts)")
        if not 0 <= args.late_penalty <= 100:
            raise GradeError("--late-penalty: a percentage between 0 and 100")
        late = LatePolicy(parse_deadline(args.late_until), args.late_penalty) \
            if args.late_until else None
        snapshot = read_snapshot(args.from_snapshot) if args.from_snapshot else None
        options = Options(limits=_make_limits(args), jobs=args.jobs or 0, tests_dir=tests,
                          seed=args.seed, partial_credit=args.partial_credit)
        cls = grade_class(students, options=options,
                          deadline=deadline, branch=args.branch, only=args.notebooks,
                          allow_local=args.allow_local, progress=progress, snapshot=snapshot,
                          submit_tags=args.submit_tags, late=late)
        paths = write_outputs(cls, args.out, canvas=args.canvas)
    except GradeError as exc:
        raise ValueError(str(exc)) from None
    if not args.quiet:
        width = max(len(s.name) for s in cls.students)
        for sr in cls.students:
            commit = sr.fetched.commit[:12] if sr.fetched else "-" * 12
            print(f"{sr.name:<{width}}  {commit}  {sr.status:<11}  "
                  f"{sr.score:g} / {cls.max_score:g}")
        print(f"wrote {paths['csv']}, {paths['json']} and {len(cls.students)} feedback files "
              f"in {args.out / 'feedback'}")
    failed = cls.failed_fetches
    if failed:
        print(f"{len(failed)} repository(ies) could not be fetched (status fetch-error, "
              f"graded 0): " + ", ".join(s.name for s in failed[:10]), file=sys.stderr)
        return FETCH_FAILED
    return 0


def cmd_gradescope(args: argparse.Namespace) -> int:
    from ..grading import gradescope
    from ..grading.engine import GradeError
    from .argtypes import tests_dir

    try:
        if args.self_test:
            print(f"rnncourse can sandbox graded code here: {gradescope.self_test()}")
            return 0
        if args.run:
            data = gradescope.run(args.root)
            print(f"{data['score']:g} / {sum(t['max_score'] for t in data['tests']):g} points; "
                  f"wrote {args.root / 'results' / 'results.json'}")
            return 0
        if not args.source:
            raise GradeError("--source is required: the course's grader pinned to a commit, a "
                             "release tag or a wheel, e.g. "
                             "'rnncourse @ git+https://github.com/ORG/rnncourse@<commit>'")
        config = gradescope.build_bundle(args.out, source=args.source,
                                         tests_dir=tests_dir(args.tests),
                                         notebooks=args.notebooks, limits=_make_limits(args),
                                         allow_weak_sandbox=args.allow_weak_sandbox)
    except GradeError as exc:
        raise ValueError(str(exc)) from None
    print(f"wrote {args.out}: {len(config['notebooks'])} notebook(s), "
          f"{config['max_score']:g} points")
    return 0
