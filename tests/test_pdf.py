"""The book as one PDF (``scripts/build_pdf.py``, run by ``make book``).

Reads the PDF that ``make book`` wrote into ``_build/pdf/`` (with its report), or, when
that is missing or older than the site, builds one from ``_build/html`` into a temporary
folder; then reads it back with pypdf: every page is A4 (nothing is printed
on wider pages), every chapter of ``_toc.yml`` is there under its own title (read from
the chapter's source, not from the PDF builder), in the order of the table of contents,
both as text and as bookmarks; the longest line of code that the book shows appears
whole (wrapped, not cut at the right edge); the browser found no element wider than the
printed text and no MathJax error; pages are numbered in the footer. The site's
download button links the PDF on every page. Prints the page count and the size.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
A4_PT = (595.28, 841.89)  # 210 x 297 mm


def _script():
    spec = importlib.util.spec_from_file_location("build_pdf", ROOT / "scripts" / "build_pdf.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_pdf", module)
    spec.loader.exec_module(module)
    return module


def _squash(text: str) -> str:
    """Text without whitespace, ligatures undone: wrapping changes only the whitespace."""
    text = text.replace("\ufb01", "fi").replace("\ufb02", "fl").replace("\ufb00", "ff")
    return re.sub(r"\s+", "", text)


def _toc_docs() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    docs = [toc["root"]]
    for part in toc.get("parts") or []:
        docs += [c["file"] for c in part.get("chapters") or [] if "file" in c]
    return docs


def _source_title(doc: str) -> str:
    """The first level-1 heading of the chapter's source (.md or .ipynb)."""
    md, nb = ROOT / f"{doc}.md", ROOT / f"{doc}.ipynb"
    if md.is_file():
        text = md.read_text(encoding="utf-8")
    else:
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    match = re.search(r"^# (.+)$", text, re.MULTILINE)
    assert match, f"{doc}: no '# ' title in its source"
    title = match.group(1).strip()
    title = re.sub(r"\(\w+\)=", "", title)  # a MyST label before the title, if any
    title = re.sub(r"[*`]", "", title)
    return title.split("$")[0].strip()  # the words before any formula


def _longest_code_line() -> tuple[str, str]:
    """The longest line of code shown in a book notebook (input not hidden)."""
    best = ("", "")
    for nb in sorted((ROOT / "book").glob("*.ipynb")):
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            tags = cell.get("metadata", {}).get("tags", [])
            if cell["cell_type"] != "code" or {"hide-input", "remove-input",
                                               "remove-cell"} & set(tags):
                continue
            for line in "".join(cell["source"]).splitlines():
                if len(line.strip()) > len(best[1].strip()):
                    best = (nb.name, line)
    return best


def _built_by_make_book() -> tuple[Path | None, dict | None]:
    """The PDF and report that ``make book`` wrote (``_build/pdf/``), when both are newer
    than every page of the site: the file readers download, and no second build (about
    a minute). (None, None) otherwise: the fixture then builds one."""
    pdf, saved = ROOT / "_build" / "pdf" / "rnncourse.pdf", ROOT / "_build" / "pdf" / "report.json"
    if not (pdf.is_file() and saved.is_file()):
        return None, None
    newest_page = max(p.stat().st_mtime for p in HTML.rglob("*.html"))
    if min(pdf.stat().st_mtime, saved.stat().st_mtime) < newest_page:
        return None, None
    return pdf, json.loads(saved.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory):
    if not (HTML / "index.html").is_file():
        pytest.fail("_build/html is missing: build the book first (`make book`)",
                    pytrace=False)
    if not (shutil.which("chromium") or Path(
            __import__("os").environ.get("RNNCOURSE_CHROMIUM", "")).is_file()):
        pytest.fail("Chromium is not installed: `apt-get install -y chromium`", pytrace=False)
    pypdf = pytest.importorskip("pypdf")
    out, report = _built_by_make_book()
    if out is None:
        out = tmp_path_factory.mktemp("pdf") / "rnncourse.pdf"
        report = _script().build(HTML, out, verbose=False, copy_to_site=False)
    reader = pypdf.PdfReader(io.BytesIO(out.read_bytes()))
    texts = [page.extract_text() for page in reader.pages]
    return report, reader, texts, out


