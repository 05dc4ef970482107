"""Issue 14 items 3 and 5: a restore is all or nothing, a backup is one consistent snapshot.

Before: restore wiped the server first, so a repo the server refused halfway left it with no
cookbooks and no data; backup paged through search with offsets, so deletes running during a
backup shifted the pages and untouched objects went missing while backup exited 0.
"""
from __future__ import annotations

import json
import threading
import time

import pytest

from harness.client import Client
from harness.errors import ServerError, UsageError, ValidationError
from harness.restore import backup, read_backup, restore
from harness.server.cookbooks import CookbookStore
from harness.server.store import MAX_STAGED, Store
from tests.unit.test_restore_roundtrip import REPO, write


def _state(client: Client) -> dict[str, object]:
    return {"roles": client.get("/roles"), "cookbooks": client.get("/cookbooks"),
            "data": {bag: sorted(client.get(f"/data/{bag}")) for bag in client.get("/data")},
            "nodes": client.get("/nodes")}


def test_a_restore_refused_halfway_leaves_the_previous_content(tmp_path, client, monkeypatch):
    restore(client, write(tmp_path / "old", REPO))
    before = _state(client)
    new = dict(REPO, **{"roles/db.json": json.dumps({"name": "db"})})

    def refuse(self, docs):
        raise UsageError("refused by the server")

    monkeypatch.setattr(CookbookStore, "put_manifests", refuse)  # the last step of a restore
    with pytest.raises(ServerError, match="refused by the server"):
        restore(client, write(tmp_path / "new", new))
    assert _state(client) == before
    assert "db" not in client.get("/roles")
    monkeypatch.undo()
    restore(client, write(tmp_path / "new2", new))
    assert "db" in client.get("/roles")


def test_staged_content_is_invisible_until_the_commit(client):
    client.put("/roles/old", {})
    sid = client.post("/_restore", {})["id"]
    client.post(f"/_restore/{sid}/bulk", {"roles": {"new": {}}, "data": {"bag": {"i": {}}}})
    assert list(client.get("/roles")) == ["old"] and client.get("/data") == {}
    client.post(f"/_restore/{sid}/commit", {})
    assert list(client.get("/roles")) == ["new"] and list(client.get("/data")) == ["bag"]
    with pytest.raises(ServerError, match="404"):
        client.post(f"/_restore/{sid}/commit", {})


def test_commit_keeps_clients_and_the_kinds_asked_for():
    store = Store()
    token = store.create_client("web1")
    store.put("node", "web1", {"run_list": []})
    store.put("role", "old", {})
    store.add_report("web1", {"status": "success"})
    sid = store.stage()
    store.staged_bulk(sid, {"roles": {"new": {}}, "nodes": {"web2": {}}})
    store.commit(sid, ["nodes"])
    assert store.names("node") == ["web1", "web2"] and store.names("role") == ["new"]
    assert store.client_for_token(token)["name"] == "web1"
    assert store.reports("web1") == [{"status": "success"}]
    with pytest.raises(UsageError, match="keep must be a list"):
        store.commit(store.stage(), ["clients"])


def test_a_discarded_or_dropped_staging_is_gone():
    store = Store()
    first = store.stage()
    store.discard(first)
    ids = [store.stage() for _ in range(MAX_STAGED + 1)]
    with pytest.raises(UsageError, match="no restore"):
        store.staged_bulk(ids[0], {})
    store.commit(ids[-1])


def test_files_no_version_lists_are_dropped_at_commit(tmp_path, client, server):
    restore(client, write(tmp_path / "a", REPO))
    stale = dict(REPO, **{"site-cookbooks/base/files/motd": "changed\n"})
    restore(client, write(tmp_path / "b", stale))
    listed = {f["checksum"] for cb, info in client.get("/cookbooks").items()
              for v in info["versions"] for f in client.get(f"/cookbooks/{cb}/{v}")["files"]}
    assert set(server.store.cookbook_store._files) == listed


def test_backup_during_deletes_loses_nothing_untouched(tmp_path, client, server):
    """The issue's measurement: with deletes running, 244 of 10,000 untouched items were
    missing from a backup that exited 0. GET /_snapshot takes them all at one instant."""
    store = server.store
    store.create_bag("b")
    for i in range(3000):
        store.put_item("b", f"keep{i:05}", {"id": f"keep{i:05}"})
        store.put_item("b", f"gone{i:05}", {"id": f"gone{i:05}"})
        if i % 3 == 0:
            store.put("node", f"n{i:05}", {})
    stop, started = threading.Event(), threading.Event()

    def delete() -> None:  # spread over the backup: paging by offset lost ~40 keep items here
        started.set()
        for i in range(3000):
            if stop.is_set():
                return
            store.delete_item("b", f"gone{i:05}")
            if i % 10 == 0:
                time.sleep(0.001)

    deleter = threading.Thread(target=delete)
    deleter.start()
    started.wait()
    try:
        backup(client, tmp_path / "backup")
    finally:
        stop.set()
        deleter.join()
    payload = read_backup(tmp_path / "backup")
    kept = {i for i in payload.data_bags["b"] if i.startswith("keep")}
    assert len(kept) == 3000 and len(payload.nodes) == 1000


def test_snapshot_is_the_shape_of_a_bulk_body(client, server):
    server.store.put("role", "web", {"description": "w"})
    snap = client.get("/_snapshot")
    assert set(snap) == {"environments", "roles", "nodes", "clients", "data", "cookbooks"}
    assert snap["roles"]["web"]["description"] == "w"
    fresh = Store()
    fresh.bulk(snap)
    assert fresh.get("role", "web") == server.store.get("role", "web")


def test_restore_keep_passes_through(tmp_path, client):
    client.put("/nodes/live", {})
    restore(client, write(tmp_path / "r", REPO), keep=["nodes"])
    assert set(client.get("/nodes")) == {"live", "web1"}


@pytest.mark.parametrize("files", [
    {"data_bags/node/new_php.json": json.dumps({"id": "new_php", "patterns": ["web*"]})},
    {"roles/huge.json": json.dumps({"name": "huge", "description": "x" * (30 << 20)})},
])
def test_the_issues_repos_are_refused_before_the_server_changes(tmp_path, client, files):
    """The issue's two repos: validate accepted them, the server refused them after the
    wipe. Now validate refuses them, and the server keeps its content."""
    restore(client, write(tmp_path / "old", REPO))
    before = _state(client)
    with pytest.raises(ValidationError):
        restore(client, write(tmp_path / "new", dict(REPO, **files)))
    assert _state(client) == before
