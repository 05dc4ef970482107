"""Search as Chef Server answers it (second audit): empty queries, Lucene's flat boolean
clauses, the node's top-level fields, nested keys as values, data bag and role fields.

Chef Server sources cited are chef/chef-server at HEAD (src/oc_erchef/apps/...); Lucene's is
lucene/queryparser/src/java/org/apache/lucene/queryparser/classic/QueryParserBase.java, the
parser OpenSearch's `query_string` (chef_opensearch.erl:165 query_string_query_ejson) runs.
"""
from __future__ import annotations

import json

import pytest
import urllib3

from harness.errors import UsageError
from harness.server.fields import checked_item, flatten, search_fields
from harness.server.search import Index
from harness.server.serve import ConfigServer
from harness.server.store import Store


def _names(store: Store, index: str, q: str) -> list[str]:
    key = "id" if index not in ("node", "role", "environment", "client") else "name"
    return [d[key] for d in store.search_docs(index, q)]


@pytest.mark.parametrize("q", ["", " ", "\t"])
def test_an_empty_query_is_refused(q: str) -> None:
    """chef-server chef_index_query.erl:86-88 check_query: `"" -> %% thou shalt not query with
    the empty string / throw({bad_query, ""})` (400 "invalid search query: ''"); chef-zero
    search_endpoint.rb:114 `request.query_params["q"] || "*:*"` then solr_parser.rb:129
    `parse_error(nil, "Expected expression!")` (400). Only an absent `q` means `*:*`."""
    index = Index()
    index.put("a", {"x": "1"}, flatten({"x": "1"}))
    with pytest.raises(UsageError, match="empty"):
        index.search(q)
    assert index.search("*:*") == ["a"]


def test_an_empty_q_is_a_400_over_http_and_an_absent_q_finds_everything() -> None:
    """chef_index_query.erl:82-88: `undefined -> "*:*"`, `"" -> throw({bad_query, ""})`."""
    with ConfigServer() as server:
        server.store.put("role", "web", {})
        http = urllib3.PoolManager(retries=False)
        auth = {"Authorization": f"Bearer {server.admin_token}"}
        empty = http.request("GET", f"{server.url}/search/role?q=", headers=auth)
        assert empty.status == 400 and "empty" in empty.data.decode()
        absent = http.request("GET", f"{server.url}/search/role", headers=auth)
        assert absent.status == 200 and json.loads(absent.data)["total"] == 1


def _abc() -> Index:
    index = Index()
    for name, doc in {"a": {"x": "1"}, "b": {"y": "1"}, "ab": {"x": "1", "y": "1"},
                      "c": {"z": "1"}, "bc": {"y": "1", "z": "1"}}.items():
        index.put(name, doc, flatten(doc))
    return index


@pytest.mark.parametrize("query, expected", [
    ("x:1 AND y:1 OR z:1", ["ab"]),            # +x +y z: the OR'ed z is optional
    ("x:1 OR y:1 AND z:1", ["bc"]),            # x +y +z
    ("x:1 OR NOT y:1", ["a"]),                 # x -y: x without y, not x OR everything-not-y
    ("NOT x:1 OR y:1", ["b", "bc"]),           # -x y
    ("x:1 OR -y:1", ["a"]),
    ("x:1 y:1 AND z:1", ["bc"]),               # x +y +z
    ("x:1 AND NOT y:1 OR z:1", ["a"]),         # +x -y z
    ("(x:1 OR y:1) AND z:1", ["bc"]),          # parentheses group as written
    ("y:(1 OR NOT 1)", []),                    # inside a field group too: 1 -1
    ("x:1 OR y:1", ["a", "ab", "b", "bc"]),
    ("NOT x:1", ["b", "bc", "c"]),
])
def test_boolean_operators_have_no_precedence_as_in_lucene(query: str, expected: list[str]) -> None:
    """Lucene QueryParserBase.java addClause (the classic parser behind Chef Server's
    OpenSearch/Solr `query_string`): "If this term is introduced by AND, make the preceding
    term required, unless it's already prohibited", `required = (mods == MOD_REQ)`,
    `prohibited = (mods == MOD_NOT)`, `if (conj == CONJ_AND && !prohibited) required = true`;
    with the default operator OR nothing else changes. So AND does not bind tighter than OR.
    chef-zero (solr_parser.rb:192 binary_operator_precedence) gives AND precedence and reads
    `a OR NOT b` as a OR (NOT b): greener than Chef Server, which we follow."""
    assert _abc().search(query) == expected


@pytest.fixture
def nodes() -> Store:
    store = Store()
    store.put("node", "web-1", {
        "run_list": ["cb", "role[web]", "recipe[x::y@1.0.0]"],
        "default": {"apache": {"name": "httpd", "role": "frontend"}},
        "automatic": {"chef_environment": "sneaky", "chef_type": "thing",
                      "run_list": "nope", "network": {"interfaces": {"eth0": {}, "lo": {}}}}})
    store.put("node", "db-1", {"run_list": ["recipe[pg]"], "chef_environment": "prod"})
    return store


