"""Find the role spec modules and read their cluster marker without importing them.

Importing a spec module would import testinfra, kazoo, ... and run module code; the matrix job
must stay cheap and safe, so we read `pytestmark = pytest.mark.cluster(zookeeper=3,
env="production")` with `ast`. Keyword arguments with an int value are roles (role=count);
`env` is the environment; `platforms=[...]` (a literal list of names) narrows the platforms;
anything else (image=...) is not a role.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UsageError

DEFAULT_ENV = "_default"


@dataclass(frozen=True)
class Spec:
    """One role spec module = one cluster = one CI job."""

    name: str                       # job / artifact name, e.g. "zookeeper"
    file: str                       # POSIX path relative to the repo, e.g. role_specs/test_zookeeper.py
    roles: tuple[str, ...]          # roles the module brings up, marker order
    env: str = DEFAULT_ENV
    opaque: bool = False            # marker missing or not literal: we cannot tell what it uses
    strings: frozenset[str] = field(default_factory=frozenset)  # string constants in the module
    platforms: tuple[str, ...] | None = None  # cluster(platforms=[...]); None: every platform
    counts: tuple[int, ...] = ()    # nodes per role, in `roles` order (harness plan's peers)

    def entry(self, platform: str) -> dict[str, Any]:
        """The matrix entry of this spec on one platform (what a CI job gets); `id` names the
        job's artifacts and reports (unique per pair)."""
        return {"name": self.name, "platform": platform, "id": f"{self.name}-{platform}",
                "file": self.file, "roles": list(self.roles)}


def is_spec_file(path: Path) -> bool:
    """pytest's default module patterns."""
    return path.suffix == ".py" and (path.name.startswith("test_") or path.stem.endswith("_test"))


def spec_name(rel: Path) -> str:
    """`test_zookeeper.py` -> `zookeeper`; sub/test_x.py -> `sub-x` (artifact names allow no `/`)."""
    stem = rel.stem
    stem = stem[len("test_"):] if stem.startswith("test_") else stem[: -len("_test")]
    return "-".join([*rel.parent.parts, stem])


def _is_cluster_mark(node: ast.expr) -> bool:
    """`pytest.mark.cluster(...)` or `mark.cluster(...)`."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "cluster"
            and (isinstance(node.func.value, ast.Name) and node.func.value.id == "mark"
                 or isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "mark"))


def _marker_call(tree: ast.Module) -> ast.Call | None:
    """The cluster marker assigned to module-level `pytestmark` (alone or in a list)."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets):
            continue
        candidates = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
        for cand in candidates:
            if _is_cluster_mark(cand):
                return cand  # type: ignore[return-value]
    return None


def read_spec(path: Path, repo_dir: Path, specs_dir: Path) -> Spec:
    """Parse one spec module; a syntax error is the user's to fix (exit 2)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot parse role spec: {err}", path=str(path)) from err
    strings = frozenset(n.value for n in ast.walk(tree)
                        if isinstance(n, ast.Constant) and isinstance(n.value, str))
    rel = path.relative_to(repo_dir).as_posix()
    name = spec_name(path.relative_to(specs_dir))
    call = _marker_call(tree)
    if call is None:
        return Spec(name, rel, (), opaque=True, strings=strings)
    roles: list[str] = []
    counts: list[int] = []
    env, opaque = DEFAULT_ENV, bool(call.args)
    platforms: tuple[str, ...] | None = None
    for kw in call.keywords:
        value = kw.value.value if isinstance(kw.value, ast.Constant) else None
        if kw.arg is None:              # **ROLES: not readable without running the module
            opaque = True
        elif kw.arg == "platforms":     # not literal: run on every platform (when unsure, include)
            platforms = _literal_names(kw.value)
        elif kw.arg == "env":
            if isinstance(value, str):
                env = value
            else:
                opaque = True
        elif isinstance(value, int) and not isinstance(value, bool):
            roles.append(kw.arg)
            counts.append(value)
        elif not isinstance(kw.value, ast.Constant):
            opaque = True               # role=COUNT_FROM_A_VARIABLE: maybe a role, be safe
    return Spec(name, rel, tuple(roles), env, opaque, strings, platforms, tuple(counts))


def _literal_names(node: ast.expr) -> tuple[str, ...] | None:
    """["bookworm", "trixie"] as a tuple; None when it is not a literal list of strings."""
    if not isinstance(node, (ast.List, ast.Tuple)) or not node.elts:
        return None
    names = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return tuple(names) if len(names) == len(node.elts) else None


def discover_specs(repo_dir: Path, specs: str = "role_specs") -> list[Spec]:
    """Every spec module under the specs directory, sorted by file."""
    repo_dir = repo_dir.resolve()
    specs_dir = (repo_dir / specs).resolve()
    if not specs_dir.is_dir():
        raise UsageError(f"no role specs directory {specs_dir}")
    if not specs_dir.is_relative_to(repo_dir):
        raise UsageError(f"role specs directory {specs_dir} is outside the repo {repo_dir}")
    found = [read_spec(p, repo_dir, specs_dir) for p in sorted(specs_dir.rglob("*.py"))
             if is_spec_file(p) and "__pycache__" not in p.parts]
    names: dict[str, str] = {}
    for spec in found:
        if spec.name in names:
            raise UsageError(f"two role specs map to the job name {spec.name!r}: "
                             f"{names[spec.name]} and {spec.file}")
        names[spec.name] = spec.file
    return found
