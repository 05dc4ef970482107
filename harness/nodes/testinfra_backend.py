"""testinfra hosts for nodes, over the container seam instead of the docker CLI.

testinfra's `docker://` backend starts one `docker exec` CLI process per command; a role spec
runs hundreds of them. This backend sends the same `/bin/sh -c COMMAND` through one
long-lived shell per node (shell.py, opened by the harness's container seam), with stdout and
stderr kept apart as testinfra expects (decisions 17 and 58 have the measured gains).
It reports itself as "docker", so every testinfra module behaves exactly as with `docker://`.
"""
from __future__ import annotations

import threading
from typing import Any

import testinfra.host
from testinfra.backend import base
from testinfra.backend.docker import DockerBackend as CliDockerBackend

from harness.nodes.backend import Backend
from harness.nodes.shell import Shell


class EngineBackend(CliDockerBackend):  # type: ignore[misc]  # testinfra has no type hints
    """testinfra backend for one container, through a shell its Backend opens on first use.

    A shell that ended (the container was restarted) fails the command that was running; the
    next command opens a new one."""

    def __init__(self, engine: Backend, container: str, user: str | None = None) -> None:
        super().__init__(f"{user}@{container}" if user else container)
        self.engine = engine
        self._shell: Shell | None = None
        self._lock = threading.Lock()

    def run(self, command: str, *args: str, **kwargs: Any) -> base.CommandResult:
        cmd = self.get_command(command, *args)
        rc, out, err = self.shell().run(cmd)
        return self.result(rc, self.encode(cmd), out, err)

    def shell(self) -> Shell:
        with self._lock:
            if self._shell is None or self._shell.closed:
                self._shell = self.engine.open_shell(self.name, self.user or "")
            return self._shell

    def close(self) -> None:
        with self._lock:
            if self._shell is not None:
                self._shell.close()
                self._shell = None


def engine_host(engine: Backend, container: str, user: str | None = None) -> testinfra.host.Host:
    """A testinfra Host whose commands run in `container` through `engine`."""
    backend = EngineBackend(engine, container, user)
    host = testinfra.host.Host(backend)
    backend.set_host(host)
    return host


def close_host(host: testinfra.host.Host) -> None:
    """Close the host's shell, if it opened one (its node's exec ends)."""
    if isinstance(host.backend, EngineBackend):
        host.backend.close()
