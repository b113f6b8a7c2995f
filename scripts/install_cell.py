"""Give each book notebook a first code cell that installs what the chapter needs.

A reader who opens a chapter on Colab, on a JupyterHub or in a fresh Jupyter has no
``rnncourse`` installed (and maybe no PyTorch or matplotlib). This script inserts, or
brings up to date, one code cell before the chapter's first code cell that

* installs nothing when everything is already importable (a checkout with
  ``make setup``, Binder, a second run): it only looks the modules up;
* installs PyTorch's CPU build from PyTorch's own wheel index when the chapter uses
  ``torch`` and it is missing (a plain ``pip install torch`` on Linux pulls gigabytes of
  CUDA libraries);
* installs ``rnncourse`` from the course's repository, pinned to the URL and branch of
  ``repository:`` in ``_config.yml`` (the one place that names the repository), with
  the extras the chapter needs; the environment variable ``RNNCOURSE_SOURCE``
  replaces that source (``tests/test_launch.py`` points it at a locally built wheel);
* is tagged ``hide-input`` (shown folded on the website), ``remove-output`` and
  ``nbval-ignore-output`` (pip's messages are neither shown nor compared).

It also points every link to a file of the course's repository (``exercises/``,
``solutions/``, ``book/``, ``rnncourse/``, ``scripts/`` on any ``github.com/OWNER/NAME``,
branch ``blob/`` or ``tree/``) at the configured repository and branch.

Usage::

    python scripts/install_cell.py book/*.ipynb          # write the cells (idempotent)
    python scripts/install_cell.py --check book/*.ipynb  # exit 1 if one is missing/stale

Safe on any notebook: a notebook without code cells is left alone, and running the
script twice changes nothing the second time.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CELL_ID = "install-rnncourse"
TAGS = ["hide-input", "remove-output", "nbval-ignore-output"]
MARKER = "# rnncourse: install what this chapter needs"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
# Folders of the course repository that the book links to.
_REPO_LINK = re.compile(
    r"https://github\.com/[\w.-]+/[\w.-]+/(blob|tree)/[\w.-]+/"
    r"(?=(?:exercises|solutions|book|rnncourse|scripts)/)"
)


@dataclass(frozen=True)
class Source:
    """Where the package is installed from: the repository of ``_config.yml``."""

    url: str
    branch: str

    @property
    def pip_source(self) -> str:
        return f"git+{self.url}@{self.branch}"


def configured_source(config: Path = ROOT / "_config.yml") -> Source:
    """The repository URL and branch set in ``_config.yml`` (``repository:``)."""
    import yaml

    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    repo = data.get("repository") or {}
    url = str(repo.get("url") or "").rstrip("/")
    if not re.fullmatch(r"https://[\w.-]+/[\w.-]+/[\w.-]+", url):
        raise SystemExit(f"{config}: repository.url must be https://HOST/OWNER/NAME, "
                         f"got {url!r}")
    return Source(url=url, branch=str(repo.get("branch") or "main"))


def imported_modules(nb: nbformat.NotebookNode) -> set[str]:
    """Top-level names of the modules the notebook's code cells import."""
    found: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code" or _is_install_cell(cell):
            continue
        # IPython magics and shell escapes are not Python: drop those lines.
        lines = [ln for ln in cell.source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            found.update(re.findall(r"^\s*(?:from|import)\s+(\w+)", cell.source, re.M))
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found


def cell_source(modules: set[str], source: Source) -> str:
    """The install cell's code for a notebook importing ``modules``."""
    torch = "torch" in modules
    extras = "torch,notebooks" if torch else "notebooks"
    needed = ["rnncourse", "matplotlib", "ipywidgets"]  # the figures use both
    if "tokenizers" in modules:  # an extra of rnncourse[notebooks] a chapter imports itself
        needed.append("tokenizers")
    lines = [
        f"{MARKER} when it is missing",
        "# (Colab, a JupyterHub, a fresh Jupyter); with everything installed it does",
        "# nothing. Written by scripts/install_cell.py from _config.yml: edit those,",
        "# not this cell.",
        "import importlib, importlib.util, os, subprocess, sys",
        "",
        "def _missing(*modules):",
        "    return [m for m in modules if importlib.util.find_spec(m) is None]",
        "",
        "def _pip(*args):",
        '    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",',
        '                    "--disable-pip-version-check", *args], check=True)',
        "    importlib.invalidate_caches()",
        "",
    ]
    if torch:
        lines += [
            'if _missing("torch"):  # the CPU build (about 200 MB), not the CUDA one',
            f'    _pip("torch", "--index-url", "{TORCH_INDEX}")',
        ]
    quoted = ", ".join(f'"{m}"' for m in needed)
    lines += [
        f"if _missing({quoted}):",
        '    _source = os.environ.get("RNNCOURSE_SOURCE")',
        f'    _source = _source or "{source.pip_source}"',
        f'    _pip(f"rnncourse[{extras}] @ {{_source}}")',
    ]
    return "\n".join(lines)


def _is_install_cell(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and (
        cell.get("id") == CELL_ID or cell.source.lstrip().startswith(MARKER)
    )


def _new_cell(nb: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source=source, metadata={"tags": list(TAGS)})
    if "id" in cell and any(c.get("id") == CELL_ID for c in nb.cells):
        cell.id = CELL_ID + "-new"  # only while the old one is still there
    elif "id" in cell:
        cell.id = CELL_ID
    return cell


def update_notebook(nb: nbformat.NotebookNode, source: Source) -> bool:
    """Insert or refresh the install cell and the repository links; True if changed."""
    before = nbformat.writes(nb)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    installs = [i for i in code if _is_install_cell(nb.cells[i])]
    others = [i for i in code if i not in installs]
    if others:
        text = cell_source(imported_modules(nb), source)
        # Drop every install cell, then put one back before the first other code cell.
        keep = [c for i, c in enumerate(nb.cells) if i not in installs]
        first = next(j for j, c in enumerate(keep) if c.cell_type == "code")
        if installs:
            cell = nb.cells[installs[0]]
            if cell.source != text:  # a stale cell: its outputs are stale too
                cell.source = text
                cell.outputs, cell.execution_count = [], None
            cell.metadata["tags"] = list(TAGS)
            if "id" in cell:
                cell.id = CELL_ID
        else:
            cell = _new_cell(nb, text)
        keep.insert(first, cell)
        nb.cells = keep
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _REPO_LINK.sub(
                lambda m: f"{source.url}/{m.group(1)}/{source.branch}/", cell.source)
    return nbformat.writes(nb) != before


def problems(nb: nbformat.NotebookNode, source: Source) -> list[str]:
    """What ``update_notebook`` would change, in words (empty: up to date)."""
    if not update_notebook(nbformat.from_dict(nb), source):
        return []
    code = [c for c in nb.cells if c.cell_type == "code"]
    if code and not _is_install_cell(code[0]):
        return ["no install cell before its first code cell"]
    return ["its install cell or its repository links differ from what _config.yml gives"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a notebook is not up to date")
    parser.add_argument("--config", type=Path, default=ROOT / "_config.yml")
    args = parser.parse_args(argv)
    source = configured_source(args.config)
    stale = []
    for path in args.notebooks:
        if path.suffix != ".ipynb" or not path.is_file():
            parser.error(f"not a notebook file: {path}")
        nb = nbformat.read(path, as_version=4)
        if args.check:
            found = problems(nb, source)
            if found:
                stale.append(f"{path}: {'; '.join(found)}")
        elif update_notebook(nb, source):
            nbformat.write(nb, path)
            print(f"updated {path}")
    if stale:
        print("not up to date (run `python scripts/install_cell.py book/*.ipynb`):\n  "
              + "\n  ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
