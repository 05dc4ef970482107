"""When and what the agent saves of the node, pinned to chef-client (chef/chef 19.4.14).

- lib/chef/client.rb converge_and_save: "converge() ... then save it if successful. If
  converge() raises it is important that save_updated_node is bypassed"; save_updated_node
  (`node.save`) is the only save of a run (Node.find_or_create POSTs an empty node only when
  none exists, and the harness registers nodes first).
- lib/chef/node.rb save / for_json: PUTs the node object as the run holds it, so its
  chef_environment and run_list are those loaded at the start of the run.
- lib/chef/run_context.rb load_recipe -> node.rb loaded_recipe: every loaded recipe,
  include_recipe's too, is appended to automatic `recipes` as "cookbook::recipe".
- lib/chef/dsl/data_query.rb data_bag_item: a new DataBagItem.load per call.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_agent_support import FakeApi, FakeRunner

from harness.agent.cookbooks import FileCache
from harness.agent.runner import Run
from harness.server.store import Store
from harness.unit.store import StoreApi, seed

FACTS = {"hostname": "app-1", "fqdn": "app-1", "ipaddress": "10.0.0.9"}


def repo_store(tmp_path: Path, recipes: dict[str, str]) -> Store:
    """A Store holding a one-cookbook repo (role app -> recipe[app]) and node app-1."""
    root = tmp_path / "repo"
    (root / "roles").mkdir(parents=True)
    (root / "roles/app.json").write_text(json.dumps({"name": "app",
                                                     "run_list": ["recipe[app]"]}))
    (root / "environments").mkdir()
    for env in ("staging", "production"):
        (root / f"environments/{env}.json").write_text(json.dumps({"name": env}))
    book = root / "site-cookbooks/app"
    (book / "recipes").mkdir(parents=True)
    (book / "metadata.yaml").write_text("name: app\nversion: 1.0.0\n")
    for name, text in recipes.items():
        (book / f"recipes/{name}.py").write_text(text)
    store = seed(root, None).store()
    store.put("node", "app-1", {"name": "app-1", "chef_environment": "staging",
                                "run_list": ["role[app]"], "normal": {}, "default": {},
                                "override": {}, "automatic": {}})
    return store


def converge(api: Any, tmp_path: Path, runner: FakeRunner | None = None,
             facts: dict[str, Any] | None = None) -> dict[str, Any]:
    return Run(api, "app-1", facts=dict(facts or FACTS), cache=FileCache(tmp_path / "cache"),
               run=runner or FakeRunner(), out=lambda line: None).execute()


def names(store: Store, query: str) -> list[str]:
    return [json.loads(doc)["name"] for doc in store.search("node", query, 0, 100)[1]]


def test_a_run_that_fails_in_compile_saves_nothing_so_peers_do_not_find_the_node(tmp_path):
    """client.rb converge_and_save: the save is bypassed when the run raises, and the compile
    phase is part of it. The node keeps `automatic == {}`, so `roles:app` finds nothing and
    no peer puts its address in a config."""
    store = repo_store(tmp_path, {"default": "x = node['nope']\n"})
    report = converge(StoreApi(store), tmp_path)
    assert report["status"] == "failure"
    assert store.get("node", "app-1")["automatic"] == {}
    assert names(store, "roles:app") == [] and names(store, "ipaddress:10.0.0.9") == []


def test_a_failed_converge_leaves_the_last_good_run_on_the_server(tmp_path):
    """A run whose resource fails saves nothing: the server keeps the previous run's facts
    and attributes (client.rb converge_and_save)."""
    store = repo_store(tmp_path, {"default": (
        "node.normal['app']['runs'] = node['app']['runs'] + 1 if 'app' in node else 1\n"
        "execute('migrate', command='./migrate')\n")})
    assert converge(StoreApi(store), tmp_path)["status"] == "success"
    good = store.get("node", "app-1")
    assert good["normal"] == {"app": {"runs": 1}} and good["automatic"]["ipaddress"] == \
        "10.0.0.9"
    report = converge(StoreApi(store), tmp_path, FakeRunner().when("./migrate", rc=1),
                      facts={**FACTS, "ipaddress": "10.0.0.99"})
    assert report["status"] == "failure"
    assert store.get("node", "app-1") == good
    assert names(store, "ipaddress:10.0.0.99") == []


def test_the_node_is_not_saved_before_its_recipes_run(tmp_path):
    """No save before compile (Chef has none): the first converge's own search does not
    find the node; the node is found once that converge succeeded."""
    store = repo_store(tmp_path, {"default": (
        "node.run_state['seen'] = [p['name'] for p in search('node', 'roles:app')]\n")})
    api = StoreApi(store)
    run = Run(api, "app-1", facts=dict(FACTS), cache=FileCache(tmp_path / "cache"),
              run=FakeRunner(), out=lambda line: None)
    report = run.execute()
    assert report["status"] == "success" and run.ctx.node.run_state["seen"] == []
    assert report["searches"] == [{"index": "node", "query": "roles:app", "names": []}]
    assert names(store, "roles:app") == ["app-1"]


class FlippingApi(FakeApi):
    """A FakeApi on which a `knife node environment set` / run list change lands while the
    run searches (between the start of the run and its save)."""

    def search(self, index: str, query: str) -> list[dict]:
        self.node_doc = {**self.node_doc, "chef_environment": "production",
                         "run_list": ["role[db]"]}
        return super().search(index, query)


def test_the_save_writes_the_environment_and_run_list_loaded_at_the_start(tmp_path):
    """node.rb for_json / save: the PUT carries the node object's chef_environment and
    run_list, which the run loaded at its start; a flip made meanwhile is overwritten."""
    api = FlippingApi("app-1", cookbooks={"app": {"recipes/default.py": (
        "search('node', 'roles:app')\n")}}, recipes=["app::default"], roles=["app"],
        environment="staging")
    api.node_doc.update(run_list=["role[app]"])
    api.policy.update(run_list=["role[app]"])
    report = converge(api, tmp_path)
    assert report["status"] == "success", report["failure"]
    [(path, saved)] = api.puts
    assert path == "/nodes/app-1"
    assert (saved["chef_environment"], saved["run_list"]) == ("staging", ["role[app]"])


def test_included_recipes_are_in_automatic_recipes_for_the_run_and_the_save(tmp_path):
    """run_context.rb load_recipe calls node.loaded_recipe(cookbook, recipe) for every
    recipe it loads, and node.rb appends "cookbook::recipe" to automatic_attrs[:recipes]
    unless present: the rest of the run reads it, the save stores it, search finds it."""
    store = repo_store(tmp_path, {
        "default": ("include_recipe('app::packages')\ninclude_recipe('app::packages')\n"
                    "node.run_state['recipes'] = list(node['recipes'])\n"),
        "packages": "include_recipe('app')\n"})
    run = Run(StoreApi(store), "app-1", facts=dict(FACTS), cache=FileCache(tmp_path / "c"),
              run=FakeRunner(), out=lambda line: None)
    assert run.execute()["status"] == "success"
    expected = ["app", "app::default", "app::packages"]
    assert run.ctx.node.run_state["recipes"] == expected
    assert store.get("node", "app-1")["automatic"]["recipes"] == expected
    assert names(store, "recipes:app\\:\\:packages") == ["app-1"]


def test_data_bag_item_returns_a_new_object_on_every_call(tmp_path):
    """data_query.rb data_bag_item: `DataBagItem.load(bag, item)` on every call, so what a
    recipe does to its copy is not what the next caller gets."""
    api = FakeApi("app-1", cookbooks={"app": {"recipes/default.py": (
        "creds = data_bag_item('app', 'db')\n"
        "del creds['id']\ncreds['hosts'].append('evil')\n"
        "again = data_bag_item('app', 'db')\n"
        "node.run_state['again'] = again\n")}}, recipes=["app::default"],
        bags={"app": {"db": {"id": "db", "hosts": ["a"]}}})
    run = Run(api, "app-1", facts=dict(FACTS), cache=FileCache(tmp_path / "c"),
              run=FakeRunner(), out=lambda line: None)
    assert run.execute()["status"] == "success"
    assert run.ctx.node.run_state["again"] == {"id": "db", "hosts": ["a"]}
