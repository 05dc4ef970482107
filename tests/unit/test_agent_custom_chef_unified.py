"""Unified mode, Chef 19's default for custom resources: an action's resources converge as
they are declared (chef-config config.rb `default :resource_unified_mode_default, true`;
provider.rb compile_and_converge_action sets the child collection's `unified_mode`;
resource_collection.rb insert: `if unified_mode; run_context.runner.run_all_actions(
resource)`; runner.rb and run_context.rb for notifications; mixin/why_run.rb converge_by runs
its block when called)."""
from __future__ import annotations

from test_agent_run import do_run
from test_agent_support import FakeApi, FakeRunner


def run(tmp_path, recipe: str, resources: dict[str, str], **kwargs):
    files = {"recipes/default.py": recipe.replace("TMP", str(tmp_path))}
    files.update({f"resources/{n}.py": c for n, c in resources.items()})
    return do_run(FakeApi(cookbooks={"web": files}, recipes=["web::default"]), tmp_path,
                  **kwargs)


def ran(report) -> list[tuple[str, str]]:
    return [(e["resource"], e["action"]) for e in report["resources"]]


CONF = '''
properties = {"content": None}

def _check(path):
    if "ok" not in open(path).read():
        raise RuntimeError("config check failed")

def action_create(new_resource):
    file(new_resource.name, content=new_resource.content)
    converge_by("check config", lambda: _check(new_resource.name))
'''


def test_a_check_after_a_resource_sees_what_it_did(tmp_path):
    """The audit's case: the file is written when declared, so the converge_by after it
    reads the new content. Chef fails the run on "bad" (ours read the old file, passed, and
    left the bad config); on a fresh host the check finds the file (ours: FileNotFoundError)."""
    (tmp_path / "app.conf").write_text("ok\n")
    report, _, _ = run(tmp_path, "web_conf('TMP/app.conf', content='bad\\n')\n", {"conf": CONF})
    assert report["status"] == "failure"
    assert "config check failed" in report["failure"]["message"]
    assert (tmp_path / "app.conf").read_text() == "bad\n"
    report, _, _ = run(tmp_path, "web_conf('TMP/new.conf', content='ok\\n')\n", {"conf": CONF})
    assert report["status"] == "success", report["failure"]


def test_unified_mode_false_compiles_the_body_first(tmp_path):
    """resource.rb `unified_mode false` (still honoured by Chef 19): the body runs to the
    end, then its resources converge (Chef before 16), so the check reads the old file."""
    (tmp_path / "app.conf").write_text("ok\n")
    report, _, _ = run(tmp_path, "web_conf('TMP/app.conf', content='bad\\n')\n",
                       {"conf": "unified_mode = False\n" + CONF})
    assert report["status"] == "success", report["failure"]
    assert (tmp_path / "app.conf").read_text() == "bad\n"


def test_a_failing_resource_stops_the_body_and_drops_its_delayed_notifications(tmp_path):
    """The failure leaves the body (instance_eval) before `runner.converge`, so neither
    what follows in the body nor the action's own delayed notifications run; a delayed
    notification to a recipe resource is on the recipes' queue and still runs (runner.rb
    `rescue Exception => e; run_delayed_notifications(e)`)."""
    res = ('def action_create(new_resource):\n'
           '    log("inner", action="nothing")\n'
           '    file(new_resource.name, content="x",\n'
           '         notifies=[("write", "log[inner]"), ("write", "log[outer]")])\n'
           '    execute("boom", command="false")\n'
           '    converge_by("after", lambda: open(new_resource.name + ".after", "w").close())\n')
    report, _, _ = run(tmp_path, "log('outer', action='nothing')\nweb_f('TMP/f')\n",
                       {"f": res}, runner=FakeRunner().when("false", rc=1))
    assert report["status"] == "failure"
    assert "execute[boom]: command exited 1" in report["failure"]["message"]
    assert not (tmp_path / "f.after").exists()
    assert ("log[inner]", "write") not in ran(report)
    assert ran(report)[-1] == ("log[outer]", "write")


