"""Where the second Chef audit's fixes meet: the server's item route, the unit layer's query
string, and a cookbook's `depends` in the repo (each fix's own tests live beside its module)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.agent.errors import ServerError as AgentServerError
from harness.client import Client
from harness.repo import load_repo
from harness.server.serve import ConfigServer
from harness.server.store import Store
from harness.unit.store import StoreApi


def test_a_wrapped_item_posted_as_knife_posts_it_is_stored_unwrapped():
    """chef/chef lib/chef/data_bag_item.rb:165 create: `chef_server_rest.post("data/#{data_bag}",
    self)`, whose to_h is `{"name": ..., "json_class": "Chef::DataBagItem", "chef_type":
    "data_bag_item", "data_bag": bag, "raw_data": item}`; Chef Server's chef_data_bag_item.erl
    unwrap_item reads the id inside raw_data and stores the item itself."""
    with ConfigServer(host="127.0.0.1", port=0, agent_pyz=b"") as srv:
        client = Client(srv.url, srv.admin_token)
        client.post("/data", {"name": "users"})
        client.post("/data/users", {"name": "data_bag_item_users_ops", "json_class":
                                    "Chef::DataBagItem", "chef_type": "data_bag_item",
                                    "data_bag": "users", "raw_data": {"id": "ops", "uid": 1}})
        assert client.get("/data/users/ops") == {"id": "ops", "uid": 1}


def test_an_empty_query_is_refused_in_the_unit_layer_as_on_the_server():
    """Chef Server oc_erchef chef_index_query.erl check_query: `"" -> throw({bad_query, ""})`
    (400); the unit layer's in-process API must not read `q=` as an absent q (`*:*`)."""
    api = StoreApi(Store())
    assert api.get("/search/node?q=*:*") is not None
    with pytest.raises(AgentServerError, match="400"):
        api.get("/search/node?q=")


def test_depends_in_metadata_take_metadata_rbs_grammar(tmp_path: Path):
    """chef/chef lib/chef/cookbook/metadata.rb depends -> validate_version_constraint ->
    Chef::VersionConstraint::Platform (`~> 1` is 1.x, any spaces after the operator), so a
    cookbook written for Chef loads here; the stored form is the strict one."""
    for name, meta in (("app", {"name": "app", "version": "1.0.0",
                                "depends": {"lib": "~> 1", "other": ">=  2.0"}}),
                       ("lib", {"name": "lib", "version": "1.4.0"}),
                       ("other", {"name": "other", "version": "2.1.0"})):
        (tmp_path / "cookbooks" / name / "recipes").mkdir(parents=True)
        (tmp_path / "cookbooks" / name / "recipes/default.py").write_text("")
        (tmp_path / "cookbooks" / name / "metadata.json").write_text(json.dumps(meta))
    repo = load_repo(tmp_path)
    book = next(c for c in repo.cookbooks.values() if c.name == "app")
    assert book.depends == {"lib": "~> 1.0", "other": ">= 2.0.0"}
