"""A cluster: network, config server, one systemd container per node, bootstrapped and converged.

The pytest plugin and `harness up` drive this class (contracts.md, "In-process APIs"). Every
resource carries the session's labels and a detached reaper watches this process, so a cluster
never outlives its owner: down() on normal exit, Ctrl-C and SIGTERM; the reaper on SIGKILL.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from harness.errors import HarnessError
from harness.nodes import bootstrap as nb
from harness.nodes.backend import Backend, NetworkInfo
from harness.nodes.bootstrap import Node
from harness.nodes.configserver import ServerUp, start_cluster_server
from harness.nodes.engine import ensure_engine
from harness.nodes.images import default_images_dir, ensure_platform_image
from harness.nodes.labels import node_labels
from harness.nodes.layermode import layer_enabled
from harness.nodes.layerplan import node_images
from harness.nodes.passes import check_idempotent, settle
from harness.nodes.ramdisk import check_node_disk, ram_dirs
from harness.nodes.reaper import install_sigterm_handler, start_reaper, stop_reaper
from harness.nodes.removals import Removals
from harness.nodes.running import RunningCluster
from harness.nodes.spec import ClusterSpec
from harness.nodes.teardown import kill_nodes, remove_session, stop_server
from harness.server.serve import ConfigServer

T = TypeVar("T")
LOOPBACK = "127.0.0.1"  # where the cluster's server restores before its network exists


class Cluster(RunningCluster):
    """One spec module's cluster. Use as a context manager, or call up() and down().

    The while-up methods (node, converge, flip, search, exec, host...) are RunningCluster's."""

    def __init__(self, name: str, spec: ClusterSpec, *, repo_dir: Path,
                 image: str | None = None, backend: Backend | None = None,
                 progress: Callable[[str], None] = print,
                 keep_failed: bool = False, apt_proxy: str | None = None,
                 node_disk: str = "auto", removals: Removals | None = None,
                 package_layer: str = "auto") -> None:
        self.id = secrets.token_hex(4)
        super().__init__(name, spec.environment, spec.roles,
                         {n: Node(n, role, f"h-{self.id}-{n}")
                          for n, role in spec.node_roles().items()},
                         backend=backend, pool_name=f"cluster-{self.id}")
        self.spec, self.repo_dir = spec, Path(repo_dir)
        self.image = image
        self.from_backup, self.progress = spec.from_backup, progress
        self.keep_failed = keep_failed  # a failed up() leaves everything for keep()/down()
        self.apt_proxy = apt_proxy or os.environ.get("HARNESS_APT_PROXY") or None
        self.node_disk = check_node_disk(node_disk)
        self.package_layer = layer_enabled(package_layer)  # layers.py; auto: off under CI
        self.removals = removals  # down(wait=False) removes there; without one, in the foreground
        self.ram_dirs: tuple[str, ...] = ()  # what nodes write there stays in RAM (decision 19)
        self.session = self.id
        self.network = f"h-{self.id}"
        self.server: ConfigServer | None = None
        self.cluster_timings: dict[str, float] = {}
        self._reaper: subprocess.Popen[bytes] | None = None
        self._server_started: Future[ServerUp] | None = None
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

    def _phase(self, key: str, fn: Callable[[], T]) -> T:
        started = time.monotonic()
        result = fn()
        self.cluster_timings[key] = time.monotonic() - started
        return result

    def _up(self) -> None:
        script, secret = nb.read_bootstrap_inputs(self.repo_dir)
        backend = self.backend
        if backend is None:
            backend = self.backend = self._phase("engine", lambda: ensure_engine(self.progress))
        image = self.image
        if image is None:
            image = self.image = self._phase("image", lambda: ensure_platform_image(
                self.spec.platform, backend, self.progress, default_images_dir(self.repo_dir)))
        self.ram_dirs = ram_dirs(self.node_disk, backend.memory)
        self._reaper = start_reaper(self.session)
        # The network is created while the config server starts and restores on the loopback;
        # then the server listens on the network's gateway too, for the nodes (decision 62).
        # Nodes need it only for their bootstrap, and wait for it there.
        starter = ThreadPoolExecutor(2, thread_name_prefix=f"cluster-{self.id}-server")
        network = starter.submit(self._phase, "network", lambda: backend.create_network(
            self.network, self.labels()))
        restored = starter.submit(self._serve, LOOPBACK)
        server = self._server_started = starter.submit(self._publish, restored, network)
        starter.shutdown(wait=False)
        # package layer: the why-runs that name the packages ask the restored server
        images = self._phase("layer", lambda: node_images(
            backend, image, restored.result(), self.nodes, self.environment, secret,
            self.progress, self.apt_proxy)) if self.package_layer else {}
        net = network.result()
        self.progress(f"cluster {self.name}: starting {len(self.nodes)} node(s) "
                      f"({', '.join(sorted(set(images.values())) or [image])}, network {net.name}, "
                      f"{'/usr and /var in RAM' if self.ram_dirs else 'on disk'})")
        started = time.monotonic()
        self._pool.each(self.nodes, lambda node: self._bring_up(
            backend, images.get(node.name, image), node, script, secret, server), fail_fast=True)
        up = self._take_server(server.result())
        self.cluster_timings["nodes"] = time.monotonic() - started
        self._phase("settle", lambda: settle(list(self.nodes), lambda n: self.reports[n][-1],
                                             up.client.search, self.converge_all,
                                             self.progress))
        self.progress(f"cluster {self.name}: idempotence pass")
        reports = self._phase("idempotence", lambda: self.converge_all("idempotence"))
        check_idempotent(reports)

    def _serve(self, host: str) -> ServerUp:
        """On the starter thread: the config server, restored and checked, and a validator."""
        return start_cluster_server(host, self.repo_dir, from_backup=self.from_backup,
                                    environment=self.environment, roles=self.roles,
                                    progress=self.progress)

    @staticmethod
    def _publish(restored: Future[ServerUp], network: Future[NetworkInfo]) -> ServerUp:
        """On the starter thread: the restored server, listening on the network's gateway."""
        up = restored.result()
        try:
            up.server.listen_also(network.result().gateway)
        except BaseException:
            up.server.stop()
            raise
        return up

    def _take_server(self, up: ServerUp) -> ServerUp:
        """The started server becomes the cluster's (on the thread that runs up()/down())."""
        if self.server is None:
            self.server, self.client = up.server, up.client
            self.cluster_timings["server"] = up.seconds
        return up

    def _bring_up(self, backend: Backend, image: str, node: Node, script: bytes,
                  secret: bytes | None, server: Future[ServerUp]) -> None:
        timings = self.timings[node.name]
        nb.start_node(backend, image, node, self.network, self.labels(node), self.ram_dirs,
                      timings)
        booting_since = time.monotonic()
        up = server.result()  # the validator token and URL: usually there before the node
        nb.install_bootstrap(backend, node, script, up.validator_token, secret)  # while it boots
        cmd = nb.bootstrap_command(up.server.url, node, self.environment,
                                   secret=secret is not None, apt_proxy=self.apt_proxy)
        self.progress(f"{node.name}: bootstrapping ({node.ip})")
        try:  # the exec waits for systemd's boot in the node, then runs the bootstrap
            self.logs[node.name] = nb.boot_and_bootstrap(backend, node, cmd, booting_since,
                                                         timings, self.progress)
        except HarnessError as err:
            self.logs[node.name] = err.log_tail or ""
            raise
        runs = up.client.get(f"/reports/nodes/{node.name}/runs")
        self.reports[node.name].append(runs[-1] if runs else {})
        changed = self.reports[node.name][-1].get("changed") or []
        self.progress(f"{node.name}: bootstrapped in {timings['bootstrap']:.1f} s "
                      f"({len(changed)} resources changed)")

    def down(self, wait: bool = True) -> None:
        """Kill the nodes, stop the server, remove containers and network; idempotent.

        With wait=False and a `Removals`, the kill and the removal run on its thread and
        overlap the next module; its owner waits with Removals.finish() before exiting, and the
        reaper stays until the removal is done, in case this process dies meanwhile."""
        if self._down:
            return
        self._down = True
        started = time.monotonic()
        self.close_hosts()
        backend = self.backend
        removals = None if wait else self.removals
        if backend is not None and removals is not None:
            removals.submit(self._remove_all)  # kills too: running execs return
        elif backend is not None:
            kill_nodes(backend, self.session)  # running execs return, so the pool can stop
        self._pool.shutdown(wait=True)
        stop_server(self._server_started, self._say)
        if backend is None:
            stop_reaper(self._reaper)
        elif removals is None:
            self._remove_all()  # again after the pool: also a create that was in flight
        self.cluster_timings["down"] = time.monotonic() - started

    def _remove_all(self) -> None:
        started = time.monotonic()
        if self.backend is not None:
            remove_session(self.backend, self.session, self._reaper, self._say)
        self.cluster_timings["removal"] = time.monotonic() - started

    def _say(self, line: str) -> None:
        self.progress(f"cluster {self.name}: {line}")

    def keep(self) -> None:
        """Leave the containers running (--destroy never|passing). With a keeper adopting the
        cluster first (handover.py) it stays usable; alone, `harness clean` removes the
        containers once this process is gone (their labels name it)."""
        if self._down:
            return
        self._down = self._kept = True
        self.close_hosts()
        stop_reaper(self._reaper)
        self._pool.shutdown(wait=False)
        stop_server(self._server_started, self._say)
