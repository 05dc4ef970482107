"""Issue 14 items 2, 3, 4 and 6, on the repo side: `harness validate` checks what the server
checks (harness.repo.limits), so a repo that validates restores, and what the server stores
backs up and restores again.

Each test reproduces the report: before, the repo validated and the server refused it (or
stored it, then failed every later answer).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from harness.cli import main
from harness.client import Client
from harness.errors import ServerError, UsageError, ValidationError
from harness.repo import load_repo
from harness.repo.limits import MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_NAME
from harness.restore import backup, restore
from harness.rollout.allowlist import add_pattern
from harness.server.serve import ConfigServer
from tests.unit.test_restore_roundtrip import REPO, write


@pytest.fixture
def client():
    with ConfigServer(agent_pyz=b"PYZ") as srv:
        yield Client(srv.url, srv.admin_token)


def problems(root: Path) -> list[str]:
    with pytest.raises(ValidationError) as err:
        load_repo(root)
    return [str(p) for p in err.value.problems]


def validate(capsys, root: Path) -> tuple[int, str]:
    code = main(["validate", "--repo", str(root)])
    return code, capsys.readouterr().err


# --- item 2: a lone surrogate -------------------------------------------------------------------
@pytest.mark.parametrize("rel, text, message", [
    ("nodes/n.json", '{"normal": {"x": "\\ud800"}}', "lone surrogate"),
    ("roles/r.yaml", 'description: "\\ud800"\n', "invalid Unicode"),  # PyYAML refuses it
    ("data_bags/b/i.json", '{"id": "i", "\\udfff": 1}', "lone surrogate"),
    ("site-cookbooks/c/attributes/default.json", '{"a": ["\\ud800"]}', "lone surrogate"),
])
def test_a_lone_surrogate_in_a_repo_file_is_refused(tmp_path, capsys, rel, text, message):
    repo = write(tmp_path / "repo", {rel: text,
                                     "site-cookbooks/c/metadata.json": '{"name": "c", '
                                                                       '"version": "1.0.0"}'})
    code, err = validate(capsys, repo)
    assert code == 2 and f"{repo / rel}" in err and message in err


def test_a_surrogate_pair_escape_is_fine(tmp_path):
    repo = write(tmp_path / "repo", {"roles/r.json": '{"description": "\\ud83d\\ude00"}'})
    assert load_repo(repo).roles["r"]["description"] == "\U0001F600"


# --- item 3: validate checks what the server checks ----------------------------------------------
def test_a_data_bag_named_like_a_search_index_is_refused(tmp_path):
    repo = write(tmp_path / "repo", {"data_bags/node/flag.json": '{"id": "flag"}'})
    assert any("built-in search index" in p and "data_bags/node" in p for p in problems(repo))
    with pytest.raises(UsageError, match="built-in search index"):
        add_pattern(repo, "flag", "web*", bag="node")


def test_a_document_over_the_servers_limit_is_refused(tmp_path, client):
    big = {"name": "r", "description": "x" * MAX_DOCUMENT_BYTES}
    repo = write(tmp_path / "repo", {"roles/r.json": json.dumps(big)})
    assert any("roles/r.json" in p and "limit is" in p for p in problems(repo))
    with pytest.raises(ServerError, match="limit is"):
        client.put("/roles/r", big)


def test_a_document_just_under_the_limit_validates_and_restores(tmp_path, client):
    fill = MAX_DOCUMENT_BYTES - 2048
    repo = write(tmp_path / "repo", {"roles/r.yaml": f"description: {'x' * fill}\n"})
    restore(client, repo)
    assert len(client.get("/roles/r")["description"]) == fill


@pytest.mark.parametrize("item, message", [
    ({"id": "a", "patterns": 5}, "'patterns' must be a list of strings"),
    ({"id": "a", "patterns": ["app-[12"]}, "unclosed '['"),
    ({"id": "a", "patterns": ["web 1"]}, "whitespace"),
    ({"id": "a", "roles": [1]}, "'roles' must be a list of strings"),
])
def test_a_malformed_allowlist_item_is_refused(tmp_path, item, message):
    repo = write(tmp_path / "repo", {"data_bags/allowlist/a.json": json.dumps(item)})
    assert any(message in p and "allowlist/a.json" in p for p in problems(repo))


def test_a_well_formed_allowlist_item_validates(tmp_path):
    """docs/rollouts.md: a bare string counts as a one-element list; `[!1-3]` is a class."""
    repo = write(tmp_path / "repo", {"data_bags/allowlist/a.json": json.dumps(
        {"id": "a", "patterns": "web[!1-3].*", "roles": ["canary"]})})
    assert load_repo(repo).data_bags["allowlist"]["a"]["patterns"] == "web[!1-3].*"


# --- item 4: symlinks --------------------------------------------------------------------------
def test_a_symlink_out_of_the_repo_is_refused(tmp_path, capsys, client):
    repo = write(tmp_path / "repo", REPO)
    os.symlink("/etc/passwd", repo / "site-cookbooks/base/files/passwd")
    code, err = validate(capsys, repo)
    assert code == 2 and "files/passwd: symlink to /etc/passwd, outside" in err
    with pytest.raises(ValidationError, match="outside"):
        restore(client, repo)
    assert client.get("/cookbooks") == {}


def test_symlinked_documents_and_bags_out_of_the_repo_are_refused(tmp_path):
    outside = write(tmp_path / "host", {"secret/x.json": '{"id": "x", "password": "p"}',
                                        "role.json": "{}"})
    repo = write(tmp_path / "repo", {"roles/.keep": ""})
    os.symlink(outside / "role.json", repo / "roles/r.json")
    (repo / "data_bags").mkdir()
    os.symlink(outside / "secret", repo / "data_bags/secret")
    found = problems(repo)
    assert any("roles/r.json: symlink to" in p for p in found)
    assert any("data_bags/secret: symlink to" in p for p in found)


def test_a_symlink_loop_is_a_problem_not_a_traceback(tmp_path, capsys):
    repo = write(tmp_path / "repo", REPO)
    files = repo / "site-cookbooks/base/files"
    os.symlink("loop", files / "loop")
    os.symlink("..", files / "up")
    code, err = validate(capsys, repo)
    assert code == 2 and "Traceback" not in err
    assert "files/loop: symlink loop" in err and "files/up: symlink to a directory already" in err


def test_a_symlink_inside_the_repo_is_read(tmp_path, client):
    repo = write(tmp_path / "repo", dict(REPO, **{"shared/motd": "shared\n"}))
    os.symlink(repo / "shared/motd", repo / "site-cookbooks/base/files/shared_motd")
    restore(client, repo)
    files = client.get("/cookbooks/base/1.0.0")["files"]
    assert "files/shared_motd" in [f["path"] for f in files]


# --- item 6: one set of limits at the server's door and in validate ------------------------------
def test_a_long_name_is_refused_by_both(tmp_path, client):
    name = "n" * (MAX_NAME + 1)
    with pytest.raises(ServerError, match=f"{MAX_NAME + 1} characters, the limit is {MAX_NAME}"):
        client.put(f"/nodes/{name}", {})
    repo = write(tmp_path / "repo", {f"nodes/{name}.json": "{}"})
    assert any(f"the limit is {MAX_NAME}" in p for p in problems(repo))
    client.put(f"/nodes/{'n' * MAX_NAME}", {})


def _nested(levels: int) -> dict[str, object]:
    doc: dict[str, object] = {}
    for _ in range(levels):
        doc = {"a": doc}
    return doc


def test_nesting_has_one_limit_and_what_the_server_takes_backs_up_and_restores(tmp_path, client):
    # the document is level 0, normal level 1: MAX_DEPTH - 1 more levels fit, one more does not
    client.put("/nodes/deep", {"normal": _nested(MAX_DEPTH - 1)})
    with pytest.raises(ServerError, match="nested deeper"):
        client.put("/nodes/deeper", {"normal": _nested(MAX_DEPTH)})
    repo = write(tmp_path / "repo", {"nodes/deeper.json": json.dumps(
        {"normal": _nested(MAX_DEPTH)})})
    assert any("nested deeper" in p for p in problems(repo))
    backup(client, tmp_path / "backup")
    restore(client, None, from_backup=tmp_path / "backup")
    assert client.get("/nodes/deep")["normal"] == _nested(MAX_DEPTH - 1)


def test_a_file_and_a_directory_of_the_same_path_are_refused(client):
    data = b"x"
    sha = hashlib.sha256(data).hexdigest()
    client.put_files({sha: data})
    manifest = {"files": [{"path": "files/a", "checksum": sha, "size": 1},
                          {"path": "files/a/b", "checksum": sha, "size": 1}]}
    with pytest.raises(ServerError, match="files/a is listed as a file and as a directory"):
        client.put("/cookbooks/c/1.0.0", manifest)


def test_a_long_cookbook_version_is_refused_by_both(tmp_path, client):
    version = "1.2." + "3" * 60
    repo = write(tmp_path / "repo", {"site-cookbooks/c/metadata.json": json.dumps(
        {"name": "c", "version": version})})
    assert any("the limit is 50" in p for p in problems(repo))
    with pytest.raises(ServerError, match="at most 50 characters"):
        client.put(f"/cookbooks/c/{version}", {"files": []})
