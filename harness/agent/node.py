"""The `node` object recipes and templates see: merged attributes, identity, allowlists."""
from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from .allowlist import as_list, in_allowlist
from .attributes import (
    DEFAULTS,
    OVERRIDES,
    AttributeMissing,
    Attributes,
    Attrs,
    ImmutableAttributeModification,
    VividMash,
)
from .errors import RecipeError

__all__ = ["AttributeMissing", "Attrs", "ImmutableAttributeModification", "Node", "SearchNode",
           "deep_merge", "merged_attributes"]


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Chef's merge between precedence levels (hash_only_merge! in lib/chef/node/attribute.rb):
    hashes merge recursively, arrays and scalars from `over` replace. The agent only merges
    levels; the server merges inside a level (harness.repo.attributes, arrays unioned), and
    tests/unit/test_chef_attribute_merge.py runs both copies on the same cases."""
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
    """What recipes call `node`; `data_bag_item` lets allowlists read their data bag.

    `levels` are the attribute components ({"default": ..., "role_default": ..., "normal":
    ..., "automatic": ...}, see attributes.LEVELS); without them, `attributes` is the
    `default` component and `roles`/`recipes` its automatic ones (a node built by hand in a
    test). Like Chef 19's Node, it has no `roles`/`recipes` methods (node.rb forwards an
    unknown method to the attributes, which have none: NoMethodError); recipes read
    node["roles"] and node["recipes"].
    """

    def __init__(self, name: str, environment: str, attributes: dict[str, Any], *,
                 roles: list[str] | None = None, recipes: list[str] | None = None,
                 data_bag_item: Callable[[str, str], dict[str, Any]] | None = None,
                 levels: Mapping[str, Mapping[str, Any] | None] | None = None) -> None:
        self.name = name
        self.chef_environment = environment
        if levels is None:
            automatic = {k: list(v) for k, v in (("roles", roles), ("recipes", recipes))
                         if v is not None}
            levels = {"default": attributes, "automatic": automatic}
        self.attrs = Attributes(levels)
        self.run_state: dict[str, Any] = {}
        self._data_bag_item = data_bag_item
        self._allowlists: dict[tuple[str, str, str], bool] = {}
        self.warnings: list[str] = []

    @property
    def attributes(self) -> Attrs:
        """The merged, read-only view (what `node["a"]` reads)."""
        return self.attrs.merged

    # Chef's precedence-level writers: node.default["a"]["b"] = 1 (auto-vivifying)
    @property
    def default(self) -> VividMash:
        return self.attrs.component("default")

    @property
    def force_default(self) -> VividMash:
        return self.attrs.component("force_default")

    @property
    def normal(self) -> VividMash:
        return self.attrs.component("normal")

    @property
    def override(self) -> VividMash:
        return self.attrs.component("override")

    @property
    def force_override(self) -> VividMash:
        return self.attrs.component("force_override")

    def loaded_recipe(self, cookbook: str, recipe: str) -> None:
        """Chef's Node#loaded_recipe (node.rb), called by run_context.rb load_recipe for
        every recipe it loads (include_recipe too): "cookbook::recipe" is appended to
        automatic `recipes` unless there, so the rest of the run and searches see it."""
        qualified = f"{cookbook}::{recipe}"
        automatic = self.attrs.levels["automatic"]
        current = automatic.get("recipes")
        listed = current if isinstance(current, list) else \
            ([] if current is None else [current])      # Array(automatic_attrs[:recipes])
        if qualified not in listed:
            automatic["recipes"] = [*listed, qualified]
            self.attrs.touched()

    def saved_automatic(self) -> dict[str, Any]:
        """The automatic component as chef-client saves it (a copy)."""
        return copy.deepcopy(self.attrs.levels["automatic"])

    def saved_levels(self) -> dict[str, dict[str, Any]]:
        """What chef-client saves: combined default, normal, combined override (Chef's
        Node#for_json); automatic is the caller's (it adds roles and recipes)."""
        return {"default": self.attrs.combined(DEFAULTS),
                "normal": self.attrs.combined(("normal",)),
                "override": self.attrs.combined(OVERRIDES)}

    def __getitem__(self, key: str) -> Any:
        return self.attributes[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.attributes[key] = value  # raises ImmutableAttributeModification, as Chef does

    def __contains__(self, key: str) -> bool:
        return key in self.attributes

    def get(self, key: str, default: Any = None) -> Any:
        return self.attributes.get(key, default)

    def __repr__(self) -> str:
        return f"node[{self.name}]"

    def in_allowlist(self, name: str, bag: str = "allowlist", key: str = "patterns") -> bool:
        """True when the fqdn matches one of the item's patterns (Ruby's File.fnmatch?, as
        chef-whitelist: harness/agent/allowlist.py) or the node has one of its "roles".
        A missing item fails the run, as in chef-whitelist, whose is_in_whitelist? calls
        data_bag_item and so raises the server's 404 (etsy/chef-whitelist
        libraries/whitelist.rb)."""
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
            raise RecipeError(f"allowlist {bag}/{name} does not exist (data bag item not "
                              "found: chef-whitelist fails the run the same way)") from None
        fqdn = self.attributes.get("fqdn")
        roles = self.attributes.get("roles") or []       # Chef's role?: node[:roles]
        if fqdn is None and as_list(item.get(key)):
            raise RecipeError(f"allowlist {bag}/{name}: TypeError: no implicit conversion of "
                              "nil into String (chef-whitelist's File.fnmatch?(pattern, "
                              "node[:fqdn]); fqdn is nil when the hostname does not resolve)")
        return in_allowlist(item, str(fqdn), roles, key=key)
