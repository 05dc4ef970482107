"""execute, script/bash and log as Chef's resources and providers define them
(lib/chef/provider/execute.rb, resource/execute.rb, resource/log.rb, resource.rb), and the
common properties ignore_failure and sensitive."""
from __future__ import annotations

import os
import re

import pytest
from test_agent_execute_chef_shell import shared_dir  # noqa: F401 (the fixture)
from test_agent_notify import Probe
from test_agent_support import FakeRunner, context

from harness.agent import shell
from harness.agent.converge import Converger
from harness.agent.errors import ResourceFailure
from harness.agent.execute import Execute, Log
from harness.agent.script import Bash
from harness.agent.shell import Completed

RELATIVE = ("Please either specify a full path for the creates property, or specify a cwd "
            "property to the execute[unpack] resource")


def test_relative_creates_without_cwd_is_refused_when_the_action_runs():
    """provider/execute.rb define_resource_requirements: `if creates && creates_relative? &&
    !cwd` raise Chef::Exceptions::Execute; it runs with the action (provider.rb run_action),
    after the guards, so it is not read relative to `/`."""
    run = FakeRunner()
    ctx, _ = context(run=run)
    res = Execute(ctx, "unpack", command="tar xzf /tmp/app.tgz -C /opt", creates="etc")
    assert res.skip_reason() is None
    with pytest.raises(ResourceFailure, match=re.escape(RELATIVE)):
        res.apply("run")
    with pytest.raises(ResourceFailure, match=re.escape(RELATIVE)):
        res.would_change("run")
    assert run.calls == []
    guarded = Execute(ctx, "unpack", command="true", creates="etc", only_if=lambda: False)
    assert Converger(ctx, [guarded]).run() is None, "a guard that skips comes first"


def test_creates_is_checked_in_the_action_after_the_guards(tmp_path):
    """action :run starts with `if creates && sentinel_file.exist? ... return false`: the
    guards ran before (should_skip?), so a raising guard fails, and the resource is up to
    date, not skipped."""
    (tmp_path / "done").write_text("")
    ctx, lines = context()
    raising = Execute(ctx, "x", command="true", creates=str(tmp_path / "done"),
                      only_if=lambda: 1 / 0)
    with pytest.raises(ResourceFailure, match="ZeroDivisionError"):
        Converger(ctx, [raising]).run()
    conv = Converger(ctx, [Execute(ctx, "y", command="true", creates="done", cwd=str(tmp_path))])
    conv.run()
    assert (conv.entries[0]["skipped"], conv.entries[0]["changed"]) == (False, False)
    assert lines[-1] == "  * execute[y] run (up to date)"


def test_creates_follows_links(tmp_path):
    """sentinel_file is a Pathname and Pathname#exist? follows links: a dangling link does
    not count, a link to an existing file does."""
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    (tmp_path / "real").write_text("")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    run = FakeRunner()
    ctx, _ = context(run=run)
    assert Execute(ctx, "a", command="make", creates=str(tmp_path / "dangling")).apply("run")
    assert Execute(ctx, "b", command="make", creates="link", cwd=str(tmp_path)).apply("run") is False
    assert run.calls == ["make"]


def test_before_notifications_see_creates(tmp_path):
    """`notifies :before` runs a forced why-run of the action (runner.rb); execute's action
    returns before its converge_by when creates exists, so nothing is notified."""
    (tmp_path / "done").write_text("")
    ctx, _ = context()
    stamp = Probe(ctx, "stamp", action="nothing")
    res = Execute(ctx, "x", command="true", creates=str(tmp_path / "done"),
                  notifies=[("restart", "probe[stamp]", "before")])
    assert res.would_change("run") is False
    Converger(ctx, [stamp, res]).run()
    assert "log" not in ctx.state
    res2 = Execute(ctx, "y", command="true", creates=str(tmp_path / "missing"),
                   notifies=[("restart", "probe[stamp]", "before")])
    Converger(ctx, [stamp, res2]).run()
    assert ctx.state["log"] == ["restart stamp"]


@pytest.mark.parametrize("cls, props", [(Execute, {"command": "sleep 5"}),
                                        (Bash, {"code": "sleep 5"})])
def test_a_timed_out_command_fails_whatever_returns_says(cls, props):
    """mixlib-shellout raises CommandTimeout (unix.rb:120), an exception: provider/execute.rb
    `shell_out!(command, **opts)` fails with it whatever `returns` allows."""
    ctx, _ = context(run=shell.run)
    res = cls(ctx, "warm", timeout=0.3, returns=[0, 124, -15], **props)
    with pytest.raises(ResourceFailure, match="Command timed out after 0s:\nCommand exceeded "
                                              "allowed execution time, process terminated"):
        res.apply("run")


def test_a_sensitive_timeout_shows_no_output():
    """provider/execute.rb suppresses a sensitive resource's output on failure; the timeout's
    message (format_for_exception) would show it, and our report is posted, so it does not."""
    ctx, _ = context(run=lambda cmd, **kw: Completed(124, "s3cret", "", error="... s3cret ...",
                                                     timed_out=60.0))
    with pytest.raises(ResourceFailure) as failure:
        Execute(ctx, "x", command="set-password", sensitive=True).apply("run")
    assert str(failure.value) == ("Command timed out after 60s: STDOUT/STDERR suppressed for "
                                  "sensitive resource")


