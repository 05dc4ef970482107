"""Who a planned node's searches find: the nodes a role spec would start beside it.

A recipe that searches for its peers (zookeeper's members, the load balancer's app nodes)
renders differently with 0, 1 or 3 answers, so a plan must answer as the role's cluster
would. The role spec's cluster marker (read with `ast`, harness.ci.specs, never imported)
says which nodes exist: `cluster(zookeeper=3)` -> the plan converges `zookeeper-1` while
`zookeeper-2` and `zookeeper-3` are registered peers. A role brought up by several specs takes
the spec with the most nodes of that role, then the smallest cluster, then the first file:
the cluster that exercises its searches most with the least else around it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.ci.specs import Spec

FIRST_PEER_HOST = 2          # the planned node has harness.unit.FACTS' 10.0.0.1


@dataclass(frozen=True)
class Peers:
    """The planned node's name, its peers' automatic attributes, and where they came from."""

    node: str
    peers: dict[str, dict[str, Any]] = field(default_factory=dict)
    spec: str | None = None

    def names(self) -> list[str]:
        return list(self.peers)


def cluster_spec(specs: list[Spec], role: str) -> Spec | None:
    """The role spec whose cluster stands for `role` (see the module docstring)."""
    candidates = [s for s in specs if not s.opaque and role in s.roles]
    if not candidates:
        return None
    return min(candidates, key=lambda s: (-_counts(s).get(role, 1), sum(s.counts), s.file))


def _counts(spec: Spec) -> dict[str, int]:
    return dict(zip(spec.roles, spec.counts, strict=False))


def peers_for(specs: list[Spec], role: str, environment: str) -> Peers:
    """Node `<role>-1` and every other node of the role's cluster, in `environment`."""
    node = f"{role}-1"
    spec = cluster_spec(specs, role)
    if spec is None:
        return Peers(node)
    peers: dict[str, dict[str, Any]] = {}
    host = FIRST_PEER_HOST
    for peer_role in spec.roles:
        for n in range(1, _counts(spec).get(peer_role, 1) + 1):
            name = f"{peer_role}-{n}"
            if name == node:
                continue
            peers[name] = {"ipaddress": f"10.0.0.{host}", "run_list": f"role[{peer_role}]",
                           "chef_environment": environment}
            host += 1
    return Peers(node, peers, spec.file)
