"""Benchmark: restore a big repo over HTTP, then search latency over its nodes.

Generates a repo (1,000 roles, 200 cookbooks, 10,000 data bag items, 10,000 nodes with
automatic attributes) and a knife-backup directory holding two more versions of every
cookbook; starts `harness serve` as a separate process; times `restore(...)` (several runs,
median) and `role:X AND chef_environment:Y` searches (p50/p99). Not a test: run it by hand.

    .venv/bin/python bench/restore_search.py [--runs 5] [--queries 2000] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.client import Client  # noqa: E402
from harness.restore import read_backup, restore  # noqa: E402

ENVS = ("production", "staging", "testing")


def _write(path: Path, doc: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def _cookbook(directory: Path, name: str, version: str, depends: dict) -> None:
    _write(directory / "metadata.json", {"name": name, "version": version,
                                         "description": f"{name} cookbook", "depends": depends})
    _write(directory / "attributes/default.json", {name: {"version": version, "port": 8000}})
    (directory / "recipes").mkdir(parents=True, exist_ok=True)
    (directory / "recipes/default.py").write_text(f"package({name!r})\n# {version}\n")
    (directory / "templates").mkdir(parents=True, exist_ok=True)
    (directory / "templates/config.j2").write_text(f"# {name}\nport={{{{ port }}}}\n")
    (directory / "files").mkdir(parents=True, exist_ok=True)
    (directory / "files/README").write_text(f"{name} static file\n")  # same in every version


def generate(root: Path, *, roles: int, cookbooks: int, versions: int, items: int,
             nodes: int) -> tuple[Path, Path]:
    """(repo dir, backup dir)."""
    repo, backup = root / "repo", root / "backup"
    newest = f"1.{versions - 1}.0"
    for c in range(cookbooks):
        name = f"cb{c:03d}"
        depends = {f"cb{c - 1:03d}": ">= 1.0.0"} if c % 10 else {}
        _cookbook(repo / "cookbooks" / name, name, newest, depends)
        for v in range(versions - 1):
            _cookbook(backup / "cookbooks" / f"{name}-1.{v}.0", name, f"1.{v}.0", depends)
    for env in ENVS:
        pins = {"cb000": "~> 1.0"} if env == "production" else {}
        _write(repo / "environments" / f"{env}.json",
               {"name": env, "cookbook_versions": pins, "default_attributes": {"env": env}})
    for r in range(roles):
        _write(repo / "roles" / f"role{r:04d}.json", {
            "name": f"role{r:04d}", "description": f"role {r}",
            "run_list": [f"recipe[cb{r % cookbooks:03d}]"],
            "default_attributes": {"app": {"role": r, "tier": r % 7}}})
    bags = 10
    for i in range(items):
        bag = f"bag{i % bags}"
        _write(repo / "data_bags" / bag / f"item{i:05d}.json",
               {"id": f"item{i:05d}", "owner": f"team{i % 17}", "hosts": [f"h{i}", f"h{i + 1}"]})
    for n in range(nodes):
        role, env = f"role{n % roles:04d}", ENVS[n % len(ENVS)]
        name = f"node{n:05d}"
        _write(repo / "nodes" / f"{name}.json", {
            "name": name, "chef_environment": env, "run_list": [f"role[{role}]"],
            "normal": {"tags": [f"t{n % 5}"]},
            "automatic": {"hostname": name, "fqdn": f"{name}.example.com",
                          "ipaddress": f"10.{n // 65536}.{n // 256 % 256}.{n % 256}",
                          "platform": "debian", "platform_version": "12",
                          "roles": [role], "recipes": [f"cb{n % roles % cookbooks:03d}::default"],
                          "memory": {"total": "2048kB"}, "cpu": {"total": 2}}})
    return repo, backup


def start_server(workdir: Path) -> tuple[subprocess.Popen, str, Path]:
    token_file = workdir / "admin.token"
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "serve", "--token-file",
                             str(token_file)], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise SystemExit(f"harness serve did not start: {url!r}")
    return proc, url, token_file


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("--cookbooks", type=int, default=200)
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--keep", help="generate into (and keep) this directory")
    args = parser.parse_args()

    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-restore-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    repo, backup = workdir / "repo", workdir / "backup"
    if not repo.exists():
        repo, backup = generate(workdir, roles=args.roles, cookbooks=args.cookbooks,
                                versions=args.versions, items=args.items, nodes=args.nodes)
    print(f"repo and backup in {workdir} ({time.perf_counter() - started:.1f}s)")
    proc, url, token_file = start_server(workdir)
    try:
        client = Client.from_token_file(url, token_file)
        times = []
        for run in range(args.runs):
            t0 = time.perf_counter()
            summary = restore(client, repo, from_backup=backup)
            times.append(time.perf_counter() - t0)
            print(f"run {run + 1}: {times[-1]:.2f}s  {summary}")
        from harness.repo import load_repo
        from harness.util import paused_gc

        t0 = time.perf_counter()
        with paused_gc():  # as restore() does
            load_repo(repo)
            read_backup(backup)
        loading = time.perf_counter() - t0
        print(f"restore: median {statistics.median(times):.2f}s, min {min(times):.2f}s "
              f"(of which loading repo+backup ~{loading:.2f}s)")

        rng = random.Random(1)
        latencies, hits = [], 0
        for _ in range(args.queries):
            q = f"role:role{rng.randrange(args.roles):04d} AND chef_environment:{rng.choice(ENVS)}"
            t0 = time.perf_counter()
            page = client.get("/search/node", {"q": q})
            latencies.append((time.perf_counter() - t0) * 1000)
            hits += page["total"]
        print(f"search over {args.nodes} nodes: p50 {percentile(latencies, 0.5):.2f} ms, "
              f"p99 {percentile(latencies, 0.99):.2f} ms ({hits / args.queries:.1f} hits/query)")
        t0 = time.perf_counter()
        total = client.get("/search/node", {"q": "*:*", "rows": 10})["total"]
        print(f"search *:* ({total} nodes, 10 rows): {(time.perf_counter() - t0) * 1000:.2f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
