"""Restore's fast path: many documents per request, checked first, applied under one lock.

A restore of 20,000 documents as 20,000 requests spends its time in HTTP overhead on both
sides; POST /_bulk carries a megabyte of them at a time. The cyclic GC is paused meanwhile:
these documents are acyclic, and its full collections would rescan every stored object.
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from harness.errors import UsageError
from harness.server.documents import BUILTIN, check_name, normalise
from harness.server.search import Index

BULK_KINDS = {"environments": "environment", "roles": "role", "nodes": "node",
              "clients": "client"}

_gc_lock = threading.Lock()
_gc_pauses = [0, False]  # nesting depth, whether gc was enabled before the first pause


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic GC while loading many acyclic documents: its full collections rescan
    every stored object and would double the cost of a restore. Nests across threads."""
    with _gc_lock:
        if _gc_pauses[0] == 0:
            _gc_pauses[1] = gc.isenabled()
            gc.disable()
        _gc_pauses[0] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses[0] -= 1
            if _gc_pauses[0] == 0 and _gc_pauses[1]:
                gc.enable()


class BulkMixin:
    """Store.bulk; needs Store's fields and helpers."""

    _lock: threading.RLock
    _bags: dict[str, Index]
    _indexes: dict[str, Index]

    def bulk(self, batch: object) -> dict[str, int]:
        """Upsert many documents at once (restore's fast path): every one is checked first,
        then all are applied under one lock, so a bad batch changes nothing.
        batch: {"environments"|"roles"|"nodes"|"clients": {name: doc}, "data": {bag: {item: doc}},
                "cookbooks": {name: {version: manifest}}}
        """
        if not isinstance(batch, dict) or set(batch) - {*BULK_KINDS, "data", "cookbooks"}:
            raise UsageError(f"a bulk body is an object with keys {', '.join(BULK_KINDS)}, "
                             "data, cookbooks")
        ready: list[tuple[str, str, dict, dict]] = []
        counts = {}
        for kinds, kind in BULK_KINDS.items():
            docs = batch.get(kinds, {})
            if not isinstance(docs, dict):
                raise UsageError(f"bulk {kinds} must be an object {{name: document}}")
            for name, doc in docs.items():
                doc = normalise(kind, check_name(name, kind), doc)
                ready.append((kind, name, doc, self._fields(kind, doc)))
            counts[kinds] = len(docs)
        bags = batch.get("data", {})
        if not isinstance(bags, dict) or not all(isinstance(i, dict) for i in bags.values()):
            raise UsageError("bulk data must be an object {bag: {item: document}}")
        for bag, items in bags.items():
            if check_name(bag, "data bag") in BUILTIN:
                raise UsageError(f"bad data bag name {bag!r}: it is a built-in search index")
            for item, doc in items.items():
                ready.append((bag, item, *self._item(bag, item, doc)))
        counts["data"] = sum(map(len, bags.values()))
        with self._lock:
            counts["cookbooks"] = self.put_manifests(batch.get("cookbooks", {}))
            for bag in bags:
                self._bags.setdefault(bag, Index())
            for kind, name, doc, fields in ready:
                if kind == "client" and name not in self._indexes["client"].docs:
                    self.create_client(name, validator=doc["validator"])
                else:
                    self._store(kind, name, doc, fields)
        return counts

