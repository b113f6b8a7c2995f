"""The website as readers see it: the built book opened in a real browser, offline.

`make test` builds the book first, then this module serves ``_build/html`` on
127.0.0.1, opens every page in Chromium (driven by Playwright, Debian's
``chromium``, no ``playwright install``) and aborts every request to another
host. One crawl (the ``site`` fixture) records what each page did; the tests
below then check it: no console errors, no request leaving the site, every
image loaded, every internal link (and its #anchor) resolves, equations and
widgets rendered, search, download and launch buttons, copy buttons, exercise
links. Desktop (1280 px) and phone (390 px) screenshots of every page are saved
under ``_build/screenshots/``. The crawl runs with the browser cache off, so that it
also weighs every page as a first visit. A second session (the ``reader`` fixture)
clicks the drawer buttons at 390, 800 and 1280 px, walks a chapter with Tab and reads
the copy buttons' accessible names.
"""

from __future__ import annotations

import functools
import http.server
import io
import json
import os
import re
import shutil
import struct
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
  // links in the page's own text (not the navigation around it)
  const articleLinks = Array.from(document.querySelectorAll('article a[href]'))
    .map((a) => a.href);
  return {
    images: imgs.map((img, i) => [img.currentSrc || img.src, loaded[i]]),
    links: links,
    articleLinks: articleLinks,
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
    unlabelledCopyButtons: Array.from(document.querySelectorAll('button.copybtn'))
      .filter((b) => !(b.getAttribute('aria-label') || '').trim()).length,
    formulaTabStops: Array.from(document.querySelectorAll('mjx-container'))
      .filter((m) => m.tabIndex >= 0).length,
    download: Array.from(document.querySelectorAll('.dropdown-download-buttons a'))
      .map((a) => a.href),
    launch: Array.from(document.querySelectorAll('.dropdown-launch-buttons a'))
      .map((a) => a.href),
    og: Object.fromEntries(Array.from(document.querySelectorAll('meta[property^="og:"]'))
      .map((m) => [m.getAttribute('property'), m.content])),
    canonical: (document.querySelector('link[rel="canonical"]') || {}).href || null,
    favicon: (document.querySelector('link[rel~="icon"]') || {}).href || null,
    logos: Array.from(document.querySelectorAll('.navbar-brand img'))
      .filter((i) => i.naturalWidth > 0).map((i) => i.currentSrc || i.src),
    edit: Array.from(document.querySelectorAll('a[href*="/edit/"]')).map((a) => a.href),
    firstCell: (() => {
      const cell = document.querySelector('div.cell');
      if (!cell) return null;
      const details = cell.querySelector('details');
      return { classes: cell.className, collapsed: !!details && !details.open,
               source: (cell.querySelector('.cell_input') || cell).textContent };
    })(),
    widgetNotes: Array.from(document.querySelectorAll('.rnncourse-static-note'))
      .filter((n) => n.getBoundingClientRect().height > 0
              && /static preview|live in your browser/i.test(n.textContent)).length,
    widgetNoteSigns: Array.from(document.querySelectorAll('.rnncourse-static-note'))
      .map((n) => getComputedStyle(n, '::before').content),
    widgetScripts: Array.from(document.querySelectorAll('script[src]'))
      .map((s) => s.getAttribute('src'))
      .filter((u) => ['widgets/', 'embed-amd', 'require.js'].some((w) => u.includes(w))),
    explorers: document.querySelectorAll('.rnncourse-explorer').length,
  };
}
"""

# Run at each viewport width: what does not fit. An element is *clipped* when part of it
# lies outside an ancestor that hides overflow (overflow-x hidden/clip); inside a box that
# scrolls (auto/scroll) its content stays reachable, so that box is checked instead. An
# element *past the page edge* makes the whole page scroll sideways (or is cut by it).
_LAYOUT = """
() => {
  const vw = document.documentElement.clientWidth;
  const main = document.querySelector('#main-content') || document.body;
  const name = (el) => {
    const cls = (el.getAttribute('class') || '').split(/\\s+/).filter(Boolean).slice(0, 2);
    const text = (el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 50);
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (cls.length ? '.' + cls.join('.') : '') + (text ? ' "' + text + '"' : '');
  };
  const visible = (r) => r.width > 0 && r.height > 0;
  const offCanvas = (el) => !!el.closest('.bd-sidebar-secondary, .bd-sidebar-primary, '
    + 'dialog, [role="dialog"], .search-button__wrapper');
  const clip = (el) => {
    let r = el.getBoundingClientRect();
    if (!visible(r) || offCanvas(el)) return null;
    const own = getComputedStyle(el).overflowX;
    if ((own === 'hidden' || own === 'clip') && el.scrollWidth > el.clientWidth + 1) {
      return 'cuts its own content (' + el.scrollWidth + ' px in ' + el.clientWidth + ')';
    }
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox === 'visible') continue;
      const ar = a.getBoundingClientRect();
      if (ox === 'auto' || ox === 'scroll') { r = ar; continue; }
      if (r.right > ar.right + 1 || r.left < ar.left - 1) return 'clipped by ' + name(a);
    }
    if (r.right > vw + 1 || r.left < -1) return 'past the page edge';
    return null;
  };
  const report = (sel) => Array.from(main.querySelectorAll(sel))
    .map((el) => [el, clip(el)]).filter(([, why]) => why)
    .map(([el, why]) => name(el).slice(0, 90) + ': ' + why);
  // Outermost elements of the page body that stick out past the right edge.
  const past = Array.from(main.querySelectorAll('*')).filter((el) => {
    const why = clip(el);
    if (why !== 'past the page edge') return false;
    const parent = el.parentElement;
    return !parent || clip(parent) !== 'past the page edge';
  }).map((el) => name(el).slice(0, 90));
  // Display math wider than its box: reachable by scrolling, but on a desktop it should fit.
  const scrolledMath = Array.from(main.querySelectorAll('mjx-container[display="true"]'))
    .filter((el) => visible(el.getBoundingClientRect()) && el.scrollWidth > el.clientWidth + 1)
    .map((el) => name(el).slice(0, 90) + ': ' + el.scrollWidth + ' px in ' + el.clientWidth);
  // Tables whose cells touch each other ("234512"): less than 4 px padding either side.
  const crampedTables = Array.from(main.querySelectorAll('table')).filter((t) => {
    const cells = Array.from(t.querySelectorAll('td, th'));
    if (!visible(t.getBoundingClientRect()) || cells.length < 2) return false;
    return cells.some((c) => {
      const cs = getComputedStyle(c);
      return parseFloat(cs.paddingLeft) + parseFloat(cs.paddingRight) < 8;
    });
  }).map((el) => name(el).slice(0, 90));
  // Printed output that needs a scroll bar (reported, not failed: it stays reachable).
  const scrolledOutputs = Array.from(main.querySelectorAll('.cell_output pre'))
    .filter((el) => visible(el.getBoundingClientRect()) && el.scrollWidth > el.clientWidth + 1)
    .map((el) => name(el).slice(0, 60) + ': ' + el.scrollWidth + ' px in ' + el.clientWidth);
  // ...of which not a table printed as text (two or more lines laid out in columns by
  // runs of spaces): such text should wrap rather than scroll.
  const tabular = (text) => text.split('\\n')
    .filter((line) => /\\S {2,}\\S.* {2,}\\S/.test(line)).length >= 2;
  const scrolledProse = Array.from(main.querySelectorAll('.cell_output pre'))
    .filter((el) => visible(el.getBoundingClientRect()) && el.scrollWidth > el.clientWidth + 1
            && !tabular(el.textContent))
    .map((el) => name(el).slice(0, 60) + ': ' + el.scrollWidth + ' px in ' + el.clientWidth);
  // ...and of those, the ones that rnncourse.js did not mark as a table printed as text
  const scrolledUnmarked = Array.from(main.querySelectorAll('.cell_output pre'))
    .filter((el) => visible(el.getBoundingClientRect()) && el.scrollWidth > el.clientWidth + 1
            && !el.classList.contains('rnncourse-table'))
    .map((el) => name(el).slice(0, 60) + ': ' + el.scrollWidth + ' px in ' + el.clientWidth);
  // Code cells (their source) wider than their box: they scroll sideways.
  const scrolledCode = Array.from(main.querySelectorAll('div.cell_input div.highlight pre'))
    .filter((el) => visible(el.getBoundingClientRect()) && el.scrollWidth > el.clientWidth + 1)
    .map((el) => name(el).slice(0, 60) + ': ' + el.scrollWidth + ' px in ' + el.clientWidth);
  const article = main.querySelector('article') || main;
  const width = article.getBoundingClientRect().width;
  const squeezed = Array.from(article.querySelectorAll('p, div.highlight, div.cell_output'))
    .filter((el) => !el.closest('aside, table, .admonition, .footnote, li, dd, .widget-subarea'))
    .filter((el) => {
      const r = el.getBoundingClientRect();
      return visible(r) && r.width < 0.6 * width;
    })
    .map((el) => name(el).slice(0, 90) + ': ' + Math.round(el.getBoundingClientRect().width)
         + ' px of ' + Math.round(width));
  const figures = Array.from(main.querySelectorAll('.cell_output img, .widget-subarea img'))
    .filter((img) => img.naturalWidth > 0 && visible(img.getBoundingClientRect()))
    .map((img) => [img.currentSrc || img.src, img.naturalWidth,
                   img.getBoundingClientRect().width]);
  return {
    viewport: vw,
    height: document.documentElement.scrollHeight,
    pageOverflow: Math.max(0, document.documentElement.scrollWidth - vw),
    pastEdge: past,
    clippedMath: report('mjx-container'),
    clippedTables: report('table'),
    scrolledMath: scrolledMath,
    scrolledOutputs: scrolledOutputs,
    codeCells: main.querySelectorAll('div.cell_input div.highlight pre').length,
    outputs: main.querySelectorAll('.cell_output pre').length,
    scrolledCode: scrolledCode,
    scrolledProse: scrolledProse,
    scrolledUnmarked: scrolledUnmarked,
    crampedTables: crampedTables,
    squeezed: squeezed,
    figures: figures,
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
    layout: dict = field(default_factory=dict)  # "desktop"/"phone" -> what _LAYOUT found
    seconds: float = 0.0
    # what it transferred (the crawl runs with the browser cache off): request id -> URL,
    # and request id -> bytes received (headers and body, as sent) for finished requests
    requested: dict[str, str] = field(default_factory=dict)
    transferred: dict[str, int] = field(default_factory=dict)


@dataclass
class Site:
    base: str
    pages: dict[str, Page]
    seconds: float
    search: dict[str, list[str]]
    missing: dict = field(default_factory=dict)  # what a reader of a wrong address sees


def _config() -> dict:
    import yaml  # PyYAML: a dependency of jupyter-book

    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


CONFIG = _config()
REPO = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"].get("branch", "main")
_OWNER, _NAME = urlsplit(REPO).path.strip("/").split("/")[:2]
# Where the site is published: html.baseurl, else the repository's GitHub Pages address.
BASEURL = (CONFIG.get("html", {}).get("baseurl") or
           f"https://{_OWNER.lower()}.github.io/{_NAME}/").rstrip("/") + "/"
# The test server serves the site under the same path as the published site, so that
# the 404 page (absolute links) is checked as readers get it.
PREFIX = urlsplit(BASEURL).path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves _build/html under PREFIX and, like GitHub Pages, 404.html for what is missing."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def send_head(self):  # noqa: ANN201
        path = urlsplit(self.path).path
        if path.startswith(PREFIX):
            self.path = "/" + self.path[len(PREFIX):]
            target = Path(self.translate_path(self.path))
            if target.exists():
                return super().send_head()
        page = HTML / "404.html"
        if not page.is_file():
            self.send_error(404)
            return None
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


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
        yield f"http://127.0.0.1:{httpd.server_address[1]}{PREFIX}"
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
        # Every page is weighed as a first visit: no browser cache (Chrome DevTools
        # Protocol), each request charged to the page that was open when it was sent.
        owner: dict[str, Page] = {}

        def on_sent(event: dict) -> None:
            if current:
                owner[event["requestId"]] = current[-1]
                current[-1].requested[event["requestId"]] = event["request"]["url"]

        def on_finished(event: dict) -> None:
            if event["requestId"] in owner:
                owner[event["requestId"]].transferred[event["requestId"]] = \
                    event["encodedDataLength"]

        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.on("Network.requestWillBeSent", on_sent)
        cdp.on("Network.loadingFinished", on_finished)
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
            record.layout["desktop"] = page.evaluate(_LAYOUT)
            name = path.removesuffix(".html").replace("/", "__")
            page.screenshot(path=SHOTS / f"{name}.desktop.{SHOT}", full_page=True, **SHOT_ARGS)
            page.set_viewport_size(PHONE)
            page.wait_for_timeout(300)  # MathJax and the theme re-lay out on resize
            record.layout["phone"] = page.evaluate(_LAYOUT)
            page.screenshot(path=SHOTS / f"{name}.phone.{SHOT}", full_page=True, **SHOT_ARGS)
            record.seconds = time.perf_counter() - t0
        current.append(Page("search.html?q=..."))
        search = {term: _search(page, server, term) for term in (LSTM_TERM, CONTROL_TERM)}
        pages["search.html?q=..."] = current[-1]
        # A wrong address, two folders deep: the server answers 404 with 404.html.
        wrong = Page("no/such/page.html")
        current.append(wrong)
        page.set_viewport_size(DESKTOP)
        response = page.goto(server + wrong.path, wait_until="load")
        missing = page.evaluate(_INSPECT)
        missing["status"] = response.status if response else None
        missing["styled"] = page.evaluate(
            "() => Array.from(document.styleSheets).filter((s) => { try { return "
            "s.cssRules.length > 0; } catch (e) { return false; } }).length")
        missing["title"] = page.title()
        missing["failed"] = [f for f in wrong.failed if not f.endswith(wrong.path)]
        missing["console"] = [c for c in wrong.console_errors if "404" not in c]
        page.screenshot(path=SHOTS / f"404.desktop.{SHOT}", full_page=True, **SHOT_ARGS)
        browser.close()
    return Site(server, pages, time.perf_counter() - start, search, missing)


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
        target = HTML / unquote(urlsplit(url).path.removeprefix(PREFIX).lstrip("/"))
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


def _notebook_pages(site: Site) -> dict[str, Page]:
    return {k: p for k, p in site.pages.items()
            if k.endswith(".html") and (ROOT / k.replace(".html", ".ipynb")).is_file()}


def test_launch_buttons(site: Site) -> None:
    """Each notebook page's buttons open *that* notebook of the configured repository."""
    hub = (CONFIG.get("launch_buttons") or {}).get("jupyterhub_url") or ""
    pages = _notebook_pages(site)
    assert pages
    for key, p in pages.items():
        source = key.replace(".html", ".ipynb")
        expected = {
            "Binder": f"https://mybinder.org/v2/gh/{_OWNER}/{_NAME}/{BRANCH}?urlpath=",
            "Colab": f"https://colab.research.google.com/github/{_OWNER}/{_NAME}/blob/"
                     f"{BRANCH}/{source}",
        }
        if hub:
            expected["JupyterHub"] = hub.rstrip("/") + "/hub/user-redirect/git-pull?repo="
        for button, prefix in expected.items():
            hits = [h for h in p.info["launch"] if h.startswith(prefix)]
            assert hits, f"{key}: no {button} button starting {prefix}: {p.info['launch']}"
            if button == "Binder":
                assert any(unquote(h).endswith(source) for h in hits), (key, hits)
        if not hub:
            assert not [h for h in p.info["launch"] if "git-pull" in h], (
                f"{key}: a JupyterHub button although jupyterhub_url is not set: "
                f"{p.info['launch']}"
            )


def test_edit_button_opens_the_source(site: Site) -> None:
    checked = 0
    for key, p in site.pages.items():
        stem = key.removesuffix(".html")
        sources = [s for s in (stem + ".ipynb", stem + ".md") if (ROOT / s).is_file()]
        if not sources:
            continue
        expected = f"{REPO}/edit/{BRANCH}/{sources[0]}"
        assert expected in p.info["edit"], f"{key}: no edit button to {expected}: {p.info['edit']}"
        checked += 1
    assert checked >= 10, checked


def test_install_cell_is_first_and_collapsed(site: Site) -> None:
    """The cell that installs what a chapter needs opens each notebook, folded away."""
    for key, p in _notebook_pages(site).items():
        first = p.info["firstCell"]
        assert first, f"{key}: no code cell"
        assert "pip" in first["source"] and REPO in first["source"], (
            f"{key}: the first code cell is not the install cell (run "
            f"`python scripts/install_cell.py book/*.ipynb`): {first['source'][:200]!r}"
        )
        assert first["collapsed"] and "tag_hide-input" in first["classes"], (
            f"{key}: the install cell is not folded (tag hide-input): {first['classes']}"
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
        expected = f"{REPO}/blob/{BRANCH}/exercises/{name}"
        assert expected in p.info["links"], f"{key} does not link {expected}"
        foreign = [h for h in p.info["links"] if "/exercises/" in h and "github.com" in h
                   and not h.startswith(REPO + "/")]
        assert not foreign, f"{key}: exercise links to another repository: {foreign}"


def test_screenshots_saved(site: Site) -> None:
    for key in site.pages:
        if "images" not in site.pages[key].info:  # the search run, the index.html redirect
            continue
        name = key.removesuffix(".html").replace("/", "__")
        for kind in ("desktop", "phone"):
            shot = SHOTS / f"{name}.{kind}.{SHOT}"
            assert shot.is_file() and shot.stat().st_size > 1000, shot


def _layout(site: Site, key: str) -> dict[str, dict[str, list]]:
    """{viewport: {page: findings}} for one _LAYOUT finding, pages with findings only."""
    found: dict[str, dict[str, list]] = {}
    for kind in ("desktop", "phone"):
        for page_key, p in site.pages.items():
            value = p.layout.get(kind, {}).get(key)
            if value:
                found.setdefault(kind, {})[page_key] = value
    return found


def test_layout_report(site: Site) -> None:
    """Prints the counts (the issue's before/after numbers); the tests below assert."""
    print()
    for kind in ("desktop", "phone"):
        pages = [p.layout[kind] for p in site.pages.values() if kind in p.layout]
        over = sum(1 for lay in pages if lay["pageOverflow"] > 0)
        print(f"{kind}: pages wider than the screen {over}, "
              f"elements past the edge {sum(len(lay['pastEdge']) for lay in pages)}, "
              f"clipped math {sum(len(lay['clippedMath']) for lay in pages)}, "
              f"clipped tables {sum(len(lay['clippedTables']) for lay in pages)}, "
              f"cramped tables {sum(len(lay['crampedTables']) for lay in pages)}, "
              f"math that scrolls {sum(len(lay['scrolledMath']) for lay in pages)}, "
              f"printed outputs that scroll {sum(len(lay['scrolledOutputs']) for lay in pages)} "
              f"of {sum(lay['outputs'] for lay in pages)} "
              f"(not tables: {sum(len(lay['scrolledProse']) for lay in pages)}), "
              f"code cells that scroll {sum(len(lay['scrolledCode']) for lay in pages)} "
              f"of {sum(lay['codeCells'] for lay in pages)}, "
              f"squeezed blocks {sum(len(lay['squeezed']) for lay in pages)}")
        for key, p in site.pages.items():
            lay = p.layout.get(kind)
            found = [f for part in ("pastEdge", "clippedMath", "clippedTables",
                                    "crampedTables", "squeezed", "scrolledMath")
                     for f in (lay or {}).get(part, [])]
            if lay and (lay["pageOverflow"] or found):
                print(f"  {key}: overflow {lay['pageOverflow']} px; {found}")


# --- Finishing touches --------------------------------------------------------------


def _content_pages(site: Site) -> dict[str, Page]:
    return {k: p for k, p in site.pages.items() if "og" in p.info}


def test_logo_and_favicon(site: Site) -> None:
    for key, p in _content_pages(site).items():
        assert p.info["logos"], f"{key}: no logo drawn in the navigation bar"
        icon = p.info["favicon"]
        assert icon, f"{key}: no <link rel=icon>"
        with urllib.request.urlopen(icon, timeout=10) as resp:
            assert resp.status == 200 and resp.read(8) == b"\x89PNG\r\n\x1a\n", icon


def test_sitemap_lists_every_page_at_the_published_address() -> None:
    sitemap = (HTML / "sitemap.xml").read_text(encoding="utf-8")
    listed = set(re.findall(r"<loc>([^<]+)</loc>", sitemap))
    pages = {BASEURL + p for p in _page_paths()
             if p not in ("index.html", "search.html", "genindex.html", "404.html")}
    assert pages and pages <= listed, f"missing from sitemap.xml: {sorted(pages - listed)}"
    strays = sorted(u for u in listed if not u.startswith(BASEURL)
                    or not (HTML / u.removeprefix(BASEURL)).is_file())
    assert not strays, f"sitemap.xml lists addresses that are not pages: {strays}"


def test_opengraph_and_canonical_tags(site: Site) -> None:
    for key, p in _content_pages(site).items():
        if key in ("search.html", "genindex.html", "404.html"):
            continue
        og = p.info["og"]
        assert og.get("og:title") and og.get("og:description"), (key, og)
        assert og.get("og:url") == BASEURL + key, (key, og.get("og:url"))
        assert p.info["canonical"] == BASEURL + key, (key, p.info["canonical"])
        image = og.get("og:image", "")
        assert image.startswith(BASEURL) and (HTML / image.removeprefix(BASEURL)).is_file(), (
            key, image)


def test_404_page(site: Site) -> None:
    m = site.missing
    assert m["status"] == 404, m["status"]
    assert "not found" in m["title"].lower() or "404" in m["title"], m["title"]
    assert m["styled"] >= 3, f"the 404 page loaded {m['styled']} style sheets"
    assert m["logos"], "the 404 page shows no logo"
    assert not m["failed"] and not m["console"], (m["failed"], m["console"])
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    root = str(toc["root"]).removesuffix(".md").removesuffix(".ipynb")
    home = [h for h in m["links"] if h == site.base + root + ".html"]
    assert home, f"the 404 page links nowhere home: {m['links'][:20]}"
    # its own text (not only the menu, which is behind ☰ on a phone) links every page
    unlinked = [f for f in _toc_files() if site.base + f + ".html" not in m["articleLinks"]]
    assert not unlinked, f"the 404 page's text does not link {unlinked}"


def _toc_files() -> list[str]:
    """Every page of _toc.yml (root, chapters, sections), without its suffix."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node:
                    found.append(str(node[key]).removesuffix(".md").removesuffix(".ipynb"))
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def _toc_chapters() -> list[str]:
    """The chapters of _toc.yml (their first pages; not the pages of their `sections:`)."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [str(c["file"]).removesuffix(".ipynb") for part in toc.get("parts") or []
            for c in part.get("chapters") or [] if "file" in c]


def test_home_page_plan_links_every_chapter(site: Site) -> None:
    """The course plan on the first page: each chapter's title opens it."""
    import yaml

    root = str(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))["root"])
    home = site.pages[root + ".html"].info["articleLinks"]
    chapters = [f for f in _toc_chapters() if re.fullmatch(r"book/ch\d\d_\w+", f)]
    assert len(chapters) >= 10, chapters
    unlinked = [c for c in chapters if site.base + c + ".html" not in home]
    assert not unlinked, f"the first page's text does not link {unlinked}"


