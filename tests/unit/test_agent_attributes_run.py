"""Attribute writes in a whole agent run: later recipes and templates see them, a write to
the merged view fails the run naming recipe and line, node.normal is saved at the end.

Chef behaviour matched (chef/chef): recipes compile in run-list order with include_recipe
inline (lib/chef/run_context.rb), so a write is visible to everything compiled after it and to
every template rendered at converge time; lib/chef/node/immutable_collections.rb raises
ImmutableAttributeModification for `node["a"]["b"] = 1`; chef-client saves the node at the
end of a successful run (lib/chef/client.rb `save_updated_node`) with normal attributes kept
(lib/chef/node.rb Node#for_json), and normal attributes survive into the next run.
"""
from __future__ import annotations

import json

from test_agent_support import FakeApi, FakeRunner

from harness.agent.api import Api
from harness.agent.cookbooks import FileCache
from harness.agent.runner import Run
from harness.client import Client
from harness.restore import restore
from harness.server.serve import ConfigServer

FACTS = {"hostname": "db-1", "fqdn": "db-1.example.com", "ipaddress": "10.0.0.7"}


def db_api(tmp_path, wrapper: str, **kwargs) -> FakeApi:
    """wrap::default runs `wrapper`, then includes db::default which renders a template."""
    out = tmp_path / "out"
    books = {
        "db": {"recipes/default.py": (
            f"directory({str(out)!r})\n"
            "settings = node['db']\n"
            f"template({str(out / 'db.conf')!r}, source='db.conf.j2',\n"
            "         variables={'listen': settings['listen']})\n"),
            "templates/db.conf.j2": ("listen={{ listen }} port={{ node['db']['port'] }} "
                                     "ip={{ node.db.bind }}\n")},
        "wrap": {"recipes/default.py": wrapper + "include_recipe('db')\n"}}
    return FakeApi("db-1", cookbooks=books, recipes=["wrap::default"], **kwargs)


def run(api, tmp_path, *, why_run=False):
    lines: list[str] = []
    r = Run(api, "db-1", why_run=why_run, facts=dict(FACTS), cache=FileCache(tmp_path / "c"),
            run=FakeRunner(), out=lines.append)
    return r, r.execute(), lines


LEVELS = {"default": {"db": {"listen": "127.0.0.1", "port": 5432, "bind": "lo"}},
          "role_default": {"db": {"port": 6432}}}


def test_wrapper_default_write_reaches_the_included_recipe_and_its_template(tmp_path):
    api = db_api(tmp_path, "node.default['db']['listen'] = node['ipaddress']\n"
                           "node.default['db']['bind'] = 'eth0'\n"
                           "node.default['db']['port'] = 1\n")
    api.policy["attribute_levels"] = LEVELS
    r, report, _ = run(api, tmp_path)
    assert report["status"] == "success", report["failure"]
    # the role's default (6432) still beats the recipe's node.default (default level)
    assert (tmp_path / "out/db.conf").read_text() == "listen=10.0.0.7 port=6432 ip=eth0\n"
    assert r.ctx.node["db"]["listen"] == "10.0.0.7"


def test_write_to_the_merged_view_fails_the_run_naming_recipe_and_line(tmp_path):
    api = db_api(tmp_path, "x = 1\nnode['db']['listen'] = '0.0.0.0'\n")
    api.policy["attribute_levels"] = LEVELS
    _, report, lines = run(api, tmp_path)
    assert report["status"] == "failure"
    message = report["failure"]["message"]
    assert report["failure"]["resource"] == "recipe[wrap::default]"
    assert message.startswith("recipe wrap::default (wrap/recipes/default.py:2): "
                              "node['db']['listen'] is read-only"), message
    assert "node.default[...] = value" in message and "\n" not in message
    assert not (tmp_path / "out/db.conf").exists(), "nothing converged after the failure"
    assert api.puts == [], "a failed run saves nothing (client.rb converge_and_save)"


def test_normal_writes_are_saved_at_the_end_and_seen_by_the_next_run(tmp_path):
    api = db_api(tmp_path, "node.normal['db']['initialized_by'] = node.name\n"
                           "node.override['db']['port'] = 7000\n")
    api.policy["attribute_levels"] = LEVELS
    api.node_doc["normal"] = {"team": "dba"}
    _, report, _ = run(api, tmp_path)
    assert report["status"] == "success", report["failure"]
    [last] = [doc for path, doc in api.puts if path == "/nodes/db-1"]  # at the end only
    assert last["normal"] == {"team": "dba", "db": {"initialized_by": "db-1"}}
    assert last["default"] == {"db": {"listen": "127.0.0.1", "port": 6432, "bind": "lo"}}
    assert last["override"] == {"db": {"port": 7000}}
    assert last["automatic"]["ipaddress"] == "10.0.0.7"
    # the next run starts from the saved normal attributes (Chef: normal is never reset)
    api2 = db_api(tmp_path, "assert node['db']['initialized_by'] == 'db-1'\n")
    api2.policy["attribute_levels"] = LEVELS
    api2.node_doc = last
    _, report2, _ = run(api2, tmp_path)
    assert report2["status"] == "success", report2["failure"]


def test_why_run_never_saves_normal_writes(tmp_path):
    api = db_api(tmp_path, "node.normal['db']['x'] = 1\n")
    api.policy["attribute_levels"] = LEVELS
    r, report, _ = run(api, tmp_path, why_run=True)
    assert report["status"] == "success" and api.puts == []
    assert r.ctx.node["db"]["x"] == 1


def test_saved_normal_attributes_are_found_by_search(tmp_path):
    """The real server: a converge's node.normal write is saved (chef-client's end-of-run
    save) and indexed, so `search('node', 'db_initialized_by:db-1')` finds the node, as Chef
    search finds normal attributes (flattened with `_` between keys)."""
    repo = tmp_path / "repo"
    (repo / "roles").mkdir(parents=True)
    (repo / "roles/db.json").write_text(json.dumps({"name": "db", "run_list": ["recipe[db]"]}))
    book = repo / "site-cookbooks/db"
    (book / "recipes").mkdir(parents=True)
    (book / "metadata.yaml").write_text("name: db\nversion: 1.0.0\n")
    (book / "recipes/default.py").write_text("node.normal['db']['initialized_by'] = node.name\n"
                                              "log('initialized')\n")
    with ConfigServer() as srv:
        client = Client(srv.url, srv.admin_token)
        restore(client, repo)
        client.post("/nodes", {"name": "db-1", "chef_environment": "_default",
                               "run_list": ["role[db]"], "normal": {"team": "dba"}})
        report = Run(Api(srv.url, srv.admin_token), "db-1", facts=dict(FACTS),
                     cache=FileCache(tmp_path / "c"), out=lambda line: None).execute()
        assert report["status"] == "success", report["failure"]
        assert [n["name"] for n in client.search("node", "db_initialized_by:db-1")] == ["db-1"]
        assert client.get("/nodes/db-1")["normal"] == {"team": "dba",
                                                       "db": {"initialized_by": "db-1"}}
