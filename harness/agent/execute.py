"""execute (commands with creates/only_if/not_if) and log (a message at converge time).

Follows chef/chef lib/chef/resource/execute.rb and provider/execute.rb. The guards run first
(Resource#run_action's should_skip?); then the action: a relative `creates` without `cwd` is
refused (define_resource_requirements), an existing `creates` (links followed) means up to
date, else the command runs through shell.run (mixlib-shellout's rules) and fails on an exit
status not in `returns`, on a program that cannot be exec'd and on a timeout, whatever
`returns` says. A sensitive resource's failure shows no output (Chef's "STDOUT/STDERR
suppressed for sensitive resource"). script/bash share this action (script.py).
"""
from __future__ import annotations

import os
from typing import Any

from .resource import Resource

LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")   # resource/log.rb equal_to


class Execute(Resource):
    kind = "execute"
    actions = ("run",)
    default_action = "run"
    properties = {"command": None, "creates": None, "cwd": None, "environment": None,
                  "user": None, "returns": [0], "timeout": 3600}

    def validate(self) -> None:
        env = self.props["environment"]
        if not self.pending("environment") and env is not None and not isinstance(env, dict):
            raise self.fail(f"environment must be a dict, not {env!r}")  # `Hash` in Chef

    def run_options(self) -> dict[str, Any]:
        """cwd, environment and user, as the command itself runs (provider/execute.rb opts);
        environment values go as they are: shell.run unsets None and refuses non-strings."""
        return {"cwd": self.props["cwd"], "user": self.props["user"],
                "env": dict(self.props["environment"] or {})}

    def guard_options(self) -> dict[str, Any]:
        """execute's string guards run as an execute resource (ResourceGuardInterpreter,
        `@default_guard_interpreter = :execute`) that inherits cwd, environment and user
        (set_guard_inherited_attributes); its timeout is execute's default, 3600 s, which is
        shell.run's."""
        return self.run_options()

    def command_and_input(self) -> tuple[Any, str | None]:
        """What runs and what it reads on stdin (script: the interpreter and the code)."""
        return self.props["command"] or self.name, None

    def step_text(self, shown: str) -> str:
        return f"run {shown}"

    def failure_label(self) -> str:
        return "command"

    def sentinel(self) -> str | None:
        """The `creates` path to test, or None; relative without cwd is Chef's error."""
        creates: str | None = self.props["creates"]
        if not creates:
            return None
        if not os.path.isabs(creates):
            if not self.props["cwd"]:
                raise self.fail("Please either specify a full path for the creates property, "
                                f"or specify a cwd property to the {self.key} resource")
            creates = os.path.join(self.props["cwd"], creates)
        return os.path.normpath(creates)   # Chef::Util::PathHelper.cleanpath

    def would_change(self, action: str) -> bool:
        """The forced why-run of `:before` sees `creates` (the action returns before its
        converge_by) and its relative-path error."""
        if action == "run":
            path = self.sentinel()
            if path and os.path.exists(path):
                return False
        return super().would_change(action)

    def action_run(self) -> bool:
        path = self.sentinel()
        if path and os.path.exists(path):   # Pathname#exist?: follows links
            return False
        command, stdin = self.command_and_input()
        shown = "sensitive resource" if self.sensitive else command  # provider description
        self.ctx.step(self.step_text(shown) + (f" as {self.props['user']}"
                                               if self.props["user"] else ""))
        options = self.run_options()
        if stdin is not None:
            options["input"] = stdin
        result = self.ctx.run(command, timeout=self.props["timeout"], **options)
        if result.timed_out is not None and self.sensitive:
            raise self.fail(f"Command timed out after {int(result.timed_out)}s: STDOUT/STDERR "
                            "suppressed for sensitive resource")
        if result.error is not None:
            raise self.fail(result.error)
        returns = self.props["returns"]
        allowed = returns if isinstance(returns, (list, tuple)) else [returns]
        if result.rc not in allowed:
            tail = "" if self.sensitive else result.tail()
            raise self.fail(f"{self.failure_label()} exited {result.rc}: {shown}"
                            + (f"\n{tail}" if tail else ""))
        return True


class Log(Resource):
    """Chef's log resource: prints when converged; never counts as a change."""

    kind = "log"
    actions = ("write",)
    default_action = "write"
    properties = {"message": None, "level": "info"}

    def validate(self) -> None:
        """resource/log.rb: `property :message, String`, `property :level, Symbol,
        equal_to: %i{debug info warn error fatal}` (a wrong one fails at compile)."""
        level, message = self.props["level"], self.props["message"]
        if not self.pending("level") and level not in LOG_LEVELS:
            raise self.fail(f"level must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
        if not self.pending("message") and message is not None and not isinstance(message, str):
            raise self.fail(f"message must be a string, not {message!r}")

    def action_write(self) -> bool:
        self.ctx.step(f"[{self.props['level']}] {self.props['message'] or self.name}")
        return False
