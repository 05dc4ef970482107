"""Repo documents and the server's documents against what Chef accepts and what chef-client sees.

Sources: Chef 19.4.14 (/work/.mirror/chef+chef/repo), chef-zero 15.1.11
(/work/.mirror/chef+chef-zero/repo) and Chef Server's erchef (chef/chef-server at
9df4f56e, src/oc_erchef/apps/chef_objects/src/, cited as `erchef FILE:LINE`).
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from harness.errors import UsageError, ValidationError
from harness.repo import load_repo
from harness.server.docs import DocumentStore


def write(root: Path, rel: str, doc: object) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


def problems(root: Path) -> list[str]:
    """Every problem message of load_repo(root) ([] when it loads)."""
    try:
        load_repo(root)
    except ValidationError as err:
        return [p.message for p in err.problems]
    return []


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write(tmp_path, "cookbooks/base/metadata.json", {"name": "base", "version": "1.0.0"})
    (tmp_path / "cookbooks/base/recipes").mkdir()
    (tmp_path / "cookbooks/base/recipes/default.py").write_text("log('hi')\n")
    write(tmp_path, "roles/web.json", {"run_list": ["recipe[base]"]})
    return tmp_path


@pytest.fixture
def docs() -> DocumentStore:
    return DocumentStore(threading.RLock())


# --- names ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["environment", "client"])
def test_server_refuses_a_colon_in_environment_and_client_names(docs: DocumentStore,
                                                                 kind: str) -> None:
    """erchef chef_regex.erl:62 `-define(NAME_CHAR_CLASS, "[.[:alnum:]_-]")`, used by
    regex_for(environment_name) (:132) and regex_for(client_name) (:138); roles take ':'
    (:151 role_name is ALTERNATIVE_NAME_REGEX "[.[:alnum:]_\\:-]+", :67)."""
    with pytest.raises(UsageError, match=f"bad {kind} name 'a:b'"):
        if kind == "client":
            docs.create_client("a:b")
        else:
            docs.put(kind, "a:b", {})
    assert docs.put("role", "a:b", {})           # Chef Server stores it (chef-client cannot)


@pytest.mark.parametrize("doc", [{"env_run_lists": {"a:b": []}}])
def test_server_refuses_a_colon_in_env_run_lists_keys(docs: DocumentStore, doc: dict) -> None:
    """erchef chef_json_validator.erl:76 env_run_lists keys are
    `{string_match, chef_regex:regex_for(environment_name)}`."""
    with pytest.raises(UsageError, match="bad environment name 'a:b'"):
        docs.put("role", "web", doc)


def test_server_refuses_a_colon_in_a_nodes_environment_and_in_pins(docs: DocumentStore) -> None:
    """erchef chef_node.erl:72 `{<<"chef_environment">>, {string_match,
    chef_regex:regex_for(environment_name)}}`; chef_environment.erl:110 cookbook_versions is
    constraint_map_spec(cookbook_name) (chef_regex.erl:129, no ':')."""
    with pytest.raises(UsageError, match="bad environment name 'a:b'"):
        docs.put("node", "n1", {"chef_environment": "a:b"})
    with pytest.raises(UsageError, match="bad cookbook name 'a:b'"):
        docs.put("environment", "prod", {"cookbook_versions": {"a:b": "= 1.0.0"}})


@pytest.mark.parametrize(("rel", "doc", "message"), [
    ("roles/web.app.json", {}, "bad role file name 'web.app'"),
    ("roles/a:b.json", {}, "bad role file name 'a:b'"),
    ("environments/prod.eu.json", {}, "bad environment file name 'prod.eu'"),
    ("nodes/n1.json", {"chef_environment": "prod.eu"}, "bad environment name 'prod.eu'"),
    ("roles/db.json", {"env_run_lists": {"prod.eu": []}}, "bad environment name 'prod.eu'"),
])
def test_loader_refuses_role_and_environment_names_chef_client_cannot_load(
        repo: Path, rel: str, doc: dict, message: str) -> None:
    """Chef Server stores them, then every run reaching them fails: role.rb:58
    `regex: /^[\\-[:alnum:]_]+$/` checked by Chef::Role.from_hash, which
    run_list/run_list_expansion.rb:222 calls for each role; environment.rb:61 the same rule,
    via Chef::Environment.load (node.rb:507) for the node's environment."""
    write(repo, rel, doc)
    found = problems(repo)
    assert any(m.startswith(message) for m in found), found
    assert "'_', '-' (no path separators" in next(m for m in found if m.startswith(message))


