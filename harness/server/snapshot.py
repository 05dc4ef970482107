"""A whole store as one JSON document, and back: how a kept pytest cluster's server moves.

`pytest --destroy never` (or `passing` with a failure) hands its cluster to a keeper process
(harness/nodes/keeper.py --adopt), which must serve exactly what pytest's server held: the
nodes' documents, their clients' tokens (stored hashed; the nodes keep the tokens themselves),
cookbooks and their files, data bags and converge reports. A backup would lose the tokens and
reports, so this is not `harness backup`. The dump is written 0600 by its caller.
"""
from __future__ import annotations

import base64
from typing import Any

from harness.server.fields import checked_item, search_fields
from harness.server.store import Store

KINDS = ("environment", "role", "node", "client")


def dump_store(store: Store) -> dict[str, Any]:
    """Everything the store holds, JSON-serialisable (files base64)."""
    docs = store.docs
    with store.lock:
        cookbooks = store.cookbook_manifests()
        checksums = sorted({f["checksum"] for versions in cookbooks.values()
                            for m in versions.values() for f in m["files"]})
        return {
            "documents": {kind: {n: store.get(kind, n) for n in store.names(kind)}
                          for kind in KINDS},
            "data": {bag: {i: store.get_item(bag, i) for i in store.items(bag)}
                     for bag in store.bags()},
            "tokens": docs.token_digests(),  # client name -> sha256 of its token
            "cookbooks": cookbooks,
            "files": {c: base64.b64encode(store.get_file(c)).decode() for c in checksums},
            "reports": {node: store.reports(node) for node in store.names("node")},
        }


def load_store(store: Store, dump: dict[str, Any]) -> Store:
    """Fill an empty store from dump_store's output (checked like any write); returns it."""
    docs = store.docs
    with store.lock:
        store.put_files({c: base64.b64decode(data) for c, data in dump["files"].items()})
        store.put_manifests(dump["cookbooks"])
        for kind in KINDS:
            for name, doc in dump["documents"][kind].items():
                docs.store(kind, name, doc, search_fields(kind, doc))
        for bag, items in dump["data"].items():
            docs.ensure_bag(bag)
            for item, doc in items.items():
                docs.store(bag, item, *checked_item(bag, item, doc))
        for name, digest in dump["tokens"].items():
            docs.set_token_digest(name, digest)
        for node, reports in dump["reports"].items():
            for report in reports:
                store.add_report(node, report)
    return store