def test_an_immediate_notification_waits_for_its_target_to_be_declared(tmp_path):
    """runner.rb run_action: an immediate notification whose target is still a string "is
    delayed until declaration due to unified_mode"; run_all_actions of the target then runs
    its own actions, then the waiting notifications of changed notifiers
    (reverse_immediate_notifications)."""
    res = ('def action_create(new_resource):\n'
           '    file(new_resource.name, content="x",\n'
           '         notifies=[("write", "log[later]", "immediately")])\n'
           '    log("between")\n'
           '    log("later", action="nothing")\n')
    report, _, _ = run(tmp_path, "web_f('TMP/f')\n", {"f": res})
    assert report["status"] == "success", report["failure"]
    assert ran(report)[1:] == [(f"file[{tmp_path}/f]", "create"), ("log[between]", "write"),
                               ("log[later]", "nothing"), ("log[later]", "write")]


def test_a_notification_to_a_target_never_declared_fails_at_the_end_of_the_action(tmp_path):
    """In unified mode the lookup does not fail while the body runs
    (resource_notification.rb fix_resource_reference: `if !unified_mode || always_raise`);
    runner.rb converge then resolves with always_raise, after the body, and runs the
    action's delayed notifications before raising."""
    res = ('def action_create(new_resource):\n'
           '    log("queued", action="nothing")\n'
           '    file(new_resource.name, content="x",\n'
           '         notifies=[("restart", "service[ghost]", "immediately"),\n'
           '                   ("write", "log[queued]")])\n'
           '    file(new_resource.name + ".2", content="y")\n')
    report, _, _ = run(tmp_path, "web_f('TMP/f')\n", {"f": res})
    assert report["status"] == "failure"
    assert "service[ghost], which is not declared" in report["failure"]["message"]
    assert (tmp_path / "f.2").exists()
    assert ran(report)[-1] == ("log[queued]", "write")


def test_subscriptions_declared_after_their_source_changed(tmp_path):
    """run_context.rb in unified mode: a delayed subscription to a resource that already
    changed is queued at once (notifies_delayed: `add_delayed_action`), an immediate one
    runs when the subscriber is declared (reverse_immediate_notifications matches
    `n.resource == resource`), and a `before` one is an error
    (UnifiedModeBeforeSubscriptionEarlierResource)."""
    res = ('def action_create(new_resource):\n'
           '    file(new_resource.name, content="x")\n'
           '    log("now", action="nothing",\n'
           '        subscribes=[("write", f"file[{new_resource.name}]", "immediately")])\n'
           '    log("later", action="nothing", subscribes=[("write", f"file[{new_resource.name}]")])\n'
           '    log("last")\n')
    report, _, _ = run(tmp_path, "web_f('TMP/f')\n", {"f": res})
    assert report["status"] == "success", report["failure"]
    assert ran(report)[1:] == [(f"file[{tmp_path}/f]", "create"), ("log[now]", "nothing"),
                               ("log[now]", "write"), ("log[later]", "nothing"),
                               ("log[last]", "write"), ("log[later]", "write")]
    before = ('def action_create(new_resource):\n'
              '    file(new_resource.name, content="x")\n'
              '    log("pre", action="nothing",\n'
              '        subscribes=[("write", f"file[{new_resource.name}]", "before")])\n')
    report, _, _ = run(tmp_path, "web_g('TMP/g')\n", {"g": before})
    assert report["status"] == "failure"
    assert "already fired while in unified mode" in report["failure"]["message"]


def test_nested_custom_resources_converge_in_order(tmp_path):
    """A custom resource declared in an action runs its own action (its own child
    collection) when declared, before the outer body goes on."""
    inner = ('def action_create(new_resource):\n'
             '    file(new_resource.name, content="inner")\n')
    outer = ('import os\n'
             'def action_create(new_resource):\n'
             '    web_inner(new_resource.name)\n'
             '    file(new_resource.name + ".seen", content=str(os.path.exists(new_resource.name)))\n')
    report, _, _ = run(tmp_path, "web_outer('TMP/x')\n", {"inner": inner, "outer": outer})
    assert report["status"] == "success", report["failure"]
    assert (tmp_path / "x.seen").read_text() == "True"
    assert [k for k, _ in ran(report)] == [f"web_outer[{tmp_path}/x]", f"web_inner[{tmp_path}/x]",
                                           f"file[{tmp_path}/x]", f"file[{tmp_path}/x.seen]"]
