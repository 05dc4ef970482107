"""Who may write a node: the client that created it, as Chef Server's default ACLs say.

Chef Server gives the clients group read and create on the nodes container, never update or
delete; a new node inherits its container's ACL and its creator gets every permission. So a
client updates only the node it created: not one the admin (knife, a restore) created, nor
one an earlier client of the same name created before it was deleted and registered again.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.agent import cli
from harness.agent.errors import ConfigError
from harness.server.serve import ConfigServer


@pytest.fixture
def server():
    with ConfigServer() as srv:
        srv.validator = srv.store.create_client("validator", validator=True)
        yield srv



def call(http, server, method, path, body=None, token=None):
    token = token or server.admin_token
    data = None if body is None else json.dumps(body).encode()
    response = http.request(method, server.url + path, body=data,
                            headers={"Authorization": f"Bearer {token}"})
    return response.status, json.loads(response.data)


def register(http, server, name):
    status, doc = call(http, server, "POST", "/clients", {"name": name}, server.validator)
    assert status == 201, doc
    return doc["token"]


def test_a_client_updates_the_node_it_created(server, http):
    """chef-server oc_chef_authz.erl:155 create_entity_with_container_acl: "create_resource
    (RequestorId, ...)" then "Ensure it inherits the ACL of its container": the creating
    client holds every permission on its node."""
    token = register(http, server, "web1")
    assert call(http, server, "PUT", "/nodes/web1", {"name": "web1"}, token)[0] == 201
    assert call(http, server, "PUT", "/nodes/web1", {"run_list": ["recipe[a]"]}, token)[0] == 200
    # the admin's update (knife node edit, flip) keeps the node's ACL, so its creator still may
    assert call(http, server, "PUT", "/nodes/web1", {"run_list": ["recipe[b]"]})[0] == 200
    assert call(http, server, "PUT", "/nodes/web1", {"run_list": ["recipe[c]"]}, token)[0] == 200


@pytest.mark.parametrize("how", ["post", "put", "bulk", "restore"])
def test_a_client_may_not_update_a_node_the_admin_created(server, http, how):
    """chef-server oc_chef_authz_org_creator.erl:102 `{add_acl, [{container, nodes}], [read,
    create], [{group, clients}]}`; oc-chef-pedant spec/api/account/account_acl_spec.rb:957
    a node the admin created: `update_groups { %w{users admins} }` (no clients). chef-client
    reads it (Node.find_or_create) and fails at the end of its run on the save's PUT."""
    doc = {"name": "db1", "run_list": []}
    if how == "post":
        assert call(http, server, "POST", "/nodes", doc)[0] == 201
    elif how == "put":
        assert call(http, server, "PUT", "/nodes/db1", doc)[0] == 201
    elif how == "bulk":
        assert call(http, server, "POST", "/_bulk", {"nodes": {"db1": doc}})[0] == 200
    else:
        sid = call(http, server, "POST", "/_restore", {})[1]["id"]
        assert call(http, server, "POST", f"/_restore/{sid}/bulk", {"nodes": {"db1": doc}})[0] \
            == 200
        assert call(http, server, "POST", f"/_restore/{sid}/commit", {"keep": ["nodes"]})[0] \
            == 200
    token = register(http, server, "db1")
    assert call(http, server, "GET", "/nodes/db1", None, token)[0] == 200  # read: yes
    status, answer = call(http, server, "PUT", "/nodes/db1", doc, token)
    assert status == 403, answer
    assert "missing update permission on node db1: the admin created it" in answer["error"][0]
    # once the admin deletes it, the client creates (and so owns) it again
    assert call(http, server, "DELETE", "/nodes/db1")[0] == 200
    assert call(http, server, "PUT", "/nodes/db1", doc, token)[0] == 201
    assert call(http, server, "PUT", "/nodes/db1", doc, token)[0] == 200


def test_a_node_the_admin_creates_for_an_existing_client_stays_that_clients(server, http):
    """Not Chef's default (a node the admin creates grants no client update: pedant
    account_acl_spec.rb:957), but what an operator gets after `knife acl add` and what
    test_server_search_stall.py relies on: the admin makes the client, then its node. Pinned so
    the gap is known."""
    token = call(http, server, "POST", "/clients", {"name": "web1"})[1]["token"]
    assert call(http, server, "PUT", "/nodes/web1", {"name": "web1"})[0] == 201
    assert call(http, server, "PUT", "/nodes/web1", {"name": "web1"}, token)[0] == 200


