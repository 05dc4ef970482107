"""retries / retry_delay on every resource, and `notifies ... :before`.

Chef's Resource#run_action (chef/chef lib/chef/resource.rb): on an error, `ignore_failure`
wins (no retry); otherwise retry `retries` times (default 0), sleeping `retry_delay` seconds
(default 2) between attempts, and the guards (`should_skip?`) run again inside the retry.
Chef's Runner#run_action (lib/chef/runner.rb): a resource with :before notifications first
runs a forced why-run of its action, and only when that says "updated" are the before
notifications run, ahead of the real action (which evaluates its guards again).
"""
from __future__ import annotations

import pytest
from test_agent_support import FakeRunner, context

from harness.agent.converge import Converger
from harness.agent.errors import ResourceFailure
from harness.agent.files import File
from harness.agent.resource import Resource


class Flaky(Resource):
    """Fails `fails` times, then succeeds; logs attempts in ctx.state["log"]."""

    kind = "flaky"
    actions = ("go", "stop")
    default_action = "go"
    properties = {"fails": 0}

    def action_go(self) -> bool:
        log = self.ctx.state.setdefault("log", [])
        log.append(f"go {self.name}")
        if log.count(f"go {self.name}") <= self.props["fails"]:
            raise OSError(f"attempt {len(log)} broke\nsecond line")
        return True

    def action_stop(self) -> bool:
        self.ctx.state.setdefault("log", []).append(f"stop {self.name}")
        return True


def run(resources_spec, **ctx_kwargs):
    ctx, lines = context(**ctx_kwargs)
    sleeps: list[float] = []
    ctx.sleep = sleeps.append
    conv = Converger(ctx, [cls(ctx, name, **kw) for cls, name, kw in resources_spec])
    return ctx, conv, lines, sleeps


def test_defaults_are_chefs():
    ctx, _ = context()
    res = Flaky(ctx, "x")
    assert (res.retries, res.retry_delay) == (0, 2)


def test_retries_until_success_with_delay():
    ctx, conv, lines, sleeps = run([(Flaky, "db", {"fails": 2, "retries": 3, "retry_delay": 5})])
    conv.run()
    assert ctx.state["log"] == ["go db"] * 3 and sleeps == [5, 5]
    assert conv.changed == ["flaky[db]"]
    assert lines[0] == "  * flaky[db] go (failed: attempt 1 broke; retrying in 5s, 2 attempts left)"
    assert lines[1].endswith("1 attempt left)") and lines[2] == "  * flaky[db] go (changed)"


def test_retries_exhausted_fails_naming_the_resource():
    ctx, conv, _, sleeps = run([(Flaky, "db", {"fails": 5, "retries": 1, "retry_delay": 0})])
    with pytest.raises(ResourceFailure, match="attempt 2 broke") as err:
        conv.run()
    assert err.value.resource == "flaky[db]" and sleeps == [0]
    assert len(conv.entries) == 1


def test_ignore_failure_wins_over_retries():
    ctx, conv, lines, sleeps = run([(Flaky, "db", {"fails": 5, "retries": 3,
                                                    "ignore_failure": True})])
    conv.run()
    assert ctx.state["log"] == ["go db"] and sleeps == []
    assert "FAILED, ignored" in lines[0]


def test_guards_are_evaluated_again_on_each_attempt():
    runner = FakeRunner()
    ctx, conv, _, _ = run([(Flaky, "db", {"fails": 1, "retries": 2, "only_if": "test -e /x"})],
                          run=runner)
    conv.run()
    assert runner.ran("test -e /x") == ["test -e /x"] * 2


@pytest.mark.parametrize("bad", [-1, "3", 1.5, True])
def test_bad_retries_fail_at_declaration(bad):
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match="retries must be a whole number"):
        Flaky(ctx, "x", retries=bad)


def test_before_runs_ahead_of_a_resource_that_would_change(tmp_path):
    """The file would change, so service stop runs before it is written; a second run finds
    the file up to date: no before notification."""
    target = tmp_path / "app.conf"
    spec = [(Flaky, "svc", {"action": "nothing"}),
            (File, str(target), {"content": "v2\n",
                                 "notifies": [("stop", "flaky[svc]", "before")]})]
    ctx, conv, lines, _ = run(spec)
    seen = []
    ctx.state["log"] = seen
    real_stop = Flaky.action_stop

    def stop(self):
        seen.append(f"stop while file exists={target.exists()}")
        return real_stop(self)

    Flaky.action_stop = stop
    try:
        conv.run()
        assert seen[0] == "stop while file exists=False"
        assert lines[0] == f"  * flaky[svc] stop (changed) (before file[{target}])"
        assert [(e["resource"], e["action"]) for e in conv.entries] == [
            ("flaky[svc]", "nothing"), ("flaky[svc]", "stop"), (f"file[{target}]", "create")]
        ctx2, conv2, lines2, _ = run(spec)
        conv2.run()
        assert "log" not in ctx2.state and len(lines2) == 1 and "up to date" in lines2[0]
    finally:
        Flaky.action_stop = real_stop


def test_before_skipped_when_the_guard_skips(tmp_path):
    runner = FakeRunner().when("false", rc=1)
    spec = [(Flaky, "svc", {"action": "nothing"}),
            (File, str(tmp_path / "f"), {"content": "x", "only_if": "false",
                                         "notifies": [("stop", "flaky[svc]", "before")]})]
    ctx, conv, _, _ = run(spec, run=runner)
    conv.run()
    assert "log" not in ctx.state and not (tmp_path / "f").exists()


def test_before_via_subscribes_and_why_run_runs_nothing(tmp_path):
    def spec(path):
        return [(File, str(path), {"content": "x"}),
                (Flaky, "svc", {"action": "nothing",
                                "subscribes": [("stop", f"file[{path}]", "before")]})]
    ctx, conv, _, _ = run(spec(tmp_path / "f"))
    conv.run()
    assert ctx.state["log"] == ["stop svc"] and (tmp_path / "f").read_text() == "x"
    ctx, conv, lines, _ = run(spec(tmp_path / "g"), why_run=True)
    conv.run()
    assert "log" not in ctx.state and not (tmp_path / "g").exists()
    assert lines and all("would run" in line for line in lines)


def test_bad_timing_names_before_as_allowed():
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match="'immediately' or 'before'"):
        Flaky(ctx, "x", notifies=[("stop", "flaky[y]", "later")])
