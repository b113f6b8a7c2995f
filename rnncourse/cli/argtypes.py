"""argparse types and argument checks shared by the ``rnncourse`` subcommands.

Each type turns one command-line string into a value or raises
``argparse.ArgumentTypeError`` with a message that names what was expected.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = [
    "non_negative_int", "percent", "positive_float", "positive_int", "tests_dir",
]


def positive_int(text: str) -> int:
    """argparse type: a positive integer."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a positive number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def percent(text: str) -> float:
    """argparse type: a number from 0 to 100."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a percentage from 0 to 100, got {text!r}")
    return value


def tests_dir(path: Path | None) -> Path | None:
    """``--tests``: None, or a folder of the instructor's checks (else a clear error)."""
    if path is not None and not path.is_dir():
        raise ValueError(f"--tests {path}: not a directory")
    return path
