"""The `harness up` keeper: the process that owns a command-line cluster.

`up` must return while the cluster keeps running, and the cluster's config server lives in the
process that owns the Cluster. So `up` starts this module detached
(`python -m harness.nodes.keeper <json spec>`); it brings the cluster up, writes
`.harness/state.json` (in the current directory), prints READY, then waits for SIGTERM
(`harness down`) and tears everything down. The keeper is the controlling process of the
session: if it is killed, the reaper removes the nodes. The state file helpers live here
too, since the keeper writes what the other commands read.
"""
from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from harness.errors import HarnessError, UsageError
from harness.nodes.cluster import Cluster
from harness.nodes.labels import pid_start
from harness.nodes.reaper import install_sigterm_handler
from harness.nodes.spec import ClusterSpec
from harness.repo import repo_backup

STATE_DIR = Path(".harness")
READY = "harness-keeper: ready"


class KeeperSpec(TypedDict):
    """What `harness up` hands the keeper (as JSON on its command line)."""

    name: str
    repo: str
    roles: dict[str, int]
    environment: str
    image: str | None
    node_disk: str
    package_layer: NotRequired[str]


def state_dir() -> Path:
    return Path.cwd() / STATE_DIR


def load_state(required: bool = True) -> dict[str, Any] | None:
    """The running cluster's state.json; None (or UsageError when required) if there is none."""
    path = state_dir() / "state.json"
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        if required:
            raise UsageError(f"no cluster is up here ({path} missing); "
                             "run `harness up` first") from None
        return None
    except ValueError:
        raise UsageError(f"{path} is corrupt; run `harness clean` and remove it") from None
    return state


def keeper_main(spec: KeeperSpec) -> int:
    """Body of the keeper process: up, write state, wait for SIGTERM, down."""
    install_sigterm_handler()
    cluster_spec = ClusterSpec(spec["roles"], spec["environment"],
                               repo_backup(Path(spec["repo"])))
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
    directory = state_dir()
    try:
        write_state(directory, cluster)
        print(READY, flush=True)
        log = os.open(directory / "keeper.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)  # `up` has returned: nobody reads the pipe any more
        signal.pause()  # until SIGTERM/SIGINT (raised as KeyboardInterrupt)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.down()
        for name in ("state.json", "admin.token"):
            (directory / name).unlink(missing_ok=True)
    return 0


def write_state(directory: Path, cluster: Cluster) -> None:
    """admin.token (0600) and state.json (written whole, then renamed into place)."""
    server = cluster.server
    if server is None:
        raise UsageError(f"cluster {cluster.name} has no server; was up() called?")
    directory.mkdir(exist_ok=True)
    token = directory / "admin.token"
    token.touch(mode=0o600)
    token.write_text(server.admin_token + "\n")
    state = {"cluster": cluster.name, "session": cluster.session, "pid": os.getpid(),
             "pid_start": pid_start(os.getpid()), "repo": str(cluster.repo_dir),
             "environment": cluster.environment, "server_url": server.url,
             "image": cluster.image, "network": cluster.network,
             "nodes": {n: {"role": node.role, "container": node.container, "ip": node.ip}
                       for n, node in cluster.nodes.items()},
             "timings": cluster.timings}
    tmp = directory / "state.json.part"
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(directory / "state.json")


if __name__ == "__main__":
    sys.exit(keeper_main(json.loads(sys.argv[1])))
