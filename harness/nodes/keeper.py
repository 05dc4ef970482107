"""The keeper: the process that owns a cluster left running, and so its config server.

`harness up` must return while the cluster keeps running, and a config server lives in the
process that runs it. So `up` starts `python -m harness.nodes.keeper '<json spec>'` detached:
it brings the cluster up, writes the cluster's state directory (harness/nodes/state.py),
prints READY, then waits for SIGTERM (`harness down`) and tears everything down.
`--adopt DIR` takes over a cluster pytest kept (`--destroy never|passing`): it serves the
store pytest dumped into DIR on the same address, watches the nodes with its own reaper, and
on SIGTERM removes them by session label, exactly like an `up` cluster's keeper.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from harness.agent.build import agent_zipapp_bytes
from harness.errors import HarnessError
from harness.nodes.cluster import Cluster
from harness.nodes.engine import ensure_engine
from harness.nodes.labels import pid_start
from harness.nodes.reaper import install_sigterm_handler, register_keeper, start_reaper
from harness.nodes.spec import DEFAULT_PLATFORM, ClusterSpec
from harness.nodes.state import State, cluster_dir, remove_state, write_private, write_state
from harness.nodes.teardown import kill_nodes, remove_session
from harness.repo import repo_backup
from harness.server.serve import ConfigServer
from harness.server.snapshot import load_store
from harness.server.store import Store

READY = "harness-keeper: ready"


class KeeperSpec(TypedDict):
    """What `harness up` hands the keeper (as JSON on its command line)."""

    name: str
    repo: str
    roles: dict[str, int]
    environment: str
    image: str | None
    node_disk: str
    platform: NotRequired[str]
    package_layer: NotRequired[str]


def state_of(cluster: Cluster, origin: str) -> State:
    """The state a cluster's keeper writes (origin: "up" or "pytest"); keeper filled in later."""
    server = cluster.server
    if server is None:
        raise HarnessError(f"cluster {cluster.name} has no server; was up() called?")
    now = time.time()
    return {"name": cluster.name, "origin": origin, "repo": str(cluster.repo_dir),
            "from_backup": str(cluster.from_backup) if cluster.from_backup else None,
            "environment": cluster.environment, "platform": cluster.spec.platform,
            "image": cluster.image,
            "roles": cluster.roles, "server_url": server.url, "session": cluster.session,
            "network": cluster.network, "created_at": now, "keeper": {},
            "nodes": {n: {"role": node.role, "container": node.container, "ip": node.ip,
                          "last_action": "up", "last_action_at": now}
                      for n, node in cluster.nodes.items()}}


def _claim(state: State, directory: Path) -> None:
    """This process becomes the cluster's keeper (state.json names it)."""
    state["keeper"] = {"pid": os.getpid(), "start": pid_start(os.getpid())}
    write_state(state)
    print(READY, flush=True)
    log = os.open(directory / "keeper.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)  # the starter has returned: nobody reads the pipe any more


def keeper_main(spec: KeeperSpec) -> int:
    """Body of an `up` keeper: up, write state, wait for SIGTERM, down."""
    install_sigterm_handler()
    cluster_spec = ClusterSpec(spec["roles"], spec["environment"],
                               repo_backup(Path(spec["repo"])),
                               spec.get("platform", DEFAULT_PLATFORM))
    cluster = Cluster(spec["name"], cluster_spec, repo_dir=Path(spec["repo"]),
                      image=spec.get("image"),
                      progress=lambda line: print(line, flush=True),
                      node_disk=spec.get("node_disk", "auto"),
                      package_layer=spec.get("package_layer", "auto"))
    try:
        cluster.up()
    except HarnessError as err:
        print(f"harness: {err.with_log()}", flush=True)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    try:
        state = state_of(cluster, "up")
        directory = cluster_dir(cluster.name, create=True)
        write_private(directory / "admin.token", (cluster.server.admin_token if cluster.server
                                                  else "") + "\n")
        _claim(state, directory)
        signal.pause()  # until SIGTERM/SIGINT (raised as KeyboardInterrupt)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.down()
        remove_state(cluster.name)
    return 0


def adopt_main(directory: Path) -> int:
    """Body of an adopting keeper: serve the dumped store, keep the nodes, remove on SIGTERM."""
    install_sigterm_handler()
    state: State = json.loads((directory / "state.json").read_text())
    dump: dict[str, Any] = json.loads((directory / "store.json").read_text())
    host, _, port = state["server_url"].removeprefix("http://").rpartition(":")
    server = ConfigServer(host.strip("[]"), int(port),
                          admin_token=(directory / "admin.token").read_text().strip(),
                          agent_pyz=agent_zipapp_bytes)
    server.store = load_store(Store(), dump)
    try:
        server.start()
    except HarnessError as err:
        print(f"harness: {err}", flush=True)
        return err.exit_code
    (directory / "store.json").unlink()
    reaper = start_reaper(state["session"])  # the nodes go when this process dies
    marker = register_keeper(state["session"])  # `harness clean` spares it, any state home
    try:
        _claim(state, directory)
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        backend = ensure_engine(print)
        kill_nodes(backend, state["session"])
        server.stop()
        remove_session(backend, state["session"], reaper, print)
        remove_state(state["name"])
        marker.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--adopt"]:
        sys.exit(adopt_main(Path(sys.argv[2])))
    sys.exit(keeper_main(json.loads(sys.argv[1])))
