"""The node object: attribute paths in errors, allowlists (fnmatch on fqdn, roles), rows."""
from __future__ import annotations

import pytest

from harness.agent.errors import RecipeError
from harness.agent.node import AttributeMissing, Node, SearchNode, deep_merge


def make_node(fqdn: str, bags: dict | None = None, roles: list[str] | None = None) -> tuple[
        Node, list]:
    calls: list = []

    def item(bag: str, name: str) -> dict:
        calls.append((bag, name))
        try:
            return (bags or {})[bag][name]
        except KeyError:
            raise LookupError(f"{bag}/{name}") from None
    node = Node(fqdn.split(".")[0], "production", {"fqdn": fqdn, "zk": {"port": 2181}},
                roles=roles or [], recipes=[], data_bag_item=item)
    return node, calls


def test_attribute_access_and_missing_path():
    node, _ = make_node("web-1.example.com")
    assert node["zk"]["port"] == 2181
    assert node.get("nope", {}) == {} and node["zk"].get("nope", 5) == 5
    with pytest.raises(KeyError) as info:
        node["zk"]["servers"]["list"]
    assert isinstance(info.value, AttributeMissing)
    assert "node['zk']['servers']" in str(info.value) and "present: port" in str(info.value)


def allow(*patterns: str, roles: list[str] | None = None) -> dict:
    item = {"id": "new_proxy", "patterns": list(patterns)}
    if roles is not None:
        item["roles"] = roles
    return {"allowlist": {"new_proxy": item}}


@pytest.mark.parametrize("fqdn,patterns,expected", [
    ("web-1.example.com", ["web-*.example.com"], True),
    ("web-1.example.com", ["web-?.example.com"], True),
    ("web-12.example.com", ["web-?.example.com"], False),
    ("webX1.example.com", ["web.1.example.com"], False),        # a dot is literal
    ("web-1.exampleXcom", ["web-1.example.com"], False),
    ("web-3.example.com", ["web-[1-3].example.com"], True),      # character classes
    ("web-4.example.com", ["web-[1-3].example.com"], False),
    ("web-4.example.com", ["web-[!1-3].example.com"], True),
    ("WEB-1.example.com", ["web-*.example.com"], False),         # case-sensitive
    ("db-1.example.com", ["web-*", "db-*"], True),
    ("db-1.example.com", [], False),
])
def test_allowlist_patterns_match_the_fqdn(fqdn, patterns, expected):
    node, _ = make_node(fqdn, allow(*patterns))
    assert node.in_allowlist("new_proxy") is expected


def test_allowlist_roles_other_bag_and_key():
    node, _ = make_node("app-1.example.com", allow("nomatch", roles=["proxy"]), roles=["proxy"])
    assert node.in_allowlist("new_proxy") is True
    other = {"flags": {"beta": {"id": "beta", "hosts": ["app-*"]}}}
    node, _ = make_node("app-1.example.com", other)
    assert node.in_allowlist("beta", bag="flags", key="hosts") is True
    assert node.in_allowlist("beta", bag="flags") is False


def test_allowlist_is_cached_and_missing_item_fails_the_run():
    """chef-whitelist's is_in_whitelist? starts with `data_bag_item(data_bag, whitelist)`
    (etsy/chef-whitelist libraries/whitelist.rb): a missing item raises the server's 404 and
    fails the run; it does not mean "nobody is in it"."""
    node, calls = make_node("web-1.example.com", allow("web-*"))
    assert node.in_allowlist("new_proxy") and node.in_allowlist("new_proxy")
    assert calls == [("allowlist", "new_proxy")]
    with pytest.raises(RecipeError, match="allowlist allowlist/absent does not exist"):
        node.in_allowlist("absent")


def test_search_node_falls_back_to_merged_attributes():
    row = SearchNode({"name": "zk-1", "default": {"zk": {"port": 1, "id": 7}},
                      "override": {"zk": {"port": 2}}, "automatic": {"ipaddress": "10.0.0.5"}})
    assert row["name"] == "zk-1" and row["ipaddress"] == "10.0.0.5"
    assert row["zk"] == {"port": 2, "id": 7}
    assert row.get("missing") is None
    with pytest.raises(KeyError, match="no attribute 'missing'"):
        row["missing"]


def test_deep_merge_hashes_merge_arrays_replace():
    merged = deep_merge({"a": {"x": 1, "l": [1, 2]}, "s": 1}, {"a": {"y": 2, "l": [3]}, "s": 2})
    assert merged == {"a": {"x": 1, "y": 2, "l": [3]}, "s": 2}


def test_allowlist_bare_string_role_counts_as_one_role():
    """Same as the host side (harness.rollout.allowlist): "proxy" is one role, not 5 letters."""
    bags = {"allowlist": {"new_proxy": {"id": "new_proxy", "patterns": "nomatch", "roles": "proxy"}}}
    node, _ = make_node("app-1.example.com", bags, roles=["proxy"])
    assert node.in_allowlist("new_proxy") is True
    other, _ = make_node("app-1.example.com", bags, roles=["p"])
    assert other.in_allowlist("new_proxy") is False
