"""Benchmark: where a role spec's time goes, per node; and the wall time of the whole suite.

Not a test: run it by hand (see bench/README.md) and record the medians in docs/benchmarks.md.

    .venv/bin/python bench/nodes.py --spec role_specs/test_zookeeper.py [--runs 3] [--json F]
    .venv/bin/python bench/nodes.py --suite [--runs 2] [--workers 1 2]
    .venv/bin/python bench/nodes.py --from-json F [F ...]      # re-analyse --json recordings

--spec runs `pytest SPEC` (no xdist) in a child process that loads a small recorder plugin
(this file, handed to pytest.main; no conftest, no harness change). At the module's end it
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

--suite runs `pytest role_specs/ -n N` for each N in --workers, --runs times (interleaved),
and prints wall times, outcomes, the clusters' own "up in" lines and the load average.
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
from typing import Any, Self

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ("engine", "image", "network", "server")  # cluster_timings phases before the nodes


# ---------------------------------------------------------------------------------------------
# The recorder (runs inside the pytest child)
# ---------------------------------------------------------------------------------------------
def _sum_resources(report: dict) -> float:
    return sum(float(r.get("seconds") or 0.0) for r in report.get("resources") or [])


PROBES = {
    "exec_true": ["true"],
    "agent_version": ["python3", "/usr/local/lib/harness/agent.pyz", "version"],
    "python_start": ["python3", "-c", "pass"],
}
LOGS = "cat /var/log/apt/history.log; echo '=== dpkg.log'; cat /var/log/dpkg.log"


class Recorder:
    """pytest plugin: writes one JSON document describing the run's cluster(s) to `out`."""

    def __init__(self, out: str) -> None:
        self.out = out
        self.started = time.monotonic()
        self.clusters: list[dict] = []
        self.tests: list[dict] = []
        self.node_of: dict[str, str | None] = {}
        self.live: dict[str, Any] = {}      # module nodeid -> Cluster (while up)
        self.up_fixture: dict[str, float] = {}
        self.extras: dict[str, dict] = {}   # module nodeid -> logs and probes
        self.finalized: dict | None = None

    def pytest_collection_modifyitems(self, items: list) -> None:
        for item in items:
            params = getattr(getattr(item, "callspec", None), "params", {})
            self.node_of[item.nodeid] = params.get("harness_node_name")

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        if fixturedef.argname != "cluster":
            return (yield)
        started = time.monotonic()
        try:
            result = yield
        finally:
            modid = request.node.nodeid
            self.up_fixture[modid] = time.monotonic() - started
        self.live[modid] = result
        return result

    def pytest_runtest_logreport(self, report) -> None:
        self.tests.append({"nodeid": report.nodeid, "when": report.when,
                           "seconds": report.duration, "outcome": report.outcome,
                           "node": self.node_of.get(report.nodeid)})

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item, nextitem):
        modid = item.nodeid.split("::")[0]
        last = nextitem is None or nextitem.nodeid.split("::")[0] != modid
        if last and modid in self.live:
            started = time.monotonic()
            self.extras[modid] = self._inspect(self.live[modid])
            self.extras[modid]["inspect_seconds"] = time.monotonic() - started
        started = time.monotonic()
        try:
            return (yield)
        finally:
            if self.finalized is not None:
                self.finalized["teardown"] = time.monotonic() - started
                self.finalized = None

    def pytest_fixture_post_finalizer(self, fixturedef, request) -> None:
        if fixturedef.argname != "cluster" or not fixturedef.cached_result:
            return
        cluster = fixturedef.cached_result[0]
        if cluster is None or not hasattr(cluster, "timings"):
            return
        modid = request.node.nodeid.split("::")[0]
        self.live.pop(modid, None)
        snap = {
            "module": modid, "name": cluster.name,
            "cluster_timings": dict(cluster.cluster_timings),
            "up_fixture": self.up_fixture.get(modid),
            "teardown": None,
            "nodes": {name: {"role": node.role, "timings": dict(cluster.timings[name]),
                             "reports": [{"seconds": r.get("seconds"), "status": r.get("status"),
                                          "resources": r.get("resources") or []}
                                         for r in cluster.reports[name]]}
                      for name, node in cluster.nodes.items()},
            **self.extras.pop(modid, {}),
        }
        self.clusters.append(snap)
        self.finalized = snap

    @staticmethod
    def _inspect(cluster) -> dict:
        """apt/dpkg logs and a few timing probes of every node (not counted anywhere)."""
        logs, probes = {}, {}

        def attempt(fn, *args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - a benchmark extra, never a failure
                return f"(failed: {err})"

        for name, node in cluster.nodes.items():
            logs[name] = attempt(lambda n: cluster.exec(n, LOGS)[1], name)
            probes[name] = {}
            for key, cmd in PROBES.items():
                runs = []
                for _ in range(3):
                    started = time.monotonic()
                    attempt(cluster.exec, name, cmd)
                    runs.append(time.monotonic() - started)
                probes[name][key] = statistics.median(runs)
            boot = attempt(lambda n: cluster.exec(n, ["systemd-analyze", "time"])[1], name)
            m = re.search(r"([\d.]+)(ms|s) \(userspace\)", boot)
            if m:
                probes[name]["systemd_analyze"] = float(m.group(1)) / (
                    1000 if m.group(2) == "ms" else 1)
            du = attempt(lambda n: cluster.exec(n, "du -sm /var/cache/apt/archives | cut -f1")[1],
                         name)
            if du.strip().isdigit():
                probes[name]["apt_archives_MB"] = float(du)
            api = getattr(cluster.backend, "api", None)  # docker only: the written layer
            if api is not None:
                rows = attempt(api.containers, all=True, size=True,
                               filters={"name": node.container})
                for row in rows if isinstance(rows, list) else []:
                    if f"/{node.container}" in row.get("Names", []):
                        probes[name]["rw_layer_MB"] = (row.get("SizeRw") or 0) / 1e6
        return {"node_logs": logs, "probes": probes}

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        doc = {"session_seconds": time.monotonic() - self.started, "exitstatus": int(exitstatus),
               "clusters": self.clusters, "tests": self.tests}
        Path(self.out).write_text(json.dumps(doc, indent=1))


def child(out: str, args: list[str]) -> int:
    return int(pytest.main(args, plugins=[Recorder(out)]))


# ---------------------------------------------------------------------------------------------
# Analysis
# ---------------------------------------------------------------------------------------------
def _dt(text: str) -> datetime:
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")


def apt_phases(log: str) -> dict[str, float]:
    """{package named on the command line: seconds apt spent in dpkg} from apt's history.

    apt writes Start-Date after the download, when it hands the archives to dpkg, and End-Date
    when dpkg (unpack, configure, triggers) is done; whole seconds (the log's resolution)."""
    history = log.partition("=== dpkg.log")[0]
    out: dict[str, float] = {}
    for block in history.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "Start-Date" not in fields or "End-Date" not in fields:
            continue
        seconds = (_dt(fields["End-Date"].replace("  ", " "))
                   - _dt(fields["Start-Date"].replace("  ", " "))).total_seconds()
        pkg = fields.get("Commandline", "?").split()[-1].split("=")[0]
        out[pkg] = out.get(pkg, 0.0) + seconds
    return out


def pass_labels(timings: dict) -> list[str]:
    return [k for k in timings if k not in ("container", "systemd")]


def analyse(doc: dict, wall: float) -> list[dict]:
    """Per cluster: per-node rows and the cluster's shared figures."""
    results = []
    for cl in doc["clusters"]:
        nodes = cl["nodes"]
        n = len(nodes)
        ct = cl["cluster_timings"]
        tests = [t for t in doc["tests"] if t["nodeid"].split("::")[0] == cl["module"]]
        test_total = sum(t["seconds"] for t in tests)
        up_fx, teardown = cl.get("up_fixture") or 0.0, cl.get("teardown") or 0.0
        inspect = cl.get("inspect_seconds") or 0.0     # this bench's own probes, not counted
        verify_total = test_total - inspect - up_fx - teardown  # the tests' own phases
        # the module's first setup carries the cluster's up(), its last teardown the cluster's
        # down() (and this bench's probes): take them out of the test that carries them
        tests = [dict(x) for x in tests]
        setups = [x for x in tests if x["when"] == "setup"]
        teardowns = [x for x in tests if x["when"] == "teardown"]
        if setups:
            setups[0]["seconds"] -= up_fx
        if teardowns:
            teardowns[-1]["seconds"] -= teardown + inspect
        shared_tests = sum(t["seconds"] for t in tests if not t["node"])
        # what the cluster did outside its nodes' phases
        inner = sum(ct.get(k, 0.0) for k in ("engine", "image", "network", "server", "nodes",
                                             "settle", "idempotence"))
        other_up = max(0.0, ct.get("total", 0.0) - inner)  # validator client, reaper, threads
        settle_checks = max(0.0, ct.get("settle", 0.0) - max(
            (sum(v for k, v in nd["timings"].items() if k.startswith("converge_"))
             for nd in nodes.values()), default=0.0))
        process = max(0.0, wall - doc["session_seconds"]) + max(
            0.0, doc["session_seconds"] - test_total)  # interpreter + pytest + collection
        shared = {k: ct.get(k, 0.0) for k in SHARED}
        shared.update({"validator+reaper": other_up, "settle checks": settle_checks,
                       "fixture (up() outside)": max(0.0, up_fx - ct.get("total", 0.0)),
                       "pytest process": process, "teardown": teardown})
        rows = {}
        for name, nd in sorted(nodes.items()):
            t, reports = nd["timings"], nd["reports"]
            labels = pass_labels(t)
            passes = []
            for i, label in enumerate(labels):
                rep = reports[i] if i < len(reports) else {}
                passes.append({"label": label, "wall": t[label],
                               "agent": float(rep.get("seconds") or 0.0),
                               "resources": _sum_resources(rep)})
            boot = passes[0]
            res_time: dict[str, float] = {}
            for rep in reports[:len(labels)]:
                for r in rep["resources"]:
                    key = f"{r['resource']} {r['action']}"
                    res_time[key] = res_time.get(key, 0.0) + float(r.get("seconds") or 0.0)
            pkg = sum(r["seconds"] for r in reports[0]["resources"]
                      if r["resource"].startswith("package[")) if reports else 0.0
            apt_update = sum(r["seconds"] for r in reports[0]["resources"]
                             if "apt-get update" in r["resource"]) if reports else 0.0
            dpkg = apt_phases(cl.get("node_logs", {}).get(name, ""))
            apt = []  # (package, resource seconds, of which dpkg)
            for r in (reports[0]["resources"] if reports else []):
                m = re.fullmatch(r"package\[(.+)\]", r["resource"])
                if m and r.get("changed"):
                    apt.append((m.group(1), float(r["seconds"]), dpkg.get(m.group(1))))
            own_tests = sum(x["seconds"] for x in tests if x["node"] == name)
            # the module's first test carries the cluster's setup, its last the teardown
            verify = own_tests + shared_tests / n
            overhead = {
                "container": t.get("container", 0.0),
                "systemd": t.get("systemd", 0.0),
                "bootstrap outside agent": boot["wall"] - boot["agent"],
                "agent beyond resources (bootstrap)": boot["agent"] - boot["resources"],
                "later passes beyond resources": sum(p["wall"] - p["resources"]
                                                     for p in passes[1:]),
                "shared / nodes": sum(v for k, v in shared.items() if k != "pytest process") / n,
            }
            rows[name] = {"role": nd["role"], "timings": t, "passes": passes,
                          "top": sorted(res_time.items(), key=lambda kv: -kv[1])[:6],
                          "packages": pkg, "apt_update": apt_update, "verify": verify,
                          "overhead": overhead, "overhead_total": sum(overhead.values()),
                          "apt": apt,
                          "probes": cl.get("probes", {}).get(name, {})}
        results.append({"name": cl["name"], "module": cl["module"], "wall": wall,
                        "cluster_timings": ct, "shared": shared, "verify_total": verify_total,
                        "up_fixture": up_fx, "teardown": teardown, "nodes": rows,
                        "tests": sorted(((x["nodeid"].split("::", 1)[1], x["when"], x["seconds"])
                                         for x in tests if x["seconds"] > 1.0),
                                        key=lambda x: -x[2])[:8]})
    return results


def print_run(res: dict) -> None:
    ct = res["cluster_timings"]
    print(f"\n== cluster {res['name']} ({res['module']}): pytest wall {res['wall']:.1f} s; "
          f"up() {ct.get('total', 0):.1f} s = nodes {ct.get('nodes', 0):.1f} + settle "
          f"{ct.get('settle', 0):.1f} + idempotence {ct.get('idempotence', 0):.1f} + server "
          f"{ct.get('server', 0):.2f} + network {ct.get('network', 0):.2f} + image "
          f"{ct.get('image', 0):.2f} + engine {ct.get('engine', 0):.2f}; tests "
          f"{res['verify_total']:.1f} s; teardown {res['teardown']:.2f} s")
    print("   shared: " + ", ".join(f"{k} {v:.2f}" for k, v in res["shared"].items()))
    for name, row in res["nodes"].items():
        t = row["timings"]
        boot = row["passes"][0]
        print(f"-- {name}: container {t.get('container', 0):.2f}  systemd {t.get('systemd', 0):.2f}"
              f"  bootstrap {boot['wall']:.1f} (agent run {boot['agent']:.1f}, resources "
              f"{boot['resources']:.1f}; packages {row['packages']:.1f}, apt-get update "
              f"{row['apt_update']:.1f})  verify {row['verify']:.1f}")
        for p in row["passes"][1:]:
            print(f"   pass {p['label']}: {p['wall']:.2f} s (agent {p['agent']:.2f}, resources "
                  f"{p['resources']:.2f})")
        print("   top resources: " + "; ".join(f"{k} {v:.1f}" for k, v in row["top"]))
        if row["apt"]:
            print("   package installs (resource s / of which dpkg s): " + "; ".join(
                f"{p} {s:.1f}/{'?' if d is None else f'{d:.0f}'}" for p, s, d in row["apt"]))
        if row["probes"]:
            print("   probes: " + ", ".join(_probe(k, v) for k, v in row["probes"].items()))
        print(f"   harness overhead {row['overhead_total']:.2f} s: "
              + ", ".join(f"{k} {v:.2f}" for k, v in row["overhead"].items()))
    if res["tests"]:
        print("   slowest test phases: " + "; ".join(f"{n} [{w}] {s:.1f}"
                                                     for n, w, s in res["tests"]))


def _probe(key: str, value: float) -> str:
    return f"{key} {value:.0f}" if key.endswith("_MB") else f"{key} {value * 1000:.0f} ms"


def med(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def print_medians(all_runs: list[list[dict]]) -> None:
    by_cluster: dict[str, list[dict]] = {}
    for run in all_runs:
        for res in run:
            by_cluster.setdefault(res["module"], []).append(res)
    for module, runs in by_cluster.items():
        print(f"\n== medians over {len(runs)} run(s): {module}")
        print(f"   pytest wall {med([r['wall'] for r in runs]):.1f} s (runs: "
              + ", ".join(f"{r['wall']:.1f}" for r in runs) + f"); up() "
              f"{med([r['cluster_timings'].get('total', 0) for r in runs]):.1f} s; tests "
              f"{med([r['verify_total'] for r in runs]):.1f} s; teardown "
              f"{med([r['teardown'] for r in runs]):.2f} s")
        for key in ("nodes", "settle", "idempotence", "server", "network", "image", "engine"):
            print(f"   cluster {key:12s} {med([r['cluster_timings'].get(key, 0) for r in runs]):7.2f} s")
        for key in runs[0]["shared"]:
            print(f"   shared  {key:24s} {med([r['shared'][key] for r in runs]):6.2f} s")
        names = sorted(runs[0]["nodes"])
        cols = ["container", "systemd", "bootstrap", "agent run", "resources", "packages",
                "passes", "verify", "overhead"]
        print("   " + f"{'node':14s}" + "".join(f"{c:>11s}" for c in cols))
        for name in names:
            rows = [r["nodes"][name] for r in runs if name in r["nodes"]]
            vals = [
                med([x["timings"].get("container", 0) for x in rows]),
                med([x["timings"].get("systemd", 0) for x in rows]),
                med([x["passes"][0]["wall"] for x in rows]),
                med([x["passes"][0]["agent"] for x in rows]),
                med([x["passes"][0]["resources"] for x in rows]),
                med([x["packages"] for x in rows]),
                med([sum(p["wall"] for p in x["passes"][1:]) for x in rows]),
                med([x["verify"] for x in rows]),
                med([x["overhead_total"] for x in rows]),
            ]
            print("   " + f"{name:14s}" + "".join(f"{v:11.2f}" for v in vals))
        print("   overhead parts (median over nodes and runs):")
        for key in runs[0]["nodes"][names[0]]["overhead"]:
            print(f"     {key:36s} {med([x['overhead'][key] for r in runs for x in r['nodes'].values()]):6.2f} s")
        passes: dict[str, list[tuple[float, float, float]]] = {}
        for r in runs:
            for x in r["nodes"].values():
                for p in x["passes"][1:]:
                    passes.setdefault(p["label"], []).append((p["wall"], p["agent"], p["resources"]))
        for label, vals in passes.items():
            print(f"   pass {label:12s} wall {med([v[0] for v in vals]):5.2f}  agent "
                  f"{med([v[1] for v in vals]):5.2f}  resources {med([v[2] for v in vals]):5.2f} s")
        probes: dict[str, list[float]] = {}
        for r in runs:
            for x in r["nodes"].values():
                for k, v in x["probes"].items():
                    probes.setdefault(k, []).append(v)
        if probes:
            print("   probes: " + ", ".join(_probe(k, med(v)) for k, v in probes.items()))
        pkg_rows = [(s, d) for r in runs for x in r["nodes"].values() for _, s, d in x["apt"]
                    if d is not None]
        if pkg_rows:
            per_node = [(sum(s for _, s, _ in x["apt"]), sum(d for *_, d in x["apt"]))
                        for r in runs for x in r["nodes"].values()
                        if x["apt"] and all(d is not None for *_, d in x["apt"])]
            print(f"   package installs per node: median {med([p[0] for p in per_node]):.1f} s, "
                  f"of which dpkg {med([p[1] for p in per_node]):.0f} s (apt history, 1 s "
                  "resolution); the rest is resolving + downloading")
        overall = med([x["overhead_total"] for r in runs for x in r["nodes"].values()])
        print(f"   harness overhead per node: median {overall:.2f} s (target < 2 s); of which "
              "node-local (container, systemd, bootstrap and passes beyond the agent's "
              f"resources) {med([x['overhead_total'] - x['overhead']['shared / nodes'] for r in runs for x in r['nodes'].values()]):.2f} s; not counted: "
              f"pytest start + collection {med([r['shared']['pytest process'] for r in runs]):.2f} s per run")


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


def spec_mode(args: argparse.Namespace) -> int:
    all_runs, dumps = [], []
    print(f"{datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores; {args.spec}")
    for i in range(args.runs):
        busy = other_containers()
        wall, doc, tail, load = run_spec(args.spec, args.pytest_args)
        print(f"\n## run {i + 1}/{args.runs}: {tail} in {wall:.1f} s; {load.describe()}; "
              f"containers running at start: {busy}")
        results = analyse(doc, wall)
        for res in results:
            print_run(res)
        all_runs.append(results)
        dumps.append({"wall": wall, "load": load.describe(), "doc": doc})
    print_medians(all_runs)
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
    walls: dict[int, list[float]] = {n: [] for n in args.workers}
    print(f"{datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores; "
          f"{describe_tree(args.suite_path)}")
    for i in range(args.runs):
        for n in args.workers:
            cmd = [sys.executable, "-m", "pytest", args.suite_path, "-n", str(n),
                   "-p", "no:cacheprovider", "-q", *args.pytest_args]
            busy = other_containers()
            with LoadSampler() as load:
                started = time.monotonic()
                proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
                wall = time.monotonic() - started
            walls[n].append(wall)
            last = (proc.stdout.strip().splitlines() or ["?"])[-1]
            ups = UP_LINE.findall(proc.stderr + proc.stdout)
            print(f"run {i + 1}, -n {n}: {wall:.1f} s  [{last}]  {load.describe()}; "
                  f"containers running at start: {busy}")
            if ups:
                print("   clusters up in: " + ", ".join(f"{c} {s} s" for c, s in ups))
            if proc.returncode != 0:
                print(proc.stdout[-3000:], file=sys.stderr)
    for n, values in walls.items():
        print(f"-n {n}: median {med(values):.1f} s over {len(values)} run(s) "
              f"({', '.join(f'{v:.1f}' for v in values)})")
    return 0


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
    parser.add_argument("--suite-path", default="role_specs/", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="--spec: also write the raw recordings here")
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