def test_widgets_say_they_are_static(site: Site) -> None:
    """An ipywidgets view, if a page still has one, says that it is a static preview; the
    sign of any such note must not look like a play button."""
    pages = {k: p.info for k, p in site.pages.items() if p.info.get("widgetViews")}
    bad = {k: f"{i['widgetNotes']} notes for {i['widgetViews']} widgets"
           for k, i in pages.items() if i["widgetNotes"] < i["widgetViews"]}
    assert not bad, f"widgets without the 'static preview' (or 'live') note: {bad}"
    play = {k: p.info["widgetNoteSigns"] for k, p in site.pages.items()
            if any(c in sign for sign in p.info.get("widgetNoteSigns", [])
                   for c in "\u25b6\u25b8\u23f5")}
    assert not play, f"notes marked with a play triangle: {play}"


def test_widget_scripts_only_where_a_widget_is_shown(site: Site) -> None:
    """require.js and ipywidgets' embed script (4.4 MB) load only on a page with a widget
    view: the book's interactive figures and chapter 3's calculator need neither."""
    loaded = {k: p.info["widgetScripts"] for k, p in site.pages.items()
              if p.info.get("widgetScripts") and not p.info.get("widgetViews")}
    assert not loaded, f"pages that load the widget scripts for nothing: {loaded}"


