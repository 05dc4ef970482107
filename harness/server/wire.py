"""What every handler shares: JSON answers, body limits, and the middleware.

The middleware identifies the caller and turns every error into `{"error": [message]}` with
the status status.py gives it, so a bad request never stops the server.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from harness.errors import HarnessError, UsageError
from harness.repo.limits import MAX_DEPTH, value_issue
from harness.server.auth import ANONYMOUS, Authenticator, Principal
from harness.server.docs import dumps
from harness.server.status import HttpError, status_of

log = logging.getLogger(__name__)
MAX_JSON = 4 * 1024 * 1024
MAX_BODY = 64 * 1024 * 1024
WHO = web.RequestKey("who", Principal)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(doc: Any, status: int = 200) -> web.Response:
    return web.Response(body=dumps(doc), status=status, content_type="application/json")


def raw_json(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json")


def error_response(status: int, message: str) -> web.Response:
    return json_response({"error": [message]}, status)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


async def read_body(request: web.Request, limit: int = MAX_JSON) -> bytes:
    """The raw body; 413 over `limit` (64 MiB bodies are refused by aiohttp itself)."""
    if (request.content_length or 0) > limit:
        raise HttpError(f"JSON body larger than {limit} bytes", status=413)
    body = await request.read()
    if len(body) > limit:
        raise HttpError(f"JSON body larger than {limit} bytes", status=413)
    return body


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as err:
        raise UsageError(f"malformed JSON: {err}") from None


# a body wraps documents (bulk: {"data": {bag: {item: doc}}}, a manifest's attributes) in a
# few levels; each document's own depth is checked where it is stored (harness.repo.limits)
_FRAMING = 8


async def read_json(request: web.Request, limit: int = MAX_JSON) -> Any:
    """The parsed body: 413 over `limit`, 400 when it is not JSON or holds a string that is
    not Unicode text (a lone surrogate: stored, it would fail every later answer)."""
    doc = parse_json(await read_body(request, limit))
    issue = value_issue(doc, MAX_DEPTH + _FRAMING)
    if issue:
        keypath, message = issue
        where = "".join(f"[{k!r}]" for k in keypath)
        raise UsageError(f"body{where}: {message}")
    return doc


# Routes open to anyone (Rule.ANYONE): a bad or stale token does not close them (the health
# check a load balancer or `curl` makes with whatever token it has)
OPEN = {("GET", "/")}


def _identify(authenticator: Authenticator, request: web.Request) -> Principal:
    try:
        return authenticator.identify(request.headers.get("Authorization"))
    except HttpError:
        if (request.method, request.path) in OPEN:
            return ANONYMOUS
        raise


def make_middleware(authenticator: Authenticator) -> Callable[..., Any]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            request[WHO] = _identify(authenticator, request)
            return await handler(request)
        except HarnessError as err:
            return error_response(status_of(err), str(err))
        except web.HTTPException as err:
            if err.status < 400:
                raise
            detail = err.text if err.text and not err.text.startswith(str(err.status)) else ""
            return error_response(err.status, f"{request.method} {request.path}: "
                                              f"{detail or err.reason}")
        except RecursionError:
            return error_response(400, "document nested too deeply")
        except Exception as err:  # a bug: answer in JSON, log it, keep serving
            log.exception("%s %s failed", request.method, request.path)
            return error_response(500, f"internal error: {err!r}")
    return middleware


class JsonErrorHandler(RequestHandler):
    """aiohttp answers what its parser refuses (a request line or header over 8190 bytes, a
    malformed request) itself, in text/plain, before any middleware runs: answer in JSON too,
    like every other error, and without logging a traceback for a client's mistake."""

    def handle_error(self, request: BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status >= 500 or request.writer.output_size > 0:
            return super().handle_error(request, status, exc, message)
        if isinstance(exc, LineTooLong):
            text = "request line or header longer than 8190 bytes"
        else:
            text = (message or "bad request").splitlines()[0][:200]
        response = error_response(status, text)
        response.force_close()
        return response


class JsonErrorServer(web.Server):
    """web.Server making JsonErrorHandler connections (serve.py swaps it in after setup)."""

    def __call__(self) -> RequestHandler:
        return JsonErrorHandler(self, loop=self._loop, **self._kwargs)
