"""scripts/extract_corpus.py: the book's prose, from a small fixture book written here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("extract_corpus",
                                               ROOT / "scripts" / "extract_corpus.py")
X = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(X)

CELL = """\
# A chapter

The **hidden
state** is *what the network remembers*, see {cite:p}`elman1990` and
[the notation page](notation.ipynb). In code, `h` has shape $(N, H)$:

$$h_t = \\tanh(x_t W_x + h_{t-1} W_h + b)$$

```python
print("dropped")
```

```{note}
:class: tip
A note is kept.
```



End."""

EXPECTED = """\
A chapter

The hidden
state is what the network remembers, see and
the notation page. In code, `h` has shape $(N, H)$:

A note is kept.

End."""


def test_prose_strips_the_markup_and_keeps_inline_code_and_math():
    assert X.prose(CELL) == EXPECTED
    assert X.prose("a $$x$$ b  \r\nc") == "a  b\nc"          # inline display math, CRLF


def _book(tmp_path: Path) -> Path:
    (tmp_path / "book").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(CELL), nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_markdown_cell("Second *cell*.")]
    nbformat.write(nb, tmp_path / "book" / "ch01.ipynb")
    (tmp_path / "book" / "intro.md").write_text("# Welcome\n\nHello.\n", encoding="utf-8")
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n  - caption: One\n    chapters:\n"
        "      - file: book/ch01\n", encoding="utf-8")
    return tmp_path


def test_pages_in_toc_order_and_the_corpus_of_a_fixture_book(tmp_path):
    root = _book(tmp_path)
    pages = X.toc_pages(root)
    assert [p.name for p in pages] == ["intro.md", "ch01.ipynb"]
    assert X.corpus(pages) == "Welcome\n\nHello.\n\n" + EXPECTED + "\n\nSecond cell.\n"


def test_a_missing_page_is_named(tmp_path):
    root = _book(tmp_path)
    (root / "_toc.yml").write_text("root: book/nowhere\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="book/nowhere"):
        X.toc_pages(root)


def test_split_deals_blocks_in_turn():
    parts = X.split(10 * 2000 + 500, block=2000)
    assert parts["validation"] == [[16000, 18000]]
    assert parts["test"] == [[18000, 20000]]
    assert parts["train"][:2] == [[0, 2000], [2000, 4000]]
    assert parts["train"][-1] == [20000, 20500]          # the 11th block starts a new round
    assert sum(b - a for blocks in parts.values() for a, b in blocks) == 20500

