"""Run-list items and their expansion through (nested, per-environment) roles.

Expansion is Chef's: depth first, a role's `env_run_lists[environment]` replaces its
`run_list` when present (and `env_run_lists["_default"]`, when present, is its run list, as
Chef::Role.from_hash merges it over `run_list`), recipes de-duplicated keeping the first occurrence, each role
expanded once. Unlike Chef, a role cycle is an error naming the cycle (Chef silently skips).
The walk is iterative so deep role chains cannot hit Python's recursion limit.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from harness.errors import NotFound, UsageError
from harness.repo.versions import Version

NAME = r"[A-Za-z0-9_.-]+"
_ITEM_RE = re.compile(rf"(?:(recipe|role)\[([^\[\]]*)\]|({NAME}(?:::{NAME})?(?:@\S+)?))\Z")
_RECIPE_RE = re.compile(rf"({NAME})(?:::({NAME}))?(?:@(\S+))?\Z")
_ROLE_RE = re.compile(rf"{NAME}\Z")


@dataclass(frozen=True, slots=True)
class RunListItem:
    """`recipe[cb::name@1.0.0]` or `role[name]`; `name` is as written (`cb` stays `cb`)."""

    type: str
    name: str
    version: str | None = None

    @property
    def cookbook(self) -> str:
        return self.name.partition("::")[0]

    @property
    def recipe(self) -> str:
        """Fully qualified recipe name: `cb` -> `cb::default`."""
        cb, _, recipe = self.name.partition("::")
        return f"{cb}::{recipe or 'default'}"

    def __str__(self) -> str:
        return f"{self.type}[{self.name}{'@' + self.version if self.version else ''}]"


def parse_item(text: str) -> RunListItem:
    """Parse a run-list item; a bare `cb`, `cb::name` or `cb::name@1.2.0` is a recipe (as in
    Chef: run_list_item.rb VERSIONED_UNQUALIFIED_RECIPE, chef-zero normalize_run_list)."""
    if not isinstance(text, str):
        raise UsageError(f"run-list item must be a string, not {type(text).__name__}")
    return _parse_item(text)


@lru_cache(maxsize=16384)
def _parse_item(text: str) -> RunListItem:
    match = _ITEM_RE.match(text)
    if not match:
        raise UsageError(f"bad run-list item {text!r}: expected recipe[cb], recipe[cb::name], "
                         "recipe[cb@1.2.0] or role[name]")
    kind, inner, bare = match.groups()
    if bare:
        if any(part in (".", "..") for part in bare.partition("@")[0].split("::")):
            raise UsageError(f"bad run-list item {text!r}: '.' and '..' are not names")
        kind, inner = "recipe", bare
    if kind == "role":
        if not _ROLE_RE.match(inner) or inner in (".", ".."):
            raise UsageError(f"bad run-list item {text!r}: bad role name {inner!r}")
        return RunListItem("role", inner)
    recipe = _RECIPE_RE.match(inner)
    if not recipe or {".", ".."} & {recipe.group(1), recipe.group(2)}:
        raise UsageError(f"bad run-list item {text!r}: expected recipe[cb], recipe[cb::name] "
                         "or recipe[cb::name@1.2.0]")
    cb, name, version = recipe.groups()
    if version is not None:
        try:
            version = str(Version.parse(version))
        except UsageError as err:
            raise UsageError(f"bad run-list item {text!r}: {err}") from None
    return RunListItem("recipe", f"{cb}::{name}" if name else cb, version)


@dataclass
class Expansion:
    """What a run list expands to, with where each recipe came from (for solver messages)."""

    recipes: list[str] = field(default_factory=list)          # qualified, de-duplicated
    # Chef's RunListExpansion#roles (`@applied_roles.keys`): pre-order, a role before those
    # it includes, as node["roles"] lists them
    roles: list[str] = field(default_factory=list)
    # the order role attributes are applied in (apply_role_attributes runs after a role's
    # own run list is expanded): post-order, included roles first, so the includer wins
    attribute_order: list[str] = field(default_factory=list)
    # (cookbook, "= x.y.z" or None, origin such as "role zookeeper"): the solver's roots
    roots: list[tuple[str, str | None, str]] = field(default_factory=list)

    @property
    def expanded_run_list(self) -> list[str]:
        return [f"recipe[{r}]" for r in self.recipes]


def role_items(role: dict[str, Any], environment: str) -> list[Any]:
    """The run list a role contributes in `environment`: its env_run_lists entry, else
    env_run_lists["_default"] (Chef::Role.from_hash merges it over `run_list`), else run_list."""
    env_lists = role.get("env_run_lists") or {}
    env_lists = env_lists if isinstance(env_lists, dict) else {}
    for key in (environment, "_default"):      # Chef::Role#run_list_for
        if key in env_lists:
            return env_lists[key] or []
    return role.get("run_list") or []


def expand_run_list(run_list: Iterable[str], environment: str,
                    get_role: Callable[[str], dict[str, Any] | None], *,
                    origin: str = "run list") -> Expansion:
    """Expand `run_list` in `environment`; NotFound for a missing role, UsageError for a cycle."""
    out = Expansion()
    seen_recipes: set[str] = set()
    seen_roots: set[tuple[str, str | None]] = set()
    done: set[str] = set()
    # stack of (role name or None for the top level, iterator over items, origin label)
    stack: list[tuple[str | None, Iterator[Any], str]] = [(None, iter(run_list), origin)]
    active: list[str] = []
    while stack:
        role_name, items, label = stack[-1]
        item_text = next(items, None)
        if item_text is None:
            stack.pop()
            if role_name is not None:
                active.pop()
                done.add(role_name)
                out.attribute_order.append(role_name)
            continue
        item = parse_item(item_text)
        if item.type == "recipe":
            if item.recipe not in seen_recipes:
                seen_recipes.add(item.recipe)
                out.recipes.append(item.recipe)
            constraint = f"= {item.version}" if item.version else None
            if (item.cookbook, constraint) not in seen_roots:
                seen_roots.add((item.cookbook, constraint))
                out.roots.append((item.cookbook, constraint, label))
            continue
        name = item.name
        if name in active:
            cycle = active[active.index(name):] + [name]
            raise UsageError(f"role cycle: {' -> '.join(cycle)}")
        if name in done:
            continue
        role = get_role(name)
        if role is None:
            raise NotFound(f"no role {name!r} (in the run list of {label})")
        active.append(name)
        out.roles.append(name)   # applied_role: before its run list is expanded
        stack.append((name, iter(role_items(role, environment)), f"role {name}"))
    return out
