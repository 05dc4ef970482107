"""The config server's state, with no HTTP in it: documents, cookbooks, files, tokens, reports.

One lock guards everything (writes are small, the event loop is the main caller). The Store
is a facade over two collaborators sharing that lock: DocumentStore (docs.py: roles,
environments, nodes, clients, data bags, search) and CookbookStore (cookbooks.py: cookbook
versions, files, reports). It is also a policy source (role, environment,
cookbook_manifests) for harness.repo.compile_policy. Errors are harness.errors (NotFound,
AlreadyExists, Frozen, SolveError, UsageError); status.py maps them to HTTP.
"""
from __future__ import annotations

import secrets
import threading
from collections import OrderedDict

from harness.errors import NotFound, UsageError
from harness.server.bulk import plan_bulk
from harness.server.cookbooks import CookbookStore, Manifests
from harness.server.docs import DocumentStore, dumps
from harness.server.fields import Doc
from harness.server.policy import compile_for

__all__ = ["Store", "dumps"]
MAX_STAGED = 2  # restores being staged at once; beginning another drops the oldest
KEEPABLE = {"nodes": "node", "roles": "role", "environments": "environment"}


class Store:
    """Thread-safe in-memory state of one config server."""

    def __init__(self, *, share: Store | None = None) -> None:
        """A store; `share`: a staging store for a restore into that one (its lock, its files)."""
        lock: threading.RLock = threading.RLock() if share is None else share.lock
        files = None if share is None else share.cookbook_store.files
        self._lock = lock
        self.docs = DocumentStore(lock)
        self.cookbook_store: CookbookStore = CookbookStore(lock, files)
        self._staged: OrderedDict[str, Store] = OrderedDict()

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    # --- documents (docs.py) --------------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        return self.docs.names(kind)

    def get(self, kind: str, name: str) -> Doc:
        return self.docs.get(kind, name)

    def get_json(self, kind: str, name: str) -> bytes:
        return self.docs.get_json(kind, name)

    def put(self, kind: str, name: str, doc: object, *, create: bool = False) -> bool:
        return self.docs.put(kind, name, doc, create=create)

    def delete(self, kind: str, name: str) -> Doc:
        return self.docs.delete(kind, name)

    def create_client(self, name: str, *, validator: bool = False, exist_ok: bool = False) -> str:
        return self.docs.create_client(name, validator=validator, exist_ok=exist_ok)

    def client_for_name(self, name: str) -> Doc | None:
        return self.docs.client_for_name(name)

    def client_for_token(self, token: str) -> Doc | None:
        return self.docs.client_for_token(token)

    def bags(self) -> list[str]:
        return self.docs.bags()

    def create_bag(self, bag: str, *, exist_ok: bool = False) -> bool:
        return self.docs.create_bag(bag, exist_ok=exist_ok)

    def delete_bag(self, bag: str) -> None:
        self.docs.delete_bag(bag)

    def items(self, bag: str) -> list[str]:
        return self.docs.items(bag)

    def get_item(self, bag: str, item: str) -> Doc:
        return self.docs.get_item(bag, item)

    def get_item_json(self, bag: str, item: str) -> bytes:
        return self.docs.get_item_json(bag, item)

    def put_item(self, bag: str, item: str, doc: object, *, create: bool = False) -> bool:
        return self.docs.put_item(bag, item, doc, create=create)

    def delete_item(self, bag: str, item: str) -> Doc:
        return self.docs.delete_item(bag, item)

    def indexes(self) -> list[str]:
        return self.docs.indexes()

    def search(self, index: str, q: str, start: int = 0, rows: int = 1000, *,
               budget_s: float | None = None,
               visible: frozenset[str] | None = None) -> tuple[int, list[bytes]]:
        return self.docs.search(index, q, start, rows, budget_s=budget_s, visible=visible)

    def search_docs(self, index: str, q: str) -> list[Doc]:
        return self.docs.search_docs(index, q)

    # --- cookbooks, files, reports (cookbooks.py) ------------------------------------------------
    def cookbooks(self) -> dict[str, list[str]]:
        return self.cookbook_store.cookbooks()

    def cookbook_versions(self, name: str) -> list[str]:
        return self.cookbook_store.cookbook_versions(name)

    def manifest(self, name: str, version: str) -> Doc:
        return self.cookbook_store.manifest(name, version)

    def put_manifest(self, name: str, version: str, doc: object, *, freeze: bool = False) -> bool:
        return self.cookbook_store.put_manifest(name, version, doc, freeze=freeze)

    def put_manifests(self, docs: object) -> int:
        return self.cookbook_store.put_manifests(docs)

    def delete_manifest(self, name: str, version: str) -> Doc:
        return self.cookbook_store.delete_manifest(name, version)

    def missing_files(self, checksums: object) -> list[str]:
        return self.cookbook_store.missing_files(checksums)

    def put_file(self, checksum: str, data: bytes) -> bool:
        return self.cookbook_store.put_file(checksum, data)

    def put_files(self, files: dict[str, bytes]) -> int:
        return self.cookbook_store.put_files(files)

    def get_file(self, checksum: str) -> bytes:
        return self.cookbook_store.get_file(checksum)

    def add_report(self, node: str, report: object) -> None:
        self.cookbook_store.add_report(node, report)

    def reports(self, node: str) -> list[Doc]:
        return self.cookbook_store.reports(node)

    # --- policy source (harness.repo.compile_policy reads these) and policies -------------------
    def role(self, name: str) -> Doc | None:
        return self.docs.find("role", name)

    def environment(self, name: str) -> Doc | None:
        return self.docs.find("environment", name)

    def cookbook_manifests(self) -> Manifests:
        return self.cookbook_store.all_manifests()

    def policy(self, node: str) -> Doc:
        """The compiled policy of a stored node (SolveError when it cannot be compiled)."""
        with self._lock:
            doc = self.docs.find("node", node)
            if doc is None:
                raise NotFound(f"no node {node!r}")
            return compile_for(self, name=node, environment=doc["chef_environment"],
                               run_list=doc["run_list"], normal=doc["normal"])

    def solve(self, environment: str, run_list: object) -> dict[str, Doc]:
        """Chef's depsolver endpoint: {cookbook: manifest} for run_list in environment."""
        if not isinstance(run_list, list) or not all(isinstance(i, str) for i in run_list):
            raise UsageError("run_list must be an array of strings")
        with self._lock:
            if self.environment(environment) is None:
                raise NotFound(f"no environment {environment!r}")
            policy = compile_for(self, name="_depsolver", environment=environment,
                                 run_list=run_list)
            return {cb: self.manifest(cb, v) for cb, v in policy["cookbook_versions"].items()}

    # --- the whole store ---------------------------------------------------------------------------
    def bulk(self, batch: object) -> dict[str, int]:
        """Upsert many documents at once (restore's fast path, see bulk.py): every one is
        checked first, then all are applied under one lock, so a bad batch changes nothing."""
        plan = plan_bulk(batch)
        with self._lock:
            plan.counts["cookbooks"] = self.put_manifests(plan.cookbooks)
            for bag in plan.bags:
                self.docs.ensure_bag(bag)
            for kind, name, doc, fields, raw in plan.ready:
                if kind == "client" and self.docs.client_for_name(name) is None:
                    self.docs.create_client(name, validator=doc["validator"])
                else:
                    self.docs.store(kind, name, doc, fields, raw)
        return plan.counts

    # --- atomic restore: stage the new content, then swap it in at once ---------------------------
    def stage(self) -> str:
        """Begin a restore: an empty staging store (sharing our files) filled by staged_bulk
        and swapped in by commit. Returns its id."""
        with self._lock:
            while len(self._staged) >= MAX_STAGED:
                self._staged.popitem(last=False)
            sid = secrets.token_hex(8)
            self._staged[sid] = Store(share=self)
            return sid

    def _staging(self, sid: str) -> Store:
        staged = self._staged.get(sid)
        if staged is None:
            raise NotFound(f"no restore {sid!r} being staged (committed, discarded, or "
                           f"dropped: at most {MAX_STAGED} are staged at once)")
        return staged

    def staged_bulk(self, sid: str, batch: object) -> dict[str, int]:
        with self._lock:
            staged = self._staging(sid)
        return staged.bulk(batch)

    def commit(self, sid: str, keep: object = None) -> None:
        """Swap the staged content in, all at once: every reader sees the old content or the
        new, never a mix. `keep` lists kinds (nodes, roles, environments) whose current
        documents stay, with the staged ones laid over them; clients always stay."""
        keep = [] if keep is None else keep
        if not isinstance(keep, list) or not set(map(str, keep)) <= KEEPABLE.keys():
            raise UsageError(f"keep must be a list of {', '.join(KEEPABLE)}")
        with self._lock:
            self._staging(sid)
            staged = self._staged.pop(sid)
            self.docs.adopt(staged.docs, frozenset(KEEPABLE[k] for k in keep))
            pinned = [m for other in self._staged.values()
                      for m in other.cookbook_store.manifests()]
            self.cookbook_store.adopt(staged.cookbook_store, set(self.docs.names("node")),
                                      pinned)

    def discard(self, sid: str) -> None:
        with self._lock:
            self._staging(sid)
            del self._staged[sid]

    def snapshot(self) -> bytes:
        """Everything but file contents, as one JSON object taken under the lock (backup's
        consistent view; the shape of a POST /_bulk body)."""
        with self._lock:
            parts = self.docs.snapshot()
            parts["cookbooks"] = self.cookbook_store.snapshot()
        return b"{" + b",".join(dumps(k) + b":" + v for k, v in parts.items()) + b"}"

    def wipe(self) -> None:
        """Delete everything but the clients (the first step of a restore)."""
        with self._lock:
            self.docs.wipe()
            self.cookbook_store.wipe()
