"""Benchmark: does the server keep answering while clients run pathological searches?

Starts `harness serve` as a separate process, stores nodes with 60-character values, then
times `GET /` and a node's `PUT /nodes/NAME` (its own token) twice: with no other load, and
while 4 client processes loop over searches that stalled a backtracking matcher
(`v:/(.*)*X/`, `v:*e*e*...*Z`, ...). Prints p50/p99 of both, and what the searches got.
Not a test: run it by hand (bench/README.md), record the figures in docs/benchmarks.md.

    .venv/bin/python bench/search_load.py [--nodes 500] [--requests 400] [--clients 4]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.synchronize import Event
from pathlib import Path
from urllib.parse import urlencode

import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from restore_search import percentile, start_server  # noqa: E402

PATHOLOGICAL = ["v:/(.*)*X/", "v:" + "*e" * 12 + "*Z", "*e" * 12 + "*Z",
                "v:/(e|ee)*(e|ee)*Z/", "*:/(.*)*(.*)*(.*)*X/"]


def _node(name: str) -> dict[str, object]:
    return {"name": name, "chef_environment": "production", "run_list": ["role[web]"],
            "normal": {"v": "e" * 60, "app": {f"k{i}": f"{'e' * 50}{i}" for i in range(20)}},
            "automatic": {"hostname": name, "roles": ["web"], "ipaddress": "10.0.0.1"}}


def attacker(url: str, token: str, stop: Event, k: int, results: multiprocessing.Queue) -> None:
    http = urllib3.PoolManager(retries=False)
    statuses: Counter[int] = Counter()
    seconds: list[float] = []
    i = k
    while not stop.is_set():
        q = PATHOLOGICAL[i % len(PATHOLOGICAL)]
        i += 1
        started = time.perf_counter()
        resp = http.request("GET", f"{url}/search/node?{urlencode({'q': q})}",
                            headers={"Authorization": f"Bearer {token}"}, timeout=60.0)
        seconds.append(time.perf_counter() - started)
        statuses[resp.status] += 1
    results.put((dict(statuses), seconds))


def measure(http: urllib3.PoolManager, url: str, token: str, requests: int
            ) -> tuple[list[float], list[float]]:
    """(GET / latencies, PUT /nodes/bench-0 latencies) in ms, interleaved."""
    gets, puts = [], []
    body = json.dumps(_node("bench-0")).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for _ in range(requests):
        started = time.perf_counter()
        assert http.request("GET", url + "/", timeout=60.0).status == 200
        gets.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        assert http.request("PUT", url + "/nodes/bench-0", body=body, headers=headers,
                            timeout=60.0).status == 200
        puts.append((time.perf_counter() - started) * 1000)
    return gets, puts


def _line(label: str, gets: list[float], puts: list[float]) -> str:
    return (f"{label:<28} GET /: p50 {percentile(gets, 0.5):6.2f} ms, p99 "
            f"{percentile(gets, 0.99):7.2f} ms | PUT node: p50 {percentile(puts, 0.5):6.2f} ms, "
            f"p99 {percentile(puts, 0.99):7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, token_file = start_server(Path(tmp))
        try:
            http = urllib3.PoolManager(retries=False)
            admin = {"Authorization": f"Bearer {token_file.read_text().strip()}",
                     "Content-Type": "application/json"}

            def token(name: str) -> str:
                resp = http.request("POST", url + "/clients", headers=admin,
                                    body=json.dumps({"name": name}).encode())
                return str(json.loads(resp.data)["token"])

            names = [f"web-{n:04d}" for n in range(args.nodes)]
            for first in range(0, len(names), 1000):  # a bulk body stays under 4 MiB
                nodes = {name: _node(name) for name in names[first:first + 1000]}
                resp = http.request("POST", url + "/_bulk", headers=admin,
                                    body=json.dumps({"nodes": nodes}).encode())
                assert resp.status == 200, resp.data
            writer = token("bench-0")
            # the node's own client creates it, as a bootstrap does: only the creator may
            # update a node (decision 87)
            http.request("PUT", url + "/nodes/bench-0", body=json.dumps(_node("bench-0")).encode(),
                         headers={"Authorization": f"Bearer {writer}",
                                  "Content-Type": "application/json"})
            measure(http, url, writer, 20)  # warm up
            quiet = measure(http, url, writer, args.requests)
            print(_line("no search load", *quiet))
            stop = multiprocessing.Event()
            results: multiprocessing.Queue = multiprocessing.Queue()
            workers = [multiprocessing.Process(target=attacker,
                                               args=(url, token(f"attacker-{k}"), stop, k, results))
                       for k in range(args.clients)]
            for w in workers:
                w.start()
            time.sleep(1.0)
            loaded = measure(http, url, writer, args.requests)
            stop.set()
            done = [results.get(timeout=120) for _ in workers]
            for w in workers:
                w.join()
            print(_line(f"{args.clients} pathological clients", *loaded))
            statuses: Counter[int] = Counter()
            seconds: list[float] = []
            for got, took in done:
                statuses.update(got)
                seconds.extend(took)
            print(f"pathological searches over {args.nodes} nodes: {sum(statuses.values())} "
                  f"answered ({dict(statuses)}), p50 {percentile(seconds, 0.5) * 1000:.0f} ms, "
                  f"p99 {percentile(seconds, 0.99) * 1000:.0f} ms")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
