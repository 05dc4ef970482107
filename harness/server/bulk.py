"""Restore's fast path: many documents per request, checked first, applied under one lock.

A restore of 20,000 documents as 20,000 requests spends its time in HTTP overhead on both
sides; POST /_bulk carries a megabyte of them at a time. plan_bulk checks and normalises a
whole batch without the lock; Store.bulk applies the plan, so a bad batch changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from harness.errors import UsageError
from harness.repo.documents import BUILTIN, check_name, normalise
from harness.server.docs import encoded
from harness.server.fields import Doc, Fields, checked_item, search_fields

BULK_KINDS = {"environments": "environment", "roles": "role", "nodes": "node",
              "clients": "client"}


@dataclass
class BulkPlan:
    """A checked batch: documents ready to store, the bags they need, the raw cookbooks
    (checked by the cookbook store, which must see the files), and counts per key."""

    # kind, name, document, search fields, its JSON
    ready: list[tuple[str, str, Doc, Fields, bytes]] = field(default_factory=list)
    bags: list[str] = field(default_factory=list)
    cookbooks: object = None
    counts: dict[str, int] = field(default_factory=dict)


def plan_bulk(batch: object) -> BulkPlan:
    """Check every document of a batch:
    {"environments"|"roles"|"nodes"|"clients": {name: doc}, "data": {bag: {item: doc}},
     "cookbooks": {name: {version: manifest}}}
    """
    if not isinstance(batch, dict) or set(batch) - {*BULK_KINDS, "data", "cookbooks"}:
        raise UsageError(f"a bulk body is an object with keys {', '.join(BULK_KINDS)}, "
                         "data, cookbooks")
    plan = BulkPlan(cookbooks=batch.get("cookbooks", {}))
    for kinds, kind in BULK_KINDS.items():
        docs = batch.get(kinds, {})
        if not isinstance(docs, dict):
            raise UsageError(f"bulk {kinds} must be an object {{name: document}}")
        for name, doc in docs.items():
            normal = normalise(kind, check_name(name, kind), doc)
            plan.ready.append((kind, name, normal, search_fields(kind, normal),
                               encoded(f"{kind} {name}", normal)))
        plan.counts[kinds] = len(docs)
    bags = batch.get("data", {})
    if not isinstance(bags, dict) or not all(isinstance(i, dict) for i in bags.values()):
        raise UsageError("bulk data must be an object {bag: {item: document}}")
    for bag, items in bags.items():
        if check_name(bag, "data bag") in BUILTIN:
            raise UsageError(f"bad data bag name {bag!r}: it is a built-in search index")
        for item, doc in items.items():
            normal, fields = checked_item(bag, item, doc)
            plan.ready.append((bag, item, normal, fields,
                               encoded(f"data bag item {bag}/{item}", normal)))
        plan.bags.append(bag)
    plan.counts["data"] = sum(map(len, bags.values()))
    return plan
