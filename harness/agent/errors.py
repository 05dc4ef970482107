"""The agent's own exception root (it cannot import harness.errors: it ships alone)."""
from __future__ import annotations


class AgentError(Exception):
    """Root of every error the agent raises on purpose; `exit_code` is what the CLI returns."""

    exit_code = 1


class ConfigError(AgentError):
    """Missing or malformed agent config, token or secret file."""

    exit_code = 2


class ServerError(AgentError):
    """The config server answered with an error status."""

    exit_code = 2

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotFound(ServerError, LookupError):
    """The server has no such object (404)."""


class Unreachable(ServerError):
    """The config server could not be reached at all."""


class RecipeError(AgentError):
    """A recipe failed while compiling; the message names cookbook, file and line, and
    `resource` is the recipe (or the resource it was declaring)."""

    def __init__(self, message: str, resource: str | None = None) -> None:
        super().__init__(message)
        self.resource = resource


class ResourceFailure(AgentError):
    """A resource failed while converging (or could not be declared); names the resource."""

    def __init__(self, message: str, resource: str | None = None) -> None:
        super().__init__(message)
        self.resource = resource
        self.defined_at: str | None = None     # recipe file:line, set when the resource fails


class DecryptError(AgentError):
    """An encrypted data bag item could not be decrypted (wrong or missing secret)."""
