"""The interactive figures that need no kernel (rnncourse.figures.explore).

An explorer holds one frame per combination of its sliders' positions; these tests check
the bookkeeping (which frame a position shows), the HTML (one range input and readout per
slider, every frame present, exactly one shown, nothing loaded from elsewhere) and that
its figures have twice the pixels of their displayed width. tests/test_site.py moves the
sliders of the book's explorers in a browser and checks that the figure changes.
"""

from __future__ import annotations

import base64
import re

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from rnncourse.figures import FIGURE_DENSITY  # noqa: E402
from rnncourse.figures.explore import Explorer, explore  # noqa: E402
from tests.test_figure_density import png_size  # noqa: E402


def _texts(html: str) -> list[tuple[bool, str]]:
    return [(bool(hidden), text) for hidden, text in
            re.findall(r'<pre class="rnncourse-explorer-frame"( hidden)?>(.*?)</pre>', html)]


def test_positions_select_frames_last_slider_fastest() -> None:
    ex = Explorer([("a", ["0", "1", "2"]), ("b", ["x", "y"])],
                  [f"{a}{b}" for a in "012" for b in "xy"], start=[2, 1])
    assert ex.strides() == [2, 1]
    # every position, by hand: frame "ab" sits at a * 2 + b
    for a in range(3):
        for b in range(2):
            assert ex.frames[ex.index([a, b])][1] == f"{a}{'xy'[b]}"
    html = ex._repr_html_()
    assert _texts(html) == [(i != 5, t) for i, t in
                            enumerate(["0x", "0y", "1x", "1y", "2x", "2y"])]
    assert html.count('type="range"') == 2
    assert 'data-labels="[&quot;0&quot;, &quot;1&quot;, &quot;2&quot;]"' in html
    assert 'value="2" data-stride="2"' in html and 'value="1" data-stride="1"' in html
    assert "<output" in html and "<script>" in html


def test_html_is_self_contained_and_escaped() -> None:
    html = Explorer([("<n>", ["a&b"])], ["<b>not bold</b>"])._repr_html_()
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html and "&lt;n&gt;" in html
    # nothing fetched: no src or href other than inlined data
    assert not re.search(r'(src|href)="(?!data:)', html)
    assert "http" not in html


def test_wrong_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="2 slider combinations but 3 frames"):
        Explorer([("a", ["0", "1"])], ["x", "y", "z"])
    with pytest.raises(ValueError, match="start"):
        Explorer([("a", ["0", "1"])], ["x", "y"], start=[2])
    with pytest.raises(ValueError, match="at least one slider"):
        Explorer([], [])


def test_figures_are_inlined_at_twice_their_displayed_width() -> None:
    def draw(k: int):
        fig, ax = plt.subplots(figsize=(4.0, 2.0))
        ax.plot([0, 1], [0, k])
        return fig

    before = len(plt.get_fignums())
    ex = explore([("k", ["1", "2"])], draw, [[1, 2]], alt="line of slope {}")
    assert len(plt.get_fignums()) == before  # every frame's figure closed
    html = ex._repr_html_()
    imgs = re.findall(r'<img class="rnncourse-explorer-frame"( hidden)? alt="([^"]*)" '
                      r'style="width: (\d+)px" src="data:image/png;base64,([^"]+)"', html)
    assert [(h, alt) for h, alt, _, _ in imgs] == [("", "line of slope 1"),
                                                   (" hidden", "line of slope 2")]
    for _, _, shown, b64 in imgs:
        width, height = png_size(base64.b64decode(b64))
        assert int(shown) == 400                       # 4 in at 100 CSS px per inch
        assert (width, height) == (400 * FIGURE_DENSITY, 200 * FIGURE_DENSITY)
