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

Whatever happens, :func:`run` writes a ``results.json`` that says what it is: the
grade, or a score of 0 with the reason the autograder could not grade (no
Landlock on the machine, a broken bundle), so students never see a bare
"autograder failed". ``setup.sh`` runs :func:`self_test` when Gradescope builds the
image: a kernel without Landlock fails the build, where the instructor sees it,
rather than every submission. Weak mode (``--allow-weak-sandbox``) is refused:
without Landlock any student's code could set its own score.
"""

from __future__ import annotations

import json
import os
import re
import stat
import zipfile
from collections.abc import Sequence
from pathlib import Path

from . import checks, report
from .engine import GradeError, Options, Submission, check_sandbox, grade
from .roster import WEAK_REFUSED, _notebooks_in_folder, complete, expected_notebooks
from .runner import Limits

__all__ = ["build_bundle", "run", "self_test", "check_source", "PINNED", "SETUP_SH",
           "RUN_AUTOGRADER"]

# The course's pinned source, as the other templates require it: a release tag, a commit,
# or a wheel -- never a bare package name (whoever registers it on PyPI would be installed).
PINNED = (r"rnncourse @ git\+https://\S+@(v\d+\.\d+\.\d+|[0-9a-f]{40})"
          r"|rnncourse @ (https://|file:///)\S+/rnncourse-\d\S*-py3-none-any\.whl"
          r"(#sha256=[0-9a-f]{64})?")
EXAMPLE = "'rnncourse @ git+https://github.com/ORG/rnncourse@<40-hex commit>'"


def check_source(source: str) -> str:
    """``source`` if it is pinned (:data:`PINNED`); else :class:`GradeError` saying how."""
    text = source.strip()
    if not re.fullmatch(PINNED, text):
        raise GradeError(f"--source {source!r} is not pinned: give the course's grader at a "
                         f"commit or a release tag, e.g. {EXAMPLE}, or a wheel URL "
                         f"(rnncourse @ https://.../rnncourse-0.1.0-py3-none-any.whl). A bare "
                         f"name would install whatever PyPI serves under it")
    return text

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
# Fails the build (where the instructor sees it) if this machine cannot sandbox the
# students' code: the grader needs Landlock (Linux >= 5.13) and grades nothing without it.
/autograder/venv/bin/rnncourse gradescope --self-test
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
    Landlock -- and is refused: weak mode lets any student set their own score.
    """
    if allow_weak_sandbox:
        raise GradeError(WEAK_REFUSED)
    source = check_source(source)
    limits = limits or Limits()
    expected = expected_notebooks(tests_dir, notebooks)
    config = dict(notebooks=list(expected), timeout=limits.timeout, memory_mb=limits.memory_mb,
                  max_output=limits.max_output,
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


def self_test() -> str:
    """What will sandbox the graded code here; :class:`GradeError` if it cannot be done."""
    return check_sandbox(False)


def _write_results(root: Path, data: dict) -> None:
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    tmp = results / "results.json.tmp"
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, results / "results.json")


def run(root: Path) -> dict:
    """Grade ``root/submission`` with ``root/source``; write ``root/results/results.json``.

    If the submission cannot be graded at all (this machine has no Landlock, the
    bundle is broken), ``results.json`` still comes, with a score of 0 and the
    reason; then :class:`GradeError` is raised (the command exits non-zero).
    """
    try:
        return _run(root)
    except Exception as exc:  # noqa: BLE001 -- whatever it is, the student is told
        why = str(exc) if isinstance(exc, GradeError) else f"{type(exc).__name__}: {exc}"
        _write_results(root, dict(
            score=0.0, visibility="visible", stdout_visibility="visible", tests=[],
            output=("The autograder could not grade this submission; this is not a problem "
                    "with your work, and your instructor will grade it. Reason: " + why)))
        if isinstance(exc, GradeError):
            raise
        raise GradeError(why) from exc


def _run(root: Path) -> dict:
    source = root / "source"
    try:
        config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GradeError(f"{source / 'config.json'}: cannot read the bundle's configuration: "
                         f"{exc}") from None
    tests_dir = source / "checks"
    limits = Limits(timeout=float(config["timeout"]), memory_mb=int(config["memory_mb"]),
                    max_output=int(config["max_output"]))
    if config.get("allow_weak_sandbox"):
        raise GradeError(WEAK_REFUSED)
    expected = expected_notebooks(tests_dir, config["notebooks"])  # every check, loaded first
    submission = root / "submission"
    found = _notebooks_in_folder(submission) if submission.is_dir() else []
    keep = [p for p in found if checks.match(p.stem, list(expected)) is not None]
    [result] = grade([Submission("submission", tuple(keep), follow_symlinks=False)],
                     Options(limits=limits, tests_dir=tests_dir))
    result = complete(result, expected, tests_dir)
    for nb in result.notebooks:  # paths relative to the upload
        if nb.path.startswith(str(submission)):
            nb.path = str(Path(nb.path).relative_to(submission))
    data = report.gradescope(result)
    _write_results(root, data)
    return data

