"""How long grading takes: one chapter notebook, and a class of 50 submissions.

    .venv/bin/python benchmarks/grading.py [--students 50] [--jobs 2]

Uses the solution notebooks in ``solutions/`` (every exercise passes, so every
sandbox runs all of its cases). Prints wall-clock seconds for

* each chapter notebook graded alone (one student, one notebook),
* a class of ``--students`` submissions of one chapter,
* a class of ``--students`` submissions of every chapter (the end of a course),

with ``--jobs`` sandboxes at a time (default 2, the CI machines' cores).
Each sandbox is a fresh Python process that imports NumPy: about 0.1 s of CPU
on a current machine, which is most of the cost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rnncourse.grading import Options, find_submissions, grade

ROOT = Path(__file__).resolve().parents[1]


def timed(paths: list[Path], jobs: int) -> tuple[float, int, float]:
    """Seconds to grade ``paths`` as submissions; the number of sandboxes; mean score %."""
    start = time.perf_counter()
    results = grade(find_submissions(paths), Options(jobs=jobs))
    seconds = time.perf_counter() - start
    runs = sum(len(r.exercises) for r in results)
    score = statistics.mean(100 * r.score / r.max_score for r in results)
    return seconds, runs, score


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    args = parser.parse_args()
    notebooks = sorted(args.solutions.glob("*.ipynb"))
    if not notebooks:
        print(f"no notebooks in {args.solutions}", file=sys.stderr)
        return 2
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPU cores, --jobs {args.jobs}")

    print("\none chapter notebook, one student:")
    per_notebook = []
    for nb in notebooks:
        seconds, runs, score = timed([nb], args.jobs)
        per_notebook.append(seconds)
        print(f"  {nb.stem:<18} {seconds:6.2f} s  ({runs} exercises, {score:.0f}%)")
    print(f"  {'median':<18} {statistics.median(per_notebook):6.2f} s")

    with tempfile.TemporaryDirectory(prefix="rnncourse-bench-") as tmp:
        one = Path(tmp) / "one_chapter"
        every = Path(tmp) / "every_chapter"
        chapter = notebooks[len(notebooks) // 2]
        for i in range(args.students):
            student = f"student{i:03d}"
            (one / student).mkdir(parents=True)
            shutil.copy(chapter, one / student / chapter.name)
            (every / student).mkdir(parents=True)
            for nb in notebooks:
                shutil.copy(nb, every / student / nb.name)
        for label, folder in ((f"{args.students} students x {chapter.stem}", one),
                              (f"{args.students} students x {len(notebooks)} notebooks", every)):
            seconds, runs, score = timed([folder], args.jobs)
            print(f"\na class of {label}:\n  {seconds:6.2f} s for {runs} sandboxes "
                  f"({1000 * seconds / runs:.0f} ms each, {score:.0f}% mean score)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
