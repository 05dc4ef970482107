"""Routes for data bags, cookbooks, the file store, search and converge reports.

Split from api.py to keep modules small; same conventions (auth rule first, errors turned
into JSON by the middleware in wire.py).
"""
from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

from aiohttp import BodyPartReader, web

from harness.errors import UsageError
from harness.repo.documents import check_name, unwrap_item
from harness.server.api import Api
from harness.server.auth import Rule
from harness.server.status import HttpError
from harness.server.wire import MAX_BODY, WHO, json_response, raw_json, read_json

MAX_ROWS = 10_000
SEARCH_BUDGET_S = 2.0  # one search's time (503 after it); a converge's searches take ms
SEARCH_WORKERS = 2     # searches in parallel; more wait their turn, the event loop never does


def _int(request: web.Request, key: str, default: int, maximum: int) -> int:
    value = request.query.get(key)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise UsageError(f"{key} must be an integer, not {value!r}") from None
    if not 0 <= number <= maximum:
        raise UsageError(f"{key} must be between 0 and {maximum}")
    return number


async def _parts(request: web.Request) -> dict[str, bytes]:
    """{part name: content} of a multipart body (413 past MAX_BODY in total)."""
    files: dict[str, bytes] = {}
    total = 0
    async for part in await request.multipart():
        if not isinstance(part, BodyPartReader) or part.name is None:
            raise UsageError("want one part per file, named by its sha256 (not nested)")
        chunks: list[bytes] = []
        while chunk := await part.read_chunk(1 << 16):
            total += len(chunk)
            if total > MAX_BODY:
                raise HttpError(f"body larger than {MAX_BODY} bytes", status=413)
            chunks.append(chunk)
        files[part.name] = b"".join(chunks)
    return files


