"""rnncourse.data.vocab: word vocabularies with <pad>, <bos>, <eos>, <unk>."""

from collections import Counter

import numpy as np
import pytest

from rnncourse.data.text import BOS, EOS, PAD, tokenize
from rnncourse.data.vocab import SPECIALS, UNK, Vocab

TEXT = "the cat sat on the mat . the dog sat on the log . a cat ran"


def test_specials_take_the_first_ids_as_in_chapter_9():
    v = Vocab.build(TEXT.split())
    assert v.tokens[:4] == ("<pad>", "<bos>", "<eos>", "<unk>") == SPECIALS
    assert [v.tokens[i] for i in (PAD, BOS, EOS, UNK)] == list(SPECIALS)


def test_words_by_count_then_alphabetically_against_counter():
    words = TEXT.split()
    v = Vocab.build(words)
    counts = Counter(words)
    # by hand: the 4, sat/on/cat/. 2 each (alphabetical), then the singletons
    assert v.tokens[4:9] == ("the", ".", "cat", "on", "sat")
    assert set(v.tokens[4:]) == set(counts) and len(v) == 4 + len(counts)
    assert all(v.counts[i] == counts[w] for i, w in enumerate(v.tokens) if i >= 4)
    assert list(v.counts[4:]) == sorted(v.counts[4:], reverse=True)


@pytest.mark.parametrize("min_count", [1, 2, 3, 5])
def test_min_count_and_unknown_rate_against_counting_by_hand(min_count):
    words = tokenize("Every night I take my dog for a walk, and every night my dog "
                     "takes me for a walk in the night air.")
    held_out = tokenize("Every morning my cat takes a nap in the sun.")
    v = Vocab.build(words, min_count=min_count)
    kept = {w for w in words if words.count(w) >= min_count}
    assert set(v.tokens[4:]) == kept
    ids = v.encode(held_out)
    expected = [v.tokens.index(w) if w in kept else UNK for w in held_out]
    assert ids.tolist() == expected and ids.dtype == np.int64
    assert v.unknown_rate(held_out) == sum(w not in kept for w in held_out) / len(held_out)


def test_max_size_keeps_the_most_frequent():
    v = Vocab.build(TEXT.split(), max_size=6)
    assert v.tokens == SPECIALS + ("the", ".")
    assert v.encode(["cat", "the"]).tolist() == [UNK, 4]


def test_bos_eos_and_decode_round_trip():
    v = Vocab.build(TEXT.split())
    ids = v.encode("the cat flew".split(), bos=True, eos=True)
    assert ids[0] == BOS and ids[-1] == EOS and ids[3] == UNK
    assert v.decode(ids) == ["<bos>", "the", "cat", "<unk>", "<eos>"]
    assert v.decode([]) == []


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="got a str"):
        Vocab.build(TEXT)
    with pytest.raises(ValueError, match="min_count"):
        Vocab.build(TEXT.split(), min_count=0)
    with pytest.raises(ValueError, match="max_size"):
        Vocab.build(TEXT.split(), max_size=3)
    with pytest.raises(ValueError, match="special token"):
        Vocab.build(["a", "<unk>"])
    v = Vocab.build(TEXT.split())
    with pytest.raises(ValueError, match=r"ids must lie in \[0, "):
        v.decode([0, len(v)])
    with pytest.raises(ValueError, match="1-D"):
        v.decode([[1, 2]])
    with pytest.raises(TypeError, match="tokens must be str"):
        v.encode(["the", 3])
    with pytest.raises(ValueError, match="no tokens"):
        v.unknown_rate([])
