"""Notifications against Chef 19.4.14's source (chef/chef lib/chef/run_context.rb,
lib/chef/runner.rb, lib/chef/resource.rb, lib/chef/resource/resource_notification.rb)."""
from __future__ import annotations

from test_agent_run import do_run
from test_agent_support import FakeApi, unit_state


def run(tmp_path, recipe: str, resources: dict[str, str] | None = None, **kwargs):
    files = {"recipes/default.py": recipe.replace("TMP", str(tmp_path))}
    files.update({f"resources/{n}.py": c for n, c in (resources or {}).items()})
    return do_run(FakeApi(cookbooks={"web": files}, recipes=["web::default"]), tmp_path,
                  **kwargs)


def ran(report) -> list[tuple[str, str]]:
    return [(e["resource"], e["action"]) for e in report["resources"]]


def test_notifications_belong_to_the_type_and_name_not_to_one_resource(tmp_path):
    """run_context.rb notifies_immediately/notifies_delayed file a notification under
    `notification.notifying_resource.declared_key`, and runner.rb run_action fires
    `run_context.immediate_notifications(resource)`, looked up by `resource.declared_key`.
    So when a resource is declared twice (a wrapper re-declaring a library cookbook's), the
    notifications of the first fire when the second changes: Chef writes both logs, ours
    wrote neither (they were tied to the skipped resource object)."""
    report, _, _ = run(tmp_path, (
        "execute('setup', command='/bin/true', not_if=lambda: True,\n"
        "        notifies=[('write', 'log[now]', 'immediately'), ('write', 'log[later]')])\n"
        "execute('setup', command='/bin/true')\n"
        "log('now', action='nothing')\nlog('later', action='nothing')\n"))
    assert report["status"] == "success", report["failure"]
    assert ran(report) == [("execute[setup]", "run"), ("execute[setup]", "run"),
                           ("log[now]", "write"), ("log[now]", "nothing"),
                           ("log[later]", "nothing"), ("log[later]", "write")]


def test_subscribes_listens_to_every_resource_with_that_key(tmp_path):
    """resource.rb subscribes: `UnresolvedSubscribes.new(resource_string, run_context)`,
    whose declared_key is the string given, then `resource.notifies(action, self, timing)`:
    the subscription is filed under "file[...]" and fires whichever resource of that key
    changes. Here the first file changes, the second (declared last) is up to date: Chef
    writes the log, ours bound the subscription to the last one and wrote nothing."""
    report, _, _ = run(tmp_path, (
        "file('TMP/b', content='x')\n"
        "log('sub', action='nothing', subscribes=[('write', 'file[TMP/b]')])\n"
        "file('TMP/b', content='x')\n"))
    assert report["status"] == "success", report["failure"]
    assert ran(report)[-1] == ("log[sub]", "write")


def test_a_before_notification_is_filed_under_the_key_too(tmp_path):
    """run_context.rb notifies_before / before_notifications(resource): keyed by
    declared_key as well, so the second same-named resource gets the first one's `before`."""
    report, _, _ = run(tmp_path, (
        "service('web', action='nothing')\n"
        "file('TMP/c', content='x', only_if=lambda: False,\n"
        "     notifies=[('stop', 'service[web]', 'before')])\n"
        "file('TMP/c', content='y')\n"), runner=unit_state("active", "enabled"))
    assert report["status"] == "success", report["failure"]
    assert ran(report)[-2:] == [("service[web]", "stop"), (f"file[{tmp_path}/c]", "create")]


