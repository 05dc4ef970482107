"""The config server's HTTP routes (aiohttp) on top of the Store.

One middleware identifies the caller and turns every error into `{"error": [message]}` with
the status the contract gives it, so a bad request never stops the server. Each handler states
its auth rule first; the rules live in auth.py.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from harness.errors import HarnessError, NotFound, ServerError, SolveError, UsageError
from harness.server.auth import Authenticator, Rule, allow, may_register
from harness.server.bulk import paused_gc
from harness.server.documents import check_name
from harness.server.store import Store, dumps

log = logging.getLogger(__name__)
MAX_JSON = 4 * 1024 * 1024
MAX_BODY = 64 * 1024 * 1024
KINDS = {"roles": "role", "environments": "environment", "nodes": "node", "clients": "client"}
KIND_RE = "{kinds:roles|environments|nodes|clients}"
WHO = web.RequestKey("who", object)


def json_response(doc: Any, status: int = 200) -> web.Response:
    return web.Response(body=dumps(doc), status=status, content_type="application/json")


def raw_json(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json")


def error_response(status: int, message: str) -> web.Response:
    return json_response({"error": [message]}, status)


def status_of(err: HarnessError) -> int:
    if isinstance(err, ServerError):
        return err.status or 500
    if isinstance(err, SolveError):
        return 412
    if isinstance(err, NotFound):
        return 404
    return 400 if isinstance(err, UsageError) else 500


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


async def read_body(request: web.Request, limit: int = MAX_JSON) -> bytes:
    """The raw body; 413 over `limit` (64 MiB bodies are refused by aiohttp itself)."""
    if (request.content_length or 0) > limit:
        raise ServerError(f"JSON body larger than {limit} bytes", status=413)
    body = await request.read()
    if len(body) > limit:
        raise ServerError(f"JSON body larger than {limit} bytes", status=413)
    return body


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as err:
        raise UsageError(f"malformed JSON: {err}") from None


async def read_json(request: web.Request) -> Any:
    """The parsed body: 413 over 4 MiB, 400 when it is not JSON."""
    return parse_json(await read_body(request))


def make_middleware(authenticator: Authenticator):
    @web.middleware
    async def middleware(request: web.Request, handler) -> web.StreamResponse:
        try:
            request[WHO] = authenticator.identify(request.headers.get("Authorization"))
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


class Api:
    """Handlers; each one checks its auth rule before touching the store."""

    def __init__(self, store: Store, agent_pyz: bytes | None) -> None:
        self.store = store
        self.agent_pyz = agent_pyz
        self._agent_lock = asyncio.Lock()

    @staticmethod
    def allow(request: web.Request, rule: Rule, target: str | None = None) -> None:
        allow(request[WHO], rule, f"{request.method} {request.path}", target)

    @staticmethod
    def name(request: web.Request, key: str = "name", what: str = "object") -> str:
        return check_name(request.match_info[key], what)

    @staticmethod
    def urls(request: web.Request, prefix: str, names: list[str]) -> dict[str, str]:
        base = f"{request.url.origin()}/{prefix}/"
        return {n: base + n for n in names}

    async def health(self, request: web.Request) -> web.Response:
        from harness.server import __version__

        return json_response({"name": "harness-config-server", "version": __version__})

    # --- roles, environments, nodes, clients ---------------------------------------------------
    @staticmethod
    def _rule(kinds: str, write: bool) -> Rule:
        if kinds == "clients":
            return Rule.ADMIN
        return (Rule.SELF if kinds == "nodes" else Rule.ADMIN) if write else Rule.READ

    async def list(self, request: web.Request) -> web.Response:
        kinds = request.match_info["kinds"]
        self.allow(request, self._rule(kinds, write=False))
        return json_response(self.urls(request, kinds, self.store.names(KINDS[kinds])))

    async def create(self, request: web.Request) -> web.Response:
        kinds = request.match_info["kinds"]
        # who may create depends on the body (its name, validator flag): check what we can
        # before reading it, the rest after
        self.allow(request, {"clients": Rule.REGISTER, "nodes": Rule.READ}.get(kinds, Rule.ADMIN))
        doc = await read_json(request)
        name = doc.get("name") if isinstance(doc, dict) else None
        if kinds == "clients":
            self.allow(request, Rule.REGISTER)
            if not isinstance(doc, dict):
                raise UsageError("client document must be an object")
            may_register(request[WHO], doc)
            validator = doc.get("validator", False)
            if not isinstance(validator, bool):
                raise UsageError("validator must be true or false")
            token = self.store.create_client(check_name(name, "client"), validator=validator)
            return json_response({"name": name, "token": token}, 201)
        self.allow(request, self._rule(kinds, write=True), name)
        self.store.put(KINDS[kinds], check_name(name, KINDS[kinds]), doc, create=True)
        return json_response({"uri": f"{request.url.origin()}/{kinds}/{name}"}, 201)

    async def read(self, request: web.Request) -> web.Response:
        kinds = request.match_info["kinds"]
        self.allow(request, self._rule(kinds, write=False))
        return raw_json(self.store.get_json(KINDS[kinds], self.name(request, what=KINDS[kinds])))

    async def replace(self, request: web.Request) -> web.Response:
        kinds = request.match_info["kinds"]
        name = self.name(request, what=KINDS[kinds])
        self.allow(request, self._rule(kinds, write=True), name)
        doc = await read_json(request)
        if kinds == "clients":
            if not isinstance(doc, dict) or not isinstance(doc.get("validator", False), bool):
                raise UsageError("client document must be an object with a boolean validator")
            if self.store.client_for_name(name) is None:
                token = self.store.create_client(name, validator=doc.get("validator", False))
                return json_response({"name": name, "token": token}, 201)
        created = self.store.put(KINDS[kinds], name, doc)
        return raw_json(self.store.get_json(KINDS[kinds], name), 201 if created else 200)

    async def remove(self, request: web.Request) -> web.Response:
        kinds = request.match_info["kinds"]
        name = self.name(request, what=KINDS[kinds])
        self.allow(request, Rule.ADMIN)
        return json_response(self.store.delete(KINDS[kinds], name))

    async def policy(self, request: web.Request) -> web.Response:
        name = self.name(request, what="node")
        self.allow(request, Rule.SELF, name)
        return json_response(self.store.policy(name))

    async def depsolve(self, request: web.Request) -> web.Response:
        self.allow(request, Rule.READ)
        env = self.name(request, what="environment")
        doc = await read_json(request)
        if not isinstance(doc, dict):
            raise UsageError("body must be an object {\"run_list\": [...]}")
        return json_response(self.store.solve(env, doc.get("run_list", [])))

    # --- the rest -------------------------------------------------------------------------------
    async def wipe(self, request: web.Request) -> web.Response:
        self.allow(request, Rule.ADMIN)
        self.store.wipe()
        return json_response({"wiped": True})

    async def bulk(self, request: web.Request) -> web.Response:
        self.allow(request, Rule.ADMIN)
        body = await read_body(request)
        with paused_gc():
            return json_response(self.store.bulk(parse_json(body)))

    async def agent(self, request: web.Request) -> web.Response:
        self.allow(request, Rule.AGENT)
        if self.agent_pyz is None:
            async with self._agent_lock:
                if self.agent_pyz is None:
                    self.agent_pyz = await asyncio.get_running_loop().run_in_executor(
                        None, _build_agent)
        return web.Response(body=self.agent_pyz, content_type="application/octet-stream")


def _build_agent() -> bytes:
    from harness.agent.build import agent_zipapp_bytes

    return agent_zipapp_bytes()


def build_app(store: Store, admin_token: str, agent_pyz: bytes | None = None) -> web.Application:
    """The aiohttp application serving `store`."""
    from harness.server.routes import DataRoutes

    app = web.Application(middlewares=[make_middleware(Authenticator(store, admin_token))],
                          client_max_size=MAX_BODY)
    api = Api(store, agent_pyz)
    data = DataRoutes(api)
    add = app.router.add_route
    add("GET", "/", api.health)
    add("GET", f"/{KIND_RE}", api.list)
    add("POST", f"/{KIND_RE}", api.create)
    add("GET", f"/{KIND_RE}/{{name}}", api.read)
    add("PUT", f"/{KIND_RE}/{{name}}", api.replace)
    add("DELETE", f"/{KIND_RE}/{{name}}", api.remove)
    add("GET", "/nodes/{name}/policy", api.policy)
    add("POST", "/environments/{name}/cookbook_versions", api.depsolve)
    add("POST", "/_wipe", api.wipe)
    add("POST", "/_bulk", api.bulk)
    add("GET", "/agent/agent.pyz", api.agent)
    data.register(app)
    return app
