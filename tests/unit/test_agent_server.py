"""The agent against the real in-process config server: register + converge with the zipapp
on a bare python (as nodes run it), and why_run() in-process (the unit-test layer)."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from test_agent_build import bare_python

from harness.agent.build import agent_zipapp_bytes
from harness.agent.errors import RecipeError
from harness.agent.runner import why_run
from harness.client import Client
from harness.repo.encrypted import encrypt_item
from harness.restore import restore
from harness.server.serve import ConfigServer

SECRET = b"s3kr1t\n"


def write_repo(root: Path, out: Path, recipe_tail: str = "") -> Path:
    """A one-role repo whose recipe writes under `out`, searches and reads a secret."""
    (root / "roles").mkdir(parents=True)
    (root / "roles/web.json").write_text(json.dumps({
        "name": "web", "run_list": ["recipe[web]"],
        "default_attributes": {"web": {"port": 8080}}}))
    (root / "environments").mkdir()
    (root / "environments/production.json").write_text(json.dumps({
        "name": "production", "cookbook_versions": {"web": "= 1.0.0"},
        "override_attributes": {"web": {"workers": 4}}}))
    book = root / "site-cookbooks/web"
    (book / "recipes").mkdir(parents=True)
    (book / "templates").mkdir()
    (book / "files").mkdir()
    (book / "metadata.yaml").write_text("name: web\nversion: 1.0.0\n")
    (book / "files/index.html").write_text("<h1>hi</h1>\n")
    (book / "recipes/default.py").write_text(
        f"directory({str(out)!r}, mode='0755')\n"
        "peers = search('node', 'roles:web')\n"
        "creds = data_bag_item('secrets', 'db')\n"
        f"template({str(out / 'web.conf')!r}, source='web.conf.j2', mode='0640',\n"
        "         variables={'peers': [p['name'] for p in peers], 'pw': creds['password']})\n"
        f"cookbook_file({str(out / 'index.html')!r}, source='index.html')\n" + recipe_tail)
    (book / "templates/web.conf.j2").write_text(
        "port={{ node.web.port }} workers={{ node['web']['workers'] }}\n"
        "{% for p in peers %}peer={{ p }}\n{% endfor %}pw={{ pw }}\n")
    (root / "data_bags/secrets").mkdir(parents=True)
    (root / "data_bags/secrets/db.json").write_text(
        json.dumps(encrypt_item({"id": "db", "password": "pw1"}, SECRET)))
    return root


@pytest.fixture
def server():
    with ConfigServer(agent_pyz=agent_zipapp_bytes) as srv:
        yield srv


def install_agent(tmp_path: Path, server: ConfigServer) -> None:
    """What the bootstrap does first: a validator token, the served zipapp, agent.json."""
    validator = Client(server.url, server.admin_token).post(
        "/clients", {"name": "validator", "validator": True})["token"]
    (tmp_path / "validator.token").write_text(validator)
    (tmp_path / "agent.pyz").write_bytes(
        Client(server.url, validator).request("GET", "/agent/agent.pyz"))
    (tmp_path / "secret").write_bytes(SECRET)
    (tmp_path / "agent.json").write_text(json.dumps({
        "server_url": server.url, "node_name": "web-1",
        "token_file": str(tmp_path / "client.token"),
        "secret_file": str(tmp_path / "secret"), "cache_dir": str(tmp_path / "cache"),
        "file_backup_path": str(tmp_path / "backup"),   # not the host's /var/chef
        "file_cache_path": str(tmp_path / "chef-cache")}))


def agent(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the served zipapp as nodes do, on a python that cannot see the venv."""
    return subprocess.run([*bare_python(), str(tmp_path / "agent.pyz"), args[0], "--config",
                           str(tmp_path / "agent.json"), *args[1:]], capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})


def register(tmp_path: Path) -> subprocess.CompletedProcess:
    return agent(tmp_path, "register", "--validator-token-file",
                 str(tmp_path / "validator.token"), "--environment", "production",
                 "--run-list", "role[web]")


