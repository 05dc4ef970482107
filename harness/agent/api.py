"""HTTP client of the config server: urllib only, JSON, Bearer token (nodes have no urllib3)."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .errors import NotFound, ServerError, Unreachable

RETRY_DELAYS = (0.5, 1.0, 2.0)


class Api:
    """A thin JSON client; every error names the method, path and the server's message."""

    def __init__(self, url: str, token: str, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def put(self, path: str, doc: Any) -> Any:
        return self.request("PUT", path, doc)

    def post(self, path: str, doc: Any) -> Any:
        return self.request("POST", path, doc)

    def get_file(self, checksum: str) -> bytes:
        data: bytes = self.request("GET", f"/file_store/{checksum}", raw=True)
        return data

    def search(self, index: str, query: str) -> list[dict[str, Any]]:
        """Every row of a search, paging through the server's `rows` limit."""
        rows: list[dict[str, Any]] = []
        while True:
            qs = urllib.parse.urlencode({"q": query, "start": len(rows), "rows": 1000})
            page = self.get(f"/search/{urllib.parse.quote(index)}?{qs}")
            rows.extend(page.get("rows", []))
            if not page.get("rows") or len(rows) >= page.get("total", 0):
                return rows

    def request(self, method: str, path: str, doc: Any = None, *, raw: bool = False) -> Any:
        """One request; connection failures of idempotent methods are retried briefly."""
        body = None if doc is None else json.dumps(doc).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        attempts = len(RETRY_DELAYS) + 1 if method in ("GET", "PUT") else 1
        for attempt in range(attempts):
            req = urllib.request.Request(self.url + path, data=body, method=method,
                                         headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    data = resp.read()
                break
            except urllib.error.HTTPError as exc:
                kind = NotFound if exc.code == 404 else ServerError
                raise kind(f"{method} {path}: {exc.code} {_error_text(exc)}",
                           status=exc.code) from None
            except (urllib.error.URLError, OSError) as exc:
                if attempt + 1 < attempts:
                    time.sleep(RETRY_DELAYS[attempt])
                    continue
                reason = getattr(exc, "reason", exc)
                raise Unreachable(f"cannot reach config server at {self.url}: {reason}") from None
        if raw:
            return data
        try:
            return json.loads(data) if data else None
        except ValueError:
            raise ServerError(f"{method} {path}: answer is not JSON") from None


def _error_text(exc: urllib.error.HTTPError) -> str:
    """The server's `{"error": [...]}` message, or the HTTP reason."""
    try:
        doc = json.loads(exc.read() or b"null")
    except (ValueError, OSError):
        doc = None
    if isinstance(doc, dict) and doc.get("error"):
        err = doc["error"]
        return "; ".join(map(str, err)) if isinstance(err, list) else str(err)
    return str(exc.reason)
