"""How long grading takes: one sandbox, one student, and a class of copies of ``solutions/``.

    .venv/bin/python benchmarks/grading.py [--students 30] [--jobs 2]

Uses the solution notebooks in ``solutions/`` (every exercise passes, so every
sandbox runs all of its cases). Prints wall-clock seconds for

* each chapter notebook graded alone (one student, one notebook),
* a class of ``--students`` copies of every notebook in ``solutions/``, and the
  time of one exercise sandbox in it (from the request to the checked result:
  fork, Landlock, seccomp, the student's cells, the cases),

with ``--jobs`` sandboxes at a time (default 2, the CI machines' cores). The
targets of issue 12: at most 0.15 s per exercise sandbox on 2 cores, and 30
copies of ``solutions/`` with ``--jobs 2`` in at most 2 minutes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rnncourse.grading import Options, find_submissions, grade

ROOT = Path(__file__).resolve().parents[1]


def timed(paths: list[Path], jobs: int) -> tuple[float, list[float], float]:
    """Seconds to grade ``paths``; each sandbox's own seconds; the mean score in %."""
    start = time.perf_counter()
    results = grade(find_submissions(paths), Options(jobs=jobs))
    seconds = time.perf_counter() - start
    sandboxes = [e.seconds for r in results for e in r.exercises]
    score = statistics.mean(100 * r.score / r.max_score for r in results)
    return seconds, sandboxes, score


def bare_start() -> float:
    """Seconds for ``python -I -S -B -c 'import numpy'``: the floor under any sandbox."""
    import numpy

    site = str(Path(numpy.__file__).resolve().parents[1])
    runs = []
    for _ in range(10):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-S", "-B", "-c",
                        f"import sys; sys.path.append({site!r}); import numpy"], check=True)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    args = parser.parse_args()
    notebooks = sorted(args.solutions.glob("*.ipynb"))
    if not notebooks:
        print(f"no notebooks in {args.solutions}", file=sys.stderr)
        return 2
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPU cores, --jobs {args.jobs}, "
          f"load average {os.getloadavg()[0]:.2f}")

    print("\none chapter notebook, one student (each run starts its fork server afresh):")
    per_notebook = []
    for nb in notebooks:
        seconds, sandboxes, score = timed([nb], args.jobs)
        per_notebook.append(seconds)
        print(f"  {nb.stem:<18} {seconds:6.2f} s  ({len(sandboxes)} exercises, {score:.0f}%)")
    print(f"  {'median':<18} {statistics.median(per_notebook):6.2f} s")
    print(f"  (a fresh python + numpy, what the fork server pays once per run and a sandbox "
          f"without it pays every time: {bare_start():.3f} s, median of 10)")

    with tempfile.TemporaryDirectory(prefix="rnncourse-bench-") as tmp:
        every = Path(tmp) / "every_chapter"
        for i in range(args.students):
            student = every / f"student{i:03d}"
            student.mkdir(parents=True)
            for nb in notebooks:
                shutil.copy(nb, student / nb.name)
        seconds, sandboxes, score = timed([every], args.jobs)
        print(f"\none exercise sandbox, from start to result ({len(sandboxes)} measured in the "
              f"class below, {args.jobs} at a time):\n"
              f"  mean {statistics.mean(sandboxes):.3f} s, median "
              f"{statistics.median(sandboxes):.3f} s, 95th percentile "
              f"{statistics.quantiles(sandboxes, n=20)[-1]:.3f} s, max {max(sandboxes):.3f} s "
              f"(target: at most 0.15 s)")
        print(f"\na class of {args.students} copies of {args.solutions.name}/ "
              f"({len(notebooks)} notebooks each):\n"
              f"  {seconds:6.2f} s for {len(sandboxes)} sandboxes (target: at most 120 s); "
              f"{1000 * seconds / len(sandboxes):.0f} ms of wall time per sandbox, "
              f"{1000 * statistics.mean(sandboxes):.0f} ms each from start to result; "
              f"{score:.0f}% mean score")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
