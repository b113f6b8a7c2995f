"""Text as numbers: tokens, vocabularies, one-hot codes and character batches.

Chapter 1's fixed-size encodings of a token sequence (no model, just encodings)::

    tokenize("Every night, I take my dog for a")  ->  ['every', 'night', 'i', ...]
    one_hot(tokens, vocab)          (T, V)     row t is e_{id(token t)}
    window_vector(tokens, vocab, k) (k V,)     the last k one-hot rows, side by side
    bag_of_words(tokens, vocab)     (V,)       sum over t of e_{id(token t)}: counts

Characters for the language models of chapters 4 and 10: :func:`char_dataset` (one
string as one-hot inputs and next-character targets, NumPy), :class:`CharVocab`
(characters <-> ids), :func:`char_batches` (seeded epochs of next-character windows in
random order, for :func:`rnncourse.models.train.fit`) and :func:`stateful_batches` (the
text as ``N`` parallel streams, read in order, for truncated BPTT with the state carried
from one batch to the next).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "PAD", "BOS", "EOS", "tokenize", "build_vocab", "one_hot", "window_vector", "bag_of_words",
    "char_dataset", "CharVocab", "char_batches", "stateful_batches",
]

_WORD = re.compile(r"[a-z0-9_']+")

#: The special token ids of every sequence model in the course (chapter 9): padding, the
#: decoder's first input ("begin of sequence") and its last output ("end of sequence").
PAD, BOS, EOS = 0, 1, 2


def tokenize(text: str) -> list[str]:
    """Lower-case words of ``text``; punctuation is dropped (``"Every night, I"`` -> 3 words)."""
    if not isinstance(text, str):
        raise TypeError(f"tokenize: expected a str, got {type(text).__name__}")
    return _WORD.findall(text.lower())


def build_vocab(*texts: Sequence[str]) -> list[str]:
    """The sorted distinct tokens of one or more token lists: the vocabulary, id = index."""
    return sorted({token for tokens in texts for token in tokens})


def _ids(where: str, tokens: Sequence[str], vocab: Sequence[str]) -> list[int]:
    index = {word: i for i, word in enumerate(vocab)}
    if len(index) != len(vocab):
        raise ValueError(f"{where}: the vocabulary has repeated words")
    missing = [t for t in tokens if t not in index]
    if missing:
        raise ValueError(f"{where}: tokens not in the vocabulary: {missing[:5]}")
    return [index[t] for t in tokens]


def one_hot(tokens: Sequence[str], vocab: Sequence[str]) -> np.ndarray:
    """One-hot rows ``e_{id(token)}``: ``(T, V)`` float64, one 1 per row.

    Args:
        tokens: ``T`` words, each in ``vocab``.
        vocab: ``V`` distinct words; word ``vocab[i]`` has id ``i``.
    """
    ids = _ids("one_hot", tokens, vocab)
    out = np.zeros((len(ids), len(vocab)))
    out[np.arange(len(ids)), ids] = 1.0
    return out


def window_vector(tokens: Sequence[str], vocab: Sequence[str], k: int) -> np.ndarray:
    """The input of a fixed-window model: the last ``k`` one-hot rows, concatenated.

    ``[e_{w_{T-k+1}}, ..., e_{w_T}]``, shape ``(k V,)``. A text shorter than ``k``
    is padded on the left with zero blocks (the words "before the start").
    Everything older than the last ``k`` words is cut off.
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"window_vector: k must be a positive integer, got {k!r}")
    rows = one_hot(list(tokens)[-k:] if len(tokens) else [], vocab)   # (min(T, k), V)
    pad = np.zeros((k - rows.shape[0], len(vocab)))
    return np.concatenate([pad, rows]).reshape(-1)


def bag_of_words(tokens: Sequence[str], vocab: Sequence[str]) -> np.ndarray:
    """Word counts ``sum_t e_{id(token t)}``: ``(V,)`` int64, whatever the length ``T``."""
    counts = np.zeros(len(vocab), dtype=np.int64)
    np.add.at(counts, np.asarray(_ids("bag_of_words", tokens, vocab), dtype=np.int64), 1)
    return counts


