"""What the package promises about itself: Python versions, URLs, licences, install lines."""

from __future__ import annotations

import importlib.metadata as md
import re
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
COURSE_URL = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")


def _pins() -> list[tuple[str, str]]:
    out = []
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def test_every_pinned_package_supports_the_oldest_python_we_claim():
    """The Makefile's minimum Python is one the whole tested set installs on.

    The package alone (NumPy only) claims requires-python's bound; the tested
    set of `make setup` may need a later patch release (soupsieve needs 3.11.5).
    """
    oldest = re.fullmatch(r">=(\d+\.\d+)", PROJECT["requires-python"]).group(1)
    m = re.search(r"sys\.version_info >= \((\d+), (\d+), (\d+)\)",
                  (ROOT / "Makefile").read_text())
    make_min = ".".join(m.groups())
    assert make_min.startswith(oldest + ".")
    refusing = []
    for name, version in _pins():
        try:
            meta = md.metadata(name)
        except md.PackageNotFoundError:
            continue  # not installed here (another platform's package)
        if meta["Version"].split("+")[0] != version:
            continue
        spec = meta.get("Requires-Python")
        if spec and Version(make_min) not in SpecifierSet(spec):
            refusing.append(f"{name}=={version} (Requires-Python {spec})")
    assert not refusing, f"these pins do not install on Python {make_min}: {refusing}"
    assert md.metadata("numpy")["Requires-Python"] is None or Version(oldest + ".0") in \
        SpecifierSet(md.metadata("numpy")["Requires-Python"])
    classifiers = PROJECT["classifiers"]
    assert f"Programming Language :: Python :: {oldest}" in classifiers
    older = f"3.{int(oldest.split('.')[1]) - 1}"
    assert f"Programming Language :: Python :: {older}" not in classifiers


def test_urls_are_the_course_repository():
    assert all(url.startswith(COURSE_URL) for url in PROJECT["urls"].values())


@pytest.mark.parametrize("name, words", [
    ("LICENSE", ["MIT License", "Permission is hereby granted"]),
    ("LICENSE-BOOK", ["Creative Commons Attribution 4.0", "creativecommons.org/licenses/by/4.0"]),
])
def test_licences(name, words):
    text = (ROOT / name).read_text()
    assert all(w in text for w in words)


def test_no_install_instruction_uses_an_unregistered_name():
    """`pip install rnncourse` would fetch whatever someone registers under that name."""
    bare = re.compile(r"pip install\s+(-U\s+)?['\"]?rnncourse(\[[a-z,]+\])?(?!\s*@)['\"]?(\s|$)")
    assert bare.search("pip install rnncourse") and bare.search("pip install 'rnncourse[torch]'")
    assert not bare.search("pip install 'rnncourse @ git+https://x/y@v1.0.0'")
    for path in [ROOT / "README.md", *(ROOT / ".github" / "workflows").glob("*.yml"),
                 *(ROOT / "instructors").rglob("*")]:
        if path.is_file():
            for n, line in enumerate(path.read_text().splitlines(), start=1):
                assert not bare.search(line), f"{path.name}:{n}: {line.strip()}"


def test_both_licences_ship_in_the_wheel_and_the_sdist(tmp_path):
    """LICENSE-BOOK covers the corpus shipped in rnncourse/data: it travels with it."""
    import shutil
    import subprocess
    import sys
    import tarfile
    import zipfile

    pytest.importorskip("setuptools")
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    if not files:
        pytest.skip("not a git checkout")
    src = tmp_path / "src"
    for rel in files:
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    (tmp_path / "dist").mkdir()
    built = []
    for kind in ("sdist", "wheel"):  # one process each (setuptools keeps state between them)
        code = (f"import sys; from setuptools import build_meta as b; "
                f"print('BUILT', b.build_{kind}(sys.argv[1]))")
        done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "dist")], cwd=src,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        built += [line.split()[1] for line in done.stdout.splitlines()
                  if line.startswith("BUILT ")]
    sdist, wheel = built
    with tarfile.open(tmp_path / "dist" / sdist) as t:
        names = {Path(n).name for n in t.getnames()}
    assert {"LICENSE", "LICENSE-BOOK"} <= names
    with zipfile.ZipFile(tmp_path / "dist" / wheel) as z:
        licences = {Path(n).name for n in z.namelist() if ".dist-info/licenses/" in n}
        metadata = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA")))
    assert licences == {"LICENSE", "LICENSE-BOOK"}
    assert b"License-File: LICENSE-BOOK" in metadata


def test_the_torch_floor_has_is_autocast_available():
    """torch.amp.is_autocast_available (rnncourse.torch.functional) arrived in PyTorch 2.4."""
    floor = next(r for r in PROJECT["optional-dependencies"]["torch"] if r.startswith("torch"))
    assert SpecifierSet(floor.removeprefix("torch")) == SpecifierSet(">=2.4")
    source = (ROOT / "rnncourse" / "torch" / "functional.py").read_text()
    assert "torch.amp.is_autocast_available" in source
