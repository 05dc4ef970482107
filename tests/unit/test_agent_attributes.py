"""Recipes write attributes at a precedence level, as in Chef; the merged view is read-only.

Chef sources matched here (chef/chef):
- lib/chef/node/attribute_constants.rb: COMPONENTS, lowest first: default, env_default,
  role_default, force_default, normal, override, role_override, env_override, force_override,
  automatic (DEFAULT_COMPONENTS / OVERRIDE_COMPONENTS are the first and second group of four).
- lib/chef/node/attribute_collections.rb: VividMash#[] creates a missing key as an empty hash
  ("auto-vivification"), so `node.default["a"]["b"] = 1` works on an empty node.
- lib/chef/node/immutable_collections.rb + lib/chef/exceptions.rb: the merged view is an
  ImmutableMash/ImmutableArray; a write raises ImmutableAttributeModification ("Node
  attributes are read-only when you do not specify which precedence level to set").
- lib/chef/node.rb Node#for_json: a node is saved with "default" => combined_default,
  "normal" => normal, "override" => combined_override, "automatic"; normal persists.
"""
from __future__ import annotations

import copy

import pytest

from harness.agent.attributes import Attributes, ImmutableAttributeModification
from harness.agent.node import Node


def node(**levels: dict) -> Node:
    return Node("n1", "_default", {}, roles=[], recipes=[], levels=levels)


def test_default_write_auto_vivifies_and_is_read_back_merged():
    """attribute_collections.rb VividMash#[]: a missing key becomes an empty hash."""
    n = node()
    n.default["a"]["b"] = 1
    n.default["a"]["c"]["d"] = [1, 2]
    assert n["a"]["b"] == 1 and n["a"]["c"]["d"] == [1, 2]
    assert n.attrs.levels["default"] == {"a": {"b": 1, "c": {"d": [1, 2]}}}


def test_recipe_default_sits_below_role_and_environment_defaults():
    """attribute_constants.rb: default < env_default < role_default < force_default <
    normal: a recipe's node.default loses to a role's default_attributes, as in Chef."""
    n = node(default={"x": {"port": 1}}, env_default={"x": {"env": 2}},
             role_default={"x": {"port": 3}})
    n.default["x"]["port"] = 10
    n.default["x"]["new"] = 11
    assert (n["x"]["port"], n["x"]["env"], n["x"]["new"]) == (3, 2, 11)
    n.force_default["x"]["port"] = 20
    assert n["x"]["port"] == 20
    n.normal["x"]["port"] = 30
    assert n["x"]["port"] == 30


def test_override_levels_and_automatic_win():
    """attribute_constants.rb: override < role_override < env_override < force_override <
    automatic."""
    n = node(role_override={"x": {"a": 1}}, env_override={"x": {"b": 2}},
             automatic={"x": {"c": 3}})
    n.override["x"] = {"a": 9, "b": 9, "c": 9, "d": 9}
    assert dict(n["x"]) == {"a": 1, "b": 2, "c": 3, "d": 9}
    n.force_override["x"]["a"] = 5
    n.force_override["x"]["c"] = 5
    assert (n["x"]["a"], n["x"]["c"]) == (5, 3)


@pytest.mark.parametrize("write", [
    lambda n: n["a"].__setitem__("b", 99),
    lambda n: n.__setitem__("a", 1),
    lambda n: n["a"]["l"].append(3),
    lambda n: n["a"].update({"b": 2}),
    lambda n: n["a"].pop("b"),
    lambda n: n["a"]["l"].__setitem__(0, 7),
])
def test_writes_to_the_merged_view_raise(write):
    """immutable_collections.rb: ImmutableMash/ImmutableArray refuse every mutator; Chef
    raises ImmutableAttributeModification instead of dropping the write."""
    n = node(default={"a": {"b": 1, "l": [1, 2]}})
    with pytest.raises(ImmutableAttributeModification, match="read-only.*node.default"):
        write(n)
    assert n["a"]["b"] == 1 and n["a"]["l"] == [1, 2]


def test_merged_view_copies_are_mutable_and_detached():
    """ImmutableMash#dup / to_hash give a mutable copy that no longer affects the node."""
    n = node(default={"a": {"l": [1]}})
    mine = copy.deepcopy(n["a"])
    mine["l"].append(2)
    also = list(n["a"]["l"])
    also.append(3)
    assert n["a"]["l"] == [1] and mine == {"l": [1, 2]}


def test_list_mutation_through_a_level_refreshes_the_merged_view():
    """AttrArray in a component is the component's own array: `<<` on it is a write."""
    n = node(default={"a": {"l": [1]}})
    values = n.default["a"]["l"]
    assert n["a"]["l"] == [1]       # merged view computed before the mutation
    values.append(2)
    assert n["a"]["l"] == [1, 2]


def test_unknown_level_is_refused():
    with pytest.raises(ValueError, match="unknown attribute precedence level.*bogus"):
        Attributes({"bogus": {}})


def test_saved_levels_combine_defaults_and_overrides():
    """node.rb Node#for_json: default = combined_default, override = combined_override."""
    n = node(default={"a": {"x": 1}}, role_default={"a": {"y": 2}}, normal={"keep": True},
             override={"o": 1}, env_override={"o": 2}, automatic={"ipaddress": "10.0.0.1"})
    n.normal["set"]["by"] = "recipe"
    assert n.saved_levels() == {"default": {"a": {"x": 1, "y": 2}},
                                "normal": {"keep": True, "set": {"by": "recipe"}},
                                "override": {"o": 2}}
