"""The course's own English → German sentence pairs, written by a small grammar (chapter 9).

A sentence is a main clause, perhaps opened by an adverb, perhaps negated, in the present or
the perfect, perhaps followed by a clause of reason::

    [adverb] subject verb object [, because subject verb object] .

Every noun phrase is a determiner (``the``, ``a``, a number ``two``..``five``, or none for a
bare plural), perhaps an adjective, and a noun from :data:`NOUNS` or a compound noun
(``kitchen door``) from :data:`MODIFIERS` and a head noun; the main clause's subject and
object may carry a relative clause (:class:`Relative`). German differs where a translator
must do more than look words up:

- **gender, case and agreement**: the article and the adjective's ending depend on the noun's
  gender, on the number and on the case (subject: nominative; object: accusative)::

      the big dog -> der große Hund      a big dog -> ein großer Hund
      sees the big dog -> sieht den großen Hund      sees a big dog -> sieht einen großen Hund

  (:func:`german_np`; definite articles take the *weak* adjective endings, ``ein``/``kein``
  the *mixed* ones, numbers and bare plurals the *strong* ones);
- **compounds**: ``the kitchen door`` (two English words) is ``die Küchentür`` (one German
  word, with the head's gender), the words BPE learns to split;
- **word order**: after an opening adverb the verb comes second (``today the dog sees ...`` ->
  ``heute sieht der Hund ...``); in the perfect the participle ends the main clause (``the dog
  has seen the cat`` -> ``der Hund hat die Katze gesehen``); in the clause of reason and in a
  relative clause every verb goes last (``because the dog has seen the cat`` -> ``weil der
  Hund die Katze gesehen hat``), so the last German words translate English words from the
  middle of the clause: attention must reorder;
- **relative clauses**: ``that`` becomes a pronoun with the gender and number of its noun and
  the case of its role, between commas, verb last: ``the dog that sees the cat`` -> ``der
  Hund , der die Katze sieht``, ``the dog that the cat sees`` -> ``der Hund , den die Katze
  sieht``; a relative clause on the subject separates it from the verb it agrees with.
  Relative clauses are generated only where the German is natural: on the main clause's
  subject, and on its object where the object ends the German clause;
- **negation**: ``does not see the cat`` -> ``sieht die Katze nicht`` (``nicht`` after a
  definite object), ``does not see a cat`` -> ``sieht keine Katze`` (``kein`` replaces
  ``ein``, and stands before bare plurals).

Both sides are lower case except German nouns, which German capitalises; words and
punctuation are separated by single spaces. The translations are correct by construction
(``tests/test_translation.py`` checks the rules on hand-written phrases). The semantics is
free: a lamp may well carry a teacher.

:func:`generate_pairs` draws distinct pairs from a seed; :func:`split_pairs` splits them into
training, validation and test sets, keeping the compounds of :data:`HELD_OUT_COMPOUNDS` out
of the training set (a model can only translate them by composing subwords). The shipped
corpus is ``book/data/ch09_translation/`` (``scripts/make_translation_data.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from rnncourse._args import as_rng

__all__ = [
    "Noun", "NOUNS", "MODIFIERS", "ADJECTIVES", "VERBS", "ADVERBS", "NUMBERS",
    "PARTICIPLES", "TENSES", "HELD_OUT_COMPOUNDS", "NP", "Relative", "Clause", "Sentence",
    "english_np", "german_np", "english", "german", "random_sentence", "generate_pairs",
    "split_pairs", "read_pairs", "write_pairs", "batches",
]


@dataclass(frozen=True)
class Noun:
    """An English noun and its German translation: singular, plural, gender ``m``/``f``/``n``."""

    en: str
    en_pl: str
    de: str
    de_pl: str
    gender: str
    animate: bool = False


NOUNS: dict[str, Noun] = {n.en: n for n in [
    Noun("dog", "dogs", "Hund", "Hunde", "m", True),
    Noun("man", "men", "Mann", "Männer", "m", True),
    Noun("teacher", "teachers", "Lehrer", "Lehrer", "m", True),
    Noun("bird", "birds", "Vogel", "Vögel", "m", True),
    Noun("apple", "apples", "Apfel", "Äpfel", "m"),
    Noun("letter", "letters", "Brief", "Briefe", "m"),
    Noun("key", "keys", "Schlüssel", "Schlüssel", "m"),
    Noun("table", "tables", "Tisch", "Tische", "m"),
    Noun("cat", "cats", "Katze", "Katzen", "f", True),
    Noun("woman", "women", "Frau", "Frauen", "f", True),
    Noun("door", "doors", "Tür", "Türen", "f"),
    Noun("lamp", "lamps", "Lampe", "Lampen", "f"),
    Noun("bag", "bags", "Tasche", "Taschen", "f"),
    Noun("flower", "flowers", "Blume", "Blumen", "f"),
    Noun("child", "children", "Kind", "Kinder", "n", True),
    Noun("girl", "girls", "Mädchen", "Mädchen", "n", True),
    Noun("book", "books", "Buch", "Bücher", "n"),
    Noun("car", "cars", "Auto", "Autos", "n"),
    Noun("house", "houses", "Haus", "Häuser", "n"),
    Noun("picture", "pictures", "Bild", "Bilder", "n"),
]}

#: The first part of a compound: English word -> German first part (with its linking ``s``).
MODIFIERS: dict[str, str] = {
    "kitchen": "Küchen", "school": "Schul", "garden": "Garten", "birthday": "Geburtstags",
    "window": "Fenster",
}
#: The nouns that head a compound (``kitchen door``, ``birthday letter``): the inanimate ones.
HEADS = tuple(n.en for n in NOUNS.values() if not n.animate)
#: Compounds that occur only in the validation and test sets (see :func:`split_pairs`).
HELD_OUT_COMPOUNDS = (("garden", "lamp"), ("school", "book"), ("kitchen", "key"),
                      ("birthday", "picture"))

#: English adjective -> German stem (the ending is added by agreement).
ADJECTIVES: dict[str, str] = {
    "big": "groß", "small": "klein", "old": "alt", "new": "neu", "red": "rot",
    "young": "jung", "black": "schwarz", "green": "grün",
}
#: English verb (he, they, infinitive) and German verb (er, sie): transitive, accusative object.
VERBS: dict[str, tuple[str, str, str, str]] = {
    "see": ("sees", "see", "sieht", "sehen"),
    "like": ("likes", "like", "mag", "mögen"),
    "find": ("finds", "find", "findet", "finden"),
    "buy": ("buys", "buy", "kauft", "kaufen"),
    "have": ("has", "have", "hat", "haben"),
    "draw": ("draws", "draw", "zeichnet", "zeichnen"),
    "carry": ("carries", "carry", "trägt", "tragen"),
    "hold": ("holds", "hold", "hält", "halten"),
}
#: English and German past participles (the perfect: ``has seen`` -> ``hat ... gesehen``;
#: every verb of :data:`VERBS` forms it with ``haben``).
PARTICIPLES: dict[str, tuple[str, str]] = {
    "see": ("seen", "gesehen"), "like": ("liked", "gemocht"), "find": ("found", "gefunden"),
    "buy": ("bought", "gekauft"), "have": ("had", "gehabt"), "draw": ("drawn", "gezeichnet"),
    "carry": ("carried", "getragen"), "hold": ("held", "gehalten"),
}
TENSES = ("present", "perfect")
ADVERBS: dict[str, str] = {"today": "heute", "now": "jetzt", "often": "oft"}
NUMBERS: dict[str, str] = {"two": "zwei", "three": "drei", "four": "vier", "five": "fünf"}

DETERMINERS = ("the", "a", "number", "bare")

# German articles by determiner, case and gender (p: plural)
_ARTICLE = {
    ("the", "nom"): dict(m="der", f="die", n="das", p="die"),
    ("the", "acc"): dict(m="den", f="die", n="das", p="die"),
    ("a", "nom"): dict(m="ein", f="eine", n="ein"),
    ("a", "acc"): dict(m="einen", f="eine", n="ein"),
    ("kein", "nom"): dict(m="kein", f="keine", n="kein", p="keine"),
    ("kein", "acc"): dict(m="keinen", f="keine", n="kein", p="keine"),
}
# relative pronouns by case and the antecedent's gender (p: plural)
_RELATIVE = {"nom": dict(m="der", f="die", n="das", p="die"),
             "acc": dict(m="den", f="die", n="das", p="die")}
# adjective endings: weak (after der/die/das), mixed (after ein/kein), strong (no article)
_WEAK = {"nom": dict(m="e", f="e", n="e", p="en"), "acc": dict(m="en", f="e", n="e", p="en")}
_MIXED = {"nom": dict(m="er", f="e", n="es", p="en"), "acc": dict(m="en", f="e", n="es", p="en")}
_STRONG = {"nom": dict(p="e"), "acc": dict(p="e")}


def _check_verb(verb: str, tense: str) -> None:
    if verb not in VERBS:
        raise ValueError(f"unknown verb {verb!r}")
    if tense not in TENSES:
        raise ValueError(f"tense must be one of {TENSES}, got {tense!r}")


@dataclass(frozen=True)
class Relative:
    """A relative clause on a noun phrase (its *antecedent*), introduced by ``that``.

    ``role="subject"``: the antecedent is the relative clause's subject and ``other`` its
    object (``the dog that sees the cat``); ``role="object"``: the antecedent is the object
    and ``other`` the subject (``the dog that the cat sees``). ``verb``: a key of
    :data:`VERBS`; ``other`` may not have a relative clause of its own.
    """

    role: str
    verb: str
    other: NP
    negated: bool = False
    tense: str = "present"

    def __post_init__(self) -> None:
        if self.role not in ("subject", "object"):
            raise ValueError(f"role must be 'subject' or 'object', got {self.role!r}")
        _check_verb(self.verb, self.tense)
        if self.other.rel is not None:
            raise ValueError("a relative clause inside a relative clause is not generated")


@dataclass(frozen=True)
class NP:
    """A noun phrase: ``det`` is ``"the"``, ``"a"``, a number word (``"two"``) or ``"bare"``
    (a plural with no article); ``plural`` is implied by numbers and ``"bare"``.
    ``modifier`` makes a compound (``kitchen`` + ``door``); ``rel`` adds a relative clause."""

    noun: str
    det: str = "the"
    adj: str | None = None
    plural: bool = False
    modifier: str | None = None
    rel: Relative | None = None

    def __post_init__(self) -> None:
        if self.noun not in NOUNS:
            raise ValueError(f"unknown noun {self.noun!r}")
        if self.det not in ("the", "a", "bare") and self.det not in NUMBERS:
            raise ValueError(f"det must be 'the', 'a', 'bare' or a number word, got {self.det!r}")
        if self.det == "a" and self.plural:
            raise ValueError("'a' takes a singular noun")
        if (self.det in NUMBERS or self.det == "bare") and not self.plural:
            raise ValueError(f"{self.det!r} takes a plural noun (plural=True)")
        if self.adj is not None and self.adj not in ADJECTIVES:
            raise ValueError(f"unknown adjective {self.adj!r}")
        if self.modifier is not None and (self.modifier not in MODIFIERS
                                          or self.noun not in HEADS):
            raise ValueError(f"no compound {self.modifier!r} + {self.noun!r}")


@dataclass(frozen=True)
class Clause:
    """``subject verb object``, negated or not, in the present (``sees``) or the perfect
    (``has seen``); ``verb``: a key of :data:`VERBS`."""

    subject: NP
    verb: str
    object: NP
    negated: bool = False
    tense: str = "present"

    def __post_init__(self) -> None:
        _check_verb(self.verb, self.tense)


@dataclass(frozen=True)
class Sentence:
    """A main clause, an optional opening adverb, an optional clause of reason (``because``).

    Relative clauses are written on the main clause's subject, and on its object where the
    object ends the German clause (present tense, and no ``nicht`` after it); not in the
    clause of reason."""

    main: Clause
    adverb: str | None = None
    reason: Clause | None = None

    def __post_init__(self) -> None:
        if self.reason and (self.reason.subject.rel or self.reason.object.rel):
            raise ValueError("a relative clause in the clause of reason is not generated")
        m = self.main
        if m.object.rel and not _object_ends_clause(m):
            raise ValueError("a relative clause on an object that does not end the German "
                             "clause is not generated")


def english_np(np_: NP) -> list[str]:
    """The English words of a noun phrase: ``NP("door", "a", "red", modifier="kitchen")`` ->
    ``["a", "red", "kitchen", "door"]``; a relative clause follows the noun (``the dog that
    sees the cat``)."""
    noun = NOUNS[np_.noun]
    words = [] if np_.det == "bare" else [np_.det]
    if np_.det == "a" and (np_.adj or np_.modifier or noun.en)[0] in "aeiou":
        words = ["an"]
    if np_.adj:
        words.append(np_.adj)
    if np_.modifier:
        words.append(np_.modifier)
    words.append(noun.en_pl if np_.plural else noun.en)
    if np_.rel:
        r = np_.rel
        if r.role == "subject":
            words += ["that"] + _english_verb(r.verb, np_.plural, r.negated, r.tense)
            words += english_np(r.other)
        else:
            words += ["that"] + english_np(r.other)
            words += _english_verb(r.verb, r.other.plural, r.negated, r.tense)
    return words


def german_np(np_: NP, case: str, negated: bool = False) -> list[str]:
    """The German words of a noun phrase in ``case`` (``"nom"`` or ``"acc"``).

    ``negated=True`` (an object of a negated verb, indefinite or bare): ``kein`` replaces
    ``ein`` and stands before a bare plural, with the mixed adjective endings. A relative
    clause follows the noun between commas, its pronoun agreeing with the noun in gender and
    number and taking the case of its role in the relative clause, its verb last
    (``den Hund , der die Katze sieht ,``); :func:`german` drops a comma that meets another
    comma or the full stop.
    """
    if case not in ("nom", "acc"):
        raise ValueError(f"case must be 'nom' or 'acc', got {case!r}")
    noun = NOUNS[np_.noun]
    g = "p" if np_.plural else noun.gender
    det = np_.det
    if negated and det in ("a", "bare"):
        det = "kein"
    if negated and det in NUMBERS:
        raise ValueError("a negated number phrase is not generated")
    words: list[str] = []
    if det in ("the", "a", "kein"):
        words.append(_ARTICLE[(det, case)][g])
        endings = _WEAK if det == "the" else _MIXED
    else:  # a number or a bare plural: no article, strong endings
        if det in NUMBERS:
            words.append(NUMBERS[det])
        endings = _STRONG
    if np_.adj:
        words.append(ADJECTIVES[np_.adj] + endings[case][g])
    word = noun.de_pl if np_.plural else noun.de
    if np_.modifier:
        word = MODIFIERS[np_.modifier] + word.lower()
    words.append(word)
    if np_.rel:
        r = np_.rel
        if r.role == "subject":  # the antecedent is the subject: nominative pronoun
            clause = Clause(replace(np_, rel=None), r.verb, r.other, r.negated, r.tense)
            _, _, rest, verbs = _german_parts(clause)
            words += [",", _RELATIVE["nom"][g]] + rest + verbs[::-1] + [","]
        else:  # the antecedent is the (definite) object: accusative pronoun, nicht
            verbs = _german_verbs(r.verb, r.other.plural, r.tense)
            words += [",", _RELATIVE["acc"][g]] + german_np(r.other, "nom")
            words += (["nicht"] if r.negated else []) + verbs[::-1] + [","]
    return words


def _indefinite(np_: NP) -> bool:
    return np_.det in ("a", "bare")


def _object_ends_clause(c: Clause) -> bool:
    """Whether the German main clause ends with its object: not in the perfect (the
    participle comes last) and not after ``nicht`` (a definite negated object is followed by
    ``nicht``; an indefinite one takes ``kein`` instead)."""
    return c.tense == "present" and not (c.negated and not _indefinite(c.object))


def _english_verb(verb: str, plural: bool, negated: bool, tense: str) -> list[str]:
    """``sees``, ``do not see``, ``has seen``, ``have not seen``..."""
    he, they, _, _ = VERBS[verb]
    if tense == "perfect":
        return ["have" if plural else "has"] + (["not"] if negated else []) + [
            PARTICIPLES[verb][0]]
    if negated:
        return ["do" if plural else "does", "not", verb]
    return [they if plural else he]


def _german_verbs(verb: str, plural: bool, tense: str) -> list[str]:
    """The finite verb, then the participle in the perfect: ``[sieht]``, ``[hat, gesehen]``."""
    _, _, er, sie = VERBS[verb]
    if tense == "perfect":
        return ["haben" if plural else "hat", PARTICIPLES[verb][1]]
    return [sie if plural else er]


def _english_clause(c: Clause) -> list[str]:
    return (english_np(c.subject)
            + _english_verb(c.verb, c.subject.plural, c.negated, c.tense)
            + english_np(c.object))


def _german_parts(c: Clause) -> tuple[list[str], str, list[str], list[str]]:
    """Subject, finite verb, the middle (object with its negation) and the verb forms
    (finite verb, then the participle if any) of a clause."""
    verbs = _german_verbs(c.verb, c.subject.plural, c.tense)
    if c.negated and _indefinite(c.object):
        rest = german_np(c.object, "acc", negated=True)
    else:
        rest = german_np(c.object, "acc") + (["nicht"] if c.negated else [])
    return german_np(c.subject, "nom"), verbs[0], rest, verbs


def _tidy_commas(words: list[str]) -> list[str]:
    """Drop a comma that is followed by another comma or by the full stop."""
    return [w for w, nxt in zip(words, words[1:] + [""], strict=True)
            if not (w == "," and nxt in (",", "."))]


def english(s: Sentence) -> str:
    """The English sentence, words and punctuation separated by spaces."""
    words = ([s.adverb] if s.adverb else []) + _english_clause(s.main)
    if s.reason:
        words += [",", "because"] + _english_clause(s.reason)
    return " ".join(words + ["."])


def german(s: Sentence) -> str:
    """The German sentence: the finite verb second in the main clause and the participle at
    its end (``hat ... gesehen``); every verb last after ``weil`` and in a relative clause
    (``... gesehen hat``)."""
    subj, finite, rest, verbs = _german_parts(s.main)
    if s.adverb:
        words = [ADVERBS[s.adverb], finite] + subj + rest + verbs[1:]
    else:
        words = subj + [finite] + rest + verbs[1:]
    if s.reason:
        subj, _, rest, verbs = _german_parts(s.reason)
        words += [",", "weil"] + subj + rest + verbs[::-1]
    return " ".join(_tidy_commas(words + ["."]))


def _random_np(rng: np.random.Generator, *, subject: bool, negated: bool = False) -> NP:
    names = [n.en for n in NOUNS.values() if n.animate or not subject]
    noun = names[rng.integers(len(names))]
    modifier = None
    if not subject and noun in HEADS and rng.random() < 0.3:
        modifier = list(MODIFIERS)[rng.integers(len(MODIFIERS))]
    dets = ["the", "the", "a", "number", "bare"]
    det = dets[rng.integers(len(dets))]
    if negated and det == "number":
        det = "a"
    plural = det in ("number", "bare") or (det == "the" and rng.random() < 0.3)
    if det == "number":
        det = list(NUMBERS)[rng.integers(len(NUMBERS))]
    adj = list(ADJECTIVES)[rng.integers(len(ADJECTIVES))] if rng.random() < 0.4 else None
    return NP(noun, det, adj, plural, modifier)


def _random_tense(rng: np.random.Generator) -> str:
    return "perfect" if rng.random() < 0.3 else "present"


def _random_clause(rng: np.random.Generator) -> Clause:
    negated = bool(rng.random() < 0.25)
    return Clause(_random_np(rng, subject=True), list(VERBS)[rng.integers(len(VERBS))],
                  _random_np(rng, subject=False, negated=negated), negated,
                  _random_tense(rng))


def _random_relative(rng: np.random.Generator, antecedent: NP) -> NP:
    """``antecedent`` with a relative clause: the antecedent its subject or its object."""
    verb = list(VERBS)[rng.integers(len(VERBS))]
    negated = bool(rng.random() < 0.2)
    tense = _random_tense(rng)
    if antecedent.noun in HEADS or rng.random() < 0.5:  # a thing sees nothing: its object
        rel = Relative("object", verb, _random_np(rng, subject=True), negated, tense)
    else:
        rel = Relative("subject", verb, _random_np(rng, subject=False, negated=negated),
                       negated, tense)
    return replace(antecedent, rel=rel)


def random_sentence(rng: np.random.Generator | int) -> Sentence:
    """One sentence: an adverb with probability 0.2, a clause of reason with probability 0.35,
    a relative clause on the main clause's subject with probability 0.3 and on its object
    (where the German object ends the clause) with probability 0.3; every clause is in the
    perfect with probability 0.3 and negated with probability 0.25 (0.2 in a relative
    clause)."""
    rng = as_rng(rng, name="rng")
    main = _random_clause(rng)
    if rng.random() < 0.3:
        main = replace(main, subject=_random_relative(rng, main.subject))
    if _object_ends_clause(main) and rng.random() < 0.3:
        main = replace(main, object=_random_relative(rng, main.object))
    adverb = list(ADVERBS)[rng.integers(len(ADVERBS))] if rng.random() < 0.2 else None
    reason = _random_clause(rng) if rng.random() < 0.35 else None
    return Sentence(main, adverb, reason)


def _noun_phrases(s: Sentence) -> list[NP]:
    clauses = [s.main] + ([s.reason] if s.reason else [])
    nps = [np_ for c in clauses for np_ in (c.subject, c.object)]
    return nps + [np_.rel.other for np_ in nps if np_.rel]


def _compounds(s: Sentence) -> set[tuple[str, str]]:
    return {(np_.modifier, np_.noun) for np_ in _noun_phrases(s) if np_.modifier}


def generate_pairs(n: int, rng: np.random.Generator | int) -> list[tuple[str, str, bool]]:
    """``n`` distinct pairs ``(english, german, held_out)`` from :func:`random_sentence`;
    ``held_out``: the sentence contains a compound of :data:`HELD_OUT_COMPOUNDS`."""
    rng = as_rng(rng, name="rng")
    seen: set[str] = set()
    out = []
    while len(out) < n:
        s = random_sentence(rng)
        en = english(s)
        if en in seen:
            continue
        seen.add(en)
        out.append((en, german(s), bool(_compounds(s) & set(HELD_OUT_COMPOUNDS))))
    return out


def split_pairs(pairs: Sequence[tuple[str, str, bool]], n_valid: int, n_test: int,
                rng: np.random.Generator | int
                ) -> dict[str, list[tuple[str, str]]]:
    """Shuffle and split into ``train``, ``valid`` and ``test``: the held-out pairs are dealt
    alternately to test and validation first, then the rest fill them up; the remainder is
    the training set (which therefore never contains a held-out compound)."""
    rng = as_rng(rng, name="rng")
    order = rng.permutation(len(pairs))
    held = [(pairs[i][0], pairs[i][1]) for i in order if pairs[i][2]]
    rest = [(pairs[i][0], pairs[i][1]) for i in order if not pairs[i][2]]
    test, valid = held[0::2], held[1::2]
    if len(test) > n_test or len(valid) > n_valid:
        raise ValueError(f"{len(held)} held-out pairs do not fit in {n_valid} + {n_test}")
    k = n_test - len(test)
    test = test + rest[:k]
    rest = rest[k:]
    k = n_valid - len(valid)
    valid = valid + rest[:k]
    return {"train": rest[k:], "valid": valid, "test": test}


def write_pairs(path: str | Path, pairs: Sequence[tuple[str, str]]) -> None:
    """One pair per line, ``english<TAB>german``, UTF-8."""
    Path(path).write_text("".join(f"{en}\t{de}\n" for en, de in pairs), encoding="utf-8")


def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """The pairs written by :func:`write_pairs`."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        en, de = line.split("\t")
        out.append((en, de))
    return out


