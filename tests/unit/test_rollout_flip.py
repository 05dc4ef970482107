"""`harness flip` and its functions against the real in-process config server."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.client import Client
from harness.errors import NotFound, SolveError
from harness.restore import restore
from harness.rollout.flip import flip_node, matching_nodes, preview
from harness.server.serve import ConfigServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rollout_repo"
NODES = {"zk-1": ("production", ["role[zookeeper]"], ["base", "zookeeper"]),
         "zk-2": ("development", ["role[zookeeper]"], ["base", "zookeeper"]),
         "web-1": ("production", ["role[base]"], ["base"])}


@pytest.fixture(scope="module")
def server():
    with ConfigServer(agent_pyz=b"not an agent") as srv:
        yield srv


@pytest.fixture
def client(server, tmp_path):
    client = Client(server.url, server.admin_token)
    restore(client, FIXTURES / "repo", from_backup=FIXTURES / "backup")
    client.put("/environments/broken", {"name": "broken", "cookbook_versions": {"zookeeper": "= 9.9.9"}})
    for name, (env, run_list, roles) in NODES.items():
        client.post("/nodes", {"name": name, "chef_environment": env, "run_list": run_list,
                               "automatic": {"roles": roles, "fqdn": f"{name}.example.com"}})
    yield client
    client.close()


@pytest.fixture
def cli(server, tmp_path):
    token = tmp_path / "admin.token"
    token.write_text(server.admin_token + "\n")

    def run(*argv: str) -> int:
        return main(["flip", *argv, "--server", server.url, "--token-file", str(token)])
    return run


def _envs(client) -> dict[str, str]:
    return {name: client.get(f"/nodes/{name}")["chef_environment"] for name in NODES}


def test_preview_lists_changed_cookbooks(client):
    assert preview(client, "zk-1", "testing") == [("java", "1.0.0", "2.0.0"),
                                                  ("zookeeper", "1.0.0", "1.3.0")]
    assert preview(client, "zk-1", "development") == [("java", "1.0.0", "2.0.0"),
                                                      ("zookeeper", "1.0.0", "1.2.0")]
    assert preview(client, "web-1", "testing") == []
    assert _envs(client)["zk-1"] == "production"


def test_flip_node_moves_it_and_returns_the_changes(client):
    assert flip_node(client, "zk-1", "testing") == [("java", "1.0.0", "2.0.0"),
                                                    ("zookeeper", "1.0.0", "1.3.0")]
    assert _envs(client) == {"zk-1": "testing", "zk-2": "development", "web-1": "production"}
    node = client.get("/nodes/zk-1")
    assert node["run_list"] == ["role[zookeeper]"] and node["automatic"]["roles"] == ["base", "zookeeper"]
    assert flip_node(client, "zk-1", "production")[0] == ("java", "2.0.0", "1.0.0")


def test_functions_refuse_unknown_names_and_unsolvable_targets(client):
    with pytest.raises(NotFound, match="no node 'nope' on the server"):
        preview(client, "nope", "testing")
    with pytest.raises(NotFound, match="no environment 'staging' on the server"):
        flip_node(client, "zk-1", "staging")
    with pytest.raises(SolveError, match="zookeeper = 9.9.9"):
        flip_node(client, "zk-1", "broken")
    assert _envs(client)["zk-1"] == "production"


def test_matching_nodes(client):
    assert matching_nodes(client, role="zookeeper") == ["zk-1", "zk-2"]
    # knife role flip's `role:base` is the run list's role[base], not the expanded roles
    assert matching_nodes(client, role="base") == ["web-1"]
    assert matching_nodes(client, from_env="production") == ["web-1", "zk-1"]


def test_cli_flip_one_node(client, cli, capsys):
    assert cli("zk-1", "testing") == 0
    assert capsys.readouterr().out == ("zk-1: production -> testing\n  java 1.0.0 -> 2.0.0\n"
                                       "  zookeeper 1.0.0 -> 1.3.0\n")
    assert _envs(client)["zk-1"] == "testing"


def test_cli_preview_changes_nothing(client, cli, capsys):
    assert cli("web-1", "testing", "--preview") == 0
    assert capsys.readouterr().out == ("web-1: production -> testing (preview)\n"
                                       "  no cookbook version changes\n")
    assert _envs(client)["web-1"] == "production"


def test_cli_flip_by_role_and_by_environment(client, cli, capsys):
    assert cli("--role", "zookeeper", "testing") == 0
    assert _envs(client) == {"zk-1": "testing", "zk-2": "testing", "web-1": "production"}
    assert cli("--from-env", "testing", "development") == 0
    assert _envs(client) == {"zk-1": "development", "zk-2": "development", "web-1": "production"}
    out = capsys.readouterr().out
    assert "zk-1: testing -> development\n  zookeeper 1.3.0 -> 1.2.0\n" in out


@pytest.mark.parametrize("argv,message", [
    (["nope", "testing"], "no node with the name or fqdn 'nope' on the server"),
    (["zk-1", "staging"], "no environment 'staging' on the server"),
    (["zk-1", "broken"], "cannot satisfy zookeeper = 9.9.9"),
    (["--role", "zookeeper", "broken"], "cannot satisfy zookeeper = 9.9.9"),
    (["--role", "memcached", "testing"], "no nodes with role 'memcached'"),
    (["--from-env", "staging", "testing"], "no environment 'staging' on the server"),
    (["zk-1"], "flip needs NODE ENV"),
    (["--role", "zookeeper", "zk-1", "testing"], "give only the target environment"),
    (["../x", "testing"], "bad node name '../x'"),
])
def test_cli_bad_input_exits_2_and_changes_nothing(client, cli, capsys, argv, message):
    before = _envs(client)
    assert cli(*argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("harness: ") and message in err
    assert _envs(client) == before


def test_cli_bad_token_file(cli, server, capsys, tmp_path):
    assert main(["flip", "zk-1", "testing", "--server", server.url,
                 "--token-file", str(tmp_path / "missing")]) == 2
    assert "token file not found" in capsys.readouterr().err
