"""flip finds nodes like knife-flip; promote will not quietly pin an unpinned environment.

knife-flip (jonlives/knife-flip lib/chef/knife/nodeflip.rb at 7d3dddf): `knife node flip NODE
ENV` searches `fqdn:#{@node_name} OR name:#{@node_name}` and flips `result.first.first`.
knife-spork (jonlives/knife-spork lib/chef/knife/spork-promote.rb): `update_version_constraints`
always sets `environment.cookbook_versions[cookbook] = "= #{version}"`, even in an environment
that pins nothing.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.client import Client
from harness.restore import restore
from harness.server.serve import ConfigServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rollout_repo"


@pytest.fixture(scope="module")
def server():
    with ConfigServer(agent_pyz=b"not an agent") as srv:
        yield srv


@pytest.fixture
def client(server):
    client = Client(server.url, server.admin_token)
    restore(client, FIXTURES / "repo", from_backup=FIXTURES / "backup")
    for name, fqdn in (("zk-1", "zk-1.example.com"), ("i-0abc", "web-7.example.com"),
                       ("fresh", None)):
        automatic = {"fqdn": fqdn} if fqdn else {}
        client.post("/nodes", {"name": name, "chef_environment": "production",
                               "run_list": ["role[base]"], "automatic": automatic})
    yield client
    client.close()


@pytest.fixture
def flip(server, tmp_path):
    token = tmp_path / "admin.token"
    token.write_text(server.admin_token + "\n")
    return lambda *argv: main(["flip", *argv, "--server", server.url,
                               "--token-file", str(token)])


def _env(client, name: str) -> str:
    return str(client.get(f"/nodes/{name}")["chef_environment"])


def test_flip_finds_a_node_by_fqdn(client, flip, capsys):
    """knife-flip's query matches fqdn: a cloud node named i-0abc is flipped by its fqdn."""
    assert flip("web-7.example.com", "testing") == 0
    assert _env(client, "i-0abc") == "testing"
    assert capsys.readouterr().out.startswith("i-0abc: production -> testing")


def test_flip_still_finds_a_node_by_name_with_or_without_facts(client, flip):
    """`... OR name:X`: a node that never converged (no fqdn yet) is found by name."""
    assert flip("fresh", "testing") == 0 and flip("zk-1", "testing") == 0
    assert _env(client, "fresh") == _env(client, "zk-1") == "testing"


def test_flip_refuses_a_name_that_matches_two_nodes(client, flip, capsys):
    """knife-flip would flip whichever node search returns first; we stop and name both."""
    client.post("/nodes", {"name": "twin", "chef_environment": "production",
                           "run_list": ["role[base]"], "automatic": {"fqdn": "zk-1"}})
    assert flip("zk-1", "testing") == 2
    err = capsys.readouterr().err
    assert "'zk-1' matches several nodes by name or fqdn: twin, zk-1" in err
    assert _env(client, "zk-1") == _env(client, "twin") == "production"


def test_flip_names_what_it_could_not_find(client, flip, capsys):
    assert flip("nope.example.com", "testing") == 2
    assert "no node with the name or fqdn 'nope.example.com'" in capsys.readouterr().err


def test_promote_refuses_to_start_pinning_an_unpinned_environment(tmp_path, capsys):
    """knife spork promote would write `"zookeeper": "= 1.3.0"` into testing and freeze it;
    we refuse (exit 2, file untouched) unless --pin-unpinned says it is meant."""
    repo = Path(shutil.copytree(FIXTURES / "repo", tmp_path / "repo"))
    testing = repo / "environments" / "testing.json"
    before = testing.read_bytes()
    assert main(["promote", "testing", "zookeeper", "--repo", str(repo)]) == 2
    err = capsys.readouterr().err
    assert "environment testing pins no cookbooks" in err and "testing.json" in err
    assert "--pin-unpinned" in err
    assert testing.read_bytes() == before
    assert main(["promote", "testing", "zookeeper", "--pin-unpinned", "--repo", str(repo)]) == 0
    assert '"zookeeper": "= 1.3.0"' in testing.read_text()
