"""POST /_sync (harness/server/sync.py): the repo under edit replaces the server's repo
content; nodes, clients, their tokens and reports stay; a refused sync changes nothing."""
from __future__ import annotations

import hashlib

import pytest

from harness.errors import Frozen, UsageError
from harness.server.store import Store
from harness.server.sync import sync_store


def _files(store: Store, *contents: bytes) -> list[dict]:
    out = []
    for i, content in enumerate(contents):
        checksum = hashlib.sha256(content).hexdigest()
        store.put_file(checksum, content)
        out.append({"path": f"recipes/r{i}.py", "checksum": checksum, "size": len(content)})
    return out


def _manifest(files: list[dict], frozen: bool = False) -> dict:
    return {"metadata": {"depends": {}}, "files": files, "frozen": frozen,
            "attributes": {"default": {}, "override": {}}}


def _world() -> tuple[Store, str]:
    """A server after restore and a bootstrap: repo content plus a node, its client, a report."""
    store = Store()
    store.put("role", "web", {"run_list": ["recipe[app]"]})
    store.put("role", "old", {"run_list": ["recipe[app]"]})
    store.put("environment", "production", {})
    store.create_bag("secrets")
    store.put_item("secrets", "db", {"id": "db", "password": "one"})
    store.put_item("secrets", "gone", {"id": "gone"})
    store.create_bag("oldbag")
    store.put_manifest("app", "1.0.0", _manifest(_files(store, b"v1")))
    store.put_manifest("app", "0.9.0", _manifest(_files(store, b"v0.9")))
    store.put_manifest("base", "2.0.0", _manifest(_files(store, b"frozen"), frozen=True))
    token = store.create_client("web-1")
    store.put("node", "web-1", {"chef_environment": "production", "run_list": ["role[web]"]})
    store.add_report("web-1", {"status": "success"})
    return store, token


def test_sync_replaces_repo_content_and_keeps_what_nodes_made():
    """Same-version re-upload of an unfrozen cookbook replaces it, as chef-zero's
    CookbookVersionEndpoint#put does (200 for an existing version; chef/chef-zero
    lib/chef_zero/endpoints/cookbook_version_endpoint.rb)."""
    store, token = _world()
    edited = _files(store, b"v1 edited")
    counts = sync_store(store, {
        "roles": {"web": {"run_list": ["recipe[app]", "recipe[base]"]}},
        "environments": {"production": {"default_attributes": {"x": 1}}},
        "data": {"secrets": {"db": {"id": "db", "password": "two"}}},
        "cookbooks": {"app": {"1.0.0": _manifest(edited)},
                      "base": {"2.0.0": _manifest(store.manifest("base", "2.0.0")["files"],
                                                  frozen=True)}}})
    assert counts["cookbooks_changed"] == 1 and counts["cookbooks_removed"] == 1
    assert store.manifest("app", "1.0.0")["files"][0]["checksum"] == edited[0]["checksum"]
    assert store.cookbooks() == {"app": ["1.0.0"], "base": ["2.0.0"]}  # 0.9.0 removed
    assert store.names("role") == ["web"]  # a role deleted from the repo disappears
    assert store.get("role", "web")["run_list"] == ["recipe[app]", "recipe[base]"]
    assert store.get("environment", "production")["default_attributes"] == {"x": 1}
    assert store.names("environment") == ["_default", "production"]
    assert store.bags() == ["secrets"] and store.items("secrets") == ["db"]
    assert store.get_item("secrets", "db")["password"] == "two"
    # kept: the node, its client and token, its reports
    assert store.get("node", "web-1")["chef_environment"] == "production"
    assert store.client_for_token(token)["name"] == "web-1"
    assert store.reports("web-1") == [{"status": "success"}]
    assert [d["name"] for d in store.search_docs("role", "run_list:recipe\\[base\\]")] == ["web"]


@pytest.mark.parametrize("batch, error, message", [
    ({"cookbooks": {"base": {"2.0.0": _manifest([])}}}, Frozen, "frozen"),
    ({"cookbooks": {"app": {"1.0.0": _manifest([{"path": "recipes/x.py", "size": 1,
                                                 "checksum": "a" * 64}])}}},
     UsageError, "files not uploaded yet"),
    ({"roles": {"web": {"run_list": ["recipe[x"]}}}, UsageError, "bad run-list item"),
    ({"nodes": {"web-1": {}}}, UsageError, "nodes and clients are kept"),
    ([], UsageError, "a sync body is an object"),
])
def test_a_refused_sync_changes_nothing(batch, error, message):
    """A frozen version only takes its own content again (chef-zero answers 409 for a frozen
    cookbook: cookbook_version_endpoint.rb "is frozen")."""
    store, _ = _world()
    before = (store.cookbooks(), store.names("role"), store.bags(), store.items("secrets"),
              store.manifest("app", "1.0.0"))
    with pytest.raises(error, match=message):
        sync_store(store, batch)
    assert (store.cookbooks(), store.names("role"), store.bags(), store.items("secrets"),
            store.manifest("app", "1.0.0")) == before
