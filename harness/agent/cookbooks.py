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
