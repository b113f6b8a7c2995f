"""_ext/site_settings.py: the site's addresses, and a sitemap that stays whole."""

from __future__ import annotations

import queue
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_ext"))
import site_settings  # noqa: E402

pytest.importorskip("sphinx_sitemap")


def test_pages_url_of_a_github_repository() -> None:
    assert site_settings.pages_url("https://github.com/rnncourse/rnncourse") == \
        "https://rnncourse.github.io/rnncourse/"


def _app(written: list[str], found: list[str]) -> SimpleNamespace:
    """What sphinx-sitemap's handlers read of a Sphinx application, after a build that
    rewrote only ``written`` of the ``found`` pages."""
    links: queue.Queue = queue.Queue()
    config = SimpleNamespace(html_file_suffix=None, sitemap_show_lastmod=False,
                             sitemap_excludes=["search.html"])
    app = SimpleNamespace(config=config, sitemap_links=links)
    env = SimpleNamespace(found_docs=set(found), is_directory_builder=False, app=app,
                          git_last_updated={})
    app.env = env
    app.builder = SimpleNamespace(format="html", env=env, config=config)
    for page in written:
        links.put((page + ".html", None))
    return app


def _drain(links: queue.Queue) -> list[str]:
    out = []
    while not links.empty():
        out.append(links.get_nowait()[0])
    return out


def test_an_incremental_build_still_lists_every_page() -> None:
    # sphinx-sitemap alone would list book/ch03 only: the one page this build rewrote.
    app = _app(["book/ch03"], ["intro", "book/ch03", "book/ch04", "search"])
    site_settings._sitemap_every_page(app, None)
    assert sorted(_drain(app.sitemap_links)) == ["book/ch03.html", "book/ch04.html",
                                                 "intro.html"]


def test_a_full_build_is_left_alone_and_a_failed_one_untouched() -> None:
    app = _app(["intro", "book/ch03"], ["intro", "book/ch03"])
    site_settings._sitemap_every_page(app, None)
    assert sorted(_drain(app.sitemap_links)) == ["book/ch03.html", "intro.html"]
    app = _app([], ["intro"])
    site_settings._sitemap_every_page(app, RuntimeError("the build failed"))
    assert _drain(app.sitemap_links) == []


def test_the_404_page_lists_the_book_in_reading_order() -> None:
    # intro includes a part with two chapters, the second of which has a section;
    # a page listed twice (here ch01, also a child of ch02) appears once, first.
    includes = {"intro": ["ch01", "ch02", "refs"], "ch02": ["ch02_more", "ch01"]}
    env = SimpleNamespace(toctree_includes=includes)
    assert site_settings._toc_order(env, "intro") == ["intro", "ch01", "ch02", "ch02_more",
                                                      "refs"]
    body = site_settings._not_found_body("/course/", "intro",
                                         [("intro", "Welcome"), ("ch01", "RNNs & <you>")])
    assert '<a href="/course/intro.html">the first page</a>' in body
    assert '<a href="/course/search.html">search</a>' in body
    assert '<li><a href="/course/ch01.html">RNNs &amp; &lt;you&gt;</a></li>' in body
    assert "menu" not in body


def test_the_layout_filter_drops_exactly_the_named_assets() -> None:
    import page_fixes

    head = (
        '  <script defer src="../_static/scripts/fontawesome.js?digest=55c2"></script>\n'
        '  <link rel="preload" as="script" href="../_static/scripts/bootstrap.js?d=1" />\n'
        '    <script src="../searchindex.js"></script>\n'
        '    <script src="../mysearchindex.js"></script>\n'
    )
    out = page_fixes.without(head, "_static/scripts/fontawesome.js", "searchindex.js")
    assert out == (
        '  <link rel="preload" as="script" href="../_static/scripts/bootstrap.js?d=1" />\n'
        '    <script src="../mysearchindex.js"></script>\n'
    )
    assert page_fixes.without(head, "bootstrap.js").count("bootstrap") == 0
