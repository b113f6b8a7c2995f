"""Chapter 1's illustrative sequences: six kinds of data that come one step at a time.

:func:`sequence_examples` makes one seeded, synthetic example of each kind for the
chapter's opening figure (:func:`rnncourse.figures.sequences.plot_sequence_examples`):
nothing is measured from them, they only show what such sequences look like.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnncourse._args import SeedLike, as_rng

__all__ = ["sequence_examples"]


def sequence_examples(seed: SeedLike = 0) -> dict[str, Any]:
    """Six synthetic sequences, drawn from one seeded generator in a fixed order.

    Returns a dict with

    - ``"price"``: ``(120,)`` a stock price, a geometric random walk from 100 with 1 %
      daily steps;
    - ``"trajectory"``: ``(xs, ys)``, each ``(60,)``, a car drifting right along a gentle
      curve, with small random jitter that accumulates;
    - ``"ekg"``: ``(time, values)``, each ``(800,)``, 4 s of an EKG-like trace: six beats
      about 0.8 s apart, each a sharp spike followed by a small dip, plus noise;
    - ``"audio"``: ``(time, values)``, each ``(800,)``, 50 ms of a decaying 220 Hz tone
      with its third harmonic (no randomness);
    - ``"dna"``: 12 random bases, each ``"A"``, ``"C"``, ``"G"`` or ``"T"``;
    - ``"words"``: a sentence whose last word is missing (``"___"``).
    """
    rng = as_rng(seed)
    price = 100 * np.exp(np.cumsum(0.01 * rng.standard_normal(120)))
    t = np.linspace(0, 1, 60)
    xs = 40 * t + rng.normal(0, 0.3, 60).cumsum() * 0.2
    ys = 8 * np.sin(3 * t) + rng.normal(0, 0.3, 60).cumsum() * 0.2
    time = np.linspace(0, 4, 800)
    beats = np.cumsum(0.8 + 0.05 * rng.standard_normal(6))
    ekg = sum(np.exp(-((time - b) / 0.015) ** 2) - 0.15 * np.exp(-((time - b - 0.2) / 0.05) ** 2)
              for b in beats)
    ekg = ekg + 0.02 * rng.standard_normal(time.size)
    audio_time = np.linspace(0, 0.05, 800)
    wave = np.sin(2 * np.pi * 220 * audio_time) + 0.5 * np.sin(2 * np.pi * 660 * audio_time)
    dna = [str(b) for b in rng.choice(list("ACGT"), size=12)]
    return {
        "price": price,
        "trajectory": (xs, ys),
        "ekg": (time, ekg),
        "audio": (audio_time, wave * np.exp(-40 * audio_time)),
        "dna": dna,
        "words": ["I", "take", "my", "dog", "for", "a", "___"],
    }
