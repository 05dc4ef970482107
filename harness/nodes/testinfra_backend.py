"""testinfra hosts for nodes, over the Docker API instead of the docker CLI.

testinfra's `docker://` backend starts one `docker exec` CLI process per command; a role spec
runs hundreds of them. This backend sends the same `/bin/sh -c COMMAND` through the harness's
container seam (one API exec), with stdout and stderr kept apart as testinfra expects
(decision 17 has the measured gain; the rest is runc starting a process in the container).
It reports itself as "docker", so every testinfra module behaves exactly as with `docker://`.
"""
from __future__ import annotations

from typing import Any

import testinfra.host
from testinfra.backend import base
from testinfra.backend.docker import DockerBackend as CliDockerBackend

from harness.nodes.backend import Backend


class EngineBackend(CliDockerBackend):  # type: ignore[misc]  # testinfra has no type hints
    """testinfra backend for one container, through a harness Backend's `exec_split`."""

    def __init__(self, engine: Backend, container: str, user: str | None = None) -> None:
        super().__init__(f"{user}@{container}" if user else container)
        self.engine = engine

    def run(self, command: str, *args: str, **kwargs: Any) -> base.CommandResult:
        cmd = self.get_command(command, *args)
        rc, out, err = self.engine.exec_split(self.name, ["/bin/sh", "-c", cmd],
                                              user=self.user or "")
        return self.result(rc, self.encode(cmd), out, err)


def engine_host(engine: Backend, container: str, user: str | None = None) -> testinfra.host.Host:
    """A testinfra Host whose commands run in `container` through `engine`."""
    backend = EngineBackend(engine, container, user)
    host = testinfra.host.Host(backend)
    backend.set_host(host)
    return host
