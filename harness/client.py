"""HTTP client of the config server (urllib3: keep-alive pool, thread-safe), and the batching
helpers restore and backup use (a thread pool over it; POST /_bulk bodies).

Every failure is a ServerError: the server's own message and status for 4xx/5xx, or
"cannot reach config server at URL" when there is no answer at all.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import urllib3
from urllib3.util import Retry, Timeout

from harness.errors import ServerError, UsageError

PAGE = 1000  # search rows per request
WORKERS = 8  # run_all's threads
BULK_BYTES = 1 << 20  # per POST /_bulk; the server takes up to 4 MiB of JSON
_compact = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(**kw) builds one per call


class Client:
    """Talks JSON to one config server with one bearer token."""

    def __init__(self, url: str, token: str, *, timeout: float = 60.0, maxsize: int = 32) -> None:
        self.url = check_url(url)
        self._auth = f"Bearer {token}"
        # connection retries only (and one read retry for idempotent methods, e.g. a
        # keep-alive connection the server closed): never a blind POST retry
        retries = Retry(total=3, connect=3, read=1, redirect=0, status=0, other=0,
                        backoff_factor=0.05, raise_on_status=False)
        self._pool = urllib3.PoolManager(maxsize=maxsize, block=True, retries=retries,
                                         timeout=Timeout(connect=10.0, read=timeout))

    @classmethod
    def from_token_file(cls, url: str, path: Path, **kw: Any) -> Client:
        """A client with the token read from path (UsageError naming it when missing/empty)."""
        try:
            token = Path(path).read_text().strip()
        except FileNotFoundError:
            raise UsageError("token file not found", path=str(path)) from None
        except OSError as err:
            raise UsageError(f"cannot read token file: {err.strerror}", path=str(path)) from None
        if not token:
            raise UsageError("token file is empty", path=str(path))
        return cls(url, token, **kw)

    def request(self, method: str, path: str, *, body: bytes | None = None,
                content_type: str = "application/json", query: dict[str, Any] | None = None) -> bytes:
        """Raw response body of one request; ServerError on failure."""
        target = self.url + path + (f"?{urlencode(query)}" if query else "")
        headers = {"Authorization": self._auth, "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            response = self._pool.request(method, target, body=body, headers=headers)
        except urllib3.exceptions.HTTPError as err:
            reason = getattr(err, "reason", None) or err
            raise ServerError(f"cannot reach config server at {self.url}: {reason}") from None
        if response.status >= 400:
            raise ServerError(f"{method} {path}: {response.status} {_message(response)}",
                              status=response.status)
        return response.data

    def _json(self, method: str, path: str, doc: Any = None, query: dict[str, Any] | None = None) -> Any:
        body = None if doc is None else json.dumps(doc, separators=(",", ":")).encode()
        data = self.request(method, path, body=body, query=query)
        return json.loads(data) if data else None

    def get(self, path: str, query: dict[str, Any] | None = None) -> Any:
        return self._json("GET", path, query=query)

    def put(self, path: str, doc: Any) -> Any:
        return self._json("PUT", path, doc)

    def post(self, path: str, doc: Any) -> Any:
        return self._json("POST", path, doc)

    def delete(self, path: str) -> Any:
        return self._json("DELETE", path)

    def get_file(self, checksum: str) -> bytes:
        return self.request("GET", f"/file_store/{checksum}")

    def put_file(self, checksum: str, data: bytes) -> None:
        self.request("PUT", f"/file_store/{checksum}", body=data,
                     content_type="application/octet-stream")

    def put_files(self, files: dict[str, bytes]) -> None:
        """Upload many files in one multipart request (one part per file, named by sha256)."""
        body, content_type = urllib3.encode_multipart_formdata(
            [(c, (c, data, "application/octet-stream")) for c, data in files.items()])
        self.request("POST", "/file_store", body=body, content_type=content_type)

    def search(self, index: str, q: str = "*:*") -> list[dict[str, Any]]:
        """Every matching document, sorted by name (pages through the rows)."""
        rows: list[dict[str, Any]] = []
        while True:
            page = self.get(f"/search/{index}", {"q": q, "start": len(rows), "rows": PAGE})
            rows.extend(page["rows"])
            if not page["rows"] or len(rows) >= page["total"]:
                return rows

    def close(self) -> None:
        self._pool.clear()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_url(url: str) -> str:
    """The server URL without a trailing slash; UsageError unless it is http(s)://HOST[:PORT]
    (urllib3 would otherwise warn, retry and fail with a message about something else)."""
    try:
        parsed = urllib3.util.parse_url(url)
    except urllib3.exceptions.LocationParseError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"bad server URL {url!r}: want http://HOST:PORT")
    return url.rstrip("/")


def _message(response: urllib3.BaseHTTPResponse) -> str:
    """The server's `{"error": [...]}` message, or the body's first line."""
    try:
        errors = json.loads(response.data)["error"]
        return "; ".join(map(str, errors)) if isinstance(errors, list) else str(errors)
    except (ValueError, KeyError, TypeError):
        text = response.data.decode("utf-8", "replace").strip().splitlines()
        return text[0][:200] if text else response.reason or "error"


def run_all(jobs: Sequence[Callable[[], object]], workers: int = WORKERS) -> None:
    """Run jobs on `workers` threads; the first failure stops the rest and is raised."""
    failed = threading.Event()

    def work(chunk: Sequence[Callable[[], object]]) -> None:
        for job in chunk:
            if failed.is_set():
                return
            try:
                job()
            except BaseException:
                failed.set()
                raise

    chunks = [jobs[i::workers] for i in range(workers) if jobs[i::workers]]
    if len(chunks) <= 1:
        return work(jobs)
    with ThreadPoolExecutor(len(chunks), thread_name_prefix="restore") as pool:
        for future in [pool.submit(work, chunk) for chunk in chunks]:
            future.result()


def bulk_bodies(groups: Sequence[tuple[str, str, Mapping[str, Any]]], limit: int = BULK_BYTES) -> list[bytes]:
    """POST /_bulk bodies of about `limit` bytes each from (section, sub, {name: doc}) groups:
    sub "" puts docs at `section`, else at `section.sub` ({"data": {bag: {item: doc}}}).
    Each document is encoded once, so no body is encoded twice or grows past the limit."""
    bodies: list[bytes] = []
    sections: dict[tuple[str, str], list[str]] = {}
    nested = {section for section, sub, _ in groups if sub}
    size = 0

    def flush() -> None:
        top: dict[str, list[str]] = {}
        for (section, sub), entries in sections.items():
            members = "{" + ",".join(entries) + "}"
            top.setdefault(section, []).append(f"{json.dumps(sub)}:{members}" if sub else members)
        body = ",".join(f"{json.dumps(section)}:"
                        + ("{" + ",".join(parts) + "}" if section in nested else parts[0])
                        for section, parts in top.items())
        bodies.append(("{" + body + "}").encode())
        sections.clear()

    for section, sub, docs in groups:
        sections.setdefault((section, sub), [])
        for name, doc in docs.items():
            entry = f"{json.dumps(name)}:{_compact(doc)}"
            if size and size + len(entry) > limit:
                flush()
                size = 0
                sections[(section, sub)] = []
            sections[(section, sub)].append(entry)
            size += len(entry) + 1
    if sections:
        flush()
    return bodies
