"""argparse types and argument checks shared by the ``rnncourse`` subcommands.

Each type turns one command-line string into a value or raises
``argparse.ArgumentTypeError`` with a message that names what was expected.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "add_partial_credit", "non_negative_int", "percent", "positive_float", "positive_int",
    "tests_dir",
]


def _number(text: str, cast: type, ok: Callable[[float], bool], expected: str) -> float:
    """``cast(text)`` if it converts and ``ok`` holds for it, else an ArgumentTypeError
    naming what was ``expected`` and what was given."""
    try:
        value = cast(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: a positive integer."""
    return _number(text, int, lambda v: v > 0, "a positive integer")


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _number(text, int, lambda v: v >= 0, "an integer >= 0")


def positive_float(text: str) -> float:
    """argparse type: a positive, finite number."""
    return _number(text, float, lambda v: 0 < v < float("inf"), "a positive number")


def percent(text: str) -> float:
    """argparse type: a number from 0 to 100."""
    return _number(text, float, lambda v: 0 <= v <= 100, "a percentage from 0 to 100")


def tests_dir(path: Path | None) -> Path | None:
    """``--tests``: None, or a folder of the instructor's checks (else a clear error)."""
    if path is not None and not path.is_dir():
        raise ValueError(f"--tests {path}: not a directory")
    return path


def add_partial_credit(parser: argparse.ArgumentParser) -> None:
    """``--partial-credit``, the same option for ``rnncourse grade`` and ``grade-class``."""
    parser.add_argument(
        "--partial-credit", action="store_true",
        help="partial credit: an exercise that fails some hidden cases earns its points times "
             "the share of cases that agree (default: all or nothing; a broken rule or a cell "
             "that cannot run still costs the whole exercise)")
