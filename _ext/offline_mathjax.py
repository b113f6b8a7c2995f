"""Serve MathJax from the built site itself, so that equations render offline.

Jupyter Book loads MathJax 3 from a CDN by default; in a classroom without a
network, no equation renders. The PyPI package ``django-static-mathjax``
(no dependencies, despite its name) ships MathJax 3.2.2. This Sphinx extension
copies the part of it that a page needs -- ``tex-chtml.js``, the TeX input
extensions and the CHTML woff-v2 fonts, about 2 MB -- into ``_static/mathjax/``
of the build; ``_config.yml`` points ``mathjax_path`` at it.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError

_NEEDED = ("tex-chtml.js", "input/tex/extensions", "output/chtml/fonts/woff-v2")


def _mathjax_es5() -> Path:
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionError(
            "offline_mathjax: the package django-static-mathjax is not installed "
            "(pip install django-static-mathjax, or run `make book`)"
        )
    es5 = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    if not (es5 / "tex-chtml.js").is_file():
        raise ExtensionError(f"offline_mathjax: no MathJax 3 es5 build found under {es5}")
    return es5


def _stage(app: Sphinx, config: Config) -> None:
    es5 = _mathjax_es5()
    root = Path(app.outdir).parent / "offline-assets"  # _build/offline-assets
    target = root / "mathjax"
    if not (target / "tex-chtml.js").is_file():
        for part in _NEEDED:
            src, dst = es5 / part, target / part
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            else:
                shutil.copy2(src, dst)
    if str(root) not in map(str, config.html_static_path):  # offline_widgets adds it too
        config.html_static_path = [*config.html_static_path, str(root)]


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("config-inited", _stage)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
