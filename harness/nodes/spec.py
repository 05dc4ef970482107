"""ClusterSpec: what a cluster is made of (roles and counts, environment), parsed once.

The pytest marker (`cluster(zookeeper=3, env="production")`), `harness up web=2 db` and
`Cluster` all describe a cluster; this is the one place that validates such a description
and names its nodes, so the three cannot drift apart.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import UsageError

DEFAULT_ENVIRONMENT = "_default"
# The platform a cluster runs on unless --platform says otherwise: set here and nowhere else.
DEFAULT_PLATFORM = "bookworm"


def node_name(role: str, index: int) -> str:
    """The name of a role's index-th node (1-based): `zookeeper-1`."""
    return f"{role}-{index}"


@dataclass(frozen=True)
class ClusterSpec:
    """Roles with their node counts (in order), the environment, an optional backup dir, and
    the platform every node runs (harness/nodes/platforms.py)."""

    roles: dict[str, int]
    environment: str = DEFAULT_ENVIRONMENT
    from_backup: Path | None = field(default=None, compare=False)
    platform: str = DEFAULT_PLATFORM

    def __post_init__(self) -> None:
        if not self.roles:
            raise UsageError("a cluster needs at least one role")
        for role, count in self.roles.items():
            if not isinstance(role, str) or not role:
                raise UsageError(f"bad role name {role!r}")
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                raise UsageError(f"node count of role {role!r} must be a positive integer, "
                                 f"not {count!r}")

    @classmethod
    def from_marker(cls, args: Iterable[object], kwargs: Mapping[str, object], *,
                    where: str, env_override: str | None = None,
                    from_backup: Path | None = None,
                    platform: str = DEFAULT_PLATFORM) -> ClusterSpec:
        """A spec module's `pytest.mark.cluster(ROLE=COUNT, ..., env=ENV)`; `where` names it.

        `from_backup=` and `platforms=` in the marker are handled by the caller (the repo, the
        --platform option) and must be removed from kwargs first.
        """
        if tuple(args):
            raise UsageError(f"{where}: pytest.mark.cluster takes keywords only, "
                             "e.g. cluster(zookeeper=3, env='production')")
        roles = dict(kwargs)
        env = roles.pop("env", DEFAULT_ENVIRONMENT)
        if not roles:
            raise UsageError(f"{where}: pytest.mark.cluster names no role")
        if not isinstance(env, str) or not env:
            raise UsageError(f"{where}: cluster(env={env!r}): the environment must be a name")
        counts: dict[str, int] = {}
        for role, count in roles.items():
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                raise UsageError(f"{where}: cluster({role}={count!r}): the count must be a "
                                 "whole number >= 1")
            counts[role] = count
        return cls(counts, env_override or env, from_backup, platform)

    @classmethod
    def from_args(cls, items: Iterable[str], environment: str = DEFAULT_ENVIRONMENT,
                  from_backup: Path | None = None,
                  platform: str = DEFAULT_PLATFORM) -> ClusterSpec:
        """`harness up web=2 db` -> {"web": 2, "db": 1}; UsageError on anything else."""
        roles: dict[str, int] = {}
        for item in items:
            role, sep, count = item.partition("=")
            if not role or (sep and not (count.isascii() and count.isdigit())) or \
                    (sep and int(count) < 1):
                raise UsageError(f"bad ROLE[=COUNT] {item!r}: COUNT must be a positive integer")
            if role in roles:
                raise UsageError(f"role {role!r} given twice")
            roles[role] = int(count) if sep else 1
        return cls(roles, environment, from_backup, platform)

    def node_names(self) -> list[str]:
        """Every node's name, role by role: `web-1`, `web-2`, `db-1`."""
        return [node_name(role, i) for role, count in self.roles.items()
                for i in range(1, count + 1)]

    def node_roles(self) -> dict[str, str]:
        """{node name: role}, in node_names() order."""
        return {node_name(role, i): role for role, count in self.roles.items()
                for i in range(1, count + 1)}
