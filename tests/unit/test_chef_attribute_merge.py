"""Attribute merging pinned to Chef's source (chef/chef lib/chef/node/attribute.rb at 688d3ad).

`merge_all` folds default, normal, override, automatic with `hash_only_merge!` (hashes merge,
anything else replaces). `merge_defaults` / `merge_overrides` fold the components of one level
(DEFAULT_COMPONENTS = @default @env_default @role_default, OVERRIDE_COMPONENTS = @override
@role_override @env_override) with `deep_merge!`, whose array branch is `merge_onto |= merge_with`.
Roles are combined first by Chef::Mixin::DeepMerge.merge in lib/chef/run_list/run_list_expansion.rb
(`apply_role_attributes`, called after the role's own run list is expanded: post-order), which
also unions arrays (`dest |= source`).
"""
from __future__ import annotations

from typing import Any

import pytest

from harness.agent import node as agent_node
from harness.repo import attributes
from harness.repo.attributes import array_union, node_attributes, union_merge


def test_env_default_and_role_default_arrays_combine() -> None:
    """Environment default and role default are both default-level components: `deep_merge!`
    unions their arrays, environment elements first (`merge_onto |= merge_with`)."""
    out = node_attributes(env_default={"ntp": {"servers": ["a", "b"]}},
                          role_default=[{"ntp": {"servers": ["b", "c"]}}])
    assert out["merged"] == {"ntp": {"servers": ["a", "b", "c"]}}
    assert out["default"] == out["merged"]


def test_cookbook_default_joins_the_union_but_cookbooks_replace_each_other() -> None:
    """@default (cookbook attribute files) is the first default component, so its arrays are
    unioned with environment/role arrays; attribute files assign keys (`default[..] = [...]`),
    so a later cookbook's array replaces an earlier cookbook's."""
    out = node_attributes(cookbook_default=[{"s": ["lib"]}, {"s": ["app"]}],
                          env_default={"s": ["env"]}, role_default=[{"s": ["role"]}])
    assert out["merged"] == {"s": ["app", "env", "role"]}


def test_roles_union_arrays_in_the_order_applied() -> None:
    """Chef::Mixin::DeepMerge.merge(accumulated, role) puts later roles' new elements last."""
    out = node_attributes(role_default=[{"s": [1, 2]}, {"s": [2, 3]}],
                          role_override=[{"o": ["x"]}, {"o": ["y"]}])
    assert out["merged"] == {"s": [1, 2, 3], "o": ["x", "y"]}


def test_override_level_unions_cookbook_role_environment_in_that_order() -> None:
    """OVERRIDE_COMPONENTS = @override, @role_override, @env_override."""
    out = node_attributes(cookbook_override=[{"s": ["cb"]}], role_override=[{"s": ["role"]}],
                          env_override={"s": ["env", "cb"]})
    assert out["override"] == {"s": ["cb", "role", "env"]}


def test_between_levels_the_higher_array_replaces() -> None:
    """merge_all uses hash_only_merge!: an override array replaces the default array, a normal
    array replaces the default one, hashes still merge."""
    out = node_attributes(env_default={"s": ["d"], "h": {"a": 1}}, normal={"s": ["n"]},
                          role_override=[{"h": {"b": 2}}])
    assert out["merged"] == {"s": ["n"], "h": {"a": 1, "b": 2}}
    out = node_attributes(role_default=[{"s": ["d"]}], env_override={"s": ["o"]})
    assert out["merged"] == {"s": ["o"]}


def test_type_changes_replace_inside_a_level() -> None:
    """deep_merge!'s last branch: array onto scalar, hash onto array etc. replace."""
    assert union_merge({"a": [1], "b": {"x": 1}, "c": 1}, {"a": 2, "b": [1], "c": [1]}) == \
        {"a": 2, "b": [1], "c": [1]}


def test_union_uses_ruby_eql_and_drops_duplicates() -> None:
    """Array#| keeps the first occurrence of each element by `eql?`: duplicates inside either
    array go too, 1 and 1.0 and true stay distinct, equal hashes are one element."""
    assert array_union([1, 1, 2], [2, 1.0, True, {"a": 1, "b": 2}, {"b": 2, "a": 1}]) == \
        [1, 2, 1.0, True, {"a": 1, "b": 2}]


