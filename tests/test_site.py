"""The website as readers see it: the built book opened in a real browser, offline.

`make test` builds the book first, then this module serves ``_build/html`` on
127.0.0.1, opens every page in Chromium (driven by Playwright, Debian's
``chromium``, no ``playwright install``) and aborts every request to another
host. One crawl (the ``site`` fixture) records what each page did; the tests
below then check it: no console errors, no request leaving the site, every
image loaded, every internal link (and its #anchor) resolves, equations and
widgets rendered, search, download and launch buttons, copy buttons, exercise
links. Desktop (1280 px) and phone (390 px) screenshots of every page are saved
under ``_build/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Whole-page screenshots; JPEG is several times faster to encode than PNG for tall pages.
SHOT, SHOT_ARGS = "jpg", {"type": "jpeg", "quality": 80}
# A term of the LSTM chapter, and of a chapter that is always there (a control).
LSTM_DOC, LSTM_TERM = "book/ch06_lstm", "forget gate"
CONTROL_DOC, CONTROL_TERM = "book/ch04_bptt", "backpropagation"
SKIP_DIRS = ("_static", "_sources", "_images", "_downloads")
_REFRESH = re.compile(r'http-equiv="refresh"[^>]*content="\d+;\s*url=([^"]+)"', re.IGNORECASE)

# Run in the page once it has loaded: wait for MathJax and the widgets, make
# lazy images load, and report what the page shows.
_INSPECT = """
async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const views = document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]').length;
  const hasState = !!document.querySelector(
    'script[type="application/vnd.jupyter.widget-state+json"]');
  for (let i = 0; hasState && i < 100; i++) {
    if (document.querySelectorAll('.widget-subarea > *').length >= views) break;
    await sleep(100);
  }
  const imgs = Array.from(document.images);
  imgs.forEach((img) => { img.loading = 'eager'; });
  const loaded = await Promise.all(imgs.map((img) => img.decode().then(
    () => img.naturalWidth > 0, () => false)));
  const outputs = Array.from(document.querySelectorAll('div.cell_output'));
  const links = Array.from(document.querySelectorAll('a[href]')).map((a) => a.href);
  return {
    images: imgs.map((img, i) => [img.currentSrc || img.src, loaded[i]]),
    links: links,
    mathSource: document.querySelectorAll('.math').length,
    mathRendered: document.querySelectorAll('mjx-container').length,
    mathErrors: document.querySelectorAll('mjx-merror').length,
    widgetState: hasState,
    widgetViews: views,
    widgetsRendered: Array.from(document.querySelectorAll('.widget-subarea'))
      .filter((w) => w.getBoundingClientRect().height > 0).length,
    emptyOutputs: outputs.filter((o) => o.getBoundingClientRect().height === 0
      && getComputedStyle(o).display !== 'none').length,
    codeBlocks: document.querySelectorAll('div.highlight pre').length,
    copyButtons: document.querySelectorAll('button.copybtn').length,
    download: Array.from(document.querySelectorAll('.dropdown-download-buttons a'))
      .map((a) => a.href),
    launch: Array.from(document.querySelectorAll('.dropdown-launch-buttons a'))
      .map((a) => a.href),
  };
}
"""


@dataclass
class Page:
    """What one page did when it was opened."""

    path: str
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Site:
    base: str
    pages: dict[str, Page]
    seconds: float
    search: dict[str, list[str]]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the browser closes connections it no longer needs (broken pipes)


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    if not (HTML / "index.html").is_file():
        pytest.fail(
            f"{HTML.relative_to(ROOT)}/index.html is missing: build the book first "
            "(`make book`, or `make test`, which builds it before running pytest)",
            pytrace=False,
        )
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _chromium() -> str:
    path = os.environ.get("RNNCOURSE_CHROMIUM") or shutil.which("chromium") or ""
    if not Path(path).is_file():
        pytest.fail(
            "Chromium is not installed: `apt-get install -y chromium` (the setup of "
            "`make test` does it), or set RNNCOURSE_CHROMIUM to a Chromium binary",
            pytrace=False,
        )
    return path


def _page_paths() -> list[str]:
    return sorted(
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if p.relative_to(HTML).parts[0] not in SKIP_DIRS
    )


def _search(page, base: str, term: str) -> list[str]:
    """The result links that the search page lists for `term`."""
    page.goto(f"{base}search.html?q={term.replace(' ', '+')}", wait_until="load")
    page.wait_for_function(
        "() => { const s = document.querySelector('#search-results'); return s && "
        "s.querySelector('p.search-summary, .search-summary') && "
        "!document.querySelector('#search-progress:not(:empty)'); }",
        timeout=20_000,
    )
    return page.eval_on_selector_all("#search-results a", "els => els.map(a => a.href)")


@pytest.fixture(scope="session")
def site(server: str) -> Site:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "the Python package `playwright` is missing: install the test extra "
            "(`make setup`, or pip install -e '.[test]')",
            pytrace=False,
        )
    executable = _chromium()
    host = urlsplit(server).netloc
    start = time.perf_counter()
    pages: dict[str, Page] = {}
    current: list[Page] = []

    def route(r) -> None:
        if urlsplit(r.request.url).netloc == host:
            r.continue_()
        else:
            if current:
                current[-1].blocked.append(r.request.url)
            r.abort()

    def on_console(msg) -> None:
        if msg.type == "error" and current:
            current[-1].console_errors.append(msg.text)

    def on_pageerror(err) -> None:
        if current:
            current[-1].console_errors.append(f"uncaught: {err}")

    def on_response(resp) -> None:
        if current and resp.status >= 400:
            current[-1].failed.append(f"{resp.status} {resp.url}")

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        context = browser.new_context(viewport=DESKTOP, service_workers="block")
        context.route("**/*", route)
        page = context.new_page()
        page.on("console", on_console)
        page.on("pageerror", on_pageerror)
        page.on("response", on_response)
        for path in _page_paths():
            record = Page(path)
            current.append(record)
            pages[path] = record
            redirect = _REFRESH.search((HTML / path).read_text(encoding="utf-8"))
            if redirect:  # index.html: a redirect to the first page, which is checked itself
                record.info = {"links": [urljoin(server + path, redirect.group(1))]}
                continue
            t0 = time.perf_counter()
            page.set_viewport_size(DESKTOP)
            page.goto(server + path, wait_until="load")
            record.info = page.evaluate(_INSPECT)
            name = path.removesuffix(".html").replace("/", "__")
            page.screenshot(path=SHOTS / f"{name}.desktop.{SHOT}", full_page=True, **SHOT_ARGS)
            page.set_viewport_size(PHONE)
            page.screenshot(path=SHOTS / f"{name}.phone.{SHOT}", full_page=True, **SHOT_ARGS)
            record.seconds = time.perf_counter() - t0
        current.append(Page("search.html?q=..."))
        search = {term: _search(page, server, term) for term in (LSTM_TERM, CONTROL_TERM)}
        pages["search.html?q=..."] = current[-1]
        browser.close()
    return Site(server, pages, time.perf_counter() - start, search)


def _offenders(site: Site, attr: str) -> dict[str, list[str]]:
    return {k: getattr(p, attr) for k, p in site.pages.items() if getattr(p, attr)}


def test_every_page_was_opened(site: Site) -> None:
    assert len(site.pages) >= 5, sorted(site.pages)
    print(f"\n{len(site.pages)} pages opened in {site.seconds:.1f} s")
    for key, p in site.pages.items():
        print(f"  {key}: {p.seconds:.1f} s")


def test_no_request_leaves_the_site(site: Site) -> None:
    blocked = _offenders(site, "blocked")
    total = sum(map(len, blocked.values()))
    print(f"\nrequests to other hosts (blocked): {total}")
    assert not blocked, f"pages requested other hosts (an offline reader sees none): {blocked}"


def test_pages_load_without_console_errors(site: Site) -> None:
    assert not _offenders(site, "console_errors"), _offenders(site, "console_errors")
    assert not _offenders(site, "failed"), _offenders(site, "failed")


def test_every_image_loads(site: Site) -> None:
    broken = {
        k: [src for src, ok in p.info["images"] if not ok]
        for k, p in site.pages.items()
        if not all(ok for _, ok in p.info.get("images", []))
    }
    assert not broken, f"images that did not load: {broken}"


@functools.cache
def _ids(file: Path) -> frozenset[str]:
    html = file.read_text(encoding="utf-8", errors="replace")
    return frozenset(re.findall(r'\bid="([^"]+)"', html))


def test_every_internal_link_resolves(site: Site) -> None:
    links: dict[str, set[str]] = {}
    for key, p in site.pages.items():
        for href in p.info.get("links", []):
            if href.startswith(site.base):
                links.setdefault(href, set()).add(key)
    assert links, "no internal links found"
    broken = {}
    for href, where in sorted(links.items()):
        url, _, anchor = href.partition("#")
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                status = resp.status
        except urllib.error.HTTPError as err:
            status = err.code
        if status != 200:
            broken[href] = f"HTTP {status}, linked from {sorted(where)}"
            continue
        target = HTML / unquote(urlsplit(url).path.lstrip("/"))
        if target.is_dir():
            target = target / "index.html"
        anchor = unquote(anchor)
        if anchor and target.suffix == ".html" and anchor not in _ids(target):
            broken[href] = f"no id '{anchor}' in {target.name}, linked from {sorted(where)}"
    print(f"\ninternal links checked: {len(links)}")
    assert not broken, f"internal links that do not resolve: {broken}"


def test_math_is_rendered(site: Site) -> None:
    with_math = {k: p.info for k, p in site.pages.items() if p.info.get("mathSource")}
    assert with_math, "no page has math: the check would prove nothing"
    missing = {
        k: f"{i['mathRendered']} mjx-container for {i['mathSource']} math elements"
        for k, i in with_math.items()
        if i["mathRendered"] < i["mathSource"]
    }
    errors = {k: i["mathErrors"] for k, i in with_math.items() if i["mathErrors"]}
    assert not missing, f"math not rendered by the local MathJax: {missing}"
    assert not errors, f"MathJax errors (mjx-merror) on: {errors}"


def test_widgets_show_their_stored_state(site: Site) -> None:
    widget_pages = {k: p.info for k, p in site.pages.items() if p.info.get("widgetViews")}
    bad = {
        k: f"{i['widgetsRendered']} of {i['widgetViews']} widgets drawn, state stored: "
        f"{i['widgetState']}"
        for k, i in widget_pages.items()
        if i["widgetsRendered"] < i["widgetViews"] or not i["widgetState"]
    }
    assert not bad, f"widget outputs that show an empty box: {bad}"
    empty = {k: p.info["emptyOutputs"] for k, p in site.pages.items()
             if p.info.get("emptyOutputs")}
    assert not empty, f"empty (zero-height) cell outputs: {empty}"


def _chapter_pages(site: Site) -> dict[str, Page]:
    return {k: p for k, p in site.pages.items() if re.fullmatch(r"book/ch\d\d_\w+\.html", k)}


def test_search_finds_a_term_offline(site: Site) -> None:
    hits = site.search[CONTROL_TERM]
    assert any(CONTROL_DOC + ".html" in h for h in hits), (
        f"searching '{CONTROL_TERM}' did not list {CONTROL_DOC}: {hits}"
    )


def test_search_finds_the_lstm_chapter(site: Site) -> None:
    hits = site.search[LSTM_TERM]
    assert any(LSTM_DOC + ".html" in h for h in hits), (
        f"searching '{LSTM_TERM}' did not list {LSTM_DOC}: {hits}"
    )


def test_download_button_offers_the_notebook(site: Site) -> None:
    notebooks = {
        k: p for k, p in site.pages.items()
        if (ROOT / k.replace(".html", ".ipynb")).is_file()
    }
    assert notebooks, "no notebook pages"
    for key, p in notebooks.items():
        offered = [h for h in p.info["download"] if h.endswith(".ipynb")]
        assert offered, f"{key}: the download button offers no .ipynb: {p.info['download']}"
        with urllib.request.urlopen(offered[0], timeout=10) as resp:
            notebook = json.loads(resp.read())
        assert notebook["nbformat"] == 4 and notebook["cells"], key


def test_launch_buttons(site: Site) -> None:
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    hub = re.search(r"^\s*jupyterhub_url:\s*(\S+)", config, re.MULTILINE)
    expected = ["https://mybinder.org/v2/gh/", "https://colab.research.google.com/github/"]
    if hub:
        expected.append(hub.group(1).strip("\"'").rstrip("/") + "/hub/user-redirect/git-pull")
    for key, p in _chapter_pages(site).items():
        for prefix in expected:
            assert any(h.startswith(prefix) for h in p.info["launch"]), (
                f"{key}: no launch button to {prefix}: {p.info['launch']}"
            )


def test_code_has_copy_buttons(site: Site) -> None:
    with_code = {k: p.info for k, p in site.pages.items() if p.info.get("codeBlocks")}
    assert with_code
    bad = {k: f"{i['copyButtons']} copy buttons for {i['codeBlocks']} code blocks"
           for k, i in with_code.items() if i["copyButtons"] < 1}
    assert not bad, bad


def test_each_chapter_links_its_exercise_notebook(site: Site) -> None:
    chapters = _chapter_pages(site)
    assert chapters
    for key, p in chapters.items():
        name = Path(key).stem + ".ipynb"
        if not (ROOT / "exercises" / name).is_file():
            continue
        assert any(h.endswith(f"exercises/{name}") for h in p.info["links"]), (
            f"{key} does not link exercises/{name}"
        )


def test_screenshots_saved(site: Site) -> None:
    for key in site.pages:
        if "images" not in site.pages[key].info:  # the search run, the index.html redirect
            continue
        name = key.removesuffix(".html").replace("/", "__")
        for kind in ("desktop", "phone"):
            shot = SHOTS / f"{name}.{kind}.{SHOT}"
            assert shot.is_file() and shot.stat().st_size > 1000, shot
