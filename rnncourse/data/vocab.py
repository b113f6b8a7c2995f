"""A word vocabulary with special tokens: ``<pad>``, ``<bos>``, ``<eos>`` and ``<unk>``.

A language model over words predicts one of ``V`` tokens. Real text always holds words the
training text did not (names, numbers, typos), and rare words cost a row of the embedding
and of the read-out each while being seen too seldom to learn. So a vocabulary keeps the
words seen at least ``min_count`` times and maps every other word to one token, ``<unk>``::

    vocab = Vocab.build(tokenize(train_text), min_count=2)
    ids = vocab.encode(tokenize("a sentence"), bos=True, eos=True)   # <bos> ... <eos>

The special tokens take the first ids, the same in every model of the course (chapter 9's
:data:`rnncourse.data.text.PAD`, ``BOS`` and ``EOS``, then :data:`UNK`); the words follow,
the most frequent first (ties in alphabetical order).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from rnncourse.data.text import BOS, EOS, PAD

__all__ = ["SPECIALS", "UNK", "Vocab"]

#: The id of the unknown-word token, after PAD, BOS and EOS.
UNK = 3
#: The special tokens, at ids ``PAD, BOS, EOS, UNK`` = 0, 1, 2, 3.
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
assert (PAD, BOS, EOS, UNK) == (0, 1, 2, 3)


def _tokens(where: str, tokens: Iterable[str]) -> list[str]:
    if isinstance(tokens, str):
        raise TypeError(f"{where}: expected a sequence of tokens (e.g. tokenize(text)), got a "
                        "str; a str would be read as single characters")
    out = list(tokens)
    bad = next((t for t in out if not isinstance(t, str)), None)
    if bad is not None:
        raise TypeError(f"{where}: tokens must be str, got {type(bad).__name__} ({bad!r})")
    return out


@dataclass(frozen=True)
class Vocab:
    """Tokens and their ids: ``tokens[i]`` is the token with id ``i``; ids 0-3 are
    :data:`SPECIALS`. Build one with :meth:`build`; ``counts`` are the training counts of
    the kept words."""

    tokens: tuple[str, ...]
    counts: tuple[int, ...]

    @classmethod
    def build(cls, tokens: Iterable[str], min_count: int = 1,
              max_size: int | None = None) -> Vocab:
        """The words of ``tokens`` seen at least ``min_count`` times, most frequent first
        (ties alphabetically), after the four special tokens; at most ``max_size`` ids in
        all if given (the least frequent words go first)."""
        words = _tokens("Vocab.build", tokens)
        if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 1:
            raise ValueError(f"Vocab.build: min_count must be an integer >= 1, got {min_count!r}")
        if max_size is not None and (not isinstance(max_size, int) or isinstance(max_size, bool)
                                     or max_size < len(SPECIALS)):
            raise ValueError(f"Vocab.build: max_size must be an integer >= {len(SPECIALS)} (the "
                             f"special tokens), got {max_size!r}")
        special = sorted(set(words) & set(SPECIALS))
        if special:
            raise ValueError(f"Vocab.build: the text contains the special token(s) {special}")
        kept = sorted(((w, n) for w, n in Counter(words).items() if n >= min_count),
                      key=lambda wn: (-wn[1], wn[0]))
        if max_size is not None:
            kept = kept[:max_size - len(SPECIALS)]
        return cls(SPECIALS + tuple(w for w, _ in kept), (0,) * len(SPECIALS)
                   + tuple(n for _, n in kept))

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    @cached_property
    def _index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.tokens)}

    def encode(self, tokens: Iterable[str], *, bos: bool = False, eos: bool = False
               ) -> np.ndarray:
        """The ids of ``tokens``, ``(len,)`` int64, with :data:`UNK` for every word not in
        the vocabulary; ``bos``/``eos`` put ``<bos>`` first / ``<eos>`` last."""
        index = self._index
        ids = [index.get(t, UNK) for t in _tokens("Vocab.encode", tokens)]
        return np.array([BOS] * bos + ids + [EOS] * eos, dtype=np.int64)

    def decode(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        """The tokens of ``ids`` (a 1-D integer sequence)."""
        arr = np.asarray(ids)
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer) and arr.size:
            raise ValueError(f"Vocab.decode: expected a 1-D sequence of integer ids, got "
                             f"shape {arr.shape} and dtype {arr.dtype}")
        if arr.size and (arr.min() < 0 or arr.max() >= len(self)):
            raise ValueError(f"Vocab.decode: ids must lie in [0, {len(self)}), got "
                             f"{int(arr.min())} to {int(arr.max())}")
        return [self.tokens[int(i)] for i in arr]

    def unknown_rate(self, tokens: Iterable[str]) -> float:
        """The share of ``tokens`` that :meth:`encode` maps to ``<unk>``."""
        words = _tokens("Vocab.unknown_rate", tokens)
        if not words:
            raise ValueError("Vocab.unknown_rate: no tokens")
        index = self._index
        return sum(t not in index for t in words) / len(words)
