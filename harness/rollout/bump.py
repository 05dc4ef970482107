"""`harness bump`: raise a cookbook's version in its metadata, touching nothing else.

Why: knife spork bump is step one of every change in Etsy's workflow (bump, upload, promote).
The metadata file is hand-written; only the version token may change, so the diff is one line.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import NotFound, UsageError
from harness.repo import Version, load_repo
from harness.rollout.docfile import find_file, load_doc
from harness.rollout.splice import entry, replace_scalar

LEVELS = ("major", "minor", "patch")


@dataclass(frozen=True)
class Bumped:
    path: Path
    old: str
    new: str


def next_version(old: Version, level: str) -> Version:
    """major/minor/patch raise that part (and zero the lower ones); x.y.z must be greater."""
    if level == "major":
        return Version(old.major + 1, 0, 0)
    if level == "minor":
        return Version(old.major, old.minor + 1, 0)
    if level == "patch":
        return Version(old.major, old.minor, old.patch + 1)
    try:
        new = Version.parse(level)
    except UsageError:
        raise UsageError(f"bad bump {level!r}: expected major, minor, patch or a version x.y.z"
                         ) from None
    if new <= old:
        raise UsageError(f"new version {new} is not greater than the current {old}")
    return new


def metadata_file(repo_dir: Path, cookbook: str) -> Path:
    """The metadata file of a cookbook of the repo (cookbooks/ or site-cookbooks/)."""
    repo = load_repo(repo_dir)
    cb = repo.cookbooks.get(cookbook)
    if cb is None:
        known = ", ".join(sorted(repo.cookbooks)) or "none"
        raise NotFound(f"no cookbook {cookbook!r} in {repo.root} (cookbooks: {known})")
    path = find_file(Path(cb.path), "metadata")
    if path is None:
        raise NotFound(f"cookbook {cookbook!r} has no metadata.json or metadata.yaml",
                       path=str(cb.path))
    return path


def bump(repo_dir: Path, cookbook: str, level: str = "patch") -> Bumped:
    """Rewrite the version token of the cookbook's metadata; returns old and new versions."""
    path = metadata_file(repo_dir, cookbook)
    doc = load_doc(path)
    found = entry(doc.root, "version")
    if found is None:
        raise UsageError("metadata has no version", path=str(path))
    node = found[1]
    try:
        old = Version.parse(str(node.value))   # the token as written: YAML `1.10` is not 1.1
    except UsageError as err:
        raise UsageError(err.message, path=str(path)) from None
    try:
        new = next_version(old, level)
    except UsageError as err:
        raise UsageError(f"{cookbook}: {err.message}", path=str(path)) from None
    expected = doc.expected()
    expected["version"] = str(new)
    doc.commit(replace_scalar(doc, node, str(new)), expected)
    return Bumped(path=path, old=str(old), new=str(new))
