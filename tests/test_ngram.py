"""rnncourse.models.ngram.KneserNey against probabilities derived by hand, and its normalisation.

The hand-derived case: the text "abab", vocabulary "abc", order 2, discount 1/2.

- Order 1 uses continuation counts: the distinct bigrams are "ab" and "ba", so 'a' and 'b'
  each follow one distinct character: c1 = {a: 1, b: 1}, total 2, two types.
  P1(a) = P1(b) = (1 - 1/2)/2 + (1/2 * 2/2) * 1/3 = 1/4 + 1/6 = 5/12;  P1(c) = 1/6.
- Order 2 uses raw counts: after 'a', b twice; after 'b', a once.
  P2(b|a) = (2 - 1/2)/2 + (1/2 * 1/2) * 5/12 = 3/4 + 5/48 = 41/48,
  P2(a|a) = 1/4 * 5/12 = 5/48, P2(c|a) = 1/4 * 1/6 = 2/48;
  P2(a|b) = (1 - 1/2)/1 + (1/2 * 1/1) * 5/12 = 17/24, P2(b|b) = 5/24, P2(c|b) = 1/12;
  after 'c' (never seen as a context): P1.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnncourse.models.ngram import KneserNey, bits_per_char_by_order


@pytest.fixture
def abab() -> KneserNey:
    return KneserNey(2, "abc", discount=0.5).fit("abab")


def test_hand_derived_probabilities(abab):
    expected = {"a": [5 / 48, 41 / 48, 2 / 48], "b": [17 / 24, 5 / 24, 1 / 12],
                "c": [5 / 12, 5 / 12, 2 / 12]}
    for context, probs in expected.items():
        np.testing.assert_allclose(abab.distribution(context), probs, rtol=1e-12)
        for w, p in zip("abc", probs, strict=True):
            assert abab.prob(context, w) == pytest.approx(p, rel=1e-12)
    # an empty context (the start of a text) uses order 1 alone
    np.testing.assert_allclose(abab.distribution(""), [5 / 12, 5 / 12, 2 / 12], rtol=1e-12)


def test_hand_derived_bits_per_char(abab):
    # "abc": 'a' from order 1, then b|a, then c|b
    bits = -(math.log2(5 / 12) + math.log2(41 / 48) + math.log2(1 / 12)) / 3
    assert abab.bits_per_char("abc") == pytest.approx(bits, rel=1e-12)
    np.testing.assert_allclose(abab.logprobs("ca", history="b"),
                               [math.log2(1 / 12), math.log2(5 / 12)], rtol=1e-12)


def test_ney_discounts_by_hand():
    # raw bigram counts of "abab": ab 2, ba 1 -> n1 = 1, n2 = 1 -> D2 = 1/3;
    # continuation unigram counts a 1, b 1 -> n1 = 2, n2 = 0 -> D1 = 2/2 = 1
    assert KneserNey(2, "abc").fit("abab").discounts == pytest.approx([1.0, 1 / 3])
    # order 1 on "aab": raw counts a 2, b 1 -> D = 1 / (1 + 2) ; P(a) = (2 - 1/3)/3 + ...
    m = KneserNey(1, "abc").fit("aab")
    assert m.discounts == pytest.approx([1 / 3])
    d = 1 / 3
    assert m.prob("", "a") == pytest.approx((2 - d) / 3 + d * 2 / 3 / 3)
    assert m.prob("", "c") == pytest.approx(d * 2 / 3 / 3)


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_every_distribution_sums_to_one_and_matches_prob(order):
    rng = np.random.default_rng(order)
    vocab = "abcdefgh "
    text = "".join(rng.choice(list(vocab[:6]), size=400, p=[.3, .2, .2, .1, .1, .1]))
    model = KneserNey(order, vocab).fit(text)
    contexts = [text[i:i + order - 1] for i in range(0, 300, 7)]       # seen
    contexts += ["hhhh"[:order - 1], "g h "[:order - 1], "", "a"]       # unseen, short
    for context in contexts:
        p = model.distribution(context)
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
        assert (p > 0).all()                     # even 'g', 'h' and ' ', never seen
        for j, w in enumerate(vocab):
            assert model.prob(context, w) == pytest.approx(p[j], rel=1e-12)


def test_higher_orders_learn_a_repeating_pattern():
    text = "the cat sat. " * 40
    held_out = "the cat sat. " * 3
    bpc = bits_per_char_by_order(text, [held_out], "thecasrx. ", [1, 2, 4])
    assert bpc[1][0] > 2.0                                # character frequencies only
    assert bpc[4][0] < 0.5 * bpc[2][0] < bpc[1][0]        # context pins the next character
    assert KneserNey(4, "thecasrx. ").fit(text).prob("cat", " ") > 0.9


def test_sample_is_seeded_in_the_vocabulary_and_greedy_when_cold(abab):
    s = abab.sample(50, "a", seed=3)
    assert len(s) == 50 and set(s) <= set("abc")
    assert s == abab.sample(50, "a", seed=3)
    assert abab.sample(6, "a", temperature=1e-3, seed=9) == "bababa"   # the argmax each time


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="order"):
        KneserNey(0, "ab")
    with pytest.raises(ValueError, match="distinct"):
        KneserNey(2, "aab")
    with pytest.raises(ValueError, match="discount"):
        KneserNey(2, "ab", discount=1.5)
    with pytest.raises(RuntimeError, match="fit"):
        KneserNey(2, "ab").prob("a", "b")
    with pytest.raises(ValueError, match=r"outside the vocabulary: \['z'\]"):
        KneserNey(2, "ab").fit("abz")
    with pytest.raises(ValueError, match="temperature"):
        KneserNey(1, "ab").fit("ab").sample(3, temperature=0)


def test_the_baseline_quoted_where_chapter_4_introduces_language_models():
    # ch04_training quotes ch04_text's order-8 n-gram before any network is trained on
    # the corpus; the numbers are counts and logarithms, so they hold on every machine
    import json
    from pathlib import Path

    from rnncourse.data.corpus import book_corpus
    corpus = book_corpus()
    bpc = KneserNey(8, corpus.vocab.chars).fit(corpus.train).bits_per_char(corpus.validation)
    page = json.loads((Path(__file__).resolve().parents[1] / "book" / "ch04_training.ipynb")
                      .read_text())
    text = " ".join("".join(c["source"]) for c in page["cells"] if c["cell_type"] == "markdown")
    text = " ".join(text.split())
    assert f"give {bpc:.3f} bits per character on the validation text" in text
    uniform = (f"against {np.log2(len(corpus.vocab.chars)):.3f} for a uniform guess over its "
               f"{len(corpus.vocab.chars)} characters")
    assert uniform in text
