"""The unit layer (ChefSpec's place in the workflow): a converge in why-run, in process.

    from harness.unit import converge
    run = converge("role[zookeeper]", environment="production", repo=".",
                   node={"normal": {...}}, peers={"zookeeper-2": {"ipaddress": "10.0.0.2"}})
    run.resource("template", "/etc/zookeeper/conf_managed/zoo.cfg").content

The config server is the real Store, loaded from the repo (+ `backup/`) as `harness restore`
loads one, answered through the agent's Api seam without sockets (store.py). The agent code
is the real one (harness.agent.runner.plan: prepare, compile, converge in why-run), so
attribute writes, lazy values, notifications and search behave as in a converge. Peers are
nodes registered with the run list, their policy's attributes and the given automatic
attributes, as their own first converge would have saved them.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.agent.errors import AgentError
from harness.agent.runner import Run, plan
from harness.errors import HarnessError, UsageError
from harness.repo import repo_backup
from harness.repo.attributes import deep_merge, merge_precedence
from harness.server.store import Store
from harness.unit.run import ResourceView, UnitError, UnitRun
from harness.unit.store import StoreApi, seed

__all__ = ["FACTS", "ResourceView", "UnitError", "UnitRun", "converge"]

# Fauxhai's role: fixed facts of a bookworm host (the base image), so runs are reproducible.
FACTS: dict[str, Any] = {
    "domain": None, "ipaddress": "10.0.0.1", "platform": "debian", "platform_version": "12",
    "platform_family": "debian", "os": "linux", "lsb": {},
    "kernel": {"name": "Linux", "release": "6.1.0-unit", "machine": "x86_64"},
    "cpu": {"total": 2}, "memory": {"total": "4028000kB"}}   # as harness/agent/ohai.py
NODE_KEYS = ("normal", "automatic")
DEFAULT_LEVELS = ("default", "env_default", "role_default")
OVERRIDE_LEVELS = ("override", "role_override", "env_override")
SECRET = Path(".chef/encrypted_data_bag_secret")


def converge(run_list: str | list[str], *, environment: str = "_default",
             repo: str | Path = ".", node: Mapping[str, Any] | None = None,
             peers: Mapping[str, Mapping[str, Any]] | None = None, name: str | None = None,
             backup: str | Path | None = None, secret: bytes | str | Path | None = None
             ) -> UnitRun:
    """Why-run of `run_list` on node `name` (default: "<first role or cookbook>-1").

    node: {"normal": {...}, "automatic": {...}} (automatic is laid over FACTS); peers: {name:
    automatic attributes} of other nodes, with the run's run list and environment unless the
    mapping has "run_list" / "chef_environment" (e.g. app nodes behind a balancer); backup: a
    knife-backup directory (default: the repo's `backup/` when present); secret: the data bag
    secret, bytes or a file (default: the repo's .chef/encrypted_data_bag_secret when present).
    Raises UnitError (a HarnessError) naming what failed: input, recipe (file:line), resource.
    """
    root = Path(repo).resolve()
    if not (root / "roles").is_dir() and not (root / "site-cookbooks").is_dir() \
            and not (root / "cookbooks").is_dir():
        raise UsageError("not a config repo (no roles/, cookbooks/ or site-cookbooks/)",
                         path=str(root))
    items = [i.strip() for i in run_list.split(",")] if isinstance(run_list, str) \
        else list(run_list)
    node_name = name or _default_name(items)
    given = dict(node or {})
    unknown = sorted(set(given) - set(NODE_KEYS))
    if unknown:
        raise UsageError(f"node= takes {' and '.join(NODE_KEYS)} attributes, not "
                         f"{', '.join(unknown)} (Chef resets default and override at the "
                         "start of every run; set them in roles or environments)")
    store = seed(root, repo_backup(root, backup)).store()
    if environment != "_default" and store.environment(environment) is None:
        raise UsageError(f"no environment {environment!r} in the repo (it has: "
                         f"{', '.join(store.names('environment'))})", path=str(root))
    try:
        _register(store, node_name, environment, items, normal=given.get("normal") or {})
        for peer, automatic in (peers or {}).items():
            if peer == node_name:
                raise UsageError(f"peer {peer!r} has the converged node's own name")
            _register_peer(store, peer, environment, items, automatic)
    except HarnessError as exc:
        raise UsageError(f"unit converge of {node_name} ({', '.join(items)}, environment "
                         f"{environment}): {exc}") from None
    facts = deep_merge(FACTS, {"hostname": node_name, "fqdn": node_name})
    facts = deep_merge(facts, given.get("automatic") or {})
    output: list[str] = []
    run = Run(StoreApi(store), node_name, why_run=True, secret=_secret(root, secret),
              facts=facts, out=output.append)
    try:
        entries = plan(run)
    except AgentError as exc:
        raise UnitError(f"unit converge of {node_name} ({', '.join(items)}, environment "
                        f"{environment}) failed: {exc}") from None
    return UnitRun(run.ctx.node, items, environment, entries, output, run.searches)


def _default_name(items: list[str]) -> str:
    first = items[0] if items else "node"
    inner = first[first.find("[") + 1:-1] if first.endswith("]") else first
    return f"{inner.split('::')[0].split('@')[0]}-1"


def _register(store: Store, name: str, environment: str, run_list: list[str], *,
              normal: Mapping[str, Any], automatic: Mapping[str, Any] | None = None,
              default: Mapping[str, Any] | None = None,
              override: Mapping[str, Any] | None = None) -> None:
    store.put("node", name, {"name": name, "chef_environment": environment,
                             "run_list": run_list, "normal": dict(normal),
                             "default": dict(default or {}), "override": dict(override or {}),
                             "automatic": dict(automatic or {})})


def _register_peer(store: Store, name: str, environment: str, run_list: list[str],
                   automatic: Mapping[str, Any]) -> None:
    """A peer as its own converge saved it: policy attributes, facts, roles and recipes.
    Two keys are not attributes: "run_list" and "chef_environment" (default: the run's)."""
    if not isinstance(automatic, Mapping):
        raise UsageError(f"peer {name!r}: give its automatic attributes as a mapping, e.g. "
                         "{\"ipaddress\": \"10.0.0.2\"}")
    given = dict(automatic)
    environment = str(given.pop("chef_environment", environment))
    items = given.pop("run_list", run_list)
    run_list = [i.strip() for i in items.split(",")] if isinstance(items, str) else list(items)
    _register(store, name, environment, run_list, normal={})
    policy = store.policy(name)
    levels = policy["attribute_levels"]
    facts = {k: v for k, v in FACTS.items() if k != "ipaddress"}  # only the given address
    facts.update(hostname=name, fqdn=name, roles=policy["roles"], recipes=policy["recipes"])
    _register(store, name, environment, run_list, normal={},
              default=merge_precedence(levels.get(lv) for lv in DEFAULT_LEVELS),
              override=merge_precedence(levels.get(lv) for lv in OVERRIDE_LEVELS),
              automatic=deep_merge(facts, given))


def _secret(root: Path, secret: bytes | str | Path | None) -> bytes | None:
    if isinstance(secret, bytes):
        return secret
    path = Path(secret) if secret is not None else root / SECRET
    if secret is None and not path.is_file():
        return None
    try:
        return (path if path.is_absolute() else root / path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the data bag secret: {exc.strerror}",
                         path=str(path)) from None
