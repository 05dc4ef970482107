"""Search fields of stored documents: what a query like `role:web` or `recipe:nginx` matches.

Kept apart so the bulk planner can compute them before taking the store's lock.
"""
from __future__ import annotations

from typing import Any

from harness.repo.documents import check_name, normalise_item
from harness.server.search import flatten, flatten_layers

Doc = dict[str, Any]
Fields = dict[str, set[str]]


def search_fields(kind: str, doc: Doc) -> Fields:
    """The document flattened; nodes get Chef's merged-attribute view."""
    if kind != "node":
        return flatten(doc)
    fields = flatten_layers([doc[level] for level in ("default", "normal", "override",
                                                      "automatic")])
    fields["name"] = {doc["name"]}
    fields["chef_environment"] = {doc["chef_environment"]}
    fields["run_list"] = set(doc["run_list"])
    automatic = doc["automatic"]
    roles, recipes = automatic.get("roles", []), automatic.get("recipes", [])
    fields["role"] = {str(r) for r in roles} if isinstance(roles, list) else set()
    fields["recipe"] = set()
    for entry in recipes if isinstance(recipes, list) else ():
        recipe = str(entry)
        cb, _, short = recipe.partition("::")
        fields["recipe"].update({recipe, cb} if short in ("", "default") else {recipe})
        if not short:
            fields["recipe"].add(f"{cb}::default")
    return fields


def checked_item(bag: str, item: object, doc: object) -> tuple[Doc, Fields]:
    """A data bag item normalised, and its search fields (data_bag, chef_type added)."""
    normal = normalise_item(bag, check_name(item, "data bag item"), doc)
    fields = flatten(normal)
    fields["data_bag"], fields["chef_type"] = {bag}, {"data_bag_item"}
    return normal, fields
