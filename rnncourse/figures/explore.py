"""Interactive figures that need no kernel: every slider position drawn in advance.

An ipywidgets slider redraws its figure by asking the kernel; on the static website there
is none, so the figure never changed. :class:`Explorer` instead draws the figure (or the
text) for every position of its sliders when the notebook runs, and shows them as one
self-contained HTML output: range inputs, a readout, the frames (PNG images inlined as
``data:`` URLs, or preformatted text) and a few lines of JavaScript that show the frame
of the sliders' current positions. Nothing is loaded from anywhere; it works on the
website, in a saved notebook opened offline, and in Jupyter.

Figures are saved like the book's other figures: ``FIGURE_DENSITY`` times the pixels of
their displayed size (the ``<img>`` declares the 100-dpi width), reduced to a 128-colour
palette (matplotlib's line figures use few colours; this more than halves their size).
tests/test_explore.py checks the HTML, tests/test_site.py moves the sliders in a browser.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from rnncourse.figures import FIGURE_DENSITY

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# The frames' script: one per explorer, run where the explorer is (website, Jupyter).
# The sliders' positions select frame sum(position_i * stride_i); the readout shows the
# value's label. Idempotent: an explorer is wired once.
_SCRIPT = """
(function (root) {
  if (!root || root.dataset.rnncourseReady) return;
  root.dataset.rnncourseReady = "true";
  var inputs = root.querySelectorAll("input[type=range]");
  var frames = root.querySelectorAll(".rnncourse-explorer-frame");
  function show() {
    var at = 0;
    Array.prototype.forEach.call(inputs, function (input) {
      var labels = JSON.parse(input.dataset.labels);
      var value = labels[Number(input.value)];
      input.setAttribute("aria-valuetext", value);
      root.querySelector("output[for='" + input.id + "']").textContent = value;
      at += Number(input.value) * Number(input.dataset.stride);
    });
    Array.prototype.forEach.call(frames, function (frame, i) { frame.hidden = i !== at; });
  }
  Array.prototype.forEach.call(inputs, function (input) {
    input.addEventListener("input", show);
  });
  show();
})(document.currentScript && document.currentScript.closest(".rnncourse-explorer"));
"""

# How an explorer looks wherever it is shown (the website, Jupyter): one row per slider
# (name, range, readout), the figure below at most as wide as the column, text wrapped.
_STYLE = """<style>
.rnncourse-explorer-controls { display: grid; grid-template-columns: auto minmax(6em, 22em) auto;
  gap: 0.3em 0.8em; align-items: center; margin: 0.4em 0; }
.rnncourse-explorer-controls input[type=range] { width: 100%; margin: 0; }
.rnncourse-explorer-controls output { font-variant-numeric: tabular-nums; min-width: 3ch;
  font-weight: 600; }
.rnncourse-explorer img.rnncourse-explorer-frame { max-width: 100%; height: auto; }
.rnncourse-explorer pre.rnncourse-explorer-frame { white-space: pre-wrap;
  overflow-wrap: anywhere; }
.rnncourse-explorer [hidden] { display: none !important; }
</style>"""

_counter = itertools.count()


def figure_png(fig: Figure) -> tuple[bytes, int]:
    """``fig`` as a palette PNG at ``FIGURE_DENSITY`` x its 100-dpi size, and that width.

    Drawn once at the figure's own size (its functions lay it out with ``tight_layout``)
    and resolution ``100 * FIGURE_DENSITY`` dpi, reduced to 128 colours (fast octree: the
    book's line figures have a handful of colours and their anti-aliased edges). The
    figure stays open (:class:`Explorer` closes it). Returns (PNG bytes, displayed width
    in CSS px).
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    if fig.get_dpi() != 100 * FIGURE_DENSITY:
        fig.set_dpi(100 * FIGURE_DENSITY)
    # the figure's own canvas when it can draw (pyplot's, the inline backend's): it keeps
    # its renderer, and with it matplotlib's caches, from one frame to the next
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    image = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3])
    small = io.BytesIO()
    image.quantize(128, method=Image.Quantize.FASTOCTREE,
                   dither=Image.Dither.NONE).save(small, format="png")
    return small.getvalue(), round(image.width / FIGURE_DENSITY)


