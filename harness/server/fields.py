"""Search fields of stored documents: what a query like `role:web` or `recipe:nginx` matches.

Chef Server's flattening (`{"a": {"b": 1}}` -> a_b: 1, b: 1 and a: b), the node's
merged-attribute view, and the tokens Chef Server's `content` field holds (content()). Kept
apart from search.py so the bulk planner computes fields before taking the lock.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from harness.repo.documents import check_name, normalise_item
from harness.repo.runlist import parse_item
from harness.repo.validate import qualified

Doc = dict[str, Any]
Fields = dict[str, set[str]]

SEP = "__=__"  # chef_index_expand.erl encode_pair: `key__=__value `
LOOSE = "\x00loose"      # tokens after a value's first one (`world` of "hello world")
KEYWORD = "\x00keyword"  # the keyword fields a bare term also searches: type, data bag name
RUNS = "\x00runs"        # `key__=__value` entries of several tokens, for phrases (not indexed)
RESERVED = frozenset((LOOSE, KEYWORD, RUNS))
TYPE_FIELD = "X_CHEF_type_CHEF_X"  # chef_index_expand.erl meta_fields, also in `content`
MAX_TOKEN = 255  # Lucene CharTokenizer DEFAULT_MAX_WORD_LEN (UTF-16 units)
# Java Character.isWhitespace, which Lucene's WhitespaceTokenizer splits on: no NBSPs
_SPACE = re.compile("[\t\n\x0b\x0c\r\x1c-\x1f \u1680\u2000-\u2006\u2008-\u200a"
                    "\u2028\u2029\u205f\u3000]+")
_SHORT = MAX_TOKEN // 2 - len(SEP)  # code points that surely fit one token with their key


class Content(dict[str, set[str]]):
    """Fields already split into content tokens (content()); Index.put takes them as they are."""


def tokens(text: str) -> list[str]:
    """Lucene's WhitespaceTokenizer, the `whitespace` analyzer Chef Server's index uses
    (opensearch-index-init.json `"default": {"type": "whitespace"}`): runs of non-space
    characters, case kept, a run over 255 UTF-16 units cut into 255-unit tokens."""
    out = []
    for run in _SPACE.split(text):
        while len(run) > MAX_TOKEN // 2 and len(run.encode("utf-16-le")) > 2 * MAX_TOKEN:
            cut, units = 0, 0
            while units < MAX_TOKEN:  # CharTokenizer emits once length >= maxTokenLen
                units += 2 if ord(run[cut]) > 0xFFFF else 1
                cut += 1
            out.append(run[:cut])
            run = run[cut:]
        if run:
            out.append(run)
    return out


def _split(token: str) -> tuple[str, str]:
    """A token as (field, value): `key__=__v` -> (key, v); a plain word is LOOSE."""
    key, sep, value = token.partition(SEP)
    return (key, value) if sep else (LOOSE, token)


def content(fields: Fields, keywords: Iterable[str] = ()) -> Content:
    """fields as Chef Server's `content` field holds them: each `path__=__value` entry is
    whitespace-tokenised (chef_index_expand.erl encode_pair joins the entries with spaces);
    its first token stays `path: first word`, the other words go to LOOSE, and the whole
    entry to RUNS for phrases. Columns without spaces are shared, not copied."""
    out = Content()
    odd: list[tuple[str, str]] = []
    for path, values in fields.items():
        room = _SHORT - len(path)
        plain = room >= 0 and not _SPACE.search(path)
        if plain:
            joined = "\x00".join(values)  # one C-level scan per column: most have no space
            if not _SPACE.search(joined) and (len(joined) <= room
                                              or max(map(len, values)) <= room):
                out[path] = values
                continue
        bad = [v for v in values if not plain or len(v) > room or _SPACE.search(v)]
        out[path] = values - set(bad)
        odd.extend((path, v) for v in bad)
    for path, value in odd:
        entry = f"{path}{SEP}{value}"
        words = tokens(entry)
        if len(words) > 1:
            out.setdefault(RUNS, set()).add(entry)
        for word in words:
            key, rest = _split(word)
            column = out.get(key)
            if column is None:
                out[key] = {rest}
            elif column is fields.get(key):  # shared with the caller: copy before adding
                out[key] = column | {rest}
            else:
                column.add(rest)
    if keywords:
        out[KEYWORD] = set(keywords)
    return out


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
    """Chef Server's expansion (chef_index_expand.erl): `{"a": {"b": 1}}` -> a_b: 1 and b: 1,
    and each nested key is a value of its parent (a: b); arrays index every element."""
    return flatten_layers([doc])


def flatten_layers(layers: list[Doc]) -> dict[str, set[str]]:
    """flatten(merge_precedence(layers)), lowest precedence first, without building the merged
    document: indexing 10,000 nodes should not deep-copy their attributes."""
    out: dict[str, set[str]] = {}
    _walk(out, "", "", [layer for layer in layers if layer])
    return out


def _walk(out: dict[str, set[str]], prefix: str, parent: str, layers: list[Doc]) -> None:
    if len(layers) == 1:  # the common case, kept free of the merge bookkeeping below
        for k, v in layers[0].items():
            if prefix:  # expand_obj: a key is a value of the keys above it
                _add(out, prefix, parent, k)
            path = f"{prefix}_{k}" if prefix else k
            if isinstance(v, dict):
                _walk(out, path, k, [v])
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
        if prefix:
            _add(out, prefix, parent, k)
        path = f"{prefix}_{k}" if prefix else k
        if isinstance(run[-1], dict):
            _walk(out, path, k, run)
        else:
            _leaf(out, path, k, run[-1])


def _leaf(out: dict[str, set[str]], path: str, key: str, value: object) -> None:
    if isinstance(value, list):
        for v in value:
            if isinstance(v, dict):
                _walk(out, path, key, [v])
            else:
                _leaf(out, path, key, v)
        return
    _add(out, path, key, scalar(value))


def _add(out: dict[str, set[str]], path: str, key: str, s: str) -> None:
    """s under the whole key path and under its last key (add_kv_pair)."""
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
    """The document flattened; nodes get Chef Server's index view (chef_node.erl
    ejson_for_indexing): merged attributes whose top-level `name`, `chef_type`,
    `chef_environment`, `recipe`, `role` and `run_list` are replaced by the node's own (nested
    keys of those names still count). `role` / `recipe` come from the node's run list (the
    text inside `recipe[...]` / `role[...]`, a version kept, as chef_node.erl
    extract_recipes), `run_list` is the qualified list (`cb` -> `recipe[cb]`,
    chef_object_base.erl normalize_run_list), while `roles` /
    `recipes` are the expanded lists a converge saves in automatic attributes. `recipes` also
    carries each recipe's other spelling (`cb` <-> `cb::default`), as Chef's
    VersionedRecipeList#with_duplicate_names saves it."""
    return content({**_expanded(kind, doc), TYPE_FIELD: {kind}}, (kind,))


