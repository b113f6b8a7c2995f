"""The download button's ".pdf" entry gives the whole book as a PDF, not ``window.print()``.

sphinx-book-theme's download menu prints the page in view (``window.print()``), which
printed the navigation and clipped wide code and equations. The entry links
``rnncourse.pdf`` at the site's root instead: the book printed by
``scripts/build_pdf.py`` (``make book`` runs it after the HTML build; it writes
``_build/pdf/rnncourse.pdf`` and copies it into ``_build/html/``). When the HTML alone is
rebuilt (``make html``), the last PDF built is copied into the site again here.
tests/test_pdf.py checks the PDF; tests/test_site.py checks that the link resolves.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

PDF_NAME = "rnncourse.pdf"


def _built_pdf(app: Sphinx) -> Path:
    return Path(app.srcdir) / "_build" / "pdf" / PDF_NAME


def _link_pdf(app: Sphinx, pagename: str, templatename: str, context: dict,
              doctree: object) -> None:
    pathto = context.get("pathto")
    if pathto is None:
        return
    for group in context.get("header_buttons") or []:
        for i, button in enumerate(group.get("buttons") or []):
            if button.get("label") == "download-pdf-button":
                group["buttons"][i] = {
                    "type": "link",
                    "url": pathto(PDF_NAME, 1),
                    "text": ".pdf",
                    "tooltip": "The whole book as a PDF",
                    "icon": "fas fa-file-pdf",
                    "label": "download-pdf-button",
                }


def _copy_pdf(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source = _built_pdf(app)
    if source.is_file():
        shutil.copyfile(source, Path(app.outdir) / PDF_NAME)
    else:
        logger.info("book_pdf: %s is not built yet (make book builds it)", source)


def setup(app: Sphinx) -> dict[str, object]:
    # after sphinx-book-theme's add_header_buttons (priority 501)
    app.connect("html-page-context", _link_pdf, priority=600)
    app.connect("build-finished", _copy_pdf)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
