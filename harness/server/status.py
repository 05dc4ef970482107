"""The one place where errors become HTTP status codes.

The store raises harness.errors (NotFound, AlreadyExists, Frozen, SolveError, UsageError) and
knows nothing of HTTP; the HTTP layer (auth, body limits) raises HttpError with its status.
ServerError is the client's error and never raised here.
"""
from __future__ import annotations

from harness.errors import AlreadyExists, Frozen, HarnessError, NotFound, SolveError, UsageError


class HttpError(HarnessError):
    """An error only the HTTP layer knows (401, 403, 413): it carries its status."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def status_of(err: HarnessError) -> int:
    """The status code the contract gives an error raised while serving a request."""
    if isinstance(err, HttpError):
        return err.status
    if isinstance(err, SolveError):
        return 412
    if isinstance(err, NotFound):
        return 404
    if isinstance(err, AlreadyExists | Frozen):
        return 409
    return 400 if isinstance(err, UsageError) else 500
