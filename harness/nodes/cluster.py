"""A cluster: network, config server, one systemd container per node, bootstrapped and converged.

The pytest plugin and `harness up` drive this class (contracts.md, "In-process APIs"). Every
resource carries the session's labels and a detached reaper watches this process, so a cluster
never outlives its owner: down() on normal exit, Ctrl-C and SIGTERM; the reaper on SIGKILL.
"""
from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ALL_COMPLETED, FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from harness.errors import ConvergeError, HarnessError, UsageError
from harness.nodes import bootstrap as nb
from harness.nodes.bootstrap import Node
from harness.nodes.labels import SESSION, node_labels
from harness.nodes.passes import check_idempotent, settle
from harness.nodes.ramdisk import check_node_disk, ram_dirs
from harness.nodes.reaper import install_sigterm_handler, remove_later, start_reaper, stop_reaper
from harness.nodes.spec import ClusterSpec

VALIDATOR = "harness-validator"
MAX_WORKERS = 16


class Cluster:
    """One spec module's cluster. Use as a context manager, or call up() and down()."""

    def __init__(self, name: str, spec: ClusterSpec, *, repo_dir: Path,
                 image: str | None = None, backend=None,
                 progress: Callable[[str], None] = print,
                 keep_failed: bool = False, apt_proxy: str | None = None,
                 node_disk: str = "auto") -> None:
        self.name, self.spec, self.repo_dir = name, spec, Path(repo_dir)
        self.environment, self.roles = spec.environment, dict(spec.roles)
        self.image, self.backend = image, backend
        self.from_backup, self.progress = spec.from_backup, progress
        self.keep_failed = keep_failed  # a failed up() leaves everything for keep()/down()
        self.apt_proxy = apt_proxy or os.environ.get("HARNESS_APT_PROXY") or None
        self.node_disk = check_node_disk(node_disk)
        self.ram_dirs: tuple[str, ...] = ()  # what nodes write there stays in RAM (decision 19)
        self.id = secrets.token_hex(4)
        self.session = self.id
        self.network = f"h-{self.id}"
        self.nodes: dict[str, Node] = {
            n: Node(n, role, f"h-{self.id}-{n}") for n, role in spec.node_roles().items()}
        self.server = self.client = None
        self.reports: dict[str, list[dict]] = {n: [] for n in self.nodes}
        self.logs: dict[str, str] = {n: "" for n in self.nodes}
        self.timings: dict[str, dict[str, float]] = {n: {} for n in self.nodes}
        self.cluster_timings: dict[str, float] = {}
        self._reaper = None
        self._pool: ThreadPoolExecutor | None = None
        self._server_started: Future | None = None
        self._hosts: dict[str, Any] = {}
        self._down = self._kept = False

    # lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> Cluster:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def labels(self, node: Node | None = None) -> dict[str, str]:
        """Labels of the cluster's resources (contracts: "Containers, labels, sessions")."""
        return node_labels(self.session, self.name, node.role if node else None,
                           node.name if node else None)

    def up(self) -> Cluster:
        """Bring the whole cluster up; on any failure (or Ctrl-C) tear it down and re-raise."""
        install_sigterm_handler()
        started = time.monotonic()
        try:
            self._up()
        except HarnessError:
            if not self.keep_failed:
                self.down()
            raise
        except BaseException:  # Ctrl-C, SIGTERM
            self.down()
            raise
        self.cluster_timings["total"] = time.monotonic() - started
        self.progress(f"cluster {self.name}: up in {self.cluster_timings['total']:.1f} s "
                      f"({', '.join(self.nodes)})")
        return self

    def _phase(self, key: str, fn: Callable[[], Any]) -> Any:
        started = time.monotonic()
        result = fn()
        self.cluster_timings[key] = time.monotonic() - started
        return result

    def _up(self) -> None:
        from harness.nodes.engine import ensure_engine
        from harness.nodes.images import default_images_dir, ensure_base_image

        script, secret = nb.read_bootstrap_inputs(self.repo_dir)
        if self.backend is None:
            self.backend = self._phase("engine", lambda: ensure_engine(self.progress))
        if self.image is None:
            self.image = self._phase("image", lambda: ensure_base_image(
                self.backend, self.progress, default_images_dir(self.repo_dir)))
        self.ram_dirs = ram_dirs(self.node_disk, self.backend.memory)
        self._reaper = start_reaper(self.session)
        net = self._phase("network", lambda: self.backend.create_network(self.network,
                                                                         self.labels()))
        # The config server (start + restore, ~0.3 s) comes up while the containers start and
        # systemd boots (~1 s): a node needs it only for its bootstrap.
        starter = ThreadPoolExecutor(1, thread_name_prefix=f"cluster-{self.id}-server")
        self._server_started = starter.submit(self._phase, "server",
                                              lambda: self._serve(net.gateway))
        starter.shutdown(wait=False)
        self.progress(f"cluster {self.name}: starting {len(self.nodes)} node(s) "
                      f"({self.image}, network {net.name}, "
                      f"{'/usr and /var in RAM' if self.ram_dirs else 'on disk'})")
        self._phase("nodes", lambda: self._each(
            lambda node: self._bring_up(node, script, self._server_started, secret),
            fail_fast=True))
        self._phase("settle", lambda: settle(list(self.nodes), lambda n: self.reports[n][-1],
                                             self.client.search, self.converge_all,
                                             self.progress))
        self.progress(f"cluster {self.name}: idempotence pass")
        reports = self._phase("idempotence", lambda: self.converge_all("idempotence"))
        check_idempotent(reports)

    def _serve(self, host: str) -> str:
        """The config server, restored and checked; returns the validator token."""
        self._start_server(host)
        return self.client.post("/clients", {"name": VALIDATOR, "validator": True})["token"]

    def _start_server(self, host: str) -> None:
        from harness.server.serve import restored_server

        self.server, self.client = restored_server(
            host, self.repo_dir, from_backup=self.from_backup, environment=self.environment,
            roles=self.roles, progress=self.progress)

    def _each(self, fn: Callable[[Node], Any], fail_fast: bool = False) -> dict[str, Any]:
        """fn(node) for every node concurrently; the first error (in node order) is raised."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(self.nodes)),
                                            thread_name_prefix=f"cluster-{self.id}")
        futures: dict[str, Future] = {n: self._pool.submit(fn, node)
                                      for n, node in self.nodes.items()}
        done, _ = wait(futures.values(),
                       return_when=FIRST_EXCEPTION if fail_fast else ALL_COMPLETED)
        for future in futures.values():
            if future in done and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        return {name: future.result() for name, future in futures.items()}

    def _bring_up(self, node: Node, script: bytes, server: Future, secret: bytes | None) -> None:
        timings, started = self.timings[node.name], time.monotonic()
        info = self.backend.run_node(self.image, node.container, node.name, self.network,
                                     [node.name], self.labels(node), self.ram_dirs)
        node.ip = info.ip
        timings["container"] = time.monotonic() - started
        started = time.monotonic()
        state, failed = nb.wait_systemd(self.backend, node)
        timings["systemd"] = time.monotonic() - started
        if failed:
            self.progress(f"{node.name}: systemd is {state}; failed units: {', '.join(failed)}")
        token = server.result()  # the validator token, once the server is up
        started = time.monotonic()
        nb.install_bootstrap(self.backend, node, script, token, secret)
        cmd = nb.bootstrap_command(self.server.url, node, self.environment,
                                   secret=secret is not None, apt_proxy=self.apt_proxy)
        self.progress(f"{node.name}: bootstrapping ({node.ip})")
        try:
            self.logs[node.name] = nb.run_bootstrap(self.backend, node, cmd)
        except HarnessError as err:
            self.logs[node.name] = err.log_tail or ""
            raise
        finally:
            timings["bootstrap"] = time.monotonic() - started
        runs = self.client.get(f"/reports/nodes/{node.name}/runs")
        self.reports[node.name].append(runs[-1] if runs else {})
        changed = self.reports[node.name][-1].get("changed") or []
        self.progress(f"{node.name}: bootstrapped in {timings['bootstrap']:.1f} s "
                      f"({len(changed)} resources changed)")

    def down(self, wait: bool = True) -> None:
        """Kill the nodes, stop the server, remove containers and network; idempotent.

        Deleting disk layers is the slow part (a JDK node ~1.5 s here with --node-disk disk,
        ~0.05 s with its /usr and /var in RAM, decision 19). With wait=False the
        kill and removal (in parallel, per container) run on a background thread that overlaps
        the next module; reaper.finish_removals() waits before exit, and the reaper stays until
        the removal is done, in case this process dies meanwhile."""
        if self._down:
            return
        self._down = True
        started = time.monotonic()
        if self.backend is not None and not wait:
            remove_later(self._remove_all)  # kills too: running execs return
        elif self.backend is not None:
            try:  # kill the nodes first: running execs return, so the pool can stop
                self.backend.stop_by_labels({SESSION: self.session})
            except HarnessError:
                pass  # the removal (or else the reaper) takes them anyway
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._stop_server()
        if self.backend is None:
            stop_reaper(self._reaper)
        elif wait:
            self._remove_all()  # again after the pool: also a create that was in flight
        self.cluster_timings["down"] = time.monotonic() - started

    def _remove_all(self) -> None:
        started = time.monotonic()
        try:  # also removes a container whose create was in flight
            self.backend.remove_by_labels({SESSION: self.session})
            stop_reaper(self._reaper)  # else it stays and sweeps when we exit
        except HarnessError as err:
            self.progress(f"cluster {self.name}: cleanup incomplete ({err}); the reaper "
                          "retries when this process exits, or run `harness clean`")
        self.cluster_timings["removal"] = time.monotonic() - started

    def keep(self) -> None:
        """Leave the containers running for a human (--keep-failed); `harness clean` removes
        them once this process is gone (their labels name it)."""
        if self._down:
            return
        self._down = self._kept = True
        stop_reaper(self._reaper)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._stop_server()

    def _stop_server(self) -> None:
        if self._server_started is not None:  # a server still starting must stop too
            wait([self._server_started])
        if self.server is not None:
            try:
                self.server.stop()
            except Exception as err:  # noqa: BLE001 - teardown must go on
                self.progress(f"cluster {self.name}: stopping the config server: {err}")

    # while up -------------------------------------------------------------------------------
    def node(self, name: str) -> Node:
        if name not in self.nodes:
            raise UsageError(f"no node {name!r} in cluster {self.name} ({', '.join(self.nodes)})")
        return self.nodes[name]

    def converge(self, name: str, why_run: bool = False) -> dict:
        """One agent run on a node; its report (ConvergeError with the log tail on failure)."""
        node = self.node(name)
        try:
            report, output = nb.run_converge(self.backend, node, why_run=why_run)
        except ConvergeError as err:
            self.logs[name] = err.log_tail or ""
            raise
        self.logs[name] = output
        self.reports[name].append(report)
        return report

    def converge_all(self, label: str) -> dict[str, dict]:
        """One converge pass on every node, concurrently; timings under `label`."""
        def one(node: Node) -> dict:
            started = time.monotonic()
            try:
                return self.converge(node.name)
            finally:
                self.timings[node.name][label] = time.monotonic() - started

        return self._each(one)

    def flip(self, name: str, environment: str) -> list[tuple[str, str | None, str | None]]:
        """Move a node to another environment on the server (knife flip); converge it next.

        Same checks as `harness flip`: the environment exists and the node's run list solves
        there. Returns the cookbooks whose resolved version changes: (name, old, new).
        """
        from harness.rollout.flip import flip_node

        self.node(name)
        return flip_node(self.client, name, environment)

    def search(self, index: str, q: str) -> list[dict]:
        return self.client.search(index, q)

    def exec(self, name: str, cmd: list[str] | str) -> tuple[int, str]:
        """Run a command on a node (a string goes through `sh -c`); (exit code, output)."""
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        return self.backend.exec(self.node(name).container, argv)

    def diagnostics(self, name: str) -> str:
        return nb.diagnostics(self.backend, self.node(name), self.logs.get(name, ""))

    def host(self, name: str):
        """testinfra Host of a node (commands through the engine API, as `docker://` does)."""
        if name not in self._hosts:
            from harness.nodes.testinfra_backend import engine_host

            self._hosts[name] = engine_host(self.backend, self.node(name).container)
        return self._hosts[name]

    testinfra_host = host

    def hosts(self) -> dict[str, Any]:
        return {name: self.host(name) for name in self.nodes}
