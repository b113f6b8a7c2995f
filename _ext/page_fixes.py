"""Small fixes to what every page loads, so that a page opens without console errors.

* sphinx-thebe (loaded by Jupyter Book even with Thebe off) registers its inline
  configuration script once per reading pass; a page that lists it twice throws
  "Identifier 'THEBE_JS_URL' has already been declared". Each script is kept once.
"""

from __future__ import annotations

from sphinx.application import Sphinx


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


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
