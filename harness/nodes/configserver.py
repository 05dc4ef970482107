"""A cluster's config server: started, restored from the repo, checked, validator created.

The composition of server, restore and client lives with the cluster that needs it, so the
server package stays a server. The cluster runs `start_cluster_server` on a thread while the
containers boot; its one result (`ServerUp`) is what the nodes wait for before bootstrapping.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.agent.build import agent_zipapp_bytes
from harness.client import Client
from harness.errors import ServerError, UsageError
from harness.restore import restore
from harness.server.serve import ConfigServer

VALIDATOR = "harness-validator"


@dataclass(frozen=True)
class ServerUp:
    """What a started cluster server gives its nodes: the server, admin client, validator token."""

    server: ConfigServer
    client: Client
    validator_token: str
    seconds: float = 0.0  # how long the start took (the cluster's "server" timing)


def restored_server(host: str, repo_dir: Path, *, from_backup: Path | None,
                    environment: str, roles: Iterable[str],
                    progress: Callable[[str], None]) -> tuple[ConfigServer, Client]:
    """A cluster's server: started, repo (and backup) restored, environment and roles checked.

    Returns (server, admin Client). A missing environment or role is a UsageError; the
    server is stopped on any failure.
    """
    # the agent is built here (once per process), not on the first node's download
    server = ConfigServer(host=host, port=0, agent_pyz=agent_zipapp_bytes()).start()
    try:
        client = Client(server.url, server.admin_token)
        restore(client, repo_dir, from_backup=from_backup, progress=progress)
        for kind, names in (("environments", [environment]), ("roles", roles)):
            for name in names:
                try:
                    client.get(f"/{kind}/{name}")
                except ServerError as err:
                    if err.status == 404:
                        raise UsageError(f"no {kind[:-1]} {name!r} in {repo_dir}") from None
                    raise
    except BaseException:
        server.stop()
        raise
    return server, client


def start_cluster_server(host: str, repo_dir: Path, *, from_backup: Path | None,
                         environment: str, roles: Iterable[str],
                         progress: Callable[[str], None]) -> ServerUp:
    """restored_server plus the validator client the nodes' bootstraps register with."""
    started = time.monotonic()
    server, client = restored_server(host, repo_dir, from_backup=from_backup,
                                     environment=environment, roles=roles, progress=progress)
    try:
        token = str(client.post("/clients", {"name": VALIDATOR, "validator": True})["token"])
    except BaseException:
        server.stop()
        raise
    return ServerUp(server, client, token, time.monotonic() - started)
