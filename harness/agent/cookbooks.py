"""Cookbook files for one run: manifests from the server, contents cached by checksum."""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .api import Api
from .errors import AgentError, ServerError


class FileCache:
    """Content-addressed store: a directory on nodes, a dict when why-run runs in-process."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self.memory: dict[str, bytes] = {}
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def get(self, checksum: str) -> bytes | None:
        if self.directory is None:
            return self.memory.get(checksum)
        path = self.directory / checksum
        try:
            data = path.read_bytes()
        except OSError:
            return None
        return data if hashlib.sha256(data).hexdigest() == checksum else None

    def put(self, checksum: str, data: bytes) -> None:
        if self.directory is None:
            self.memory[checksum] = data
            return
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, self.directory / checksum)


class Cookbook:
    """One resolved cookbook version: its manifest and a way to read any of its files."""

    def __init__(self, manifest: dict[str, Any], read: Callable[[str], bytes]) -> None:
        self.name: str = manifest["name"]
        self.version: str = manifest["version"]
        self.manifest = manifest
        self.paths = {f["path"] for f in manifest.get("files", [])}
        self._read = read

    def has(self, path: str) -> bool:
        return path in self.paths

    def read(self, path: str) -> bytes:
        if path not in self.paths:
            raise AgentError(f"cookbook {self.name} {self.version} has no file {path}")
        return self._read(path)

    def label(self, path: str) -> str:
        """How error messages name one of its files."""
        return f"{self.name}/{path}"

    def preferred(self, node: Any, segment: str, name: str | list[str]) -> str | None:
        """The most specific of its files for this node (cookbook_version.rb
        find_preferred_manifest_record), or None."""
        return next((p for p in preferences_for_path(node, segment, name) if p in self.paths),
                    None)

    def not_found(self, node: Any, segment: str, name: str | list[str]) -> str:
        """cookbook_version.rb preferred_manifest_record's FileNotFound message."""
        if isinstance(name, list):
            places = [f"  {_join(segment, n)}" for n in name]
        else:
            fqdn, platform, version = (_text(node, k) for k in ("fqdn", "platform",
                                                                  "platform_version"))
            places = [f"  {segment}/host-{fqdn}/{name}",
                      f"  {segment}/{platform}-{version}/{name}",
                      f"  {segment}/{platform}/{name}", f"  {segment}/default/{name}",
                      f"  {segment}/{name}"]
        text = (f"Cookbook '{self.name}' ({self.version}) does not contain a file at any of "
                "these locations:\n" + "\n".join(places))
        present = [f["path"] for f in self.manifest.get("files", [])
                   if f["path"].startswith(segment + "/")]
        if present:
            text += "\n\nThis cookbook _does_ contain: ['" + "','".join(present) + "']"
        return text


def _text(node: Any, key: str) -> str:
    """node[key] as Ruby interpolates it (nil is "")."""
    value = _attr(node, key)
    return "" if value is None else str(value)


def _attr(node: Any, key: str) -> Any:
    """node[key], or None (no node, no attribute)."""
    return node.get(key) if node is not None else None


def _set(value: Any) -> bool:
    """Ruby truthiness: only nil and false are false ("" is true)."""
    return value is not None and value is not False


def _join(*parts: str) -> str:
    """Ruby's File.join: one separator between parts."""
    out = parts[0]
    for part in parts[1:]:
        out = out.rstrip("/") + "/" + part.lstrip("/")
    return out


def preferences_for_path(node: Any, segment: str, name: str | list[str]) -> list[str]:
    """chef/chef lib/chef/cookbook_version.rb preferences_for_path, for files and templates:
    host-<fqdn>/, <platform>-<version>/ for each version prefix ("12.8", "12"),
    <platform>/, default/, then the segment's root. A list of names is tried as it is, in
    order, with no specificity. Platform falls back to node["os"], the version to
    os_version, then os_release (platform/provider_mapping.rb find_platform_and_version);
    when either is missing, neither is searched."""
    if isinstance(name, list):
        return [_join(segment, n) for n in name]
    platform = next((v for v in (_attr(node, "platform"), _attr(node, "os")) if _set(v)), None)
    version = next((v for v in (_attr(node, "platform_version"), _attr(node, "os_version"),
                                _attr(node, "os_release")) if _set(v)), None)
    if platform is None or version is None:
        platform, version = "/unknown_platform/", "/unknown_platform_version/"
    parts = str(version).split(".")
    while parts and not parts[-1]:           # Ruby's split drops trailing empty fields
        parts.pop()
    versions = [".".join(parts[:n]) for n in range(len(parts), 0, -1)]
    fqdn = _attr(node, "fqdn")
    relative = ([_join(f"host-{'' if fqdn is None else fqdn}", name)]
                + [_join(f"{platform}-{v}", name) for v in versions]
                + [_join(str(platform), name), _join("default", name), name])
    return [_join(segment, r) for r in relative]


def fetch_cookbooks(api: Api, versions: dict[str, str], cache: FileCache,
                    log: Callable[[str], None]) -> dict[str, Cookbook]:
    """Manifests of the policy's cookbook versions and every file they list."""
    log("Synchronizing cookbooks: " + ", ".join(f"{cb} {v}" for cb, v in sorted(versions.items())))
    books: dict[str, Cookbook] = {}
    downloaded = total = 0
    for name, version in sorted(versions.items()):
        manifest = api.get(f"/cookbooks/{name}/{version}")
        files: dict[str, str] = {}
        for entry in manifest.get("files", []):
            total += 1
            checksum = entry["checksum"]
            if cache.get(checksum) is None:
                data = api.get_file(checksum)
                if hashlib.sha256(data).hexdigest() != checksum:
                    raise ServerError(f"cookbook {name} {version}: {entry['path']} does not "
                                      f"match its checksum {checksum}")
                cache.put(checksum, data)
                downloaded += 1
            files[entry["path"]] = checksum
        books[name] = Cookbook(manifest, _reader(cache, files, name))
    log(f"  {total} files ({downloaded} downloaded, {total - downloaded} cached)")
    return books


def _reader(cache: FileCache, files: dict[str, str], name: str) -> Callable[[str], bytes]:
    def read(path: str) -> bytes:
        data = cache.get(files[path])
        if data is None:
            raise AgentError(f"cookbook {name}: {path} vanished from the cache")
        return data
    return read
