"""Small fixes to what every page loads: no console errors, nothing loaded twice.

* sphinx-thebe (loaded by Jupyter Book even with Thebe off) registers its inline
  configuration script once per reading pass; a page that lists it twice throws
  "Identifier 'THEBE_JS_URL' has already been declared". Each script is kept once.
* The theme (pydata-sphinx-theme) loads Font Awesome twice on every page: its CSS
  draws the icons with Font Awesome's web fonts, and ``fontawesome.js`` (1.5 MB)
  draws them again as SVG. It also loads the search index (``searchindex.js``, with
  ``searchtools.js`` and ``language_data.js``) on every page, which only its "search
  as you type" option (off here) uses; the search page loads them itself.
  ``templates/layout.html`` extends the theme's layout and drops these tags from its
  blocks with the ``rnncourse_without`` filter defined here.
"""

from __future__ import annotations

import re
from pathlib import Path

from markupsafe import Markup
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError

_TEMPLATES = Path(__file__).resolve().parent / "templates"


def _script_key(script: object) -> tuple[str, str]:
    filename = str(getattr(script, "filename", script) or "")
    attributes = getattr(script, "attributes", {}) or {}
    return filename, str(sorted(attributes.items()))


def _dedupe_scripts(app: Sphinx, pagename: str, templatename: str, context: dict,
                    doctree: object) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def without(markup: str, *names: str) -> Markup:
    """``markup`` less its ``<script src>`` and ``<link href>`` tags that load ``names``.

    A name matches the end of the URL's path (before any ``?query``), at a ``/``:
    ``searchindex.js`` matches ``../searchindex.js?v=1`` but not ``mysearchindex.js``.
    """
    for name in names:
        url = r'"(?:[^"]*/)?' + re.escape(name) + r'(?:\?[^"]*)?"'
        markup = re.sub(r"[ \t]*<script\b[^>]*\bsrc=" + url + r"[^>]*>\s*</script>[ \t]*\n?",
                        "", str(markup))
        markup = re.sub(r"[ \t]*<link\b[^>]*\bhref=" + url + r"[^>]*/?>[ \t]*\n?", "", markup)
    return Markup(markup)


def _add_templates(app: Sphinx, config: Config) -> None:
    if not (_TEMPLATES / "layout.html").is_file():
        raise ConfigError(f"page_fixes: {_TEMPLATES / 'layout.html'} is missing")
    if str(_TEMPLATES) not in map(str, config.templates_path):
        config.templates_path = [*config.templates_path, str(_TEMPLATES)]


def _add_filter(app: Sphinx) -> None:
    templates = getattr(app.builder, "templates", None)
    environment = getattr(templates, "environment", None)
    if environment is not None:
        environment.filters["rnncourse_without"] = without


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("config-inited", _add_templates)
    app.connect("builder-inited", _add_filter)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
