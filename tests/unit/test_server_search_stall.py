"""Issue 14.1: one pathological search must not stall the server (real server, real timers).

The server runs as `harness serve` in its own process: a stalled server (a backtracking
regex holding the GIL, the event loop blocked, SIGTERM ignored) then fails these tests on a
client-side timeout instead of hanging pytest, and the process is SIGKILLed at teardown.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
import urllib3

# `v:/(.*)*X/` and `*e*e...Z` took Python's `re` exponential time on a 60-character value
PATHOLOGICAL = ["v:/(.*)*X/", "v:" + "*e" * 12 + "*Z", "*e" * 12 + "*Z", "v:/(e|ee)*(e|ee)*Z/",
                "*:/(.*)*(.*)*(.*)*X/"]
SEARCH_LIMIT_S = 10.0    # a pathological search answers (200 or 503) within this
RESPONSIVE_LIMIT_S = 1.0  # GET / and a node PUT answer within this while searches run


@dataclass
class Served:
    proc: subprocess.Popen[str]
    url: str
    admin: dict[str, str]
    http: urllib3.PoolManager

    def call(self, method: str, path: str, body: object = None, *,
             token: dict[str, str] | None = None, timeout: float = 5.0) -> urllib3.BaseHTTPResponse:
        data = None if body is None else json.dumps(body).encode()
        return self.http.request(method, self.url + path, body=data,
                                 headers={**(token or self.admin),
                                          "Content-Type": "application/json"},
                                 timeout=urllib3.Timeout(total=timeout), retries=False)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    token_file = tmp_path / "token"
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "serve", "--port", "0",
                             "--token-file", str(token_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://"), proc.stderr.read() if proc.stderr else url
        admin = {"Authorization": f"Bearer {token_file.read_text().strip()}"}
        yield Served(proc, url, admin, urllib3.PoolManager(maxsize=16))
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _node(served: Served, name: str) -> dict[str, str]:
    """A node with 60-character values, and its token."""
    token = json.loads(served.call("POST", "/clients", {"name": name}).data)["token"]
    doc = {"name": name, "chef_environment": "_default", "run_list": [],
           "normal": {"v": "e" * 60, "w": {"x": "e" * 59 + "X!"}}}
    assert served.call("PUT", f"/nodes/{name}", doc).status in (200, 201)
    return {"Authorization": f"Bearer {token}"}


def _get(served: Served, path: str, token: dict[str, str], timeout: float) -> tuple[int, float]:
    started = time.monotonic()
    resp = served.http.request("GET", served.url + path, headers=token, retries=False,
                               timeout=urllib3.Timeout(total=timeout))
    return resp.status, time.monotonic() - started


def test_pathological_searches_answer_quickly(served: Served) -> None:
    """Each query below took seconds to forever on a backtracking matcher; now 200 or 503."""
    token = _node(served, "web-1")
    for q in PATHOLOGICAL:
        status, seconds = _get(served, "/search/node?" + urlencode({"q": q}),
                               token, SEARCH_LIMIT_S)
        assert status in (200, 503) and seconds < SEARCH_LIMIT_S, (q, status, seconds)


def test_the_server_keeps_answering_while_four_clients_search(served: Served) -> None:
    tokens = [_node(served, f"web-{i}") for i in range(4)]
    stop = threading.Event()
    failures: list[str] = []
    searches = [0]

    def attacker(token: dict[str, str], k: int) -> None:
        i = k
        while not stop.is_set():
            q = PATHOLOGICAL[i % len(PATHOLOGICAL)]
            i += 1
            try:
                status, seconds = _get(served, "/search/node?"
                                       + urlencode({"q": q}), token,
                                       SEARCH_LIMIT_S)
            except urllib3.exceptions.HTTPError as err:
                failures.append(f"{q}: {err}")
                return
            searches[0] += 1
            if status not in (200, 503):
                failures.append(f"{q}: status {status} after {seconds:.1f} s")

    threads = [threading.Thread(target=attacker, args=(t, k), daemon=True)
               for k, t in enumerate(tokens)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)  # the searches are running
        slowest = {"GET /": 0.0, "PUT /nodes/web-0": 0.0}
        doc = {"name": "web-0", "chef_environment": "_default", "run_list": [],
               "normal": {"v": "e" * 60}}
        for _ in range(10):
            status, seconds = _get(served, "/", {}, RESPONSIVE_LIMIT_S * 2)
            assert status == 200
            slowest["GET /"] = max(slowest["GET /"], seconds)
            started = time.monotonic()
            put = served.call("PUT", "/nodes/web-0", doc, token=tokens[0],
                              timeout=RESPONSIVE_LIMIT_S * 2)
            assert put.status == 200
            slowest["PUT /nodes/web-0"] = max(slowest["PUT /nodes/web-0"],
                                              time.monotonic() - started)
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=SEARCH_LIMIT_S + 5)
    assert not failures
    assert searches[0] >= 4, "the attackers never got an answer"
    assert max(slowest.values()) < RESPONSIVE_LIMIT_S, slowest
    served.proc.send_signal(signal.SIGTERM)  # a stalled server ignored SIGTERM
    assert served.proc.wait(timeout=10) == 0


def test_a_regex_re2_cannot_run_is_refused_with_400(served: Served) -> None:
    token = _node(served, "web-1")
    resp = served.http.request("GET", served.url + "/search/node?"
                               + urlencode({"q": r"v:/(e)\1/"}),
                               headers=token, retries=False, timeout=5.0)
    assert resp.status == 400
    assert "RE2" in json.loads(resp.data)["error"][0]
