"""A cluster world over the FakeBackend (the one seam unit tests may fake).

Shared by the cluster tests and the pytest plugin tests: a repo dir with a bootstrap script,
a fake backend answering bootstrap/converge like agents whose first search sees only
themselves, a fake admin client and server, and no reaper process.
"""
from __future__ import annotations

import json
import threading

from harness.nodes import cluster as cluster_mod
from harness.nodes import configserver
from harness.nodes.fake import FakeBackend

SCRIPT = b"#!/bin/bash\n# the repo's production bootstrap, byte for byte\nexit 0\n"


class FakeClient:
    """The admin client's surface Cluster uses, over a tiny in-memory world."""

    def __init__(self) -> None:
        self.registered: list[str] = []
        self.runs: dict[str, list[dict]] = {}
        self.posts: list[tuple[str, dict]] = []
        self.lock = threading.Lock()

    def post(self, path: str, doc: dict) -> dict:
        self.posts.append((path, doc))
        return {"name": doc["name"], "token": "validator-token-123"}

    def get(self, path: str):
        if path.startswith("/reports/nodes/"):
            return self.runs.get(path.split("/")[3], [])
        return {"name": path.rsplit("/", 1)[-1], "chef_environment": "_default"}

    def put(self, path: str, doc: dict):
        self.posts.append((path, doc))
        return doc

    def search(self, index: str, q: str) -> list[dict]:
        return [{"name": n} for n in sorted(self.registered)]


class FakeServer:
    url = "http://127.0.0.1:4000"
    admin_token = "admin"
    stopped = False

    def stop(self) -> None:
        self.stopped = True

    def listen_also(self, host: str) -> None:  # the cluster opens it on its network's gateway
        self.url = f"http://{host}:4000"


def report(node: str, seen: list[str], changed: list[str] | None = None) -> dict:
    return {"node": node, "status": "success", "changed": changed or [], "resources": [],
            "searches": [{"index": "node", "query": "role:web", "names": sorted(seen)}]}


def make_world(monkeypatch, tmp_path):
    """A repo dir with a bootstrap script, a fake backend and client, no reaper process."""
    (tmp_path / "bootstrap").mkdir()
    (tmp_path / "bootstrap" / "bootstrap.sh").write_bytes(SCRIPT)
    backend, client, server = FakeBackend(), FakeClient(), FakeServer()

    def restored_server(host, repo_dir, **kw):  # the cluster still creates its validator
        return server, client

    monkeypatch.setattr(configserver, "restored_server", restored_server)
    monkeypatch.setattr(cluster_mod, "start_reaper", lambda session: None)
    # --package-layer auto is off under CI: these clusters boot from the image they are given
    # (tests/unit/test_layers_cluster.py asks for the layer explicitly)
    monkeypatch.setenv("CI", "true")

    def bootstrap(container, cmd):  # first converge: sees only itself
        node = cmd[cmd.index("--node") + 1]
        with client.lock:
            client.registered.append(node)
            client.runs.setdefault(node, []).append(report(node, [node], ["package[x]"]))
        return 0, "bootstrap: downloading the agent\nbootstrap: node is bootstrapped\n"

    def converge(container, cmd):
        node = backend.containers[container].hostname
        return 0, "converging\n" + json.dumps(report(node, client.registered)) + "\n"

    backend.on(r"^bash /root/bootstrap\.sh", bootstrap)
    backend.on(r"agent\.pyz converge --json", converge)
    return type("World", (), {"backend": backend, "client": client, "server": server,
                              "repo": tmp_path})
