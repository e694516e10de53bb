"""Layers that hold: every import of engine/, solvers/ and reports/ (module-level, function-level
and under TYPE_CHECKING), read with `ast`, obeys the layer rules and forms no cycle.

Rules (DESIGN.md, Layers): solvers/ imports nothing of engine/ or reports/; reports/ imports of
engine/ only its public contracts (errors, calendar, numbers, stage, the scenario model and schema)
and the reconciliation result it renders (engine.reconcile); engine/ imports reports/ only in
engine/cli.py, which passes the renderers to `run_scenario` and `run_sweep`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "solvers", "reports")
REPORTS_MAY_IMPORT = ("engine.errors", "engine.calendar", "engine.numbers", "engine.stage",
                      "engine.scenario.model", "engine.scenario.schema", "engine.reconcile")
"""engine/ modules (and their submodules) reports/ may import."""
WIRING = "engine.cli"
"""The one engine/ module that may import reports/."""


@dataclass(frozen=True)
class Edge:
    """One import statement: `importer` (a module) imports `imported` at `file:line`."""

    importer: str
    imported: str
    file: str
    line: int

    def where(self) -> str:
        return f"{self.file}:{self.line}: {self.importer} imports {self.imported}"


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the layer packages of `root`."""
    out = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The longest known module that `name` is or lies in (None for outside packages)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool,
             modules: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([base] if base else []))
    # `from pkg import sub` imports the submodule pkg.sub when there is one
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]


def import_edges(root: Path) -> list[Edge]:
    """Every import between layer-package modules under `root`, wherever the statement sits."""
    modules = module_files(root)
    edges = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(node, module, path.name == "__init__.py", modules):
                imported = _known(target, modules)
                if imported is not None and imported != module:
                    edges.append(Edge(module, imported, str(path.relative_to(root)), node.lineno))
    return edges


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_break(edge: Edge) -> str | None:
    """Why `edge` breaks a layer rule, or None when it is allowed."""
    src, dst = edge.importer, edge.imported
    if _under(src, "solvers") and not _under(dst, "solvers"):
        return "solvers/ imports nothing of engine/ or reports/"
    if _under(src, "reports") and _under(dst, "engine") and not any(_under(dst, p) for p in REPORTS_MAY_IMPORT):
        return f"reports/ imports of engine/ only {', '.join(REPORTS_MAY_IMPORT)}"
    if _under(src, "engine") and _under(dst, "reports") and src != WIRING:
        return f"engine/ imports reports/ only in {WIRING} (pass a render callback)"
    return None


def layer_breaks(root: Path) -> list[str]:
    return [f"{edge.where()} ({why})" for edge in import_edges(root) if (why := layer_break(edge))]


def import_cycles(root: Path) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others (Tarjan's strongly
    connected components with more than one module), each sorted."""
    graph: dict[str, set[str]] = {m: set() for m in module_files(root)}
    for edge in import_edges(root):
        graph[edge.importer].add(edge.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def test_no_layer_breaks_in_the_repository() -> None:
    assert layer_breaks(REPO) == []


def test_no_import_cycles_in_the_repository() -> None:
    assert import_cycles(REPO) == []


def test_the_walk_sees_the_repository_imports() -> None:
    """Guards against a walker that finds nothing (and so passes every rule)."""
    edges = {(e.importer, e.imported) for e in import_edges(REPO)}
    assert ("engine.cli", "reports.render") in edges  # function-level import
    assert ("engine.run", "engine.stage") in edges  # module-level import
    assert ("engine.scenario.shocks", "engine.scenario.origins") in edges  # under TYPE_CHECKING
    assert ("engine.reconcile.context", "engine.reconcile.quantiles") in edges  # from pkg import sub
    assert len(module_files(REPO)) > 100


def test_modules_named_in_strings_exist_and_keep_the_layers() -> None:
    """Module names held as strings (the sweep workers' warm-up list) escape the ast walk: each
    must import, and none may name reports/ from engine/."""
    import importlib

    from engine.batch.worker import WARM_MODULES

    for name in WARM_MODULES:
        importlib.import_module(name)
        assert not _under(name, "reports"), name


# A small module tree in tmp_path, so the test shows that a forbidden import or a cycle fails.
CLEAN_TREE = {
    "engine/__init__.py": "",
    "engine/errors.py": "class InputError(Exception):\n    pass\n",
    "engine/run.py": "from engine.errors import InputError\nfrom solvers import solve\n",
    "engine/cli.py": "def run():\n    from reports.render import write\n    from engine.run import InputError\n",
    "engine/plan/__init__.py": "",
    "engine/plan/supply.py": "from ..errors import InputError\nfrom . import demand\n",
    "engine/plan/demand.py": "import numpy\n",
    "solvers/__init__.py": "",
    "solvers/solve.py": "import pyomo\n",
    "reports/__init__.py": "",
    "reports/render.py": "from engine.errors import InputError\nfrom reports import tables\n",
    "reports/tables.py": "",
}


def _tree(root: Path, changes: dict[str, str]) -> Path:
    for rel, text in {**CLEAN_TREE, **changes}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def test_a_clean_tree_passes(tmp_path: Path) -> None:
    root = _tree(tmp_path, {})
    assert layer_breaks(root) == [] and import_cycles(root) == []
    edges = {(e.importer, e.imported) for e in import_edges(root)}
    assert {("engine.plan.supply", "engine.errors"), ("engine.plan.supply", "engine.plan.demand"),
            ("engine.cli", "reports.render"), ("engine.run", "solvers.solve")} <= edges


@pytest.mark.parametrize(("file", "text", "rule"), [
    ("solvers/solve.py", "def f():\n    from engine.errors import InputError\n", "solvers/ imports nothing"),
    ("solvers/solve.py", "import reports.tables\n", "solvers/ imports nothing"),
    ("engine/run.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from reports.render import write\n",
     "engine/ imports reports/ only in engine.cli"),
    ("engine/plan/supply.py", "def f():\n    from reports import render\n", "engine/ imports reports/ only"),
    ("reports/render.py", "from engine.run import InputError\n", "reports/ imports of engine/ only"),
    ("reports/tables.py", "from engine.plan import supply\n", "reports/ imports of engine/ only"),
])
def test_a_forbidden_import_fails(tmp_path: Path, file: str, text: str, rule: str) -> None:
    breaks = layer_breaks(_tree(tmp_path, {file: text}))
    assert len(breaks) == 1 and breaks[0].startswith(file + ":") and rule in breaks[0]


def test_a_cycle_fails_even_through_function_level_imports(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"engine/plan/demand.py": "def f():\n    from engine.plan.supply import f\n"})
    assert import_cycles(root) == [["engine.plan.demand", "engine.plan.supply"]]
    longer = _tree(tmp_path, {"engine/errors.py": "import engine.run\n"})  # errors -> run -> errors
    assert ["engine.errors", "engine.run"] in import_cycles(longer)
