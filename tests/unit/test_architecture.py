"""The import rules of docs/contracts.md, checked on the source: no import cycle between
modules or between packages, the agent self-contained (it ships alone in agent.pyz), the repo
model pure.

The source is read with `ast`, nothing is imported, so function-local imports count like any
other (a cycle through a local import is still a cycle). Imports under `if TYPE_CHECKING:`
never run: they are left out of the cycle graphs but still count for the agent and repo
boundaries. Not seen: names built at run time (`import_module(f"...")` in harness.rollout).
An import names the deepest harness module it reaches (`from harness.server import app` ->
harness.server.app; `from harness.server import ConfigServer` -> harness.server); the parent
packages it runs on the way are not edges.
"""
from __future__ import annotations

import ast
import sys
from collections import deque
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "harness"
# The archive's __main__.py: at run time it is outside the package, so it cannot import relatively.
ABSOLUTE_OK = {"harness.agent.zipmain"}
VENDORED = {"jinja2", "markupsafe"}      # build.py puts them into agent.pyz


@dataclass(frozen=True)
class Import:
    source: str          # importing module
    name: str            # absolute dotted name imported ("" when a relative import climbs above)
    target: str | None   # the deepest module of the scanned package it names, else None
    line: int
    relative: bool
    typing_only: bool    # under `if TYPE_CHECKING:`


def scan(root: Path) -> tuple[dict[str, Path], list[Import]]:
    """Every module of the package at `root` (named from root.name) and every import in it."""
    modules: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if "__pycache__" not in parts:
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    found: list[Import] = []
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        _visit(ast.parse(path.read_text(), str(path)), module, package, modules, False, found)
    return modules, found


def _visit(node: ast.AST, module: str, package: str, modules: dict[str, Path],
           typing_only: bool, out: list[Import]) -> None:
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        for child in node.body:
            _visit(child, module, package, modules, True, out)
        for child in node.orelse:
            _visit(child, module, package, modules, typing_only, out)
        return
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for name in _names(node, package, modules):
            target = next((p for p in _prefixes(name) if p in modules), None)
            relative = isinstance(node, ast.ImportFrom) and node.level > 0
            out.append(Import(module, name, target, node.lineno, relative, typing_only))
    for sub_node in ast.iter_child_nodes(node):
        _visit(sub_node, module, package, modules, typing_only, out)


