"""`harness flip`: move nodes to another environment on the config server (Etsy's knife flip).

Why: to try a cookbook change on one host, flip it to `testing` (no pins: newest versions),
converge, verify, flip it back. The preview asks the server's own depsolver for both
environments, so it shows exactly what the node's next converge would change. Functions take a
harness.client.Client so the cluster's `flip` reuses them.
"""
from __future__ import annotations

import json
from typing import Any

from harness.errors import NotFound, ServerError, SolveError, UsageError
from harness.rollout.allowlist import check_name

Change = tuple[str, str | None, str | None]   # (cookbook, old version, new version); None: absent


def _get(client: Any, path: str, missing: str) -> dict[str, Any]:
    try:
        doc: dict[str, Any] = client.get(path)
        return doc
    except ServerError as err:
        if err.status == 404:
            raise NotFound(missing) from None
        raise


def environment(client: Any, env: str) -> dict[str, Any]:
    """The environment document; NotFound when the server has no such environment."""
    check_name("environment", env)
    return _get(client, f"/environments/{env}", f"no environment {env!r} on the server")


def node_doc(client: Any, node: str) -> dict[str, Any]:
    check_name("node", node)
    return _get(client, f"/nodes/{node}", f"no node {node!r} on the server")


def resolved(client: Any, env: str, run_list: list[str]) -> dict[str, str]:
    """{cookbook: version} the server's depsolver picks for run_list in env."""
    try:
        answer = client.post(f"/environments/{env}/cookbook_versions", {"run_list": run_list})
    except ServerError as err:
        if err.status == 412:
            raise SolveError(f"environment {env}: {err.message}") from None
        if err.status == 404:
            raise NotFound(f"no environment {env!r} on the server") from None
        raise
    return {cb: manifest["version"] for cb, manifest in answer.items()}


def preview(client: Any, node: str, env: str) -> list[Change]:
    """Cookbooks whose resolved version changes when node moves to env, sorted by name.

    A run list that does not solve in env is a SolveError: flipping would break the node.
    One that no longer solves where the node is now counts as "nothing resolved" there.
    """
    doc = node_doc(client, node)
    environment(client, env)
    run_list = list(doc.get("run_list") or [])
    try:
        old = resolved(client, doc.get("chef_environment") or "_default", run_list)
    except (SolveError, NotFound):
        old = {}
    new = resolved(client, env, run_list)
    return [(cb, old.get(cb), new.get(cb)) for cb in sorted(old.keys() | new.keys())
            if old.get(cb) != new.get(cb)]


def flip_node(client: Any, node: str, env: str) -> list[Change]:
    """Set the node's chef_environment to env on the server; returns the preview's changes."""
    changes = preview(client, node, env)
    _set_environment(client, node, env)
    return changes


def _set_environment(client: Any, node: str, env: str) -> None:
    doc = node_doc(client, node)
    doc["chef_environment"] = env
    client.put(f"/nodes/{node}", doc)


def _phrase(value: str) -> str:
    return json.dumps(value)


def matching_nodes(client: Any, *, role: str | None = None, from_env: str | None = None) -> list[str]:
    """Names of the nodes that list role in their run list, or live in from_env. knife role
    flip searches `role:R` (knife-flip's roleflip.rb), which Chef indexes from the node's own
    run list (Chef::Node#to_hash), not the expanded `roles`."""
    if role:
        check_name("role", role)
        query = f"role:{_phrase(role)}"
    elif from_env:
        check_name("environment", from_env)
        environment(client, from_env)
        query = f"chef_environment:{_phrase(from_env)}"
    else:
        raise UsageError("flip needs a node, --role or --from-env")
    return sorted({row["name"] for row in client.search("node", query)})


def find_node(client: Any, name_or_fqdn: str) -> str:
    """The node whose name or fqdn is `name_or_fqdn`, as knife-flip searches
    (`fqdn:X OR name:X`); several matches are refused (knife-flip takes the first)."""
    check_name("node", name_or_fqdn)
    phrase = _phrase(name_or_fqdn)
    rows = client.search("node", f"name:{phrase} OR fqdn:{phrase}")
    names: list[str] = sorted({str(row["name"]) for row in rows})
    if not names:
        raise NotFound(f"no node with the name or fqdn {name_or_fqdn!r} on the server")
    if len(names) > 1:
        raise UsageError(f"{name_or_fqdn!r} matches several nodes by name or fqdn: "
                         f"{', '.join(names)}; give the node name")
    return names[0]


def _describe(changes: list[Change]) -> list[str]:
    if not changes:
        return ["  no cookbook version changes"]
    return [f"  {cb} {old or '(none)'} -> {new or '(none)'}" for cb, old, new in changes]


def flip_nodes(client: Any, env: str, *, node: str | None = None, role: str | None = None,
               from_env: str | None = None, preview_only: bool = False) -> list[str]:
    """The CLI's flip: resolve the target nodes, check everything, then flip (or only preview)."""
    environment(client, env)
    names = [find_node(client, node)] if node else matching_nodes(client, role=role,
                                                                   from_env=from_env)
    if not names:
        what = f"role {role!r}" if role else f"environment {from_env!r}"
        raise NotFound(f"no nodes with {what} on the server")
    plans = {name: preview(client, name, env) for name in names}   # all checks before any write
    lines = []
    for name in names:
        current = node_doc(client, name).get("chef_environment") or "_default"
        if preview_only:
            lines.append(f"{name}: {current} -> {env} (preview)")
        else:
            _set_environment(client, name, env)
            lines.append(f"{name}: {current} -> {env}")
        lines.extend(_describe(plans[name]))
    return lines