def test_union_does_not_alias_inputs() -> None:
    base, over = {"s": [{"k": 1}]}, {"s": [{"k": 2}]}
    out = union_merge(base, over)
    out["s"][0]["k"] = 9
    assert base == {"s": [{"k": 1}]} and over == {"s": [{"k": 2}]}


# One rule between levels, two copies: harness.repo (host) and harness.agent (stdlib-only,
# shipped alone in the zipapp, so it cannot import harness.repo). Same cases for both.
BETWEEN_LEVELS: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),
    ({"h": {"x": 1, "l": [1]}}, {"h": {"y": 2, "l": [2]}}, {"h": {"x": 1, "y": 2, "l": [2]}}),
    ({"a": {"x": 1}}, {"a": 5}, {"a": 5}),
    ({"a": 5}, {"a": {"x": 1}}, {"a": {"x": 1}}),
    ({"a": 1}, {"a": None}, {"a": None}),       # nil replaces (no nil branch in merge_all)
    ({}, {"a": [1]}, {"a": [1]}),
]


@pytest.mark.parametrize("merge", [attributes.deep_merge, agent_node.deep_merge],
                         ids=["repo", "agent"])
@pytest.mark.parametrize("base,over,expected", BETWEEN_LEVELS)
def test_repo_and_agent_merge_levels_alike(merge: Any, base: dict[str, Any],
                                           over: dict[str, Any], expected: dict[str, Any]) -> None:
    """hash_only_merge! (attribute.rb): both copies give Chef's answer on the same cases."""
    assert merge(base, over) == expected


def test_agent_search_view_merges_levels_like_chef() -> None:
    """A stored node's default/normal/override/automatic merge with hash_only_merge!."""
    doc = {"default": {"s": [1], "h": {"a": 1}}, "normal": {"s": [2]},
           "override": {"h": {"b": 2}}, "automatic": {"ip": "10.0.0.1"}}
    assert agent_node.merged_attributes(doc) == {"s": [2], "h": {"a": 1, "b": 2},
                                                 "ip": "10.0.0.1"}


# The agent rebuilds the merged view from the policy's components after a recipe writes one
# (harness/agent/attributes.py); it must give what the host computed (decision 27).
COMPONENT_CASES = [
    dict(env_default={"ntp": {"servers": ["a", "b"]}},
         role_default=[{"ntp": {"servers": ["b", "c"]}}]),
    dict(cookbook_default=[{"l": [1]}, {"l": [2]}], env_default={"l": [3]},
         role_default=[{"l": [4]}, {"l": [4, 5]}]),
    dict(cookbook_override=[{"o": ["x"]}], role_override=[{"o": ["y"]}],
         env_override={"o": ["x", "z"]}, normal={"o": ["n"]}, env_default={"o": ["d"]}),
    dict(role_default=[{"v": [1, 1.0, True]}], env_default={"v": [True]},
         normal={"h": {"k": [9]}}, role_override=[{"h": {"k": [8]}}]),
]


@pytest.mark.parametrize("case", COMPONENT_CASES)
def test_agent_rebuilds_the_hosts_merged_view_from_components(case: dict[str, Any]) -> None:
    """Chef's merged_attributes = hash_only_merge! of merge_defaults (deep_merge! of
    DEFAULT_COMPONENTS), normal, merge_overrides, automatic (lib/chef/node/attribute.rb)."""
    from harness.agent.attributes import Attributes
    from harness.repo.attributes import merge_components, merge_precedence

    host = node_attributes(**case)
    levels = {"default": merge_precedence(case.get("cookbook_default", [])),
              "env_default": case.get("env_default"),
              "role_default": merge_components(case.get("role_default", [])),
              "normal": case.get("normal"),
              "override": merge_precedence(case.get("cookbook_override", [])),
              "role_override": merge_components(case.get("role_override", [])),
              "env_override": case.get("env_override")}
    agent = Attributes(levels)
    assert agent.merged == host["merged"]
    assert agent.combined(("default", "env_default", "role_default", "force_default")) \
        == host["default"]
