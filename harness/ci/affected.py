"""Which role specs a change can affect.

Each changed path is classified (cookbook, role, environment, data bag, spec, everything,
nothing); each spec's *reach* is computed from the repo as it is now: the roles and cookbooks
its cluster's roles expand to in every environment (plus cookbook `depends`), the environments
it runs in. A spec is selected when a change falls inside its reach. Whenever we cannot tell
(unknown path, unreadable marker, a role that does not expand), we select: a skipped spec that
was broken is worse than a job too many.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from harness.ci.specs import Spec, is_spec_file
from harness.errors import HarnessError
from harness.repo import Repo, load_repo
from harness.repo.runlist import expand_run_list

ALL, NONE = "all", "none"
DEFAULT_ALLOWLIST_BAG = "allowlist"   # node.in_allowlist(name, bag="allowlist") in the contracts
EVERYTHING = {  # first path part -> why every spec uses it
    "bootstrap": "the production bootstrap runs on every node",
    "images": "every node runs on an image from images/",
    "harness": "the harness runs every spec",
    "nodes": "node objects are restored into every cluster's server (search sees them)",
}
EVERYTHING_FILES = {"pyproject.toml": "the harness's dependencies", "conftest.py":
                    "top-level pytest configuration", ".github/workflows/role-specs.yml":
                    "the role specs' CI workflow"}
NOTHING_DIRS = {"docs", "tests", "bench", ".github"}
NOTHING_FILES = {".gitignore", ".gitattributes", ".editorconfig", ".dockerignore"}


@dataclass(frozen=True)
class Change:
    """What one changed path is, for the selection."""

    path: str
    kind: str          # all | none | cookbook | role | environment | data_bag | spec
    name: str = ""
    why: str = ""


def classify(path: str, *, specs_dir: str, cookbook_dirs: dict[str, str],
             role_files: dict[str, str], env_files: dict[str, str]) -> Change:
    """Classify one path relative to the repo (first matching rule wins; see docs/ci.md)."""
    p = PurePosixPath(path)
    parts = p.parts
    if path in EVERYTHING_FILES:
        return Change(path, ALL, why=EVERYTHING_FILES[path])
    if p.suffix in (".md", ".rst") or parts[0] in ("docs", "LICENSE") or p.name.startswith("LICENSE"):
        return Change(path, NONE, why="documentation")
    spec_parts = PurePosixPath(specs_dir).parts
    if parts[: len(spec_parts)] == spec_parts:
        if is_spec_file(Path(p.name)):
            return Change(path, "spec", path, "the spec module itself changed")
        return Change(path, ALL, why=f"shared role spec code ({specs_dir}/)")
    if parts[0] in ("cookbooks", "site-cookbooks") and len(parts) > 2:
        directory = "/".join(parts[:2])
        name = cookbook_dirs.get(directory, parts[1])
        return Change(path, "cookbook", name, f"cookbook {name}")
    if parts[:2] == ("backup", "cookbooks") and len(parts) > 3:   # knife-backup: NAME-VERSION/
        name = parts[2].rpartition("-")[0] or parts[2]
        return Change(path, "cookbook", name, f"cookbook {name} (backup {parts[2]})")
    if parts[0] == "roles" and len(parts) == 2:
        name = role_files.get(path, p.stem)
        return Change(path, "role", name, f"role {name}")
    if parts[0] == "environments" and len(parts) == 2:
        name = env_files.get(path, p.stem)
        return Change(path, "environment", name, f"environment {name}")
    if parts[0] == "data_bags" and len(parts) > 2:
        return Change(path, "data_bag", parts[1], f"data bag {parts[1]}")
    if parts[0] in EVERYTHING and len(parts) > 1:
        return Change(path, ALL, why=EVERYTHING[parts[0]])
    if parts[0] in NOTHING_DIRS and len(parts) > 1 or path in NOTHING_FILES:
        return Change(path, NONE, why="not used by role specs")
    return Change(path, ALL, why="unknown path: may affect anything")


@dataclass
class Reach:
    """What a spec's cluster uses; `broken` says why we could not compute it."""

    roles: dict[str, str] = field(default_factory=dict)       # role -> spec role reaching it
    cookbooks: dict[str, str] = field(default_factory=dict)   # cookbook -> spec role reaching it
    environments: set[str] = field(default_factory=set)
    broken: str | None = None


