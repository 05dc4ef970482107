"""The node object, encrypted items and apt_repository's default distribution, pinned to
Chef 19.4.14 (chef/chef) and chef-whitelist where ours differed."""
from __future__ import annotations

import pytest
from test_agent_crypto import SECRET, encrypt_value
from test_agent_support import FakeApi, FakeRunner, context

from harness.agent import apt
from harness.agent.apt import AptRepository
from harness.agent.cookbooks import FileCache
from harness.agent.crypto import is_encrypted as agent_is_encrypted
from harness.agent.errors import RecipeError
from harness.agent.node import Node
from harness.agent.runner import Run
from harness.repo.encrypted import encrypt_value as host_encrypt
from harness.repo.encrypted import is_encrypted as host_is_encrypted


def run_recipe(tmp_path, recipe: str, **api_args):
    api = FakeApi("app-1", cookbooks={"app": {"recipes/default.py": recipe}},
                  recipes=["app::default"], roles=["app"], **api_args)
    run = Run(api, "app-1", secret=SECRET, facts={"fqdn": "app-1", "ipaddress": "10.0.0.9"},
              cache=FileCache(tmp_path / "c"), run=FakeRunner(), out=lambda line: None)
    return run, run.execute()


@pytest.mark.parametrize("method", ["roles", "recipes"])
def test_node_has_no_roles_or_recipes_method(tmp_path, method):
    """node.rb: Node#method_missing forwards to `attributes.public_send`, and neither
    Chef::Node::Attribute nor its mashes define `roles`/`recipes` (lib/chef/node/ has no
    method_missing), so `node.roles` is NoMethodError in Chef 19. Here it fails the run as any
    unknown node method does; node["roles"] / node["recipes"] are the values."""
    run, report = run_recipe(tmp_path, f"x = node.{method}\n")
    assert report["status"] == "failure"
    assert report["failure"]["message"] == (
        f"recipe app::default (app/recipes/default.py:1): AttributeError: 'Node' object has "
        f"no attribute '{method}'")
    _, report = run_recipe(tmp_path, "node.run_state['r'] = (node['roles'], node['recipes'])\n")
    assert report["status"] == "success", report["failure"]


def test_allowlist_with_no_fqdn_fails_as_chef_whitelist(tmp_path):
    """Ohai's fqdn is nil when the hostname does not resolve; chef-whitelist's
    is_in_whitelist? calls `File.fnmatch?(pattern, self[:fqdn])`, a TypeError on nil
    (etsy/chef-whitelist libraries/whitelist.rb). Ours matched the node name instead.
    Roles are Chef's role?: `node[:roles]`."""
    item = {"id": "beta", "patterns": ["app-*"], "roles": ["app"]}
    node = Node("app-1", "production", {"fqdn": None}, roles=["app"],
                data_bag_item=lambda bag, name: item)
    with pytest.raises(RecipeError, match="no implicit conversion of nil into String"):
        node.in_allowlist("beta")
    node = Node("app-1", "production", {"fqdn": None}, roles=["app"],
                data_bag_item=lambda bag, name: {"id": "beta", "roles": ["app"]})
    assert node.in_allowlist("beta") is True


def mixed(encrypt) -> dict:
    return {"id": "db", "username": "app", "password": encrypt("hunter2")}


@pytest.mark.parametrize("is_encrypted, encrypt", [
    (agent_is_encrypted, encrypt_value),
    (host_is_encrypted, lambda v: host_encrypt(v, SECRET, 1)),
    (host_is_encrypted, lambda v: host_encrypt(v, SECRET, 2)),
    (host_is_encrypted, lambda v: host_encrypt(v, SECRET, 3)),
])
def test_an_item_is_encrypted_only_when_every_value_looks_encrypted(is_encrypted, encrypt):
    """encrypted_data_bag_item/check_encrypted.rb encrypted?: an item with a value besides
    "id", all of whose non-id values looks_like_encrypted?, i.e. a hash whose keys are
    exactly its version's encryptor_keys (v1 cipher encrypted_data iv version, v2 + hmac,
    v3 auth_tag cipher encrypted_data iv version). Ours said yes when any value had
    encrypted_data and iv."""
    value = encrypt("x")
    assert is_encrypted({"id": "db", "a": value, "b": encrypt("y")})
    assert not is_encrypted(mixed(encrypt))
    assert not is_encrypted({"id": "db"})
    assert not is_encrypted({"id": "db", "a": {**value, "note": "extra key"}})
    assert not is_encrypted({"id": "db", "a": {k: v for k, v in value.items()
                                               if k != "cipher"}})
    assert not is_encrypted({"id": "db", "a": {**value, "version": 4}})
    assert is_encrypted({"id": "db", "a": {**value, "version": float(value["version"])}})


def test_a_mixed_item_is_returned_as_stored_without_a_secret(tmp_path):
    """dsl/data_query.rb data_bag_item decrypts only `if encrypted?(item.raw_data)`: a mixed
    item comes back raw (the password is the encrypted hash), and needs no secret."""
    item = mixed(encrypt_value)
    run, report = run_recipe(tmp_path, "node.run_state['db'] = data_bag_item('app', 'db')\n",
                             bags={"app": {"db": item}})
    assert report["status"] == "success", report["failure"]
    assert run.ctx.node.run_state["db"] == item


@pytest.fixture
def keyrings(tmp_path, monkeypatch):
    monkeypatch.setattr(apt, "KEYRINGS", str(tmp_path / "keyrings"))


@pytest.mark.parametrize("lsb, line", [
    ({}, "deb      http://h/d main\n"),                           # no lsb_release (our images)
    ({"codename": "bookworm"}, "deb      http://h/d bookworm main\n"),
])
def test_default_distribution_is_the_lsb_codename_only(keyrings, lsb, line):
    """apt_repository.rb: `property :distribution, [String, nil, FalseClass], default: lazy {
    node["lsb"]["codename"] }`, and build_repo joins `[optstr, uri, distribution,
    components].compact`, so a nil codename is left out of the line. Ours fell back to
    os-release's VERSION_CODENAME and wrote a line that apt accepts."""
    ctx, _ = context(node={"lsb": lsb}, run=FakeRunner())
    res = AptRepository(ctx, "r", uri="http://h/d", components=["main"], key=None)
    assert res.content() == line


def test_a_given_distribution_is_used_as_ruby_writes_it(keyrings):
    """distribution nil (given) is nil, not the default; false is interpolated "false"."""
    ctx, _ = context(node={"lsb": {"codename": "bookworm"}}, run=FakeRunner())
    args = {"uri": "http://h/d", "components": ["main"], "key": None}
    assert AptRepository(ctx, "r", distribution=None, **args).content() == \
        "deb      http://h/d main\n"
    assert AptRepository(ctx, "r", distribution=False, **args).content() == \
        "deb      http://h/d false main\n"
    assert AptRepository(ctx, "r", distribution="stable", **args).content() == \
        "deb      http://h/d stable main\n"
