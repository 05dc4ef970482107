"""The difference between two why-runs of one role in one environment.

What a reviewer asks of an infrastructure change, resource by resource: added, removed,
changed (the actions, a property, the rendered content as a unified diff); the cookbook
versions the environment now solves to; the merged attributes that changed value. Secrets
go through the Redactor first (plansecret.py): sensitive resources show digests only.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from harness.ci.plansecret import Redactor

CONTENT = "content"
CONTEXT_LINES = 3


@dataclass
class Side:
    """One side of a pair: what the why-run declared, or why there is nothing."""

    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> action, properties
    cookbooks: dict[str, str] = field(default_factory=dict)            # name -> version
    attributes: dict[str, Any] = field(default_factory=dict)           # dotted path -> value
    absent: str | None = None      # the role or environment does not exist on this side
    error: str | None = None       # the why-run failed on this side

    @property
    def ok(self) -> bool:
        return self.absent is None and self.error is None


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists and scalars are leaves."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value} if prefix else {}


def diff_sides(base: Side, head: Side, redactor: Redactor) -> dict[str, Any]:
    """{"cookbooks", "resources": {"added", "removed", "changed"}, "attributes"}."""
    cookbooks = [{"name": name, "base": base.cookbooks.get(name), "head": head.cookbooks.get(name)}
                 for name in sorted(set(base.cookbooks) | set(head.cookbooks))
                 if base.cookbooks.get(name) != head.cookbooks.get(name)]
    added = [_whole(key, head.resources[key], redactor) for key in head.resources
             if key not in base.resources]
    removed = [_whole(key, base.resources[key], redactor) for key in base.resources
               if key not in head.resources]
    changed = [_changed(key, base.resources[key], new, redactor)
               for key, new in head.resources.items()
               if key in base.resources and base.resources[key] != new]
    attributes = []
    for path in sorted(set(base.attributes) | set(head.attributes)):
        old, new = base.attributes.get(path), head.attributes.get(path)
        if old != new:
            attributes.append({"path": redactor.text(path), "base": redactor.value(old),
                               "head": redactor.value(new)})
    return {"cookbooks": cookbooks,
            "resources": {"added": added, "removed": removed, "changed": changed},
            "attributes": attributes}


def is_empty(diff: dict[str, Any]) -> bool:
    res = diff["resources"]
    return not (diff["cookbooks"] or diff["attributes"] or res["added"] or res["removed"]
                or res["changed"])


def _sensitive(entry: dict[str, Any]) -> bool:
    return bool(entry["properties"].get("sensitive"))


def _whole(key: str, entry: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    """An added or removed resource: its actions and properties (digests when sensitive)."""
    props = entry["properties"]
    shown: dict[str, Any]
    if _sensitive(entry):
        shown = {name: redactor.digest(value) for name, value in props.items()}
        shown["sensitive"] = True
    else:
        shown = {name: redactor.value(value) for name, value in props.items()}
    return {"resource": key, "action": entry["action"], "sensitive": _sensitive(entry),
            "properties": shown}


def _changed(key: str, old: dict[str, Any], new: dict[str, Any],
             redactor: Redactor) -> dict[str, Any]:
    sensitive = _sensitive(old) or _sensitive(new)
    out: dict[str, Any] = {"resource": key, "sensitive": sensitive}
    if old["action"] != new["action"]:
        out["action"] = {"base": old["action"], "head": new["action"]}
    props = []
    missing = object()
    for name in sorted(set(old["properties"]) | set(new["properties"])):
        before = old["properties"].get(name, missing)
        after = new["properties"].get(name, missing)
        if before == after:
            continue
        before_v = None if before is missing else before
        after_v = None if after is missing else after
        if sensitive:
            props.append({"name": name, "base": redactor.digest(before_v),
                          "head": redactor.digest(after_v)})
        elif name == CONTENT and isinstance(before_v, (str, type(None))) \
                and isinstance(after_v, (str, type(None))):
            props.append({"name": name, "diff": unified(key, before_v, after_v, redactor)})
        else:
            props.append({"name": name, "base": redactor.value(before_v),
                          "head": redactor.value(after_v)})
    out["properties"] = props
    return out


def unified(key: str, before: str | None, after: str | None, redactor: Redactor) -> str:
    """A unified diff of two contents, secrets replaced first."""
    old = redactor.text(before or "").splitlines(keepends=True)
    new = redactor.text(after or "").splitlines(keepends=True)
    lines = difflib.unified_diff(old, new, f"{key} (base)", f"{key} (head)", n=CONTEXT_LINES)
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)
