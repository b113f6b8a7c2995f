"""Every figure stored in the book is sharp on phones and high-density screens.

Figures are saved at ``FIGURE_DENSITY`` (2) image pixels per CSS pixel: a PNG at 200 dpi
whose output metadata gives its 100-dpi ("1x") width and height, which MyST-NB writes
into the page's ``<img>`` so that the figure keeps its displayed size
(``rnncourse/figures/__init__.py`` sets IPython's "retina" format). A PNG stored without
that width is shown at its own pixel size: 1x.

The frames of the interactive figures (``rnncourse.figures.explore``) are PNGs inlined in
an HTML output; each ``<img>`` declares its displayed width (``style="width: …px"``) and is
checked here as well.
"""

from __future__ import annotations

import base64
import json
import re
import struct
from pathlib import Path

import pytest

from rnncourse.figures import FIGURE_DENSITY

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))

# Chapters whose stored outputs predate the 2x figures: they are being split or edited
# on other branches and are re-executed after the merge. Empty this list then.
NOT_YET_REEXECUTED: set[str] = set()

_EXPLORER_IMG = re.compile(r'<img class="rnncourse-explorer-frame"[^>]*?style="width: (\d+)px"'
                           r'[^>]*?src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) in pixels, read from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR", "a PNG starts with its IHDR chunk"
    return struct.unpack(">II", data[16:24])


def figures(path: Path) -> list[tuple[str, int, float | None]]:
    """(where, pixel width, displayed width or None) of every PNG that ``path`` stores."""
    found = []
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for i, cell in enumerate(cells):
        for k, out in enumerate(cell.get("outputs", [])):
            data = out.get("data", {})
            if "image/png" in data:
                width, _ = png_size(base64.b64decode(data["image/png"]))
                shown = out.get("metadata", {}).get("image/png", {}).get("width")
                found.append((f"cell {i} output {k}", width, shown))
            html = "".join(data.get("text/html", ""))
            for j, (shown, b64) in enumerate(_EXPLORER_IMG.findall(html)):
                width, _ = png_size(base64.b64decode(b64))
                found.append((f"cell {i} output {k} image {j}", width, float(shown)))
    return found


def test_png_size_reads_a_known_png() -> None:
    # 3 x 2 pixels, made by hand (IHDR only: the size is all that is read)
    ihdr = struct.pack(">II", 3, 2) + bytes([8, 2, 0, 0, 0])
    assert png_size(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr) == (3, 2)


def test_the_book_stores_figures() -> None:
    # the check below must not pass vacuously
    assert sum(len(figures(p)) for p in NOTEBOOKS) >= 40


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=pytest.mark.xfail(
        reason="stored before the 2x figures; re-executed after the merge", strict=True))
    if p.stem in NOT_YET_REEXECUTED else p
    for p in NOTEBOOKS], ids=lambda p: p.stem)
def test_every_figure_has_twice_the_pixels_of_its_displayed_width(path: Path) -> None:
    assert FIGURE_DENSITY >= 2
    soft = [f"{where}: {width} px shown at {shown if shown else width} px"
            for where, width, shown in figures(path)
            if not shown or width < FIGURE_DENSITY * float(shown) - 1]
    assert not soft, f"{path.name}: figures under {FIGURE_DENSITY}x: {soft}"
