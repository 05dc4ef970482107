"""Benchmark: where a role spec's time goes, per node; and the wall time of the whole suite.

Not a test: run it by hand (see bench/README.md) and record the medians in docs/benchmarks.md.

    .venv/bin/python bench/nodes.py --spec role_specs/test_zookeeper.py [--runs 3] [--json F]
    .venv/bin/python bench/nodes.py --suite [--runs 2] [--workers 1 2] [--platforms bookworm trixie]
    .venv/bin/python bench/nodes.py --spec role_specs/test_zookeeper.py --layers cold warm
    .venv/bin/python bench/nodes.py --from-json F [F ...]      # re-analyse --json recordings

--spec runs `pytest SPEC` (no xdist) in a child process that loads a small recorder plugin
(bench/node_recorder.py, handed to pytest.main; no conftest, no harness change). At the module's end it
snapshots what the Cluster recorded (`.timings`, `.cluster_timings`, `.reports` with
per-resource seconds), how long the `cluster` fixture took to set up and to tear down, and
every test phase's duration; before the teardown it also reads apt's history in every node
(to tell dpkg from resolving + downloading) and times a few probes (docker exec, python and
agent start, systemd-analyze, written layer size). Probes are not counted anywhere.
Per node it prints container start, systemd ready, bootstrap (and the agent's own first
converge inside it), each converge pass, top resources, verify (the spec's own tests) and the
harness overhead = everything but the agent's resources and the spec's tests:

    container + systemd
    + bootstrap script outside the agent run (agent download, register, python starts)
    + agent run beyond its resources, in the bootstrap and in every later pass
      (docker exec, python start, policy + cookbooks, node saves, report) = wall - resources
    + the cluster's shared work / nodes (engine and image checks, network, config server +
      restore, validator, settle checks) + teardown / nodes

pytest's own start and collection (per run, not per cluster) is printed but not counted.

--suite runs `pytest role_specs/ -n N` for each N in --workers (and each --platforms NAME,
as `--platform NAME`), --runs times (interleaved), and prints wall times, outcomes, the
clusters' own "up in" lines and the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parents[1]

from node_recorder import child
from node_report import analyse, med, print_medians, print_run


# ---------------------------------------------------------------------------------------------
# Driving pytest
# ---------------------------------------------------------------------------------------------
class LoadSampler:
    """The 1-minute load average before, during (mean, max) and after a run."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def now() -> float:
        return float(Path("/proc/loadavg").read_text().split()[0])

    def _run(self) -> None:
        while not self._stop.wait(5):
            self.samples.append(self.now())

    def __enter__(self) -> Self:
        self.before = self.now()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.after = self.now()

    def describe(self) -> str:
        during = (f"mean {statistics.fmean(self.samples):.2f}, max {max(self.samples):.2f}"
                  if self.samples else "n/a")
        return f"load before {self.before:.2f}, during {during}, after {self.after:.2f}"


def other_containers() -> int:
    try:
        out = subprocess.run(["docker", "ps", "-q"], capture_output=True, text=True, timeout=30,
                             check=False)
        return len(out.stdout.split())
    except (OSError, subprocess.SubprocessError):
        return -1


def run_spec(spec: str, extra: list[str]) -> tuple[float, dict, str, LoadSampler]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    cmd = [sys.executable, str(Path(__file__).resolve()), "--pytest-child", out, "--",
           spec, "-p", "no:cacheprovider", "-q", *extra]
    with LoadSampler() as load:
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
    try:
        doc = json.loads(Path(out).read_text())
    except ValueError:   # the child ended before its session did: show why
        print(proc.stdout[-6000:], proc.stderr[-6000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"bench: pytest {spec} wrote no recording (exit {proc.returncode})") \
            from None
    finally:
        Path(out).unlink(missing_ok=True)
    tail = "\n".join((proc.stdout.strip().splitlines() or [""])[-1:])
    if proc.returncode != 0:
        print(proc.stdout[-4000:], proc.stderr[-4000:], sep="\n", file=sys.stderr)
    return wall, doc, tail, load


def from_json(paths: list[str]) -> int:
    """Re-analyse recordings written with --json (several files: medians over all runs)."""
    all_runs = []
    for path in paths:
        for i, dump in enumerate(json.loads(Path(path).read_text())):
            print(f"\n## {path} run {i + 1}: {dump['wall']:.1f} s; {dump['load']}")
            results = analyse(dump["doc"], dump["wall"])
            for res in results:
                print_run(res)
            all_runs.append(results)
    print_medians(all_runs)
    return 0


LAYER_ARGS = {"cold": ["--package-layer", "off"], "warm": ["--package-layer", "on"]}


def spec_mode(args: argparse.Namespace) -> int:
    """--runs runs of the spec; with --layers, each run once per mode, interleaved."""
    modes = args.layers or [""]
    all_runs: dict[str, list] = {m: [] for m in modes}
    walls: dict[str, list[float]] = {m: [] for m in modes}
    dumps = []
    print(f"{datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores; {args.spec}")
    if "warm" in modes:  # the layer must exist before a warm run is timed
        wall, _, tail, _ = run_spec(args.spec, [*args.pytest_args, *LAYER_ARGS["warm"]])
        print(f"warm-up run (builds the package layer when missing; not counted): {tail} "
              f"in {wall:.1f} s")
    for i in range(args.runs):
        for mode in modes:
            busy = other_containers()
            wall, doc, tail, load = run_spec(args.spec,
                                             [*args.pytest_args, *LAYER_ARGS.get(mode, [])])
            print(f"\n## run {i + 1}/{args.runs}{f' {mode}' if mode else ''}: {tail} in "
                  f"{wall:.1f} s; {load.describe()}; containers running at start: {busy}")
            results = analyse(doc, wall)
            for res in results:
                print_run(res)
            all_runs[mode].append(results)
            walls[mode].append(wall)
            dumps.append({"wall": wall, "load": load.describe(), "doc": doc, "mode": mode})
    for mode in modes:
        if mode:
            print(f"\n#### {mode} (--package-layer {LAYER_ARGS[mode][1]})")
        print_medians(all_runs[mode])
    if args.layers:
        print("\nwall medians: " + "; ".join(
            f"{m} {med(walls[m]):.1f} s ({', '.join(f'{w:.1f}' for w in walls[m])})"
            for m in modes))
    if args.json:
        Path(args.json).write_text(json.dumps(dumps, indent=1))
    return 0


UP_LINE = re.compile(r"cluster (\S+): up in ([\d.]+) s")


def describe_tree(path: str) -> str:
    """The spec modules and the commit (read-only git), since the suite changes over time."""
    modules = sorted(p.name for p in (ROOT / path).glob("test_*.py"))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=False,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", path, "site-cookbooks",
                                "cookbooks", "roles", "environments"], cwd=ROOT, check=False,
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        head, dirty = "?", ""
    return (f"{len(modules)} modules ({', '.join(modules)}) at {head}"
            + (" with local changes" if dirty else ""))


