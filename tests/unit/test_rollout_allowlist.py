"""Allowlists: fnmatch semantics of in_allowlist, and `harness allowlist add|remove`."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.rollout.allowlist import in_allowlist

FIXTURE = Path(__file__).parent.parent / "fixtures" / "rollout_repo" / "repo"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "repo"))


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("pattern,fqdn,expected", [
    ("web01.example.com", "web01.example.com", True),
    ("web01.example.com", "web01Xexample.com", False),      # a dot is a dot, not "any char"
    ("web*", "web01.prod.example.com", True),                # * crosses dots (no path rules)
    ("*.example.com", "example.com", False),
    ("web0?.example.com", "web07.example.com", True),
    ("web0?.example.com", "web10.example.com", False),
    ("web0[1-3].*", "web02.example.com", True),
    ("web0[1-3].*", "web04.example.com", False),
    ("web0[!1-3].*", "web04.example.com", True),
    ("Web*", "web01.example.com", False),                    # case-sensitive
    ("web*", "WEB01.example.com", False),
    ("*", "anything.at.all", True),
    ("web01", "web01.example.com", False),                   # whole-name match only
])
def test_in_allowlist_patterns(pattern, fqdn, expected):
    assert in_allowlist({"id": "x", "patterns": [pattern]}, fqdn) is expected


def test_in_allowlist_roles_key_and_shapes():
    item = {"id": "x", "patterns": ["db*"], "roles": ["canary"], "hosts": ["web1*"]}
    assert in_allowlist(item, "web1.example.com", ["base", "canary"])
    assert not in_allowlist(item, "web1.example.com", ["base", "canary-2"])  # roles are exact
    assert not in_allowlist(item, "web1.example.com", [])
    assert in_allowlist(item, "web1.example.com", [], key="hosts")
    assert in_allowlist({"patterns": "web*"}, "web1")                        # bare string
    assert not in_allowlist({"id": "x"}, "web1") and not in_allowlist({"patterns": None}, "web1")


def test_add_appends_keeping_layout(repo):
    path = repo / "data_bags/allowlist/new_zk.json"
    before = path.read_text()
    assert main(["allowlist", "add", "new_zk", "zk0[4-6].example.com", "--repo", str(repo)]) == 0
    after = before.replace('"zk0[1-3].example.com"\n',
                           '"zk0[1-3].example.com",\n    "zk0[4-6].example.com"\n')
    assert path.read_text() == after != before


def test_add_creates_item_and_bag(repo, capsys):
    assert main(["allowlist", "add", "php8", "web*", "--bag", "flags", "--repo", str(repo)]) == 0
    path = repo / "data_bags/flags/php8.json"
    assert json.loads(path.read_text()) == {"id": "php8", "patterns": ["web*"]}
    assert "created" in capsys.readouterr().out


def test_add_twice_is_a_no_op(repo, capsys):
    before = _snapshot(repo)
    assert main(["allowlist", "add", "new_zk", "zookeeper-1.*", "--repo", str(repo)]) == 0
    assert _snapshot(repo) == before and "already" in capsys.readouterr().out


def test_add_to_yaml_item_without_patterns(repo):
    path = repo / "data_bags/allowlist/canary.yaml"
    path.write_text("id: canary\n# only roles so far\nroles:\n  - canary\n")
    assert main(["allowlist", "add", "canary", "web1?", "--repo", str(repo)]) == 0
    assert path.read_text() == "id: canary\n# only roles so far\nroles:\n  - canary\npatterns:\n  - web1?\n"


def test_remove_keeps_layout(repo):
    path = repo / "data_bags/allowlist/new_zk.json"
    assert main(["allowlist", "remove", "new_zk", "zookeeper-1.*", "--repo", str(repo)]) == 0
    assert path.read_text() == ('{\n  "id": "new_zk",\n  "patterns": [\n    "zk0[1-3].example.com"\n'
                                '  ],\n  "roles": ["canary"]\n}\n')
    assert main(["allowlist", "remove", "new_zk", "zk0[1-3].example.com", "--repo", str(repo)]) == 0
    assert json.loads(path.read_text())["patterns"] == []


@pytest.mark.parametrize("argv,message", [
    (["remove", "new_zk", "nope*"], "pattern 'nope*' is not in allowlist new_zk"),
    (["remove", "missing", "x"], "no allowlist 'missing'"),
    (["add", "new_zk", ""], "empty allowlist pattern"),
    (["add", "new_zk", "web 01"], "contains whitespace"),
    (["add", "new_zk", "web\t01"], "contains whitespace"),
    (["add", "new_zk", "web[01"], "unclosed '['"),
    (["add", "../etc", "x"], "bad allowlist name '../etc'"),
    (["add", "new_zk", "x", "--bag", "a/b"], "bad data bag name 'a/b'"),
    (["add", "broken", "x"], "broken.json: malformed allowlist item: 'patterns' must be a list"),
    (["add", "wrongid", "x"], "wrongid.json: item id 'other' does not match"),
    (["add", "badjson", "x"], "badjson.json:2: not valid JSON"),
])
def test_bad_input_exits_2_with_one_line_and_touches_nothing(repo, capsys, argv, message):
    bag = repo / "data_bags/allowlist"
    (bag / "broken.json").write_text('{"id": "broken", "patterns": "web*"}\n')
    (bag / "wrongid.json").write_text('{"id": "other", "patterns": []}\n')
    (bag / "badjson.json").write_text('{"id": "badjson",\n "patterns": [}\n')
    before = _snapshot(repo)
    assert main(["allowlist", *argv, "--repo", str(repo)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("harness: ") and message in err
    assert _snapshot(repo) == before


def test_add_outside_a_repo_is_refused(tmp_path, capsys):
    assert main(["allowlist", "add", "x", "web*", "--repo", str(tmp_path)]) == 2
    assert "does not look like a config repo" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


PARITY_ITEMS = [{"id": "x", "patterns": [p]} for p in (
    "web01.example.com", "web*", "*.example.com", "web0?.example.com", "web0[1-3].*",
    "web0[!1-3].*", "Web*", "*")] + [
    {"id": "x", "patterns": ["db*"], "roles": ["canary"]}, {"id": "x", "patterns": "web*"},
    {"id": "x"}, {"id": "x", "patterns": None, "roles": None}]
PARITY_NODES = [("web01.example.com", []), ("web04.example.com", ["canary"]),
                ("WEB01.example.com", ["base"]), ("web01Xexample.com", []), ("example.com", [])]


@pytest.mark.parametrize("item", PARITY_ITEMS)
def test_agent_copy_agrees(item):
    """The agent ships its own in_allowlist; both must answer every case the same way."""
    from harness.agent.node import Node

    for fqdn, roles in PARITY_NODES:
        node = Node("n1", "production", {"fqdn": fqdn}, roles=roles, recipes=[],
                    data_bag_item=lambda bag, name: item)
        assert node.in_allowlist("x") is in_allowlist(item, fqdn, roles), (fqdn, roles)
