"""Print the built website (``_build/html``) as one PDF of the whole book, offline.

    python scripts/build_pdf.py [--html _build/html] [--out _build/pdf/rnncourse.pdf]

``make pdf`` runs it after ``make book``. Chromium (Debian's ``chromium``, or
``RNNCOURSE_CHROMIUM``; driven by Playwright's Python package, no ``playwright
install``) opens each page of ``_toc.yml`` in order from a local server (every request
to another host is aborted), waits for MathJax, the widgets and the images, and prints
it on A4 with the print styles of ``_static/rnncourse.css`` (no navigation or buttons;
code and long outputs wrap; figures, tables and equations fit the page width: display
math that is still too wide is scaled down here, before printing). A title page and a
table of contents (with page numbers) come first; ``pypdf`` merges the pages, adds
bookmarks (parts and chapters) and stamps each page's footer
(chapter title, page number). The PDF is also copied into the site
(``_build/html/rnncourse.pdf``), which every page's download button links.

It prints what it measured: pages per chapter, elements still wider than the page
(there should be none), the size and the time taken.
"""

from __future__ import annotations

import argparse
import functools
import html
import http.server
import io
import json
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml  # pyyaml: a dependency of jupyter-book

ROOT = Path(__file__).resolve().parents[1]
A4_MM = (210.0, 297.0)
MARGIN_MM = {"top": 16.0, "bottom": 18.0, "left": 17.0, "right": 17.0}
PX_PER_MM = 96 / 25.4

# Run in each page once it has loaded (print media emulated, viewport as wide as the
# printed text): wait for MathJax, the widgets and every image; then scale display
# math that is wider than the text down to fit, and report what is still too wide.
_PREPARE = """
async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const views = document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]').length;
  for (let i = 0; views && i < 100; i++) {
    if (document.querySelectorAll('.widget-subarea > *').length >= views) break;
    await sleep(100);
  }
  // folded content is printed open, except the code of hide-input cells (the install cell)
  document.querySelectorAll('details:not(.above-input)').forEach((d) => { d.open = true; });
  const imgs = Array.from(document.images);
  imgs.forEach((img) => { img.loading = 'eager'; });
  await Promise.all(imgs.map((img) => img.decode().catch(() => null)));
  await sleep(50);
  const article = document.querySelector('article') || document.body;
  const width = article.clientWidth;
  // display math wider than the text: a smaller font (MathJax scales with it)
  let scaled = 0;
  article.querySelectorAll('mjx-container[display="true"]').forEach((box) => {
    if (box.scrollWidth > box.clientWidth + 1) scaled++;
    for (let i = 0; i < 4 && box.scrollWidth > box.clientWidth + 1; i++) {
      const size = parseFloat(getComputedStyle(box).fontSize);
      box.style.fontSize = (size * box.clientWidth / box.scrollWidth * 0.98) + 'px';
    }
  });
  const name = (el) => el.tagName.toLowerCase() + ' "'
    + (el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 60) + '"';
  const right = article.getBoundingClientRect().right;
  const wide = Array.from(article.querySelectorAll(
      'pre, mjx-container, img, table, svg, .widget-subarea, div.math'))
    .filter((el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && (el.scrollWidth > el.clientWidth + 1 || r.right > right + 1);
    }).map(name);
  const heads = Array.from(article.querySelectorAll('h1, h2'))
    .map((h) => [h.tagName, (h.textContent || '').replace(/[#¶]/g, '').trim()]);
  return { width: width, wide: wide, heads: heads, scaled: scaled,
           math: document.querySelectorAll('mjx-container').length,
           mathErrors: document.querySelectorAll('mjx-merror').length };
}
"""


@dataclass
class Entry:
    doc: str  # e.g. "book/ch06_lstm"
    part: str | None  # the caption of the part it opens, if it opens one
    title: str = ""
    pages: int = 0


