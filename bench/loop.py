"""Benchmark: the author's inner loop on a 3-node zookeeper cluster (issue 12's targets).

Not a test: run it by hand (see bench/README.md) and record the medians in docs/benchmarks.md.

    .venv/bin/python bench/loop.py [--runs 5] [--keep-up]

Copies the project's repo (roles, environments, cookbooks, role specs, bootstrap) to a
temporary directory, `harness up zookeeper=3 --env production` on it (its own state home, so
no other cluster is picked), then --runs times: appends a `file(...)` resource to the
zookeeper cookbook's recipe and times `harness converge` (the command a user types, Python
start included: sync + converge of the three nodes in parallel; it must report the new
resource on every node); then --runs times `harness verify role_specs/test_zookeeper.py`.
Prints each figure and the medians; `harness down` at the end. Targets: converge <= 5 s,
verify <= 10 s.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPY = ("bootstrap", "cookbooks", "site-cookbooks", "roles", "environments", "data_bags",
        "nodes", "role_specs", "conftest.py", "pyproject.toml", ".chef")
HARNESS = [sys.executable, "-m", "harness.cli"]


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    return time.monotonic() - started, proc


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep-up", action="store_true", help="leave the cluster running")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-loop-"))
    repo = work / "repo"
    repo.mkdir()
    for name in COPY:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name)
        elif source.exists():
            shutil.copy(source, repo / name)
    env = dict(os.environ, XDG_STATE_HOME=str(work / "state"))
    seconds, up = timed([*HARNESS, "up", "zookeeper=3", "--env", "production", "--repo",
                         str(repo), "--name", "bench-loop"], work, env)
    if up.returncode != 0:
        print(up.stdout, up.stderr)
        return 1
    print(f"up: {seconds:.1f} s")
    recipe = repo / "cookbooks" / "zookeeper" / "recipes" / "default.py"
    original = recipe.read_text()
    converges, verifies = [], []
    try:
        for run in range(args.runs):
            recipe.write_text(original + f'\nfile("/etc/bench-loop", content="run {run}\\n")\n')
            seconds, proc = timed([*HARNESS, "converge"], work, env)
            changed = proc.stdout.count("  file[/etc/bench-loop]")
            if proc.returncode != 0 or changed != 3:
                print(proc.stdout, proc.stderr)
                return 1
            converges.append(seconds)
            print(f"converge {run + 1}: {seconds:.2f} s "
                  f"({proc.stdout.splitlines()[-1]})", flush=True)
        # the spec's base check wants the last converge to have changed nothing (idempotence)
        seconds, proc = timed([*HARNESS, "converge"], work, env)
        print(f"converge without an edit: {seconds:.2f} s ({proc.stdout.splitlines()[-1]})")
        for run in range(args.runs):
            seconds, proc = timed([*HARNESS, "verify", "role_specs/test_zookeeper.py"], repo, env)
            if proc.returncode != 0:
                print(proc.stdout, proc.stderr)
                return 1
            verifies.append(seconds)
            print(f"verify {run + 1}: {seconds:.2f} s ({proc.stdout.splitlines()[-1].strip('= ')})",
                  flush=True)
    finally:
        if not args.keep_up:
            subprocess.run([*HARNESS, "down"], cwd=work, env=env, capture_output=True)
            shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"median converge {statistics.median(converges):.2f} s (target 5 s), "
          f"median verify {statistics.median(verifies):.2f} s (target 10 s); "
          f"load average {load:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