def suite_mode(args: argparse.Namespace) -> int:
    """Wall time of the suite per (platform, workers), runs interleaved so load hits all alike."""
    platforms = args.platforms or [None]
    walls: dict[tuple[str | None, int], list[float]] = {
        (p, n): [] for p in platforms for n in args.workers}
    print(f"{datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores; "
          f"{describe_tree(args.suite_path)}")
    # pytest's cache in a directory of this bench's own: each run records its modules' times
    # and the next orders xdist's modules longest first (harness/pytest_order.py), as a
    # user's second run does; the user's .pytest_cache is left alone, and the directory goes
    # with the bench
    with tempfile.TemporaryDirectory(prefix="harness-bench-cache-") as cache_dir:
        for i in range(args.runs):
            for platform, n in walls:
                walls[(platform, n)].append(suite_run(args, platform, n, cache_dir, i))
    for (platform, n), values in walls.items():
        on = f" --platform {platform}" if platform else ""
        print(f"-n {n}{on}: median {med(values):.1f} s over {len(values)} run(s) "
              f"({', '.join(f'{v:.1f}' for v in values)})")
    return 0


def suite_run(args: argparse.Namespace, platform: str | None, n: int, cache_dir: str,
              i: int) -> float:
    """One `pytest SUITE -n N` with the bench's cache directory; prints it, returns its wall."""
    cmd = [sys.executable, "-m", "pytest", args.suite_path, "-n", str(n),
           "-o", f"cache_dir={cache_dir}", "-q", *args.pytest_args]
    if platform:
        cmd += ["--platform", platform]
    busy = other_containers()
    with LoadSampler() as load:
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
    last = (proc.stdout.strip().splitlines() or ["?"])[-1]
    ups = UP_LINE.findall(proc.stderr + proc.stdout)
    on = f" --platform {platform}" if platform else ""
    print(f"run {i + 1}, -n {n}{on}: {wall:.1f} s  [{last}]  {load.describe()}; "
          f"containers running at start: {busy}")
    if ups:
        print("   clusters up in: " + ", ".join(f"{c} {s} s" for c, s in ups))
    if proc.returncode != 0:
        print(proc.stdout[-3000:], file=sys.stderr)
    return wall


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--pytest-child"]:
        rest = argv[2:]
        return child(argv[1], rest[1:] if rest[:1] == ["--"] else rest)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--spec", help="one spec module, e.g. role_specs/test_zookeeper.py")
    mode.add_argument("--suite", action="store_true", help="pytest role_specs/ -n N, wall times")
    mode.add_argument("--from-json", nargs="+", metavar="F",
                      help="re-analyse recordings written by --spec --json (medians over all)")
    parser.add_argument("--runs", type=int, default=None, help="runs (spec: 3, suite: 2)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="xdist worker counts for --suite (default: 1 2)")
    parser.add_argument("--platforms", nargs="+", metavar="NAME",
                        help="--suite: run it on each platform (pytest --platform NAME); "
                             "default: the default platform only")
    parser.add_argument("--suite-path", default="role_specs/", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="--spec: also write the raw recordings here")
    parser.add_argument("--layers", nargs="+", choices=sorted(LAYER_ARGS),
                        help="--spec: interleave runs with the package layer off (cold) and "
                             "on (warm; an untimed first run builds it when missing)")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args(argv)
    if args.runs is None:
        args.runs = 2 if args.suite else 3
    os.chdir(ROOT)
    if args.from_json:
        return from_json(args.from_json)
    return suite_mode(args) if args.suite else spec_mode(args)


if __name__ == "__main__":
    sys.exit(main())