class Explorer:
    """Sliders over precomputed frames; displayed as one HTML output.

    Args:
        sliders: ``(name, value labels)`` per slider, e.g. ``("radius", ["0.50", ...])``.
        frames: one per combination of positions, the last slider varying fastest: a
            matplotlib figure (saved as a PNG, then closed) or a string (shown as
            preformatted text). An iterator is consumed one frame at a time, so that
            only one figure is open at once; it may also yield one figure, redrawn for
            every frame (closed at the end).
        start: the starting position of each slider (default: all 0).
        alt: the figure's alt text (a ``{}`` in it is filled with the readouts).
        caption: one sentence above the sliders saying what moving them shows.
    """

    def __init__(self, sliders: Sequence[tuple[str, Sequence[str]]],
                 frames: Iterable[Figure | str], *, start: Sequence[int] | None = None,
                 alt: str = "", caption: str = "") -> None:
        sliders = [(str(name), [str(v) for v in values]) for name, values in sliders]
        if not sliders or any(not values for _, values in sliders):
            raise ValueError("an explorer needs at least one slider, each with a value")
        total = 1
        for _, values in sliders:
            total *= len(values)
        start = list(start) if start is not None else [0] * len(sliders)
        if len(start) != len(sliders) or any(
                not 0 <= s < len(v) for s, (_, v) in zip(start, sliders, strict=True)):
            raise ValueError(f"start {start} is not a position of every slider")
        self.sliders, self.start, self.alt, self.caption = sliders, start, alt, caption
        import matplotlib.pyplot as plt

        self.frames: list[tuple[str, bytes | str, int]] = []
        last = None
        for frame in frames:  # one at a time: a figure is saved and closed before the next
            if last is not None and frame is not last:
                plt.close(last)
            if isinstance(frame, str):
                self.frames.append(("text", frame, 0))
                last = None
            else:  # a new figure, or the last one drawn again
                png, width = figure_png(frame)
                self.frames.append(("png", png, width))
                last = frame
        if last is not None:
            plt.close(last)
        if len(self.frames) != total:
            raise ValueError(f"{total} slider combinations but {len(self.frames)} frames")

    def strides(self) -> list[int]:
        """How far one step of each slider moves in the list of frames."""
        out, step = [], 1
        for _, values in reversed(self.sliders):
            out.append(step)
            step *= len(values)
        return out[::-1]

    def index(self, positions: Sequence[int]) -> int:
        """The frame shown at these slider positions."""
        return sum(p * s for p, s in zip(positions, self.strides(), strict=True))

    def _repr_html_(self) -> str:
        uid = f"rnncourse-explorer-{next(_counter)}"
        shown = self.index(self.start)
        parts = [f'<div class="rnncourse-explorer" id="{uid}">', _STYLE]
        if self.caption:
            parts.append(f'<p class="rnncourse-explorer-caption">{html.escape(self.caption)}'
                         "</p>")
        parts.append('<div class="rnncourse-explorer-controls">')
        for k, ((name, values), stride, at) in enumerate(
                zip(self.sliders, self.strides(), self.start, strict=True)):
            sid = f"{uid}-s{k}"
            labels = html.escape(json.dumps(values), quote=True)
            parts.append(
                f'<label for="{sid}">{html.escape(name)}</label>'
                f'<input type="range" id="{sid}" min="0" max="{len(values) - 1}" step="1" '
                f'value="{at}" data-stride="{stride}" data-labels="{labels}" '
                f'aria-valuetext="{html.escape(values[at])}">'
                f'<output for="{sid}">{html.escape(values[at])}</output>')
        parts.append("</div>")
        for i, (kind, data, width) in enumerate(self.frames):
            hidden = "" if i == shown else " hidden"
            if kind == "png":
                position = [values[(i // s) % len(values)] for (_, values), s in
                            zip(self.sliders, self.strides(), strict=True)]
                alt = html.escape(self.alt.format(", ".join(position)) if self.alt else
                                  ", ".join(position), quote=True)
                b64 = base64.b64encode(data).decode("ascii")
                parts.append(f'<img class="rnncourse-explorer-frame"{hidden} alt="{alt}" '
                             f'style="width: {width}px" '
                             f'src="data:image/png;base64,{b64}">')
            else:
                parts.append(f'<pre class="rnncourse-explorer-frame"{hidden}>'
                             f"{html.escape(data)}</pre>")
        parts.append(f"<script>{_SCRIPT}</script></div>")
        return "".join(parts)

    def __repr__(self) -> str:
        dims = " x ".join(f"{len(v)} {name}" for name, v in self.sliders)
        return f"<Explorer: {dims} ({len(self.frames)} frames drawn in advance)>"


def explore(sliders: Sequence[tuple[str, Sequence[str]]],
            draw: Callable[..., Figure | str], values: Sequence[Sequence[object]],
            **kwargs: object) -> Explorer:
    """An :class:`Explorer` whose frame at each combination is ``draw(*combination)``.

    ``values[i]`` are the arguments that slider ``i``'s positions stand for, in the order of
    ``sliders[i]``'s labels.
    """
    if len(values) != len(sliders):
        raise ValueError(f"{len(sliders)} sliders but {len(values)} lists of values")
    frames = (draw(*combo) for combo in itertools.product(*values))
    return Explorer(sliders, frames, **kwargs)
