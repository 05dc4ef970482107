"""Run lists, constraints and policies held to Chef 19.4.14, chef-zero 15.1.11 and Chef Server
(erchef) source: each test quotes the line it pins."""
from __future__ import annotations

import pytest

from harness.errors import SolveError, UsageError
from harness.repo import Constraint, RunListItem, compile_policy, expand_run_list, parse_item, solve
from harness.repo.runlist import role_items
from harness.repo.validate import normal_run_list as normalise_run_list


def manifest(name: str, version: str, depends: dict[str, str] | None = None,
             default: dict[str, object] | None = None) -> dict[str, object]:
    return {"name": name, "version": version,
            "metadata": {"name": name, "version": version, "description": "",
                         "depends": depends or {}},
            "attributes": {"default": default or {}, "override": {}},
            "files": [{"path": "recipes/default.py", "checksum": "0" * 64, "size": 0}],
            "frozen": False}


class Source:
    """compile_policy's three reads over plain dicts."""

    def __init__(self, roles: dict[str, dict[str, object]], manifests: list[dict[str, object]]
                 ) -> None:
        self.roles = roles
        self.manifests: dict[str, dict[str, dict[str, object]]] = {}
        for m in manifests:
            self.manifests.setdefault(str(m["name"]), {})[str(m["version"])] = m

    def role(self, name: str) -> dict[str, object] | None:
        return self.roles.get(name)

    def environment(self, name: str) -> dict[str, object] | None:
        return None

    def cookbook_manifests(self) -> dict[str, dict[str, dict[str, object]]]:
        return self.manifests


# --- version constraints ---------------------------------------------------------------------

@pytest.mark.parametrize("parse", [Constraint.parse, Constraint.parse_depends])
def test_not_equal_is_not_a_chef_operator(parse: object) -> None:
    """Chef lib/chef/version_constraint.rb:23 `OPS = %w{< > = <= >= ~>}` (no `!=`), and an
    environment pin is checked with it by knife and by chef-client itself
    (lib/chef/environment.rb:313 `Chef::VersionConstraint.new version`, reached from
    lib/chef/node.rb:507 `Chef::Environment.load(chef_environment)`)."""
    with pytest.raises(UsageError, match="'!=' is not a Chef operator"):
        parse("!= 1.0.0")  # type: ignore[operator]


@pytest.mark.parametrize("text", [">=1.0", ">=  1.0", "~>1.2", " >= 1.0", ">= 1.0 ", ">=\t1.0",
                                  " 1.0", "1.0 ", "1.0\n", "~> 1", ">= 1", "1"])
def test_environment_pins_take_one_space_and_x_y(text: str) -> None:
    """Chef Server src/oc_erchef/apps/chef_objects/src/chef_object_base.erl:107
    `parse_constraint(<<">= ", Version/binary>>)`: the operator and exactly one space, else the
    whole string is read as a bare version and refused; Chef lib/chef/version_constraint.rb:24
    `PATTERN = /^(#{OPS.join("|")}) *([0-9].*)$/` refuses leading space, and
    lib/chef/version_class.rb `when /^(\\d+)\\.(\\d+)$/` refuses `1` and a trailing space."""
    with pytest.raises(UsageError, match="bad version constraint"):
        Constraint.parse(text)


def test_environment_pins_chef_accepts() -> None:
    """chef_object_base.erl:101-113: `< `, `> `, `<= `, `>= `, `~> `, `= ` or a bare version."""
    assert [str(Constraint.parse(t)) for t in ("< 1.0", "> 1.0.1", "<= 2.0", ">= 0.0.0",
                                               "~> 1.2", "= 1.2.3", "1.2.3", "01.2.3")] == [
        "< 1.0.0", "> 1.0.1", "<= 2.0.0", ">= 0.0.0", "~> 1.2", "= 1.2.3", "= 1.2.3", "= 1.2.3"]


