"""Unified mode: a custom resource's action converges each resource as it is declared.

Chef 19 runs every custom resource in unified mode unless it says `unified_mode false`
(chef-config config.rb `default :resource_unified_mode_default, true`; resource.rb
self.unified_mode). provider.rb compile_and_converge_action creates a child run_context whose
resource_collection has `unified_mode = new_resource.class.unified_mode`, evaluates the
action's body, then `runner.converge`; resource_collection.rb insert runs
`run_context.runner.run_all_actions(resource)` for each resource as the body declares it.
So plain Python after a resource sees what it did, converge_by runs in order with them, and a
failing resource stops the body there. Notifications within the action (runner.rb,
run_context.rb):

- a notification is filed when its resource is declared; its target is looked up when it
  fires (this action's resources declared so far, then the enclosing collections);
- `immediately` to a target not declared yet waits: when a resource with that key is
  declared, after its own actions, every waiting notification whose notifier has changed
  runs on it (runner.rb run_all_actions, reverse_immediate_notifications) — a `subscribes`
  declared after its source changed fires the same way;
- `delayed` ones run at the end of the action (target undeclared: still this action's
  queue), a delayed one filed by a resource declared after a same-named one changed is
  queued at once (run_context.rb notifies_delayed), and a `before` one filed after its
  notifier changed is an error (UnifiedModeBeforeSubscriptionEarlierResource);
- when the body is done, a notification whose target is still not declared fails the
  action (runner.rb converge: `resolve_notification_references(true)`), the action's
  delayed notifications still running first; if the body fails, its delayed ones never run
  (the exception leaves instance_eval before `runner.converge`).

`before` notifications on the custom resource itself predict with the body collected, not
converged (custom.py would_change): Chef's forced why-run changes nothing either.
"""
from __future__ import annotations

from collections.abc import Callable

from .converge import Converger, Note
from .errors import ResourceFailure
from .resource import Resource


class UnifiedConverger(Converger):
    """A custom resource action's collection, converged as it is declared (`add`)."""

    def add(self, res: Resource) -> None:
        """resource_collection.rb insert in unified mode: file the resource's
        notifications (done while Chef builds it), run its actions, then the waiting
        immediate notifications aimed at it."""
        self.resources.append(res)
        self.by_key[res.key] = res
        for note in self.notes_of(res):
            self.file_unified(note, res)
        for action in res.action_list:
            self.run_action(res, action)
        for notes in list(self.listeners.values()):
            for note in list(notes):
                aimed = note.target == res.key if isinstance(note.target, str) \
                    else note.target is res
                if note.timing == "immediately" and aimed and note.notifier in self.updated_keys:
                    note.target = res
                    self.run_action(res, note.action,
                                    via=f"notified by {note.notifier}, at its declaration")

    def file_unified(self, note: Note, res: Resource) -> None:
        """run_context.rb notifies_before / notifies_delayed in unified mode (`res` is
        being declared)."""
        if note.notifier in self.updated_keys:
            if note.timing == "before":  # Exceptions::UnifiedModeBeforeSubscriptionEarlierResource
                raise ResourceFailure(
                    f"before subscription from {getattr(note.target, 'key', note.target)} "
                    f"resource cannot be setup to {note.notifier} resource, which has "
                    "already fired while in unified mode", res.key)
            if note.timing == "delayed":
                self.queue(note.action, self.target(note) or note.target)
        self.file(note)

    def finish(self) -> None:
        """runner.rb converge once the body is done: every notification filed under one
        of this action's resources must have a target by now; then the delayed ones."""
        failures: list[tuple[str, BaseException]] = []
        try:
            for res in self.resources:
                for note in (self.listeners.get(res.key, []) + self.before.get(res.key, [])):
                    if self.target(note) is None:
                        raise self.missing(note)
        except ResourceFailure as exc:
            failures.append(("the run", exc))
        self.run_delayed(failures)
        self.raise_for(failures)


def converge_action(parent: Converger, owner: Resource,
                    body: Callable[[Callable[[Resource], None]], bool]) -> bool:
    """Run an action body in unified mode: `body(declare)` runs it, calling `declare` with
    each resource it declares, and says whether a converge_by ran. True when the action
    changed something; `owner` is updated when a resource of it changed, failure or not
    (provider.rb compile_and_converge_action `ensure`)."""
    sub = UnifiedConverger(parent.ctx, [], parent=parent)
    outer, parent.ctx.converger = parent.ctx.converger, sub
    try:
        updated = body(sub.add)
        sub.finish()
    finally:
        parent.ctx.converger = outer
        sub.mark(owner)
    return updated or any(id(res) in sub.changed_ids for res in sub.resources)


def converge_collected(parent: Converger, resources: list[Resource], owner: Resource) -> bool:
    """`unified_mode = False` (Chef's compile-then-converge): converge the resources an
    action's body declared, now; True when one changed.

    When one changed and a later one fails, `owner` is still updated (provider.rb
    compile_and_converge_action: `ensure; if run_context.resource_collection.any?(&:updated?);
    new_resource.updated_by_last_action(true)`): with ignore_failure its notifications fire,
    and after a retry it counts as changed even if the last attempt found everything up to
    date (resource.rb run_action resets the flag before its `retry` loop, not in it)."""
    sub = Converger(parent.ctx, resources, parent=parent)
    try:
        sub.run()
    finally:
        sub.mark(owner)
    return any(id(res) in sub.changed_ids for res in resources)
