"""Gradescope: the autograder bundle (``rnncourse gradescope``) and what runs inside it.

Gradescope runs ``/autograder/run_autograder`` in a container built by
``setup.sh``, with the student's upload in ``/autograder/submission`` and the
bundle unpacked in ``/autograder/source``; it reads the score from
``/autograder/results/results.json``. The bundle built by :func:`build_bundle`
holds:

* ``setup.sh`` -- a virtual environment in ``/autograder/venv`` with
  ``rnncourse`` installed from the course's pinned source (never from the
  submission);
* ``run_autograder`` -- ``rnncourse gradescope --run``, i.e. :func:`run`;
* ``checks/`` -- the instructor's checks (``<notebook>.py``), and
  ``config.json`` -- the notebooks expected and the limits.

:func:`run` grades the notebooks of the submission against those checks; a
notebook the checks expect but the upload lacks scores 0 with a reason, so the
maximum is always the assignment's. ``AUTOGRADER_ROOT`` (default
``/autograder``) moves the whole layout, for tests.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from collections.abc import Sequence
from pathlib import Path

from . import checks, report
from .engine import GradeError, Options, Submission, grade
from .roster import _notebooks_in_folder, complete, expected_notebooks
from .runner import Limits

__all__ = ["build_bundle", "run", "SETUP_SH", "RUN_AUTOGRADER"]

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image
# (choose the Ubuntu 24.04 base image: Python 3.12). It installs rnncourse from
# the course's pinned source into its own virtual environment.
set -euo pipefail
apt-get update -qq
apt-get install -y -qq python3-venv git >/dev/null
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --quiet --upgrade pip
/autograder/venv/bin/python -m pip install --quiet "$(cat /autograder/source/SOURCE)"
/autograder/venv/bin/rnncourse --version
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission. The grader reads the notebooks in
# $AUTOGRADER_ROOT/submission as data and writes $AUTOGRADER_ROOT/results/results.json.
set -euo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
exec "${RNNCOURSE:-$root/venv/bin/rnncourse}" gradescope --run --root "$root"
"""


def build_bundle(out: Path, *, source: str, tests_dir: Path | None,
                 notebooks: Sequence[str] | None = None, limits: Limits | None = None,
                 allow_weak_sandbox: bool = False) -> dict:
    """Write the autograder zip to ``out``; return its ``config.json`` contents.

    ``allow_weak_sandbox`` lets the autograder grade where Gradescope's kernel offers no
    Landlock (every report then says so); by default it refuses there.
    """
    if not source.strip() or "\n" in source:
        raise GradeError("--source: give one pip requirement, e.g. "
                         "'rnncourse @ git+https://github.com/ORG/rnncourse@v0.1.0'")
    limits = limits or Limits()
    expected = expected_notebooks(tests_dir, notebooks)
    config = dict(notebooks=list(expected), timeout=limits.timeout, memory_mb=limits.memory_mb,
                  max_output=limits.max_output, allow_weak_sandbox=allow_weak_sandbox,
                  max_score=sum(p for nb in expected.values() for p in nb.values()))
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text, mode in (("setup.sh", SETUP_SH, 0o755),
                                 ("run_autograder", RUN_AUTOGRADER, 0o755),
                                 ("SOURCE", source.strip() + "\n", 0o644),
                                 ("config.json", json.dumps(config, indent=2) + "\n", 0o644)):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text)
        for stem in expected:
            folder = tests_dir if tests_dir is not None and (tests_dir / f"{stem}.py").is_file() \
                else checks.HERE
            info = zipfile.ZipInfo(f"checks/{stem}.py", date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, (folder / f"{stem}.py").read_bytes())
    return config


def run(root: Path) -> dict:
    """Grade ``root/submission`` with ``root/source``; write ``root/results/results.json``."""
    source = root / "source"
    try:
        config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GradeError(f"{source / 'config.json'}: cannot read the bundle's configuration: "
                         f"{exc}") from None
    tests_dir = source / "checks"
    limits = Limits(timeout=float(config["timeout"]), memory_mb=int(config["memory_mb"]),
                    max_output=int(config["max_output"]))
    expected = expected_notebooks(tests_dir, config["notebooks"])
    submission = root / "submission"
    found = _notebooks_in_folder(submission) if submission.is_dir() else []
    keep = [p for p in found if checks.match(p.stem, list(expected)) is not None]
    [result] = grade([Submission("submission", tuple(keep), follow_symlinks=False)],
                     Options(limits=limits, tests_dir=tests_dir,
                             allow_weak_sandbox=bool(config.get("allow_weak_sandbox", False))))
    result = complete(result, expected, tests_dir)
    for nb in result.notebooks:  # paths relative to the upload
        if nb.path.startswith(str(submission)):
            nb.path = str(Path(nb.path).relative_to(submission))
    data = report.gradescope(result)
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    tmp = results / "results.json.tmp"
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, results / "results.json")
    return data

