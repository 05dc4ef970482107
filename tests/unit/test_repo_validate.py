"""Every validation rule: the problem names the file (and line), and all are reported at once."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harness.errors import Problem, ValidationError
from harness.repo import load_repo


def write(root: Path, rel: str, doc: object) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(doc, str):
        path.write_text(doc)
    elif rel.endswith(".json"):
        path.write_text(json.dumps(doc, indent=2))
    else:
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def cookbook(root: Path, name: str, version: str = "1.0.0", depends: object = None,
             recipes: tuple[str, ...] = ("default",), where: str = "cookbooks") -> Path:
    meta: dict = {"name": name, "version": version}
    if depends is not None:
        meta["depends"] = depends
    path = write(root, f"{where}/{name}/metadata.yaml", meta)
    for recipe in recipes:
        write(root, f"{where}/{name}/recipes/{recipe}.py", "log('hi')\n")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A valid repo that each test breaks in one way."""
    cookbook(tmp_path, "base")
    cookbook(tmp_path, "zk", depends={"base": ">= 1.0"}, recipes=("default", "server"))
    write(tmp_path, "roles/base.yaml", {"name": "base", "run_list": ["recipe[base]"]})
    write(tmp_path, "roles/zk.json", {"name": "zk",
                                      "run_list": ["role[base]", "recipe[zk::server]"]})
    write(tmp_path, "environments/production.yaml", {"name": "production",
                                                     "cookbook_versions": {"zk": "~> 1.0"}})
    load_repo(tmp_path)
    return tmp_path


def problems(root: Path) -> list[Problem]:
    with pytest.raises(ValidationError) as err:
        load_repo(root)
    assert str(err.value) == "\n".join(str(p) for p in err.value.problems)
    return err.value.problems


def only(root: Path) -> Problem:
    found = problems(root)
    assert len(found) == 1, found
    return found[0]


def test_unknown_key_names_file_and_line(repo: Path) -> None:
    path = write(repo, "roles/web.yaml", "name: web\nrun_list: []\nrunlist:\n  - recipe[base]\n")
    problem = only(repo)
    assert (problem.path, problem.line) == (str(path), 3)
    assert "unknown key 'runlist' in role" in problem.message


def test_wrong_types(repo: Path) -> None:
    path = write(repo, "environments/staging.json",
                 {"name": "staging", "cookbook_versions": ["zk"], "default_attributes": "x"})
    found = problems(repo)
    assert [(p.path, p.line) for p in found] == [(str(path), 3), (str(path), 6)]
    assert found[0].message == "cookbook_versions must be a mapping, not a list"
    assert found[1].message == "default_attributes must be a mapping, not a string"


def test_json_syntax_error_has_the_parsers_line(repo: Path) -> None:
    path = write(repo, "roles/bad.json", '{\n  "name": "bad",\n  "run_list": [,]\n}\n')
    problem = only(repo)
    assert (problem.path, problem.line) == (str(path), 3)
    assert problem.message.startswith("invalid JSON")


def test_yaml_syntax_error_has_the_parsers_line(repo: Path) -> None:
    path = write(repo, "nodes/n1.yaml", "name: n1\nrun_list:\n  - role[zk]\n bad: [\n")
    problem = only(repo)
    assert problem.path == str(path) and problem.line in (4, 5)
    assert problem.message.startswith("invalid YAML")


def test_not_a_mapping_and_not_utf8(repo: Path) -> None:
    write(repo, "roles/list.yaml", "- a\n- b\n")
    (repo / "roles" / "bin.json").write_bytes(b'{"name":\n "\xff"}')
    found = {Path(p.path).name: p for p in problems(repo)}
    assert found["list.yaml"].message == "a role must be a mapping, not a list"
    assert (found["bin.json"].message, found["bin.json"].line) == ("not UTF-8 text", 2)


def test_values_json_cannot_carry(repo: Path) -> None:
    write(repo, "data_bags/b/i.yaml", "id: i\nweird: !!set {a, b}\nnum: .nan\n")
    write(repo, "data_bags/b/k.yaml", "id: k\n1: one\n")
    write(repo, "data_bags/b/n.json", '{"id": "n", "x": NaN}')
    write(repo, "data_bags/b/big.json", '{"id": "big", "x": ' + "9" * 5000 + "}")
    write(repo, "data_bags/b/inf.json", '{"id": "inf", "x": 1e999}')
    write(repo, "data_bags/b/deep.json", '{"id": "deep", "x": ' + "[" * 150 + "]" * 150 + "}")
    found = {Path(p.path).name: p for p in problems(repo)}
    assert found["big.json"].message.startswith("invalid JSON: Exceeds the limit")
    assert found["inf.json"].message == "invalid JSON: 1e999 is too large for a number"
    assert found["deep.json"].message == "nested deeper than 100 levels (or a recursive alias)"
    assert found["i.yaml"].message == "a set is not a JSON value"
    assert found["i.yaml"].line == 2
    assert "key 1 is not a string" in found["k.yaml"].message
    assert found["n.json"].message == "invalid JSON: NaN is not a JSON number"