def test_pdf_is_a4_and_reports_its_size(book, capsys: pytest.CaptureFixture) -> None:
    report, reader, _, out = book
    assert len(reader.pages) == report["total_pages"] > 50
    for number, page in enumerate(reader.pages, start=1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(width - A4_PT[0]) < 2 and abs(height - A4_PT[1]) < 2, (
            f"page {number} is {width:.0f} x {height:.0f} pt, not A4")
    with capsys.disabled():
        print(f"\nrnncourse.pdf: {len(reader.pages)} pages, "
              f"{out.stat().st_size / 1e6:.1f} MB, built in {report['seconds']} s")


def test_every_chapter_is_there_in_order(book) -> None:
    report, reader, texts, _ = book
    docs = _toc_docs()
    squashed = [_squash(t) for t in texts]
    outline = [item for item in reader.outline if not isinstance(item, list)]
    nested = [i for group in reader.outline if isinstance(group, list) for i in group
              if not isinstance(i, list)]
    # a chapter's bookmark carries its number ("5. Vanishing ..."): compare without it
    marks = {re.sub(r"^\d+\.", "", _squash(str(i.title))): reader.get_destination_page_number(i)
             for i in outline + nested}
    previous = -1
    for doc in docs:
        title = _source_title(doc)
        key = _squash(title)
        assert key, doc
        pages = [n for n, t in enumerate(squashed) if key in t]
        assert pages, f"{doc}: its title '{title}' is nowhere in the PDF"
        mark = next((page for name, page in marks.items() if name.startswith(key)), None)
        assert mark is not None, f"{doc}: no bookmark starts with '{title}': {list(marks)}"
        assert key in squashed[mark], f"{doc}: its bookmark points to page {mark + 1}"
        assert mark > previous, f"{doc}: out of the order of _toc.yml (page {mark + 1})"
        previous = mark
    # the table of contents (page 2) lists every chapter
    contents = "".join(squashed[:report["front_pages"]])
    for doc in docs:
        assert _squash(_source_title(doc)) in contents, f"{doc} is not in the contents"


def _numbered_docs() -> dict[str, str]:
    """doc -> the chapter number the site shows in its title ("5"), for every chapter of
    a ``numbered: true`` part of ``_toc.yml`` (read from the built page's <h1>)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    numbers = {}
    for part in toc.get("parts") or []:
        if not part.get("numbered"):
            continue
        for chapter in part.get("chapters") or []:
            page = (HTML / f"{chapter['file']}.html").read_text(encoding="utf-8")
            # the article's title (the theme's header repeats it, without the number)
            number = re.search(r'<h1\b[^>]*>\s*<span class="section-number">\s*(\d+)\.',
                               page)
            assert number, f"{chapter['file']}: the site shows no number in its title"
            numbers[chapter["file"]] = number.group(1)
    return numbers


def test_chapters_carry_their_numbers_as_on_the_site(book) -> None:
    """Bookmarks and the table of contents say "5. Vanishing ...", as the site does."""
    report, reader, texts, _ = book
    numbers = _numbered_docs()
    assert len(numbers) >= 11, numbers
    marks = [_squash(str(i.title)) for group in reader.outline
             for i in (group if isinstance(group, list) else [group])
             if not isinstance(i, list)]
    contents = "".join(_squash(t) for t in texts[:report["front_pages"]])
    for doc, number in numbers.items():
        key = f"{number}.{_squash(_source_title(doc))}"
        assert any(m.startswith(key) for m in marks), f"{doc}: no bookmark '{key}…': {marks}"
        assert key in contents, f"{doc}: the contents do not list '{key}'"


def test_long_code_lines_wrap_whole(book) -> None:
    _, _, texts, _ = book
    notebook, line = _longest_code_line()
    assert len(line.strip()) > 60, "no long code line to look for"
    whole = "".join(_squash(t) for t in texts)
    assert _squash(line) in whole, (
        f"the longest code line of {notebook} ({len(line)} characters) is not whole in "
        f"the PDF (cut at the right edge?): {line!r}")


def test_nothing_wider_than_the_page_and_math_rendered(book) -> None:
    report = book[0]
    assert report["wide"] == {}, f"elements wider than the printed text: {report['wide']}"
    assert report["math_errors"] == {}, f"MathJax errors: {report['math_errors']}"


def test_pages_are_numbered(book) -> None:
    _, reader, texts, _ = book
    total = len(reader.pages)
    for number in (3, total // 2, total):
        assert f"{number} / {total}" in texts[number - 1], (
            f"page {number} has no page number in its footer")


def test_download_button_links_the_pdf() -> None:
    pages = sorted((HTML / "book").glob("*.html"))
    assert pages
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "window.print()" not in html, f"{page.name}: still prints the page"
        links = re.findall(r'<a href="([^"]*rnncourse\.pdf)"', html)
        assert links and set(links) == {"../rnncourse.pdf"}, f"{page.name}: PDF links {links}"
    assert (HTML / "rnncourse.pdf").is_file(), "make book did not copy the PDF into the site"
