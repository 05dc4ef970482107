"""The config server's state, with no HTTP in it: documents, cookbooks, files, tokens, reports.

One lock guards everything (writes are small, the event loop is the main caller). The Store
is a facade over two collaborators sharing that lock: DocumentStore (docs.py: roles,
environments, nodes, clients, data bags, search) and CookbookStore (cookbooks.py: cookbook
versions, files, reports). It is also a policy source (role, environment,
cookbook_manifests) for harness.repo.compile_policy. Errors are harness.errors (NotFound,
AlreadyExists, Frozen, SolveError, UsageError); status.py maps them to HTTP.
"""
from __future__ import annotations

import threading

from harness.errors import NotFound, UsageError
from harness.server.bulk import plan_bulk
from harness.server.cookbooks import CookbookStore, Manifests
from harness.server.docs import DocumentStore, dumps
from harness.server.fields import Doc
from harness.server.policy import compile_for

__all__ = ["Store", "dumps"]


class Store:
    """Thread-safe in-memory state of one config server."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.docs = DocumentStore(self._lock)
        self.cookbook_store = CookbookStore(self._lock)

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
            for kind, name, doc, fields in plan.ready:
                if kind == "client" and self.docs.client_for_name(name) is None:
                    self.docs.create_client(name, validator=doc["validator"])
                else:
                    self.docs.store(kind, name, doc, fields)
        return plan.counts

    def wipe(self) -> None:
        """Delete everything but the clients (the first step of a restore)."""
        with self._lock:
            self.docs.wipe()
            self.cookbook_store.wipe()
