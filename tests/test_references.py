"""references.bib and the book's citations agree, and no work is named without a citation.

- every ``{cite:p}`` / ``{cite:t}`` key in the book exists in references.bib;
- every entry of references.bib is cited somewhere in the book (the bibliography page
  lists exactly the cited works, so an uncited entry would be dead weight), and no key
  is defined twice;
- a markdown cell (or a page of book/*.md) that names an author of the curated list
  below must cite, in that same cell, a work with that author, so that a new paragraph
  cannot name a paper without citing it.

The checkers are plain functions, tested on planted examples at the bottom.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pybtex.database import parse_file, parse_string

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "references.bib"
BOOK = ROOT / "book"

#: Authors whose name in the book's prose must come with a citation of one of their works.
#: (Surnames that are also common words, such as Le or Box, are left out.)
NAMED_AUTHORS = (
    "Hochreiter", "Schmidhuber", "Gers", "Cummins", "Cho", "Bahdanau", "Sutskever", "Vinyals",
    "Greff", "Jozefowicz", "Zaremba", "Luong", "Pascanu", "Mikolov", "Bengio", "Graves", "Sak",
    "Vaswani", "Karpathy", "Olah", "Géron", "Elman", "Jordan", "Werbos", "Williams", "Zipser",
    "Jenkins", "Schuster", "Paliwal", "Papineni", "Chung", "Weiss", "Hinton", "Kingma",
    "Duchi", "Goodfellow", "Saxe", "Ghahramani", "Oord", "Bai", "Wu",
    "Srivastava", "Gal", "Mozer", "Hihi", "Kneser", "Shannon", "Goodman",
    "Blelloch", "Hillis", "Cundy", "Jaeger", "Feng", "Peng", "Dao", "Courville",
    "Huszár", "Ranzato", "Holtzman", "Koehn", "Knowles",
    "Dieleman", "Kolter", "Koltun", "Waibel", "Sainath", "Lipton", "Smola", "Taieb", "Bontempi",
    "Sennrich", "Gage",
    "Inan", "Krueger",
)

_CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]*)`")
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)


def book_texts(book: Path = BOOK) -> list[tuple[str, str]]:
    """(where, text) of every markdown cell of book/*.ipynb and every book/*.md page."""
    texts = []
    for path in sorted(book.glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            if cell["cell_type"] == "markdown":
                texts.append((f"{path.name} cell {i}", "".join(cell["source"])))
    for path in sorted(book.glob("*.md")):
        texts.append((path.name, path.read_text(encoding="utf-8")))
    return texts


def cited_keys(text: str) -> list[str]:
    return [k.strip() for group in _CITE.findall(text) for k in group.split(",") if k.strip()]


def bib_keys(bib_text: str) -> list[str]:
    """Every key defined in a .bib text, in order, duplicates kept."""
    return re.findall(r"^\s*@\w+\s*\{\s*([^,\s]+)\s*,", bib_text, flags=re.M)


def authors_by_key(bib_text: str) -> dict[str, set[str]]:
    """Key -> the surnames of its authors (LaTeX accents decoded: G{\\'e}ron -> Géron)."""
    data = parse_string(bib_text, "bibtex")
    out = {}
    for key, entry in data.entries.items():
        names = set()
        for person in entry.persons.get("author", []):
            for part in person.rich_last_names:
                names.add(part.render_as("text"))
        out[key] = names
    return out


def uncited_names(texts: list[tuple[str, str]], authors: dict[str, set[str]],
                  named: tuple[str, ...] = NAMED_AUTHORS) -> list[str]:
    """Where a curated author is named in prose without a citation of one of their works."""
    problems = []
    for where, text in texts:
        prose = _CODE.sub(" ", text)        # code, inline code and cite roles removed
        cited = {a for k in cited_keys(text) for a in authors.get(k, ())}
        for name in named:
            if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", prose) and name not in cited:
                problems.append(f"{where}: names {name} but cites none of their works")
    return problems


def test_no_key_is_defined_twice() -> None:
    keys = bib_keys(BIB.read_text(encoding="utf-8"))
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    assert not dupes, f"references.bib defines these keys more than once: {dupes}"


def test_every_cited_key_exists() -> None:
    keys = set(bib_keys(BIB.read_text(encoding="utf-8")))
    missing = [f"{where}: {k}" for where, text in book_texts() for k in cited_keys(text)
               if k not in keys]
    assert not missing, f"cited but not in references.bib: {missing}"


def test_every_entry_is_cited() -> None:
    cited = {k for _, text in book_texts() for k in cited_keys(text)}
    uncited = sorted(set(bib_keys(BIB.read_text(encoding="utf-8"))) - cited)
    assert not uncited, f"in references.bib but cited nowhere in the book: {uncited}"


def test_every_entry_has_author_title_year() -> None:
    for key, entry in parse_file(BIB, "bibtex").entries.items():
        assert entry.persons.get("author"), f"{key}: no author"
        for field in ("title", "year"):
            assert entry.fields.get(field), f"{key}: no {field}"


def test_named_authors_are_cited_where_named() -> None:
    problems = uncited_names(book_texts(), authors_by_key(BIB.read_text(encoding="utf-8")))
    assert not problems, "\n".join(problems)


def test_the_bibliography_page_lists_the_whole_file() -> None:
    page = (BOOK / "references.md").read_text(encoding="utf-8")
    assert "```{bibliography}" in page
    assert "{nocite}" not in page and ":all:" not in page  # every entry is cited instead


# ---- the checkers themselves, on planted examples -------------------------------------

_PLANTED_BIB = r"""
@article{greff2017odyssey, author = {Greff, Klaus and Schmidhuber, J{\"u}rgen},
  title = {LSTM: A Search Space Odyssey}, journal = {TNNLS}, year = {2017}}
@book{geron2022handson, author = {G{\'e}ron, Aur{\'e}lien}, title = {Hands-On}, year = {2022},
  publisher = {O'Reilly}}
@misc{greff2017odyssey, author = {Someone, Else}, title = {Again}, year = {2017}}
"""


def test_checker_finds_a_named_but_uncited_work() -> None:
    authors = authors_by_key(_PLANTED_BIB.rsplit("@misc", 1)[0])
    texts = [("a", "Greff et al. (2017) compared eight variants."),
             ("b", "{cite:t}`greff2017odyssey` compared eight variants."),
             ("c", "As Géron writes, and {cite:p}`greff2017odyssey` too."),
             ("d", "In Géron's notation {cite:p}`geron2022handson`."),
             ("e", "Code only: `Greff = 1` and ```\nOlah\n``` are not prose."),
             ("f", "Olah's post explains it.")]
    found = uncited_names(texts, authors)
    assert found == ["a: names Greff but cites none of their works",
                     "c: names Géron but cites none of their works",
                     "f: names Olah but cites none of their works"]


def test_checker_reads_keys_and_duplicates() -> None:
    assert cited_keys("x {cite:p}`a, b` y {cite:t}`c` {cite}`d`") == ["a", "b", "c", "d"]
    keys = bib_keys(_PLANTED_BIB)
    assert keys == ["greff2017odyssey", "geron2022handson", "greff2017odyssey"]
    assert authors_by_key(_PLANTED_BIB.rsplit("@misc", 1)[0])["geron2022handson"] == {"Géron"}


def test_checker_reads_a_planted_notebook(tmp_path: Path) -> None:
    nb = {"cells": [{"cell_type": "markdown", "source": ["Sutskever et al. showed it."]},
                    {"cell_type": "code", "source": ["# Sutskever in a comment"]}]}
    (tmp_path / "x.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    (tmp_path / "p.md").write_text("{cite:p}`nokey`", encoding="utf-8")
    texts = book_texts(tmp_path)
    assert texts == [("x.ipynb cell 0", "Sutskever et al. showed it."), ("p.md", "{cite:p}`nokey`")]
    assert uncited_names(texts, {}) == ["x.ipynb cell 0: names Sutskever but cites none of "
                                        "their works"]


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(pytest.main([__file__, "-q"]))
