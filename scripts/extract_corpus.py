"""Freeze the book's own prose into chapter 10's language-model corpus.

    .venv/bin/python scripts/extract_corpus.py

Reads the markdown of every page of the book in ``_toc.yml`` order (the markdown cells of
``book/*.ipynb`` and the ``book/*.md`` pages), turns the MyST markup into readable text
(see :func:`prose`) and writes

- ``book/data/ch10/corpus.txt`` -- the text (UTF-8, ``\\n`` line ends);
- ``book/data/ch10/corpus.json`` -- the git commit it was read from, its length in
  characters, its SHA-256, and the split into training, validation and test text.

The corpus is frozen: chapter 10 and the training scripts read ``corpus.txt``, never the
notebooks, so every machine and every Python version trains on the same characters (the
book's prose keeps changing; rerun this script only to make a new corpus on purpose, then
retrain). The split cuts the text into blocks of :data:`BLOCK` characters and deals them
out in turn, eight to training, one to validation, one to test, so that each part samples
every chapter.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "data" / "ch10"
BLOCK = 2000          # characters per block of the split
DEAL = ("train",) * 8 + ("validation", "test")

_ROLE = re.compile(r"\s*\{cite:[pt]\}`[^`]*`")          # citations: dropped
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")              # [text](url) -> text
_BOLD = re.compile(r"\*\*(\S(?:[^*]|\*(?!\*))*?)\*\*")
_ITALIC = re.compile(r"(?<![\w*$\\])\*(?![\s*])((?:[^*\n]|\n(?!\n))+?)(?<!\s)\*(?![\w*])")
_HEADING = re.compile(r"^#{1,6}\s+")
_COMMENT = re.compile(r"<!--.*?-->", re.S)


def _inline(line: str) -> str:
    """Citations dropped, links replaced by their text.

    Inline code (backticks) and inline math (``$...$``) are kept as they are: they are
    part of what a reader of the book sees, and chapter 10 looks for a unit that tracks
    them.
    """
    line = _ROLE.sub("", line)
    return _LINK.sub(r"\1", line)


def prose(markdown: str) -> str:
    """The readable text of one markdown cell or page.

    - fenced blocks: a directive (```` ```{note} ````, ```` ```{margin} ````) keeps its body
      without the fences and ``:option:`` lines; code blocks and the bibliography are
      dropped;
    - display math (``$$ ... $$``, on lines of its own or inline) is dropped;
    - headings lose their ``#`` marks; citations are dropped; links become their text;
      ``**bold**`` and ``*italic*`` lose their markers; HTML comments are dropped;
    - runs of blank lines become one blank line; trailing spaces are removed.
    """
    text = _COMMENT.sub("", unicodedata.normalize("NFC", markdown).replace("\r\n", "\n"))
    text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)
    out: list[str] = []
    fence: str | None = None        # None outside a fence, else 'keep' or 'drop'
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("```"):
            if fence is None:
                name = re.match(r"```\{(\w+)\}", stripped)
                fence = "keep" if name and name.group(1) in ("note", "margin", "tip",
                                                             "warning", "important") else "drop"
            else:
                fence = None
            continue
        if fence == "drop" or (fence == "keep" and re.match(r":\w+:", stripped)):
            continue
        out.append(_inline(_HEADING.sub("", line)).rstrip())
    joined = _ITALIC.sub(r"\1", _BOLD.sub(r"\1", "\n".join(out)))
    joined = re.sub(r"\n{3,}", "\n\n", joined)
    return joined.strip("\n")


def page_markdown(path: Path) -> list[str]:
    """The markdown of one page: its markdown cells (a notebook) or the whole file."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    return [path.read_text(encoding="utf-8")]


def toc_pages(root: Path = ROOT) -> list[Path]:
    """The book's pages in ``_toc.yml`` order (``root:`` first, then every ``file:``)."""
    pages = []
    for line in (root / "_toc.yml").read_text(encoding="utf-8").splitlines():
        found = re.match(r"\s*(?:-\s*)?(?:root|file):\s*(\S+)", line)
        if found:
            stem = root / found.group(1)
            matches = [p for p in (stem.with_suffix(".ipynb"), stem.with_suffix(".md"))
                       if p.is_file()]
            if not matches:
                raise FileNotFoundError(f"_toc.yml names {found.group(1)!r}, which is not a "
                                        "notebook or markdown file")
            pages.append(matches[0])
    return pages


def corpus(pages: list[Path]) -> str:
    """The prose of ``pages``, each cell's text separated by one blank line."""
    parts = [prose(md) for page in pages for md in page_markdown(page)]
    return "\n\n".join(p for p in parts if p) + "\n"


def split(n_chars: int, block: int = BLOCK) -> dict[str, list[list[int]]]:
    """``{part: [[start, stop], ...]}``: blocks of ``block`` characters dealt out by DEAL."""
    parts: dict[str, list[list[int]]] = {name: [] for name in DEAL}
    for k, start in enumerate(range(0, n_chars, block)):
        parts[DEAL[k % len(DEAL)]].append([start, min(start + block, n_chars)])
    return parts


def main() -> None:
    pages = toc_pages()
    text = corpus(pages)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, text=True,
                            capture_output=True, check=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "book", "_toc.yml"],
                           cwd=ROOT, text=True, capture_output=True, check=True).stdout
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "corpus.txt").write_bytes(text.encode("utf-8"))
    parts = split(len(text))
    info = {
        "source_commit": commit, "source_modified": bool(dirty.strip()),
        "pages": [p.relative_to(ROOT).as_posix() for p in pages],
        "chars": len(text), "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "vocabulary": "".join(sorted(set(text))), "block": BLOCK, "split": parts,
        "split_chars": {k: sum(b - a for a, b in v) for k, v in parts.items()},
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    (OUT / "corpus.json").write_text(json.dumps(info, indent=1, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
    print(f"{len(text):,} characters from {len(pages)} pages, V = {len(info['vocabulary'])}, "
          f"split {info['split_chars']}")


if __name__ == "__main__":
    main()
