"""A kept pytest cluster handed to a keeper, so it outlives pytest like an `up` cluster.

`pytest --destroy never` (or `passing` after a failure) keeps the nodes, but their config
server lives in pytest. Hand-over: dump the server's whole store (client tokens included) to
a 0600 file in the cluster's state directory, stop pytest's server, start
`python -m harness.nodes.keeper --adopt DIR` (it serves the dump on the same address and
starts its own reaper), and only once it is ready stop pytest's reaper. From then on
`harness converge`, `verify`, `login`, `list` and `down` treat it as any running cluster.
"""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

from harness.errors import HarnessError
from harness.nodes.cluster import Cluster
from harness.nodes.keeper import READY, state_of
from harness.nodes.state import cluster_dir, remove_state, write_private, write_state
from harness.server.snapshot import dump_store

_KEEPERS: list[subprocess.Popen[str]] = []


def hand_over(cluster: Cluster, say: Callable[[str], None]) -> str:
    """Keep cluster running under a keeper; returns the kept cluster's name. On failure the
    cluster is removed (nothing half-kept) and the HarnessError says why."""
    server = cluster.server
    if server is None:
        raise HarnessError(f"cluster {cluster.name} has no server to hand over")
    cluster.name = f"{cluster.name}-{cluster.id}"  # unique among kept clusters
    state = state_of(cluster, "pytest")
    directory = cluster_dir(cluster.name, create=True)
    try:
        write_state(state)
        write_private(directory / "admin.token", server.admin_token + "\n")
        write_private(directory / "store.json", json.dumps(dump_store(server.store)))
        server.stop()  # frees the address for the keeper
        keeper = subprocess.Popen([sys.executable, "-m", "harness.nodes.keeper", "--adopt",
                                   str(directory)], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  start_new_session=True)
        assert keeper.stdout is not None
        first = keeper.stdout.readline().strip()
        if first != READY:
            keeper.wait()
            raise HarnessError(f"the keeper did not take cluster {cluster.name} over: "
                               f"{first or 'it exited ' + str(keeper.returncode)}")
    except BaseException:
        cluster.down()
        remove_state(cluster.name)
        raise
    keeper.stdout.close()  # the keeper writes to its keeper.log from now on
    _KEEPERS.append(keeper)  # detached on purpose: no "still running" warning when collected
    cluster.keep()  # stops pytest's reaper: the keeper's watches the nodes now
    say(f"kept cluster {cluster.name} (keeper pid {keeper.pid}); use it with "
        f"`harness converge|verify|login --cluster {cluster.name}`, remove it with "
        f"`harness down --cluster {cluster.name}`")
    return cluster.name
