"""Compile a node's policy: expanded run list, solved cookbook versions, merged attributes.

The server compiles on every `GET /nodes/N/policy`, so this does only what it must: expand,
solve over the reached cookbooks, merge. Nothing is cached between calls (the store changes).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from harness.errors import NotFound
from harness.repo.attributes import copy_value, merge_components, merge_precedence, node_attributes
from harness.repo.depsolver import solve
from harness.repo.loader import Repo
from harness.repo.runlist import expand_run_list


class PolicySource(Protocol):
    """What compile_policy reads; a Repo (through RepoSource) or the server's Store."""

    def role(self, name: str) -> dict[str, Any] | None: ...
    def environment(self, name: str) -> dict[str, Any] | None: ...
    def cookbook_manifests(self) -> Mapping[str, Mapping[str, dict[str, Any]]]: ...


class RepoSource:
    """A loaded Repo as a policy source, plus cookbook versions from a backup (repo wins)."""

    def __init__(self, repo: Repo, extra_manifests: Mapping[str, Mapping[str, dict[str, Any]]] | None = None
                 ) -> None:
        self.repo = repo
        self.extra_manifests = extra_manifests or {}
        self._manifests: dict[str, dict[str, dict[str, Any]]] | None = None

    def role(self, name: str) -> dict[str, Any] | None:
        return self.repo.roles.get(name)

    def environment(self, name: str) -> dict[str, Any] | None:
        return self.repo.environments.get(name)

    def cookbook_manifests(self) -> dict[str, dict[str, dict[str, Any]]]:
        if self._manifests is None:
            merged = {cb: dict(versions) for cb, versions in self.extra_manifests.items()}
            for name, cookbook in self.repo.cookbooks.items():
                merged.setdefault(name, {})[cookbook.version] = cookbook.manifest()
            self._manifests = merged
        return self._manifests


def cookbook_manifest_attrs(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{"default": {...}, "override": {...}} of a manifest, tolerating missing parts."""
    attributes = manifest.get("attributes") if isinstance(manifest, dict) else None
    attributes = attributes if isinstance(attributes, dict) else {}
    return {level: attributes.get(level) or {} for level in ("default", "override")}


def _depends(manifest: Mapping[str, Any]) -> Mapping[str, str]:
    metadata = manifest.get("metadata") if isinstance(manifest, dict) else None
    depends = metadata.get("depends") if isinstance(metadata, dict) else None
    return depends if isinstance(depends, dict) else {}


def dependency_order(roots: Iterable[str], versions: Mapping[str, str],
                     manifests: Mapping[str, Mapping[str, dict[str, Any]]]) -> list[str]:
    """Resolved cookbooks, each after its dependencies, roots in run-list order, a cookbook's
    dependencies by name: Chef's CookbookCompiler#cookbook_order (`dependencies.keys.sort`)."""
    order: list[str] = []
    placed: set[str] = set()

    def deps_of(cb: str) -> Iterator[str]:
        return iter(sorted(_depends(manifests[cb][versions[cb]])))

    for root in roots:
        if root in placed or root not in versions:
            continue
        placed.add(root)
        stack = [(root, deps_of(root))]
        while stack:
            cb, deps = stack[-1]
            dep = next(deps, None)
            if dep is None:
                stack.pop()
                order.append(cb)
            elif dep not in placed and dep in versions:
                placed.add(dep)
                stack.append((dep, deps_of(dep)))
    return order + [cb for cb in versions if cb not in placed]


def compile_policy(source: PolicySource, *, name: str, environment: str, run_list: list[str],
                   normal: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The compiled policy of contracts.md for node `name`; NotFound / SolveError otherwise."""
    env = source.environment(environment)
    if env is None:
        if environment != "_default":
            raise NotFound(f"no environment {environment!r} (node {name})")
        env = {}
    expansion = expand_run_list(run_list, environment, source.role, origin=f"node {name}")
    manifests = source.cookbook_manifests()
    reached = _reachable({cb for cb, _, _ in expansion.roots}, manifests)
    available = {cb: {v: _depends(m) for v, m in manifests[cb].items()} for cb in reached}
    versions = solve(available, env.get("cookbook_versions") or {}, expansion.roots,
                     environment=environment)
    for recipe in expansion.recipes:
        cb, _, short = recipe.partition("::")
        files = manifests[cb][versions[cb]].get("files")
        paths = {f.get("path") for f in files if isinstance(f, dict)} \
            if isinstance(files, list) else None
        if paths is not None and f"recipes/{short}.py" not in paths:
            ruby = (f" (only recipes/{short}.rb, and Ruby recipes are not read)"
                    if f"recipes/{short}.rb" in paths else "")
            raise NotFound(f"no recipe {recipe}: cookbook {cb} {versions[cb]} has no "
                           f"recipes/{short}.py{ruby} (node {name})")
    order = dependency_order([cb for cb, _, _ in expansion.roots], versions, manifests)
    cookbook_attrs = [cookbook_manifest_attrs(manifests[cb][versions[cb]]) for cb in order]
    roles = [source.role(r) or {} for r in expansion.attribute_order]
    cookbook_default = [_dict(a["default"]) for a in cookbook_attrs]
    cookbook_override = [_dict(a["override"]) for a in cookbook_attrs]
    role_default = [_dict(r.get("default_attributes")) for r in roles]
    role_override = [_dict(r.get("override_attributes")) for r in roles]
    env_default, env_override = (_dict(env.get("default_attributes")),
                                 _dict(env.get("override_attributes")))
    attributes = node_attributes(
        cookbook_default=cookbook_default, env_default=env_default, role_default=role_default,
        normal=_dict(normal), cookbook_override=cookbook_override, role_override=role_override,
        env_override=env_override)
    # Chef's precedence components, lowest first: the agent rebuilds the merged view from
    # them after a recipe writes one (node.default[...] = ...), with the same two merges.
    levels = {"default": merge_precedence(cookbook_default), "env_default": env_default,
              "role_default": merge_components(role_default), "normal": _dict(normal),
              "override": merge_precedence(cookbook_override),
              "role_override": merge_components(role_override), "env_override": env_override}
    return {"name": name, "chef_environment": environment, "run_list": list(run_list),
            "expanded_run_list": expansion.expanded_run_list, "roles": expansion.roles,
            "recipes": expansion.recipes,
            "cookbook_versions": {cb: versions[cb] for cb in order},
            "attributes": attributes["merged"],
            "attribute_levels": {level: copy_value(dict(value)) if value else {}
                                 for level, value in levels.items()}}


def _dict(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, dict) else None


def _reachable(roots: set[str], manifests: Mapping[str, Mapping[str, dict[str, Any]]]) -> set[str]:
    """Cookbooks any version of the roots can pull in: all the solver may look at."""
    seen, todo = set(), list(roots)
    while todo:
        cb = todo.pop()
        if cb in seen or cb not in manifests:
            continue
        seen.add(cb)
        for manifest in manifests[cb].values():
            todo.extend(d for d in _depends(manifest) if d not in seen)
    return seen
