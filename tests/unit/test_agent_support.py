"""Shared fakes for the agent tests (no tests here): an in-memory Api and a command seam.

The fake Api answers the same paths the real config server does, so a full agent run
(policy, cookbooks, files, search, data bags, node saves, reports) needs no HTTP.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from harness.agent.cookbooks import Cookbook
from harness.agent.errors import NotFound
from harness.agent.resource import Context
from harness.agent.shell import Completed


def manifest(name: str, files: dict[str, str | bytes], version: str = "1.0.0") -> tuple[
        dict, dict[str, bytes]]:
    """A cookbook manifest and its file store entries."""
    store, entries = {}, []
    for path, content in sorted(files.items()):
        data = content.encode() if isinstance(content, str) else content
        checksum = hashlib.sha256(data).hexdigest()
        store[checksum] = data
        entries.append({"path": path, "checksum": checksum, "size": len(data)})
    return {"name": name, "version": version, "metadata": {"name": name, "version": version},
            "files": entries, "frozen": False}, store


def book(name: str, files: dict[str, str | bytes], version: str = "1.0.0") -> Cookbook:
    doc, store = manifest(name, files, version)
    by_path = {e["path"]: store[e["checksum"]] for e in doc["files"]}
    return Cookbook(doc, by_path.__getitem__)


class FakeApi:
    """Just enough of the config server for one node; records writes."""

    url = "http://fake-server:1"

    def __init__(self, node: str = "web-1", *, cookbooks: dict[str, dict] | None = None,
                 attributes: dict | None = None, roles: list[str] | None = None,
                 recipes: list[str] | None = None, bags: dict | None = None,
                 nodes: list[dict] | None = None, environment: str = "_default") -> None:
        self.node = node
        self.files: dict[str, bytes] = {}
        self.manifests: dict[str, dict] = {}
        for name, files in (cookbooks or {}).items():
            doc, store = manifest(name, files)
            self.manifests[name] = doc
            self.files.update(store)
        self.policy = {"name": node, "chef_environment": environment,
                       "run_list": [f"recipe[{r}]" for r in recipes or []],
                       "expanded_run_list": [f"recipe[{r}]" for r in recipes or []],
                       "roles": roles or [], "recipes": recipes or [],
                       "cookbook_versions": {n: "1.0.0" for n in self.manifests},
                       "attributes": attributes or {}}
        self.node_doc = {"name": node, "chef_environment": environment, "run_list": [],
                         "normal": {}, "default": {}, "override": {}, "automatic": {}}
        self.bags = bags or {}
        self.nodes = nodes or []
        self.puts: list[tuple[str, Any]] = []
        self.posts: list[tuple[str, Any]] = []
        self.file_gets = 0
        self.searches: list[tuple[str, str]] = []

    def get(self, path: str) -> Any:
        parts = path.strip("/").split("/")
        if parts == ["nodes", self.node]:
            return json.loads(json.dumps(self.node_doc))
        if parts == ["nodes", self.node, "policy"]:
            return json.loads(json.dumps(self.policy))
        if parts[0] == "cookbooks" and len(parts) == 3 and parts[1] in self.manifests:
            return self.manifests[parts[1]]
        if parts[0] == "data" and len(parts) == 3 and parts[2] in self.bags.get(parts[1], {}):
            return json.loads(json.dumps(self.bags[parts[1]][parts[2]]))
        if parts[0] == "data" and len(parts) == 2 and parts[1] in self.bags:
            return {k: f"/data/{parts[1]}/{k}" for k in self.bags[parts[1]]}
        raise NotFound(f"GET {path}: 404", 404)

    def get_file(self, checksum: str) -> bytes:
        self.file_gets += 1
        return self.files[checksum]

    def put(self, path: str, doc: Any) -> Any:
        self.puts.append((path, doc))
        if path == f"/nodes/{self.node}":
            self.node_doc = doc
        return doc

    def post(self, path: str, doc: Any) -> Any:
        self.posts.append((path, doc))
        return {}

    def search(self, index: str, query: str) -> list[dict]:
        self.searches.append((index, query))
        rows = self.nodes if index == "node" else list(self.bags.get(index, {}).values())
        return json.loads(json.dumps(list(reversed(rows))))


Rule = tuple[Callable[[Any], bool], Completed]


class FakeRunner:
    """The command seam: records every command, answers with the first matching rule."""

    def __init__(self, rules: list[tuple[Any, Completed]] | None = None) -> None:
        self.calls: list[Any] = []
        self.kwargs: list[dict] = []
        self.rules = list(rules or [])

    def when(self, prefix: Any, rc: int = 0, out: str = "", err: str = "") -> FakeRunner:
        self.rules.insert(0, (prefix, Completed(rc, out, err)))
        return self

    def __call__(self, cmd: Any, **kwargs: Any) -> Completed:
        self.calls.append(cmd)
        self.kwargs.append(kwargs)
        for prefix, result in self.rules:
            if _matches(cmd, prefix):
                return result
        return Completed(0, "", "")

    def ran(self, *prefix: str) -> list[Any]:
        """The commands that start with these words (lists) or this text (strings)."""
        return [c for c in self.calls if _matches(c, list(prefix) if len(prefix) > 1
                                                  else prefix[0])]


def unit_state(active: str = "inactive", file_state: str = "disabled",
               runner: FakeRunner | None = None) -> FakeRunner:
    """A runner whose `systemctl --system show -p UnitFileState -p ActiveState` answers so."""
    return (runner or FakeRunner()).when(["systemctl", "--system", "show"],
                                         out=f"ActiveState={active}\nUnitFileState={file_state}\n")


def _matches(cmd: Any, prefix: Any) -> bool:
    if isinstance(prefix, str):
        text = cmd if isinstance(cmd, str) else " ".join(cmd)
        return text.startswith(prefix)
    return not isinstance(cmd, str) and list(cmd[:len(prefix)]) == list(prefix)


def context(cookbooks: dict | None = None, node: Any = None, run: Any = None,
            why_run: bool = False) -> tuple[Context, list[str]]:
    """A Context whose output lines are collected in the returned list."""
    lines: list[str] = []
    ctx = Context(node=node, cookbooks=cookbooks or {}, run=run or FakeRunner(),
                  out=lines.append, why_run=why_run)
    return ctx, lines
