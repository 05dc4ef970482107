"""Search as Chef Server answers it: node fields, Lucene's operator spellings, linear-time
matching under a budget, and what a node may see of the client index."""
from __future__ import annotations

import json
import time

import pytest
import urllib3

from harness.errors import UsageError
from harness.repo.documents import normalise
from harness.server.fields import search_fields, with_duplicate_names
from harness.server.lucene import respell_operators
from harness.server.matching import Budget, BudgetExceeded, regex, wildcard
from harness.server.search import Index
from harness.server.serve import ConfigServer
from harness.server.store import Store


def _node(name: str, run_list: list[str], automatic: dict[str, object] | None = None,
          env: str = "production") -> dict[str, object]:
    return {"name": name, "chef_environment": env, "run_list": run_list,
            "automatic": automatic or {}}


def _found(store: Store, q: str) -> list[str]:
    return [d["name"] for d in store.search_docs("node", q)]


@pytest.fixture
def fleet() -> Store:
    """web-new: restored, never converged; web-1: converged (automatic roles/recipes saved by
    the converge, with the duplicate names Chef saves); lb-1 lists a recipe, pinned."""
    store = Store()
    store.put("node", "web-new", _node("web-new", ["role[web]"]))
    store.put("node", "web-1", _node("web-1", ["role[web]"], {
        "roles": ["base", "web"], "recipes": ["base", "base::default", "nginx::server"]}))
    store.put("node", "lb-1", _node("lb-1", ["role[base]", "recipe[haproxy::app_lb@1.0.1]",
                                             "recipe[ntp]"], env="testing"))
    return store


def test_role_and_recipe_come_from_the_nodes_own_run_list(fleet: Store) -> None:
    """Chef Server indexes `role` and `recipe` from the node's own run list
    (oc_erchef chef_node.erl:173 `{<<"recipe">>, extract_recipes(RunList)}`, :259
    extract_recipes: the text inside `recipe[...]`, so a pinned `@version` stays). chef-zero
    and Chef::Node#to_hash drop the version (a RunListItem's name); production does not, so
    `recipe:haproxy::app_lb` does not find a node pinned to `haproxy::app_lb@1.0.1`. A
    restored node is found by `role:web` before it ever converged, and `role:base` finds only
    nodes listing role[base]."""
    assert _found(fleet, "role:web") == ["web-1", "web-new"]
    assert _found(fleet, "role:base") == ["lb-1"]
    assert _found(fleet, "recipe:haproxy\\:\\:app_lb") == []  # the version is kept
    assert _found(fleet, "recipe:haproxy\\:\\:app_lb@1.0.1") == ["lb-1"]
    assert _found(fleet, "recipe:ntp") == ["lb-1"]
    assert _found(fleet, "recipe:ntp\\:\\:default") == []  # as written, no expansion
    assert _found(fleet, "recipe:nginx\\:\\:server") == []  # only in the expanded list


def test_roles_and_recipes_are_the_expanded_lists_a_converge_saved(fleet: Store) -> None:
    """Chef::Node#expand! saves `automatic_attrs[:roles] = expansion.roles` and
    `automatic_attrs[:recipes] = expansion.recipes.with_duplicate_names` (lib/chef/node.rb);
    to_hash merges the automatic attributes into the index, so `roles:` / `recipes:` match
    only after a converge. with_duplicate_names (lib/chef/run_list/run_list_expansion.rb,
    RecipeList) saves `cb` and `cb::default` for a default recipe, `cb::r` alone otherwise;
    our agent saves the qualified names, so the index adds the other spelling."""
    assert _found(fleet, "roles:base") == ["web-1"]
    assert _found(fleet, "roles:web") == ["web-1"]
    assert _found(fleet, "recipes:base") == _found(fleet, "recipes:base\\:\\:default") == ["web-1"]
    assert _found(fleet, "recipes:nginx\\:\\:server") == ["web-1"]
    assert _found(fleet, "recipes:nginx") == []
    node = normalise("node", "n", _node("n", [], {"recipes": ["zk::default", "java"]}))
    fields = search_fields("node", node)
    assert fields["recipes"] == {"zk", "zk::default", "java", "java::default"}


@pytest.mark.parametrize("recipe, names", [
    ("foo", ("foo", "foo::default")), ("foo::default", ("foo", "foo::default")),
    ("foo::bar", ("foo::bar",))])