class DataRoutes:
    """Handlers sharing Api's store and helpers."""

    def __init__(self, api: Api, *, search_budget_s: float = SEARCH_BUDGET_S) -> None:
        self.api = api
        self.store = api.store
        self.search_budget_s = search_budget_s
        self._searches = ThreadPoolExecutor(SEARCH_WORKERS, thread_name_prefix="search")

    async def _stop_searches(self, app: web.Application) -> None:
        self._searches.shutdown(wait=False, cancel_futures=True)

    def register(self, app: web.Application) -> None:
        app.on_cleanup.append(self._stop_searches)
        add = app.router.add_route
        add("GET", "/data", self.bags)
        add("POST", "/data", self.create_bag)
        add("GET", "/data/{bag}", self.items)
        add("POST", "/data/{bag}", self.create_item)
        add("DELETE", "/data/{bag}", self.delete_bag)
        add("GET", "/data/{bag}/{item}", self.get_item)
        add("PUT", "/data/{bag}/{item}", self.put_item)
        add("DELETE", "/data/{bag}/{item}", self.delete_item)
        add("GET", "/cookbooks", self.cookbooks)
        add("GET", "/cookbooks/{name}", self.cookbook)
        add("GET", "/cookbooks/{name}/{version}", self.manifest)
        add("PUT", "/cookbooks/{name}/{version}", self.put_manifest)
        add("DELETE", "/cookbooks/{name}/{version}", self.delete_manifest)
        add("POST", "/file_store/missing", self.missing)
        add("POST", "/file_store", self.put_files)
        add("PUT", "/file_store/{checksum}", self.put_file)
        add("GET", "/file_store/{checksum}", self.get_file)
        add("GET", "/search", self.indexes)
        add("GET", "/search/{index}", self.search)
        add("POST", "/reports/nodes/{name}/runs", self.add_report)
        add("GET", "/reports/nodes/{name}/runs", self.reports)

    # --- data bags -----------------------------------------------------------------------------
    async def bags(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.READ)
        return json_response(self.api.urls(request, "data", self.store.bags()))

    async def create_bag(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.ADMIN)
        doc = await read_json(request)
        if not isinstance(doc, dict):
            raise UsageError("body must be an object {\"name\": BAG}")
        self.store.create_bag(check_name(doc.get("name"), "data bag"))
        return json_response({"uri": f"{request.url.origin()}/data/{doc['name']}"}, 201)

    async def items(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.READ)
        bag = self.api.name(request, "bag", "data bag")
        return json_response(self.api.urls(request, f"data/{bag}", self.store.items(bag)))

    async def delete_bag(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.ADMIN)
        self.store.delete_bag(self.api.name(request, "bag", "data bag"))
        return json_response({})

    async def create_item(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.ADMIN)
        bag = self.api.name(request, "bag", "data bag")
        doc = unwrap_item(await read_json(request))  # knife's wrapped form: id inside raw_data
        item = check_name(doc.get("id") if isinstance(doc, dict) else None, "data bag item")
        self.store.put_item(bag, item, doc, create=True)
        return raw_json(self.store.get_item_json(bag, item), 201)

    async def get_item(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.READ)
        bag = self.api.name(request, "bag", "data bag")
        return raw_json(self.store.get_item_json(bag, self.api.name(request, "item", "item")))

    async def put_item(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.ADMIN)
        bag = self.api.name(request, "bag", "data bag")
        item = self.api.name(request, "item", "item")
        created = self.store.put_item(bag, item, await read_json(request))
        return raw_json(self.store.get_item_json(bag, item), 201 if created else 200)

    async def delete_item(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.ADMIN)
        bag = self.api.name(request, "bag", "data bag")
        return json_response(self.store.delete_item(bag, self.api.name(request, "item", "item")))

    # --- cookbooks and files -------------------------------------------------------------------
    async def cookbooks(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.READ)
        return json_response({cb: {"versions": vs} for cb, vs in self.store.cookbooks().items()})

    async def cookbook(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.READ)
        name = self.api.name(request, what="cookbook")
        return json_response({name: {"versions": self.store.cookbook_versions(name)}})

    async def manifest(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.READ)
        name = self.api.name(request, what="cookbook")
        return json_response(self.store.manifest(name, request.match_info["version"]))

    async def put_manifest(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.ADMIN)
        name, version = self.api.name(request, what="cookbook"), request.match_info["version"]
        freeze = request.query.get("freeze", "false").lower() in ("true", "1", "yes")
        created = self.store.put_manifest(name, version, await read_json(request), freeze=freeze)
        return json_response(self.store.manifest(name, version), 201 if created else 200)

    async def delete_manifest(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.ADMIN)
        name = self.api.name(request, what="cookbook")
        return json_response(self.store.delete_manifest(name, request.match_info["version"]))

    async def missing(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.ADMIN)
        doc = await read_json(request)
        if not isinstance(doc, dict):
            raise UsageError("body must be an object {\"checksums\": [...]}")
        return json_response({"missing": self.store.missing_files(doc.get("checksums"))})

    async def put_file(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.ADMIN)
        checksum = request.match_info["checksum"]
        created = self.store.put_file(checksum, await request.read())
        return json_response({"checksum": checksum}, 201 if created else 200)

    async def put_files(self, request: web.Request) -> web.Response:
        """Many files in one multipart/form-data body, one part per file named by its sha256."""
        self.api.allow(request, Rule.ADMIN)
        if not request.content_type.startswith("multipart/"):
            raise UsageError("want multipart/form-data with one part per file, named by its "
                             "sha256")
        try:
            files = await _parts(request)
        except (ValueError, AssertionError, RuntimeError) as err:  # aiohttp's parser on garbage
            raise UsageError(f"malformed multipart body: {err}") from None
        return json_response({"stored": self.store.put_files(files)}, 201)

    async def get_file(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.READ)
        data = self.store.get_file(request.match_info["checksum"])
        return web.Response(body=data, content_type="application/octet-stream")

    # --- search and reports --------------------------------------------------------------------
    async def indexes(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.READ)
        return json_response(self.api.urls(request, "search", self.store.indexes()))

    async def search(self, request: web.Request) -> web.Response:
        """Runs in a worker thread under a time budget, so `GET /` and node writes keep
        answering while it matches. A node sees only its own client in the client index
        (docs/decisions.md: Chef Server's clients group has no read on other clients)."""
        self.api.allow(request, Rule.READ)
        index = self.api.name(request, "index", "search index")
        start = _int(request, "start", 0, 2**31)
        rows = _int(request, "rows", 1000, MAX_ROWS)
        who = request[WHO]
        visible = frozenset({who.name or ""}) if index == "client" and who.kind == "node" else None
        run = functools.partial(self.store.search, index, request.query.get("q", "*:*"), start,
                                rows, budget_s=self.search_budget_s, visible=visible)
        total, docs = await asyncio.get_running_loop().run_in_executor(self._searches, run)
        body = b'{"total":%d,"start":%d,"rows":[%s]}' % (total, start, b",".join(docs))
        return raw_json(body)

    async def add_report(self, request: web.Request) -> web.Response:
        name = self.api.name(request, what="node")
        self.api.allow(request, Rule.SELF, name)
        self.store.add_report(name, await read_json(request))
        return json_response({"node": name}, 201)

    async def reports(self, request: web.Request) -> web.Response:
        self.api.allow(request, Rule.ADMIN)
        return json_response(self.store.reports(self.api.name(request, what="node")))

