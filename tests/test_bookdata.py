"""rnncourse.data.bookdata.path in a checkout of the repository (the installed-wheel case is
in tests/test_launch.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rnncourse.data import bookdata

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "book" / "data"
FILES = sorted(p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file())


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_there_is_book_data() -> None:
    assert any(f.endswith(".pt") for f in FILES) and any(f.endswith(".json") for f in FILES)


@pytest.mark.parametrize("relative", FILES)
def test_every_file_resolves_to_book_data(relative: str) -> None:
    found = bookdata.path(relative)
    assert found.resolve() == (DATA / relative).resolve()
    assert _sha(found) == _sha(DATA / relative)


@pytest.mark.parametrize("where", [".", "book", "/"])
def test_resolution_does_not_depend_on_the_folder(where: str, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path if where == "/" else ROOT / where)
    relative = FILES[0]
    assert bookdata.path(relative).resolve() == (DATA / relative).resolve()
    # the spellings a notebook might use for the same file
    assert bookdata.path("data/" + relative) == bookdata.path(relative)
    assert bookdata.path("book/data/" + relative) == bookdata.path(relative)


@pytest.mark.parametrize("bad", ["", "   ", "../pyproject.toml", "/etc/passwd", "ch06/../../x"])
def test_bad_paths_are_refused_by_name(bad: str) -> None:
    with pytest.raises(ValueError, match="book/data"):
        bookdata.path(bad)


def test_missing_file_names_the_folders_searched() -> None:
    with pytest.raises(FileNotFoundError) as err:
        bookdata.path("ch06_lstm/no_such_weights.pt")
    message = str(err.value)
    assert "no_such_weights.pt" in message and str(DATA) in message
