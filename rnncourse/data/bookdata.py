"""The files the book's chapters load: trained weights and training histories.

They live in ``book/data/`` of the course repository (the training scripts in
``scripts/`` write them there) and are shipped inside the wheel as the package
data ``rnncourse/_bookdata/``. A chapter asks for a file by its path under
``book/data/``::

    from rnncourse.data import bookdata
    state = torch.load(bookdata.path("ch06_lstm/adding_lstm_T10.pt"))

and gets it wherever the notebook runs: from a checkout of the repository
(editable install, or the notebook opened in the repository or in ``book/``),
or from the installed package (Colab, Binder, a plain ``pip install``).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

__all__ = ["path", "locations"]

# rnncourse/, the package folder this module lives in (two levels up: data/bookdata.py)
_PACKAGE = Path(__file__).resolve().parents[1]
_PACKAGED = _PACKAGE / "_bookdata"


def locations() -> list[Path]:
    """The folders searched for a book data file, in order.

    1. ``book/data`` of the repository this package was imported from (an
       editable install, or the repository's root on ``sys.path``);
    2. ``book/data`` or ``data`` under the current folder, when it is the
       repository's root or its ``book/`` folder (``book/data`` is then ``./data``);
    3. the copy shipped inside the installed package.
    """
    found: list[Path] = [_PACKAGE.parent / "book" / "data"]
    cwd = Path.cwd()
    found.append(cwd / "book" / "data")
    if (cwd / "data").is_dir() and (cwd.name == "book" or (cwd.parent / "_config.yml").is_file()):
        found.append(cwd / "data")
    found.append(_PACKAGED)
    unique: list[Path] = []
    for folder in found:
        if folder not in unique:
            unique.append(folder)
    return unique


def _checked(relative: str) -> PurePosixPath:
    if not isinstance(relative, str | PurePosixPath) or not str(relative).strip():
        raise ValueError(f"bookdata.path expects a path under book/data/ such as "
                         f"'ch06_lstm/adding_results.json', got {relative!r}")
    text = str(relative).replace("\\", "/")
    for prefix in ("book/data/", "data/"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    rel = PurePosixPath(text)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise ValueError(f"bookdata.path expects a relative path inside book/data/, "
                         f"got {relative!r}")
    return rel


def path(relative: str) -> Path:
    """The file (or folder) ``book/data/<relative>`` as a local path.

    ``relative`` is the path under ``book/data/``, e.g.
    ``"ch09/reverse_attention.pt"`` or ``"ch10"`` (a leading ``book/data/`` or
    ``data/`` is accepted too, so ``path("data/ch09/x.pt")`` is what a notebook in
    ``book/`` used to open as ``"data/ch09/x.pt"``). Raises ``FileNotFoundError``
    naming every folder searched.
    """
    rel = _checked(relative)
    searched = locations()
    for folder in searched:
        candidate = folder.joinpath(*rel.parts)
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"book data file {rel.as_posix()!r} not found; searched: "
        + ", ".join(str(f) for f in searched)
        + ". Run the chapter from the course repository, or install the rnncourse package "
        "(the chapter's first cell does)."
    )
