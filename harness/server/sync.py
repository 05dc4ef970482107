"""Sync: the repo under edit into a running server, keeping what the nodes made (POST /_sync).

`harness converge` sends the repo's roles, environments, data bags and cookbook manifests in
one body (files are uploaded first: they are content-addressed, so that changes nothing).
Unlike restore (wipe, then bulk), a sync is one call under the store's lock: roles,
environments, data bags and cookbook versions become the batch's (a deleted role disappears);
a cookbook version may be re-uploaded with new content, as chef-zero lets a developer do,
unless it is frozen (backup/ versions); nodes, clients, their tokens and reports stay.
Everything is checked before anything changes, so a refused sync leaves the server as it was.
"""
from __future__ import annotations

from harness.errors import UsageError
from harness.server.bulk import plan_bulk
from harness.server.store import Store

SYNC_KEYS = {"environments", "roles", "data", "cookbooks"}
DEFAULT_ENVIRONMENT = {"description": "The default environment"}


def sync_store(store: Store, batch: object) -> dict[str, int]:
    """Make the store's repo content the batch's; returns counts (and `cookbooks_changed`)."""
    if not isinstance(batch, dict) or set(batch) - SYNC_KEYS:
        raise UsageError(f"a sync body is an object with keys {', '.join(sorted(SYNC_KEYS))} "
                         "(nodes and clients are kept, not synced)")
    plan = plan_bulk(batch)  # every document checked, nothing stored yet
    wanted = {(name, version) for name, versions in batch.get("cookbooks", {}).items()
              for version in versions}
    with store.lock:  # one RLock for the whole store: the sync is atomic for every reader
        before = {(cb, v): m for cb, vs in store.cookbook_manifests().items()
                  for v, m in vs.items()}
        # checks every manifest (files present, frozen versions unchanged) before storing any
        count = store.put_manifests(plan.cookbooks)
        for cb, version in sorted(before.keys() - wanted):
            store.delete_manifest(cb, version)
        after = {(cb, v): m for cb, vs in store.cookbook_manifests().items()
                 for v, m in vs.items()}
        changed = sum(1 for key in wanted if before.get(key) != after.get(key))
        keep = {(kind, name) for kind, name, _, _, _ in plan.ready}
        for kind in ("role", "environment"):
            for name in store.names(kind):
                if (kind, name) not in keep and name != "_default":
                    store.delete(kind, name)
        for bag in store.bags():
            if bag not in plan.bags:
                store.delete_bag(bag)
            else:
                for item in store.items(bag):
                    if (bag, item) not in keep:
                        store.delete_item(bag, item)
        if ("environment", "_default") not in keep:
            store.put("environment", "_default", DEFAULT_ENVIRONMENT)
        for bag in plan.bags:
            store.docs.ensure_bag(bag)
        for kind, name, doc, fields, raw in plan.ready:
            store.docs.store(kind, name, doc, fields, raw)
    return {**plan.counts, "cookbooks": count, "cookbooks_changed": changed,
            "cookbooks_removed": len(before.keys() - wanted)}