def batches(src: Sequence[Sequence[int]], tgt: Sequence[Sequence[int]], batch_size: int,
            rng: np.random.Generator | int | None = None) -> list:
    """Padded batches ``((src (N, S), lengths (N,), tgt_in (N, T)), tgt_out (N, T))`` of
    token ids, for :func:`rnncourse.models.train.fit` and :mod:`rnncourse.models.seq2seq`:
    ``tgt_in = <bos> y``, ``tgt_out = y <eos>``, padded with ``<pad>``. In the given order,
    or shuffled by ``rng``."""
    import torch

    from rnncourse.data.text import BOS, EOS, PAD

    if len(src) != len(tgt):
        raise ValueError(f"need as many sources as targets, got {len(src)} and {len(tgt)}")
    order = np.arange(len(src)) if rng is None else as_rng(rng, name="rng").permutation(len(src))
    out = []
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        S = max(len(src[i]) for i in idx)
        T = max(len(tgt[i]) for i in idx) + 1
        s = torch.full((len(idx), S), PAD, dtype=torch.long)
        t_in = torch.full((len(idx), T), PAD, dtype=torch.long)
        t_out = torch.full((len(idx), T), PAD, dtype=torch.long)
        for row, i in enumerate(idx):
            x, y = list(src[i]), list(tgt[i])
            s[row, :len(x)] = torch.tensor(x, dtype=torch.long)
            t_in[row, :len(y) + 1] = torch.tensor([BOS] + y, dtype=torch.long)
            t_out[row, :len(y) + 1] = torch.tensor(y + [EOS], dtype=torch.long)
        lengths = torch.tensor([len(src[i]) for i in idx], dtype=torch.long)
        out.append(((s, lengths, t_in), t_out))
    return out
