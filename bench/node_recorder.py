"""The recorder plugin of bench/nodes.py: runs inside the `pytest SPEC` child process.

At the module's end it snapshots what the Cluster recorded (timings, per-resource seconds),
the `cluster` fixture's setup and teardown times and every test phase's duration; before the
teardown it reads apt's history in every node and times a few probes.
"""
from __future__ import annotations

import json
import re
import statistics
import time
from pathlib import Path
from typing import Any

import pytest


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
        self.stopped: list[tuple[dict, Any]] = []  # (snapshot, Cluster): removal ends later

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
        self.stopped.append((snap, cluster))

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
            ram = attempt(lambda n: cluster.exec(n, "du -sxm /.harness-rw | cut -f1")[1], name)
            if ram.strip().isdigit():  # what the node keeps in RAM (--node-disk ram)
                probes[name]["ram_MB"] = float(ram)
            api = getattr(cluster.backend, "api", None)  # docker only: the written layer
            if api is not None:
                rows = attempt(api.containers, all=True, size=True,
                               filters={"name": node.container})
                for row in rows if isinstance(rows, list) else []:
                    if f"/{node.container}" in row.get("Names", []):
                        probes[name]["rw_layer_MB"] = (row.get("SizeRw") or 0) / 1e6
        return {"node_logs": logs, "probes": probes}

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session, exitstatus) -> None:
        exit_wait = _finish_removals(session)  # before the harness plugin's, so it is timed here
        for snap, cluster in self.stopped:
            snap["down"] = cluster.cluster_timings.get("down")
            snap["removal"] = cluster.cluster_timings.get("removal")
        if self.clusters:
            self.clusters[-1]["exit_wait"] = exit_wait  # only the last cluster's can be left
        doc = {"session_seconds": time.monotonic() - self.started, "exitstatus": int(exitstatus),
               "clusters": self.clusters, "tests": self.tests}
        Path(self.out).write_text(json.dumps(doc, indent=1))


def child(out: str, args: list[str]) -> int:
    return int(pytest.main(args, plugins=[Recorder(out)]))


def _finish_removals(session) -> float:
    """Wait for the background removals, whichever harness version runs (comparison runs)."""
    try:
        from harness.pytest_plugin import REMOVALS
    except ImportError:  # before Removals: a module-level pool in the reaper, or none at all
        try:
            from harness.nodes.reaper import finish_removals
        except ImportError:
            return 0.0
        return finish_removals()
    removals = session.config.stash.get(REMOVALS, None)
    return removals.finish() if removals is not None else 0.0
