"""Cookbook part of the store: cookbook versions, the content-addressed file store, reports.

Shares the Store's one lock; a manifest is stored only when every file it lists is stored.
"""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable

from harness.errors import Frozen, NotFound, UsageError
from harness.repo.documents import CHECKSUM_RE, check_name, normalise_manifest
from harness.repo.limits import (
    MAX_FILE_BYTES,
    MAX_REPORT_BYTES,
    MAX_REPORTS,
    MAX_VERSION,
    path_conflicts,
    path_issue,
    size_issue,
)
from harness.repo.versions import Version
from harness.server.docs import dumps, encoded
from harness.server.fields import Doc

Manifests = dict[str, dict[str, Doc]]  # cookbook -> version -> manifest


def _checksum(checksum: object) -> str:
    if not isinstance(checksum, str) or not CHECKSUM_RE.match(checksum):
        raise UsageError(f"bad checksum {checksum!r}: want 64 lowercase sha256 hex digits")
    return checksum


def newest_first(versions: Iterable[str]) -> list[str]:
    return sorted(versions, key=Version.parse, reverse=True)


class CookbookStore:
    """Cookbook versions, the files they list, and converge reports."""

    def __init__(self, lock: threading.RLock, files: dict[str, bytes] | None = None) -> None:
        self._lock = lock
        self._cookbooks: Manifests = {}
        self._files: dict[str, bytes] = {} if files is None else files  # staging shares it
        self._reports: dict[str, list[Doc]] = {}

    def adopt(self, staged: CookbookStore, nodes: set[str], pinned: Iterable[Doc]) -> None:
        """Take staged's cookbook versions in place of ours (lock held); keep the reports of
        `nodes` only, and the files that a cookbook version (or a `pinned` manifest of a
        restore still being staged) lists."""
        self._cookbooks = staged._cookbooks
        self._reports = {n: r for n, r in self._reports.items() if n in nodes}
        wanted = {f["checksum"] for versions in self._cookbooks.values()
                  for manifest in versions.values() for f in manifest["files"]}
        wanted.update(f["checksum"] for manifest in pinned for f in manifest["files"])
        for checksum in self._files.keys() - wanted:
            del self._files[checksum]

    @property
    def files(self) -> dict[str, bytes]:
        """The file store itself (a staging store shares it)."""
        return self._files

    def snapshot(self) -> bytes:
        """{cookbook: {version: manifest}} as JSON (lock held by the caller)."""
        return dumps(self._cookbooks)

    def manifests(self) -> Iterable[Doc]:
        return [m for versions in self._cookbooks.values() for m in versions.values()]

    def wipe(self) -> None:
        with self._lock:
            self._cookbooks.clear()
            self._files.clear()
            self._reports.clear()

    def all_manifests(self) -> Manifests:
        """{cookbook: {version: manifest}} (copies of the inner dicts: the policy source)."""
        with self._lock:
            return {cb: dict(versions) for cb, versions in self._cookbooks.items()}

    # --- cookbooks -----------------------------------------------------------------------------
    def cookbooks(self) -> dict[str, list[str]]:
        """{cookbook: [versions, newest first]}."""
        with self._lock:
            return {cb: newest_first(vs) for cb, vs in sorted(self._cookbooks.items())}

    def cookbook_versions(self, name: str) -> list[str]:
        with self._lock:
            versions = self._cookbooks.get(name)
            if not versions:
                raise NotFound(f"no cookbook {name!r}")
            return newest_first(versions)

    def manifest(self, name: str, version: str) -> Doc:
        """One version's manifest; `_latest` or `latest` means the newest version (erchef
        chef_wm_cookbook_version.erl and chef-zero cookbook_version_endpoint.rb take both)."""
        with self._lock:
            if version in ("_latest", "latest"):
                version = self.cookbook_versions(name)[0]
            manifest = self._cookbooks.get(name, {}).get(version)
        if manifest is None:
            raise NotFound(f"no cookbook {name} version {version}")
        return manifest

    def put_manifest(self, name: str, version: str, doc: object, *, freeze: bool = False) -> bool:
        """Create/replace a version; every file must be stored; a frozen version only
        accepts the same content again (Frozen otherwise). True if created."""
        manifest = self._check_manifest(name, version, doc)
        with self._lock:
            return self._apply_manifest(manifest, freeze, self._admissible(manifest))

    def put_manifests(self, docs: object) -> int:
        """{name: {version: manifest}} at once (restore): all are checked before any is stored."""
        if not isinstance(docs, dict) or not all(isinstance(v, dict) for v in docs.values()):
            raise UsageError("cookbooks must be an object {name: {version: manifest}}")
        ready = [self._check_manifest(name, version, doc)
                 for name, versions in docs.items() for version, doc in versions.items()]
        with self._lock:
            verdicts = [self._admissible(manifest) for manifest in ready]
            for manifest, verdict in zip(ready, verdicts, strict=True):
                self._apply_manifest(manifest, False, verdict)
        return len(ready)

    @staticmethod
    def _check_manifest(name: object, version: object, doc: object) -> Doc:
        cookbook = check_name(name, "cookbook")
        if ":" in cookbook:
            raise UsageError(f"bad cookbook name {name!r}: ':' separates recipe names")
        if not isinstance(version, str) or len(version) > MAX_VERSION:
            raise UsageError(f"cookbook {name}: version must be a string of at most "
                             f"{MAX_VERSION} characters")
        manifest = normalise_manifest(cookbook, version, doc)
        _check_limits(manifest)
        return manifest

    def _admissible(self, manifest: Doc) -> bool:
        """Raise unless manifest may be stored (lock held); True if it changes nothing."""
        name, version = manifest["name"], manifest["version"]
        missing = sorted({f["checksum"] for f in manifest["files"]} - self._files.keys())
        if missing:
            raise UsageError(f"cookbook {name} {version}: files not uploaded yet: "
                             + ", ".join(missing))
        old = self._cookbooks.get(name, {}).get(version)
        if old is not None and old["frozen"]:
            if {**old, "frozen": False} != {**manifest, "frozen": False}:
                raise Frozen(f"cookbook {name} {version} is frozen; bump the version "
                             "to change it")
            return True
        return False

    def _apply_manifest(self, manifest: Doc, freeze: bool, unchanged: bool) -> bool:
        versions = self._cookbooks.setdefault(manifest["name"], {})
        if unchanged:
            return False
        created = manifest["version"] not in versions
        manifest["frozen"] = manifest["frozen"] or freeze
        versions[manifest["version"]] = manifest
        return created

    def delete_manifest(self, name: str, version: str) -> Doc:
        with self._lock:
            manifest = self.manifest(name, version)
            versions = self._cookbooks[name]
            del versions[manifest["version"]]
            if not versions:
                del self._cookbooks[name]
            return manifest

    # --- file store ----------------------------------------------------------------------------
    def missing_files(self, checksums: object) -> list[str]:
        if not isinstance(checksums, list):
            raise UsageError("checksums must be an array")
        wanted = {_checksum(c) for c in checksums}
        with self._lock:
            return sorted(wanted - self._files.keys())

    def put_file(self, checksum: str, data: bytes) -> bool:
        """Store data under its sha256 (verified: a mismatch is a 400). True if new."""
        return self.put_files({checksum: data}) == 1

    def put_files(self, files: dict[str, bytes]) -> int:
        """Store many files; every checksum is verified before any is stored. Returns how
        many were new."""
        for checksum, data in files.items():
            if len(data) > MAX_FILE_BYTES:
                raise UsageError(f"file {checksum} is {len(data):,} bytes; the limit is "
                                 f"{MAX_FILE_BYTES:,}")
            actual = hashlib.sha256(data).hexdigest()
            if actual != _checksum(checksum):
                raise UsageError(f"checksum mismatch: body has sha256 {actual}, not {checksum}")
        with self._lock:
            new = len(files.keys() - self._files.keys())
            self._files.update(files)
            return new

    def get_file(self, checksum: str) -> bytes:
        with self._lock:
            data = self._files.get(_checksum(checksum))
        if data is None:
            raise NotFound(f"no file {checksum}")
        return data

    # --- converge reports ----------------------------------------------------------------------
    def add_report(self, node: str, report: object) -> None:
        if not isinstance(report, dict):
            raise UsageError("a converge report must be an object")
        problem = size_issue(len(dumps(report)), "a converge report", MAX_REPORT_BYTES)
        if problem:
            raise UsageError(problem)
        with self._lock:
            reports = self._reports.setdefault(check_name(node, "node"), [])
            reports.append(report)
            del reports[:-MAX_REPORTS]

    def reports(self, node: str) -> list[Doc]:
        """Reports of node, oldest first."""
        with self._lock:
            return list(self._reports.get(node, []))


def _check_limits(manifest: Doc) -> None:
    """What backup must be able to write and restore to read (harness.repo.limits): the
    metadata and attribute files as documents, file paths that fit a directory tree."""
    what = f"cookbook {manifest['name']} {manifest['version']}"
    encoded(f"{what} metadata", manifest["metadata"])
    for level, attributes in manifest["attributes"].items():
        encoded(f"{what} attributes/{level}", attributes)
    for entry in manifest["files"]:
        problem = path_issue(entry["path"])
        if problem:
            raise UsageError(f"{what}: file path {entry['path'][:40]!r}: {problem}")
        if entry["size"] > MAX_FILE_BYTES:
            raise UsageError(f"{what}: {entry['path']} is {entry['size']:,} bytes; the "
                             f"limit is {MAX_FILE_BYTES:,}")
    clashes = path_conflicts(entry["path"] for entry in manifest["files"])
    if clashes:
        raise UsageError(f"{what}: {clashes[0]} is listed as a file and as a directory of "
                         "other files; no directory tree can hold both")
