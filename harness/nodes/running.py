"""The while-up half of a cluster: what specs and commands do to nodes that are running.

`Cluster` (cluster.py) adds bringing a cluster up and down; `attach()` (attach.py) builds a
`RunningCluster` from a live cluster's state and labels, for `harness converge` and
`harness verify`, without owning it: nothing here creates or removes a container.
"""
from __future__ import annotations

import time
from typing import Any

from testinfra.host import Host

from harness.client import Client
from harness.errors import ConvergeError, UsageError
from harness.nodes import bootstrap as nb
from harness.nodes.backend import Backend
from harness.nodes.bootstrap import Node
from harness.nodes.fanout import Fanout
from harness.nodes.passes import Report
from harness.nodes.testinfra_backend import close_host, engine_host
from harness.rollout.flip import flip_node


class RunningCluster:
    """Nodes, their engine and the cluster's admin client; converge, flip, search, exec."""

    def __init__(self, name: str, environment: str, roles: dict[str, int],
                 nodes: dict[str, Node], *, backend: Backend | None = None,
                 client: Client | None = None, pool_name: str = "") -> None:
        self.name, self.environment, self.roles = name, environment, dict(roles)
        self.nodes = nodes
        self.backend, self.client = backend, client
        self.reports: dict[str, list[Report]] = {n: [] for n in nodes}
        self.logs: dict[str, str] = {n: "" for n in nodes}
        self.timings: dict[str, dict[str, float]] = {n: {} for n in nodes}
        self._pool = Fanout(len(nodes), pool_name or f"cluster-{name}")
        self._hosts: dict[str, Host] = {}

    def node(self, name: str) -> Node:
        if name not in self.nodes:
            raise UsageError(f"no node {name!r} in cluster {self.name} ({', '.join(self.nodes)})")
        return self.nodes[name]

    def _engine(self) -> Backend:
        if self.backend is None:
            raise UsageError(f"cluster {self.name} is not up")
        return self.backend

    def _admin(self) -> Client:
        if self.client is None:
            raise UsageError(f"cluster {self.name} is not up")
        return self.client

    def converge(self, name: str, why_run: bool = False,
                 stream: nb.Stream | None = None) -> Report:
        """One agent run on a node; its report (ConvergeError with the log tail on failure)."""
        node = self.node(name)
        try:
            report, output = nb.run_converge(self._engine(), node, why_run=why_run,
                                             stream=stream)
        except ConvergeError as err:
            self.logs[name] = err.log_tail or ""
            raise
        self.logs[name] = output
        self.reports[name].append(report)
        return report

    def converge_all(self, label: str, names: list[str] | None = None) -> dict[str, Report]:
        """One converge pass on every node (or those named), concurrently; timings under
        `label`."""
        def one(node: Node) -> Report:
            started = time.monotonic()
            try:
                return self.converge(node.name)
            finally:
                self.timings[node.name][label] = time.monotonic() - started

        chosen = {n: self.node(n) for n in names} if names is not None else self.nodes
        return self._pool.each(chosen, one)

    def flip(self, name: str, environment: str) -> list[tuple[str, str | None, str | None]]:
        """Move a node to another environment on the server (knife flip); converge it next.

        Same checks as `harness flip`: the environment exists and the node's run list solves
        there. Returns the cookbooks whose resolved version changes: (name, old, new).
        """
        self.node(name)
        return flip_node(self._admin(), name, environment)

    def search(self, index: str, q: str) -> list[dict[str, Any]]:
        return self._admin().search(index, q)

    def exec(self, name: str, cmd: list[str] | str) -> tuple[int, str]:
        """Run a command on a node (a string goes through `sh -c`); (exit code, output)."""
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        return self._engine().exec(self.node(name).container, argv)

    def diagnostics(self, name: str) -> str:
        return nb.diagnostics(self._engine(), self.node(name), self.logs.get(name, ""))

    def host(self, name: str) -> Host:
        """testinfra Host of a node (commands through the engine API, as `docker://` does)."""
        if name not in self._hosts:
            self._hosts[name] = engine_host(self._engine(), self.node(name).container)
        return self._hosts[name]

    testinfra_host = host

    def hosts(self) -> dict[str, Host]:
        return {name: self.host(name) for name in self.nodes}

    def close_hosts(self) -> None:
        """Close the hosts' shells (one exec per node that ran a testinfra command)."""
        for host in self._hosts.values():
            close_host(host)
        self._hosts.clear()
