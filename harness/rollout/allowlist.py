"""Allowlists: data bag items of host name patterns that gate a new code path.

Why: Etsy's chef-whitelist lets a long ramp-up (a new PHP on every web node) proceed host by host
without blocking the cookbook: the recipe branches on `node.in_allowlist("new_php")`. An item is
`{"id": NAME, "patterns": ["web0[1-3].*"], "roles": ["canary"]}`; patterns follow Ruby's
`File.fnmatch?` (what chef-whitelist calls), matched case-sensitively against the node's fqdn.
The matcher lives in the agent (harness/agent/allowlist.py, it ships alone) and is imported
here, so the host and the nodes cannot disagree; the rules are in docs/rollouts.md.
"""
from __future__ import annotations

import json
from pathlib import Path

from yaml.nodes import Node, SequenceNode

from harness.agent.allowlist import in_allowlist
from harness.errors import HarnessError, NotFound, UsageError
from harness.repo.allowlists import pattern_issue
from harness.repo.validate import bag_issue, name_issue
from harness.rollout.docfile import Doc, find_file, load_doc, write_atomic
from harness.rollout.splice import append_item, entry, insert_entry, remove_item

DEFAULT_BAG = "allowlist"
__all__ = ["DEFAULT_BAG", "add_pattern", "check_pattern", "in_allowlist", "remove_pattern"]


def check_name(kind: str, name: str) -> None:
    """Bag and item names follow the server's name rule (no separators, no `..`); a bag is
    not a built-in search index (node, role, ...), which the server refuses as a bag."""
    if kind == "data bag" and bag_issue(name) is not None:
        raise UsageError(str(bag_issue(name)))
    if name_issue(name, kind) is not None:
        raise UsageError(f"bad {kind} name {name!r} (letters, digits, _ . : - only)")


def check_pattern(pattern: str) -> None:
    """A pattern is one non-empty word; an unclosed `[` is a typo, not a literal bracket."""
    problem = pattern_issue(pattern)
    if problem:
        raise UsageError(problem)


def item_file(repo_dir: Path, bag: str, name: str) -> Path:
    """The item's existing file (.json/.yaml/.yml), else where a new one goes (.json)."""
    directory = repo_dir / "data_bags" / bag
    return find_file(directory, name) or directory / f"{name}.json"


def _load_item(path: Path, name: str) -> Doc:
    doc = load_doc(path)
    if doc.data.get("id", name) != name:
        raise UsageError(f"item id {doc.data.get('id')!r} does not match the file name",
                         path=str(path))
    for key in ("patterns", "roles"):
        value = doc.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"malformed allowlist item: {key!r} must be a list of strings",
                             path=str(path))
    return doc


def _sequence(node: Node, path: Path) -> SequenceNode:
    """The patterns' node; _load_item checked the value is a list, so it is a sequence."""
    if not isinstance(node, SequenceNode):
        raise HarnessError("cannot locate 'patterns' in this file; edit it by hand", path=str(path))
    return node


def add_pattern(repo_dir: Path, name: str, pattern: str, *, bag: str = DEFAULT_BAG) -> str:
    """Add pattern to the item (creating item and bag when missing); returns a summary line."""
    check_name("data bag", bag)
    check_name("allowlist", name)
    check_pattern(pattern)
    path = item_file(repo_dir, bag, name)
    if not path.exists():
        if not (repo_dir / "data_bags").is_dir() and not (repo_dir / "roles").is_dir():
            raise NotFound(f"{repo_dir} does not look like a config repo (no data_bags/ or roles/)")
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"id": name, "patterns": [pattern]}, indent=2) + "\n"
        write_atomic(path, text.encode("utf-8"))
        return f"created {path} with pattern {pattern}"
    doc = _load_item(path, name)
    if pattern in doc.data.get("patterns", []):
        return f"{path}: {pattern} is already in {name}"
    expected = doc.expected()
    found = entry(doc.root, "patterns")
    if found is None:
        expected["patterns"] = [pattern]
        new_text = insert_entry(doc, doc.root, "patterns", [pattern])
    else:
        expected["patterns"].append(pattern)
        new_text = append_item(doc, _sequence(found[1], path), pattern)
    doc.commit(new_text, expected)
    return f"{path}: added {pattern}"


def remove_pattern(repo_dir: Path, name: str, pattern: str, *, bag: str = DEFAULT_BAG) -> str:
    """Remove pattern from the item; an absent item or pattern is a usage error."""
    check_name("data bag", bag)
    check_name("allowlist", name)
    check_pattern(pattern)
    path = find_file(repo_dir / "data_bags" / bag, name)
    if path is None:
        raise NotFound(f"no allowlist {name!r} in {repo_dir / 'data_bags' / bag}")
    doc = _load_item(path, name)
    patterns = doc.data.get("patterns", [])
    if pattern not in patterns:
        raise NotFound(f"pattern {pattern!r} is not in allowlist {name} "
                       f"(patterns: {', '.join(patterns) or 'none'})", path=str(path))
    index = patterns.index(pattern)
    expected = doc.expected()
    del expected["patterns"][index]
    found = entry(doc.root, "patterns")
    if found is None:  # data has the key, so its node exists
        raise HarnessError("cannot locate 'patterns' in this file; edit it by hand", path=str(path))
    doc.commit(remove_item(doc, found[0], _sequence(found[1], path), index), expected)
    return f"{path}: removed {pattern}"