# Pages whose interactive figures (rnncourse.figures.explore) the reader fixture moves.
EXPLORER_WIDTHS = {"phone": PHONE, "desktop": DESKTOP}


def test_interactive_figures_are_there(site: Site) -> None:
    found = {k: p.info["explorers"] for k, p in site.pages.items() if p.info.get("explorers")}
    # chapters 2, 5 and 10 (wherever their sections end up): three explorers in all
    assert sum(found.values()) >= 3, found


# --- Layout at 390 px (phone) and 1280 px (desktop) -------------------------------


def test_no_page_is_wider_than_the_screen(site: Site) -> None:
    wide = {kind: {k: f"{lay['pageOverflow']} px: {lay['pastEdge'][:5]}"
                   for k, p in site.pages.items()
                   if (lay := p.layout.get(kind)) and (lay["pageOverflow"] or lay["pastEdge"])}
            for kind in ("phone", "desktop")}
    assert not any(wide.values()), f"pages that scroll sideways: {wide}"


def test_no_equation_is_clipped(site: Site) -> None:
    clipped = _layout(site, "clippedMath")
    assert not clipped, f"equations cut off (not reachable by scrolling): {clipped}"
    scrolled = _layout(site, "scrolledMath").get("desktop")
    assert not scrolled, f"display equations too wide for the desktop column: {scrolled}"


