"""How a cluster goes away (contracts.md, "Cluster start and teardown order").

Kill every node first (fast: running execs return), stop the config server, then remove the
stopped containers and the network. Removing is the slow half (decisions 15 and 19), so
Cluster.down(wait=False) hands it to a `Removals`; the reaper stays until the removal is done.
"""
from __future__ import annotations

import subprocess
from collections.abc import Callable
from concurrent.futures import Future, wait

from harness.errors import HarnessError
from harness.nodes.backend import Backend
from harness.nodes.configserver import ServerUp
from harness.nodes.labels import SESSION
from harness.nodes.reaper import stop_reaper


def kill_nodes(backend: Backend, session: str) -> None:
    """Kill the session's containers; a failure is left to the removal (or the reaper)."""
    try:
        backend.stop_by_labels({SESSION: session})
    except HarnessError:
        pass  # the removal (or else the reaper) takes them anyway


def remove_session(backend: Backend, session: str, reaper: subprocess.Popen[bytes] | None,
                   say: Callable[[str], None]) -> None:
    """Remove the session's containers and network, then stop its reaper (it has no work)."""
    try:  # also removes a container whose create was in flight
        backend.remove_by_labels({SESSION: session})
        stop_reaper(reaper)  # else it stays and sweeps when we exit
    except HarnessError as err:
        say(f"cleanup incomplete ({err}); the reaper retries when this process exits, "
            "or run `harness clean`")


def stop_server(started: Future[ServerUp] | None, say: Callable[[str], None]) -> None:
    """Stop the config server, waiting for one still starting; teardown goes on regardless."""
    if started is None:
        return
    wait([started])
    if started.cancelled() or started.exception() is not None:
        return  # it never came up (and stopped itself)
    try:
        started.result().server.stop()
    except Exception as err:  # noqa: BLE001 - teardown must go on
        say(f"stopping the config server: {err}")
