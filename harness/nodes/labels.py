"""Every `harness.*` label key, in one place.

Labels on containers and networks are the truth about what the harness started (contracts:
"Containers, labels, sessions"): cleanup, the reaper and `harness list` select by them.
"""
from __future__ import annotations

import os
from pathlib import Path

SESSION = "harness.session"      # one cluster's resources (the reaper's and cleanup's selector)
PID = "harness.pid"              # the process that controls the session
PID_START = "harness.pid_start"  # its start time, so a reused pid does not count as alive
CLUSTER = "harness.cluster"      # the cluster's name
ROLE = "harness.role"            # a node's role
NODE = "harness.node"            # a node's name
LAYER = "harness.layer"          # a package layer image: its key (harness/nodes/layers.py)
LAYER_PACKAGES = "harness.layer.packages"  # the packages installed in it, space-separated
LAYER_BASE = "harness.layer.base"          # the base image it was built on


def pid_start(pid: int) -> str | None:
    """Start time (clock ticks since boot) of pid, or None when it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def session_labels(session: str, pid: int | None = None) -> dict[str, str]:
    """The labels that tie a resource to its session and controlling process."""
    pid = pid or os.getpid()
    return {SESSION: session, PID: str(pid), PID_START: pid_start(pid) or ""}


def node_labels(session: str, cluster: str, role: str | None = None,
                node: str | None = None) -> dict[str, str]:
    """A cluster's labels (its network), plus role and node for a node's container."""
    labels = dict(session_labels(session), **{CLUSTER: cluster})
    if role is not None and node is not None:
        labels.update({ROLE: role, NODE: node})
    return labels
