"""The package's layout is its architecture: these tests keep it so.

- ``rnncourse/figures/`` only draws. Its functions take results and return figures or
  widgets; nothing in it trains, samples, defines a dataset or a model, or loads data
  (those live in ``rnncourse.data``, ``rnncourse.models`` and ``rnncourse.analysis``).
- The scripts in ``scripts/`` import experiments, never figures.
- No import cycle anywhere in the package: the import graph (every ``import``, at module
  level or inside a function) is acyclic.

Each rule is checked on the source (its AST), and each checker is itself tested on small
made-up modules that break the rule, so that a checker that cannot fail would be noticed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rnncourse"

# --------------------------------------------------------------------------- figures only draw

#: Names of functions that train, sample or load: none may be defined or called in figures/.
FORBIDDEN_CALLS = {
    "fit", "backward", "zero_grad", "manual_seed", "train_pulse", "train_forecaster",
    "train_line_classifier", "run_adding_experiment", "sample", "sample_next", "multinomial",
    "choice", "load", "loads", "read_text", "read_bytes", "open", "path", "book_corpus",
    "frozen_lines", "line_data", "make_pulse_data", "reversal_data", "random_dates",
    "adding_problem", "copy_task", "sine_series", "multivariate_sine_series",
}
#: Defined names that say "this trains, samples, loads or is a dataset or a model".
FORBIDDEN_DEF = re.compile(r"(^|_)(train|fit|sample|load|dataset|batches|corpus|vocab)"
                           r"|_data$|^make_.*data")
#: Base classes of models and datasets.
FORBIDDEN_BASES = {"Module", "Dataset", "IterableDataset", "NamedTuple"}


def _called_name(node: ast.Call) -> str | None:
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return None


def drawing_violations(source: str) -> list[str]:
    """What in ``source`` (a module of figures/) trains, samples, loads or defines data."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                and FORBIDDEN_DEF.search(node.name):
            found.append(f"defines {node.name}()")
        elif isinstance(node, ast.ClassDef):
            bases = {b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "")
                     for b in node.bases}
            if bases & FORBIDDEN_BASES or FORBIDDEN_DEF.search(node.name.lower()):
                found.append(f"defines class {node.name}")
        elif isinstance(node, ast.Call) and _called_name(node) in FORBIDDEN_CALLS:
            found.append(f"calls {_called_name(node)}() on line {node.lineno}")
    return found


@pytest.mark.parametrize("source, what", [
    ("def train_model(m):\n    pass\n", "defines train_model()"),
    ("def plot(model, x):\n    model.fit(x)\n", "calls fit()"),
    ("import torch\nclass Net(torch.nn.Module):\n    pass\n", "defines class Net"),
    ("def f(p):\n    return json.loads(p.read_text())\n", "calls loads()"),
    ("def f(rng):\n    return rng.choice(3)\n", "calls choice()"),
    ("def pulse_data(n):\n    return n\n", "defines pulse_data()"),
])
def test_the_drawing_rule_catches(source: str, what: str) -> None:
    assert any(v.startswith(what) for v in drawing_violations(source)), drawing_violations(source)


def test_the_drawing_rule_passes_a_figure() -> None:
    source = ("def plot_losses(losses):\n    fig, ax = white_subplots()\n"
              "    ax.plot(losses)\n    return fig\n")
    assert drawing_violations(source) == []


@pytest.mark.parametrize("module", sorted(p.name for p in (PACKAGE / "figures").glob("*.py")))
def test_figures_only_draw(module: str) -> None:
    source = (PACKAGE / "figures" / module).read_text(encoding="utf-8")
    assert drawing_violations(source) == [], (
        f"rnncourse/figures/{module} should only draw; move these to rnncourse.data, "
        f"rnncourse.models or rnncourse.analysis: {drawing_violations(source)}")


def test_scripts_import_experiments_not_figures() -> None:
    offenders = []
    for script in sorted((ROOT / "scripts").glob("*.py")):
        for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "rnncourse.figures" or n.startswith("rnncourse.figures.")
                   for n in names):
                offenders.append(f"{script.name}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.module == "rnncourse" \
                    and any(a.name == "figures" for a in node.names):
                offenders.append(f"{script.name}:{node.lineno}")
    assert offenders == [], f"scripts import rnncourse.figures: {offenders}"


# --------------------------------------------------------------------------- import cycles


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """``{module: modules of the package it imports}``, from every import statement
    (module level or inside functions), relative imports resolved. ``from pkg import x``
    is an edge to ``pkg.x`` when that is a module, else to ``pkg``."""
    files = {_module_name(p, root): p for p in root.rglob("*.py")}
    top = root.name
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        here = name.split(".") if is_package else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[:len(here) - (node.level - 1)]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in files else mod
                           for a in node.names]
            for t in targets:
                while t and t not in files and t.startswith(top):
                    t = t.rpartition(".")[0]          # a name inside a module: the module
                if t in files and t != name:
                    graph[name].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..a import g\n")   # inside a function
    (pkg / "c.py").write_text("from . import a\n")
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.sub.b"]]
    (pkg / "sub" / "b.py").write_text("X = 1\n")
    assert cycles(import_graph(pkg)) == []


def test_no_import_cycle_in_the_package() -> None:
    found = cycles(import_graph(PACKAGE))
    assert found == [], f"import cycles in rnncourse: {found}"