def test_loader_still_takes_dots_in_node_names(repo: Path) -> None:
    """node.rb:119 a node name matches `/^[\\-[:alnum:]_:.]+$/`."""
    write(repo, "nodes/web1.example.com.json", {"run_list": ["role[web]"]})
    assert problems(repo) == []


@pytest.mark.parametrize(("rel", "doc", "message"), [
    ("data_bags/a:b/x.json", {"id": "x"}, "bad data bag name 'a:b'"),
    ("data_bags/users/x:y.json", {"id": "x:y"}, "bad data bag item id 'x:y'"),
])
def test_loader_refuses_a_colon_in_data_bag_and_item_names(repo: Path, rel: str, doc: dict,
                                                           message: str) -> None:
    """dsl/data_query.rb:59-60 data_bag_item calls `DataBag.validate_name!(bag.to_s)` and
    `DataBagItem.validate_id!(item)`: data_bag.rb:35 `VALID_NAME = /^[\\.\\-[:alnum:]_]+$/`,
    data_bag_item.rb:39 `VALID_ID = /^[\\.\\-[:alnum:]_]+$/` (no ':'; Chef Server takes it)."""
    write(repo, rel, doc)
    found = problems(repo)
    assert any(m.startswith(message) for m in found), found


# --- run lists --------------------------------------------------------------------------------
RAW = ["nginx", "recipe[nginx]", "role[base]", "nginx::ssl", "role[base]"]
STORED = ["recipe[nginx]", "role[base]", "recipe[nginx::ssl]"]


def test_server_stores_run_lists_as_chef_server_does(docs: DocumentStore) -> None:
    """erchef chef_object_base.erl:172 `normalize_run_list(RunList) ->
    deduplicate_run_list([normalize_item(Item) || Item <- RunList])`: a bare item becomes
    recipe[...], exact duplicates go (chef-zero data_normalizer.rb normalize_run_list: `.uniq`)."""
    docs.put("role", "base", {})
    docs.put("role", "web", {"run_list": RAW, "env_run_lists": {"prod": RAW}})
    docs.put("node", "n1", {"run_list": RAW})
    role = docs.get("role", "web")
    assert role["run_list"] == STORED and role["env_run_lists"] == {"prod": STORED}
    assert docs.get("node", "n1")["run_list"] == STORED
    assert json.loads(docs.get_json("role", "web"))["run_list"] == STORED


def test_loader_reads_run_lists_as_knife_upload_writes_them(repo: Path) -> None:
    """chef_fs/data_handler/data_handler_base.rb:98-108 normalize_run_list: "name" ->
    "recipe[name]", then `.uniq` (role and node data handlers apply it before upload)."""
    write(repo, "roles/base.json", {})
    write(repo, "roles/web.json", {"run_list": ["base", "base::default", "recipe[base]"],
                                   "env_run_lists": {"prod": ["role[base]", "role[base]"]}})
    write(repo, "nodes/n1.json", {"run_list": ["base", "role[web]", "recipe[base]"]})
    loaded = load_repo(repo)
    assert loaded.roles["web"]["run_list"] == ["recipe[base]", "recipe[base::default]"]
    assert loaded.roles["web"]["env_run_lists"] == {"prod": ["role[base]"]}
    assert loaded.nodes["n1"]["run_list"] == ["recipe[base]", "role[web]"]


def test_loader_warns_when_env_run_lists_default_replaces_run_list(repo: Path) -> None:
    """role.rb:184 `env_run_list_hash.merge!(o["env_run_lists"])` over
    `{"_default" => run_list}`: chef-client takes env_run_lists._default in place of run_list."""
    write(repo, "roles/web.json", {"run_list": ["recipe[base]"],
                                   "env_run_lists": {"_default": []}})
    warnings = [w.message for w in load_repo(repo).warnings]
    assert any(w.startswith("env_run_lists._default differs from run_list") for w in warnings)
    write(repo, "roles/web.json", {"run_list": ["base"],
                                   "env_run_lists": {"_default": ["recipe[base]"]}})
    assert not [w for w in load_repo(repo).warnings if "env_run_lists" in w.message]


