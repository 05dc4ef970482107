"""Who is calling, and what they may do.

Three kinds of callers hold tokens (`Authorization: Bearer TOKEN`): the admin (restore,
backup, flip), validators (may only register a new node and fetch the agent) and nodes (read
what a converge needs, write only their own node object and reports). Each route names one
rule; the rules are the table in docs/contracts.md. A node object is also owned, as Chef
Server's ACLs own it: only the client that created it may update it (NodeOwners).
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from harness.server.status import HttpError


class Rule(Enum):
    """What a route requires."""

    ANYONE = "anyone"
    ADMIN = "admin"
    READ = "node or admin"            # roles, environments, nodes, cookbooks, files, search
    AGENT = "validator, node or admin"  # GET /agent/agent.pyz
    SELF = "node N or admin"          # write /nodes/N, its policy, its reports
    REGISTER = "validator or admin"   # POST /clients (the body is checked by may_register)


@dataclass(frozen=True)
class Principal:
    """The caller: kind is admin, validator, node or anonymous; name is the client name; actor
    is the sha256 of a client's token: a client deleted and created again is another actor,
    as Chef Server gives a new client a new authz id."""

    kind: str
    name: str | None = None
    actor: str | None = None

    def __str__(self) -> str:
        return self.kind if self.name is None else f"{self.kind} {self.name}"


ANONYMOUS = Principal("anonymous")
ADMIN = Principal("admin")


class Clients(Protocol):
    """What the Authenticator needs of the store."""

    def client_for_token(self, token: str) -> dict[str, Any] | None: ...


class Authenticator:
    """Maps a bearer token to a Principal: the admin token, or a client's token in the store."""

    def __init__(self, store: Clients, admin_token: str) -> None:
        self._store = store
        self._admin = hashlib.sha256(admin_token.encode()).digest()

    def identify(self, authorization: str | None) -> Principal:
        if not authorization:
            return ANONYMOUS
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise HttpError("bad Authorization header: want 'Bearer TOKEN'", status=401)
        if hmac.compare_digest(hashlib.sha256(token.encode()).digest(), self._admin):
            return ADMIN
        client = self._store.client_for_token(token)
        if client is None:
            raise HttpError("unknown token", status=401)
        return Principal("validator" if client["validator"] else "node", client["name"],
                         hashlib.sha256(token.encode()).hexdigest())


def allow(principal: Principal, rule: Rule, what: str, target: str | None = None) -> None:
    """Raise 401 (no token) or 403 (token may not) unless principal may do `what`."""
    if rule is Rule.ANYONE or principal.kind == "admin":
        return
    if principal.kind == "anonymous":
        raise HttpError(f"{what}: authentication required (Authorization: Bearer TOKEN)",
                        status=401)
    kind = principal.kind
    if ((rule is Rule.READ and kind == "node")
            or (rule is Rule.AGENT and kind in ("node", "validator"))
            or (rule is Rule.REGISTER and kind == "validator")
            or (rule is Rule.SELF and kind == "node" and principal.name == target)):
        return
    raise HttpError(f"{what}: {principal} may not do this (needs {rule.value})", status=403)


def may_register(principal: Principal, doc: dict[str, Any]) -> None:
    """A validator may only create non-validator clients; the admin may create any."""
    if principal.kind != "admin" and doc.get("validator"):
        raise HttpError(f"{principal} may not create a validator", status=403)


ADMIN_OWNER = "admin"  # the owner of a node the admin created (an actor is 64 hex digits)


class NodeOwners:
    """Which actor created each node, so only that client may update it.

    Chef Server's default ACLs (oc_chef_authz_org_creator.erl) give the clients group only
    read and create on the nodes container; a new node inherits that and its creator gets
    every permission (oc_chef_authz.erl create_entity_with_container_acl). So a client can
    update only the node it created: not one the admin (knife, a restore) created, nor one an
    earlier client of the same name created before it was deleted. A node written straight
    into the Store (a keeper's adopted dump, tests) has no record: its client, by name, may
    write it, as before; so has a node the admin creates (POST or PUT) while a client of its
    name exists: as if the admin had granted it, which keeps the operator's "client first,
    then its node" working (tests/unit/test_server_search_stall.py does it). A restore's
    nodes (/_bulk, /_restore) are the admin's. (Deleting a node stays the admin's: stricter
    than Chef.)
    """

    def __init__(self) -> None:
        self._owner: dict[str, str] = {}

    def created(self, name: str, principal: Principal, client_exists: bool) -> None:
        """Node `name` was just created by principal (client_exists: a client of its name)."""
        if principal.actor is not None:
            self._owner[name] = principal.actor
        elif client_exists:
            self._owner.pop(name, None)
        else:
            self._owner[name] = ADMIN_OWNER

    def admin_created(self, names: set[str]) -> None:
        for name in names:
            self._owner[name] = ADMIN_OWNER

    def forget(self, names: set[str]) -> None:
        """Deleted nodes: a node created again later is recorded again (or has no record)."""
        for name in names:
            self._owner.pop(name, None)

    def clear(self) -> None:
        self._owner.clear()

    def check_update(self, principal: Principal, name: str, exists: bool, what: str) -> None:
        """Raise 403 unless principal may update node `name`; creating it (exists False) is
        Rule.SELF's business, checked by the caller."""
        if principal.kind == "admin" or not exists:
            return
        owner = self._owner.get(name)
        if principal.kind == "node" and (principal.actor == owner if owner is not None
                                         else principal.name == name):
            return
        by = "the admin" if owner == ADMIN_OWNER else "another client"
        raise HttpError(f"{what}: client {principal.name} is missing update permission on node "
                        f"{name}: {by} created it, and Chef Server lets a client update only "
                        "the node it created", status=403)