def _names(node: ast.Import | ast.ImportFrom, package: str, modules: dict[str, Path]) -> list[str]:
    """Absolute names imported: `from .x import y` is package.x.y when that is a module."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = package.split(".")
        keep = len(parts) - (node.level - 1)
        base = ".".join(parts[:keep] + ([base] if base else [])) if keep > 0 else ""
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _prefixes(name: str) -> list[str]:
    parts = name.split(".") if name else []
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def package_of(module: str) -> str:
    """First two name parts: harness.server.app -> harness.server; harness.errors stays."""
    return ".".join(module.split(".")[:2])


Graph = dict[str, dict[str, str]]   # node -> {next node: where (e.g. "harness.cli:40")}


def module_graph(imports: list[Import]) -> Graph:
    graph: Graph = {}
    for imp in sorted(imports, key=lambda i: i.line):
        if imp.target and imp.target != imp.source and not imp.typing_only:
            graph.setdefault(imp.source, {}).setdefault(imp.target, f"{imp.source}:{imp.line}")
    return graph


def package_graph(modules: Graph) -> Graph:
    graph: Graph = {}
    for source, targets in sorted(modules.items()):
        for target, where in sorted(targets.items()):
            a, b = package_of(source), package_of(target)
            if a != b:
                graph.setdefault(a, {}).setdefault(b, f"{where} -> {target}")
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """For every edge that lies on a cycle, the shortest cycle through it (each cycle once,
    starting at its smallest node, closed: [a, b, a])."""
    found: set[tuple[str, ...]] = set()
    for start, targets in graph.items():
        for nxt in targets:
            back = _path(graph, nxt, start)
            if back is not None:
                ring = [start, *back[:-1]]
                turn = ring.index(min(ring))
                found.add(tuple(ring[turn:] + ring[:turn]))
    return [[*ring, ring[0]] for ring in sorted(found)]


def _path(graph: Graph, frm: str, to: str) -> list[str] | None:
    """Shortest path frm -> ... -> to (breadth first), None when `to` is not reachable."""
    previous: dict[str, str | None] = {frm: None}
    queue = deque([frm])
    while queue:
        node = queue.popleft()
        if node == to:
            path = [node]
            while (step := previous[path[-1]]) is not None:
                path.append(step)
            return path[::-1]
        for nxt in sorted(graph.get(node, {})):
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return None


def show_module_cycle(ring: list[str], graph: Graph) -> str:
    """a:12 -> b:30 -> a (each module with the line of its import of the next)."""
    return " -> ".join([*(graph[a][b] for a, b in pairwise(ring)), ring[-1]])


def show_package_cycle(ring: list[str], graph: Graph) -> str:
    """p -> q -> p  (via p.m:12 -> q.n; q.n:3 -> p.o): the first import of each hop."""
    return " -> ".join(ring) + "  (via " + "; ".join(graph[a][b] for a, b in pairwise(ring)) + ")"


def boundary_violations(modules: dict[str, Path], imports: list[Import]) -> list[str]:
    """The agent imports nothing of the harness outside harness/agent (and only relatively),
    and only the stdlib and the vendored packages; the repo model imports only errors and itself."""
    top = next(iter(modules)).split(".")[0]
    agent, repo = f"{top}.agent", f"{top}.repo"

    def under(name: str, package: str) -> bool:
        return name == package or name.startswith(package + ".")

    # agent.pyz holds harness/__init__.py and harness/agent/ but build.py (which runs on the host)
    shipped = {m for m in modules if m == top or under(m, agent)} - {f"{agent}.build"}
    bad: list[str] = []
    for imp in imports:
        where = f"{imp.source}:{imp.line} imports {imp.name or '(above the top package)'}"
        ours = imp.name.split(".")[0] == top or imp.relative
        if (imp.source == top or under(imp.source, agent)) and ours:
            if not under(imp.name, agent):
                bad.append(f"{where}: the agent imports outside {agent}")
            elif not imp.relative and imp.source not in ABSOLUTE_OK:
                bad.append(f"{where}: the agent imports relatively only")
        if imp.source in shipped and not ours:
            first = imp.name.split(".")[0]
            if first not in sys.stdlib_module_names and first not in VENDORED:
                bad.append(f"{where}: agent.pyz ships the stdlib, jinja2 and markupsafe only")
        if under(imp.source, repo) and ours and not (
                imp.name == f"{top}.errors" or under(imp.name, repo)):
            bad.append(f"{where}: {repo} imports only {top}.errors and {repo}.*")
    return sorted(set(bad))


def problems(root: Path) -> list[str]:
    """Every broken rule, one line each (empty when the package is clean)."""
    modules, imports = scan(root)
    mods = module_graph(imports)
    pkgs = package_graph(mods)
    out = [f"module cycle: {show_module_cycle(ring, mods)}" for ring in cycles(mods)]
    out += [f"package cycle: {show_package_cycle(ring, pkgs)}" for ring in cycles(pkgs)]
    return out + boundary_violations(modules, imports)


@pytest.fixture(scope="module")
def harness_scan() -> tuple[dict[str, Path], list[Import]]:
    modules, imports = scan(HARNESS)
    assert len(modules) > 60, f"found only {len(modules)} modules in {HARNESS}"
    return modules, imports


def _fail(title: str, lines: list[str]) -> None:
    if lines:
        pytest.fail(f"{title} ({len(lines)}):\n  " + "\n  ".join(lines), pytrace=False)


def test_no_import_cycle_between_modules(harness_scan: tuple[dict[str, Path], list[Import]]) -> None:
    graph = module_graph(harness_scan[1])
    _fail("import cycles between modules (module:line of each import)",
          [show_module_cycle(ring, graph) for ring in cycles(graph)])


def test_no_import_cycle_between_packages(harness_scan: tuple[dict[str, Path], list[Import]]) -> None:
    graph = package_graph(module_graph(harness_scan[1]))
    _fail("import cycles between packages (first import of each hop)",
          [show_package_cycle(ring, graph) for ring in cycles(graph)])


def test_agent_and_repo_boundaries(harness_scan: tuple[dict[str, Path], list[Import]]) -> None:
    sources = {imp.source.split(".")[1] for imp in harness_scan[1] if "." in imp.source}
    assert {"agent", "repo"} <= sources     # the rules below would pass on nothing at all
    _fail("imports across the agent and repo boundaries", boundary_violations(*harness_scan))


# The checker itself, on synthetic packages: it must find what it is meant to find.

def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root / "harness"


def test_checker_reports_a_cycle_through_a_local_import(tmp_path: Path) -> None:
    root = write(tmp_path, {"harness/__init__.py": "", "harness/a.py": "from . import b\n",
                            "harness/b.py": "def f():\n    from harness.a import x\n"})
    assert problems(root) == ["module cycle: harness.a:1 -> harness.b:2 -> harness.a",
                              "package cycle: harness.a -> harness.b -> harness.a  "
                              "(via harness.a:1 -> harness.b; harness.b:2 -> harness.a)"]


def test_checker_passes_an_acyclic_package(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "harness/__init__.py": "", "harness/errors.py": "import os\n",
        "harness/server/__init__.py": "from .app import App\n",
        "harness/server/app.py": "from ..errors import E\nfrom harness.repo import load\n",
        "harness/repo/__init__.py": "from harness.repo.loader import load\n",
        "harness/repo/loader.py": "from harness import errors\nimport yaml\n",
        "harness/agent/__init__.py": "", "harness/agent/cli.py": "import json\nfrom . import api\n",
        "harness/agent/api.py": "from typing import TYPE_CHECKING\n"
                                "if TYPE_CHECKING:\n    from .cli import main\n"})
    assert problems(root) == []
    assert len(scan(root)[0]) == 9


def test_checker_reports_package_cycles_and_boundaries_even_when_typing_only(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "harness/__init__.py": "", "harness/errors.py": "",
        "harness/server/__init__.py": "", "harness/server/a.py": "import harness.nodes.b\n",
        "harness/server/c.py": "", "harness/nodes/__init__.py": "",
        "harness/nodes/b.py": "from harness.server import c\n",
        "harness/agent/__init__.py": "",
        "harness/agent/x.py": "from .. import errors\nimport harness.agent.y\nimport requests\n",
        "harness/agent/y.py": "", "harness/repo/__init__.py": "",
        "harness/repo/z.py": "from typing import TYPE_CHECKING\n"
                             "if TYPE_CHECKING:\n    from harness.server import a\n"})
    assert problems(root) == [
        "package cycle: harness.nodes -> harness.server -> harness.nodes  "
        "(via harness.nodes.b:1 -> harness.server.c; harness.server.a:1 -> harness.nodes.b)",
        "harness.agent.x:1 imports harness.errors: the agent imports outside harness.agent",
        "harness.agent.x:2 imports harness.agent.y: the agent imports relatively only",
        "harness.agent.x:3 imports requests: agent.pyz ships the stdlib, jinja2 and markupsafe only",
        "harness.repo.z:3 imports harness.server.a: harness.repo imports only harness.errors "
        "and harness.repo.*"]
