"""String guards as Chef runs them (lib/chef/guard_interpreter*.rb, resource/conditional.rb):
what they inherit, their timeout, and what fails the resource instead of reading as false."""
from __future__ import annotations

import pytest
from test_agent_notify import Probe
from test_agent_support import FakeRunner, context

from harness.agent import shell
from harness.agent.converge import Converger
from harness.agent.errors import ResourceFailure
from harness.agent.execute import Execute
from harness.agent.script import Bash, Script
from harness.agent.shell import Completed

OPTS = {"cwd": "/opt/app", "user": "app", "environment": {"PATH": "/opt/tool/bin:/usr/bin"}}


@pytest.mark.parametrize("cls", [Bash, Script])
def test_script_guards_inherit_nothing(cls):
    """resource/script.rb `@default_guard_interpreter = :default`: guard_interpreter.rb picks
    DefaultGuardInterpreter, which runs `shell_out(command, default_env: false)` with the
    guard's own options only (default_guard_interpreter.rb), in chef-client's cwd, user and
    environment, with mixlib-shellout's default timeout of 600 s."""
    run = FakeRunner().when("test -f build/.done", rc=1)
    ctx, _ = context(run=run)
    res = cls(ctx, "build", code="make install", interpreter="bash",
              not_if="test -f build/.done", **OPTS)
    assert res.skip_reason() is None
    assert run.calls == ["test -f build/.done"] and run.kwargs == [{"timeout": 600}]
    assert res.apply("run") is True
    assert run.kwargs[1] == {"cwd": "/opt/app", "user": "app", "timeout": 3600,
                             "env": {"PATH": "/opt/tool/bin:/usr/bin"},
                             "input": "make install"}, "the code itself still gets them"


def test_execute_guards_inherit_cwd_environment_user_and_keep_executes_timeout():
    """resource/execute.rb `@default_guard_interpreter = :execute`: the guard is an execute
    resource (ResourceGuardInterpreter) given the parent's cwd, environment and user
    (set_guard_inherited_attributes); its timeout is execute's default 3600, not inherited
    (shell.run's default)."""
    run = FakeRunner().when("test -f build/.done", rc=1)
    ctx, _ = context(run=run)
    res = Execute(ctx, "build", command="make", not_if="test -f build/.done", timeout=5, **OPTS)
    assert res.skip_reason() is None
    assert run.kwargs == [{"cwd": "/opt/app", "user": "app",
                           "env": {"PATH": "/opt/tool/bin:/usr/bin"}}]


def test_other_resources_guards_time_out_after_600_seconds():
    """Every other resource has the default guard interpreter: no options, 600 s."""
    run = FakeRunner()
    ctx, _ = context(run=run)
    assert Probe(ctx, "a", only_if="true").skip_reason() is None
    assert run.kwargs == [{"timeout": 600}]


@pytest.mark.parametrize("guard", ["only_if", "not_if"])
@pytest.mark.parametrize("cls, props", [(Execute, {"command": "true"}), (Bash, {"code": "true"})])
def test_a_guard_whose_program_is_missing_fails_the_resource(guard, cls, props):
    """Ruby runs a string without meta characters directly (process.c rb_exec_fillarg), so a
    missing program is Errno::ENOENT from exec (mixlib-shellout unix.rb:353, re-raised at
    :128). Neither guard interpreter rescues it (default_guard_interpreter.rb rescues only
    CommandTimeout, resource_guard_interpreter.rb only ShellCommandFailed): the resource
    fails, the guard is not read as false."""
    ctx, _ = context(run=shell.run)
    res = cls(ctx, "reload", **{guard: "pgrep-xyz-missing -x app"}, **props)
    with pytest.raises(ResourceFailure, match="No such file or directory - pgrep-xyz-missing"):
        res.skip_reason()
    conv = Converger(ctx, [res])
    with pytest.raises(ResourceFailure, match="pgrep-xyz-missing") as failure:
        conv.run()
    assert failure.value.resource == res.key and conv.entries[0]["skipped"] is False


def test_a_missing_program_behind_the_shell_is_exit_127_and_a_false_guard():
    """With a meta character the string goes to /bin/sh, which exits 127: a false guard."""
    ctx, _ = context(run=shell.run)
    assert Probe(ctx, "a", only_if="pgrep-xyz-missing -x app || false").skip_reason() == "only_if"
    assert Probe(ctx, "b", not_if="pgrep-xyz-missing -x app || false").skip_reason() is None
    assert Probe(ctx, "c", not_if="exit 3").skip_reason() is None, "reserved word: the shell"


@pytest.mark.parametrize("cls, props", [(Execute, {"command": "true"}), (Probe, {})])
def test_a_guard_that_times_out_fails_the_resource(cls, props):
    """mixlib-shellout raises Mixlib::ShellOut::CommandTimeout (unix.rb:120). The rescues in
    default_guard_interpreter.rb:40 and conditional.rb:100 name Chef::Exceptions::
    CommandTimeout, another class (exceptions.rb:116 `class CommandTimeout < RuntimeError`;
    mixlib-shellout's exceptions.rb `class CommandTimeout < Error`), and
    resource_guard_interpreter.rb rescues only ShellCommandFailed: the timeout propagates out
    of should_skip? and fails the resource (retries apply: it is inside run_action's begin)."""
    message = "Command timed out after 600s:\nCommand exceeded allowed execution time"
    ctx, _ = context(run=lambda cmd, **kw: Completed(124, error=message, timed_out=600.0))
    res = cls(ctx, "x", not_if="sleep 900", retries=1, retry_delay=0, **props)
    conv = Converger(ctx, [res])
    with pytest.raises(ResourceFailure, match="(?s)guard 'sleep 900': Command timed out after "
                                              "600s:\nCommand exceeded"):
        conv.run()
