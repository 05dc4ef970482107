"""The converge phase: run each resource's actions in order, then delayed notifications.

A resource's lazy property values are computed just before its first action (harness/agent/
lazy.py); a failure there fails that resource like a failing action does.

Notifications fire only when the notifying resource changed: `immediately` right after it,
`delayed` once at the end of the run (each (action, resource) pair at most once), `before`
ahead of it when it would change (Chef's Runner#run_action: a forced why-run first).
A failing action is tried again `retries` times, `retry_delay` seconds apart, guards
included, unless `ignore_failure` is set (Chef's Resource#run_action). A failure still runs
the delayed notifications queued so far before the run fails (Chef's Runner#converge).
"""
from __future__ import annotations

import time
from typing import Any

from .errors import AgentError, ResourceFailure
from .resource import Context, Resource

Listener = tuple[str, Resource, str]   # (action, target, timing)


class MultipleFailures(ResourceFailure):
    """A run that failed more than once: a resource and delayed notifications, or several
    delayed notifications (Chef's Exceptions::MultipleFailures: "Multiple failures
    occurred:", one line per failure). `resource` is the first failure's, so the report
    names it; the message lists them all, each with where it was declared."""

    def __init__(self, failures: list[tuple[str, BaseException]]) -> None:
        lines = ["Multiple failures occurred:"]
        for where, exc in failures:
            resource = getattr(exc, "resource", None) or "recipe"
            declared = getattr(exc, "defined_at", None)
            lines.append(f"* {resource} failed in {where}: {exc}"
                         + (f" (declared at {declared})" if declared else ""))
        super().__init__("\n".join(lines), getattr(failures[0][1], "resource", None))
        self.failures = [exc for _, exc in failures]


