"""The converge phase: run each resource's actions in order, then delayed notifications.

A resource's lazy property values are computed just before its first action (harness/agent/
lazy.py); a failure there fails that resource like a failing action does.

Notifications fire only when the notifying resource changed: `immediately` right after it,
`delayed` once at the end of the run (each (action, resource) pair at most once).
"""
from __future__ import annotations

import time
from typing import Any

from .errors import AgentError, ResourceFailure
from .resource import Context, Resource

Listener = tuple[str, Resource, str]   # (action, target, timing)


class Converger:
    """Runs a compiled resource collection; `entries` and `changed` feed the report."""

    def __init__(self, ctx: Context, resources: list[Resource]) -> None:
        self.ctx = ctx
        self.resources = resources
        self.entries: list[dict[str, Any]] = []
        self.changed: list[str] = []
        self.listeners: dict[int, list[Listener]] = {}
        self.delayed: list[tuple[str, Resource]] = []
        self.queued: set[tuple[str, int]] = set()

    def resolve(self) -> None:
        """Wire notifies/subscribes to resources; a missing target is an error up front."""
        by_key = {res.key: res for res in self.resources}

        def find(owner: Resource, key: str, action: str, what: str) -> Resource:
            target = by_key.get(key)
            if target is None:
                raise ResourceFailure(f"{what} {key}, which is not declared in this run"
                                      + (f" (declared at {owner.defined_at})"
                                         if owner.defined_at else ""), owner.key)
            return target

        for res in self.resources:
            for n in res.notifies:
                target = find(res, n.target, n.action, f"notifies {n.action} on")
                self._check_action(res, target, n.action)
                self.listeners.setdefault(id(res), []).append((n.action, target, n.timing))
            for n in res.subscribes:
                source = find(res, n.target, n.action, "subscribes to")
                self._check_action(res, res, n.action)
                self.listeners.setdefault(id(source), []).append((n.action, res, n.timing))

    @staticmethod
    def _check_action(owner: Resource, target: Resource, action: str) -> None:
        if action != "nothing" and action not in target.actions:
            raise ResourceFailure(f"notification action {action!r} is not an action of "
                                  f"{target.key} ({', '.join(target.actions)})", owner.key)

    def run(self) -> None:
        """Converge everything; raises ResourceFailure naming the first failing resource."""
        self.resolve()
        for res in self.resources:
            for action in res.action_list:
                self.run_action(res, action)
        while self.delayed:
            action, target = self.delayed.pop(0)
            self.run_action(target, action, via="delayed notification")

    def run_action(self, res: Resource, action: str, via: str | None = None) -> None:
        started = time.monotonic()
        entry = {"resource": res.key, "action": action, "changed": False, "seconds": 0.0,
                 "skipped": False}
        self.entries.append(entry)
        suffix = f" ({via})" if via else ""
        try:
            if self.ctx.why_run:  # resolves lazy values too: why-run shows what would be
                res.resolve_lazy()
                self.ctx.out(f"  * {res.key} {action} (would run){suffix}")
                return
            if action == "nothing":
                entry["skipped"] = True
                return
            res.resolve_lazy()  # before the guards: they may read properties (execute)
            reason = res.skip_reason()
            if reason:
                entry["skipped"] = True
                self.ctx.out(f"  * {res.key} {action} (skipped due to {reason}){suffix}")
                return
            changed = res.apply(action)
        except Exception as exc:  # any failure of the resource stops the run
            entry["seconds"] = round(time.monotonic() - started, 3)
            failure = exc if isinstance(exc, ResourceFailure) else ResourceFailure(
                str(exc) if isinstance(exc, AgentError) else f"{type(exc).__name__}: {exc}",
                res.key)
            if res.ignore_failure:
                self.ctx.out(f"  * {res.key} {action} (FAILED, ignored: {failure})")
                return
            self.ctx.out(f"  * {res.key} {action} (FAILED){suffix}")
            failure.resource = failure.resource or res.key
            failure.defined_at = res.defined_at
            raise failure from None
        seconds = time.monotonic() - started
        entry.update(changed=changed, seconds=round(seconds, 3))
        timing = f" {seconds:.1f}s" if seconds >= 1 else ""
        self.ctx.out(f"  * {res.key} {action} ({'changed' if changed else 'up to date'})"
                     f"{timing}{suffix}")
        if changed:
            if res.key not in self.changed:
                self.changed.append(res.key)
            self._notify(res)

    def _notify(self, res: Resource) -> None:
        for action, target, timing in self.listeners.get(id(res), []):
            if timing == "immediately":
                self.run_action(target, action, via=f"notified by {res.key}")
            elif (action, id(target)) not in self.queued:
                self.queued.add((action, id(target)))
                self.delayed.append((action, target))