def test_a_client_registered_again_may_not_update_the_old_clients_node(server, http):
    """chef-server oc_chef_wm_base.erl:740 a new client is a new authz actor (added to the
    clients group by its authz id); the node's ACL names the deleted client's actor, so
    re-bootstrapping a host whose client was deleted but whose node was kept gets 403 on the
    node save."""
    old = register(http, server, "web1")
    assert call(http, server, "PUT", "/nodes/web1", {"name": "web1"}, old)[0] == 201
    assert call(http, server, "DELETE", "/clients/web1")[0] == 200
    new = register(http, server, "web1")
    status, answer = call(http, server, "PUT", "/nodes/web1", {"name": "web1"}, new)
    assert status == 403 and "another client created it" in answer["error"][0]


def test_a_restore_keeps_the_creator_of_the_nodes_it_lays_over(server, http):
    """A restore that keeps nodes updates the ones it lays over (an update keeps Chef's ACL:
    oc_chef_authz.erl sets the ACL only in create_entity_with_container_acl); a wipe leaves
    no node to own."""
    token = register(http, server, "web1")
    assert call(http, server, "PUT", "/nodes/web1", {"name": "web1"}, token)[0] == 201
    sid = call(http, server, "POST", "/_restore", {})[1]["id"]
    call(http, server, "POST", f"/_restore/{sid}/bulk", {"nodes": {"web1": {"name": "web1"}}})
    assert call(http, server, "POST", f"/_restore/{sid}/commit", {"keep": ["nodes"]})[0] == 200
    assert call(http, server, "PUT", "/nodes/web1", {"name": "web1"}, token)[0] == 200
    assert call(http, server, "POST", "/_wipe", {})[0] == 200
    assert call(http, server, "PUT", "/nodes/web1", {"name": "web1"}, token)[0] == 201


def test_a_node_written_straight_into_the_store_stays_its_clients(server, http):
    """A keeper's adopted dump (harness/server/snapshot.py) carries no creators: the node's
    own client, by name, keeps writing it, as before."""
    server.store.put("node", "web1", {"name": "web1"})
    token = register(http, server, "web1")
    assert call(http, server, "PUT", "/nodes/web1", {"name": "web1"}, token)[0] == 200
    other = register(http, server, "web2")
    assert call(http, server, "PUT", "/nodes/web1", {"name": "web1"}, other)[0] == 403
    # the admin's node, deleted (or wiped) and then written straight in, has no creator either
    for gone in (("DELETE", "/nodes/db1", None), ("POST", "/_wipe", {})):
        server.store.wipe()
        if server.store.client_for_name("db1"):
            server.store.delete("client", "db1")
        assert call(http, server, "POST", "/nodes", {"name": "db1"})[0] == 201
        db1 = register(http, server, "db1")
        assert call(http, server, "PUT", "/nodes/db1", {"name": "db1"}, db1)[0] == 403
        assert call(http, server, *gone)[0] == 200
        server.store.put("node", "db1", {"name": "db1"})
        assert call(http, server, "PUT", "/nodes/db1", {"name": "db1"}, db1)[0] == 200, gone


def test_a_non_boolean_validator_flag_is_400_before_403(server, http):
    """chef-server chef_client.erl:297 `{{opt, <<"validator">>}, boolean}` is checked when the
    body is parsed (chef_wm_clients.erl validate_request, in malformed_request), before
    forbidden/2 decides whether a validator may create a validator."""
    status, answer = call(http, server, "POST", "/clients", {"name": "x", "validator": "true"},
                          server.validator)
    assert status == 400 and answer == {"error": ["validator must be true or false"]}


def test_register_refuses_a_node_it_did_not_create(server, http, tmp_path: Path):
    """chef lib/chef/node.rb:681 save: `chef_server_rest.put("nodes/#{name}", ...)`: on
    Chef Server a client's PUT of a node the admin created is a 403 (see above), so
    registering a host under an existing node's name fails, here at once, with the way out."""
    assert call(http, server, "POST", "/nodes", {"name": "web1", "run_list": []})[0] == 201
    (tmp_path / "validator.token").write_text(server.validator)
    config = {"server_url": server.url, "node_name": "web1",
              "token_file": str(tmp_path / "client.token")}
    with pytest.raises(ConfigError, match="node web1 already exists on the server and client "
                                          "web1 did not create it"):
        cli.register(config, str(tmp_path / "validator.token"), "_default", "recipe[a]")
    # a node it created is fine, and registering again changes nothing
    assert call(http, server, "DELETE", "/nodes/web1")[0] == 200
    assert cli.register(config, str(tmp_path / "validator.token"), "_default", "recipe[a]") == 0
    assert cli.register(config, str(tmp_path / "validator.token"), "_default", "recipe[b]") == 0
    assert call(http, server, "GET", "/nodes/web1")[1]["run_list"] == ["recipe[b]"]