def toc_entries(toc_path: Path) -> list[Entry]:
    """The pages of ``_toc.yml`` in reading order (the root first)."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    if not isinstance(toc, dict) or "root" not in toc:
        raise SystemExit(f"error: {toc_path} has no 'root:'")
    entries = [Entry(str(toc["root"]), None)]
    for part in toc.get("parts") or [{"chapters": toc.get("chapters") or []}]:
        caption = part.get("caption")
        for i, chapter in enumerate(part.get("chapters") or []):
            if "file" not in chapter:
                continue
            entries.append(Entry(str(chapter["file"]), caption if i == 0 else None))
            for section in chapter.get("sections") or []:
                if "file" in section:
                    entries.append(Entry(str(section["file"]), None))
    return entries


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass


def _chromium(explicit: str | None) -> str:
    path = explicit or os.environ.get("RNNCOURSE_CHROMIUM") or shutil.which("chromium") or ""
    if not Path(path).is_file():
        raise SystemExit("error: Chromium is not installed: `apt-get install -y chromium`, "
                         "or set RNNCOURSE_CHROMIUM (or --chromium) to a Chromium binary")
    return path


def _pdf_options() -> dict:
    return {"format": "A4", "print_background": True,
            "margin": {k: f"{v}mm" for k, v in MARGIN_MM.items()}}


def _front_matter(config: dict, entries: list[Entry], first_page: dict[str, int]) -> str:
    """The title page and the table of contents, as HTML."""
    title = html.escape(str(config.get("title") or "rnncourse"))
    author = html.escape(str(config.get("author") or ""))
    year = html.escape(str(config.get("copyright") or ""))
    url = html.escape(str((config.get("repository") or {}).get("url") or ""))
    rows = []
    for e in entries:
        if e.part:
            rows.append(f'<tr class="part"><td colspan="2">{html.escape(e.part)}</td></tr>')
        rows.append(f'<tr><td>{html.escape(e.title)}</td>'
                    f'<td class="num">{first_page.get(e.doc, "")}</td></tr>')
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
  body {{ font-family: "DejaVu Sans", "Liberation Sans", sans-serif; color: #222; }}
  .title {{ height: 230mm; display: flex; flex-direction: column; justify-content: center;
           text-align: center; break-after: page; }}
  .title h1 {{ font-size: 30pt; margin: 0 0 10mm; }}
  .title p {{ font-size: 13pt; margin: 2mm 0; color: #444; }}
  h2 {{ font-size: 18pt; margin: 0 0 6mm; }}
  table {{ width: 100%; border-collapse: collapse; font-size: 11pt; }}
  td {{ padding: 1.2mm 0; }}
  td.num {{ text-align: right; width: 15mm; }}
  tr.part td {{ font-weight: 700; padding-top: 4mm; }}
</style></head><body>
<div class="title"><h1>{title}</h1><p>{author}</p><p>{year}</p><p>{url}</p></div>
<h2>Contents</h2><table>{"".join(rows)}</table>
</body></html>"""


