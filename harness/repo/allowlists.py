"""What an allowlist item must look like, checked by `harness validate` and `allowlist add`.

Why here: a malformed item (`"patterns": 5`, a pattern `app-[12`) used to pass validate and
restore and fail only at converge, on the node (the agent's in_allowlist). The rules are
docs/rollouts.md's; harness.rollout.allowlist applies the same pattern rule when it edits.
"""
from __future__ import annotations

import re
from typing import Any

DEFAULT_BAG = "allowlist"
LIST_KEYS = ("patterns", "roles")
_UNCLOSED = re.compile(r"\[(?![^\]]*\])")


def pattern_issue(pattern: str) -> str | None:
    """A pattern is one non-empty word; an unclosed `[` is a typo, not a literal bracket."""
    if not pattern:
        return "empty allowlist pattern"
    if any(ch.isspace() for ch in pattern):
        return f"allowlist pattern {pattern!r} contains whitespace"
    if _UNCLOSED.search(pattern.replace("[]", "[x")):
        return f"allowlist pattern {pattern!r} has an unclosed '['"
    return None


def item_issues(doc: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """(keypath, message) for each rule an allowlist item breaks: `patterns` and `roles` are
    lists of strings (a bare string counts as one), each pattern a valid pattern."""
    issues: list[tuple[tuple[Any, ...], str]] = []
    for key in LIST_KEYS:
        value = doc.get(key)
        if value is None:
            continue
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            issues.append(((key,), f"allowlist {key!r} must be a list of strings"))
            continue
        if key == "patterns":
            for index, pattern in enumerate(values):
                problem = pattern_issue(pattern)
                if problem:
                    where = (key, index) if isinstance(value, list) else (key,)
                    issues.append((where, problem))
    return issues