def test_missing_role_recipe_and_cookbook(repo: Path) -> None:
    path = write(repo, "roles/web.yaml", {"name": "web", "run_list": [
        "role[base]", "role[ghost]", "recipe[zk::client]", "recipe[nginx]", "recipe[zk@1.0.0]"]})
    found = problems(repo)
    assert [(p.path, p.line) for p in found] == [(str(path), 4), (str(path), 5), (str(path), 6)]
    assert "no role 'ghost'" in found[0].message
    assert found[1].message == "recipe[zk::client]: cookbook zk has no recipes/client.py"
    assert "no cookbook 'nginx'" in found[2].message


def test_node_references(repo: Path) -> None:
    path = write(repo, "nodes/n1.json", {"name": "n1", "chef_environment": "staging",
                                         "run_list": ["role[zk]", "role[nope]"]})
    found = problems(repo)
    assert {p.path for p in found} == {str(path)}
    assert sorted(p.message for p in found) == [
        "no environment 'staging' (environments/staging.json or .yaml)",
        "no role 'nope' (roles/nope.json or .yaml)"]
    assert sorted(p.line for p in found) == [3, 6]


def test_env_run_lists_are_checked_too(repo: Path) -> None:
    write(repo, "roles/base.yaml", {"name": "base", "run_list": ["recipe[base]"],
                                    "env_run_lists": {"production": ["recipe[base::nope]"],
                                                      "../x": []}})
    found = problems(repo)
    assert sorted(p.message.split(": ")[0] for p in found) == ["bad environment name '../x'",
                                                              "recipe[base::nope]"]


def test_role_cycle_names_the_cycle(repo: Path) -> None:
    path = write(repo, "roles/a.yaml", {"name": "a", "run_list": ["recipe[base]", "role[b]"]})
    write(repo, "roles/b.yaml", {"name": "b", "run_list": ["role[a]"]})
    problem = only(repo)
    assert problem.message == "role cycle: a -> b -> a"
    assert (problem.path, problem.line) == (str(path), 4)


def test_role_cycle_only_in_one_environment(repo: Path) -> None:
    write(repo, "roles/a.yaml", {"name": "a", "run_list": [],
                                 "env_run_lists": {"production": ["role[b]"]}})
    write(repo, "roles/b.yaml", {"name": "b", "run_list": ["role[a]"]})
    assert only(repo).message == "role cycle in environment production: a -> b -> a"


def test_cookbook_dependency_cycle(repo: Path) -> None:
    path = cookbook(repo, "base", depends={"zk": ""})
    problem = only(repo)
    assert problem.message == "cookbook dependency cycle: base -> zk -> base"
    assert (problem.path, problem.line) == (str(path), 4)


def test_dependency_on_a_missing_cookbook(repo: Path) -> None:
    cookbook(repo, "app", depends=["base", "ghost >= 1.0"])
    problem = only(repo)
    assert "depends on 'ghost'" in problem.message and problem.line == 5


def test_bad_versions_and_constraints(repo: Path) -> None:
    meta = cookbook(repo, "app", version="1.x", depends={"base": "> = 1"})
    env = write(repo, "environments/staging.yaml", {"name": "staging",
                                                    "cookbook_versions": {"zk": "latest"}})
    write(repo, "cookbooks/num/metadata.yaml", "name: num\nversion: 1.10\n")
    found = {(Path(p.path).parent.name, Path(p.path).name, p.line): p.message
             for p in problems(repo)}
    assert found[("app", "metadata.yaml", 2)].startswith("bad version '1.x'")
    assert found[("app", "metadata.yaml", 4)].startswith("depends[base]: bad version constraint")
    assert found[("environments", "staging.yaml", 3)].startswith(
        "cookbook_versions[zk]: bad version constraint 'latest'")
    assert "quote it" in found[("num", "metadata.yaml", 2)]
    assert {str(meta), str(env)} <= {str(repo / "cookbooks" / k[0] / k[1]) for k in found} | {
        str(env)}


def test_names_with_path_separators_or_dots(repo: Path) -> None:
    write(repo, "roles/evil.yaml", {"name": "../evil"})
    write(repo, "data_bags/bag/x.json", {"id": "a/b"})
    write(repo, "roles/sp ace.json", {"name": "sp ace"})
    cookbook(repo, "cb:colon")
    found = sorted(p.message for p in problems(repo))
    assert found[0].startswith("bad cookbook directory name 'cb:colon'")
    assert any(m.startswith("bad data bag item id 'a/b'") for m in found)
    assert any(m.startswith("bad role name '../evil'") for m in found)
    assert any(m.startswith("bad role file name 'sp ace'") for m in found)
    assert len(found) == 4