class Analysis:
    """The repo (as in the working tree) plus each spec's reach, computed on demand."""

    def __init__(self, repo_dir: Path, specs: list[Spec]) -> None:
        self.repo_dir, self.specs = repo_dir, specs
        self._repo: Repo | None = None
        self._load_error: str | None = None
        self._loaded = False
        self._reach: dict[str, Reach] = {}
        self._texts: dict[str, str] = {}

    @property
    def repo(self) -> Repo | None:
        """The loaded repo, or None when it does not load (then every reach is `broken`)."""
        if not self._loaded:
            self._loaded = True
            try:
                self._repo = load_repo(self.repo_dir)
            except HarnessError as err:   # ValidationError: every spec may be broken now
                self._load_error = str(err).splitlines()[0]
        return self._repo

    def lookup_tables(self) -> dict[str, dict[str, str]]:
        """Directory/file -> object name maps for classify (names may differ from files)."""
        repo = self.repo
        tables: dict[str, dict[str, str]] = {"cookbook_dirs": {}, "role_files": {},
                                             "env_files": {}}
        if repo is None:
            return tables
        root = Path(repo.root).resolve()
        for name, cb in repo.cookbooks.items():
            tables["cookbook_dirs"][_rel(Path(cb.path), root)] = name
        for (kind, name), src in repo.sources.items():
            key = {"role": "role_files", "environment": "env_files"}.get(kind)
            if key:
                tables[key][_rel(Path(src), root)] = name
        return tables

    def reach(self, spec: Spec) -> Reach:
        if spec.file not in self._reach:
            self._reach[spec.file] = self._compute(spec)
        return self._reach[spec.file]

    def _compute(self, spec: Spec) -> Reach:
        out = Reach(environments={spec.env} | set(spec.strings))
        repo = self.repo
        if repo is None:
            out.broken = f"the repo does not load ({self._load_error})"
            return out
        if spec.env not in repo.environments:
            out.broken = f"environment {spec.env!r} does not exist"
        for role in spec.roles:
            for env in sorted(repo.environments):
                try:
                    expansion = expand_run_list([f"role[{role}]"], env, repo.roles.get)
                except HarnessError as err:
                    out.broken = f"role {role} does not expand in {env}: {err}"
                    out.roles.setdefault(role, role)
                    continue
                for name in expansion.roles:
                    out.roles.setdefault(name, role)
                for recipe in expansion.recipes:
                    self._add_cookbook(repo, out, recipe.partition("::")[0], role)
        return out

    @staticmethod
    def _add_cookbook(repo: Repo, out: Reach, name: str, via: str) -> None:
        todo = [name]
        while todo:
            cb = todo.pop()
            if cb in out.cookbooks:
                continue
            out.cookbooks[cb] = via
            found = repo.cookbooks.get(cb)
            todo.extend(found.depends if found is not None else ())

    def uses_bag(self, spec: Spec, bag: str) -> str | None:
        """Why the spec may read data bag `bag` (a quoted name in what it reaches), or None."""
        if bag in spec.strings:
            return f"{spec.file} names it"
        reach, repo = self.reach(spec), self.repo
        if repo is None:
            return None
        docs = [(f"role {name}", repo.roles.get(name) or {}) for name in reach.roles]
        docs.append((f"environment {spec.env}", repo.environments.get(spec.env) or {}))
        for what, doc in docs:
            if bag in _strings([doc.get("default_attributes"), doc.get("override_attributes")]):
                return f"{what} names it in its attributes"
        quoted = re.compile(r"""["']""" + re.escape(bag) + r"""["']""")
        for name, via in reach.cookbooks.items():
            cb = repo.cookbooks.get(name)
            text = self._cookbook_text(name)
            if (quoted.search(text) or cb is not None and bag in _strings(cb.attributes)
                    or bag == DEFAULT_ALLOWLIST_BAG and "in_allowlist(" in text):
                return f"cookbook {name} (reached by role {via}) reads it"
        return None

    def _cookbook_text(self, name: str) -> str:
        if name not in self._texts:
            cb = self.repo.cookbooks.get(name) if self.repo is not None else None
            chunks = []
            files = [Path(cb.path) / rel for rel in cb.files] if cb is not None else []
            for file in files:
                try:
                    chunks.append(file.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError):
                    continue
            self._texts[name] = "\n".join(chunks)
        return self._texts[name]


def _strings(value: object) -> set[str]:
    """Every string inside nested dicts/lists (keys included: attribute paths name bags too)."""
    out: set[str] = set()
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            out.add(item)
        elif isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, (list, tuple)):
            todo.extend(item)
    return out


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def select(analysis: Analysis, changes: list[Change]) -> dict[str, list[str]]:
    """spec file -> why it is selected (specs not in the dict are not affected)."""
    why: dict[str, list[str]] = {}
    seen: set[tuple[str, str, str]] = set()

    def pick(spec: Spec, change: Change, reason: str) -> None:
        key = (spec.file, change.kind, change.name)
        if key not in seen:          # one line per changed object, not per changed file
            seen.add(key)
            why.setdefault(spec.file, []).append(f"{change.path}: {reason}")

    for change in changes:
        if change.kind == NONE:
            continue
        for spec in analysis.specs:
            if change.kind == ALL:
                pick(spec, change, change.why)
                continue
            if change.kind == "spec":
                if spec.file == change.name:
                    pick(spec, change, change.why)
                continue
            if spec.opaque:
                pick(spec, change, f"{change.why} changed and the cluster marker of {spec.file} "
                     "is not literal, so what it uses is unknown")
                continue
            reach = analysis.reach(spec)
            if reach.broken:
                pick(spec, change, f"{change.why} changed and {reach.broken}")
            elif change.kind == "cookbook" and change.name in reach.cookbooks:
                pick(spec, change, f"{change.why} is reached by role "
                     f"{reach.cookbooks[change.name]} (run list or depends)")
            elif change.kind == "role" and change.name in reach.roles:
                via = reach.roles[change.name]
                pick(spec, change, f"{change.why} is " + ("brought up by the spec"
                     if via == change.name else f"included by role {via}"))
            elif change.kind == "environment" and change.name in reach.environments:
                pick(spec, change, f"{change.why} is " + ("the spec's environment"
                     if change.name == spec.env else f"named in {spec.file}"))
            elif change.kind == "data_bag":
                used = analysis.uses_bag(spec, change.name)
                if used:
                    pick(spec, change, f"{change.why}: {used}")
    return why
