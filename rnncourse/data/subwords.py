"""Subword units: byte-pair encoding (BPE, Sennrich, Haddow & Birch 2016), trained by the
HuggingFace ``tokenizers`` library (chapter 9).

BPE starts from characters and learns *merges*. Every word of the training text is a sequence
of symbols, its characters, the last one marked as a word end (``t</w>``: the suffix
``</w>`` tells ``low`` in ``lower`` from the word ``low``). Then, as many times as the
vocabulary allows::

    count every pair of adjacent symbols over the corpus (each word weighted by its count)
    merge the most frequent pair (a, b) into one new symbol ab, everywhere

The merges, in the order learned, are the model. A word is segmented by starting from its
characters and applying the merges, earliest first, wherever they apply: a frequent word
ends as one symbol, a rare one (a compound never seen in training) as several known pieces,
and no word is out of the vocabulary while its characters are known.

:func:`train_bpe` trains a tokenizer on some sentences (words separated by spaces);
:func:`merges` lists its merges; :func:`encode` and :func:`decode` map sentences to ids and
back. The special tokens take the course's ids (:data:`rnncourse.data.text.PAD`, ``BOS``,
``EOS``, then ``<unk>`` = 3), so the ids go straight into :mod:`rnncourse.models.seq2seq`.
``tests/test_translation.py`` checks the learned merges against a brute-force BPE.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rnncourse.data.text import BOS, EOS, PAD
from rnncourse.data.vocab import SPECIALS, UNK  # the course's special tokens, ids 0-3

__all__ = ["SPECIALS", "UNK", "SUFFIX", "train_bpe", "load", "merges", "encode", "decode",
           "pieces", "readable"]

SUFFIX = "</w>"


def train_bpe(sentences: Iterable[str], vocab_size: int, min_frequency: int = 2) -> Any:
    """A BPE ``tokenizers.Tokenizer`` trained on ``sentences`` (split at spaces).

    The vocabulary holds the 4 :data:`SPECIALS` (ids 0..3), the characters, with and
    without the word-end mark (sorted), and the merged symbols in the order learned,
    ``vocab_size`` in all at most; a pair is merged only if it occurs at least
    ``min_frequency`` times. The same sentences give the same ids on every run.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix=SUFFIX))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.BPEDecoder(suffix=SUFFIX)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                  special_tokens=list(SPECIALS), end_of_word_suffix=SUFFIX,
                                  show_progress=False)
    tok.train_from_iterator(list(sentences), trainer)
    # The library numbers the word-end characters in hash order, which changes from run to
    # run; renumber: specials, the characters (sorted), then each merge's symbol in order.
    learned = merges(tok)
    made = [a + b for a, b in learned]
    chars = sorted(set(tok.get_vocab()) - set(SPECIALS) - set(made))
    vocab = {s: i for i, s in enumerate(dict.fromkeys([*SPECIALS, *chars, *made]))}
    tok.model = models.BPE(vocab=vocab, merges=learned, unk_token="<unk>",
                           end_of_word_suffix=SUFFIX)
    for i, s in enumerate(SPECIALS):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s))
    return tok


def load(path: str | Path) -> Any:
    """A tokenizer saved with ``tokenizer.save(path)``."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(path))


def merges(tokenizer: Any) -> list[tuple[str, str]]:
    """The merges of a BPE tokenizer, in the order they were learned."""
    raw = json.loads(tokenizer.to_str())["model"]["merges"]
    return [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in raw]


def pieces(tokenizer: Any, sentence: str) -> list[str]:
    """The subword symbols of a sentence, e.g. ``['die</w>', 'Garten', 'lampe</w>']``."""
    return tokenizer.encode(sentence).tokens


def encode(tokenizer: Any, sentences: Sequence[str]) -> list[list[int]]:
    """Token ids of each sentence (no ``<bos>``/``<eos>``: the batches add them)."""
    return [e.ids for e in tokenizer.encode_batch(list(sentences))]


def decode(tokenizer: Any, ids: Sequence[int]) -> str:
    """The sentence of some ids, up to the first ``<eos>``; ``<pad>``/``<bos>`` skipped."""
    keep = []
    for i in ids:
        i = int(i)
        if i == EOS:
            break
        if i not in (PAD, BOS):
            keep.append(i)
    return tokenizer.decode(keep, skip_special_tokens=False)


def readable(tokens: Sequence[str]) -> list[str]:
    """Symbols for people: a word's last piece without ``</w>``, the others marked ``@@`` as in
    Sennrich et al.'s code: ``['die</w>', 'Garten', 'lampe</w>']`` ->
    ``['die', 'Garten@@', 'lampe']``."""
    return [t[:-len(SUFFIX)] if t.endswith(SUFFIX) else t if t in SPECIALS else t + "@@"
            for t in tokens]
