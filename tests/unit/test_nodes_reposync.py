"""`harness converge`'s sync over HTTP (reposync.py -> POST /_sync) against a real in-process
config server restored from a copy of a repo; and the store snapshot a kept cluster moves with."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.client import Client
from harness.errors import UsageError, ValidationError
from harness.nodes.reposync import sync_repo
from harness.restore import restore
from harness.server.serve import ConfigServer
from harness.server.snapshot import dump_store, load_store
from harness.server.store import Store

REPO = Path(__file__).resolve().parents[1] / "fixtures" / "repo_small"


@pytest.fixture
def world(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo, symlinks=True)
    with ConfigServer() as server:
        client = Client(server.url, server.admin_token)
        restore(client, repo)
        token = server.store.create_client("zk-1")
        server.store.put("node", "zk-1", {"chef_environment": "production",
                                          "run_list": ["role[zookeeper]"]})
        server.store.add_report("zk-1", {"status": "success", "changed": []})
        yield repo, server, client, token


def _sync(client: Client, repo: Path) -> str:
    return sync_repo(client, repo, from_backup=None, environment="production",
                     roles={"zookeeper"})


def _snapshot(store: Store) -> dict:
    dump = dump_store(store)
    return {k: v for k, v in dump.items() if k != "tokens"}


def test_an_edited_recipe_role_and_item_reach_the_server(world):
    repo, server, client, token = world
    recipe = repo / "cookbooks" / "zookeeper" / "recipes" / "default.py"
    recipe.write_text(recipe.read_text() + '\nfile("/etc/marker", content="x")\n')
    role = repo / "roles" / "zookeeper.yaml"
    role.write_text(role.read_text().replace("ZooKeeper", "ZooKeeper (edited)", 1))
    item = repo / "data_bags" / "secrets" / "zookeeper.json"
    item.write_text(item.read_text().replace('"id"', '"edited": true, "id"', 1))
    line = _sync(client, repo)
    assert line.startswith(f"synced {repo}: 1 of ") and "(1 files uploaded)" in line
    version = server.store.cookbook_versions("zookeeper")[0]
    checksums = {f["path"]: f["checksum"] for f in
                 server.store.manifest("zookeeper", version)["files"]}
    assert server.store.get_file(checksums["recipes/default.py"]).endswith(
        b'file("/etc/marker", content="x")\n')
    assert "(edited)" in server.store.get("role", "zookeeper")["description"]
    assert server.store.get_item("secrets", "zookeeper")["edited"] is True
    # the node, its client (token) and reports stay
    assert server.store.client_for_token(token)["name"] == "zk-1"
    assert server.store.get("node", "zk-1")["run_list"] == ["role[zookeeper]"]
    assert server.store.reports("zk-1") == [{"status": "success", "changed": []}]
    assert _sync(client, repo).startswith(f"synced {repo}: 0 of ")  # nothing new


@pytest.mark.parametrize("breakage, error, message", [
    (("roles/zookeeper.yaml", "run_list: [recipe[nope\n"), ValidationError, "invalid YAML"),
    (("cookbooks/zookeeper/recipes/default.py", "x = (\n"), ValidationError,
     "SyntaxError: '(' was never closed"),
    (("roles/zookeeper.yaml", None), UsageError, "the cluster's role 'zookeeper' is gone"),
])
def test_a_broken_repo_changes_nothing(world, breakage, error, message):
    repo, server, client, _ = world
    before = _snapshot(server.store)
    path, text = breakage
    if text is None:  # the role and the one node file that names it
        (repo / path).unlink()
        shutil.rmtree(repo / "nodes")
    else:
        with (repo / path).open("a") as f:
            f.write(text)
    with pytest.raises(error) as caught:
        _sync(client, repo)
    assert message in str(caught.value) and str(repo) in str(caught.value)
    assert _snapshot(server.store) == before


def test_snapshot_round_trip_keeps_tokens_search_files_and_reports(world):
    _, server, _, token = world
    copy = load_store(Store(), dump_store(server.store))
    assert dump_store(copy) == dump_store(server.store)
    assert copy.client_for_token(token)["name"] == "zk-1"
    query = "role:zookeeper OR name:zk-1"  # role: the nodes' own run lists (zk-legacy-1 too)
    assert [d["name"] for d in copy.search_docs("node", query)] == ["zk-1", "zk-legacy-1"]
    assert copy.search_docs("node", query) == server.store.search_docs("node", query)
    assert copy.policy("zk-1")["cookbook_versions"] == server.store.policy("zk-1")[
        "cookbook_versions"]
