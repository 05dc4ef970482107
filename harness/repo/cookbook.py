"""One cookbook directory: metadata, attribute files, the file list, and its manifest.

Loading reads only metadata and attribute files; checksums are computed when `manifest()` is
first asked for (restore and the server need them, `harness validate` does not). Chef's own
metadata.json keys are accepted, so vendored community cookbooks load as Berkshelf wrote them.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import Problem, UsageError, ValidationError
from harness.repo.docfiles import EXTENSIONS, problem_at, read_document
from harness.repo.limits import MAX_FILE_BYTES, MAX_VERSION, symlink_issue
from harness.repo.rubyfiles import unread_files
from harness.repo.validate import COOKBOOK_RE, name_issue
from harness.repo.versions import ANY, Constraint, Version

OUR_KEYS = {"name", "version", "description", "depends"}
CHEF_KEYS = {"long_description", "maintainer", "maintainer_email", "license", "platforms",
             "dependencies", "providing", "recipes", "source_url", "issues_url", "privacy",
             "chef_version", "chef_versions", "ohai_version", "ohai_versions", "gems",
             "eager_load_libraries", "recommendations", "suggestions", "conflicting",
             "replacing", "attributes", "groupings"}
ATTRIBUTE_LEVELS = ("default", "override")
_SKIP_DIRS = {"__pycache__"}


@dataclass(eq=False)
class Cookbook:
    """A cookbook version as found on disk."""

    name: str
    version: str
    path: Path
    metadata: dict[str, Any]
    depends: dict[str, str]
    attributes: dict[str, dict[str, Any]]
    files: list[str]
    depends_key: str = "depends"          # the metadata key depends came from (for lines)
    depends_at: dict[str, tuple[Any, ...]] = field(default_factory=dict)   # dep -> keypath in metadata
    recipes: frozenset[str] = field(init=False)
    _manifest: dict[str, Any] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.recipes = frozenset(f[8:-3] for f in self.files
                                 if f.startswith("recipes/") and f.endswith(".py")
                                 and "/" not in f[8:])

    @property
    def unread(self) -> list[tuple[str, str]]:
        """(path, why) of the Ruby/ERB files Chef would load and the harness ignores."""
        return list(unread_files(self.files))

    def manifest(self) -> dict[str, Any]:
        """The cookbook version manifest of contracts.md (sha256 of every file, computed once)."""
        if self._manifest is None:
            entries, problems = [], []
            for rel in self.files:
                try:
                    data = (self.path / rel).read_bytes()
                except OSError as err:
                    problems.append(Problem(str(self.path / rel), f"cannot read: {err.strerror}"))
                    continue
                entries.append({"path": rel, "checksum": hashlib.sha256(data).hexdigest(),
                                "size": len(data)})
            if problems:
                raise ValidationError(problems)
            self._manifest = {"name": self.name, "version": self.version,
                              "metadata": self.metadata, "attributes": self.attributes,
                              "files": entries, "frozen": False}
        return self._manifest


def load_cookbook(directory: Path | str) -> Cookbook:
    """Load one cookbook directory (`NAME/` or knife-backup's `NAME-VERSION/`)."""
    problems: list[Problem] = []
    cookbook = read_cookbook(Path(directory), problems, versioned_dir=True)
    if problems or cookbook is None:
        raise ValidationError(problems or [Problem(str(directory), "not a cookbook")])
    return cookbook


def read_cookbook(directory: Path, problems: list[Problem], *,
                  versioned_dir: bool = False) -> Cookbook | None:
    """A Cookbook, or None with the reasons appended to `problems`. Symlinks may not leave
    the repo (or backup) holding the cookbook: `<root>/cookbooks/NAME`."""
    before = len(problems)
    files = _list_files(directory, problems, str(directory.parent.parent))
    candidates = [f for f in files if "/" not in f and f.rsplit(".", 1)[0] == "metadata"
                  and "." + f.rsplit(".", 1)[-1] in EXTENSIONS]
    if not candidates:
        hint = (" (metadata.rb is not read: `knife cookbook metadata` writes metadata.json)"
                if "metadata.rb" in files else "")
        problems.append(Problem(str(directory), f"no metadata.json or metadata.yaml{hint}"))
        return None
    if len(candidates) > 1:
        problems.append(Problem(str(directory), f"more than one metadata file: "
                                                f"{', '.join(candidates)}"))
        return None
    meta_path = directory / candidates[0]
    doc, problem = read_document(meta_path)
    if problem:
        problems.append(problem)
        return None
    metadata, depends, depends_key, issues = _check_metadata(doc, directory.name, versioned_dir)
    depends_at = _depends_keypaths(doc, depends_key)
    problems.extend(problem_at(meta_path, message, keypath) for keypath, message in issues)
    attributes = {level: _read_attributes(directory, files, level, problems)
                  for level in ATTRIBUTE_LEVELS}
    for rel in files:
        parts = rel.split("/")
        if (len(parts) == 2 and parts[0] == "attributes" and "." + rel.rsplit(".", 1)[-1]
                in EXTENSIONS and parts[1].rsplit(".", 1)[0] not in ATTRIBUTE_LEVELS):
            problems.append(Problem(str(directory / rel), "attribute files are "
                                    "attributes/default.{json,yaml} and attributes/override.*"))
    if len(problems) > before:
        return None
    return Cookbook(metadata["name"], metadata["version"], directory, metadata, depends,
                    attributes, files, depends_key, depends_at)


def _depends_keypaths(doc: Any, key: str) -> dict[str, tuple[Any, ...]]:
    """Where each dependency is written in the metadata file (for problem lines)."""
    raw = doc.get(key) if isinstance(doc, dict) else None
    if isinstance(raw, dict):
        return {name: (key, name) for name in raw}
    if isinstance(raw, list):
        return {entry.split()[0]: (key, index) for index, entry in enumerate(raw)
                if isinstance(entry, str) and entry.strip()}
    return {}


def _followed(top: str, names: list[str], root: str, seen: set[str],
              problems: list[Problem]) -> list[str]:
    """The directories of `names` to walk into: symlinks only when they stay in root, and
    each real directory once (a symlink back up the tree is a loop, not a forever walk)."""
    out = []
    for name in sorted(names):
        full = os.path.join(top, name)
        if name.startswith(".") or name in _SKIP_DIRS:
            continue
        if os.path.islink(full):
            problem = symlink_issue(full, root)
            if problem:
                problems.append(Problem(full, problem))
                continue
        real = os.path.realpath(full)
        if real in seen:
            problems.append(Problem(full, "symlink to a directory already in the cookbook "
                                          "(a loop or a duplicate): refused"))
            continue
        seen.add(real)
        out.append(name)
    return out


def _list_files(directory: Path, problems: list[Problem], root: str) -> list[str]:
    """Every file below `directory` as a sorted relative POSIX path (hidden and caches left
    out); symlinks are followed when they stay in `root`, reported when they leave it."""
    out: list[str] = []
    seen = {os.path.realpath(directory)}
    def unreadable(err: OSError) -> None:
        problems.append(Problem(str(err.filename or directory), f"cannot read: {err.strerror}"))

    for top, dirs, names in os.walk(directory, followlinks=True, onerror=unreadable):
        dirs[:] = _followed(top, dirs, root, seen, problems)
        rel_top = os.path.relpath(top, directory)
        for name in names:
            if name.startswith(".") or name.endswith(".pyc"):
                continue
            full = os.path.join(top, name)
            if os.path.islink(full):
                problem = symlink_issue(full, root)
                if problem:
                    problems.append(Problem(full, problem))
                    continue
            rel = name if rel_top == "." else f"{rel_top}/{name}".replace(os.sep, "/")
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                problems.append(Problem(os.path.join(top, name.encode("utf-8", "replace")
                                                     .decode()), "file name is not UTF-8"))
                continue
            if "\\" in rel:
                problems.append(Problem(os.path.join(top, name), "file name contains '\\'"))
                continue
            try:
                size = os.stat(full).st_size
            except OSError as err:
                problems.append(Problem(full, f"cannot read: {err.strerror}"))
                continue
            if size > MAX_FILE_BYTES:
                problems.append(Problem(full, f"{size:,} bytes; a cookbook file is at most "
                                              f"{MAX_FILE_BYTES:,} (the config server's limit)"))
                continue
            out.append(rel)
    out.sort()
    return out


def _read_attributes(directory: Path, files: list[str], level: str,
                     problems: list[Problem]) -> dict[str, Any]:
    found = [f for f in files if f.rsplit(".", 1)[0] == f"attributes/{level}"
             and "." + f.rsplit(".", 1)[-1] in EXTENSIONS]
    if len(found) > 1:
        problems.append(Problem(str(directory / "attributes"),
                                f"more than one {level} attributes file: {', '.join(found)}"))
        return {}
    if not found:
        return {}
    doc, problem = read_document(directory / found[0])
    if problem:
        problems.append(problem)
        return {}
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        problems.append(Problem(str(directory / found[0]), "attributes must be a mapping"))
        return {}
    return doc


def _check_metadata(doc: Any, dir_name: str, versioned_dir: bool
                    ) -> tuple[dict[str, Any], dict[str, str], str, list[tuple[tuple[Any, ...], str]]]:
    """Normalised metadata, depends, the key depends came from, and issues."""
    if not isinstance(doc, dict):
        return {}, {}, "depends", [((), "metadata must be a mapping")]
    issues: list[tuple[tuple[Any, ...], str]] = []
    for key in doc:
        if key not in OUR_KEYS and key not in CHEF_KEYS:
            issues.append(((key,), f"unknown metadata key {key!r} (expected name, version, "
                                   "description, depends, or Chef's metadata.json keys)"))
    name = doc.get("name")
    problem = name_issue(name, "cookbook name", COOKBOOK_RE) if name is not None else \
        "metadata has no name"
    if problem:
        issues.append((("name",), problem))
    version = doc.get("version")
    try:
        version = str(Version.parse(version))
    except UsageError as err:
        issues.append((("version",), "metadata has no version" if version is None
                       else f"{err.message} (quote it)" if isinstance(version, float)
                       else err.message))
    if isinstance(version, str) and len(version) > MAX_VERSION:
        issues.append((("version",), f"version has {len(version)} characters; the limit is "
                                     f"{MAX_VERSION}"))
    if not problem and dir_name != name and not (versioned_dir and dir_name == f"{name}-{version}"):
        issues.append((("name",), f"cookbook name {name!r} does not match its directory "
                                  f"{dir_name!r}"))
    description = doc.get("description")
    if description is not None and not isinstance(description, str):
        issues.append((("description",), "description must be a string"))
    if "depends" in doc and "dependencies" in doc:
        issues.append((("dependencies",), "use depends or dependencies, not both"))
    key = "depends" if "depends" in doc or "dependencies" not in doc else "dependencies"
    depends = _check_depends(doc.get(key), key, issues)
    metadata = {**doc, "name": name, "version": version, "description": description or "",
                "depends": depends}
    return metadata, depends, key, issues


def _check_depends(raw: Any, key: str, issues: list[tuple[tuple[Any, ...], str]]) -> dict[str, str]:
    """{cb: canonical constraint}; a bare name, "" or null means any version."""
    if raw is None:
        return {}
    if isinstance(raw, list):
        pairs = []
        for index, entry in enumerate(raw):
            if not isinstance(entry, str) or not entry.strip():
                issues.append(((key, index), f"{key} entries must be 'cookbook [constraint]'"))
                continue
            name, _, constraint = entry.strip().partition(" ")
            pairs.append((name, constraint.strip(), (key, index)))
    elif isinstance(raw, dict):
        pairs = [(name, constraint, (key, name)) for name, constraint in raw.items()]
    else:
        issues.append(((key,), f"{key} must be a mapping {{cookbook: constraint}} or a list"))
        return {}
    out: dict[str, str] = {}
    for name, constraint, where in pairs:
        problem = name_issue(name, "cookbook name", COOKBOOK_RE)
        if problem:
            issues.append((where, problem))
            continue
        if constraint is None or constraint == "":
            out[name] = str(ANY)
            continue
        try:
            out[name] = str(Constraint.parse_depends(constraint))  # metadata.rb's grammar
        except UsageError as err:
            issues.append((where, f"{key}[{name}]: {err.message}"))
    return out