def test_register_converge_idempotent_and_reports(tmp_path, server):
    out = tmp_path / "out"
    admin = Client(server.url, server.admin_token)
    restore(admin, write_repo(tmp_path / "repo", out))
    install_agent(tmp_path, server)
    done = register(tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "client.token").stat().st_mode & 0o777 == 0o600
    assert register(tmp_path).returncode == 0, "registering twice is fine"
    node = admin.get("/nodes/web-1")
    assert (node["chef_environment"], node["run_list"]) == ("production", ["role[web]"])

    first = agent(tmp_path, "converge", "--json")
    assert first.returncode == 0, first.stderr
    # the node is saved only after its first converge succeeded (client.rb
    # converge_and_save), so that converge's own search does not find it yet
    assert (out / "web.conf").read_text() == "port=8080 workers=4\npw=pw1\n"
    assert (out / "index.html").read_text() == "<h1>hi</h1>\n"
    report = json.loads(first.stdout.strip().splitlines()[-1])
    assert report["status"] == "success" and len(report["changed"]) == 3
    assert report["searches"] == [{"index": "node", "query": "roles:web", "names": []}]
    assert "  * template[" in first.stdout

    second = agent(tmp_path, "converge", "--json")
    assert (out / "web.conf").read_text() == "port=8080 workers=4\npeer=web-1\npw=pw1\n"
    assert json.loads(second.stdout.strip().splitlines()[-1])["changed"] == [
        f"template[{out}/web.conf]"]
    # the replaced content is backed up where agent.json's file_backup_path says (Chef's
    # client.rb setting; /var/chef/backup by default)
    (kept,) = (tmp_path / "backup").rglob("web.conf.chef-*")
    assert kept.read_text() == "port=8080 workers=4\npw=pw1\n"
    third = agent(tmp_path, "converge", "--json")
    assert json.loads(third.stdout.strip().splitlines()[-1])["changed"] == []
    reports = admin.get("/reports/nodes/web-1/runs")
    assert [r["status"] for r in reports] == ["success", "success", "success"]
    saved = admin.get("/nodes/web-1")
    assert saved["automatic"]["roles"] == ["web"] and saved["automatic"]["ipaddress"]
    assert [r["name"] for r in admin.search("node", "web_workers:4")] == ["web-1"]
    assert [r["name"] for r in admin.search("node", "recipes:web")] == ["web-1"]


def test_failing_resource_exits_1_and_posts_a_failure(tmp_path, server):
    out = tmp_path / "out"
    admin = Client(server.url, server.admin_token)
    restore(admin, write_repo(tmp_path / "repo", out,
                              "execute('fail', command='echo oops >&2; exit 7')\n"))
    install_agent(tmp_path, server)
    assert register(tmp_path).returncode == 0
    done = agent(tmp_path, "converge")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "FAILED: execute[fail]: command exited 7: echo oops >&2; exit 7 | oops "
        "(declared at web/recipes/default.py:7)")
    [report] = admin.get("/reports/nodes/web-1/runs")
    assert report["failure"]["resource"] == "execute[fail]"


def test_why_run_in_process_lists_and_renders_without_touching(tmp_path, server):
    out = tmp_path / "out"
    admin = Client(server.url, server.admin_token)
    restore(admin, write_repo(tmp_path / "repo", out))
    admin.put("/nodes/web-1", {"name": "web-1", "chef_environment": "production",
                               "run_list": ["role[web]"]})
    node_token = admin.post("/clients", {"name": "web-1"})["token"]
    listed = why_run(server.url, node_token, "web-1", {"web": {"ignored": 1}}, secret=SECRET)
    assert [(r["resource"], r["action"]) for r in listed] == [
        (f"directory[{out}]", "create"), (f"template[{out}/web.conf]", "create"),
        (f"cookbook_file[{out}/index.html]", "create")]
    template = listed[1]["properties"]
    assert template["content"] == "port=8080 workers=4\npw=pw1\n", "not saved: no peers"
    assert template["mode"] == "0640" and template["cookbook"] == "web"
    assert not out.exists() and admin.get("/reports/nodes/web-1/runs") == []
    with pytest.raises(RecipeError, match="secrets/db is encrypted but the agent has no"):
        why_run(server.url, node_token, "web-1")


def test_why_run_raises_recipe_errors(tmp_path, server):
    admin = Client(server.url, server.admin_token)
    restore(admin, write_repo(tmp_path / "repo", tmp_path / "out", "node['nope']\n"))
    admin.put("/nodes/web-1", {"name": "web-1", "chef_environment": "production",
                               "run_list": ["role[web]"]})
    token = admin.post("/clients", {"name": "web-1"})["token"]
    with pytest.raises(RecipeError, match=r"web/recipes/default.py:7\): attribute "
                                          r"node\['nope'\] is not set"):
        why_run(server.url, token, "web-1", secret=SECRET)


def test_why_run_reports_bad_notification_targets_and_templates(tmp_path, server):
    admin = Client(server.url, server.admin_token)
    restore(admin, write_repo(tmp_path / "repo", tmp_path / "out",
                              "file('/tmp/x', notifies=[('restart', 'service[nope]')])\n"))
    admin.put("/nodes/web-1", {"name": "web-1", "chef_environment": "production",
                               "run_list": ["role[web]"]})
    with pytest.raises(RecipeError, match=r"file\[/tmp/x\]: notifies restart on "
                                          r"service\[nope\], which is not declared"):
        why_run(server.url, server.admin_token, "web-1", secret=SECRET)