def test_no_table_is_clipped(site: Site) -> None:
    clipped = _layout(site, "clippedTables")
    assert not clipped, f"tables cut off: {clipped}"
    cramped = _layout(site, "crampedTables")
    assert not cramped, f"table cells without padding: {cramped}"


def test_printed_text_wraps_unless_it_is_a_table(site: Site) -> None:
    """Printed output wider than its column scrolls only if it is a table (columns)."""
    scrolled = _layout(site, "scrolledProse")
    assert not scrolled, f"printed text (not a table) that scrolls sideways: {scrolled}"


# A page longer than this many desktop screens (1280 x 800) is split at a seam of its
# chapter into pages of the chapter's `sections:` in _toc.yml.
MAX_SCREENS = 20
# Pages still longer, and the change that shortens them (empty: every page fits).
LONG_FOR_NOW: dict[str, str] = {}


def test_no_page_is_longer_than_20_screens(site: Site) -> None:
    """Screens per page: the page's height over the window's, at 1280 x 800."""
    screens = {k: p.layout["desktop"]["height"] / DESKTOP["height"]
               for k, p in site.pages.items() if "height" in p.layout.get("desktop", {})}
    assert len(screens) >= 10, sorted(screens)
    print("\nscreens per page at 1280 x 800:")
    for key, n in sorted(screens.items(), key=lambda kv: -kv[1]):
        print(f"  {n:5.1f}  {key}")
    long = {k: round(n, 1) for k, n in screens.items()
            if n > MAX_SCREENS and k not in LONG_FOR_NOW}
    assert not long, f"pages longer than {MAX_SCREENS} desktop screens (split them): {long}"
    stale = {k: round(screens[k], 1) for k in LONG_FOR_NOW
             if k in screens and screens[k] <= MAX_SCREENS}
    assert not stale, f"no longer too long, remove from LONG_FOR_NOW: {stale}"


# Pages whose code is not formatted yet (scripts/format_notebooks.py); empty: all are.
UNFORMATTED_FOR_NOW: dict[str, str] = {}


def test_code_and_printed_output_fit_the_desktop_column(site: Site) -> None:
    """At 1280 px no code cell and no printed output scrolls sideways, except printed
    tables (marked rnncourse-table by rnncourse.js); at 390 px they are counted."""
    print()
    for kind in ("desktop", "phone"):
        lays = {k: p.layout[kind] for k, p in site.pages.items() if kind in p.layout}
        code = sum(len(lay["scrolledCode"]) for lay in lays.values())
        out = sum(len(lay["scrolledOutputs"]) for lay in lays.values())
        tables = out - sum(len(lay["scrolledUnmarked"]) for lay in lays.values())
        print(f"{kind}: code cells that scroll {code} of "
              f"{sum(lay['codeCells'] for lay in lays.values())}, printed outputs that "
              f"scroll {out} of {sum(lay['outputs'] for lay in lays.values())} "
              f"({tables} of them tables)")
    code = {k: v for k, v in _layout(site, "scrolledCode").get("desktop", {}).items()
            if k not in UNFORMATTED_FOR_NOW}
    assert not code, ("code wider than the desktop column (run "
                      f"`python scripts/format_notebooks.py` on its notebook): {code}")
    out = _layout(site, "scrolledUnmarked").get("desktop", {})
    assert not out, f"printed output that scrolls at 1280 px and is not a table: {out}"


def test_no_block_is_squeezed_beside_a_margin_note(site: Site) -> None:
    squeezed = _layout(site, "squeezed")
    assert not squeezed, f"paragraphs and code narrower than 60 % of the column: {squeezed}"


