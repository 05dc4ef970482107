"""The depsolver answers as Chef Server (erchef + dep_selector) does, not as chef-zero does.

erchef: chef-server src/oc_erchef/apps/oc_chef_wm/src/chef_wm_depsolver.erl `process_post` ->
chef_depsolver:solve_dependencies -> priv/depselector_rb/depselector.rb, which builds a
DepSelector::DependencyGraph (only the versions the environment allows) and calls
`selector.find_solution(run_list, all_versions)`. dep_selector (chef/dep-selector, the revision
in depselector_rb/Gemfile.lock) optimises a gecode model: ext/dep_gecode/
dep_selector_to_gecode.cpp `BuildCostVector` ranks answers by (most significant first) disabled
packages, `total_preferred_at_latest` (run-list packages, `mark_preferred_to_be_at_latest` in
lib/dep_selector/selector.rb `process_soln_constraints`), then `total_not_preferred_at_latest`
(every other package in the solve). `at_latest` is `rel(package_versions[i] == maxVersion)`
(`AddPackage`): all or nothing. The packages in the solve are all those reachable through any
version's dependencies (selector.rb `trim_unreachable_packages`), and one nothing requires may
take version -1. Every expected answer below was also checked against that C++ model compiled
with gecode 6.2 and driven like selector.rb.
"""
from __future__ import annotations

from harness.repo import solve


def test_most_run_list_cookbooks_at_their_newest() -> None:
    """dep_selector_to_gecode.cpp `BuildCostVector`: `costVector[1] = total_preferred_at_latest`,
    a count. a 2.0.0 would hold b and c back; chef-zero (first fit, run-list order) keeps a
    2.0.0, erchef keeps two run-list cookbooks at their newest instead of one."""
    available = {"a": {"1.0.0": {}, "2.0.0": {"b": "= 1.0.0", "c": "= 1.0.0"}},
                 "b": {"1.0.0": {}, "2.0.0": {}}, "c": {"1.0.0": {}, "2.0.0": {}}}
    assert solve(available, {}, [("a", None), ("b", None), ("c", None)]) == {
        "a": "1.0.0", "b": "2.0.0", "c": "2.0.0"}


def test_then_most_other_cookbooks_at_their_newest() -> None:
    """`costVector[0] = total_not_preferred_at_latest`: with the run list tied, the most
    dependencies at their newest. x first (chef-zero's order) would cost y and z theirs."""
    available = {"a": {"1.0.0": {"x": "", "y": "", "z": ""}},
                 "x": {"1.0.0": {}, "2.0.0": {}},
                 "y": {"1.0.0": {}, "2.0.0": {"x": "= 1.0.0"}},
                 "z": {"1.0.0": {}, "2.0.0": {"x": "= 1.0.0"}}}
    assert solve(available, {}, [("a", None)]) == {
        "a": "1.0.0", "x": "1.0.0", "y": "2.0.0", "z": "2.0.0"}


def test_a_run_list_cookbook_outweighs_any_number_of_dependencies() -> None:
    """`ConstrainVectorLessThanBest` compares the vector most significant first: one run-list
    cookbook at its newest beats three dependencies at theirs."""
    available = {"a": {"1.0.0": {}, "2.0.0": {"x": "= 1.0.0", "y": "= 1.0.0", "z": "= 1.0.0"}},
                 "x": {"1.0.0": {}, "2.0.0": {}}, "y": {"1.0.0": {}, "2.0.0": {}},
                 "z": {"1.0.0": {}, "2.0.0": {}}}
    assert solve(available, {}, [("a", None)]) == {
        "a": "2.0.0", "x": "1.0.0", "y": "1.0.0", "z": "1.0.0"}


def test_newest_is_all_or_nothing() -> None:
    """`rel(*this, package_versions[index], IRT_EQ, maxVersion, at_latest[index])`: a 2.0.0
    scores no better than a 1.0.0 when 3.0.0 exists (here unusable: its dependency is missing,
    gecode_wrapper.rb `NoMatchConstraint`), so x at its newest decides. chef-zero takes a 2.0.0."""
    available = {"a": {"3.0.0": {"ghost": ""}, "2.0.0": {"x": "= 1.0.0"}, "1.0.0": {"x": ""}},
                 "x": {"1.0.0": {}, "2.0.0": {}}}
    assert solve(available, {}, [("a", None)]) == {"a": "1.0.0", "x": "2.0.0"}


def test_newest_means_newest_the_environment_allows() -> None:
    """depselector.rb: a version outside the environment's constraint is never added to the
    graph (`env_constraint.include?`), so maxVersion is the newest allowed. Pinning a below
    3.0.0 makes 2.0.0 its newest, which now outweighs x's."""
    available = {"a": {"3.0.0": {"ghost": ""}, "2.0.0": {"x": "= 1.0.0"}, "1.0.0": {"x": ""}},
                 "x": {"1.0.0": {}, "2.0.0": {}}}
    assert solve(available, {"a": "< 3.0"}, [("a", None)], environment="prod") == {
        "a": "2.0.0", "x": "1.0.0"}


def test_unused_cookbooks_reachable_from_old_versions_count() -> None:
    """selector.rb `trim_unreachable_packages` keeps every package any version can reach, and
    each is scored. old1 and old2 (only a dependency of app 1.0.0, not chosen) can both be at
    their newest only with lib 1.0.0: two against lib's one, so lib 1.0.0. `trim_solution`
    then leaves them out of the answer."""
    available = {"app": {"2.0.0": {"lib": ""}, "1.0.0": {"old1": "", "old2": ""}},
                 "lib": {"1.0.0": {}, "2.0.0": {}},
                 "old1": {"1.0.0": {"lib": "= 1.0.0"}}, "old2": {"1.0.0": {"lib": "= 1.0.0"}}}
    assert solve(available, {}, [("app", None)]) == {"app": "2.0.0", "lib": "1.0.0"}


def test_within_a_range_the_newest_that_fits() -> None:
    """Ties (neither at its newest) go to gecode's `INT_VAL_MAX`: the newest that fits."""
    available = {"a": {"1.0.0": {"c": ">= 1.0"}}, "b": {"1.0.0": {"c": "< 2.0"}},
                 "c": {"1.0.0": {}, "1.5.0": {}, "2.0.0": {}}}
    assert solve(available, {}, [("a", None), ("b", None)]) == {
        "a": "1.0.0", "b": "1.0.0", "c": "1.5.0"}


def test_one_cookbook_named_with_and_without_a_version_keeps_both_constraints() -> None:
    """chef_wm_depsolver.erl `remove_dups` drops only equal items, so `a` and `a@1.0.0` are
    two solution constraints and both hold (chef-zero would keep only the last)."""
    available = {"a": {"1.0.0": {}, "2.0.0": {}}}
    assert solve(available, {}, [("a", None), ("a", "= 1.0.0")]) == {"a": "1.0.0"}
