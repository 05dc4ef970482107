"""Run-list items and expansion: nesting, env_run_lists, de-dup, cycles, missing roles."""
from __future__ import annotations

import pytest

from harness.errors import NotFound, UsageError
from harness.repo import RunListItem, expand_run_list, parse_item


@pytest.mark.parametrize("text,expected", [
    ("recipe[zk]", RunListItem("recipe", "zk", None)),
    ("recipe[zk::server]", RunListItem("recipe", "zk::server", None)),
    ("recipe[zk@1.2.0]", RunListItem("recipe", "zk", "1.2.0")),
    ("recipe[zk::server@1.2]", RunListItem("recipe", "zk::server", "1.2.0")),
    ("role[web-front.1]", RunListItem("role", "web-front.1", None)),
    ("zk", RunListItem("recipe", "zk", None)),
    ("zk::server", RunListItem("recipe", "zk::server", None)),
])
def test_parse_item(text: str, expected: RunListItem) -> None:
    assert parse_item(text) == expected


def test_item_helpers() -> None:
    item = parse_item("recipe[zk@1.0.0]")
    assert (item.cookbook, item.recipe, str(item)) == ("zk", "zk::default", "recipe[zk@1.0.0]")
    assert parse_item("recipe[a::b]").recipe == "a::b"
    assert str(parse_item("role[x]")) == "role[x]"


@pytest.mark.parametrize("text", ["recipe[]", "role[]", "recipe[a/b]", "role[../etc]",
                                  "role[..]", "recipe[..]", "..", "recipe[zk@1]",
                                  "recipe[zk@latest]", "role[x@1.0.0]", "recipe[a::b::c]",
                                  "Recipe[x]", "recipe[x", "recipe[x] ", "", "a b",
                                  "role[a]role[b]"])
def test_bad_items(text: str) -> None:
    with pytest.raises(UsageError, match="bad run-list item"):
        parse_item(text)


def test_item_must_be_string() -> None:
    with pytest.raises(UsageError, match="must be a string"):
        parse_item(["recipe[x]"])  # type: ignore[arg-type]


def roles(**run_lists) -> dict:
    return {name: {"name": name, "run_list": items, "env_run_lists": {}}
            for name, items in run_lists.items()}


def test_nested_roles_expand_depth_first_roles_pre_order_attributes_post_order() -> None:
    """chef/chef lib/chef/run_list/run_list_expansion.rb: inflate_role calls
    `applied_role(role_name)` before the role's run list expands, and `roles` is
    `@applied_roles.keys` (pre-order); `apply_role_attributes(role)` runs after the expansion
    of its run list (post-order), so an including role's attributes win."""
    table = roles(web=["role[base]", "recipe[nginx]", "role[monitoring]"],
                  base=["recipe[base]", "recipe[ntp::client]"],
                  monitoring=["recipe[collectd]"])
    out = expand_run_list(["role[web]", "recipe[extra::x]"], "_default", table.get)
    assert out.recipes == ["base::default", "ntp::client", "nginx::default",
                           "collectd::default", "extra::x"]
    assert out.expanded_run_list[0] == "recipe[base::default]"
    assert out.roles == ["web", "base", "monitoring"]
    assert out.attribute_order == ["base", "monitoring", "web"]


def test_dedup_keeps_first_occurrence_and_diamond_roles_expand_once() -> None:
    table = roles(a=["role[base]", "recipe[x]"], b=["role[base]", "recipe[y]", "recipe[x]"],
                  base=["recipe[base]", "recipe[x::default]"])
    out = expand_run_list(["recipe[y]", "role[a]", "role[b]", "recipe[base::default]"],
                          "_default", table.get)
    assert out.recipes == ["y::default", "base::default", "x::default"]
    assert out.roles == ["a", "base", "b"]
    assert out.attribute_order == ["base", "a", "b"]


def test_env_run_lists_replace_run_list_in_that_environment_only() -> None:
    table = roles(zk=["recipe[zk]"])
    table["zk"]["env_run_lists"] = {"testing": ["recipe[zk]", "recipe[zk::debug]"],
                                    "empty": []}
    assert expand_run_list(["role[zk]"], "production", table.get).recipes == ["zk::default"]
    assert expand_run_list(["role[zk]"], "testing", table.get).recipes == [
        "zk::default", "zk::debug"]
    assert expand_run_list(["role[zk]"], "empty", table.get).recipes == []


def test_roots_carry_version_pins_and_origins() -> None:
    table = roles(zk=["recipe[zk@1.1.0]", "recipe[java]"])
    out = expand_run_list(["role[zk]", "recipe[zk::server]"], "_default", table.get,
                          origin="node zk1")
    assert out.roots == [("zk", "= 1.1.0", "role zk"), ("java", None, "role zk"),
                         ("zk", None, "node zk1")]


def test_role_cycle_names_the_cycle() -> None:
    table = roles(a=["role[b]"], b=["recipe[x]", "role[c]"], c=["role[a]"])
    with pytest.raises(UsageError, match=r"role cycle: a -> b -> c -> a"):
        expand_run_list(["role[a]"], "_default", table.get)


def test_self_including_role_is_a_cycle() -> None:
    with pytest.raises(UsageError, match=r"role cycle: a -> a"):
        expand_run_list(["role[a]"], "_default", roles(a=["role[a]"]).get)


def test_missing_role_names_who_refers_to_it() -> None:
    with pytest.raises(NotFound, match=r"no role 'ghost' \(in the run list of role web\)"):
        expand_run_list(["role[web]"], "_default", roles(web=["role[ghost]"]).get)


def test_deep_role_chains_do_not_hit_the_recursion_limit() -> None:
    table = roles(**{f"r{i}": [f"role[r{i + 1}]", f"recipe[c{i}]"] for i in range(3000)},
                  r3000=["recipe[last]"])
    out = expand_run_list(["role[r0]"], "_default", table.get)
    assert out.recipes[0] == "last::default" and out.recipes[-1] == "c0::default"
    assert len(out.roles) == 3001