def _png_dpi(file: Path) -> float:
    """The resolution a PNG records (pHYs chunk), e.g. 100 for matplotlib's inline figures."""
    data = file.read_bytes()
    at = 8
    while at < len(data):
        (length,), kind = struct.unpack(">I", data[at:at + 4]), data[at + 4:at + 8]
        if kind == b"pHYs":
            x, _, unit = struct.unpack(">IIB", data[at + 8:at + 17])
            return x * 0.0254 if unit == 1 else 72.0
        if kind == b"IDAT":
            break
        at += 12 + length
    return 72.0


# The smallest font a book figure uses, in points: matplotlib's default tick and legend
# labels are 10 pt, and tests/test_figure_text.py keeps every size set in
# rnncourse.figures and in the notebooks at 9 pt or more.
MIN_FIGURE_FONT_PT = 9
# The smallest figure text a reader is asked to read, in CSS px (body text is 16 px);
# _static/rnncourse.js never shows a figure smaller than this (it scrolls instead).
MIN_FIGURE_TEXT_PX = 6.5


def test_figure_text_stays_readable_on_a_phone(site: Site) -> None:
    """A figure shrunk to the phone's column must keep its smallest text >= 6.5 px.

    Text of ``s`` pt in a PNG saved at ``dpi`` is ``s * dpi / 72`` image pixels high;
    shown ``displayed / natural`` times its size, it is that many CSS px on screen.
    """
    small = {}
    seen = 0
    for key, p in site.pages.items():
        for src, natural, shown in p.layout.get("phone", {}).get("figures", []):
            path = unquote(urlsplit(src).path)
            if not path.startswith(PREFIX):
                continue
            file = HTML / path.removeprefix(PREFIX)
            if file.suffix.lower() != ".png" or not file.is_file():
                continue
            seen += 1
            px = MIN_FIGURE_FONT_PT * _png_dpi(file) / 72 * shown / natural
            if px < MIN_FIGURE_TEXT_PX - 0.05:  # the browser rounds widths to 1/64 px
                small.setdefault(key, []).append(
                    f"{file.name[:12]}: {natural} px wide, shown at {shown:.0f} px, "
                    f"{MIN_FIGURE_FONT_PT} pt text -> {px:.1f} px")
    assert seen >= 10, f"only {seen} figures measured: the check would prove little"
    assert not small, (
        f"figures whose text is smaller than {MIN_FIGURE_TEXT_PX} px at 390 px "
        f"(make them narrower or stack the panels): {small}"
    )


# --- What a reader clicks and types, at 390, 800 and 1280 px -----------------------
#
# A second browser session (the ``reader`` fixture) does what a reader does: it clicks
# the drawer buttons that are on the screen, walks a page with the Tab key and asks
# Chromium's accessibility tree for the names of the copy buttons. Page weights come
# from the crawl of the ``site`` fixture (cache off).

TABLET = {"width": 800, "height": 1000}
WIDTHS = {"phone": PHONE, "tablet": TABLET, "desktop": DESKTOP}
DRAWER_DOC = "book/ch06_lstm"        # a chapter with a long "On this page"
DRAWER_TARGET = "book/ch07_peephole"  # the chapter a reader picks in the drawer
KEYBOARD_DOC = "book/ch02_rnn"       # the chapter with the most formulas (145 tab stops)
TAB_LIMIT = 1500                     # Tab presses before giving up on a page
# What the drawers hold: the chapter list (primary) and "On this page" (secondary).
DRAWER_NAV = {"primary": ".bd-docs-nav", "secondary": "#pst-page-toc-nav"}
# The most a page may transfer with an empty cache, in bytes. "Transferred" is what a
# reader's browser receives from GitHub Pages, which gzips text (level 6): the issue's
# 2 MB holds for every page. Measured (2026-12, after): 0.4-1.6 MB gzipped (ch02 1.59,
# ch05 1.38, ch06 1.22 MB); before, the pages with ipywidgets transferred 2.4-2.7 MB
# (the embed script, 4.4 MB uncompressed), the others 0.4-1.1 MB. Uncompressed, as the
# test server sends it: 1.0-3.4 MB (MathJax 1.2 MB, the theme's CSS 0.4 MB; the
# interactive figures of ch02 and ch05 0.55 MB each, PNGs that gzip cannot shrink; the
# 2x figures about 0.1-0.3 MB a chapter); before 2.2-2.7 MB, and up to 7.7 MB with widgets.
MAX_PAGE_GZIP_BYTES = 2_000_000
MAX_PAGE_BYTES = 3_600_000
_COMPRESSED = {".html", ".js", ".css", ".json", ".svg", ".txt", ".xml", ".map", ".ttf"}


@functools.cache
def _gzip_size(file: Path) -> int:
    """Bytes that a server which gzips text (GitHub Pages) sends for ``file``."""
    import gzip

    data = file.read_bytes()
    return len(gzip.compress(data, 6)) if file.suffix.lower() in _COMPRESSED else len(data)

# How many CSS px of the element's width are on screen (0: hidden, off-canvas, folded).
_SHOWN = """
(selector) => {
  const el = document.querySelector(selector);
  if (!el || !el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) return 0;
  const r = el.getBoundingClientRect();
  const w = Math.min(r.right, window.innerWidth) - Math.max(r.left, 0);
  const h = Math.min(r.bottom, window.innerHeight) - Math.max(r.top, 0);
  return w > 0 && h > 0 ? Math.round(w) : 0;
}
"""