def test_with_duplicate_names_matches_chefs_recipe_list(recipe: str, names: tuple[str, ...]) -> None:
    """VersionedRecipeList#with_duplicate_names, chef/chef lib/chef/run_list/versioned_recipe_list.rb."""
    assert with_duplicate_names(recipe) == names


@pytest.mark.parametrize("query, expected", [
    ("role:web AND !chef_environment:testing", ["web-1", "web-new"]),
    ("role:web && !chef_environment:production", []),
    ("role:web || role:base", ["lb-1", "web-1", "web-new"]),
    ("!role:web", ["lb-1"]),
    ("! role:web", ["lb-1"]),
    ("!(role:web OR role:base)", []),
    ("chef_environment:testing OR !roles:*", ["lb-1"]),  # Lucene: env:testing -roles:*
])
def test_bang_and_double_ampersand_are_lucene_operators(fleet: Store, query: str,
                                                        expected: list[str]) -> None:
    """Lucene's classic QueryParser.jj (what Solr/Elasticsearch behind Chef Server parse):
    `<AND: ("AND" | "&&")>`, `<OR: ("OR" | "||")>`, `<NOT: ("NOT" | "!")>`, and `!` is not a
    term character. chef-zero's SolrParser also reads `!` as a unary NOT."""
    assert _found(fleet, query) == expected


@pytest.mark.parametrize("query, spelled", [
    ('name:"a !b && c"', 'name:"a !b && c"'),      # a phrase is literal
    ("name:/a!b/", "name:/a!b/"),                   # so is a regex
    ("v:[!a TO b]", "v:[!a TO b]"),                 # and a range
    (r"v:a\!b", r"v:a\!b"),                         # an escaped ! is a character
    ("a&&b", "a&&b"),                               # && inside a term is a term character
    ("x:1 && y:2", "x:1  AND  y:2"),
])
def test_operators_are_respelled_only_outside_literals(query: str, spelled: str) -> None:
    assert respell_operators(query) == spelled


def test_wildcards_and_regexes_match_in_linear_time() -> None:
    """What took Python's backtracking `re` seconds (or forever) now takes microseconds."""
    value = "e" * 60
    started = time.monotonic()
    assert not wildcard("*e" * 20 + "*Z")(value)
    assert not regex("(.*)*X")(value * 100)
    assert not regex("(e|ee)*(e|ee)*Z")(value)
    assert wildcard("e*e?e")(value) and regex("e{60}")(value)
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("pattern", [r"(a)\1", "(?=a)b", "a{5000}"])
def test_what_re2_cannot_run_is_a_usage_error(pattern: str) -> None:
    with pytest.raises(UsageError, match="RE2"):
        regex(pattern)


def test_a_search_past_its_budget_stops_with_503() -> None:
    index = Index()
    for i in range(2000):
        doc = {"v": f"value-{i}"}
        index.put(f"n{i}", doc, {"v": {doc["v"]}})
    assert len(index.search("v:value-*", Budget(5.0))) == 2000
    budget = Budget(0.0)
    time.sleep(0.01)
    with pytest.raises(BudgetExceeded) as err:
        index.search("v:value-*", budget)
    assert err.value.status == 503 and "budget" in str(err.value)


def test_a_node_sees_only_its_own_client_in_the_client_index() -> None:
    """Chef Server's default org policy (oc_chef_authz_org_creator.erl) grants the clients
    group read on nodes, roles, environments, cookbooks and data, and nothing on the clients
    container; with strict_search_result_acls (chef_wm_search.erl filters rows by READ) a node
    never sees the other clients, validators included. The admin sees every client."""
    with ConfigServer() as server:
        store = server.store
        store.create_client("validator", validator=True)
        web1 = store.create_client("web-1")
        store.create_client("web-2")
        http = urllib3.PoolManager(retries=False)

        def names(token: str, q: str = "*:*") -> tuple[int, list[str]]:
            resp = http.request("GET", f"{server.url}/search/client", fields={"q": q},
                                headers={"Authorization": f"Bearer {token}"})
            doc = json.loads(resp.data)
            return doc["total"], [row["name"] for row in doc["rows"]]

        assert names(web1) == (1, ["web-1"])
        assert names(web1, "validator:true") == (0, [])
        assert names(server.admin_token) == (3, ["validator", "web-1", "web-2"])
