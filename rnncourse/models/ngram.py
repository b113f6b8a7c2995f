"""A character n-gram language model with interpolated Kneser–Ney smoothing.

The baseline of chapter 10's language model. An n-gram model predicts the next character
from the ``n - 1`` characters before it only, by counting. Raw counts give probability 0 to
everything not seen in training, so the counts are *smoothed*; interpolated Kneser–Ney
(Kneser and Ney 1995; one discount per order, not the *modified* Kneser–Ney with three
discounts per order that Chen and Goodman 1999 found best) subtracts a
discount ``D`` from every seen count and gives the mass saved to a lower-order model::

    P_k(w | h) = max(c_k(h, w) - D_k, 0) / c_k(h)  +  D_k * T_k(h) / c_k(h) * P_{k-1}(w | h')

for a context ``h`` of ``k - 1`` characters, ``h'`` its last ``k - 2`` characters,
``c_k(h) = sum_w c_k(h, w)`` and ``T_k(h)`` the number of distinct ``w`` with
``c_k(h, w) > 0``. A context never seen (``c_k(h) = 0``) hands all its mass down:
``P_k(w | h) = P_{k-1}(w | h')``. At the bottom, ``P_0(w) = 1 / V`` (uniform over the
vocabulary), so every character of the vocabulary gets a probability above zero.

The counts ``c_k``: at the highest order ``n``, the number of times ``h w`` occurs in the
training text. At every lower order, the Kneser–Ney *continuation count*: the number of
distinct characters that precede ``h w`` in the text. (A lower order is only consulted for
what the higher order has not seen, so what matters there is in how many different contexts
``h w`` occurs, not how often.) The discount of each order is Ney's estimate
``D_k = n1 / (n1 + 2 n2)``, with ``n1``, ``n2`` the numbers of ``k``-grams whose count at that
order is exactly 1 and 2 (0.5 when that is undefined or zero), unless given.

At the start of a text, where fewer than ``n - 1`` characters precede a position, the model
conditions on the characters there are (the lower order, with its continuation counts).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from rnncourse.numpy.lm import temperature_softmax

__all__ = ["KneserNey", "bits_per_char_by_order"]


class KneserNey:
    """An interpolated Kneser–Ney character model of order ``order`` over ``vocab``.

    Args:
        order: ``n >= 1``: the model conditions on the ``n - 1`` previous characters.
        vocab: the characters it predicts (a string of distinct characters). Training and
            evaluation text must use only these.
        discount: a fixed discount in ``(0, 1]`` for every order, instead of Ney's estimate.

    Use :meth:`fit`, then :meth:`prob`, :meth:`distribution`, :meth:`logprobs`,
    :meth:`bits_per_char` or :meth:`sample`.
    """

    def __init__(self, order: int, vocab: str, discount: float | None = None) -> None:
        if not (isinstance(order, int) and order >= 1):
            raise ValueError(f"order must be an integer >= 1, got {order!r}")
        if len(set(vocab)) != len(vocab) or not vocab:
            raise ValueError("vocab must be a non-empty string of distinct characters")
        if discount is not None and not 0 < discount <= 1:
            raise ValueError(f"discount must be in (0, 1], got {discount!r}")
        self.order, self.vocab, self.fixed_discount = order, vocab, discount
        self.index = {c: i for i, c in enumerate(vocab)}
        # per order k (1..n): context (k-1 chars) -> {next char: count}
        self.counts: list[dict[str, dict[str, int]]] = []
        self.discounts: list[float] = []
        self._totals: list[dict[str, tuple[int, int]]] = []
        self._cache: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ training

    def _check(self, text: str, what: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"{what} must be a str, got {type(text).__name__}")
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise ValueError(f"{what} has characters outside the vocabulary: {unknown[:10]!r}")

    def fit(self, text: str) -> KneserNey:
        """Count the n-grams of ``text`` (every order), set the discounts; returns self."""
        self._check(text, "the training text")
        n = self.order
        self.counts, self.discounts, self._totals, self._cache = [], [], [], {}
        for k in range(1, n + 1):
            table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            if k == n:                              # raw counts
                for i in range(len(text) - k + 1):
                    table[text[i:i + k - 1]][text[i + k - 1]] += 1
            else:                                   # continuation counts
                for gram in {text[i:i + k + 1] for i in range(len(text) - k)}:
                    table[gram[1:k]][gram[k]] += 1
            counts = {h: dict(ws) for h, ws in table.items()}
            self.counts.append(counts)
            self._totals.append({h: (sum(ws.values()), len(ws)) for h, ws in counts.items()})
            if self.fixed_discount is not None:
                self.discounts.append(float(self.fixed_discount))
            else:
                values = [c for ws in counts.values() for c in ws.values()]
                n1, n2 = values.count(1), values.count(2)
                d = n1 / (n1 + 2 * n2) if n1 > 0 else 0.5
                self.discounts.append(d)
        return self

    def _fitted(self) -> None:
        if not self.counts:
            raise RuntimeError("call fit(text) first")

    # ------------------------------------------------------------------ probabilities

    def prob(self, context: str, char: str) -> float:
        """``P(char | the last n - 1 characters of context)``."""
        self._fitted()
        self._check(context, "the context")
        self._check(char, "the character")
        if len(char) != 1:
            raise ValueError(f"the character must be one character, got {char!r}")
        h = context[-(self.order - 1):] if self.order > 1 else ""
        return self._prob(h, char)

    def _prob(self, h: str, w: str) -> float:
        p = 1.0 / len(self.vocab)
        # from order 1 up to order len(h) + 1, each interpolating with the one below
        for k in range(1, len(h) + 2):
            ctx = h[len(h) - (k - 1):] if k > 1 else ""
            total = self._totals[k - 1].get(ctx)
            if total is None:
                continue                            # unseen context: all mass passes down
            c_h, t_h = total
            d = self.discounts[k - 1]
            c = self.counts[k - 1][ctx].get(w, 0)
            p = max(c - d, 0.0) / c_h + d * t_h / c_h * p
        return p

    def distribution(self, context: str) -> np.ndarray:
        """``P(w | context)`` for every ``w`` of the vocabulary, ``(V,)`` float64 (sums to 1)."""
        self._fitted()
        self._check(context, "the context")
        h = context[-(self.order - 1):] if self.order > 1 else ""
        if h not in self._cache:
            self._cache[h] = np.array([self._prob(h, w) for w in self.vocab])
        return self._cache[h].copy()

    def logprobs(self, text: str, history: str = "") -> np.ndarray:
        """``log2 P(text[t] | history + text[:t])`` for every ``t``, ``(len(text),)``."""
        self._fitted()
        self._check(history, "the history")
        self._check(text, "the text")
        full, start, m = history + text, len(history), self.order - 1
        return np.array([math.log2(self._prob(full[max(0, t - m):t], full[t]))
                         for t in range(start, len(full))])

    def bits_per_char(self, text: str, history: str = "") -> float:
        """The mean of ``-log2 P`` over the characters of ``text``: its cross-entropy in bits."""
        return float(-self.logprobs(text, history).mean())

    def sample(self, n_chars: int, prompt: str = "", *, temperature: float = 1.0,
               seed: int = 0) -> str:
        """``n_chars`` characters drawn one at a time after ``prompt``, each from
        ``P(. | context) ** (1 / temperature)`` renormalised, with a seeded NumPy generator."""
        rng = np.random.default_rng(seed)
        out = prompt
        for _ in range(n_chars):
            p = temperature_softmax(np.log(self.distribution(out)), temperature)
            out += self.vocab[int(rng.choice(len(p), p=p))]
        return out[len(prompt):]

    def __repr__(self) -> str:
        state = f", {sum(len(c) for c in self.counts)} contexts" if self.counts else ""
        return f"KneserNey(order={self.order}, V={len(self.vocab)}{state})"


def bits_per_char_by_order(train: str, evaluate: Sequence[str], vocab: str,
                           orders: Sequence[int]) -> dict[int, list[float]]:
    """``{order: [bits per character on each text of evaluate]}`` for models fit on ``train``."""
    return {n: [KneserNey(n, vocab).fit(train).bits_per_char(t) for t in evaluate]
            for n in orders}
