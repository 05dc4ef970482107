"""Search fields of stored documents: what a query like `role:web` or `recipe:nginx` matches.

Chef-style flattening (`{"a": {"b": 1}}` -> a_b and b), and the node's merged-attribute
view. Kept apart from search.py so the bulk planner computes fields before taking the lock.
"""
from __future__ import annotations

from typing import Any

from harness.repo.documents import check_name, normalise_item
from harness.repo.runlist import parse_item

Doc = dict[str, Any]
Fields = dict[str, set[str]]


def scalar(value: object) -> str:
    """Values compare as strings, spelled the way Chef (Ruby `to_s`) spells them."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


def flatten(doc: Doc) -> dict[str, set[str]]:
    """Chef-style fields: `{"a": {"b": 1}}` -> a_b: 1 and b: 1; arrays index every element."""
    return flatten_layers([doc])


def flatten_layers(layers: list[Doc]) -> dict[str, set[str]]:
    """flatten(merge_precedence(layers)), lowest precedence first, without building the merged
    document: indexing 10,000 nodes should not deep-copy their attributes."""
    out: dict[str, set[str]] = {}
    _walk(out, "", [layer for layer in layers if layer])
    return out


def _walk(out: dict[str, set[str]], prefix: str, layers: list[Doc]) -> None:
    if len(layers) == 1:  # the common case, kept free of the merge bookkeeping below
        for k, v in layers[0].items():
            path = f"{prefix}_{k}" if prefix else k
            if isinstance(v, dict):
                _walk(out, path, [v])
            else:
                _leaf(out, path, k, v)
        return
    merged: dict[str, list[Any]] = {}  # Chef's deep merge: the trailing run of hashes merges
    for layer in layers:
        for k, v in layer.items():
            run = merged.get(k)
            if run is not None and isinstance(v, dict) and isinstance(run[-1], dict):
                run.append(v)
            else:
                merged[k] = [v]
    for k, run in merged.items():
        path = f"{prefix}_{k}" if prefix else k
        if isinstance(run[-1], dict):
            _walk(out, path, run)
        else:
            _leaf(out, path, k, run[-1])


def _leaf(out: dict[str, set[str]], path: str, key: str, value: object) -> None:
    if isinstance(value, list):
        for v in value:
            if isinstance(v, dict):
                _walk(out, path, [v])
            else:
                _leaf(out, path, key, v)
        return
    s = scalar(value)
    column = out.get(path)
    if column is None:
        out[path] = {s}
    else:
        column.add(s)
    if key != path:
        column = out.get(key)
        if column is None:
            out[key] = {s}
        else:
            column.add(s)


def search_fields(kind: str, doc: Doc) -> Fields:
    """The document flattened; nodes get Chef's index view (Chef::Node#to_hash): merged
    attributes, and `role` / `recipe` from the node's own run list (the entries as written,
    recipe versions dropped), while `roles` / `recipes` are the expanded lists a converge
    saves in automatic attributes. `recipes` also carries each recipe's other spelling
    (`cb` <-> `cb::default`), as Chef's VersionedRecipeList#with_duplicate_names saves it."""
    if kind != "node":
        return flatten(doc)
    fields = flatten_layers([doc[level] for level in ("default", "normal", "override",
                                                      "automatic")])
    fields["name"] = {doc["name"]}
    fields["chef_environment"] = {doc["chef_environment"]}
    fields["run_list"] = set(doc["run_list"])
    fields["role"], fields["recipe"] = set(), set()
    for entry in doc["run_list"]:
        item = parse_item(entry)
        fields[item.type].add(item.name)
    recipes = doc["automatic"].get("recipes")
    if isinstance(recipes, list):
        fields.setdefault("recipes", set()).update(
            name for recipe in recipes for name in with_duplicate_names(str(recipe)))
    return fields


def with_duplicate_names(recipe: str) -> tuple[str, ...]:
    """Chef's VersionedRecipeList#with_duplicate_names for one recipe: `cb::default` and `cb` both."""
    if recipe.endswith("::default"):
        return recipe.removesuffix("::default"), recipe
    if "::" in recipe:
        return (recipe,)
    return recipe, f"{recipe}::default"


def checked_item(bag: str, item: object, doc: object) -> tuple[Doc, Fields]:
    """A data bag item normalised, and its search fields (data_bag, chef_type added)."""
    normal = normalise_item(bag, check_name(item, "data bag item"), doc)
    fields = flatten(normal)
    fields["data_bag"], fields["chef_type"] = {bag}, {"data_bag_item"}
    return normal, fields
