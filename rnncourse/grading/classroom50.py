"""Classroom 50's ``result.json`` (schema ``classroom50/result/v1``).

Classroom 50 runs the assignment's ``autograder.py`` in the student's checkout
and reads ``./result.json`` from it: ``score`` and ``max-score`` (integers) and
one ``{"test-name", "passed", "score", "max-score"}`` per test, with the
submission's identity from the environment the runner sets (``CLASSROOM``,
``ASSIGNMENT``, ``SUBMISSION_TAG``, ``COMMIT_URL``, ``RELEASE_URL``,
``REVIEW_URL``). ``owner`` and ``assignment_type`` are stamped by the runner.

Like every grade computed in a student's own repository, it is only as
trustworthy as that repository's workflow: Classroom 50 says so itself. The
instructor's ``rnncourse grade-class`` is the grade of record.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from .engine import SubmissionResult

__all__ = ["SCHEMA", "result_json"]

SCHEMA = "classroom50/result/v1"


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


def result_json(result: SubmissionResult, env: Mapping[str, str],
                now: datetime | None = None) -> dict:
    """``result.json`` for one submission; identity fields from ``env`` (empty if unset)."""
    now = now or datetime.now(timezone.utc)
    tests = [{"test-name": f"{e.notebook}: {e.function}", "passed": e.passed,
              "score": _number(e.points), "max-score": _number(e.max_points)}
             for e in result.exercises]
    commit = env.get("COMMIT_URL", "")
    return {
        "schema": SCHEMA,
        "classroom": env.get("CLASSROOM", ""),
        "assignment": env.get("ASSIGNMENT", ""),
        "submission": env.get("SUBMISSION_TAG", ""),
        "commit": commit,
        "release": env.get("RELEASE_URL", ""),
        "review": env.get("REVIEW_URL") or commit,
        "datetime": now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "score": _number(result.score),
        "max-score": _number(result.max_score),
        "tests": tests,
    }