def test_a_missing_program_fails_execute_whatever_returns_says():
    """exec of a string without meta characters raises Errno::ENOENT (process.c, re-raised by
    unix.rb:128): shell_out! never returns a status for `returns` to accept."""
    ctx, _ = context(run=shell.run)
    res = Execute(ctx, "x", command="no-such-prog-xyz --now", returns=[0, 127])
    with pytest.raises(ResourceFailure, match="^No such file or directory - no-such-prog-xyz$"):
        res.apply("run")


def test_environment_values_as_chef_passes_them(tmp_path):
    """resource/execute.rb `property :environment, Hash`; the values reach mixlib-shellout
    unchanged (unix.rb:170 `ENV[k] = v` in the child): an Integer kills the child with
    exit 1 before exec, so the command fails (`returns` decides, as for any exit 1)."""
    marker = tmp_path / "ran"
    ctx, _ = context(run=shell.run)
    res = Execute(ctx, "migrate", command=f"touch {marker}", environment={"WORKERS": 4})
    with pytest.raises(ResourceFailure, match=r"command exited 1: touch .*\nenvironment "
                                              r"'WORKERS': no implicit conversion of Integer"):
        res.apply("run")
    assert not marker.exists()
    with pytest.raises(ResourceFailure, match="environment must be a dict"):
        Execute(ctx, "x", environment=["A=1"])
    assert Execute(ctx, "x", command="echo ${HOME-unset} > " + str(marker),
                   environment={"HOME": None}).apply("run")
    assert marker.read_text() == "unset\n"


def test_script_failures_of_a_sensitive_resource_show_no_output():
    """provider/script.rb subclasses provider/execute.rb, whose :run action replaces the
    failure of a sensitive resource with "STDOUT/STDERR suppressed for sensitive resource"."""
    ctx, _ = context(run=shell.run)
    with pytest.raises(ResourceFailure) as failure:
        Bash(ctx, "x", code="echo s3cret-token; exit 1", sensitive=True).apply("run")
    assert "s3cret" not in str(failure.value)
    assert str(failure.value) == "bash exited 1: sensitive resource"
    with pytest.raises(ResourceFailure, match="(?s)bash exited 1: \"bash\".*shown-token"):
        Bash(ctx, "y", code="echo shown-token; exit 1").apply("run")


@pytest.mark.parametrize("level", ["debug", "info", "warn", "error", "fatal"])
def test_log_levels_chef_knows(level):
    ctx, lines = context()
    assert Log(ctx, "hello", level=level).apply("write") is False
    assert lines == [f"    - [{level}] hello"]


@pytest.mark.parametrize("props, message", [
    ({"level": "warning"}, "level must be one of debug, info, warn, error, fatal, not 'warning'"),
    ({"level": "INFO"}, "not 'INFO'"),
    ({"message": 42}, "message must be a string, not 42")])
def test_log_refuses_what_chef_refuses_at_compile(props, message):
    """resource/log.rb: `property :level, Symbol, equal_to: %i{debug info warn error fatal}`
    and `property :message, String`: anything else fails validation at compile time."""
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match=re.escape(message)):
        Log(ctx, "x", **props)


@pytest.mark.parametrize("value", ["false", "true", 1, 0, "yes"])
def test_ignore_failure_takes_true_false_or_quiet(value):
    """resource.rb: `property :ignore_failure, [ true, false, :quiet, "quiet" ]`."""
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match=f"ignore_failure must be True, False or 'quiet', "
                                              f"not {re.escape(repr(value))}"):
        Probe(ctx, "x", ignore_failure=value)
    assert Probe(ctx, "y", ignore_failure="quiet").ignore_failure == "quiet"
    assert Probe(ctx, "z", ignore_failure=False).ignore_failure is False


@pytest.mark.parametrize("value", ["yes", 1, "false"])
def test_sensitive_takes_true_or_false(value):
    """resource.rb: `property :sensitive, [ TrueClass, FalseClass ]`."""
    ctx, _ = context()
    with pytest.raises(ResourceFailure, match=f"sensitive must be True or False, not "
                                              f"{re.escape(repr(value))}"):
        Execute(ctx, "x", command="true", sensitive=value)


def test_quiet_ignore_failure_keeps_the_run_going():
    ctx, _ = context()
    conv = Converger(ctx, [Probe(ctx, "b", action="boom", ignore_failure="quiet"),
                           Probe(ctx, "c")])
    conv.run()
    assert ctx.state["log"] == ["go c"]


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_execute_as_a_user_keeps_the_group(shared_dir):  # noqa: F811
    """mixlib-shellout without login switches the uid only (unix.rb:149): a file the
    command creates belongs to the user and to chef-client's group (root here)."""
    ctx, _ = context(run=shell.run)
    out = shared_dir / "ready"
    assert Execute(ctx, "ready", command=f"touch {out}", user="nobody").apply("run")
    assert (out.stat().st_uid, out.stat().st_gid) == (65534, os.getgid())
