"""Ties: when Chef Server's objective cannot tell answers apart, the order of the search does.

These four cases were first written against chef-zero (lib/chef_zero/endpoints/
environment_cookbook_versions_endpoint.rb `depsolve`: run list first, depends as met, newest
first, first fit). Production is Chef Server, whose dep_selector optimises first (see
test_repo_depsolver_server.py); in each case here its objective is tied, and gecode's
search (ext/dep_gecode/dep_selector_to_gecode.cpp `AddBrancherV2`: the most constrained
package first, lowest package id on a tie, `INT_VAL_MAX`) gives the same answers as
chef-zero, which was checked against the compiled gecode model.
"""
from __future__ import annotations

import pytest

from harness.errors import SolveError
from harness.repo import solve


def test_run_list_order_decides_who_keeps_the_newest_version() -> None:
    """Run list [b, a]; a 2.0.0 depends on b = 1.0.0; b has 3.0.0. chef-zero decides b first
    (3.0.0), then a 2.0.0 filters b to nothing, so a falls back to 1.0.0."""
    available = {"a": {"1.0.0": {}, "2.0.0": {"b": "= 1.0.0"}},
                 "b": {"1.0.0": {}, "2.0.0": {}, "3.0.0": {}}}
    assert solve(available, {}, [("b", None), ("a", None)]) == {"b": "3.0.0", "a": "1.0.0"}
    assert solve(available, {}, [("a", None), ("b", None)]) == {"a": "2.0.0", "b": "1.0.0"}


def test_dependencies_are_decided_in_the_order_they_are_met() -> None:
    """a's depends {x, y} join `unsolved` in that order: x gets 2.0.0 first, so y 2.0.0
    (which needs x = 1.0.0) loses, although y has more versions than x."""
    available = {"a": {"1.0.0": {"x": ">= 0.0.0", "y": ">= 0.0.0"}},
                 "x": {"1.0.0": {}, "2.0.0": {}},
                 "y": {"0.5.0": {}, "1.0.0": {}, "2.0.0": {"x": "= 1.0.0"}}}
    assert solve(available, {}, [("a", None)]) == {"a": "1.0.0", "x": "2.0.0", "y": "1.0.0"}
    available["a"]["1.0.0"] = {"y": ">= 0.0.0", "x": ">= 0.0.0"}
    assert solve(available, {}, [("a", None)]) == {"a": "1.0.0", "y": "2.0.0", "x": "1.0.0"}


def test_a_missing_dependency_makes_chef_zero_try_an_older_version() -> None:
    """`dep_not_found` -> `next`: a version whose dependency does not exist is skipped."""
    available = {"a": {"1.0.0": {}, "2.0.0": {"ghost": ">= 0.0.0"}}}
    assert solve(available, {}, [("a", None)]) == {"a": "1.0.0"}


def test_a_cookbook_pinned_to_nothing_fails_before_searching() -> None:
    """`depsolve` first returns nil when any desired cookbook has no versions left; here the
    last run-list cookbook, so no time goes into the earlier ones' combinations."""
    available = {f"c{i}": {f"{v}.0.0": {} for v in range(1, 6)} for i in range(12)}
    available["z"] = {"1.0.0": {}}
    roots = [(cb, None) for cb in available]
    with pytest.raises(SolveError, match="z = 9.0.0"):
        solve(available, {"z": "= 9.0.0"}, roots, environment="production")
