"""Converge phase: order, notifications (immediate, delayed, de-duplicated, subscribes),
guards, failures naming the resource, why-run touching nothing."""
from __future__ import annotations

import pytest
from test_agent_support import FakeRunner, context

from harness.agent.converge import Converger
from harness.agent.errors import ResourceFailure
from harness.agent.resource import Resource


class Probe(Resource):
    """A resource that logs its actions into ctx.state["log"]; `change` says if it changes."""

    kind = "probe"
    actions = ("go", "restart", "boom")
    default_action = "go"
    properties = {"change": True}

    def action_go(self) -> bool:
        self.ctx.state.setdefault("log", []).append(f"go {self.name}")
        return self.props["change"]

    def action_restart(self) -> bool:
        self.ctx.state.setdefault("log", []).append(f"restart {self.name}")
        return True

    def action_boom(self) -> bool:
        raise OSError("disk on fire")


def converge(*specs, why_run=False, run=None):
    ctx, lines = context(why_run=why_run, run=run)
    resources = [Probe(ctx, name, **kwargs) for name, kwargs in specs]
    conv = Converger(ctx, resources)
    conv.run()
    return ctx.state.get("log", []), conv, lines


def test_resources_run_in_order_and_report_changes():
    log, conv, lines = converge(("a", {}), ("b", {"change": False}))
    assert log == ["go a", "go b"]
    assert conv.changed == ["probe[a]"]
    assert [(e["resource"], e["changed"]) for e in conv.entries] == [
        ("probe[a]", True), ("probe[b]", False)]
    assert lines == ["  * probe[a] go (changed)", "  * probe[b] go (up to date)"]


def test_delayed_notifications_run_once_at_the_end():
    log, conv, _ = converge(
        ("svc", {"action": "nothing"}),
        ("conf1", {"notifies": [("restart", "probe[svc]")]}),
        ("conf2", {"notifies": ("restart", "probe[svc]", "delayed")}),
        ("other", {}))
    assert log == ["go conf1", "go conf2", "go other", "restart svc"]
    assert conv.entries[-1] == {"resource": "probe[svc]", "action": "restart", "changed": True,
                                "seconds": conv.entries[-1]["seconds"], "skipped": False}


def test_immediate_notification_runs_right_after():
    log, _, lines = converge(
        ("svc", {"action": "nothing"}),
        ("conf", {"notifies": [("restart", "probe[svc]", "immediately")]}),
        ("later", {}))
    assert log == ["go conf", "restart svc", "go later"]
    assert "  * probe[svc] restart (changed) (notified by probe[conf])" in lines


def test_no_notification_without_a_change():
    log, _, _ = converge(("svc", {"action": "nothing"}),
                         ("conf", {"change": False, "notifies": [("restart", "probe[svc]")]}))
    assert log == ["go conf"]


def test_subscribes_is_the_reverse_of_notifies():
    log, _, _ = converge(("conf", {}),
                         ("svc", {"action": "nothing",
                                  "subscribes": [("restart", "probe[conf]", "immediately")]}),
                         ("last", {}))
    assert log == ["go conf", "restart svc", "go last"]


def test_missing_notification_target_fails_before_anything_runs():
    ctx, _ = context()
    res = [Probe(ctx, "a"), Probe(ctx, "b", notifies=[("restart", "service[nope]")])]
    with pytest.raises(ResourceFailure, match=r"service\[nope\], which is not declared") as info:
        Converger(ctx, res).run()
    assert info.value.resource == "probe[b]" and "log" not in ctx.state


def test_bad_notification_action_and_shape():
    """A notification's action is not checked up front: Chef sends `action_NAME` to the
    target's provider when it fires (resource.rb notifies validates only the target spec;
    provider.rb run_action `send("action_#{@action}")`), so it fails then, naming the
    target, and a notification that never fires never fails."""
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match="probe has no action 'fly'") as info:
        Converger(ctx, [Probe(ctx, "a"), Probe(ctx, "b", notifies=[("fly", "probe[a]")])]).run()
    assert info.value.resource == "probe[a]"
    Converger(ctx, [Probe(ctx, "a"), Probe(ctx, "b", change=False,
                                             notifies=[("fly", "probe[a]")])]).run()
    with pytest.raises(ResourceFailure, match="timing"):
        Probe(ctx, "c", notifies=[("go", "probe[a]", "someday")])


def test_failure_names_the_resource_and_stops_the_run():
    with pytest.raises(ResourceFailure, match="OSError: disk on fire") as info:
        converge(("a", {}), ("b", {"action": "boom"}), ("c", {}))
    assert info.value.resource == "probe[b]"


def test_ignore_failure_continues():
    log, _, lines = converge(("b", {"action": "boom", "ignore_failure": True}), ("c", {}))
    assert log == ["go c"] and any("FAILED, ignored" in line for line in lines)


def test_guards_skip_and_are_reported():
    run = FakeRunner().when("test -f /nope", rc=1)
    log, conv, lines = converge(("a", {"only_if": "test -f /nope"}),
                                ("b", {"not_if": lambda: True}),
                                ("c", {"only_if": lambda: True, "not_if": "test -f /nope"}),
                                run=run)
    assert log == ["go c"]
    assert [e["skipped"] for e in conv.entries] == [True, True, False]
    assert "  * probe[a] go (skipped due to only_if)" in lines


def test_why_run_lists_without_running():
    log, conv, lines = converge(("a", {}), ("b", {"action": ["go", "restart"]}), why_run=True)
    assert log == [] and conv.changed == []
    assert [(e["resource"], e["action"]) for e in conv.entries] == [
        ("probe[a]", "go"), ("probe[b]", "go"), ("probe[b]", "restart")]
    assert lines[0] == "  * probe[a] go (would run)"