def test_a_node_is_indexed_with_chef_servers_top_level_fields(nodes: Store) -> None:
    """chef-server chef_node.erl:169 ejson_for_indexing adds `{<<"chef_type">>, <<"node">>}`
    with name, chef_environment, recipe, role and run_list, and chef_node.erl:191
    `dict:merge(fun(_Key, TopVal, _AttrVal) -> TopVal end, ...)` lets them replace the
    attributes' top-level keys of those names; nested keys keep their own leaf fields
    (chef_index_expand.erl:260 add_kv_pair indexes a leaf under its last key too)."""
    assert _names(nodes, "node", "chef_type:node") == ["db-1", "web-1"]
    assert _names(nodes, "node", "chef_type:thing") == []
    assert _names(nodes, "node", "chef_environment:sneaky") == []
    assert _names(nodes, "node", "run_list:nope") == []
    assert _names(nodes, "node", "name:httpd") == ["web-1"]      # apache.name, a nested leaf
    assert _names(nodes, "node", "role:frontend") == ["web-1"]   # apache.role
    assert _names(nodes, "node", "role:web") == ["web-1"]
    assert _names(nodes, "node", "json_class:*") == []           # Chef Server does not index it


def test_a_nodes_run_list_is_indexed_qualified(nodes: Store) -> None:
    """chef-server chef_object_base.erl:173-177 normalize_run_list: items not marked
    "recipe[...]" or "role[...]" are "wrapped as "recipe[ITEM]"" on write, and the index
    sees the stored run list (chef-zero data_normalizer.rb normalize_run_list does the same)."""
    assert _names(nodes, "node", r"run_list:recipe\[cb\]") == ["web-1"]
    assert _names(nodes, "node", "run_list:cb") == []
    assert _names(nodes, "node", r"run_list:recipe\[x\:\:y@1.0.0\]") == ["web-1"]
    stored_bare = {"name": "n", "chef_environment": "_default", "run_list": ["cb", "role[r]"],
                   "default": {}, "normal": {}, "override": {}, "automatic": {}}
    assert search_fields("node", stored_bare)["run_list"] == {"recipe[cb]", "role[r]"}


def test_nested_keys_are_values_of_the_keys_above_them(nodes: Store) -> None:
    """chef-server chef_index_expand.erl:252 expand_obj: `MyAcc1 = expand(Mod, Keys, K,
    MyAcc)` indexes each key K as a value of the key path above it (and of its last key,
    add_kv_pair :260), so Ohai's `network_interfaces:eth0` and `interfaces:eth0` find a node
    with that interface. A top-level key is a value of nothing."""
    for q in ("network_interfaces:eth0", "interfaces:lo", "network:interfaces",
              "apache:name"):
        assert _names(nodes, "node", q) == ["web-1"], q
    assert _names(nodes, "node", "*:network") == []
    fields = flatten({"users": {"alice": {"shell": "/bin/sh"}}, "list": [{"k": 1}]})
    assert fields["users"] == {"alice"} and fields["users_alice"] == {"shell"}
    assert fields["list"] == {"k"} and fields["list_k"] == {"1"}


def test_a_data_bag_items_chef_type_and_data_bag_are_set_over_its_own() -> None:
    """chef-server chef_data_bag_item.erl:129 ejson_for_indexing: `ej:set({<<"data_bag">>},
    ej:set({<<"chef_type">>}, Item, <<"data_bag_item">>), BagName)`: the item's own top-level
    keys of those names are replaced, nested ones are still leaves."""
    _, fields = checked_item("users", "alice", {"data_bag": "other", "chef_type": "x",
                                                "meta": {"data_bag": "nested"}})
    assert fields["chef_type"] == {"data_bag_item"}
    assert fields["data_bag"] == {"users", "nested"}
    assert fields["id"] == {"alice"}


def test_a_roles_run_lists_are_qualified_and_its_default_env_run_list_not_indexed() -> None:
    """chef-server chef_role.erl:217 normalizes run_list and env_run_lists on write and
    chef_role.erl:139 ejson_for_indexing: `ej:delete({<<"_default">>}, EnvironmentRunLists0)`."""
    role = {"name": "web", "chef_type": "role", "run_list": ["nginx"],
            "env_run_lists": {"_default": ["nginx"], "prod": ["b", "role[x]"]}}
    fields = search_fields("role", role)
    assert fields["run_list"] == {"recipe[nginx]"}
    assert fields["env_run_lists_prod"] == {"recipe[b]", "role[x]"}
    assert "env_run_lists__default" not in fields and fields["env_run_lists"] == {"prod"}
    store = Store()
    store.put("role", "web", {"run_list": ["nginx"]})
    assert _names(store, "role", r"run_list:recipe\[nginx\]") == ["web"]


def test_values_with_spaces_and_bare_terms_over_http() -> None:
    """The search endpoint answers as Chef Server's tokenised `content` field does
    (opensearch-index-init.json:6 `"type": "whitespace"`; chef_lucene.peg:15 `f:v` ->
    `content:f__=__v`; a bare term goes to the default field, chef_opensearch.erl:165):
    `motd:hello` finds "hello world", `motd:world` does not, the bare `world` does, and a bare
    `production` (a whole value elsewhere) finds nothing. See test_server_search_tokens.py."""
    with ConfigServer() as server:
        server.store.put("node", "web-1", {"chef_environment": "production",
                                           "normal": {"motd": "hello world"}})
        http = urllib3.PoolManager(retries=False)
        auth = {"Authorization": f"Bearer {server.admin_token}"}

        def total(q: str) -> int:
            resp = http.request("GET", f"{server.url}/search/node", fields={"q": q},
                                headers=auth)
            assert resp.status == 200, resp.data
            return int(json.loads(resp.data)["total"])

        assert [total(q) for q in ("motd:hello", "motd:world", "world", "production",
                                   'motd:"hello world"', "motd:*world")] == [1, 0, 1, 0, 1, 0]
        bad = http.request("GET", f"{server.url}/search/node", fields={"q": "motd:>a"},
                           headers=auth)
        assert bad.status == 400