# --- unknown keys, _default -------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "doc"), [
    ("role", {"runlist": ["recipe[base]"]}),
    ("environment", {"attributes": {}}),
    ("node", {"tags": []}),
])
def test_server_refuses_unknown_keys(docs: DocumentStore, kind: str, doc: dict) -> None:
    """erchef chef_object_base.erl:252 `throw({invalid_key, Item})` (strictly_valid over
    chef_role.erl:94 VALID_KEYS, chef_environment.erl:72, chef_node.erl:87); node.rb:559
    "Chef Server rejects node JSON with extra keys". Dropping the key hid the mistake."""
    with pytest.raises(UsageError, match=f"unknown key '{next(iter(doc))}'"):
        docs.put(kind, "x", doc)


def test_server_takes_null_policy_fields_and_refuses_policyfiles(docs: DocumentStore) -> None:
    """node.rb:563-566 policy_name/policy_group are sent only when set; chef_node.erl:83-84
    accepts them, but Policyfiles are not supported here (as the repo loader says)."""
    assert docs.put("node", "n1", {"policy_name": None, "policy_group": None})
    with pytest.raises(UsageError, match="policy_name is not supported"):
        docs.put("node", "n1", {"policy_name": "web"})


def test_server_refuses_to_modify_the_default_environment(docs: DocumentStore) -> None:
    """chef-zero endpoints/environment_endpoint.rb:20 `error(405, "The '_default' environment
    cannot be modified.")` on PUT."""
    with pytest.raises(UsageError, match="'_default' environment cannot be modified"):
        docs.put("environment", "_default", {"cookbook_versions": {"base": "= 1.0.0"}})
    with pytest.raises(UsageError, match="cannot be modified"):
        docs.put("environment", "_default", {"default_attributes": {"a": 1}})
    before = docs.get_json("environment", "_default")
    docs.put("environment", "_default", json.loads(before))       # unchanged: a no-op
    assert docs.get_json("environment", "_default") == before


# --- data bag items ---------------------------------------------------------------------------
WRAPPED = {"name": "data_bag_item_users_ops", "json_class": "Chef::DataBagItem",
           "chef_type": "data_bag_item", "data_bag": "users",
           "raw_data": {"id": "ops", "shell": "/bin/bash"}}


def test_server_stores_a_wrapped_item_unwrapped(docs: DocumentStore) -> None:
    """erchef chef_data_bag_item.erl:227-237 unwrap_item: raw_data when json_class is
    Chef::DataBagItem (what DataBagItem#to_json sends, data_bag_item.rb:124-132)."""
    docs.create_bag("users")
    docs.put_item("users", "ops", WRAPPED)
    assert docs.get_item("users", "ops") == {"id": "ops", "shell": "/bin/bash"}


def test_loader_unwraps_a_wrapped_item(repo: Path) -> None:
    """chef_fs/data_handler/data_bag_item_data_handler.rb:11-13 "If it's wrapped with
    raw_data, unwrap it." before upload."""
    write(repo, "data_bags/users/ops.json", WRAPPED)
    assert load_repo(repo).data_bags["users"]["ops"] == {"id": "ops", "shell": "/bin/bash"}


@pytest.mark.parametrize("key", ["chef_type", "json_class", "data_bag"])
def test_loader_refuses_item_keys_chef_client_removes(repo: Path, key: str) -> None:
    """data_bag_item.rb:136-140 Chef::DataBagItem.from_hash: `h.delete("chef_type")`,
    `h.delete("json_class")`, `item.data_bag(h.delete("data_bag"))`: a recipe never sees them."""
    write(repo, "data_bags/users/ops.json", {"id": "ops", key: "x"})
    assert any(m.startswith(f"key {key!r} is removed by chef-client") for m in problems(repo))
