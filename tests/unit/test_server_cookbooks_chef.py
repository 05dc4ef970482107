"""What the config server accepts for cookbook versions and for json_class/chef_type, against
Chef Server (erchef), which production uses.

Sources: Chef Server chef/chef-server at 9df4f56e (/work/.mirror/chef+chef-server/repo):
erchef in src/oc_erchef/apps/chef_objects/src/ (cited `erchef FILE:LINE`) and
src/oc_erchef/apps/oc_chef_wm/src/, oc-chef-pedant in oc-chef-pedant/spec/api/ (`pedant`);
Chef 19.4.14 (/work/.mirror/chef+chef/repo); chef-zero 15.1.11.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
import urllib3

from harness.errors import UsageError
from harness.repo.cookbook import load_cookbook
from harness.server.serve import ConfigServer
from harness.server.status import status_of
from harness.server.store import Store

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CLASSES = {"role": "Chef::Role", "environment": "Chef::Environment", "node": "Chef::Node",
           "client": "Chef::ApiClient"}


def refused(call, match: str) -> None:
    """call() raises a UsageError whose message contains `match`, answered 400."""
    with pytest.raises(UsageError, match=re.escape(match)) as err:
        call()
    assert status_of(err.value) == 400


# --- json_class / chef_type of roles, environments, nodes ------------------------------------
@pytest.mark.parametrize("kind", ["role", "environment", "node", "client"])
@pytest.mark.parametrize("key, value", [
    ("json_class", "Chef::NotReallyAClass"), ("json_class", ""), ("json_class", None),
    ("json_class", 1999), ("chef_type", "node_or_role"), ("chef_type", None)])
def test_a_wrong_json_class_or_chef_type_is_refused(kind, key, value):
    """erchef chef_role.erl:83-84 `{<<"json_class">>, <<"Chef::Role">>}`, chef_node.erl:73-74
    `{<<"json_class">>, <<"Chef::Node">>}`, chef_environment.erl:106-107
    `{{opt, <<"json_class">>}, <<"Chef::Environment">>}`: an exact match once present (ej's
    `{opt, undefined}` only skips a missing key, so null is checked and fails). pedant
    roles/complete_endpoint_spec.rb:265 `should_fail_to_update_a_role 400, "Field 'json_class'
    invalid"`; environments/create_oss_spec.rb:203-214 fail "", 1999, "notaclass"."""
    store = Store()
    if value == "node_or_role":
        value = "role" if kind != "role" else "node"
    refused(lambda: store.put(kind, "web", {key: value}), f"Field '{key}' invalid")
    assert "web" not in store.names(kind)


@pytest.mark.parametrize("kind", ["role", "environment", "node"])
def test_json_class_and_chef_type_are_filled_when_missing_and_kept_when_right(kind):
    """erchef chef_role.erl:71-72 DEFAULT_FIELD_VALUES `{<<"json_class">>, <<"Chef::Role">>}`
    (chef_environment.erl:65-66, chef_node.erl:94-95 the same): a missing key is filled in;
    pedant environments/create_oss_spec.rb:201-202 `succeeds_with_value("json_class",
    "Chef::Environment")` and `succeeds_with_value("json_class", :delete)`."""
    store = Store()
    assert store.put(kind, "bare", {})
    assert store.put(kind, "full", {"json_class": CLASSES[kind], "chef_type": kind})
    for name in ("bare", "full"):
        doc = store.get(kind, name)
        assert (doc["json_class"], doc["chef_type"]) == (CLASSES[kind], kind)


def test_bulk_restore_refuses_a_wrong_json_class_and_changes_nothing():
    """The same rule on `/_bulk` (restore's path), which checks every document first:
    erchef chef_role.erl:83 applies to every role written, whichever way it is uploaded."""
    store = Store()
    refused(lambda: store.bulk({"roles": {"ok": {}, "bad": {"json_class": "Chef::Node"}}}),
            "Field 'json_class' invalid")
    assert store.names("role") == []


def test_http_put_of_a_role_with_another_json_class_is_a_400_and_not_stored():
    """pedant roles/complete_endpoint_spec.rb:258-265: a PUT without a name but with
    `"json_class" => "Chef::Node"` "should prevent the update": 400, Field 'json_class'
    invalid; the stored role is unchanged."""
    with ConfigServer(agent_pyz=b"PYZ") as server:
        server.store.put("role", "web", {"description": "before"})
        pool = urllib3.PoolManager(retries=False)
        body = json.dumps({"description": "after", "json_class": "Chef::Node"}).encode()
        response = pool.request("PUT", server.url + "/roles/web", body=body,
                                headers={"Authorization": f"Bearer {server.admin_token}"})
        assert response.status == 400
        assert "Field 'json_class' invalid" in json.loads(response.data)["error"][0]
        assert server.store.get("role", "web")["description"] == "before"


# --- cookbook versions -----------------------------------------------------------------------
@pytest.fixture
def store() -> Store:
    return Store()


def manifest(store: Store, **extra) -> dict:
    data = b"log('hi')\n"
    checksum = hashlib.sha256(data).hexdigest()
    store.put_file(checksum, data)
    return {"metadata": {"depends": {}}, "attributes": {"default": {}, "override": {}},
            "files": [{"path": "recipes/default.py", "checksum": checksum, "size": len(data)}],
            **extra}


@pytest.mark.parametrize("key", ["frozen?", "cookbook_name", "recipes", "all_files"])
def test_a_manifest_key_the_contract_does_not_have_is_refused_not_dropped(store, key):
    """erchef chef_cookbook_version.erl:224 validate_cookbook calls
    `chef_object_base:strictly_valid(Spec, ?VALID_KEYS, Cookbook)`, which throws
    `{invalid_key, Item}` (chef_object_base.erl:252) for a key it does not know. Ours has its
    own keys (contracts.md); dropping Chef's `frozen?: true` silently left the version open to
    overwrites that production refuses (409)."""
    refused(lambda: store.put_manifest("cb", "1.0.0", manifest(store, **{key: True})),
            f"unknown key '{key}'")
    with pytest.raises(Exception, match="no cookbook"):
        store.manifest("cb", "1.0.0")


def test_a_manifest_json_class_must_be_chefs(store):
    """erchef chef_cookbook_version.erl:91-92 fills `json_class` Chef::CookbookVersion and
    `chef_type` cookbook_version; :258-259 `{<<"json_class">>, <<"Chef::CookbookVersion">>}`
    refuses any other value."""
    assert store.put_manifest("cb", "1.0.0", manifest(
        store, json_class="Chef::CookbookVersion", chef_type="cookbook_version"))
    refused(lambda: store.put_manifest("cb", "1.0.1", manifest(store, json_class="Chef::Role")),
            "Field 'json_class' invalid")
    refused(lambda: store.put_manifest("cb", "1.0.1", manifest(store, chef_type="cookbook")),
            "Field 'chef_type' invalid")


def test_metadata_version_must_be_the_versions(store):
    """erchef chef_cookbook_version.erl:260-261 `{<<"metadata">>, {[{<<"version">>,
    CBVersion}, ...` : metadata.version must equal the URL's version. Ours overwrote it, so a
    body saying 2.0.0 was stored as 1.0.0."""
    refused(lambda: store.put_manifest("cb", "1.0.0", manifest(
        store, metadata={"version": "2.0.0"})), "metadata.version '2.0.0'")
    assert store.put_manifest("cb", "1.0.0", manifest(store, metadata={"version": "1.0.0"}))


@pytest.mark.parametrize("key, value", [
    ("description", 5), ("long_description", None), ("maintainer", ["a", "b"]),
    ("maintainer_email", {}), ("license", None)])
def test_metadata_text_fields_must_be_strings(store, key, value):
    """erchef chef_cookbook_version.erl:262-269 `{{opt, <<"maintainer">>}, string}` (and
    description, long_description, maintainer_email, license). Chef 19's Metadata#from_hash
    (lib/chef/cookbook/metadata.rb:478-482) copies them from metadata.json as they are, null
    included, and knife uploads them so."""
    refused(lambda: store.put_manifest("cb", "1.0.0", manifest(store, metadata={key: value})),
            f"metadata.{key} must be a string")


@pytest.mark.parametrize("key, value", [
    ("platforms", {"ubuntu": ">=20.04"}), ("platforms", {"ubuntu": "!= 20.04"}),
    ("platforms", {"ubuntu": [">= 20.04"]}), ("platforms", {"ubuntu": None}),
    ("platforms", {"ubuntu": ">= 20.04 "}), ("platforms", {"ubuntu": ">= 1.2.3.4"}),
    ("platforms", {"ubuntu": ">= 99999999999999999999"}),
    ("dependencies", {"apt": ""}), ("dependencies", {"apt": []}),
    ("dependencies", {"apt": [">= 1.0", "< 2.0"]}), ("dependencies", {"apt": "~>1.0"})])
def test_metadata_constraint_maps_take_chef_servers_grammar(store, key, value):
    """erchef chef_cookbook_version.erl:271-273 `constraint_map_spec(cookbook_name)`: each
    value goes through chef_object_base.erl:101-117 parse_constraint (`<<">= ",
    Version/binary>>`: the operator and ONE space, or a bare version) and is_valid_version
    (:373-409: 1 to 3 parts, each at most MAX_VERSION, :85). metadata.rb:549-553
    handle_incorrect_constraints sends `dependencies` values of zero or several items as
    `[]`, which erchef refuses (its fun_match wants a string)."""
    refused(lambda: store.put_manifest("cb", "1.0.0", manifest(store, metadata={key: value})),
            "not a constraint Chef Server takes")


@pytest.mark.parametrize("key, value", [
    ("platforms", {"ubuntu": ">= 20.04", "debian": "~> 12", "centos": "7"}),
    ("dependencies", {"apt": "~> 1", "base": ">= 0.0.0", "java": [">= 2.0"]}),
    ("dependencies", {}), ("platforms", {})])
def test_metadata_constraint_maps_chef_server_takes_pass(store, key, value):
    """The same grammar's accepted side: parse_constraint's bare version (implied `=`) and
    is_valid_version's one-part `1` (chef_cookbook_version.erl:409 `normalize_version([X]) ->
    [X, 0, 0]`); a one-element array is its element (metadata.rb:552 `constraints.first`)."""
    assert store.put_manifest("cb", "1.0.0", manifest(store, metadata={key: value}))
    assert store.manifest("cb", "1.0.0")["metadata"][key] == value


def test_metadata_constraint_map_keys_are_cookbook_names(store):
    """erchef chef_cookbook_version.erl:348-351 constraint_map_spec: `{keys, {string_match,
    chef_regex:regex_for(RegexName)}}`, cookbook_name = chef_regex.erl:129 NAME_REGEX (no ':')."""
    refused(lambda: store.put_manifest("cb", "1.0.0", manifest(
        store, metadata={"dependencies": {"a:b": ">= 1.0"}})), "bad metadata.dependencies name")


def test_an_attribute_level_the_contract_does_not_have_is_refused(store):
    """Ours (contracts.md: attributes {default, override}); `normal` was silently dropped,
    while Chef's cookbook attribute files have no normal level a cookbook could ship."""
    refused(lambda: store.put_manifest("cb", "1.0.0", manifest(
        store, attributes={"default": {}, "normal": {"a": 1}})), "attributes level 'normal'")


def test_latest_is_the_newest_version_as_is__latest(store):
    """oc_chef_wm chef_wm_cookbook_version.erl:223-225 `Special =:= <<"_latest">>; Special
    =:= <<"latest">> -> latest` for GET and DELETE; chef-zero cookbook_version_endpoint.rb:12
    `request.rest_path[4] == "_latest" || request.rest_path[4] == "latest"`."""
    for version in ("1.0.0", "1.10.0", "1.9.0"):
        store.put_manifest("cb", version, manifest(store))
    assert store.manifest("cb", "latest")["version"] == "1.10.0"
    assert store.delete_manifest("cb", "latest")["version"] == "1.10.0"
    assert store.manifest("cb", "_latest")["version"] == "1.9.0"


def test_a_chef_19_metadata_json_and_the_example_repo_still_store(store):
    """The checks refuse only what erchef refuses: a metadata.json as Chef 19 writes it
    (metadata.rb:441-461 to_h: strings, platforms/dependencies maps, chef_versions arrays)
    stores, and so does every cookbook of the example repo and of its backup/."""
    dirs = [FIXTURES / "chef_shapes/cookbooks/apache2"]
    for parent in ("cookbooks", "site-cookbooks", "backup/cookbooks"):
        dirs += sorted(p for p in (ROOT / parent).iterdir() if p.is_dir())
    for directory in dirs:
        cookbook = load_cookbook(directory)
        doc = cookbook.manifest()
        for path in cookbook.files:
            store.put_file(next(f["checksum"] for f in doc["files"] if f["path"] == path),
                           (directory / path).read_bytes())
        store.put_manifest(cookbook.name, cookbook.version, doc)
    assert store.manifest("apache2", "2.0.0")["metadata"]["platforms"] == {
        "debian": ">= 9.0", "ubuntu": ">= 18.04"}
