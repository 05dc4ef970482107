"""The CI matrix: one entry per (role spec module, platform), optionally only those a change
can affect.

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
from harness.ci.platforms import image_change_platforms, is_image_path, matrix_platforms, spec_platforms
from harness.ci.specs import Spec, discover_specs

Job = tuple[Spec, str]   # (spec module, platform): one CI job


@dataclass
class Matrix:
    """The selected (spec, platform) jobs, why each was selected, and what was looked at."""

    specs: list[Spec]                                  # every spec module found
    selected: list[Spec]                               # specs with at least one job, file order
    why: dict[str, list[str]] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)   # paths considered (empty: full run)
    base: str | None = None
    platforms: list[str] = field(default_factory=list)               # the platform axis
    jobs: list[Job] = field(default_factory=list)                    # spec order, then platform
    job_why: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def entries(self, *, explain: bool = False) -> list[dict[str, Any]]:
        out = []
        for spec, platform in self.jobs:
            entry = spec.entry(platform)
            if explain:
                entry["why"] = self.job_why.get((spec.file, platform), [])
            out.append(entry)
        return out

    def explanation(self) -> list[str]:
        """Human lines: each (spec, platform), selected or not, and why."""
        if self.base is None:
            head = "no --changed-since: every role spec runs"
        else:
            head = f"{len(self.changed)} path(s) changed since {self.base}"
        lines = [head + f" (platforms: {', '.join(self.platforms) or 'none'})"]
        chosen = {(s.file, p) for s, p in self.jobs}
        for spec in self.specs:
            runs_on = spec_platforms(spec, self.platforms)
            for platform in self.platforms:
                where = f"{spec.file} on {platform}"
                if platform not in runs_on:
                    lines.append(f"skip {where}: its cluster(platforms=...) leaves it out")
                elif (spec.file, platform) in chosen:
                    lines.append(f"run  {where}")
                    lines.extend(f"       because {reason}"
                                 for reason in self.job_why.get((spec.file, platform), []))
                else:
                    lines.append(f"skip {where}: no change reaches it")
        return lines


def compute_matrix(repo_dir: Path, *, specs: str = "role_specs",
                   changed_since: str | None = None,
                   platforms: list[str] | None = None) -> Matrix:
    """All (spec, platform) jobs, or only those the change REF...HEAD (plus uncommitted work)
    can affect; `platforms` narrows the platform axis."""
    repo_dir = repo_dir.resolve()
    if changed_since is not None:
        checkout(repo_dir)      # "not a git checkout" before anything else
    found = discover_specs(repo_dir, specs)
    axis = matrix_platforms(repo_dir, platforms)
    if changed_since is None:
        why = {s.file: ["no --changed-since: every role spec runs"] for s in found}
        return _crossed(Matrix(found, [], why, platforms=axis), {})
    inside, outside = changed_paths(repo_dir, changed_since)
    image_paths = [p for p in inside if is_image_path(p)]
    others = [p for p in inside if not is_image_path(p)]
    analysis = Analysis(repo_dir, found)
    specs_rel = (repo_dir / specs).resolve().relative_to(repo_dir).as_posix()
    tables = analysis.lookup_tables() if _needs_repo(others) else {}
    changes = [classify(p, specs_dir=specs_rel, cookbook_dirs=tables.get("cookbook_dirs", {}),
                        role_files=tables.get("role_files", {}),
                        env_files=tables.get("env_files", {})) for p in others]
    why = select(analysis, changes)
    for path in outside:    # outside the repo dir, inside the work tree: cannot tell
        for spec in found:
            why.setdefault(spec.file, []).append(f"{path}: outside {repo_dir.name}/, may affect anything")
    by_platform: dict[str, list[str]] = {}   # platform -> why its image changed
    for path in image_paths:
        hit, reason = image_change_platforms(repo_dir, path, axis)
        for platform in hit:
            by_platform.setdefault(platform, []).append(f"{path}: {reason}")
    matrix = Matrix(found, [], why, inside + outside, changed_since, axis)
    return _crossed(matrix, by_platform)


def _crossed(matrix: Matrix, by_platform: dict[str, list[str]]) -> Matrix:
    """Fill jobs: a spec selected for itself runs on each of its platforms; a changed image
    adds every spec on that platform."""
    for spec in matrix.specs:
        for platform in spec_platforms(spec, matrix.platforms):
            reasons = matrix.why.get(spec.file, []) + by_platform.get(platform, [])
            if reasons:
                matrix.jobs.append((spec, platform))
                matrix.job_why[(spec.file, platform)] = reasons
    files = {s.file for s, _ in matrix.jobs}
    matrix.selected = [s for s in matrix.specs if s.file in files]
    return matrix


def _needs_repo(paths: list[str]) -> bool:
    """Loading the repo is only worth it when a repo object changed."""
    return any(p.split("/", 1)[0] in ("cookbooks", "site-cookbooks", "roles", "environments")
               for p in paths)


def render(matrix: Matrix, fmt: str = "json", *, explain: bool = False) -> str:
    """`json`: the list of entries; `github`: `matrix=` and `count=` lines for $GITHUB_OUTPUT."""
    if fmt == "github":
        doc = {"include": matrix.entries()}
        return (f"matrix={json.dumps(doc, separators=(',', ':'))}\n"
                f"count={len(matrix.jobs)}\n")
    return json.dumps(matrix.entries(explain=explain), indent=2) + "\n"
