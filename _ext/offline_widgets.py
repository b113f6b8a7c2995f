"""Serve the JavaScript that renders ipywidgets from the built site itself.

A notebook saved with its widget state shows its widgets on a web page without
a kernel: the page loads ``require.js`` and the ipywidgets embed script, which
draw every widget from the stored state. By default myst-nb loads both from
public CDNs, so in a classroom without a network the widgets are empty boxes.

This Sphinx extension fetches the two npm packages once, with ``npm pack``
(pinned versions, checked by SHA-256), into ``_build/npm-packs/`` -- a build
folder, never committed -- and stages the files a page needs into
``_build/offline-assets/widgets/``, next to the MathJax copy of
``offline_mathjax.py``. ``_config.yml`` points ``nb_ipywidgets_js`` at them.

The embed script loads its icon fonts relative to the URL that require.js
computes for its AMD modules, which is the *page's* folder by default. A third,
tiny script (``widgets/paths.js``, written here) maps the ``@jupyter-widgets``
module names to the static folder, so that every page, at any depth, takes the
fonts from ``_static/widgets/@jupyter-widgets/...``; it also lets the widgets'
MathJax 2 call (``MathJax.Hub.Queue``) typeset with the site's MathJax 3.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError

# name@version -> (tarball name written by `npm pack`, its SHA-256)
_PACKAGES: dict[str, tuple[str, str]] = {
    "requirejs@2.3.7": (
        "requirejs-2.3.7.tgz",
        "31f3330c978fb28684622fe71165dc946432cf0210b2ea8a1ca0233e70f2737d",
    ),
    "@jupyter-widgets/html-manager@1.0.6": (
        "jupyter-widgets-html-manager-1.0.6.tgz",
        "6c198ceb99ba7e7526990a1de16e8147ad7d3a714e3fb06741183623c04b5f6e",
    ),
}

_FONT_SUFFIXES = (".woff2", ".woff", ".ttf", ".eot", ".svg")

# Run between require.js and embed-amd.js. (1) Tell require.js where the AMD
# modules defined inside embed-amd.js live; the embed script derives its asset
# (font) URLs from these module URLs. (2) The widgets typeset their labels with
# the MathJax 2 call `MathJax.Hub.Queue`; the site serves MathJax 3, which has
# no `Hub`, so map that call onto MathJax 3's `typesetPromise`.
_PATHS_JS = """\
// Written by _ext/offline_widgets.py: see there.
(function () {
  var src = document.currentScript.src.split("?")[0];
  var here = src.slice(0, src.lastIndexOf("/") + 1);
  window.require.config({ paths: { "@jupyter-widgets": here + "@jupyter-widgets" } });

  function hub() {
    var mj = window.MathJax;
    if (!mj || mj.Hub || !mj.startup) return;
    mj.Hub = {
      Queue: function () {
        Array.prototype.forEach.call(arguments, function (call) {
          if (Array.isArray(call) && call[0] === "Typeset" && call[2]) {
            mj.startup.promise.then(function () { return mj.typesetPromise([call[2]]); });
          }
        });
      },
    };
  }
  hub();
  document.addEventListener("DOMContentLoaded", hub);
  window.addEventListener("load", hub);
})();
"""

def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fetch(packs: Path) -> dict[str, Path]:
    """Return the verified tarball of every package, running `npm pack` when missing."""
    packs.mkdir(parents=True, exist_ok=True)
    missing = [spec for spec, (name, _) in _PACKAGES.items() if not (packs / name).is_file()]
    if missing:
        npm = shutil.which("npm")
        if npm is None:
            raise ExtensionError(
                "offline_widgets: `npm` is not installed, so the widget scripts cannot be "
                f"fetched. Install Node.js/npm, or put {', '.join(missing)} "
                f"(`npm pack` tarballs) into {packs}"
            )
        result = subprocess.run(
            [npm, "pack", "--silent", "--pack-destination", str(packs), *missing],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise ExtensionError(
                f"offline_widgets: `npm pack {' '.join(missing)}` failed:\n{result.stderr}"
            )
    tarballs = {}
    for spec, (name, digest) in _PACKAGES.items():
        path = packs / name
        if not path.is_file():
            raise ExtensionError(f"offline_widgets: `npm pack {spec}` wrote no {path}")
        if _sha256(path) != digest:
            path.unlink()
            raise ExtensionError(
                f"offline_widgets: {path.name} does not have the expected SHA-256 "
                "(deleted; the next build fetches it again)"
            )
        tarballs[spec] = path
    return tarballs


def _extract(tarball: Path, member: str, dst: Path) -> None:
    with tarfile.open(tarball) as tar:
        src = tar.extractfile(f"package/{member}")
        if src is None:
            raise ExtensionError(f"offline_widgets: {tarball.name} has no {member}")
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read())


def _stage_widgets(target: Path, tarballs: dict[str, Path]) -> None:
    _extract(tarballs["requirejs@2.3.7"], "require.js", target / "require.js")
    manager = tarballs["@jupyter-widgets/html-manager@1.0.6"]
    _extract(manager, "dist/embed-amd.js", target / "embed-amd.js")
    with tarfile.open(manager) as tar:
        fonts = [
            m.name.removeprefix("package/dist/")
            for m in tar.getmembers()
            if m.name.startswith("package/dist/") and m.name.endswith(_FONT_SUFFIXES)
        ]
    # The modules "@jupyter-widgets/base" and ".../controls" resolve to
    # widgets/@jupyter-widgets/, "html-manager/dist/libembed-amd" to .../html-manager/dist/.
    for folder in ("@jupyter-widgets", "@jupyter-widgets/html-manager/dist"):
        for font in fonts:
            _extract(manager, f"dist/{font}", target / folder / font)


def _stage(app: Sphinx, config: Config) -> None:
    build = Path(app.outdir).parent  # _build
    root = build / "offline-assets"
    target = root / "widgets"
    if not (target / "embed-amd.js").is_file():
        tarballs = _fetch(build / "npm-packs")
        staging = root / "widgets.partial"
        shutil.rmtree(staging, ignore_errors=True)
        _stage_widgets(staging, tarballs)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    paths_js = target / "paths.js"
    if not paths_js.is_file() or paths_js.read_text(encoding="utf-8") != _PATHS_JS:
        paths_js.write_text(_PATHS_JS, encoding="utf-8")
    if str(root) not in map(str, config.html_static_path):  # offline_mathjax adds it too
        config.html_static_path = [*config.html_static_path, str(root)]


_VIEW = "application/vnd.jupyter.widget-view+json"
_STATE = "application/vnd.jupyter.widget-state+json"


def _is_widget_script(script: object) -> bool:
    filename = str(getattr(script, "filename", script) or "")
    attributes = getattr(script, "attributes", {}) or {}
    # Sphinx stores the path under the static folder: "_static/widgets/require.js"
    path = filename.split("?")[0].removeprefix("_static/")
    return path.startswith("widgets/") or attributes.get("type") == _STATE


def _drop_unused_widget_scripts(app: Sphinx, pagename: str, templatename: str,
                                context: dict, doctree: object) -> None:
    """No widget script on a page that shows no widget.

    myst-nb loads require.js and the embed script (4.4 MB) on every page whose notebook
    stores widget state, even where each widget's output is shown another way (the
    website prefers an output's ``text/html``: see ``nb_mime_priority_overrides`` in
    ``_config.yml``, and chapter 3's calculator). A page without a widget view keeps
    neither the scripts nor the stored state.
    """
    scripts = context.get("script_files")
    if not scripts or _VIEW in str(context.get("body", "")):
        return
    scripts[:] = [s for s in scripts if not _is_widget_script(s)]


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("config-inited", _stage)
    app.connect("html-page-context", _drop_unused_widget_scripts, priority=950)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
