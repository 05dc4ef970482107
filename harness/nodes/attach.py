"""A live cluster, attached: the while-up half (RunningCluster) served from state + labels.

`harness converge` and `harness verify` work on a cluster another process keeps (its keeper).
The state directory gives the server's URL, the admin token and the nodes' containers; the
labels on the containers are the truth that they still exist. Nothing here starts or removes
a container, and nothing stops the server.
"""
from __future__ import annotations

from collections.abc import Callable

from harness.client import Client
from harness.errors import ServerError, UsageError
from harness.nodes.backend import Backend
from harness.nodes.bootstrap import Node
from harness.nodes.engine import ensure_engine
from harness.nodes.labels import NODE, SESSION
from harness.nodes.running import RunningCluster
from harness.nodes.state import State, cluster_dir, select


def admin_client(state: State) -> Client:
    return Client.from_token_file(state["server_url"], cluster_dir(state["name"]) / "admin.token")


def attach(state: State, backend: Backend, *, reports: bool = True) -> RunningCluster:
    """The cluster of `state`, its nodes checked against their labels; with each node's
    converge reports from the server (the `report` fixture's source) when asked."""
    present = {lab.get(NODE) for lab in backend.labelled()
               if lab.get(SESSION) == state["session"] and lab.get("kind") == "container"}
    gone = sorted(set(state["nodes"]) - present)
    if gone:
        raise UsageError(f"cluster {state['name']}: node(s) {', '.join(gone)} are gone; "
                         f"`harness down --cluster {state['name']}` removes the rest")
    nodes = {n: Node(n, info["role"], info["container"], info["ip"])
             for n, info in state["nodes"].items()}
    client = admin_client(state)
    live = RunningCluster(state["name"], state["environment"], state.get("roles") or {}, nodes,
                          backend=backend, client=client)
    if reports:
        try:
            for name in nodes:
                live.reports[name] = list(client.get(f"/reports/nodes/{name}/runs"))
        except ServerError as err:
            raise UsageError(f"cluster {state['name']}: its config server does not answer "
                             f"({err}); is its keeper alive? (`harness list`)") from None
    return live


def attach_named(name: str, progress: Callable[[str], None]) -> RunningCluster:
    """The live cluster `name` (state.select's rules), on the engine it runs on."""
    return attach(select(name), ensure_engine(progress))
