"""Every figure of the book is a numbered figure with a caption and real alt text.

A figure is a code cell of ``book/*.ipynb`` whose outputs hold an ``image/png``. MyST-NB
wraps such an output in a ``<figure>`` when the cell's metadata says how:

    "mystnb": {"figure": {"caption": "...", "name": "fig-ch05-..."},
               "image": {"alt": "..."}}

The notebook checks read the metadata. The site checks read the built pages
(``_build/html``, skipped when the book has not been built; ``make test`` builds it
first): every figure sits in a ``<figure>`` numbered "Fig. N.k" (N the chapter's number,
k counting from 1 in page order) whose ``<img>`` carries the notebook's alt text, every
chapter's title carries its number, and no image anywhere in a chapter has an alt text
that is a file path or empty.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
HTML = ROOT / "_build" / "html" / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
CHAPTERS = sorted(BOOK.glob("ch[0-9][0-9]_*.ipynb"))
# What an alt text must not look like: a file or a path (Sphinx's default alt is the
# image's path, e.g. "../_images/d5161….png").
PATH_LIKE = re.compile(r"\.(png|jpe?g|svg|gif)\b|/|\\|_images|^[0-9a-f]{16,}", re.IGNORECASE)
NAME = re.compile(r"^fig-ch(\d\d)-[a-z0-9]+(-[a-z0-9]+)*$")
MIN_ALT_WORDS = 12  # enough to say what is drawn, along which axes, with which trend
MIN_CAPTION_WORDS = 6


def _figure_cells(path: Path) -> list[tuple[int, dict]]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(i, c) for i, c in enumerate(cells) if c["cell_type"] == "code"
            and any("image/png" in o.get("data", {}) for o in c.get("outputs", []))]


def _all_figures() -> list[tuple[Path, int, dict]]:
    return [(p, i, c) for p in NOTEBOOKS for i, c in _figure_cells(p)]


def _mystnb(cell: dict) -> tuple[dict, dict]:
    meta = cell["metadata"].get("mystnb", {})
    return meta.get("figure", {}), meta.get("image", {})


def test_the_book_has_figures() -> None:
    # A guard for the tests below: they must not pass vacuously.
    assert len(_all_figures()) >= 40


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_has_a_caption_a_name_and_alt_text(path: Path) -> None:
    problems = []
    for i, cell in _figure_cells(path):
        figure, image = _mystnb(cell)
        where = f"{path.name} cell {i}"
        caption = str(figure.get("caption", "")).strip()
        alt = str(image.get("alt", "")).strip()
        name = str(figure.get("name", ""))
        if len(caption.split()) < MIN_CAPTION_WORDS:
            problems.append(f"{where}: caption missing or too short: {caption!r}")
        if len(alt.split()) < MIN_ALT_WORDS:
            problems.append(f"{where}: alt text missing or too short: {alt!r}")
        if PATH_LIKE.search(alt):
            problems.append(f"{where}: alt text looks like a file path: {alt!r}")
        if "$" in alt or "\\" in alt:
            problems.append(f"{where}: alt text holds TeX, which a screen reader spells out")
        if alt and alt == caption:
            problems.append(f"{where}: alt text repeats the caption; say what is drawn")
        m = NAME.match(name)
        if not m or m.group(1) != path.stem[2:4]:
            problems.append(f"{where}: name {name!r} is not fig-ch{path.stem[2:4]}-<words>")
    assert not problems, "\n".join(problems)


def test_figure_names_are_unique() -> None:
    names = [_mystnb(c)[0].get("name") for _, _, c in _all_figures()]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


# ----------------------------------------------------------------------- the built site


class _Page(HTMLParser):
    """The figures (id, alt texts of their images, caption text) and the images of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.figures: list[dict] = []
        self.images: list[str | None] = []   # alt of every <img> in the article
        self.titles: list[str] = []           # text of every <h1>
        self._figure: dict | None = None
        self._caption = False
        self._h1: list[str] | None = None
        self._article = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "article":
            self._article += 1
        elif tag == "figure":
            self._figure = {"id": a.get("id"), "alts": [], "caption": ""}
        elif tag == "figcaption":
            self._caption = True
        elif tag == "h1":
            self._h1 = []
        elif tag == "img" and self._article:
            self.images.append(a.get("alt"))
            if self._figure is not None:
                self._figure["alts"].append(a.get("alt"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self._article -= 1
        elif tag == "figure" and self._figure is not None:
            self.figures.append(self._figure)
            self._figure = None
        elif tag == "figcaption":
            self._caption = False
        elif tag == "h1" and self._h1 is not None:
            self.titles.append(" ".join("".join(self._h1).split()))
            self._h1 = None

    def handle_data(self, data: str) -> None:
        if self._caption and self._figure is not None:
            self._figure["caption"] += data
        if self._h1 is not None:
            self._h1.append(data)


def _page(notebook: Path) -> _Page:
    page_path = HTML / f"{notebook.stem}.html"
    if not page_path.exists():
        pytest.skip("the book is not built (make book)")
    parser = _Page()
    parser.feed(page_path.read_text(encoding="utf-8"))
    return parser


def _figures_before(path: Path) -> int:
    """How many figures of the same chapter Sphinx numbers before ``path``'s: 0 for a
    chapter's own page; for a page listed under ``sections:`` of a chapter in _toc.yml,
    the chapter page's figures and those of the sections before it (the sections' toctree
    follows the chapter page's text, and a chapter's figures are numbered across it)."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            sections = [s["file"] for s in chapter.get("sections", [])]
            page = f"book/{path.stem}"
            if page in sections:
                before = [chapter["file"], *sections[:sections.index(page)]]
                return sum(len(_figure_cells(ROOT / f"{f}.ipynb")) for f in before)
    return 0


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_built_chapter_numbers_its_figures_and_keeps_their_alt_text(path: Path) -> None:
    page = _page(path)
    chapter = int(path.stem[2:4])
    expected = [(_mystnb(c)[0]["name"], html.unescape(_mystnb(c)[1]["alt"]))
                for _, c in _figure_cells(path)]
    figures = [f for f in page.figures if f["id"] and f["id"].startswith("fig-")]
    assert [f["id"] for f in figures] == [name for name, _ in expected]
    first = _figures_before(path) + 1
    for k, (figure, (_, alt)) in enumerate(zip(figures, expected, strict=True), start=first):
        assert figure["alts"] == [alt], figure["id"]
        caption = " ".join(figure["caption"].split())
        assert caption.startswith(f"Fig. {chapter}.{k} "), (figure["id"], caption[:60])
    # the chapter's title carries its number, e.g. "5. Vanishing and exploding gradients";
    # a section page's title its section's, e.g. "10.5. A character-level language model"
    number = f"{chapter}. " if first == 1 else f"{chapter}."
    assert any(t.startswith(number) for t in page.titles), page.titles


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_built_page_has_no_image_with_a_path_or_empty_alt(path: Path) -> None:
    page = _page(path)
    bad = [alt for alt in page.images if not alt or not alt.strip() or PATH_LIKE.search(alt)]
    assert not bad, bad
