"""The author's loop against real Docker, as a user runs it: `harness up`, edit the repo,
`harness converge` (no --repo, from another directory), `harness verify`, `harness down`."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.client import Client
from tests.integration.nodes_support import NODE_REPO, leftovers

pytestmark = pytest.mark.docker

SPEC = '''
import pytest

pytestmark = pytest.mark.cluster(web=1)


def test_edits_arrived(host, report, policy):
    assert host.file("/etc/marker").content_string == "edited\\n"
    assert host.file("/etc/motd-loop").content_string == "two\\n"
    assert "hello from the edited role" in host.file("/srv/webapp/index.html").content_string
    assert report["status"] == "success" and policy["run_list"] == ["role[web]"]


def test_cluster_view(cluster, hosts_by_role):
    assert list(cluster.nodes) == ["web-1"] and len(hosts_by_role["web"]) == 1
    assert cluster.exec("web-1", "hostname") == (0, "web-1\\n")
'''


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(NODE_REPO, repo)  # the bootstrap symlink becomes a copy
    (repo / "data_bags" / "app").mkdir(parents=True)
    (repo / "data_bags" / "app" / "config.json").write_text('{"id": "config", "motd": "one"}\n')
    recipe = repo / "site-cookbooks" / "webapp" / "recipes" / "default.py"
    recipe.write_text(recipe.read_text() + '\nfile("/etc/motd-loop", content=data_bag_item('
                      '"app", "config")["motd"] + "\\n", mode="0644")\n')
    (repo / "role_specs").mkdir()
    (repo / "role_specs" / "test_web.py").write_text(SPEC)
    return repo


def test_edit_converge_verify(engine, base_image, tmp_path):
    repo = _repo(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"))

    def harness(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=elsewhere,
                              env=env, capture_output=True, text=True, timeout=300)

    up = harness("up", "web", "--repo", str(repo), "--image", base_image, "--name", "loop")
    assert up.returncode == 0, up.stdout + up.stderr
    directory = tmp_path / "state" / "harness" / "clusters" / "loop"
    state = json.loads((directory / "state.json").read_text())
    container = state["nodes"]["web-1"]["container"]
    client = Client(state["server_url"], (directory / "admin.token").read_text().strip())
    try:
        recipe = repo / "site-cookbooks" / "webapp" / "recipes" / "default.py"
        recipe.write_text(recipe.read_text() + 'file("/etc/marker", content="edited\\n")\n')
        role = repo / "roles" / "web.yaml"
        role.write_text(role.read_text().replace("hello from the web role",
                                                 "hello from the edited role"))
        (repo / "data_bags" / "app" / "config.json").write_text('{"id": "config", "motd": "two"}')
        conv = harness("converge")
        assert conv.returncode == 0, conv.stdout + conv.stderr
        assert "synced " in conv.stdout and "web-1: converged in " in conv.stdout
        for resource in ("file[/etc/marker]", "file[/etc/motd-loop]",
                         "template[/srv/webapp/index.html]"):
            assert f"\n  {resource}" in conv.stdout, conv.stdout
        assert engine.exec(container, ["cat", "/etc/marker"]) == (0, "edited\n")

        # a broken repo: one line naming the file, exit 2, the server and the node untouched
        good_role, runs = client.get("/roles/web"), len(client.get("/reports/nodes/web-1/runs"))
        role.write_text(role.read_text() + "run_list: [recipe[nope\n")
        broken = harness("converge")
        assert broken.returncode == 2 and broken.stdout == "", broken.stdout
        assert len(broken.stderr.strip().splitlines()) == 1
        assert broken.stderr.startswith(f"harness: {role}:"), broken.stderr
        assert client.get("/roles/web") == good_role
        assert len(client.get("/reports/nodes/web-1/runs")) == runs  # no converge ran
        role.write_text(role.read_text().replace("run_list: [recipe[nope\n", ""))

        before = sorted(lab["id"] for lab in engine.labelled())
        verify = harness("verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "2 passed" in verify.stdout
        assert sorted(lab["id"] for lab in engine.labelled()) == before  # no container made

        listed = harness("list").stdout
        assert f"loop  repo {repo}  env _default  platform bookworm" in listed, listed
        assert "web-1" in listed and "verify" in listed
    finally:
        down = harness("down")
    assert down.returncode == 0, down.stderr
    assert leftovers(engine, state["session"]) == [] and not directory.exists()
