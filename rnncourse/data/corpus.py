"""The course's own text, frozen in ``book/data/ch10/``: the corpus and the lines.

Nothing is downloaded and nothing depends on the machine: both texts were cut once and
frozen, with a SHA-256 checked on every load.

- :func:`book_corpus` -- the book's prose (``corpus.txt``, written by
  ``scripts/extract_corpus.py``), checked and split into training, validation and test
  parts; chapter 10's language model reads it.
- :func:`frozen_lines`, :func:`line_data` -- lines of Python code and of docstring prose
  (``lines.json``, written by ``scripts/extract_lines.py`` from
  :func:`code_and_prose_lines`), for chapter 10's code-or-prose classifier, with
  :func:`encode_lines` turning lines into padded ids.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from rnncourse.data.text import CharVocab

__all__ = [
    "CORPUS_MODULES", "BookCorpus", "book_corpus", "code_and_prose_lines", "TEST_MODULES",
    "HAND_WRITTEN", "lines_digest", "frozen_lines", "encode_lines", "line_data",
]

#: The modules whose source gives the classifier its training lines.
CORPUS_MODULES: tuple[str, ...] = (
    "textwrap", "shlex", "heapq", "string", "glob", "fnmatch", "colorsys", "bisect",
)


@dataclass(frozen=True)
class BookCorpus:
    """The frozen corpus: ``text``, its ``train``/``validation``/``test`` parts, ``vocab``."""

    text: str
    train: str
    validation: str
    test: str
    vocab: CharVocab
    info: dict


def book_corpus() -> BookCorpus:
    """The book's prose as frozen in ``book/data/ch10/corpus.txt``, checked and split.

    ``corpus.json`` (written with it by ``scripts/extract_corpus.py``) records the text's
    SHA-256, which is checked here, and its split: blocks of characters dealt out eight to
    training, one to validation, one to test. Each part is its blocks joined in order. The
    vocabulary is every character of the whole text.

    Raises:
        ValueError: if the text does not match its recorded hash.
    """
    from rnncourse.data import bookdata

    info = json.loads(bookdata.path("ch10/corpus.json").read_text(encoding="utf-8"))
    raw = bookdata.path("ch10/corpus.txt").read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != info["sha256"]:
        raise ValueError(f"ch10/corpus.txt has SHA-256 {digest}, but corpus.json records "
                         f"{info['sha256']}: the frozen corpus was changed (rerun "
                         "scripts/extract_corpus.py and retrain, or restore the file)")
    text = raw.decode("utf-8")
    parts = {name: "".join(text[a:b] for a, b in blocks)
             for name, blocks in info["split"].items()}
    return BookCorpus(text, parts["train"], parts["validation"], parts["test"],
                      CharVocab.from_text(text), info)


def _docstring_lines(tree: ast.AST) -> set[int]:
    """1-based line numbers covered by docstrings (module, class, function)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def code_and_prose_lines(modules: Sequence[str], *, min_chars: int = 20
                         ) -> tuple[list[str], list[str]]:
    """Lines of Python code and lines of English docstring prose from ``modules``.

    Each line is stripped of its indentation. Prose lines are docstring lines that do not
    start with ``>>>`` or ``...`` (doctest examples are code) and contain no quote
    delimiters; code lines are the other non-blank lines that are not comments. Lines
    shorter than ``min_chars`` are dropped (too short to tell apart).

    Returns:
        ``(code, prose)``: two lists of strings, in the order they appear.
    """
    code: list[str] = []
    prose: list[str] = []
    for name in modules:
        source = inspect.getsource(importlib.import_module(name))
        doc = _docstring_lines(ast.parse(source))
        for number, raw in enumerate(source.splitlines(), start=1):
            line = raw.strip()
            if len(line) < min_chars:
                continue
            if number in doc:
                if not line.startswith((">>>", "...")) and '"""' not in line \
                        and "'''" not in line:
                    prose.append(line)
            elif not line.startswith("#"):
                code.append(line)
    return code, prose


#: The four modules whose lines are the classifier's test set (never seen in training).
TEST_MODULES: tuple[str, ...] = ("calendar", "queue", "csv", "random")


#: Example lines written for the chapter (not from any module): code, prose, code, prose.
HAND_WRITTEN = (
    "for line in lines: print(line.upper())",
    "Return the sum of the two numbers, rounded.",
    "if not self.items: raise ValueError('empty')",
    "This function is called once for every row.",
)


_LINE_KEYS = ("train_code", "train_prose", "test_code", "test_prose")


def lines_digest(lines: Mapping[str, Sequence[str]]) -> str:
    """SHA-256 of the classifier's four lists of lines (``train_code``, ``train_prose``,
    ``test_code``, ``test_prose``), as recorded in ``book/data/ch10/lines.json``."""
    blob = json.dumps([list(lines[k]) for k in _LINE_KEYS], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def frozen_lines() -> dict:
    """The classifier's lines as frozen by ``scripts/extract_lines.py``, checked.

    Returns the whole record: ``lines`` (a dict of the four lists ``train_code``,
    ``train_prose``, ``test_code``, ``test_prose``), ``python`` (the version whose standard
    library they were cut from), the module names, ``counts`` and ``sha256``.

    Raises:
        ValueError: if the lines do not match their recorded hash.
    """
    from rnncourse.data import bookdata

    info = json.loads(bookdata.path("ch10/lines.json").read_text(encoding="utf-8"))
    digest = lines_digest(info["lines"])
    if digest != info["sha256"]:
        raise ValueError(f"ch10/lines.json: its lines have SHA-256 {digest}, but the file "
                         f"records {info['sha256']}: the frozen lines were changed (rerun "
                         "scripts/extract_lines.py and the sweep, or restore the file)")
    return info


def encode_lines(lines: Sequence[str], length: int = 48) -> Tensor:
    """Lines as ``(N, length)`` int64 ids, left-padded with 0, truncated to ``length``.

    Printable ASCII ``' '..'~'`` maps to 1..95, any other character to 96. Padding on the
    *left* puts the real characters last, so the final state of a recurrent layer has
    just read them.
    """
    out = torch.zeros(len(lines), length, dtype=torch.int64)
    for row, line in enumerate(lines):
        ids = [ord(c) - 31 if " " <= c <= "~" else 96 for c in line[:length]]
        if ids:
            out[row, length - len(ids):] = torch.tensor(ids)
    return out


def line_data() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``x_train, y_train, x_test, y_test`` of the classifier (label 0 code, 1 prose),
    from the frozen lines (:func:`frozen_lines`)."""
    lines = frozen_lines()["lines"]
    train_code, train_prose = lines["train_code"], lines["train_prose"]
    test_code, test_prose = lines["test_code"], lines["test_prose"]
    return (encode_lines(train_code + train_prose),
            torch.tensor([0] * len(train_code) + [1] * len(train_prose)),
            encode_lines(test_code + test_prose),
            torch.tensor([0] * len(test_code) + [1] * len(test_prose)))
