"""Documents part of the store: roles, environments, nodes, clients (and tokens), data bags.

Documents are stored parsed and normalised; their compact JSON is cached until the next
write, so GETs and search rows are not re-serialised per request. Every collection is also a
search index. Shares the Store's one lock.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import threading

from harness.errors import AlreadyExists, NotFound, UsageError
from harness.repo.documents import BUILTIN, check_name, normalise
from harness.repo.limits import size_issue, value_issue
from harness.repo.validate import DEFAULT_ENVIRONMENT
from harness.server.fields import Doc, Fields, checked_item, search_fields
from harness.server.search import Budget, Index

_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
DEFAULT_DOC = normalise("environment", "_default", {"description": DEFAULT_ENVIRONMENT})


def dumps(doc: object) -> bytes:
    """Compact wire JSON (one shared encoder: json.dumps(**options) builds one per call)."""
    return _compact(doc).encode()


def encoded(what: str, doc: Doc) -> bytes:
    """The stored form of a checked document, refused when it breaks a limit of
    harness.repo.limits (depth, text, size): the same limits `harness validate` applies."""
    issue = value_issue(doc)
    if issue:
        keypath, message = issue
        where = "".join(f"[{k!r}]" for k in keypath)
        raise UsageError(f"{what}{where}: {message}")
    raw = dumps(doc)
    problem = size_issue(len(raw), what)
    if problem:
        raise UsageError(problem)
    return raw


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class DocumentStore:
    """Named documents and data bag items, each collection a search index."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._indexes: dict[str, Index] = {k: Index() for k in BUILTIN}
        self._bags: dict[str, Index] = {}
        self._raw: dict[tuple[str, str], bytes] = {}
        self._tokens: dict[str, str] = {}  # sha256(token) -> client name
        self._token_of: dict[str, str] = {}  # client name -> sha256(token)
        self._reset_default_environment()

    # --- documents: roles, environments, nodes, clients -------------------------------------
    def token_digests(self) -> dict[str, str]:
        """{client name: sha256 of its token} (lock held by the caller): what a store dump
        keeps so nodes' tokens still work after it is loaded elsewhere."""
        return dict(self._token_of)

    def set_token_digest(self, name: str, digest: str) -> None:
        """Give client `name` the token whose sha256 is `digest` (lock held)."""
        self._tokens[digest], self._token_of[name] = name, digest

    def _index(self, kind: str) -> Index:
        if kind in self._indexes:
            return self._indexes[kind]
        if kind in self._bags:
            return self._bags[kind]
        raise NotFound(f"no search index {kind!r}")

    def names(self, kind: str) -> list[str]:
        with self._lock:
            return list(self._index(kind).sorted_ids())

    def get(self, kind: str, name: str) -> Doc:
        with self._lock:
            doc = self._index(kind).docs.get(name)
        if doc is None:
            raise NotFound(f"no {kind} {name!r}")
        return doc

    def find(self, kind: str, name: str) -> Doc | None:
        """The document, or None (role, environment, node: the policy source's lookups)."""
        with self._lock:
            return self._indexes[kind].docs.get(name)

    def get_json(self, kind: str, name: str) -> bytes:
        """The stored document as compact JSON (cached until it changes)."""
        with self._lock:
            self.get(kind, name)
            return self._json(kind, name)

    def _json(self, kind: str, name: str) -> bytes:
        raw = self._raw.get((kind, name))
        if raw is None:
            raw = self._raw[(kind, name)] = dumps(self._index(kind).docs[name])
        return raw

    def put(self, kind: str, name: str, doc: object, *, create: bool = False) -> bool:
        """Create or replace; create=True refuses an existing name. True if created.
        `_default` cannot be changed, as chef-zero's environment_endpoint.rb answers 405
        "The '_default' environment cannot be modified." (writing it unchanged is a no-op)."""
        normal = normalise(kind, check_name(name, kind), doc)
        if kind == "environment" and name == "_default" and normal != DEFAULT_DOC:
            raise UsageError("the '_default' environment cannot be modified (as in Chef)")
        raw = encoded(f"{kind} {name}", normal)
        with self._lock:
            index = self._indexes[kind]
            exists = name in index.docs
            if create and exists:
                raise AlreadyExists(f"{kind} {name!r} already exists")
            self.store(kind, name, normal, search_fields(kind, normal), raw)
            return not exists

    def store(self, kind: str, name: str, doc: Doc, fields: Fields,
              raw: bytes | None = None) -> None:
        """Store a checked document (lock held), with its JSON when the caller has it."""
        self._index(kind).put(name, doc, fields)
        if raw is None:
            self._raw.pop((kind, name), None)
        else:
            self._raw[(kind, name)] = raw

    def delete(self, kind: str, name: str) -> Doc:
        if kind == "environment" and name == "_default":
            raise UsageError("the _default environment cannot be deleted")
        with self._lock:
            doc = self._index(kind).remove(name)
            if doc is None:
                raise NotFound(f"no {kind} {name!r}")
            self._raw.pop((kind, name), None)
            if kind == "client":
                self._tokens.pop(self._token_of.pop(name, ""), None)
            return doc

    # --- clients and tokens -------------------------------------------------------------------
    def create_client(self, name: str, *, validator: bool = False, exist_ok: bool = False) -> str:
        """Register a client and return its new token (shown once, stored hashed)."""
        doc = normalise("client", check_name(name, "client"), {"validator": validator})
        token = secrets.token_urlsafe(32)
        with self._lock:
            if name in self._indexes["client"].docs and not exist_ok:
                raise AlreadyExists(f"client {name!r} already exists")
            self._tokens.pop(self._token_of.pop(name, ""), None)
            self.store("client", name, doc, search_fields("client", doc))
            self._tokens[_hash(token)] = name
            self._token_of[name] = _hash(token)
        return token

    def client_for_name(self, name: str) -> Doc | None:
        with self._lock:
            return self._indexes["client"].docs.get(name)

    def client_for_token(self, token: str) -> Doc | None:
        with self._lock:
            name = self._tokens.get(_hash(token))
            return self._indexes["client"].docs.get(name) if name else None

    # --- data bags -----------------------------------------------------------------------------
    def bags(self) -> list[str]:
        with self._lock:
            return sorted(self._bags)

    def create_bag(self, bag: str, *, exist_ok: bool = False) -> bool:
        check_name(bag, "data bag")
        if bag in BUILTIN:
            raise UsageError(f"bad data bag name {bag!r}: it is a built-in search index")
        with self._lock:
            if bag in self._bags:
                if exist_ok:
                    return False
                raise AlreadyExists(f"data bag {bag!r} already exists")
            self._bags[bag] = Index()
            return True

    def delete_bag(self, bag: str) -> None:
        with self._lock:
            if self._bags.pop(bag, None) is None:
                raise NotFound(f"no data bag {bag!r}")
            self._raw = {k: v for k, v in self._raw.items() if k[0] != bag}

    def _bag(self, bag: str) -> Index:
        index = self._bags.get(bag)
        if index is None:
            raise NotFound(f"no data bag {bag!r}")
        return index

    def items(self, bag: str) -> list[str]:
        with self._lock:
            return list(self._bag(bag).sorted_ids())

    def get_item(self, bag: str, item: str) -> Doc:
        with self._lock:
            doc = self._bag(bag).docs.get(item)
        if doc is None:
            raise NotFound(f"no item {item!r} in data bag {bag!r}")
        return doc

    def get_item_json(self, bag: str, item: str) -> bytes:
        with self._lock:
            self.get_item(bag, item)
            return self._json(bag, item)

    def put_item(self, bag: str, item: str, doc: object, *, create: bool = False) -> bool:
        normal, fields = checked_item(bag, item, doc)
        raw = encoded(f"data bag item {bag}/{item}", normal)
        with self._lock:
            exists = item in self._bag(bag).docs
            if create and exists:
                raise AlreadyExists(f"item {item!r} already exists in data bag {bag!r}")
            self.store(bag, item, normal, fields, raw)
            return not exists

    def delete_item(self, bag: str, item: str) -> Doc:
        with self._lock:
            doc = self._bag(bag).remove(item)
            if doc is None:
                raise NotFound(f"no item {item!r} in data bag {bag!r}")
            self._raw.pop((bag, item), None)
            return doc

    # --- search --------------------------------------------------------------------------------
    def indexes(self) -> list[str]:
        with self._lock:
            return [*BUILTIN, *sorted(self._bags)]

    def search(self, index: str, q: str, start: int = 0, rows: int = 1000, *,
               budget_s: float | None = None,
               visible: frozenset[str] | None = None) -> tuple[int, list[bytes]]:
        """(total, page of matching documents as JSON), sorted by name/id. The lock is held
        only in bursts (search.py), so writes go on meanwhile; budget_s bounds the time;
        visible (when given) is every id the caller may see."""
        with self._lock:
            idx = self._index(index)
        ids = idx.search(q, Budget(budget_s, self._lock))
        if visible is not None:
            ids = [i for i in ids if i in visible]
        with self._lock:  # a document deleted since it matched is left out
            rows_json = [self._json(index, i) for i in ids[start:start + rows] if i in idx.docs]
        return len(ids), rows_json

    def search_docs(self, index: str, q: str) -> list[Doc]:
        """Every matching document (in-process callers)."""
        with self._lock:
            idx = self._index(index)
            return [idx.docs[i] for i in idx.search(q)]

    def ensure_bag(self, bag: str) -> None:
        """A data bag for checked items to go into (bulk; lock held)."""
        self._bags.setdefault(bag, Index())

    def _reset_default_environment(self) -> None:
        doc = normalise("environment", "_default", {"description": DEFAULT_ENVIRONMENT})
        self.store("environment", "_default", doc, search_fields("environment", doc))

    # --- the whole collection: restore's swap, backup's snapshot ------------------------------
    def adopt(self, staged: DocumentStore, keep: frozenset[str] = frozenset()) -> None:
        """Take staged's roles, environments, nodes and data bags in place of ours (lock
        held): kinds in `keep` keep ours, with staged's laid over them. Clients are always
        kept (their tokens are in use); staged clients we do not have are added."""
        for kind in ("node", "role", "environment"):
            if kind not in keep:
                self._indexes[kind] = staged._indexes[kind]
                self._raw = {k: v for k, v in self._raw.items() if k[0] != kind}
            else:
                for name, doc in staged._indexes[kind].docs.items():
                    self.store(kind, name, doc, search_fields(kind, doc))
        self._raw = {k: v for k, v in self._raw.items() if k[0] in BUILTIN}
        self._bags = staged._bags
        for name, digest in staged._token_of.items():
            if name not in self._token_of:
                doc = staged._indexes["client"].docs[name]
                self.store("client", name, doc, search_fields("client", doc))
                self.set_token_digest(name, digest)
        self._raw.update((k, v) for k, v in staged._raw.items()
                         if k[0] not in keep and k[0] != "client")

    def snapshot(self) -> dict[str, bytes]:
        """Every collection as one JSON object of its documents, taken at one instant
        (lock held by the caller): {"roles": b'{"web":{...}}', ..., "data": b'{bag: {...}}'}."""
        out = {}
        for kinds, kind in (("environments", "environment"), ("roles", "role"),
                            ("nodes", "node"), ("clients", "client")):
            out[kinds] = self._members(kind)
        out["data"] = b"{" + b",".join(dumps(bag) + b":" + self._members(bag)
                                       for bag in sorted(self._bags)) + b"}"
        return out

    def _members(self, kind: str) -> bytes:
        return b"{" + b",".join(dumps(name) + b":" + self._json(kind, name)
                                for name in self._index(kind).sorted_ids()) + b"}"

    def wipe(self) -> None:
        """Delete every document but the clients (the first step of a restore)."""
        with self._lock:
            for kind in ("node", "role", "environment"):
                self._indexes[kind] = Index()
            self._bags.clear()
            self._raw = {k: v for k, v in self._raw.items() if k[0] == "client"}
            self._reset_default_environment()
