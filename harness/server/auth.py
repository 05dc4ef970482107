"""Who is calling, and what they may do.

Three kinds of callers hold tokens (`Authorization: Bearer TOKEN`): the admin (restore,
backup, flip), validators (may only register a new node and fetch the agent) and nodes (read
what a converge needs, write only their own node object and reports). Each route names one
rule; the rules are the table in docs/contracts.md.
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
    """The caller: kind is admin, validator, node or anonymous; name is the client name."""

    kind: str
    name: str | None = None

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
        return Principal("validator" if client["validator"] else "node", client["name"])


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
