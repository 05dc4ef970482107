"""The one exception root of the harness and its subclasses.

Every error carries the context a user needs to act (file and line, node, log tail), and an
exit code the CLI maps it to. Like docker-py's error tree: catch `HarnessError` at an edge.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One validation problem: where it is and what is wrong."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 node: str | None = None, log_tail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.node = node
        self.log_tail = log_tail

    def __str__(self) -> str:
        prefix = ""
        if self.path:
            prefix = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        elif self.node:
            prefix = f"node {self.node}: "
        return prefix + self.message

    def with_log(self) -> str:
        """The one line, then the log to look at when there is one (CLI, keeper, pytest)."""
        return f"{self}\n--- log tail ---\n{self.log_tail}" if self.log_tail else str(self)


class UsageError(HarnessError):
    """Bad input from the user (argument, name, value): exit 2."""

    exit_code = 2


class ValidationError(UsageError):
    """A config repo (or backup) with one or more problems; all are listed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid repo")


class SolveError(UsageError):
    """No cookbook versions satisfy the run list and the environment's pins."""


class NotFound(UsageError):
    """A named object (node, role, environment, cookbook, version) does not exist."""


class AlreadyExists(UsageError):
    """Creating a named object that exists already (the config server answers 409)."""


class Frozen(UsageError):
    """Changing a frozen cookbook version: bump the version instead (the server answers 409)."""


class ServerError(HarnessError):
    """The config server answered with an error (client side)."""

    def __init__(self, message: str, *, status: int = 0, path: str | None = None,
                 line: int | None = None, node: str | None = None,
                 log_tail: str | None = None) -> None:
        super().__init__(message, path=path, line=line, node=node, log_tail=log_tail)
        self.status = status


class EngineError(HarnessError):
    """No container engine can be reached or started."""


class ImageBuildError(HarnessError):
    """Building a node image failed; log_tail holds the builder's last lines."""


class NodeError(HarnessError):
    """Something failed on a node; `node` and `log_tail` say where to look."""


class BootstrapError(NodeError):
    """The production bootstrap script failed on a node."""


class ConvergeError(NodeError):
    """The agent failed on a node; the message names the failed resource."""


class IdempotenceError(NodeError):
    """The last converge pass still changed resources."""


class ReadinessTimeout(NodeError):
    """A readiness wait gave up (systemd, port, command)."""
