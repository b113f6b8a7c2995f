"""Grading spec of ``ch01_sequences.ipynb``: encoding sequences, and a fixed-window baseline.

Nothing in :mod:`rnncourse` computes these three functions, so the references
are written here, in the plainest way (explicit loops over positions and a
``Counter``), and ``tests/test_solutions.py`` checks them against numbers
derived by hand.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from rnncourse.grading.spec import Exercise, Notebook

__all__ = ["NOTEBOOK"]

# --------------------------------------------------------------------------- references


def one_hot_windows(ids, vocab_size, window):
    """Row ``t``: the one-hot vectors of ``ids[t], ..., ids[t + window - 1]``, side by side."""
    ids = [int(i) for i in ids]
    V, w = int(vocab_size), int(window)
    rows = len(ids) - w + 1
    out = np.zeros((rows, w * V))
    for t in range(rows):
        for j in range(w):
            out[t, j * V + ids[t + j]] = 1.0
    return out


def bag_of_words(tokens, vocab):
    """How often each word of ``vocab`` occurs in ``tokens`` (other words are ignored)."""
    counts = Counter(str(token) for token in tokens)
    return np.array([counts[str(word)] for word in vocab], dtype=np.int64)


def _most_frequent(counts: Counter) -> int:
    """The item with the largest count; the smallest item among equals."""
    return min(counts, key=lambda item: (-counts[item], item))


def window_baseline_accuracy(train, test, window):
    """Accuracy on ``test`` of "the follower seen most often after these ``window`` items"."""
    train, test, w = [int(i) for i in train], [int(i) for i in test], int(window)
    followers: dict[tuple[int, ...], Counter] = {}
    for t in range(len(train) - w):
        followers.setdefault(tuple(train[t:t + w]), Counter())[train[t + w]] += 1
    fallback = _most_frequent(Counter(train))
    hits = 0
    for t in range(w, len(test)):
        seen = followers.get(tuple(test[t - w:t]))
        guess = fallback if seen is None else _most_frequent(seen)
        hits += int(guess == test[t])
    return hits / (len(test) - w)


# --------------------------------------------------------------------------- hidden cases


def _one_hot_cases(rng: np.random.Generator) -> list[dict]:
    # (T, V, window): a single item, window 1, a window as long as the sequence.
    sizes = ((1, 1, 1), (5, 3, 1), (6, 4, 3), (4, 2, 4), (8, 5, 2))
    return [dict(ids=rng.integers(0, V, size=T), vocab_size=V, window=w) for T, V, w in sizes]


_WORDS = ("the", "dog", "bites", "man", "a", "cat", "sees", "big")


def _bow_cases(rng: np.random.Generator) -> list[dict]:
    cases = []
    # (words in the vocabulary, tokens, out-of-vocabulary tokens)
    for n_vocab, n_tokens, n_unknown in ((1, 1, 0), (3, 5, 0), (6, 12, 2), (5, 1, 1), (4, 9, 3)):
        words = [str(w) for w in rng.permutation(_WORDS)]
        vocab, unknown = words[:n_vocab], words[n_vocab:]
        tokens = [vocab[i] for i in rng.integers(0, n_vocab, size=n_tokens)]
        tokens += [unknown[i] for i in rng.integers(0, len(unknown), size=n_unknown)]
        cases.append(dict(tokens=[tokens[i] for i in rng.permutation(len(tokens))],
                          vocab=vocab))
    return cases


def _baseline_cases(rng: np.random.Generator) -> list[dict]:
    cases = []
    # (V, window, train length, test length): windows 1 to 3; one prediction only; with
    # this seed, 7 of 9 and 2 of 6 test contexts of the third and fourth cases never occur
    # in train (the fallback).
    for V, w, n_train, n_test in ((2, 1, 6, 2), (3, 2, 20, 10), (4, 3, 30, 12),
                                  (2, 2, 5, 8)):
        cases.append(dict(train=rng.integers(0, V, size=n_train),
                          test=rng.integers(0, V, size=n_test), window=w))
    # The first and the last context of train both decide a prediction (skipping either
    # changes the accuracy), and so does the order of the slice test[t - w:t].
    cases.append(dict(train=np.array([1, 2, 0, 1, 2]), test=np.array([0, 1, 2, 1]), window=2))
    # Ties: in train, 1 is followed once by 0 and once by 2, and 1 and 2 are the most
    # frequent items (for the context 3, never seen); the smaller item must win both ties.
    cases.append(dict(train=np.array([2, 1, 0, 1, 2, 2, 1]),
                      test=np.array([1, 0, 3, 1, 2, 1]), window=1))
    return cases


# --------------------------------------------------------------------------- the spec

NOTEBOOK = Notebook(
    name="ch01_sequences",
    exercises=(
        Exercise(
            grade_id="one_hot_windows",
            function="one_hot_windows",
            points=2,
            call="one_hot_windows(ids, vocab_size, window)",
            cases=_one_hot_cases,
            outputs=("windows",),
            description="one-hot encoding of every window of a sequence",
        ),
        Exercise(
            grade_id="bag_of_words",
            function="bag_of_words",
            points=1,
            call="bag_of_words(tokens, vocab)",
            cases=_bow_cases,
            outputs=("counts",),
            description="bag-of-words counts of a sentence",
        ),
        Exercise(
            grade_id="window_baseline_accuracy",
            function="window_baseline_accuracy",
            points=3,
            call="window_baseline_accuracy(train, test, window)",
            cases=_baseline_cases,
            outputs=("accuracy",),
            description="next-item accuracy of the fixed-window baseline",
        ),
    ),
    reference=dict(
        one_hot_windows=one_hot_windows,
        bag_of_words=bag_of_words,
        window_baseline_accuracy=window_baseline_accuracy,
    ),
    helpers="import numpy as np\n",
    seed=101,
)
