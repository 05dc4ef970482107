"""Attribute merging: Chef's precedence rules on plain JSON values.

Chef (lib/chef/node/attribute.rb) merges in two ways. Between precedence levels (default <
normal < override < automatic) `hash_only_merge!`: hashes merge, anything else from the higher
level replaces. Inside the default level (cookbook, environment, role) and inside the override
level (cookbook, role, environment) `deep_merge!`: hashes merge and two arrays are unioned
(Ruby's `a | b`: first occurrence order, duplicates dropped). Roles among themselves are combined
the same way (Chef::Mixin::DeepMerge in run_list_expansion.rb). Cookbook attribute files assign
keys, so between cookbooks a later array replaces an earlier one.

Results never share mutable containers with the inputs, so callers (the server's store, the
agent) may mutate a compiled policy without corrupting stored documents.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any


def copy_value(value: Any) -> Any:
    """A deep copy of a JSON value (much faster than copy.deepcopy for plain data)."""
    if isinstance(value, dict):
        return {k: copy_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_value(v) for v in value]
    return value


def deep_merge(base: Mapping[str, Any] | None, over: Mapping[str, Any] | None) -> dict[str, Any]:
    """`over` merged onto `base` (Chef's hash_only_merge!) into a new dict; inputs untouched."""
    out: dict[str, Any] = copy_value(dict(base)) if base else {}
    if over:
        _merge_into(out, over, union=False)
    return out


def union_merge(base: Mapping[str, Any] | None, over: Mapping[str, Any] | None) -> dict[str, Any]:
    """Chef's deep_merge! inside one level: like deep_merge, but two arrays are unioned."""
    out: dict[str, Any] = copy_value(dict(base)) if base else {}
    if over:
        _merge_into(out, over, union=True)
    return out


def _merge_into(target: dict[str, Any], over: Mapping[str, Any], *, union: bool) -> None:
    for key, value in over.items():
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            _merge_into(current, value, union=union)
        elif union and isinstance(value, list) and isinstance(current, list):
            target[key] = array_union(current, value)
        else:
            target[key] = copy_value(value)


def _ruby_key(value: Any) -> Hashable:
    """A key equal exactly when Ruby's `eql?` holds: 1 and 1.0 and true stay distinct."""
    if isinstance(value, dict):
        return ("hash", frozenset((k, _ruby_key(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("array", tuple(_ruby_key(v) for v in value))
    return (type(value).__name__, value)


def array_union(first: list[Any], second: list[Any]) -> list[Any]:
    """Ruby's `first | second`: every distinct element once, in first-occurrence order."""
    seen: set[Hashable] = set()
    out: list[Any] = []
    for item in [*first, *second]:
        key = _ruby_key(item)
        if key not in seen:
            seen.add(key)
            out.append(copy_value(item))
    return out


def merge_precedence(layers: Iterable[Mapping[str, Any] | None]) -> dict[str, Any]:
    """Merge precedence levels, lowest first, with hash_only_merge! (arrays replace)."""
    out: dict[str, Any] = {}
    for layer in layers:
        if layer:
            _merge_into(out, layer, union=False)
    return out


def merge_components(components: Iterable[Mapping[str, Any] | None]) -> dict[str, Any]:
    """The components of one level, lowest first, with deep_merge! (arrays union)."""
    out: dict[str, Any] = {}
    for component in components:
        if component:
            _merge_into(out, component, union=True)
    return out


def node_attributes(*, cookbook_default: Iterable[Mapping[str, Any] | None] = (),
                    env_default: Mapping[str, Any] | None = None,
                    role_default: Iterable[Mapping[str, Any] | None] = (),
                    normal: Mapping[str, Any] | None = None,
                    cookbook_override: Iterable[Mapping[str, Any] | None] = (),
                    role_override: Iterable[Mapping[str, Any] | None] = (),
                    env_override: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """{"default", "override", "merged"} as Chef computes them (no automatic, no force_*).

    Cookbooks in dependency order, roles in the order applied (post-order).
    """
    default = merge_components([merge_precedence(cookbook_default), env_default,
                                merge_components(role_default)])
    override = merge_components([merge_precedence(cookbook_override),
                                 merge_components(role_override), env_override])
    return {"default": default, "override": override,
            "merged": merge_precedence([default, normal, override])}
