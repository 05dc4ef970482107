"""The converge phase: run each resource's actions in order, then delayed notifications.

A resource's lazy property values are computed just before its first action (harness/agent/
lazy.py); a failure there fails that resource like a failing action does.

Notifications are filed under the notifier's "type[name]" (any resource of that key
fires them) and fire only when it changed: `immediately` right after it,
`delayed` once at the end of the run (each (action, resource) pair at most once), `before`
ahead of it when it would change (Chef's Runner#run_action: a forced why-run first).
A failing action is tried again `retries` times, `retry_delay` seconds apart, guards
included, unless `ignore_failure` is set (Chef's Resource#run_action). A failure still runs
the delayed notifications queued so far before the run fails (Chef's Runner#converge).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .errors import AgentError, ResourceFailure
from .resource import Context, Resource


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


@dataclass
class Note:
    """A notification as Chef's run_context files it: under its notifier's "type[name]"
    (run_context.rb notifies_before/immediately/delayed: `..._collection[notification.
    notifying_resource.declared_key]`), its target a "type[name]" until resolved to a
    resource (resource_notification.rb resolve_resource_reference), then that resource."""

    action: str
    target: Resource | str
    notifier: str
    timing: str


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
        self.updated_keys: set[str] = set()   # run_context.rb updated_resources
        self.by_key: dict[str, Resource] = {}  # this collection's, the last one of a key
        self.listeners: dict[str, list[Note]] = {}  # immediately and delayed, by notifier
        self.before: dict[str, list[Note]] = {}
        self.delayed: list[tuple[str, Resource | str]] = []
        self.queued: set[tuple[str, int | str]] = set()

    def find(self, key: str) -> Resource | None:
        """resource_collection.rb find_recursive: this collection, then the enclosing ones."""
        found = self.by_key.get(key)
        return found if found is not None or self.parent is None else self.parent.find(key)

    def file(self, note: Note) -> None:
        """Register a notification (a `subscribes` is one from the key it names)."""
        book = self.before if note.timing == "before" else self.listeners
        book.setdefault(note.notifier, []).append(note)

    @staticmethod
    def notes_of(res: Resource) -> list[Note]:
        """res's notifies (to the key they name) and subscribes (resource.rb subscribes: an
        UnresolvedSubscribes whose declared_key is the string given notifies res)."""
        return ([Note(n.action, n.target, res.key, n.timing) for n in res.notifies]
                + [Note(n.action, res, n.target, n.timing) for n in res.subscribes])

    def target(self, note: Note) -> Resource | None:
        """The note's target, looked up once and kept (None while nothing has its key)."""
        if isinstance(note.target, str):
            note.target = self.find(note.target) or note.target
        return note.target if isinstance(note.target, Resource) else None

    def missing(self, note: Note) -> ResourceFailure:
        owner = self.find(note.notifier)
        where = owner.defined_at if owner is not None else None
        return ResourceFailure(f"notifies {note.action} on {note.target}, which is not "
                               f"declared in this run"
                               + (f" (declared at {where})" if where else ""), note.notifier)

    def resolve(self) -> None:
        """File every notification and look every target up before the first resource
        runs; a target missing from the run is an error up front (runner.rb converge:
        resolve_notification_references; the last resource declared with that key, this
        collection first: resource_set.rb insert_as, find_recursive). The action is not
        checked: Chef sends `action_NAME` to the target's provider when the notification
        fires (resource.rb `notifies` checks only the target spec), so a wrong one fails
        the target then, and only if it fires.

        When any resource with a key changes, the notifications filed under that key fire
        (runner.rb run_action: `run_context.immediate_notifications(resource)`, by
        `resource.declared_key`), whichever same-named resource declared them. A
        subscription's key is never looked up, so one no resource has is inert, as is one
        from another collection (a custom resource's action vs the recipes): each has its
        own, as Chef's ChildRunContext."""
        self.by_key = {res.key: res for res in self.resources}
        for res in self.resources:
            for note in self.notes_of(res):
                self.file(note)
                if note.notifier == res.key and self.target(note) is None:
                    raise self.missing(note)

    def run(self) -> None:
        """Converge everything, then the delayed notifications; raises ResourceFailure naming
        the first failing resource.

        As Chef's Runner#converge (lib/chef/runner.rb): when a resource fails, the queued
        delayed notifications still run before the failure is raised (`rescue Exception =>
        e; run_delayed_notifications(e)`), each on its own, so one that fails does not stop
        the others (run_delayed_notification rescues and collects). One failure is raised as
        it is; several as MultipleFailures, which names the first."""
        failures: list[tuple[str, BaseException]] = []
        outer, self.ctx.converger = self.ctx.converger, self
        try:
            try:
                self.resolve()
                for res in self.resources:
                    for action in res.action_list:
                        self.run_action(res, action)
            except BaseException as exc:  # Chef: `rescue Exception`, an interrupt included
                failures.append(("the run", exc))
            self.run_delayed(failures)
        finally:
            self.ctx.converger = outer
        self.raise_for(failures)

    def run_delayed(self, failures: list[tuple[str, BaseException]]) -> None:
        if failures and self.delayed:
            self.ctx.out("  Running queued delayed notifications before re-raising exception")
        while self.delayed:
            action, target = self.delayed.pop(0)
            try:
                found = self.find(target) if isinstance(target, str) else target
                if found is None:
                    raise ResourceFailure(f"delayed notification {action} on {target}, which "
                                          "is not declared in this run", str(target))
                self.run_action(found, action, via="delayed notification")
            except Exception as exc:
                failures.append(("a delayed notification", exc))

    @staticmethod
    def raise_for(failures: list[tuple[str, BaseException]]) -> None:
        if len(failures) == 1 or (failures and not isinstance(failures[0][1], ResourceFailure)):
            raise failures[0][1]
        if failures:
            raise MultipleFailures(failures)

    def mark(self, owner: Resource) -> None:
        """provider.rb compile_and_converge_action `ensure`: the custom resource is updated
        when a resource of its action's collection was, even if the action then failed."""
        if any(id(res) in self.changed_ids for res in self.resources):
            owner.updated_by_last_action = True

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
        res.updated_by_last_action = False  # resource.rb run_action: once, not per retry
        try:
            if self.ctx.why_run:  # resolves lazy values too: why-run shows what would be
                self.entries.append(entry)
                res.resolve_lazy()
                res.check_action(action)  # Chef's why-run runs the provider's checks too
                self.ctx.out(f"  * {res.key} {action} (would run){suffix}")
                return
            if action != "nothing" and self.before.get(res.key):
                res.resolve_lazy()
                self._run_before(res, action)
            self.entries.append(entry)
            if action == "nothing":
                entry["skipped"] = True
                return
            res.resolve_lazy()  # before the guards: they may read properties (execute)
            changed = self._attempt(res, action, suffix)
            if res.updated_by_last_action:  # a custom resource's failed attempt changed things
                changed = True
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
                if res.updated_by_last_action:  # see Converger.mark
                    entry["changed"] = True
                    self._changed(res)
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
            self._changed(res)

    def _changed(self, res: Resource) -> None:
        self.changed_ids.add(id(res))
        self.updated_keys.add(res.key)
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
        """`before` listeners run when res's guards pass and its action would change; their
        targets must be declared by then (resource.rb resolve_notification_references
        resolves `before` ones with always_raise)."""
        targets = []
        for note in self.before[res.key]:
            target = self.target(note)
            if target is None:
                raise self.missing(note)
            targets.append((note.action, target))
        if res.skip_reason() is not None or not res.would_change(action):
            return
        for target_action, target in targets:
            self.run_action(target, target_action, via=f"before {res.key}")

    def _notify(self, res: Resource) -> None:
        """runner.rb run_action, once res changed: immediate notifications now (unified
        mode: one whose target is not declared yet waits for its declaration), delayed ones
        queued once per (action, target) on the target's collection (an undeclared one on
        this collection)."""
        for note in self.listeners.get(res.key, []):
            target = self.target(note)
            if note.timing == "immediately":
                if target is not None:
                    self.run_action(target, note.action, via=f"notified by {res.key}")
            else:
                self.queue(note.action, target or note.target)

    def queue(self, action: str, target: Resource | str) -> None:
        """run_context.rb add_delayed_action: at most once per (action, target)."""
        queue = self._queue_for(target) if isinstance(target, Resource) else self
        ident = (action, id(target) if isinstance(target, Resource) else target)
        if ident not in queue.queued:
            queue.queued.add(ident)
            queue.delayed.append((action, target))
