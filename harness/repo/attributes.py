"""Attribute merging: Chef's precedence rules on plain JSON values.

Hashes deep-merge; arrays and scalars from the higher level replace. Results never share
mutable containers with the inputs, so callers (the server's store, the agent) may mutate a
compiled policy without corrupting stored documents.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def copy_value(value: Any) -> Any:
    """A deep copy of a JSON value (much faster than copy.deepcopy for plain data)."""
    if isinstance(value, dict):
        return {k: copy_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_value(v) for v in value]
    return value


def deep_merge(base: Mapping[str, Any] | None, over: Mapping[str, Any] | None) -> dict[str, Any]:
    """`over` merged onto `base` into a new dict; neither input is modified."""
    out: dict[str, Any] = copy_value(dict(base)) if base else {}
    if over:
        _merge_into(out, over)
    return out


def _merge_into(target: dict[str, Any], over: Mapping[str, Any]) -> None:
    for key, value in over.items():
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            _merge_into(current, value)
        else:
            target[key] = copy_value(value)


def merge_precedence(layers: Iterable[Mapping[str, Any] | None]) -> dict[str, Any]:
    """Merge attribute layers, lowest precedence first, into one new dict."""
    out: dict[str, Any] = {}
    for layer in layers:
        if layer:
            _merge_into(out, layer)
    return out