def test_name_or_id_disagreeing_with_the_file_name(repo: Path) -> None:
    write(repo, "roles/web.yaml", {"name": "webserver"})
    write(repo, "environments/prod.json", {"name": "production"})
    write(repo, "nodes/n1.yaml", {"name": "n2"})
    write(repo, "data_bags/users/ops.json", {"id": "root"})
    cookbook(repo, "other")
    (repo / "cookbooks" / "other").rename(repo / "cookbooks" / "renamed")
    found = sorted(p.message for p in problems(repo))
    assert found == [
        "cookbook name 'other' does not match its directory 'renamed'",
        "environment name 'production' does not match the file name 'prod'",
        "item id 'root' does not match the file name 'ops' (data bag users)",
        "node name 'n2' does not match the file name 'n1'",
        "role name 'webserver' does not match the file name 'web'"]


def test_cookbook_in_both_directories(repo: Path) -> None:
    cookbook(repo, "base", where="site-cookbooks")
    problem = only(repo)
    assert problem.path == str(repo / "site-cookbooks" / "base")
    assert "in both cookbooks/ and site-cookbooks/" in problem.message


def test_cookbook_directory_problems(repo: Path) -> None:
    write(repo, "cookbooks/nometa/recipes/default.py", "")
    write(repo, "cookbooks/rbonly/metadata.rb", "name 'rbonly'\n")
    cookbook(repo, "two")
    write(repo, "cookbooks/two/metadata.json", {"name": "two", "version": "1.0.0"})
    cookbook(repo, "attrs")
    write(repo, "cookbooks/attrs/attributes/default.yaml", "- not a mapping\n")
    write(repo, "cookbooks/attrs/attributes/extra.yaml", "a: 1\n")
    found = sorted(p.message for p in problems(repo))
    assert found == [
        "attribute files are attributes/default.{json,yaml} and attributes/override.*",
        "attributes must be a mapping",
        "more than one metadata file: metadata.json, metadata.yaml",
        "no metadata.json or metadata.yaml",
        "no metadata.json or metadata.yaml (metadata.rb is not read: `knife cookbook metadata` "
        "writes metadata.json)"]


def test_unknown_metadata_key_and_chef_keys_accepted(repo: Path) -> None:
    write(repo, "cookbooks/base/metadata.yaml", {"name": "base", "version": "1.0.0",
                                                 "maintainer": "ops", "license": "MIT",
                                                 "dependz": {}})
    problem = only(repo)
    assert "unknown metadata key 'dependz'" in problem.message and problem.line == 5


def test_duplicate_definitions_and_ruby_files(repo: Path) -> None:
    write(repo, "roles/zk.yaml", {"name": "zk"})
    write(repo, "roles/legacy.rb", "name 'legacy'\n")
    write(repo, "roles/README.md", "ignored\n")
    found = sorted(p.message for p in problems(repo))
    assert found == ["'zk' is also defined in zk.json",
                     "Ruby DSL files are not read: convert to JSON (knife ... show -F json) "
                     "or YAML"]


def test_json_class_and_chef_type_must_match(repo: Path) -> None:
    write(repo, "roles/web.json", {"name": "web", "json_class": "Chef::Environment",
                                   "chef_type": "role"})
    assert only(repo).message == ("json_class must be 'Chef::Role' in a role, "
                                  "not 'Chef::Environment'")


def test_default_environment_cannot_be_changed(repo: Path) -> None:
    write(repo, "environments/_default.json", {"name": "_default",
                                               "cookbook_versions": {"zk": "= 1.0.0"}})
    assert "the _default environment cannot be changed" in only(repo).message


def test_bad_run_list_items(repo: Path) -> None:
    path = write(repo, "roles/web.yaml", {"name": "web", "run_list": ["recipe[base]",
                                                                      "recipe[zk@x]", 3]})
    found = problems(repo)
    assert [(p.path, p.line) for p in found] == [(str(path), 4), (str(path), 5)]
    assert found[0].message.startswith("bad run-list item 'recipe[zk@x]'")
    assert found[1].message == "run-list item must be a string, not int"


def test_a_broken_file_is_reported_once(repo: Path) -> None:
    """Roles referring to a role whose file does not parse get no second problem."""
    write(repo, "roles/base.yaml", "name: base\nrun_list: [\n")
    write(repo, "cookbooks/zk/metadata.yaml", "name: zk\nversion: 1.0.0\ndepends: {base: [\n")
    found = problems(repo)
    assert sorted(Path(p.path).parent.name for p in found) == ["roles", "zk"]


def test_all_problems_of_a_repo_are_reported_together(repo: Path) -> None:
    write(repo, "roles/a.yaml", {"name": "a", "run_list": ["role[ghost]"], "colour": "red"})
    write(repo, "roles/b.json", '{"name": "b",}')
    write(repo, "environments/e.yaml", {"name": "e", "cookbook_versions": {"zk": "= x"}})
    write(repo, "nodes/n.yaml", {"name": "m"})
    write(repo, "data_bags/users/u.yaml", "- 1\n")
    cookbook(repo, "bad", version="one")
    cookbook(repo, "base", where="site-cookbooks")
    found = problems(repo)
    assert len(found) == 8
    assert len({p.path for p in found}) == 7


def test_missing_repo_directory(tmp_path: Path) -> None:
    problem = only(tmp_path / "nope")
    assert problem.message == "not a directory (expected a config repo)"
