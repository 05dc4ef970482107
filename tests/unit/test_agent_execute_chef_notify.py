"""Delayed notifications when the run fails, as Chef's Runner#converge (lib/chef/runner.rb):
`rescue Exception => e; run_delayed_notifications(e)`. Every queued delayed notification
runs, each in its own rescue (run_delayed_notification), the failures are collected
(Exceptions::MultipleFailures) and raised at the end: one failure as it is, several together.
"""
from __future__ import annotations

import pytest
from test_agent_notify import Probe
from test_agent_support import context

from harness.agent.converge import Converger, MultipleFailures
from harness.agent.errors import ResourceFailure


def converge(*specs):
    ctx, lines = context()
    conv = Converger(ctx, [Probe(ctx, name, **kwargs) for name, kwargs in specs])
    with pytest.raises(ResourceFailure) as failure:
        conv.run()
    return ctx.state.get("log", []), conv, lines, failure.value


def test_a_failing_resource_still_runs_the_queued_delayed_notifications():
    """runner.rb converge: the rescue runs the queued delayed actions, then re-raises. The
    service a changed template notified is restarted although a later resource failed, so
    the next converge (template up to date, nothing queued) does not leave it unrestarted."""
    log, conv, lines, failure = converge(
        ("svc", {"action": "nothing"}),
        ("conf", {"notifies": [("restart", "probe[svc]")]}),
        ("migrate", {"action": "boom"}),
        ("never", {}))
    assert log == ["go conf", "restart svc"], "the resource after the failure does not run"
    assert failure.resource == "probe[migrate]" and "disk on fire" in str(failure)
    assert not isinstance(failure, MultipleFailures), "one failure is raised as it is"
    assert "  Running queued delayed notifications before re-raising exception" in lines
    assert lines[-1] == "  * probe[svc] restart (changed) (delayed notification)"
    assert [(e["resource"], e["action"]) for e in conv.entries] == [
        ("probe[svc]", "nothing"), ("probe[conf]", "go"), ("probe[migrate]", "boom"),
        ("probe[svc]", "restart")]


def test_a_failing_delayed_notification_does_not_stop_the_others():
    """run_delayed_notifications: each notification in its own rescue; the failure is raised
    once they have all run."""
    log, _, _, failure = converge(
        ("bad", {"action": "nothing"}), ("svc", {"action": "nothing"}),
        ("c1", {"notifies": [("boom", "probe[bad]")]}),
        ("c2", {"notifies": [("restart", "probe[svc]")]}))
    assert log == ["go c1", "go c2", "restart svc"]
    assert failure.resource == "probe[bad]" and not isinstance(failure, MultipleFailures)


def test_several_failures_fail_the_run_with_the_first_and_list_them_all():
    """Exceptions::MultipleFailures ("Multiple failures occurred:", one line per failure, the
    run's first): the report names the first failing resource, the message lists each."""
    log, _, _, failure = converge(
        ("bad", {"action": "nothing"}), ("svc", {"action": "nothing"}),
        ("c1", {"notifies": [("boom", "probe[bad]")]}),
        ("c2", {"notifies": [("restart", "probe[svc]")]}),
        ("migrate", {"action": "boom"}))
    assert log == ["go c1", "go c2", "restart svc"]
    assert isinstance(failure, MultipleFailures) and failure.resource == "probe[migrate]"
    assert str(failure).splitlines() == [
        "Multiple failures occurred:",
        "* probe[migrate] failed in the run: OSError: disk on fire",
        "* probe[bad] failed in a delayed notification: OSError: disk on fire"]
    assert [f.resource for f in failure.failures] == ["probe[migrate]", "probe[bad]"]


def test_notifications_queued_while_draining_run_too_and_ignored_failures_do_not_count():
    """A delayed notification's own delayed notifications are queued on the same list, which
    the drain walks to its end (`delayed_actions.each`); ignore_failure is not a failure."""
    log, _, _, failure = converge(
        ("svc", {"action": "nothing"}),
        ("relay", {"action": "nothing", "notifies": [("restart", "probe[svc]")]}),
        ("quiet", {"action": "nothing", "ignore_failure": "quiet"}),
        ("conf", {"notifies": [("restart", "probe[relay]"), ("boom", "probe[quiet]")]}),
        ("migrate", {"action": "boom"}))
    assert log == ["go conf", "restart relay", "restart svc"]
    assert failure.resource == "probe[migrate]" and not isinstance(failure, MultipleFailures)