class Converger:
    """Runs a compiled resource collection; `entries` and `changed` feed the report."""

    def __init__(self, ctx: Context, resources: list[Resource],
                 parent: Converger | None = None) -> None:
        self.ctx = ctx
        self.resources = resources
        self.parent = parent            # set for a custom resource action's sub-collection
        self.entries: list[dict[str, Any]] = parent.entries if parent else []
        self.changed: list[str] = parent.changed if parent else []
        self.changed_ids: set[int] = set()
        self.by_key: dict[str, Resource] = {}
        self.listeners: dict[int, list[Listener]] = {}
        self.delayed: list[tuple[str, Resource]] = []
        self.before: dict[int, list[tuple[str, Resource]]] = {}
        self.queued: set[tuple[str, int]] = set()

    def resolve(self) -> None:
        """Wire notifies/subscribes to resources; a missing target is an error up front."""
        self.by_key = {**(self.parent.by_key if self.parent else {}),
                       **{res.key: res for res in self.resources}}

        def find(owner: Resource, key: str, action: str, what: str) -> Resource:
            target = self.by_key.get(key)
            if target is None:
                raise ResourceFailure(f"{what} {key}, which is not declared in this run"
                                      + (f" (declared at {owner.defined_at})"
                                         if owner.defined_at else ""), owner.key)
            return target

        for res in self.resources:
            for n in res.notifies:
                target = find(res, n.target, n.action, f"notifies {n.action} on")
                self._check_action(res, target, n.action)
                self._listen(res, n.action, target, n.timing)
            for n in res.subscribes:
                source = find(res, n.target, n.action, "subscribes to")
                self._check_action(res, res, n.action)
                self._listen(source, n.action, res, n.timing)

    def _listen(self, source: Resource, action: str, target: Resource, timing: str) -> None:
        if timing == "before":
            self.before.setdefault(id(source), []).append((action, target))
        else:
            self.listeners.setdefault(id(source), []).append((action, target, timing))

    @staticmethod
    def _check_action(owner: Resource, target: Resource, action: str) -> None:
        if action != "nothing" and action not in target.actions:
            raise ResourceFailure(f"notification action {action!r} is not an action of "
                                  f"{target.key} ({', '.join(target.actions)})", owner.key)

    def run(self) -> None:
        """Converge everything, then the delayed notifications; raises ResourceFailure naming
        the first failing resource.

        As Chef's Runner#converge (lib/chef/runner.rb): when a resource fails, the queued
        delayed notifications still run before the failure is raised (`rescue Exception =>
        e; run_delayed_notifications(e)`), each on its own, so one that fails does not stop
        the others (run_delayed_notification rescues and collects). One failure is raised as
        it is; several as MultipleFailures, which names the first."""
        self.resolve()
        outer, self.ctx.sub_converge = self.ctx.sub_converge, self.sub_converge
        failures: list[tuple[str, BaseException]] = []
        try:
            try:
                for res in self.resources:
                    for action in res.action_list:
                        self.run_action(res, action)
            except BaseException as exc:  # Chef: `rescue Exception`, an interrupt included
                failures.append(("the run", exc))
                if self.delayed:
                    self.ctx.out("  Running queued delayed notifications before re-raising "
                                 "exception")
            while self.delayed:
                action, target = self.delayed.pop(0)
                try:
                    self.run_action(target, action, via="delayed notification")
                except Exception as exc:
                    failures.append(("a delayed notification", exc))
        finally:
            self.ctx.sub_converge = outer
        if len(failures) == 1 or (failures and not isinstance(failures[0][1], ResourceFailure)):
            raise failures[0][1]
        if failures:
            raise MultipleFailures(failures)

    def sub_converge(self, resources: list[Resource]) -> bool:
        """Converge a custom resource action's resources now; True when one changed."""
        sub = Converger(self.ctx, resources, parent=self)
        sub.run()
        return any(id(res) in sub.changed_ids for res in resources)

    def _queue_for(self, target: Resource) -> Converger:
        """Delayed notifications run at the end of the collection that declared the target."""
        conv: Converger = self
        while conv.parent is not None and not any(r is target for r in conv.resources):
            conv = conv.parent
        return conv

    def run_action(self, res: Resource, action: str, via: str | None = None) -> None:
        started = time.monotonic()
        entry = {"resource": res.key, "action": action, "changed": False, "seconds": 0.0,
                 "skipped": False}
        suffix = f" ({via})" if via else ""
        try:
            if self.ctx.why_run:  # resolves lazy values too: why-run shows what would be
                self.entries.append(entry)
                res.resolve_lazy()
                self.ctx.out(f"  * {res.key} {action} (would run){suffix}")
                return
            if action != "nothing" and self.before.get(id(res)):
                res.resolve_lazy()
                self._run_before(res, action)
            self.entries.append(entry)
            if action == "nothing":
                entry["skipped"] = True
                return
            res.resolve_lazy()  # before the guards: they may read properties (execute)
            changed = self._attempt(res, action, suffix)
            if changed is None:
                entry["skipped"] = True
                return
        except Exception as exc:
            if not any(e is entry for e in self.entries):  # failed in its before-notifications
                self.entries.append(entry)  # any failure of the resource stops the run
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
            self.changed_ids.add(id(res))
            if res.key not in self.changed:
                self.changed.append(res.key)
            self._notify(res)

    def _attempt(self, res: Resource, action: str, suffix: str) -> bool | None:
        """Guards + action, retried on failure; None when a guard skipped it."""
        remaining = res.retries
        while True:
            try:
                reason = res.skip_reason()
                if reason:
                    self.ctx.out(f"  * {res.key} {action} (skipped due to {reason}){suffix}")
                    return None
                return res.apply(action)
            except Exception as exc:
                if res.ignore_failure or remaining <= 0:
                    raise
                remaining -= 1
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self.ctx.out(f"  * {res.key} {action} (failed: {first}; retrying in "
                             f"{res.retry_delay}s, {remaining} attempt"
                             f"{'' if remaining == 1 else 's'} left){suffix}")
                self.ctx.sleep(res.retry_delay)

    def _run_before(self, res: Resource, action: str) -> None:
        """`before` listeners run when res's guards pass and its action would change."""
        if res.skip_reason() is not None or not res.would_change(action):
            return
        for target_action, target in self.before[id(res)]:
            self.run_action(target, target_action, via=f"before {res.key}")

    def _notify(self, res: Resource) -> None:
        for action, target, timing in self.listeners.get(id(res), []):
            if timing == "immediately":
                self.run_action(target, action, via=f"notified by {res.key}")
            else:
                queue = self._queue_for(target)
                if (action, id(target)) not in queue.queued:
                    queue.queued.add((action, id(target)))
                    queue.delayed.append((action, target))
