"""The checks of every exercise notebook, one module per notebook.

``rnncourse/grading/checks/<stem>.py`` defines ``NOTEBOOK``, the
:class:`~rnncourse.grading.spec.Notebook` that grades ``<stem>.ipynb``.
An instructor may keep private checks in a folder of such modules and pass it
as ``rnncourse grade --tests DIR``: a module there replaces the packaged one of
the same name. Check modules are trusted code, run in the grader's process.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from ..spec import Notebook

__all__ = ["SpecError", "available", "load", "match", "validate"]

HERE = Path(__file__).resolve().parent


class SpecError(Exception):
    """A check module that is missing or wrong (the instructor's problem, not the student's)."""


def _stems(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))


def available(tests_dir: Path | None = None) -> list[str]:
    """The notebook stems that have checks: packaged ones and those in ``tests_dir``."""
    return sorted(set(_stems(HERE)) | set(_stems(tests_dir) if tests_dir else []))


def match(stem: str, known: list[str]) -> str | None:
    """The checks for a notebook file stem: exact, else the longest known prefix.

    ``ch02_rnn`` -> ``ch02_rnn``; ``ch02_rnn_alice`` or ``ch02_rnn (1)`` -> ``ch02_rnn``.
    """
    if stem in known:
        return stem
    prefixes = [k for k in known if stem.startswith(k) and not stem[len(k)].isalnum()]
    return max(prefixes, key=len) if prefixes else None


def validate(nb: Notebook, stem: str) -> None:
    """Check a spec's internal consistency; raise :class:`SpecError`."""
    if not isinstance(nb, Notebook):
        raise SpecError(f"checks {stem}: NOTEBOOK is a {type(nb).__name__}, not a Notebook")
    if nb.name != stem:
        raise SpecError(f"checks {stem}: NOTEBOOK.name is {nb.name!r}, expected {stem!r}")
    ids = [ex.grade_id for ex in nb.exercises]
    if len(set(ids)) != len(ids):
        raise SpecError(f"checks {stem}: duplicate grade_id in {ids}")
    for ex in nb.exercises:
        where = f"checks {stem}, exercise {ex.grade_id}"
        if not ex.outputs or not all(isinstance(o, str) for o in ex.outputs):
            raise SpecError(f"{where}: outputs must be a non-empty tuple of names")
        if ex.points < 0:
            raise SpecError(f"{where}: negative points")
        for r in ex.requires:
            if r not in ids or r == ex.grade_id:
                raise SpecError(f"{where}: requires unknown exercise {r!r}")
        try:
            compile(ex.call, f"<{where}>", "eval")
        except SyntaxError as exc:
            raise SpecError(f"{where}: call is not an expression ({exc.msg})") from None
    order = {gid: i for i, gid in enumerate(ids)}
    for ex in nb.exercises:  # requires must not form a cycle
        seen, todo = set(), list(ex.requires)
        while todo:
            r = todo.pop()
            if r == ex.grade_id:
                raise SpecError(f"checks {stem}: exercise {ex.grade_id} requires itself")
            if r not in seen:
                seen.add(r)
                todo.extend(nb.exercises[order[r]].requires)


def load(stem: str, tests_dir: Path | None = None) -> Notebook:
    """The checked ``NOTEBOOK`` of ``<stem>`` (from ``tests_dir`` first, then the package)."""
    if tests_dir is not None and (Path(tests_dir) / f"{stem}.py").is_file():
        path = (Path(tests_dir) / f"{stem}.py").resolve()
        name = f"_rnncourse_checks_{abs(hash(str(path)))}_{stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise SpecError(f"cannot load checks from {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and pickling look modules up by name
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise SpecError(f"checks {path} failed to load: {type(exc).__name__}: {exc}") from exc
    elif stem.isidentifier() and (HERE / f"{stem}.py").is_file():
        module = importlib.import_module(f"{__name__}.{stem}")
    else:
        raise SpecError(f"no checks for notebook {stem!r}")
    nb = getattr(module, "NOTEBOOK", None)
    validate(nb, stem)
    return nb
