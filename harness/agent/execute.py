"""execute (commands with creates/only_if/not_if) and log (a message at converge time)."""
from __future__ import annotations

import os
from typing import Any

from .resource import Resource


class Execute(Resource):
    kind = "execute"
    actions = ("run",)
    default_action = "run"
    properties = {"command": None, "creates": None, "cwd": None, "environment": None,
                  "user": None, "returns": [0], "timeout": 3600}

    def skip_reason(self) -> str | None:
        creates = self.props["creates"]
        if creates and os.path.lexists(os.path.join(self.props["cwd"] or "/", creates)):
            return f"{creates} exists"
        return super().skip_reason()

    def guard_options(self) -> dict[str, Any]:
        return {"cwd": self.props["cwd"], "user": self.props["user"],
                "env": {str(k): str(v) for k, v in (self.props["environment"] or {}).items()}}

    def action_run(self) -> bool:
        command = self.props["command"] or self.name
        shown = "sensitive resource" if self.sensitive else command   # Chef's execute provider
        self.ctx.step(f"run {shown}" + (f" as {self.props['user']}"
                                        if self.props["user"] else ""))
        result = self.ctx.run(command, timeout=self.props["timeout"], **self.guard_options())
        returns = self.props["returns"]
        allowed = returns if isinstance(returns, (list, tuple)) else [returns]
        if result.rc not in allowed:
            raise self.fail(f"command exited {result.rc}: {shown}"
                            + (f"\n{result.tail()}" if result.tail() and not self.sensitive
                               else ""))
        return True


class Log(Resource):
    """Chef's log resource: prints when converged; never counts as a change."""

    kind = "log"
    actions = ("write",)
    default_action = "write"
    properties = {"message": None, "level": "info"}

    def action_write(self) -> bool:
        self.ctx.step(f"[{self.props['level']}] {self.props['message'] or self.name}")
        return False
