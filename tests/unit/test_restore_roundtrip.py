"""restore and backup: what lands on the server, knife-backup's layout, byte-stable round trips."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.client import Client
from harness.errors import ServerError, UsageError, ValidationError
from harness.repo import load_cookbook
from harness.restore import backup, restore
from harness.server.serve import ConfigServer


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


REPO = {
    "roles/web.json": json.dumps({"name": "web", "description": "from repo",
                                  "run_list": ["recipe[base]", "recipe[java]"]}),
    "environments/prod.yaml": "name: prod\ncookbook_versions:\n  java: '~> 1.0'\n",
    "nodes/web1.json": json.dumps({"name": "web1", "chef_environment": "prod",
                                   "run_list": ["role[web]"],
                                   "automatic": {"roles": ["web"]}}),
    "data_bags/users/ops.json": json.dumps({"id": "ops", "shell": "/bin/bash"}),
    "site-cookbooks/base/metadata.yaml": "name: base\nversion: 1.0.0\ndepends:\n  java: '>= 1.0'\n",
    "site-cookbooks/base/recipes/default.py": "log('base')\n",
    "site-cookbooks/base/attributes/default.yaml": "base:\n  motd: hello\n",
    "site-cookbooks/base/files/motd": "hello\n",
    "cookbooks/java/metadata.json": json.dumps({"name": "java", "version": "1.2.0"}),
    "cookbooks/java/recipes/default.py": "log('java')\n",
}


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_restore_uploads_everything(tmp_path, client, server):
    summary = restore(client, write(tmp_path / "repo", REPO))
    assert summary.startswith("restored 1 environments, 1 roles, 1 nodes, 0 clients, "
                              "1 data bags (1 items), 2 cookbook versions (6 files uploaded)")
    assert client.get("/roles/web")["description"] == "from repo"
    assert client.get("/data/users/ops") == {"id": "ops", "shell": "/bin/bash"}
    assert [n["name"] for n in client.search("node", "role:web AND chef_environment:prod")] \
        == ["web1"]
    assert client.get("/cookbooks") == {"base": {"versions": ["1.0.0"]},
                                        "java": {"versions": ["1.2.0"]}}
    manifest = client.get("/cookbooks/base/1.0.0")
    by_path = {f["path"]: f for f in manifest["files"]}
    assert client.get_file(by_path["files/motd"]["checksum"]) == b"hello\n"
    policy = client.get("/nodes/web1/policy")
    assert policy["cookbook_versions"] == {"java": "1.2.0", "base": "1.0.0"}
    assert policy["attributes"] == {"base": {"motd": "hello"}}
    server.store.put("role", "stale", {})
    restore(client, tmp_path / "repo")  # wipes first
    assert "stale" not in client.get("/roles")


def test_backup_layout_and_byte_for_byte_round_trip(tmp_path, client, server):
    restore(client, write(tmp_path / "repo", REPO))
    server.store.create_client("web1")
    first = tmp_path / "first"
    assert "backed up" in backup(client, first)
    role = (first / "roles/web.json").read_text()
    assert role == json.dumps(client.get("/roles/web"), sort_keys=True, indent=2) + "\n"
    assert json.loads((first / "clients/web1.json").read_text()) == {
        "name": "web1", "validator": False, "json_class": "Chef::ApiClient", "chef_type": "client"}
    assert (first / "data_bags/users/ops.json").is_file()
    assert (first / "cookbooks/base-1.0.0/files/motd").read_text() == "hello\n"
    cookbook = load_cookbook(first / "cookbooks/base-1.0.0")
    assert cookbook.manifest()["files"] == client.get("/cookbooks/base/1.0.0")["files"]

    with ConfigServer(agent_pyz=b"") as other:
        other_client = Client(other.url, other.admin_token)
        restore(other_client, None, from_backup=first)
        second = tmp_path / "second"
        backup(other_client, second)
    assert tree(second) == tree(first) and tree(first)


def test_repo_wins_over_backup_and_backup_adds_versions(tmp_path, client, server):
    old = write(tmp_path / "old", {
        "roles/web.json": json.dumps({"name": "web", "description": "from backup"}),
        "roles/legacy.json": json.dumps({"name": "legacy"}),
        "cookbooks/java-1.0.0/metadata.json": json.dumps({"name": "java", "version": "1.0.0"}),
        "cookbooks/java-1.0.0/recipes/default.py": "log('old java')\n",
        "data_bags/users/old.json": json.dumps({"id": "old"}),
        "clients/web9.json": json.dumps({"name": "web9", "validator": False}),
    })
    restore(client, write(tmp_path / "repo", REPO), from_backup=old)
    assert client.get("/roles/web")["description"] == "from repo"
    assert "legacy" in client.get("/roles")
    assert client.get("/cookbooks/java") == {"java": {"versions": ["1.2.0", "1.0.0"]}}
    assert sorted(client.get("/data/users")) == ["old", "ops"]
    assert "web9" in client.get("/clients")


def test_a_bad_repo_is_reported_and_the_server_is_not_wiped(tmp_path, client):
    client.put("/roles/keep", {})
    bad = write(tmp_path / "bad", {"roles/web.json": "{broken", "roles/x.yaml": "run_list: 3\n"})
    with pytest.raises(ValidationError) as err:
        restore(client, bad)
    assert len(err.value.problems) == 2
    bad_backup = write(tmp_path / "bb", {"roles/a.json": json.dumps({"name": "b"})})
    with pytest.raises(ValidationError, match="does not match the file name"):
        restore(client, None, from_backup=bad_backup)
    with pytest.raises(UsageError, match="not a directory"):
        restore(client, None, from_backup=tmp_path / "missing")
    assert "keep" in client.get("/roles")


def test_backup_refuses_a_directory_that_is_not_a_backup(tmp_path, client):
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo/README.md").write_text("mine")
    with pytest.raises(UsageError, match="not empty and not a backup"):
        backup(client, tmp_path / "repo")
    assert tree(tmp_path / "repo") == {"README.md": b"mine"}
    with pytest.raises(UsageError, match="parent directory does not exist"):
        backup(client, tmp_path / "no/such/dir")
    (tmp_path / "empty").mkdir()
    backup(client, tmp_path / "empty")
    assert (tmp_path / "empty/roles").is_dir()


def test_backup_replaces_a_previous_backup_atomically(tmp_path, client, monkeypatch):
    restore(client, write(tmp_path / "repo", REPO))
    target = tmp_path / "b"
    backup(client, target)
    before = tree(target)
    client.put("/roles/new", {})

    def broken(checksum):
        raise ServerError("connection lost", status=0)

    monkeypatch.setattr(client, "get_file", broken)
    with pytest.raises(ServerError, match="connection lost"):
        backup(client, target)
    assert tree(target) == before  # the previous backup is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "repo"]  # no temp leftovers
    monkeypatch.undo()
    backup(client, target)
    assert "roles/new.json" in tree(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "repo"]


_key = st.text(alphabet="abcdefghij_", min_size=1, max_size=6)
_name = st.text(alphabet="abcxyz0123-_.", min_size=1, max_size=8).filter(
    lambda s: s not in (".", ".."))
_scalar = (st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8)
           | st.floats(allow_nan=False, allow_infinity=False))
_attrs = st.recursive(_scalar, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(_key, inner, max_size=3), max_leaves=8)
_tree = st.dictionaries(_key, _attrs, max_size=3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(roles=st.dictionaries(_name, _tree, max_size=3),
       nodes=st.dictionaries(_name, st.tuples(_tree, _tree), max_size=3),
       items=st.dictionaries(_name, _tree, max_size=3),
       clients=st.dictionaries(_name, st.booleans(), max_size=2))
def test_round_trip_of_generated_documents(roles, nodes, items, clients):
    with ConfigServer(agent_pyz=b"") as one, ConfigServer(agent_pyz=b"") as two, \
            tempfile.TemporaryDirectory() as tmp:
        c1, c2 = Client(one.url, one.admin_token), Client(two.url, two.admin_token)
        for name, attrs in roles.items():
            c1.put(f"/roles/{name}", {"default_attributes": attrs, "description": name})
        for name, (normal, automatic) in nodes.items():
            c1.put(f"/nodes/{name}", {"normal": normal, "automatic": automatic})
        c1.post("/data", {"name": "bag"})
        for name, doc in items.items():
            c1.put(f"/data/bag/{name}", {**doc, "id": name})
        for name, validator in clients.items():
            one.store.create_client(name, validator=validator)
        first, second = Path(tmp, "first"), Path(tmp, "second")
        backup(c1, first)
        restore(c2, None, from_backup=first)
        backup(c2, second)
        assert tree(first) == tree(second)
        for name, attrs in roles.items():
            assert c2.get(f"/roles/{name}")["default_attributes"] == attrs
        for name, doc in items.items():
            assert c2.get(f"/data/bag/{name}") == {**doc, "id": name}


def test_bulk_bodies_split_by_size_and_keep_every_document():
    from harness.client import bulk_bodies

    groups = [("roles", "", {f"r{i}": {"description": "x" * i} for i in range(30)}),
              ("data", "users", {f"u{i}": {"id": f"u{i}"} for i in range(30)}),
              ("data", "empty", {})]
    bodies = bulk_bodies(groups, limit=200)
    assert len(bodies) > 5 and all(len(b) < 400 for b in bodies)
    merged: dict = {"roles": {}, "data": {}}
    for body in bodies:
        doc = json.loads(body)
        merged["roles"].update(doc.get("roles", {}))
        for bag, items in doc.get("data", {}).items():
            merged["data"].setdefault(bag, {}).update(items)
    assert merged == {"roles": groups[0][2], "data": {"users": groups[1][2], "empty": {}}}
    assert [json.loads(b) for b in bulk_bodies(groups)] == [
        {"roles": groups[0][2], "data": {"users": groups[1][2], "empty": {}}}]


def test_paused_gc_nests_and_restores_the_previous_state():
    import gc

    from harness.util import paused_gc

    assert gc.isenabled()
    with paused_gc():
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # it was off before: stays off
    finally:
        gc.enable()
