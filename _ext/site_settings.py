"""Derive every site address from the one repository URL in ``_config.yml``.

``repository.url`` (and ``repository.branch``) in ``_config.yml`` are the only
place that names the course's repository: Jupyter Book forms the launch
buttons (Binder, Colab), the repository, issues and edit buttons from them, and
``scripts/install_cell.py`` writes them into each chapter's install cell and
exercise links. This extension derives the rest when ``_config.yml`` leaves it
empty:

* ``html_baseurl`` -- where the site is published; by default the repository's
  GitHub Pages address, ``https://OWNER.github.io/NAME/``. The sitemap
  (sphinx-sitemap) and the canonical and OpenGraph URLs are built on it.
* ``ogp_site_url`` and ``ogp_image`` (sphinxext-opengraph): link previews with
  the course logo.
* ``notfound_urls_prefix`` (sphinx-notfound-page): the path of the site on its
  server, so that the 404 page, served at any depth, finds its styles; and the 404
  page's text, which links every page of the book in reading order.

It also keeps the sitemap whole on an incremental build: sphinx-sitemap lists the
pages written by *this* build, so after editing one chapter ``make book`` would
publish a sitemap of that chapter alone. :func:`_sitemap_every_page` adds the
pages that this build did not rewrite.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.environment import BuildEnvironment
from sphinx.errors import ConfigError

_GITHUB = re.compile(r"https://github\.com/(?P<owner>[\w.-]+)/(?P<name>[\w.-]+?)(?:\.git)?/?")


def pages_url(repository_url: str) -> str:
    """The GitHub Pages address of a GitHub repository (with a trailing slash)."""
    match = _GITHUB.fullmatch(repository_url)
    if match is None:
        raise ConfigError(
            f"site_settings: cannot derive the site's address from repository.url "
            f"{repository_url!r} (not https://github.com/OWNER/NAME): set html.baseurl "
            "in _config.yml"
        )
    owner, name = match["owner"], match["name"]
    if name.lower() == f"{owner.lower()}.github.io":
        return f"https://{owner.lower()}.github.io/"
    return f"https://{owner.lower()}.github.io/{name}/"


def _derive(app: Sphinx, config: Config) -> None:
    options = config.html_theme_options or {}
    repository = str(options.get("repository_url") or "").rstrip("/")
    if not config.html_baseurl:
        if not repository:
            raise ConfigError("site_settings: _config.yml sets neither repository.url "
                              "nor html.baseurl")
        config.html_baseurl = pages_url(repository)
    if not config.html_baseurl.endswith("/"):
        config.html_baseurl += "/"
    if not getattr(config, "ogp_site_url", None):
        config.ogp_site_url = config.html_baseurl
    if not getattr(config, "ogp_image", None) and config.html_logo:
        config.ogp_image = config.html_baseurl + "_static/logo.png"
    if not getattr(config, "ogp_site_name", None):
        config.ogp_site_name = config.html_title or config.project
    prefix = urlsplit(config.html_baseurl).path or "/"
    config.notfound_urls_prefix = prefix
    config.notfound_context = {"title": "Page not found", "body": _not_found_body(prefix)}


def _not_found_body(prefix: str, root: str = "index",
                    pages: list[tuple[str, str]] | None = None) -> str:
    """The 404 page's text: the way home, the search page and every page of the book."""
    items = "".join(f'<li><a href="{prefix}{docname}.html">{html.escape(title)}</a></li>\n'
                    for docname, title in pages or [])
    return (
        "<h1>Page not found</h1>\n<p>There is no page at this address in the course. "
        f'Start again from <a href="{prefix}{root}.html">the first page</a>, '
        f'<a href="{prefix}search.html">search</a> for what you were looking for, '
        "or open one of the book's pages:</p>\n"
        + (f'<ul class="rnncourse-404-pages">\n{items}</ul>' if items else "")
    )


def _toc_order(env: BuildEnvironment, root: str) -> list[str]:
    """The documents of the book in reading order (depth first through the toctrees)."""
    order: list[str] = []
    stack = [root]
    while stack:
        docname = stack.pop()
        if docname in order:
            continue
        order.append(docname)
        stack.extend(reversed(env.toctree_includes.get(docname, [])))
    return order


def _not_found_pages(app: Sphinx) -> list:
    """Before sphinx-notfound-page writes 404.html, list every page of the book in it."""
    env, config = app.env, app.config
    root = str(config.root_doc or "index")
    pages = [(d, env.titles[d].astext()) for d in _toc_order(env, root) if d in env.titles]
    prefix = str(config.notfound_urls_prefix or "/")
    config.notfound_context = {**config.notfound_context,
                               "body": _not_found_body(prefix, root, pages)}
    return []


def _sitemap_every_page(app: Sphinx, exception: Exception | None) -> None:
    """Before sphinx-sitemap writes ``sitemap.xml``, queue the pages it did not see."""
    links = getattr(app, "sitemap_links", None)
    if exception is not None or links is None or app.builder.format != "html":
        return
    from sphinx_sitemap import add_html_link

    suffix = app.config.html_file_suffix or ".html"
    seen = []  # a multiprocessing queue: drain it to see what it holds, then refill it
    while not links.empty():
        seen.append(links.get_nowait())
    for item in seen:
        links.put(item)
    queued = {link for link, _ in seen}
    for docname in sorted(app.env.found_docs):
        if docname + suffix not in queued:
            add_html_link(app, docname, None, None, None)


def setup(app: Sphinx) -> dict[str, object]:
    # After Jupyter Book has mapped _config.yml onto the Sphinx configuration.
    app.connect("config-inited", _derive, priority=900)
    # Before sphinx-notfound-page's html-collect-pages handler (priority 500).
    app.connect("html-collect-pages", _not_found_pages, priority=400)
    # Before sphinx-sitemap's own build-finished handler (priority 500).
    app.connect("build-finished", _sitemap_every_page, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
