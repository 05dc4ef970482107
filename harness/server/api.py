"""The config server's core routes: roles, environments, nodes, clients, policy, bulk, agent.

Each handler states its auth rule first (the rules live in auth.py) and leaves errors to the
middleware in wire.py. Data bags, cookbooks, files, search and reports are in routes.py.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from harness.errors import NotFound, UsageError
from harness.repo.documents import check_name
from harness.server import __version__
from harness.server.auth import NodeOwners, Rule, allow, may_register
from harness.server.store import Store
from harness.server.sync import sync_store
from harness.server.wire import WHO, json_response, parse_json, raw_json, read_body, read_json
from harness.util import paused_gc

KINDS = {"roles": "role", "environments": "environment", "nodes": "node", "clients": "client"}
KIND_RE = "{kinds:roles|environments|nodes|clients}"
# agent.pyz as bytes, or a function building it on the first download, or None (no agent)
AgentSource = bytes | Callable[[], bytes] | None


class Api:
    """Handlers; each one checks its auth rule before touching the store."""

    def __init__(self, store: Store, agent_pyz: AgentSource) -> None:
        self.store = store
        self.agent_pyz = agent_pyz if isinstance(agent_pyz, bytes) else None
        self._build_agent = None if isinstance(agent_pyz, bytes) else agent_pyz
        self._agent_lock = asyncio.Lock()
        self.owners = NodeOwners()  # who created each node: only it may update it (auth.py)

    def register(self, app: web.Application) -> None:
        add = app.router.add_route
        add("GET", "/", self.health)
        add("GET", f"/{KIND_RE}", self.list)
        add("POST", f"/{KIND_RE}", self.create)
        add("GET", f"/{KIND_RE}/{{name}}", self.read)
        add("PUT", f"/{KIND_RE}/{{name}}", self.replace)
        add("DELETE", f"/{KIND_RE}/{{name}}", self.remove)
        add("GET", "/nodes/{name}/policy", self.policy)
        add("POST", "/environments/{name}/cookbook_versions", self.depsolve)
        add("POST", "/_wipe", self.wipe)
        add("POST", "/_bulk", self.bulk)
        add("POST", "/_restore", self.stage)
        add("POST", "/_restore/{sid}/bulk", self.staged_bulk)
        add("POST", "/_restore/{sid}/commit", self.commit)
        add("DELETE", "/_restore/{sid}", self.discard)
        add("GET", "/_snapshot", self.snapshot)
        add("POST", "/_sync", self.sync)
        add("GET", "/agent/agent.pyz", self.agent)

    @staticmethod
    def what(request: web.Request) -> str:
        return f"{request.method} {request.path}"

    @classmethod
    def allow(cls, request: web.Request, rule: Rule, target: str | None = None) -> None:
        allow(request[WHO], rule, cls.what(request), target)

    def node_created(self, request: web.Request, name: str) -> None:
        self.owners.created(name, request[WHO], self.store.client_for_name(name) is not None)

    @staticmethod
    def name(request: web.Request, key: str = "name", what: str = "object") -> str:
        return check_name(request.match_info[key], what)

    @staticmethod
    def urls(request: web.Request, prefix: str, names: list[str]) -> dict[str, str]:
        base = f"{request.url.origin()}/{prefix}/"
        return {n: base + n for n in names}

    async def health(self, request: web.Request) -> web.Response:
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
            validator = doc.get("validator", False)
            if not isinstance(validator, bool):  # 400 before 403, as erchef's malformed_request
                raise UsageError("validator must be true or false")
            may_register(request[WHO], doc)
            token = self.store.create_client(check_name(name, "client"), validator=validator)
            return json_response({"name": name, "token": token}, 201)
        self.allow(request, self._rule(kinds, write=True), name)
        name = check_name(name, KINDS[kinds])
        self.store.put(KINDS[kinds], name, doc, create=True)
        if kinds == "nodes":
            self.node_created(request, name)
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
        if kinds == "nodes":  # no await from this check to the put: nothing writes between
            exists = self.store.docs.find("node", name) is not None
            self.owners.check_update(request[WHO], name, exists, self.what(request))
        created = self.store.put(KINDS[kinds], name, doc)
        if created and kinds == "nodes":
            self.node_created(request, name)
        return raw_json(self.store.get_json(KINDS[kinds], name), 201 if created else 200)

    async def remove(self, request: web.Request) -> web.Response:
        kinds = request.match_info["kinds"]
        name = self.name(request, what=KINDS[kinds])
        self.allow(request, Rule.ADMIN)
        deleted = self.store.delete(KINDS[kinds], name)
        if kinds == "nodes":
            self.owners.forget({name})
        return json_response(deleted)

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
        self.owners.clear()
        return json_response({"wiped": True})

    async def bulk(self, request: web.Request) -> web.Response:
        self.allow(request, Rule.ADMIN)
        body = await read_body(request)
        before = set(self.store.names("node"))
        with paused_gc():
            counts = self.store.bulk(parse_json(body))
        self.owners.admin_created(set(self.store.names("node")) - before)
        return json_response(counts)

    # --- atomic restore and consistent backup ---------------------------------------------------
    async def stage(self, request: web.Request) -> web.Response:
        self.allow(request, Rule.ADMIN)
        return json_response({"id": self.store.stage()}, 201)

    async def staged_bulk(self, request: web.Request) -> web.Response:
        self.allow(request, Rule.ADMIN)
        body = await read_body(request)
        with paused_gc():
            return json_response(self.store.staged_bulk(request.match_info["sid"],
                                                        parse_json(body)))

    async def commit(self, request: web.Request) -> web.Response:
        self.allow(request, Rule.ADMIN)
        doc = await read_json(request)
        if not isinstance(doc, dict):
            raise UsageError("body must be an object {\"keep\": [...]}")
        before = set(self.store.names("node"))
        with paused_gc():
            self.store.commit(request.match_info["sid"], doc.get("keep"))
        # a node the restore kept or laid over keeps its creator (an update keeps Chef's
        # ACL); a new one is the admin's
        after = set(self.store.names("node"))
        self.owners.forget(before - after)
        self.owners.admin_created(after - before)
        return json_response({"committed": True})

    async def discard(self, request: web.Request) -> web.Response:
        self.allow(request, Rule.ADMIN)
        self.store.discard(request.match_info["sid"])
        return json_response({"discarded": True})

    async def snapshot(self, request: web.Request) -> web.Response:
        self.allow(request, Rule.ADMIN)
        return raw_json(self.store.snapshot())

    async def sync(self, request: web.Request) -> web.Response:
        """`harness converge`'s repo sync (sync.py): upserts that keep nodes and clients."""
        self.allow(request, Rule.ADMIN)
        body = await read_body(request)
        return json_response(sync_store(self.store, parse_json(body)))

    async def agent(self, request: web.Request) -> web.Response:
        self.allow(request, Rule.AGENT)
        if self.agent_pyz is None:
            build = self._build_agent
            if build is None:
                raise NotFound("this server was started without an agent.pyz")
            async with self._agent_lock:
                if self.agent_pyz is None:
                    self.agent_pyz = await asyncio.get_running_loop().run_in_executor(
                        None, build)
        return web.Response(body=self.agent_pyz, content_type="application/octet-stream")