@pytest.mark.parametrize("text,canonical,allowed,denied", [
    (">=1.0", ">= 1.0.0", ["1.0.0"], ["0.9.9"]),
    ("~>  1.2", "~> 1.2", ["1.9.0"], ["2.0.0", "1.1.0"]),
    ("~> 1", "~> 1.0", ["1.0.0", "1.9.9"], ["2.0.0", "0.9.0"]),
    (">= 1", ">= 1.0.0", ["1.0.0"], ["0.9.9"]),
    ("1", "= 1.0.0", ["1.0.0"], ["1.0.1"]),
])
def test_depends_take_metadata_rb_grammar(text: str, canonical: str, allowed: list[str],
                                          denied: list[str]) -> None:
    """Chef lib/chef/cookbook/metadata.rb:661 `Chef::VersionConstraint::Platform.new(constraint_str)`:
    lib/chef/version/platform.rb:50 `when /^(\\d+)$/` reads `1` as 1.0.0, and
    version_constraint.rb:24 ` *` takes any spaces; metadata.rb:290 stores
    `constraint.to_s`, one space. The canonical form is one environments accept, same meaning."""
    constraint = Constraint.parse_depends(text)
    assert str(constraint) == canonical
    assert Constraint.parse(canonical) == constraint
    assert [constraint.allows(v) for v in allowed] == [True] * len(allowed)
    assert [constraint.allows(v) for v in denied] == [False] * len(denied)


@pytest.mark.parametrize("text", [" >= 1.0", ">= 1.0 ", "1 .0", "1.2.3.4", ">= 1.0-rc1", ">= x",
                                  "", "=> 1.0", "1.0\n"])
def test_depends_refuse_what_metadata_rb_refuses(text: str) -> None:
    """version_constraint.rb:100 `str.index(" ").nil? && str =~ /^[0-9]/` (a bare version has
    no space), :24 `^(...)` (nothing before the operator), platform.rb:46-50 (1 to 3 numbers)."""
    with pytest.raises(UsageError, match="bad version constraint"):
        Constraint.parse_depends(text)


def test_solver_reads_depends_as_chef_writes_them() -> None:
    """chef-zero lib/chef_zero/endpoints/environment_cookbook_versions_endpoint.rb:130
    `constraint = Gem::Requirement.new(constraint)`: a dependency `~> 1` (as metadata.rb
    `depends "b", "~> 1"` stores it) means >= 1, < 2."""
    available = {"a": {"1.0.0": {"b": "~> 1"}}, "b": {"1.5.0": {}, "2.0.0": {}}}
    assert solve(available, {}, [("a", None)]) == {"a": "1.0.0", "b": "1.5.0"}


def test_solver_refuses_a_pin_chef_refuses() -> None:
    """version_constraint.rb:23 OPS has no `!=`: chef-client's Environment.load fails on it."""
    with pytest.raises(SolveError, match="'!=' is not a Chef operator"):
        solve({"a": {"1.0.0": {}}}, {"a": "!= 2.0.0"}, [("a", None)], environment="prod")


# --- run-list items and roles ----------------------------------------------------------------

@pytest.mark.parametrize("text,item", [
    ("zk@1.1.0", RunListItem("recipe", "zk", "1.1.0")),
    ("zk::server@1.2", RunListItem("recipe", "zk::server", "1.2.0")),
])
def test_a_bare_versioned_recipe_is_a_recipe(text: str, item: RunListItem) -> None:
    """Chef lib/chef/run_list/run_list_item.rb:23
    `VERSIONED_UNQUALIFIED_RECIPE = /^([^@]+)(@([0-9]+(\\.[0-9]+){1,2}))$/`; chef-zero
    lib/chef_zero/chef_data/data_normalizer.rb:270 stores it as `"recipe[#{item}]"`."""
    assert parse_item(text) == item
    assert str(parse_item(text)) == f"recipe[{item.name}@{item.version}]"


@pytest.mark.parametrize("text", ["zk@1", "zk@1.2.3.4", "zk@", "zk@v1.0", "..@1.0.0"])
def test_a_bare_recipe_with_a_bad_version_is_refused(text: str) -> None:
    """run_list_item.rb:23 wants `[0-9]+(\\.[0-9]+){1,2}` after the `@`."""
    with pytest.raises(UsageError, match="bad run-list item"):
        parse_item(text)


def test_a_bare_versioned_recipe_pins_the_solve() -> None:
    """run_list_item.rb:49-52: `recipe_name@1.0.0` carries its version like `recipe[...]`."""
    source = Source({}, [manifest("zk", "1.0.0"), manifest("zk", "2.0.0")])
    policy = compile_policy(source, name="n", environment="_default", run_list=["zk@1.0.0"])
    assert policy["cookbook_versions"] == {"zk": "1.0.0"}
    assert policy["recipes"] == ["zk::default"]