def test_subscribes_to_a_resource_never_declared_is_inert(tmp_path):
    """resource_notification.rb resolve_resource_reference returns at once when both ends
    are Resource objects, and an UnresolvedSubscribes is one (`class UnresolvedSubscribes <
    self`): nothing looks the string up, so a subscription to a resource no recipe declares
    (an optional cookbook's template) is silently never fired. Ours failed the run "which is
    not declared in this run". The same holds for a subscription from the recipes to a
    resource inside a custom resource's action: the action's resources run in a child
    run_context whose notification collections are its own (run_context.rb ChildRunContext
    CHILD_STATE: immediate_notifications, delayed_notifications)."""
    inner = ("def action_create(new_resource):\n"
             "    file(new_resource.name, content='x')\n")
    report, _, _ = run(tmp_path, (
        "log('x', action='nothing', subscribes=[('write', 'template[/etc/optional.conf]')])\n"
        "web_inner('TMP/inner')\n"
        "log('y', action='nothing', subscribes=[('write', 'file[TMP/inner]', 'immediately')])\n"),
        {"inner": inner})
    assert report["status"] == "success", report["failure"]
    assert (tmp_path / "inner").exists()
    assert ("log[y]", "write") not in ran(report) and ("log[x]", "write") not in ran(report)


def test_a_notification_with_an_action_its_target_lacks_fails_when_it_fires(tmp_path):
    """resource.rb notifies checks only the target spec (validate_resource_spec!); the
    action reaches the target's provider when the notification fires (provider.rb
    run_action: `send("action_#{@action}")`), so one that never fires never fails, and
    one that fires fails the target."""
    recipe = ("service('web', action='nothing')\n"
              "file('TMP/a', content='x', notifies=[('reboot', 'service[web]', 'immediately')])\n")
    report, _, _ = run(tmp_path, recipe)
    assert report["status"] == "failure"
    assert report["failure"]["resource"] == "service[web]"
    assert "no action 'reboot'" in report["failure"]["message"]
    report, _, _ = run(tmp_path, recipe)  # the file is up to date: nothing fires
    assert report["status"] == "success", report["failure"]


FLAKY = '''
attempts = [0]

def flaky():
    attempts[0] += 1
    if attempts[0] == 1:
        raise RuntimeError("not yet")
    return "ok"

def action_create(new_resource):
    file(new_resource.name, content="x")
    log("check", message=lazy(flaky))

def action_fail(new_resource):
    file(new_resource.name, content="x")
    execute("boom", command="false")
'''


def test_a_custom_resource_that_changed_then_failed_is_updated(tmp_path):
    """provider.rb compile_and_converge_action: `ensure; if run_context.resource_collection.
    any?(&:updated?); new_resource.updated_by_last_action(true)`, on failure too. With
    ignore_failure (resource.rb run_action rescues, logs, returns) the runner then sees the
    resource updated and fires its notifications: the restart happens, as in Chef; ours
    reported it unchanged and notified nothing."""
    from test_agent_support import FakeRunner
    runner = unit_state("active", "enabled", FakeRunner().when("false", rc=1))
    report, lines, runner = run(tmp_path, (
        "service('web', action='nothing')\n"
        "web_flaky('TMP/a', action='fail', ignore_failure=True,\n"
        "          notifies=[('restart', 'service[web]', 'immediately')])\n"),
        {"flaky": FLAKY}, runner=runner)
    assert report["status"] == "success", report["failure"]
    assert any("FAILED, ignored" in line for line in lines)
    assert ("service[web]", "restart") in ran(report)
    assert f"web_flaky[{tmp_path}/a]" in report["changed"]
    assert runner.ran("systemctl", "--system", "restart", "web")


def test_a_retried_custom_resource_counts_the_changes_of_its_failed_attempt(tmp_path):
    """resource.rb run_action calls `updated_by_last_action(false)` once, before `begin`;
    `retry` re-enters the begin block without resetting it. The first attempt wrote the
    file and failed; the second finds it up to date and succeeds: the resource is updated
    and notifies (ours: up to date, no notification)."""
    report, _, _ = run(tmp_path, (
        "log('notified', action='nothing')\n"
        "web_flaky('TMP/b', retries=1, retry_delay=0, notifies=[('write', 'log[notified]')])\n"),
        {"flaky": FLAKY})
    assert report["status"] == "success", report["failure"]
    assert ran(report)[-1] == ("log[notified]", "write")
    assert f"web_flaky[{tmp_path}/b]" in report["changed"]
