"""script and bash: a code snippet fed to an interpreter by execute's run action.

Follows chef/chef lib/chef/resource/script.rb, resource/bash.rb and provider/script.rb: the
command is `"INTERPRETER" FLAGS` with `code` on standard input; `command=` is refused ("use
the 'code' property instead"); bash's interpreter is "bash". provider/script.rb subclasses
provider/execute.rb, so the run action is execute's (creates, cwd, environment, user,
returns, timeout, sensitive). Its string guards are not execute's: they inherit nothing.
"""
from __future__ import annotations

from typing import Any

from .execute import Execute
from .resource import Resource


class Script(Execute):
    kind = "script"
    properties = {**Execute.properties, "code": None, "interpreter": None, "flags": None}
    default_interpreter: str | None = None

    def validate(self) -> None:
        super().validate()
        if self.props["command"] is not None:
            raise self.fail(f"Do not use the command property on a {self.kind} resource, use "
                            "the 'code' property instead.")
        if not self.pending("code") and not isinstance(self.props["code"], str):
            raise self.fail("code is required (a string)")
        if not (self.props["interpreter"] or self.default_interpreter):
            raise self.fail("script needs interpreter= (or use bash)")

    def guard_options(self) -> dict[str, Any]:
        """resource/script.rb: `@default_guard_interpreter = :default`, so its string guards
        inherit nothing from the resource (default_guard_interpreter.rb), unlike execute's."""
        return Resource.guard_options(self)

    @property
    def script_command(self) -> str:
        interpreter = self.props["interpreter"] or self.default_interpreter
        return f'"{interpreter}" {self.props["flags"] or ""}'.rstrip()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "command": self.script_command}

    def command_and_input(self) -> tuple[Any, str | None]:
        return self.script_command, self.props["code"]

    def step_text(self, shown: str) -> str:
        return f"run {self.kind} {self.name} ({self.script_command})"

    def failure_label(self) -> str:
        return self.kind


class Bash(Script):
    kind = "bash"
    default_interpreter = "bash"