def char_dataset(text: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """One-hot inputs and next-character targets for a string.

    The input at step ``t`` is character ``t`` and the target is character ``t + 1``,
    so a string of length ``L`` gives ``T = L - 1`` steps.

    Args:
        text: at least two characters.

    Returns:
        ``(vocab, x, y)``: the sorted distinct characters (``K`` of them),
        ``x: (1, T, K)`` one-hot inputs (float64) and ``y: (1, T)`` target ids.
    """
    if not isinstance(text, str) or len(text) < 2:
        raise ValueError("char_dataset: text must be a string of at least 2 characters")
    vocab = sorted(set(text))
    ids = np.array([vocab.index(ch) for ch in text])
    x = np.eye(len(vocab))[ids[:-1]][None]  # (1, T, K)
    return vocab, x, ids[1:][None]


@dataclass(frozen=True)
class CharVocab:
    """A character vocabulary: ``chars[i]`` is the character with id ``i``.

    Build it with :meth:`from_text` (the sorted set of characters of a text).
    """

    chars: str

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """``text`` as ids, ``(len(text),)`` int64; an unknown character is a ``KeyError``."""
        index = {c: i for i, c in enumerate(self.chars)}
        return np.array([index[c] for c in text], dtype=np.int64)

    def decode(self, ids: Sequence[int] | np.ndarray | Tensor) -> str:
        """The characters of ``ids`` (any 1-D integer sequence)."""
        return "".join(self.chars[int(i)] for i in ids)


def char_batches(ids: np.ndarray, seq_len: int, batch_size: int, *,
                 seed: int = 0) -> Callable[[], list[tuple[Tensor, Tensor]]]:
    """A function that returns one epoch of next-character batches, for :func:`fit`.

    Each epoch cuts ``ids`` into non-overlapping windows of ``seq_len + 1`` ids, starting
    at a random offset in ``[0, seq_len)`` (so that the cuts move between epochs), shuffles
    the windows and groups them into batches. In a window ``w``, the input is ``w[:-1]``
    and the target is ``w[1:]``: at every step, the next character.

    Returns:
        ``epoch()`` -> list of ``(x, y)``, both ``(batch_size, seq_len)`` int64 tensors
        (the last, smaller batch is dropped). Seeded: the sequence of epochs repeats.
    """
    if len(ids) < 2 * (seq_len + 1):
        raise ValueError(f"need at least {2 * (seq_len + 1)} ids, got {len(ids)}")
    data = torch.as_tensor(np.asarray(ids), dtype=torch.int64)
    rng = torch.Generator().manual_seed(seed)

    def epoch() -> list[tuple[Tensor, Tensor]]:
        start = int(torch.randint(seq_len, (1,), generator=rng))
        n = (len(data) - start) // (seq_len + 1)
        windows = data[start:start + n * (seq_len + 1)].view(n, seq_len + 1)
        windows = windows[torch.randperm(n, generator=rng)]
        return [(w[:, :-1], w[:, 1:]) for w in windows.split(batch_size)
                if len(w) == batch_size]

    return epoch


def stateful_batches(ids: np.ndarray, seq_len: int, batch_size: int, *,
                     seed: int = 0, random_lengths: bool = False,
                     ) -> Callable[[], list[tuple[Tensor, Tensor]]]:
    """Epochs of batches for truncated BPTT with the state carried across batches.

    Each epoch drops a random number of ids in ``[0, seq_len)`` from the front (so that
    the cuts move between epochs), cuts the rest into ``batch_size`` contiguous streams of
    equal length ``L`` and reads them in order, ``seq_len`` steps at a time: row ``i`` of
    batch ``k + 1`` continues row ``i`` of batch ``k`` exactly, so the final state of one
    batch is the right initial state of the next (detach it between batches: the gradient
    is truncated, the state is not). Inputs are the streams, targets the same streams
    shifted by one.

    With ``random_lengths`` every batch draws its own length, as Merity, Keskar and Socher
    do for AWD-LSTM: ``seq_len`` with probability 0.95, else ``seq_len / 2``, plus normal
    noise of standard deviation 5, rounded and at least 5 (so that the cuts fall at
    different places every epoch, not only shifted by the offset). The batches still tile
    the streams exactly. Scale the learning rate of a batch by its length over
    ``seq_len``, as they do, so that short batches do not weigh as much as long ones.

    Returns:
        ``epoch()`` -> list of ``(x, y)``, both ``(batch_size, L)`` int64 tensors with
        ``L = seq_len`` (or drawn, with ``random_lengths``), in reading order (the
        incomplete last chunk is dropped). Seeded.
    """
    if len(ids) < 2 * batch_size * seq_len + seq_len + 1:
        raise ValueError(f"need at least {2 * batch_size * seq_len + seq_len + 1} ids for "
                         f"two batches, got {len(ids)}")
    data = torch.as_tensor(np.asarray(ids), dtype=torch.int64)
    rng = torch.Generator().manual_seed(seed)

    def epoch() -> list[tuple[Tensor, Tensor]]:
        start = int(torch.randint(seq_len, (1,), generator=rng))
        length = (len(data) - start - 1) // batch_size
        x = data[start:start + batch_size * length].view(batch_size, length)
        y = data[start + 1:start + 1 + batch_size * length].view(batch_size, length)
        if not random_lengths:
            return [(x[:, k:k + seq_len], y[:, k:k + seq_len])
                    for k in range(0, length - seq_len + 1, seq_len)]
        out, k = [], 0
        while True:
            half = float(torch.rand((), generator=rng)) >= 0.95
            mean = seq_len / 2 if half else seq_len
            n = max(5, round(mean + 5 * float(torch.randn((), generator=rng))))
            if k + n > length:
                return out
            out.append((x[:, k:k + n], y[:, k:k + n]))
            k += n

    return epoch
