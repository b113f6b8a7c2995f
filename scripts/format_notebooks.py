"""Format the code cells of notebooks with ``ruff format``, at a width that fits the page.

At 1280 px the website's code box leaves 634 px for text, 81 characters of its 13 px
monospace (``_static/rnncourse.css``; ``tests/test_site.py`` checks that no code cell
scrolls), so a line of 100 characters would scroll sideways. This script runs ``ruff
format`` over every code cell at ``LINE_LENGTH`` (79) characters, after moving the trailing
comment of a line that is too long onto a line of its own above it; what ruff leaves too
long, a string literal alone on its line or a comment, it splits into adjacent literals of
the same value or wraps onto comment lines (the syntax tree is checked to be unchanged). It
writes the cells back and changes nothing else (not the outputs, the metadata or the
markdown). It leaves alone

* the install cell that ``scripts/install_cell.py`` writes (rerun that script instead),
* cells that ``ruff`` cannot parse as Python, e.g. cells with IPython magics (``%time``,
  ``!pip``), which are reported,
* cells tagged ``no-format`` (layout that says something, such as an aligned table).

Usage::

    python scripts/format_notebooks.py book/*.ipynb            # format in place
    python scripts/format_notebooks.py --check book/*.ipynb    # exit 1 if one would change

Formatting changes only the layout of the code, so the stored outputs stay valid; still,
run nbval over the notebooks you formatted before committing them.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import shutil
import subprocess
import sys
import textwrap
import tokenize
from pathlib import Path

import nbformat

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from install_cell import _is_install_cell  # noqa: E402

LINE_LENGTH = 79
SKIP_TAG = "no-format"


def _ruff() -> str:
    """The ruff next to this Python (the project's venv), else the one on PATH."""
    here = Path(sys.executable).with_name("ruff")
    found = str(here) if here.is_file() else shutil.which("ruff")
    if not found:
        raise SystemExit("ruff is not installed: pip install -e '.[test]'")
    return found


def format_source(source: str, line_length: int = LINE_LENGTH) -> str | None:
    """``source`` formatted by ``ruff format``; None when ruff cannot parse it."""
    result = subprocess.run(
        [_ruff(), "format", "--isolated", f"--line-length={line_length}",
         "--stdin-filename=cell.py", "-"],
        input=source, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        return None
    return result.stdout.rstrip("\n")


_STRING_LINE = re.compile(
    r"^(?P<indent>\s*)(?P<prefix>[rRbBfFuU]{0,2})(?P<q>[\"'])(?P<body>.*)(?P=q)"
    r"(?P<tail>[,)\]}]*)$")


def _split_string(line: str, limit: int) -> list[str] | None:
    """A line that is one string literal (and closing brackets), as adjacent literals."""
    m = _STRING_LINE.match(line)
    if not m or line.lstrip().startswith(('"""', "'''")):
        return None
    indent, prefix, q, body, tail = m.group("indent", "prefix", "q", "body", "tail")
    if re.search(r"(?<!\\)" + q, body):  # two literals on the line, not one
        return None
    room = limit - len(indent) - len(prefix) - 2
    depth, best, i = 0, None, 0
    fstring = "f" in prefix.lower()
    while i < len(body):
        ch = body[i]
        if fstring and ch in "{}" and body[i:i + 2] in ("{{", "}}") and depth == 0:
            i += 2
            continue
        if fstring and ch == "{":
            depth += 1
        elif fstring and ch == "}":
            depth -= 1
            if depth == 0 and i + 1 <= room:
                best = i + 1  # between two replacement fields
        elif ch == " " and depth == 0 and 0 < i + 1 <= room and body[i - 1] != "\\":
            best = i + 1
        i += 1
    if best is None or best >= len(body):
        return None
    first = f"{indent}{prefix}{q}{body[:best]}{q}"
    rest = f"{indent}{prefix}{q}{body[best:]}{q}{tail}"
    more = _split_string(rest, limit) if len(rest) > limit else None
    return [first, *(more or [rest])]


def _comments(source: str) -> dict[int, int]:
    """{line index: column} of each comment in ``source``."""
    found = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                found[tok.start[0] - 1] = tok.start[1]
    except (tokenize.TokenError, SyntaxError):
        return {}
    return found


def wrap_long_lines(source: str, limit: int = LINE_LENGTH) -> str:
    """What ``ruff format`` leaves too long: a string literal alone on its line is split
    into adjacent literals (the same value), and a comment is wrapped onto lines of its
    own, above the code it followed. Anything else is left for a person to shorten."""
    comments = _comments(source)
    out: list[str] = []
    for n, line in enumerate(source.split("\n")):
        if len(line) <= limit:
            out.append(line)
            continue
        col = comments.get(n)
        if col is not None:
            code, text = line[:col].rstrip(), line[col:].lstrip("#").strip()
            indent = re.match(r"\s*", line).group()
            if len(code) <= limit:
                width = limit - len(indent) - 2
                out += [f"{indent}# {piece}" for piece in textwrap.wrap(text, width)]
                if code.strip():
                    out.append(code)
                continue
        out += _split_string(line, limit) or [line]
    return "\n".join(out)


def lift_comments(source: str, limit: int = LINE_LENGTH) -> str:
    """A line longer than ``limit`` that ends with a comment gets the comment on a line
    of its own above it, before ``ruff format`` runs: otherwise ruff splits the code over
    several lines and leaves the comment dangling after the closing bracket."""
    comments = _comments(source)
    out: list[str] = []
    for n, line in enumerate(source.split("\n")):
        col = comments.get(n)
        code = line[:col].rstrip() if col is not None else ""
        if (len(line) <= limit or not code.strip()
                or len(f"{code}  {line[col:]}") <= limit):  # ruff keeps two spaces
            out.append(line)
            continue
        indent = re.match(r"\s*", line).group()
        out += [indent + line[col:], code]
    return "\n".join(out)


def long_lines(source: str, limit: int = LINE_LENGTH) -> list[str]:
    return [line for line in source.split("\n") if len(line) > limit]


def fit(source: str, line_length: int = LINE_LENGTH) -> str | None:
    """``source`` formatted to fit ``line_length``, or None when ruff cannot parse it.
    The result always parses to the same syntax tree as ``source`` (checked)."""
    formatted = format_source(lift_comments(source, line_length), line_length)
    if formatted is None:
        return None
    wrapped = format_source(wrap_long_lines(formatted, line_length), line_length)
    before = ast.dump(ast.parse(source))
    for candidate in (wrapped, formatted):
        if candidate is not None and ast.dump(ast.parse(candidate)) == before:
            return candidate
    return source


def format_notebook(nb: nbformat.NotebookNode, line_length: int = LINE_LENGTH
                    ) -> tuple[int, list[int]]:
    """Format ``nb``'s code cells in place: (cells changed, indices of cells skipped)."""
    changed, unparsed = 0, []
    for index, cell in enumerate(nb.cells):
        if (cell.cell_type != "code" or _is_install_cell(cell) or not cell.source.strip()
                or SKIP_TAG in cell.get("metadata", {}).get("tags", [])):
            continue
        new = fit(cell.source, line_length)
        if new is None:
            unparsed.append(index)
        elif new != cell.source:
            cell.source = new
            changed += 1
    return changed, unparsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a notebook would change")
    parser.add_argument("--line-length", type=int, default=LINE_LENGTH)
    args = parser.parse_args(argv)
    stale = []
    for path in args.notebooks:
        if path.suffix != ".ipynb" or not path.is_file():
            parser.error(f"not a notebook file: {path}")
        nb = nbformat.read(path, as_version=4)
        changed, unparsed = format_notebook(nb, args.line_length)
        for index in unparsed:
            print(f"{path}: cell {index} left as it is (ruff cannot parse it)",
                  file=sys.stderr)
        if not changed:
            continue
        if args.check:
            stale.append(f"{path}: {changed} cells")
        else:
            nbformat.write(nb, path)
            print(f"formatted {path}: {changed} cells")
    if stale:
        print("not formatted (run `python scripts/format_notebooks.py` on them):\n  "
              + "\n  ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
