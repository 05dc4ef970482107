"""The CI matrix: one entry per role spec module, optionally only those a change can affect.

`harness matrix` feeds GitHub Actions (`--format github` -> `matrix=...` for $GITHUB_OUTPUT)
and `harness gate` (the functional stage). One module = one cluster = one job, so a broken
role blocks exactly its own job and the jobs stay independent.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.ci.affected import Analysis, classify, select
from harness.ci.git import changed_paths, checkout
from harness.ci.specs import Spec, discover_specs


@dataclass
class Matrix:
    """The selected specs, why each was selected, and what was looked at."""

    specs: list[Spec]                                  # every spec module found
    selected: list[Spec]                               # the ones to run, file order
    why: dict[str, list[str]] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)   # paths considered (empty: full run)
    base: str | None = None

    def entries(self, *, explain: bool = False) -> list[dict[str, Any]]:
        out = []
        for spec in self.selected:
            entry = spec.entry()
            if explain:
                entry["why"] = self.why.get(spec.file, [])
            out.append(entry)
        return out

    def explanation(self) -> list[str]:
        """Human lines: each spec, selected or not, and why."""
        if self.base is None:
            head = "no --changed-since: every role spec runs"
        else:
            head = f"{len(self.changed)} path(s) changed since {self.base}"
        lines = [head]
        for spec in self.specs:
            if spec in self.selected:
                lines.append(f"run  {spec.file}")
                lines.extend(f"       because {reason}" for reason in self.why.get(spec.file, []))
            else:
                lines.append(f"skip {spec.file}: no change reaches it")
        return lines


def compute_matrix(repo_dir: Path, *, specs: str = "role_specs",
                   changed_since: str | None = None) -> Matrix:
    """All specs, or only those the change REF...HEAD (plus uncommitted work) can affect."""
    repo_dir = repo_dir.resolve()
    if changed_since is not None:
        checkout(repo_dir)      # "not a git checkout" before anything else
    found = discover_specs(repo_dir, specs)
    if changed_since is None:
        why = {s.file: ["no --changed-since: every role spec runs"] for s in found}
        return Matrix(found, list(found), why)
    inside, outside = changed_paths(repo_dir, changed_since)
    analysis = Analysis(repo_dir, found)
    specs_rel = (repo_dir / specs).resolve().relative_to(repo_dir).as_posix()
    tables = analysis.lookup_tables() if _needs_repo(inside) else {}
    changes = [classify(p, specs_dir=specs_rel, cookbook_dirs=tables.get("cookbook_dirs", {}),
                        role_files=tables.get("role_files", {}),
                        env_files=tables.get("env_files", {})) for p in inside]
    why = select(analysis, changes)
    for path in outside:    # outside the repo dir, inside the work tree: cannot tell
        for spec in found:
            why.setdefault(spec.file, []).append(f"{path}: outside {repo_dir.name}/, may affect anything")
    selected = [s for s in found if s.file in why]
    return Matrix(found, selected, why, inside + outside, changed_since)


def _needs_repo(paths: list[str]) -> bool:
    """Loading the repo is only worth it when a repo object changed."""
    return any(p.split("/", 1)[0] in ("cookbooks", "site-cookbooks", "roles", "environments")
               for p in paths)


def render(matrix: Matrix, fmt: str = "json", *, explain: bool = False) -> str:
    """`json`: the list of entries; `github`: `matrix=` and `count=` lines for $GITHUB_OUTPUT."""
    if fmt == "github":
        doc = {"include": matrix.entries()}
        return (f"matrix={json.dumps(doc, separators=(',', ':'))}\n"
                f"count={len(matrix.selected)}\n")
    return json.dumps(matrix.entries(explain=explain), indent=2) + "\n"
