"""`data_bag` / `data_bag_item` in a recipe, as chef-client's Chef::DSL::DataQuery answers them.

chef/chef lib/chef/dsl/data_query.rb:
    def data_bag_item(bag, item, secret = nil)
      DataBag.validate_name!(bag.to_s)
      DataBagItem.validate_id!(item)
      item = DataBagItem.load(bag, item)
and lib/chef/data_bag_item.rb:135 from_hash: `h.delete("chef_type")`, `h.delete("json_class")`,
`item.data_bag(h.delete("data_bag"))`, `raw_data = h["raw_data"]` when present, else `h`.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from test_agent_support import FakeApi, FakeRunner

from harness.agent.cookbooks import FileCache
from harness.agent.runner import Run

FACTS = {"hostname": "app-1", "fqdn": "app-1", "ipaddress": "10.0.0.9"}


def run_recipe(tmp_path: Path, recipe: str, bags: dict) -> dict:
    api = FakeApi("app-1", cookbooks={"app": {"recipes/default.py": recipe}},
                  recipes=["app::default"], bags=bags)
    run = Run(api, "app-1", facts=dict(FACTS), cache=FileCache(tmp_path / "c"),
              run=FakeRunner(), out=lambda line: None)
    report = run.execute()
    report["run_state"] = dict(run.ctx.node.run_state) if run.ctx.node else {}
    return report


@pytest.mark.parametrize("call, message", [
    ("data_bag_item('app', 'a:b')", "Data Bag items must have an id matching "
                                    "/^[\\.\\-[:alnum:]_]+$/, you gave: \"a:b\""),
    ("data_bag_item('app:x', 'db')", "DataBags must have a name matching "
                                     "/^[\\.\\-[:alnum:]_]+$/, you gave \"app:x\""),
    ("data_bag('bad bag')", "DataBags must have a name matching"),
])
def test_names_chef_client_refuses_fail_the_run_before_any_fetch(tmp_path, call, message):
    """data_bag.rb:35 VALID_NAME and data_bag_item.rb:39 VALID_ID `/^[\\.\\-[:alnum:]_]+$/`,
    checked by validate_name!/validate_id! before the server is asked: Chef Server itself
    stores items and bags with ':' (erchef NAME_REGEX), so only the client refuses them."""
    report = run_recipe(tmp_path, f"{call}\n",
                        {"app": {"a:b": {"id": "a:b"}, "db": {"id": "db"}},
                         "app:x": {"db": {"id": "db"}}, "bad bag": {}})
    assert report["status"] == "failure"
    assert message in report["failure"]["message"]


def test_an_item_is_read_as_from_hash_reads_it(tmp_path):
    """from_hash deletes chef_type and json_class and takes data_bag out of the item; a body
    with raw_data is the wrapped form and raw_data is the item."""
    report = run_recipe(tmp_path, (
        "node.run_state['plain'] = data_bag_item('app', 'db')\n"
        "node.run_state['wrapped'] = data_bag_item('app', 'old')\n"), {"app": {
            "db": {"id": "db", "chef_type": "data_bag_item", "json_class": "Chef::DataBagItem",
                   "data_bag": "app", "port": 5432},
            "old": {"name": "data_bag_item_app_old", "json_class": "Chef::DataBagItem",
                    "raw_data": {"id": "old", "port": 1}}}})
    assert report["status"] == "success", report.get("failure")
    assert report["run_state"] == {"plain": {"id": "db", "port": 5432},
                                   "wrapped": {"id": "old", "port": 1}}
