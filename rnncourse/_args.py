"""Argument helpers shared by the data, task and figure modules: seeds and counts."""

from __future__ import annotations

import numpy as np

SeedLike = int | np.random.Generator | None


def as_rng(seed: SeedLike, *, name: str = "seed", allow_none: bool = False) -> np.random.Generator:
    """``seed`` itself if it is a ``numpy.random.Generator``, else a new one seeded with it.

    ``None`` (fresh entropy, not reproducible) only where ``allow_none``; a bool is refused,
    because ``True`` as a seed is almost always a mistake.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    if seed is None and allow_none:
        return np.random.default_rng()
    kinds = "an int, a numpy.random.Generator or None" if allow_none else \
        "a numpy.random.Generator or an int seed"
    raise TypeError(f"{name} must be {kinds}, got {type(seed).__name__}")


def check_count(name: str, value: object, minimum: int = 1) -> int:
    """``value`` as an ``int`` if it is an integer ``>= minimum``, else a ``ValueError``
    naming the argument (a bool is refused: ``True`` as a count is a mistake)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)
