"""The `node` object recipes and templates see: merged attributes, identity, allowlists."""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .allowlist import in_allowlist
from .errors import AgentError


class AttributeMissing(KeyError, AgentError):
    """A missing attribute; the message names the full path, e.g. node["zk"]["port"]."""

    def __str__(self) -> str:
        return str(self.args[0])


def _path_text(path: tuple[str, ...]) -> str:
    return "node" + "".join(f"[{key!r}]" for key in path)


class Attrs(dict[str, Any]):
    """Read-mostly view of an attribute hash that remembers where it sits in the tree."""

    def __init__(self, data: dict[str, Any], path: tuple[str, ...] = ()) -> None:
        super().__init__(data)
        self.path = path

    def __getitem__(self, key: str) -> Any:
        try:
            value = dict.__getitem__(self, key)
        except KeyError:
            raise AttributeMissing(f"attribute {_path_text(self.path + (key,))} is not set "
                                   f"(present: {', '.join(sorted(map(str, self))) or 'none'})"
                                   ) from None
        return Attrs(value, self.path + (key,)) if isinstance(value, dict) else value

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Chef's merge: hashes merge recursively, arrays and scalars from `over` replace."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merged_attributes(doc: dict[str, Any]) -> dict[str, Any]:
    """default < normal < override < automatic, as search and peers see a node."""
    merged: dict[str, Any] = {}
    for level in ("default", "normal", "override", "automatic"):
        merged = deep_merge(merged, dict.get(doc, level) or {})
    return merged


class SearchNode(dict[str, Any]):
    """A node row from search: the stored document, whose missing keys fall back to its
    merged attributes, so both n["name"] and n["ipaddress"] work as in Chef."""

    def __missing__(self, key: str) -> Any:
        merged = merged_attributes(self)
        if key in merged:
            return merged[key]
        raise AttributeMissing(f"node {dict.get(self, 'name')!r} has no attribute {key!r}")

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


class Node:
    """What recipes call `node`; `data_bag_item` lets allowlists read their data bag."""

    def __init__(self, name: str, environment: str, attributes: dict[str, Any], *,
                 roles: list[str], recipes: list[str],
                 data_bag_item: Callable[[str, str], dict[str, Any]] | None = None) -> None:
        self.name = name
        self.chef_environment = environment
        self.attributes = Attrs(attributes)
        self.roles = list(roles)
        self.recipes = list(recipes)
        self.run_state: dict[str, Any] = {}
        self._data_bag_item = data_bag_item
        self._allowlists: dict[tuple[str, str, str], bool] = {}
        self.warnings: list[str] = []

    def __getitem__(self, key: str) -> Any:
        return self.attributes[key]

    def __contains__(self, key: str) -> bool:
        return key in self.attributes

    def get(self, key: str, default: Any = None) -> Any:
        return self.attributes.get(key, default)

    def __repr__(self) -> str:
        return f"node[{self.name}]"

    def in_allowlist(self, name: str, bag: str = "allowlist", key: str = "patterns") -> bool:
        """True when the fqdn matches one of the item's patterns (Ruby's File.fnmatch?, as
        chef-whitelist: harness/agent/allowlist.py) or the node has one of its "roles".
        A missing item means nobody is in it (chef-whitelist fails the run: a warning here)."""
        cache_key = (bag, name, key)
        if cache_key not in self._allowlists:
            self._allowlists[cache_key] = self._check_allowlist(bag, name, key)
        return self._allowlists[cache_key]

    def _check_allowlist(self, bag: str, name: str, key: str) -> bool:
        if self._data_bag_item is None:
            raise LookupError("allowlists need a data bag reader")
        try:
            item = self._data_bag_item(bag, name)
        except LookupError:
            self.warnings.append(f"allowlist {bag}/{name} does not exist: nobody is in it")
            return False
        fqdn = str(self.attributes.get("fqdn") or self.name)
        return in_allowlist(item, fqdn, self.roles, key=key)