# One Tab press's result: what has the focus, is it a formula, and, for a button of the
# header bars, whether a focus ring is drawn (an outline or a box-shadow of >= 2 px).
_FOCUSED = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return { end: true };
  window.__rnncourseSeen = window.__rnncourseSeen || new Set();
  if (window.__rnncourseSeen.has(el)) return { end: true };
  window.__rnncourseSeen.add(el);
  const cs = getComputedStyle(el);
  const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2
    && !/rgba\\(\\d+, \\d+, \\d+, 0\\)|transparent/.test(cs.outlineColor);
  const shadow = cs.boxShadow !== 'none' && cs.boxShadow.split(/,(?![^(]*\\))/).some(
    (s) => !/rgba\\(\\d+, \\d+, \\d+, 0\\)/.test(s)
      && parseFloat((s.match(/(-?[\\d.]+)px/g) || [])[3] || '0') >= 2);
  const header = !!el.closest('.bd-header-article, .bd-header')
    && (el.tagName === 'BUTTON' || el.classList.contains('btn'));
  return {
    end: false,
    formula: !!el.closest('mjx-container'),
    // a formula wider than its box scrolls: Chromium lets the keyboard reach it to scroll
    scroller: !!el.closest('mjx-container') && el.scrollWidth > el.clientWidth + 1,
    header: header,
    ring: outline || shadow,
    name: el.tagName.toLowerCase() + '.' + String(el.className.baseVal ?? el.className)
      .split(/\\s+/).slice(0, 3).join('.'),
  };
}
"""


@dataclass
class Reader:
    # width -> side -> {"toggles": visible toggles, "before"/"open"/"closed": px shown}
    drawers: dict[str, dict[str, dict]]
    # width -> True when a chapter link clicked in the open drawer opened that chapter
    drawer_navigation: dict[str, bool]
    # width -> {"stops": Tab stops, "formulas": of them formulas, "scrollers": formulas
    # too wide for their box, which the keyboard must reach to scroll them, "header":
    # [(header button, focus ring drawn)]}
    keyboard: dict[str, dict]
    # copy buttons of KEYBOARD_DOC shown to assistive technology (a folded cell's are
    # not) and the names Chromium's accessibility tree gives them
    copy_names: list[str]
    # page -> {"bytes": transferred, "requests": n, "urls": [...]}
    weight: dict[str, dict]
    icons: dict  # what the header's Font Awesome icons look like (desktop, DRAWER_DOC)
    # chapter 3's calculator: (inputs, total shown, note, caption and rows of the table)
    # after the reader's changes
    calculator: list[tuple[dict, str, str, list]] = field(default_factory=list)
    # every slider of every interactive figure, dragged at 390 and 1280 px: what it showed
    # before and after (see _explorers)
    explorers: list[dict] = field(default_factory=list)


def _settle(page, nav: str, want_shown: bool) -> int:
    """Pixels of ``nav`` on screen once the drawer has moved as wanted (or after 5 s:
    the test reports what it then sees), and the same for two polls in a row."""
    page.evaluate("() => { window.__rnncoursePx = undefined; }")
    try:
        page.wait_for_function(
            "([sel, want]) => { const px = (" + _SHOWN + ")(sel); const ok = want ? px > 0 "
            ": px === 0; const same = window.__rnncoursePx === px; "
            "window.__rnncoursePx = px; return ok && same; }",
            arg=[nav, want_shown], timeout=5_000, polling=150)
    except Exception:  # noqa: BLE001 - a drawer that does not move: reported by the test
        pass
    return page.evaluate(_SHOWN, nav)


def _drawers(page, base: str) -> tuple[dict, dict]:
    drawers: dict[str, dict[str, dict]] = {}
    navigation: dict[str, bool] = {}
    for kind, size in WIDTHS.items():
        page.set_viewport_size(size)
        drawers[kind] = {}
        for side, nav in DRAWER_NAV.items():
            page.goto(f"{base}{DRAWER_DOC}.html", wait_until="load")
            page.wait_for_timeout(300)
            toggles = page.locator(f".{side}-toggle:visible")
            found = {"toggles": toggles.count(), "before": page.evaluate(_SHOWN, nav)}
            drawers[kind][side] = found
            if not found["toggles"]:
                continue
            toggles.first.click()
            # a hidden drawer opens; a shown sidebar (the desktop's) hides
            found["open"] = _settle(page, nav, want_shown=not found["before"])
            found["modal"] = page.evaluate("() => !!document.querySelector('dialog[open]')")
            if found["modal"]:  # a drawer over the page: tap beside it to close it
                x = size["width"] - 8 if side == "primary" else 8
                page.mouse.click(x, size["height"] // 2)
            else:  # the desktop's "hide sidebar": the same button shows it again
                toggles.first.click()
            found["closed"] = _settle(page, nav, want_shown=bool(found["before"]))
            if side == "primary" and found["modal"]:
                # open the chapter list again and go to another chapter with it
                toggles.first.click()
                _settle(page, nav, want_shown=True)
                link = page.locator(f"dialog[open] a[href$='{Path(DRAWER_TARGET).name}.html']")
                ok = False
                if link.count():
                    link.first.click()
                    try:
                        page.wait_for_url(f"**/{DRAWER_TARGET}.html", timeout=5_000)
                        ok = True
                    except Exception:  # noqa: BLE001 - reported by the test
                        ok = False
                navigation[kind] = ok
    return drawers, navigation


def _keyboard(page, base: str) -> dict[str, dict]:
    walks = {}
    for kind, size in WIDTHS.items():
        page.set_viewport_size(size)
        page.goto(f"{base}{KEYBOARD_DOC}.html", wait_until="load")
        page.evaluate("async () => { if (window.MathJax && MathJax.startup) "
                      "await MathJax.startup.promise; }")
        page.wait_for_timeout(300)
        stops, formulas, scrollers, header = 0, 0, 0, []
        for _ in range(TAB_LIMIT):
            page.keyboard.press("Tab")
            focused = page.evaluate(_FOCUSED)
            if focused["end"]:
                break
            stops += 1
            formulas += focused["formula"] and not focused["scroller"]
            scrollers += focused["scroller"]
            if focused["header"]:
                header.append((focused["name"], focused["ring"]))
        walks[kind] = {"stops": stops, "formulas": formulas, "scrollers": scrollers,
                       "header": header}
    return walks


def _copy_names(page, context, base: str) -> list[str]:
    page.set_viewport_size(DESKTOP)
    page.goto(f"{base}{KEYBOARD_DOC}.html", wait_until="load")
    page.wait_for_timeout(300)
    cdp = context.new_cdp_session(page)
    root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    ids = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": "button.copybtn"})
    names = []
    for node in ids["nodeIds"]:
        ax = cdp.send("Accessibility.getPartialAXTree", {"nodeId": node,
                                                         "fetchRelatives": False})["nodes"]
        if ax and not ax[0].get("ignored"):
            names.append(str((ax[0].get("name") or {}).get("value", "")))
    cdp.detach()
    return names


def _weigh(site: Site) -> dict[str, dict]:
    """What each page of the crawl transferred, from an empty cache."""
    weight = {}
    for path, p in site.pages.items():
        if "images" not in p.info:  # the search run, the index.html redirect
            continue
        fetched = sorted(p.requested[r] for r in p.transferred if r in p.requested)
        gzipped = 0
        for url in fetched:
            if not url.startswith(site.base):  # data: URLs: their bytes are in the page
                continue
            local = HTML / unquote(urlsplit(url).path).removeprefix(PREFIX)
            gzipped += _gzip_size(local) if local.is_file() else 0
        weight[path] = {"bytes": sum(p.transferred.values()), "requests": len(p.transferred),
                        "gzip": gzipped, "urls": fetched}
    return weight


CALCULATOR_DOC = "book/ch03_pytorch"
# What a reader types into chapter 3's calculator: one configuration per row.
CALCULATOR_INPUTS = [
    {"cell": "LSTM", "n": "7", "sizes": "20, 30", "k": "5",
     "bias": "PyTorch: bias_ih + bias_hh", "bidirectional": True},
    {"cell": "GRU", "n": "11", "sizes": "16", "k": "0", "bias": "no bias",
     "bidirectional": False},
    {"cell": "RNN", "n": "234", "sizes": "1024 512", "k": "15",
     "bias": "PyTorch: bias_ih + bias_hh", "bidirectional": False},
    {"cell": "RNN", "n": "3", "sizes": "4, x", "k": "2", "bias": "no bias",
     "bidirectional": False},
]


def _calculator(page, base: str) -> list[tuple[dict, str, str, list]]:
    page.set_viewport_size(DESKTOP)
    page.goto(f"{base}{CALCULATOR_DOC}.html", wait_until="networkidle")
    box = page.locator(".rnncourse-calculator").first
    box.wait_for(timeout=10_000)
    page.wait_for_function("() => document.querySelector('[data-rnncourse-live]')",
                           timeout=10_000)

    def field(label: str):
        return box.locator(".rnncourse-field", has=page.get_by_text(label, exact=True)) \
            .locator("select, input").first

    shown = []
    for inputs in CALCULATOR_INPUTS:
        field("cell").select_option(label=inputs["cell"])
        field("input size n").fill(inputs["n"])
        field("hidden sizes d (bottom first)").fill(inputs["sizes"])
        field("output size k (0: none)").fill(inputs["k"])
        field("biases").select_option(label=inputs["bias"])
        field("bidirectional").set_checked(inputs["bidirectional"])
        output = box.locator(".rnncourse-calculator-output")
        total = output.locator("tr:last-child td:last-child")
        text = total.inner_text() if total.count() else output.inner_text()
        note = page.locator(".rnncourse-static-note", has_text="Live").count()
        table = output.evaluate(
            "(o) => [(o.querySelector('caption') || {}).textContent].concat(Array.from("
            "o.querySelectorAll('tbody tr')).map((r) => Array.from(r.cells, (c) => "
            "c.textContent)))")
        shown.append((inputs, text.strip(), f"{note} live note(s)", table))
    return shown


# What an interactive figure shows: its visible frames (one, normally), which one, a
# fingerprint of its image or text, the sliders' readouts, and its width on the screen.
_FRAME = """
(box) => {
  const frames = Array.from(box.querySelectorAll('.rnncourse-explorer-frame'));
  const shown = frames.filter((f) => f.checkVisibility() && f.getBoundingClientRect().height > 0);
  const f = shown[0];
  const data = f ? (f.currentSrc || f.src || f.textContent) : '';
  const mid = Math.floor(data.length / 2);
  return {
    visible: shown.length,
    index: frames.indexOf(f),
    key: data.length + ':' + data.slice(mid, mid + 96),
    readouts: Array.from(box.querySelectorAll('output')).map((o) => o.textContent),
    width: f ? f.getBoundingClientRect().width : 0,
    loaded: f && f.tagName === 'IMG' ? f.complete && f.naturalWidth > 0 : true,
  };
}
"""


def _explorers(page, base: str, docs: list[str]) -> list[dict]:
    """Drag every slider of every interactive figure with the mouse, at 390 and 1280 px,
    from where it is to the other end of its track; record what the figure showed."""
    moved = []
    for doc in docs:
        for kind, size in EXPLORER_WIDTHS.items():
            page.set_viewport_size(size)
            page.goto(f"{base}{doc}", wait_until="load")
            boxes = page.locator(".rnncourse-explorer")
            for b in range(boxes.count()):
                box = boxes.nth(b)
                sliders = box.locator("input[type=range]")
                for k in range(sliders.count()):
                    slider = sliders.nth(k)
                    slider.scroll_into_view_if_needed()
                    before = box.evaluate(_FRAME)
                    track = slider.bounding_box()
                    at = float(slider.input_value()) / max(float(slider.get_attribute("max")), 1)
                    y = track["y"] + track["height"] / 2
                    x0 = track["x"] + 8 + (track["width"] - 16) * at   # the thumb
                    x1 = track["x"] + track["width"] * (0.9 if at < 0.5 else 0.1)
                    page.mouse.move(x0, y)
                    page.mouse.down()
                    page.mouse.move(x1, y, steps=8)
                    page.mouse.up()
                    after = box.evaluate(_FRAME)
                    moved.append({"doc": doc, "width": kind, "explorer": b, "slider": k,
                                  "track": track["width"], "viewport": size["width"],
                                  "before": before, "after": after})
    return moved


_ICONS = """
() => Array.from(document.querySelectorAll('.bd-header-article i[class*="fa"], '
    + '.bd-header-article svg.svg-inline--fa')).map((el) => ({
  tag: el.tagName.toLowerCase(),
  shown: el.checkVisibility({ visibilityProperty: true, opacityProperty: true }),
  width: el.getBoundingClientRect().width,
  glyph: getComputedStyle(el, '::before').content,
  font: getComputedStyle(el).fontFamily,
}))
"""


@pytest.fixture(scope="session")
def reader(site: Site, server: str) -> Reader:
    # After `site`: one Playwright session at a time.
    from playwright.sync_api import sync_playwright

    host = urlsplit(server).netloc
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), headless=True,
                                    args=["--no-sandbox"])
        context = browser.new_context(viewport=DESKTOP, service_workers="block")
        context.route("**/*", lambda r: r.continue_() if urlsplit(r.request.url).netloc
                      == host else r.abort())
        page = context.new_page()
        drawers, navigation = _drawers(page, server)
        keyboard = _keyboard(page, server)
        names = _copy_names(page, context, server)
        calculator = _calculator(page, server)
        explorers = _explorers(page, server, sorted(
            k for k, p in site.pages.items() if p.info.get("explorers")))
        page.set_viewport_size(DESKTOP)
        page.goto(f"{server}{DRAWER_DOC}.html", wait_until="networkidle")
        page.evaluate("() => document.fonts.ready.then(() => true)")
        icons = {"icons": page.evaluate(_ICONS),
                 "fonts": page.evaluate("() => Array.from(document.fonts).filter((f) => "
                                        "f.status === 'loaded').map((f) => f.family)")}
        page.close()
        weight = _weigh(site)
        browser.close()
    return Reader(drawers, navigation, keyboard, names, weight, icons, calculator, explorers)


def test_reader_report(reader: Reader) -> None:
    """Prints what the reader met (the before/after table); the tests below assert."""
    print()
    for kind, sides in reader.drawers.items():
        for side, f in sides.items():
            print(f"{kind} {side} drawer: {f['toggles']} visible toggle(s), shown "
                  f"{f['before']} px -> click {f.get('open', '-')} px -> close "
                  f"{f.get('closed', '-')} px")
    print(f"drawer link opens the chapter: {reader.drawer_navigation}")
    for kind, walk in reader.keyboard.items():
        rings = sum(ring for _, ring in walk["header"])
        print(f"{kind} Tab walk of {KEYBOARD_DOC}: {walk['stops']} stops, "
              f"{walk['formulas']} formulas (+ {walk['scrollers']} that scroll sideways), "
              f"header buttons with a focus ring "
              f"{rings} of {len(walk['header'])}")
    named = sum(1 for n in reader.copy_names if n.strip())
    print(f"copy buttons of {KEYBOARD_DOC}: {len(reader.copy_names)}, named "
          f"{named}: {sorted(set(reader.copy_names))}")
    for inputs, shown, note, _ in reader.calculator:
        print(f"ch03 calculator {inputs}: shows {shown!r} ({note})")
    for m in reader.explorers:
        print(f"{m['doc']} explorer {m['explorer']} slider {m['slider']} at {m['width']}: "
              f"{m['before']['readouts']} frame {m['before']['index']} -> "
              f"{m['after']['readouts']} frame {m['after']['index']}")
    heavy = sorted(reader.weight.items(), key=lambda kv: -kv[1]["bytes"])
    for path, w in heavy:
        print(f"  {path}: {w['bytes'] / 1e6:.2f} MB in {w['requests']} requests "
              f"({w['gzip'] / 1e6:.2f} MB gzipped)")


def test_drawers_open_and_close_at_every_width(reader: Reader) -> None:
    """The ☰ and "On this page" buttons a reader sees open their drawer, and it closes."""
    bad = []
    for kind, sides in reader.drawers.items():
        for side, f in sides.items():
            if not f["toggles"]:
                # no button: only where the drawer's content is always on the screen
                if not f["before"]:
                    bad.append(f"{kind} {side}: no visible toggle and nothing shown")
                continue
            if f["before"]:  # shown before the click: the click hides it (desktop)
                if f["closed"] < f["before"] - 1 or f["open"]:
                    bad.append(f"{kind} {side}: shown {f['before']} px, after the click "
                               f"{f['open']} px, after the second {f['closed']} px")
            elif f["open"] < 150 or f["closed"]:
                bad.append(f"{kind} {side}: click on the visible toggle shows "
                           f"{f['open']} px of the drawer, closing leaves {f['closed']} px")
    assert not bad, bad
    # on a phone and a tablet, both drawers are behind a button
    for kind in ("phone", "tablet"):
        for side in DRAWER_NAV:
            assert reader.drawers[kind][side]["toggles"], f"{kind}: no visible {side} toggle"
    assert reader.drawers["desktop"]["primary"]["toggles"], "desktop: no 'hide sidebar'"


def test_a_chapter_link_in_the_drawer_opens_it(reader: Reader) -> None:
    assert set(reader.drawer_navigation) == {"phone", "tablet"}, reader.drawer_navigation
    assert all(reader.drawer_navigation.values()), reader.drawer_navigation


def test_formulas_are_not_tab_stops(reader: Reader, site: Site) -> None:
    for kind, walk in reader.keyboard.items():
        assert walk["stops"] >= 20, f"{kind}: only {walk['stops']} Tab stops: walk failed"
        assert walk["stops"] < TAB_LIMIT, f"{kind}: the Tab walk did not end"
        assert walk["formulas"] == 0, f"{kind}: {walk['formulas']} of {walk['stops']} " \
            f"Tab stops of {KEYBOARD_DOC} are formulas"
    stops = {k: p.info["formulaTabStops"] for k, p in site.pages.items()
             if p.info.get("formulaTabStops")}
    assert not stops, f"formulas in the tab order: {stops}"


def test_header_buttons_show_a_focus_ring(reader: Reader) -> None:
    for kind, walk in reader.keyboard.items():
        assert len(walk["header"]) >= 4, f"{kind}: Tab reached {walk['header']}"
        bare = [name for name, ring in walk["header"] if not ring]
        assert not bare, f"{kind}: header buttons without a visible focus ring: {bare}"


def test_copy_buttons_have_names(reader: Reader, site: Site) -> None:
    assert len(reader.copy_names) >= 10, reader.copy_names
    unnamed = [n for n in reader.copy_names if not n.strip()]
    assert not unnamed, f"{len(unnamed)} copy buttons without an accessible name"
    bad = {k: p.info["unlabelledCopyButtons"] for k, p in site.pages.items()
           if p.info.get("unlabelledCopyButtons")}
    assert not bad, f"copy buttons without an aria-label: {bad}"


def test_font_awesome_is_loaded_once(reader: Reader) -> None:
    for path, w in reader.weight.items():
        scripts = [u for u in w["urls"] if "fontawesome" in u and u.split("?")[0].endswith(".js")]
        fonts = [u for u in w["urls"] if "/webfonts/" in u]
        assert not (scripts and fonts), f"{path}: Font Awesome twice: {scripts + fonts}"
    icons = [i for i in reader.icons["icons"] if i["shown"]]  # not those of closed menus
    assert len(icons) >= 4, f"header icons: {reader.icons['icons']}"
    blank = [i for i in icons if i["width"] < 4 or (i["tag"] == "i" and i["glyph"] in
                                                      ("none", "normal", '""'))]
    assert not blank, f"header icons not drawn: {blank}"


def test_search_index_only_on_the_search_page(reader: Reader) -> None:
    carrying = sorted(p for p, w in reader.weight.items()
                      if any(u.split("?")[0].endswith("/searchindex.js") for u in w["urls"]))
    assert carrying == ["search.html"], f"pages that load searchindex.js: {carrying}"


def test_no_page_is_too_heavy(reader: Reader) -> None:
    assert len(reader.weight) >= 10, sorted(reader.weight)
    heavy = {}
    for path, w in reader.weight.items():
        if w["gzip"] > MAX_PAGE_GZIP_BYTES:
            heavy[path] = (f"{w['gzip'] / 1e6:.2f} MB as GitHub Pages sends it (limit "
                           f"{MAX_PAGE_GZIP_BYTES / 1e6:.2f} MB)")
        if w["bytes"] > MAX_PAGE_BYTES:
            heavy[path + " (uncompressed)"] = (f"{w['bytes'] / 1e6:.2f} MB (limit "
                                               f"{MAX_PAGE_BYTES / 1e6:.2f} MB)")
    assert not heavy, f"pages that transfer too much: {heavy}"


def _torch_count(inputs: dict) -> int:
    """Parameters of the network ``inputs`` describes, counted by torch.nn itself."""
    torch = pytest.importorskip("torch")
    cls = {"RNN": torch.nn.RNN, "GRU": torch.nn.GRU, "LSTM": torch.nn.LSTM}[inputs["cell"]]
    bias = inputs["bias"] != "no bias"
    bidirectional = inputs["bidirectional"]
    modules, width = [], int(inputs["n"])
    for d in (int(x) for x in inputs["sizes"].replace(",", " ").split()):
        modules.append(cls(width, d, bias=bias, bidirectional=bidirectional))
        width = d * (2 if bidirectional else 1)
    if int(inputs["k"]):
        modules.append(torch.nn.Linear(width, int(inputs["k"]), bias=bias))
    return sum(p.numel() for m in modules for p in m.parameters())


def test_chapter_3_calculator_counts_in_the_browser(reader: Reader) -> None:
    """The reader changes the calculator's inputs; the table it shows has torch's total."""
    assert len(reader.calculator) == len(CALCULATOR_INPUTS), reader.calculator
    from rnncourse.params import count_parameters

    biases = {"no bias": "none", "textbook: one b per gate block": "textbook",
              "PyTorch: bias_ih + bias_hh": "pytorch"}
    for inputs, shown, note, table in reader.calculator:
        assert note == "1 live note(s)", note
        if "x" in inputs["sizes"]:
            assert shown.startswith("cannot count: hidden sizes must be positive integers"), \
                (inputs, shown)
            continue
        assert shown == f"{_torch_count(inputs):,}", (inputs, shown, _torch_count(inputs))
        # ...and the same rows, formulas and caption as the Python breakdown
        bias = biases[inputs["bias"]]
        count = count_parameters(
            inputs["cell"].lower(), int(inputs["n"]),
            [int(x) for x in inputs["sizes"].replace(",", " ").split()],
            int(inputs["k"]) or None, bias=bias != "none",
            bias_convention="textbook" if bias == "none" else bias,
            bidirectional=inputs["bidirectional"])
        expected = [count.title] + [[r.name, r.formula, f"{r.count:,}"] for r in count.rows]
        expected.append(["total", "", f"{count.total:,}"])
        assert table == expected, (inputs, table, expected)



def test_dragging_a_slider_changes_its_figure(reader: Reader) -> None:
    """Each interactive figure's sliders, dragged with the mouse at 390 and 1280 px: the
    readout and the figure (another image or text, fully loaded) change, one frame shows."""
    assert len({m["doc"] for m in reader.explorers}) >= 1, reader.explorers
    assert {m["width"] for m in reader.explorers} == set(EXPLORER_WIDTHS)
    bad = []
    for m in reader.explorers:
        where = f"{m['doc']} #{m['explorer']} slider {m['slider']} at {m['width']}"
        before, after = m["before"], m["after"]
        if before["visible"] != 1 or after["visible"] != 1:
            bad.append(f"{where}: {before['visible']} then {after['visible']} frames shown")
        elif before["index"] == after["index"] or before["key"] == after["key"]:
            bad.append(f"{where}: the figure did not change (frame {after['index']})")
        elif before["readouts"] == after["readouts"]:
            bad.append(f"{where}: the readout did not change ({after['readouts']})")
        elif not after["loaded"]:
            bad.append(f"{where}: the new frame's image did not load")
        if m["track"] < 100:
            bad.append(f"{where}: the slider is only {m['track']:.0f} px long")
        if after["width"] > m["viewport"]:
            bad.append(f"{where}: the figure is {after['width']:.0f} px wide, wider than "
                       "the screen")
    assert not bad, bad
