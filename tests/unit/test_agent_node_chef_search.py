"""Search row order: the agent keeps the server's, and our server's is chef-zero's.

- chef/chef 19.4.14 lib/chef/search/query.rb call_rest_service maps `response["rows"]` in
  place and dsl/data_query.rb search collects them in that order: no sort on the client.
- chef/chef-zero 15.1.11 lib/chef_zero/endpoints/search_endpoint.rb: rows in the order of
  `list_data(container)`, sorted only when the request has `sort=`; its default store,
  data_store/memory_store_v2.rb, lists `dir.keys.sort`: by name (data bag items by id).
  (Chef Server's erchef orders by its internal object id instead, see the report.)
"""
from __future__ import annotations

import json

from test_agent_support import FakeApi, FakeRunner

from harness.agent.cookbooks import FileCache
from harness.agent.runner import Run
from harness.server.store import Store


def test_the_agent_keeps_the_servers_row_order(tmp_path):
    """A recipe gets the rows as the server sent them; only the report's settle record
    (names) is sorted."""
    api = FakeApi("web-1", cookbooks={"web": {"recipes/default.py": (
        "node.run_state['order'] = [p['name'] for p in search('node', 'role:web')]\n")}},
        recipes=["web::default"],
        nodes=[{"name": "web-1"}, {"name": "web-3"}, {"name": "web-2"}])  # sent reversed
    run = Run(api, "web-1", facts={"ipaddress": "10.0.0.9"}, cache=FileCache(tmp_path / "c"),
              run=FakeRunner(), out=lambda line: None)
    report = run.execute()
    assert report["status"] == "success", report["failure"]
    assert run.ctx.node.run_state["order"] == ["web-2", "web-3", "web-1"]
    assert report["searches"] == [{"index": "node", "query": "role:web",
                                   "names": ["web-1", "web-2", "web-3"]}]


def test_our_server_answers_in_chef_zeros_order():
    """Nodes by name and items by id whatever order they were created in, as chef-zero's
    memory store lists them; stable across writes (a save does not move a node)."""
    store = Store()
    for name in ("zk-3", "zk-1", "zk-2"):
        store.put("node", name, {"name": name, "chef_environment": "_default",
                                 "run_list": [], "automatic": {"roles": ["zk"]}})
    store.put("node", "zk-1", {"name": "zk-1", "chef_environment": "_default",
                               "run_list": [], "automatic": {"roles": ["zk"], "x": 1}})
    rows = [json.loads(doc)["name"] for doc in store.search("node", "roles:zk", 0, 10)[1]]
    assert rows == ["zk-1", "zk-2", "zk-3"]
    store.create_bag("app")
    for item in ("b", "c", "a"):
        store.put_item("app", item, {"id": item})
    assert [json.loads(d)["id"] for d in store.search("app", "*:*", 0, 10)[1]] == \
        ["a", "b", "c"]