def _footers(labels: list[str], total: int) -> str:
    """One A4 page per label, blank but for its footer (stamped onto the book's pages)."""
    pages = []
    for number, label in enumerate(labels, start=1):
        if not label:
            pages.append('<div class="page"></div>')
            continue
        pages.append(f'<div class="page"><div class="foot"><span>{html.escape(label)}</span>'
                     f'<span>{number} / {total}</span></div></div>')
    w, h = A4_MM
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
  @page {{ size: A4; margin: 0; }}
  html, body {{ margin: 0; padding: 0; }}
  .page {{ width: {w}mm; height: {h}mm; position: relative; break-after: page;
          overflow: hidden; }}
  .foot {{ position: absolute; left: {MARGIN_MM["left"]}mm; right: {MARGIN_MM["right"]}mm;
          bottom: 8mm; display: flex; justify-content: space-between;
          font: 8pt "DejaVu Sans", "Liberation Sans", sans-serif; color: #666;
          border-top: 0.3pt solid #bbb; padding-top: 1.5mm; }}
</style></head><body>{"".join(pages)}</body></html>"""


def build(html_dir: Path, out: Path, chromium: str | None = None, verbose: bool = True,
          copy_to_site: bool = True) -> dict:
    """Print the site in ``html_dir`` to ``out`` (and copy it into the site); the report."""
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader, PdfWriter

    start = time.perf_counter()
    if not (html_dir / "index.html").is_file():
        raise SystemExit(f"error: {html_dir}/index.html is missing: build the book first "
                         "(`make book`)")
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8")) or {}
    entries = toc_entries(ROOT / "_toc.yml")
    for e in entries:
        if not (html_dir / f"{e.doc}.html").is_file():
            raise SystemExit(f"error: {html_dir / e.doc}.html is missing (listed in _toc.yml)")

    handler = functools.partial(_Quiet, directory=str(html_dir))
    httpd = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/"
    host = urlsplit(base).netloc
    text_width = round((A4_MM[0] - MARGIN_MM["left"] - MARGIN_MM["right"]) * PX_PER_MM)
    chapters: list[bytes] = []
    report: dict = {"pages": {}, "wide": {}, "math_errors": {}, "scaled_math": {}}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=_chromium(chromium), headless=True,
                                        args=["--no-sandbox"])
            context = browser.new_context(viewport={"width": text_width, "height": 1000},
                                          service_workers="block")
            context.route("**/*", lambda r: r.continue_()
                          if urlsplit(r.request.url).netloc == host else r.abort())
            page = context.new_page()
            page.emulate_media(media="print", color_scheme="light")
            for e in entries:
                page.goto(base + e.doc + ".html", wait_until="load", timeout=60_000)
                info = page.evaluate(_PREPARE)
                heads = info["heads"]
                e.title = next((t for tag, t in heads if tag == "H1"), e.doc)
                data = page.pdf(**_pdf_options())
                e.pages = len(PdfReader(io.BytesIO(data)).pages)
                chapters.append(data)
                report["pages"][e.doc] = e.pages
                if info["wide"]:
                    report["wide"][e.doc] = info["wide"]
                if info["scaled"]:
                    report["scaled_math"][e.doc] = info["scaled"]
                if info["mathErrors"]:
                    report["math_errors"][e.doc] = info["mathErrors"]
                if verbose:
                    print(f"{e.doc}: {e.pages} pages, {info['math']} formulas"
                          + (f" ({info['scaled']} scaled to fit)" if info["scaled"] else "")
                          + (f", {len(info['wide'])} too wide: {info['wide'][:3]}"
                             if info["wide"] else ""), flush=True)

            # Front matter: its length decides where the chapters start.
            front_pages, first = 2, {}
            for _ in range(3):
                first, n = {}, front_pages + 1
                for e in entries:
                    first[e.doc] = n
                    n += e.pages
                page.set_content(_front_matter(config, entries, first), wait_until="load")
                front = page.pdf(**_pdf_options())
                count = len(PdfReader(io.BytesIO(front)).pages)
                if count == front_pages:
                    break
                front_pages = count
            total = front_pages + sum(e.pages for e in entries)
            labels = ["" for _ in range(front_pages)]
            labels[1:] = ["Contents"] * (front_pages - 1)
            for e in entries:
                labels += [e.title] * e.pages
            page.set_content(_footers(labels, total), wait_until="load")
            stamps = PdfReader(io.BytesIO(page.pdf(width="210mm", height="297mm",
                                                   print_background=False)))
            browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()

    if len(stamps.pages) != total:
        raise SystemExit(f"error: {len(stamps.pages)} footer pages for {total} pages")
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(front)), import_outline=False)
    part = None
    for e, data in zip(entries, chapters, strict=True):
        at = len(writer.pages)
        reader = PdfReader(io.BytesIO(data))
        writer.append(reader, import_outline=False)
        if e.part:
            part = writer.add_outline_item(title=e.part, page_number=at)
        writer.add_outline_item(title=e.title, page_number=at,
                                parent=None if e is entries[0] else part)
    for i, stamp in enumerate(stamps.pages):
        if labels[i]:
            writer.pages[i].merge_page(stamp)
        writer.pages[i].compress_content_streams()  # merge_page leaves them uncompressed
    writer.add_metadata({"/Title": str(config.get("title") or "rnncourse"),
                         "/Author": str(config.get("author") or "")})
    writer.page_mode = "/UseOutlines"
    writer.compress_identical_objects()  # shared fonts, images: once
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        writer.write(fh)
    tmp.replace(out)
    if copy_to_site:
        shutil.copyfile(out, html_dir / out.name)
    report.update(total_pages=total, bytes=out.stat().st_size,
                  seconds=round(time.perf_counter() - start, 1), front_pages=front_pages,
                  titles={e.doc: e.title for e in entries}, first_page=first)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "pdf" / "rnncourse.pdf")
    parser.add_argument("--chromium", default=None)
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the report (pages, too-wide elements) here")
    args = parser.parse_args(argv)
    report = build(args.html, args.out, args.chromium)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    wide = sum(len(v) for v in report["wide"].values())
    print(f"{args.out}: {report['total_pages']} pages, {report['bytes'] / 1e6:.1f} MB, "
          f"{wide} elements wider than the page, {report['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
