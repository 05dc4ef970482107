"""The unit layer's config server: the server's Store in-process, the agent's Api without HTTP.

Decision (docs/decisions.md, "unit layer without sockets"): the agent's only seam to the
server is `Api.request(method, path, doc, raw)`; StoreApi overrides just that method and
answers from a `harness.server.store.Store`, so everything above it (search paging, cookbook
downloads, policy, node reads) is the agent's real code and the Store's real code (policy
compile, search). No socket, port, thread or event loop, and a fresh Store per converge
(nothing leaks between tests). Measured on the example repo: a zookeeper unit converge takes
20-50 ms including loading the Store; with ConfigServer on 127.0.0.1 it was 58 ms to start
and restore plus 45-53 ms per why_run (docs/decisions.md).

The Store is loaded from the repo (+ backup) exactly as `harness restore` loads a server
(harness.restore.read_payload, the same /_bulk plan); what it reads is cached per process,
keyed by the files' sizes and mtimes, so a test session reads the repo once.
"""
from __future__ import annotations

import json
import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.agent.api import Api
from harness.agent.errors import NotFound as AgentNotFound
from harness.agent.errors import ServerError as AgentServerError
from harness.errors import HarnessError
from harness.errors import NotFound as HarnessNotFound
from harness.restore import KINDS, read_payload
from harness.server.status import status_of
from harness.server.store import Store

URL = "inprocess://config-server"
_SEEDS: dict[tuple[str, str, tuple[tuple[str, int, int], ...]], Seed] = {}
_WATCHED = ("roles", "environments", "nodes", "clients", "data_bags", "cookbooks",
            "site-cookbooks")


@dataclass(frozen=True)
class Seed:
    """Everything a restore would upload: documents, manifests, file contents."""

    documents: dict[str, Any]
    manifests: dict[str, dict[str, Any]]
    files: dict[str, bytes]

    def store(self) -> Store:
        """A fresh Store holding the seed (each converge gets its own: no leaks between
        tests)."""
        store = Store()
        store.bulk(json.loads(json.dumps(self.documents)))
        store.put_files(self.files)
        store.bulk({"cookbooks": json.loads(json.dumps(self.manifests))})
        return store


def _fingerprint(*roots: Path | None) -> tuple[tuple[str, int, int], ...]:
    out: list[tuple[str, int, int]] = []
    for root in roots:
        if root is None:
            continue
        tops = [root / d for d in _WATCHED] if (root / "roles").is_dir() else [root]
        for top in tops:
            for dirpath, _, names in os.walk(top):
                for name in names:
                    st = os.stat(os.path.join(dirpath, name))
                    out.append((os.path.join(dirpath, name), st.st_mtime_ns, st.st_size))
    return tuple(sorted(out))


def seed(repo: Path, backup: Path | None) -> Seed:
    """The repo (+ backup) as a restore would upload it, read once per change."""
    key = (str(repo), str(backup), _fingerprint(repo, backup))
    if key not in _SEEDS:
        payload = read_payload(repo, from_backup=backup)
        documents: dict[str, Any] = {kind: getattr(payload, kind) for kind in KINDS}
        documents["data"] = payload.data_bags
        manifests: dict[str, dict[str, Any]] = {}
        files: dict[str, bytes] = {}
        for (name, version), cookbook in payload.cookbooks.items():
            manifest = cookbook.manifest()
            manifests.setdefault(name, {})[version] = manifest
            for entry in manifest["files"]:
                if entry["checksum"] not in files:
                    files[entry["checksum"]] = (cookbook.path / entry["path"]).read_bytes()
        _SEEDS.clear()  # one repo at a time is what a session uses; do not grow
        _SEEDS[key] = Seed(documents, manifests, files)
    return _SEEDS[key]


class StoreApi(Api):
    """The agent's Api answered by a Store in this process (the paths the agent uses)."""

    def __init__(self, store: Store) -> None:
        super().__init__(URL, "in-process")
        self.store = store

    def request(self, method: str, path: str, doc: Any = None, *, raw: bool = False) -> Any:
        parsed = urllib.parse.urlsplit(path)
        parts = [urllib.parse.unquote(p) for p in parsed.path.strip("/").split("/")]
        try:
            query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)  # q= is not q
            answer = self._answer(method, parts, query, doc)
        except HarnessNotFound as exc:
            raise AgentNotFound(f"{method} {path}: 404 {exc}", 404) from None
        except HarnessError as exc:
            status = status_of(exc)
            raise AgentServerError(f"{method} {path}: {status} {exc}", status) from None
        if raw:
            return answer
        return json.loads(json.dumps(answer))  # what the wire gives: no shared objects

    def _answer(self, method: str, parts: list[str], query: dict[str, list[str]],
                doc: Any) -> Any:
        store = self.store
        match (method, parts):
            case ("GET", ["nodes", name]):
                return store.get("node", name)
            case ("PUT", ["nodes", name]):
                store.put("node", name, doc)
                return store.get("node", name)
            case ("GET", ["nodes", name, "policy"]):
                return store.policy(name)
            case ("GET", ["cookbooks", name, version]):
                return store.manifest(name, version)
            case ("GET", ["file_store", checksum]):
                return store.get_file(checksum)
            case ("GET", ["data", bag]):
                return {item: f"{URL}/data/{bag}/{item}" for item in store.items(bag)}
            case ("GET", ["data", bag, item]):
                return store.get_item(bag, item)
            case ("GET", ["search", index]):
                start = int(query.get("start", ["0"])[0])
                rows = int(query.get("rows", ["1000"])[0])
                total, docs = store.search(index, query.get("q", ["*:*"])[0], start, rows)
                return {"total": total, "start": start, "rows": [json.loads(d) for d in docs]}
            case ("POST", ["reports", "nodes", name, "runs"]):
                store.add_report(name, doc)
                return {"node": name}
        raise HarnessNotFound(f"the in-process server does not serve {method} /"
                              + "/".join(parts))