def test_env_run_lists_default_is_the_role_run_list() -> None:
    """Chef lib/chef/role.rb:179-184: `env_run_list_hash = { "_default" => o["run_list"] }`
    then `env_run_list_hash.merge!(o["env_run_lists"])`, so an `env_run_lists["_default"]`
    replaces `run_list`; role.rb:81-84 `run_list_for` falls back to `env_run_lists["_default"]`
    in every environment without its own list."""
    role = {"name": "r", "run_list": ["recipe[a]"],
            "env_run_lists": {"_default": ["recipe[b]"], "prod": ["recipe[c]"], "dev": []}}
    assert role_items(role, "_default") == ["recipe[b]"]
    assert role_items(role, "staging") == ["recipe[b]"]
    assert role_items(role, "prod") == ["recipe[c]"]
    assert role_items(role, "dev") == []
    assert role_items({"name": "r", "run_list": ["recipe[a]"], "env_run_lists": {}},
                      "staging") == ["recipe[a]"]
    expansion = expand_run_list(["role[r]"], "staging", {"r": role}.get)
    assert expansion.recipes == ["b::default"]


# --- the policy ------------------------------------------------------------------------------

def test_dependencies_load_in_name_order() -> None:
    """Chef lib/chef/run_context/cookbook_compiler.rb:442
    `cookbook.metadata.dependencies.keys.sort.map(&:to_sym).each(&block)`: a cookbook's
    dependencies are loaded (attributes, libraries) by name, not as metadata lists them, so
    the later name's default attribute wins."""
    source = Source({}, [
        manifest("app", "1.0.0", depends={"zeta": ">= 0.0.0", "alpha": ">= 0.0.0"},
                 default={"app": True}),
        manifest("zeta", "1.0.0", default={"x": "zeta"}),
        manifest("alpha", "1.0.0", default={"x": "alpha"})])
    policy = compile_policy(source, name="n", environment="_default", run_list=["recipe[app]"])
    assert list(policy["cookbook_versions"]) == ["alpha", "zeta", "app"]
    assert policy["attributes"] == {"x": "zeta", "app": True}


def test_solver_still_decides_depends_in_metadata_order() -> None:
    """chef-zero environment_cookbook_versions_endpoint.rb:92-93 walks
    `cookbook_dependencies.each_pair` unsorted: only the load order is sorted, not the search."""
    available = {"app": {"1.0.0": {"zeta": "", "alpha": ""}},
                 "zeta": {"1.0.0": {}, "2.0.0": {"alpha": "= 1.0.0"}},
                 "alpha": {"1.0.0": {}, "2.0.0": {}}}
    # zeta is decided first, so it keeps its newest version (alpha first would give 1.0.0/2.0.0)
    assert solve(available, {}, [("app", None)]) == {"app": "1.0.0", "zeta": "2.0.0",
                                                     "alpha": "1.0.0"}


def test_stored_run_lists_are_normalised_as_chef_server_stores_them() -> None:
    """Chef Server src/oc_erchef/apps/chef_objects/src/chef_object_base.erl:172-195
    `deduplicate_run_list([normalize_item(Item) || Item <- RunList])`, a bare item becoming
    `<<"recipe[", Recipe/binary, "]">>`; chef-zero data_normalizer.rb:262-272 the same, `.uniq`."""
    assert normalise_run_list(["zk", "role[base]", "recipe[zk]", "zk::server@1.0.0", "role[base]",
                               "recipe[zk::default]"]) == [
        "recipe[zk]", "role[base]", "recipe[zk::server@1.0.0]", "recipe[zk::default]"]


def test_a_role_cycle_through_env_run_lists_default_is_found(tmp_path) -> None:
    """chef/chef lib/chef/role.rb:179-186 from_hash: `env_run_list_hash = { "_default" =>
    o.fetch("run_list", []) }` then `env_run_list_hash.merge!(o["env_run_lists"])`: a role's
    `_default` env run list IS its run list, so a cycle through it is one in every environment
    without a list of its own, as expansion (role_items) reads it."""
    import json

    from harness.errors import ValidationError
    from harness.repo import load_repo
    (tmp_path / "roles").mkdir()
    (tmp_path / "roles/a.json").write_text(json.dumps({
        "name": "a", "run_list": ["role[b]"], "env_run_lists": {"_default": ["role[b]"]}}))
    (tmp_path / "roles/b.json").write_text(json.dumps({
        "name": "b", "run_list": [], "env_run_lists": {"_default": ["role[a]"]}}))
    with pytest.raises(ValidationError) as err:
        load_repo(tmp_path)
    assert "role cycle: a -> b -> a" in str(err.value)
