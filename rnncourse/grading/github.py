"""GitHub Actions workflow commands: one ``::error`` annotation per failing exercise.

``rnncourse grade --annotate`` prints them; GitHub shows each on the run's
summary page and on the notebook's file in the commit. Student-controlled text
is escaped as the runner expects (``%``, carriage return and newline in the
message; also ``:`` and ``,`` in properties), so a reason cannot start another
workflow command.
"""

from __future__ import annotations

from collections.abc import Sequence

from .engine import SubmissionResult

__all__ = ["annotations"]


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def annotations(results: Sequence[SubmissionResult]) -> list[str]:
    """``::error file=...,title=...::reason`` for every exercise that did not pass."""
    out = []
    for r in results:
        for nb in r.notebooks:
            for e in nb.exercises:
                if e.passed:
                    continue
                props = [f"file={_prop(nb.path)}"] if nb.path else []
                props.append(f"title={_prop(f'{nb.name}: {e.function} 0 / {e.max_points:g}')}")
                message = e.reason.removeprefix(f"`{e.function}`: ")
                out.append(f"::error {','.join(props)}::{_data(message[:1000])}")
    return out
