"""script and bash: a code snippet fed to an interpreter, with execute's guards and options.

Follows chef/chef lib/chef/resource/script.rb, resource/bash.rb and provider/script.rb: the
command is `"INTERPRETER" FLAGS` with `code` on standard input; `command=` is refused ("use
the 'code' property instead"); bash's interpreter is "bash". Like execute it always counts as
a change when it runs; guards, creates, cwd, environment, user, returns and timeout behave
as execute's.
"""
from __future__ import annotations

from typing import Any

from .execute import Execute


class Script(Execute):
    kind = "script"
    properties = {**Execute.properties, "code": None, "interpreter": None, "flags": None}
    default_interpreter: str | None = None

    def validate(self) -> None:
        if self.props["command"] is not None:
            raise self.fail(f"Do not use the command property on a {self.kind} resource, use "
                            "the 'code' property instead.")
        if not self.pending("code") and not isinstance(self.props["code"], str):
            raise self.fail("code is required (a string)")
        if not (self.props["interpreter"] or self.default_interpreter):
            raise self.fail("script needs interpreter= (or use bash)")

    @property
    def script_command(self) -> str:
        interpreter = self.props["interpreter"] or self.default_interpreter
        return f'"{interpreter}" {self.props["flags"] or ""}'.rstrip()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "command": self.script_command}

    def action_run(self) -> bool:
        command = self.script_command
        self.ctx.step(f"run {self.kind} {self.name} ({command})"
                      + (f" as {self.props['user']}" if self.props["user"] else ""))
        result = self.ctx.run(command, timeout=self.props["timeout"], input=self.props["code"],
                              **self.guard_options())
        returns = self.props["returns"]
        allowed = returns if isinstance(returns, (list, tuple)) else [returns]
        if result.rc not in allowed:
            raise self.fail(f"{self.kind} exited {result.rc}: {command}"
                            + (f"\n{result.tail()}" if result.tail() else ""))
        return True


class Bash(Script):
    kind = "bash"
    default_interpreter = "bash"