def _expanded(kind: str, doc: Doc) -> Fields:
    if kind == "role":  # chef_role.erl: run lists qualified on write, _default not indexed
        return flatten({**doc, "run_list": [qualified(e) for e in doc["run_list"]],
                        "env_run_lists": {env: [qualified(e) for e in items]
                                          for env, items in doc["env_run_lists"].items()
                                          if env != "_default"}})
    if kind != "node":
        return flatten(doc)
    top: Doc = {"name": doc["name"], "chef_type": "node",
                "chef_environment": doc["chef_environment"],
                "recipe": [], "role": [], "run_list": []}
    for entry in doc["run_list"]:
        item = parse_item(entry)  # chef_node.erl extract_recipes: the text inside recipe[...],
        full = qualified(entry)   # version and all (`cb::r@1.0.0`)
        top[item.type].append(full[len(item.type) + 1:-1])
        top["run_list"].append(full)
    fields = flatten_layers([doc[level] for level in ("default", "normal", "override",
                                                      "automatic")] + [top])
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
    # chef_data_bag_item.erl ejson_for_indexing sets both keys over the item's own; the
    # index document also has the keyword fields X_CHEF_type_CHEF_X and data_bag
    fields = flatten({**normal, "chef_type": "data_bag_item", "data_bag": bag})
    return normal, content({**fields, TYPE_FIELD: {"data_bag_item"}}, ("data_bag_item", bag))
