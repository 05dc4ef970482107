"""What an allowlist item must look like, checked by `harness validate` and `allowlist add`.

Why here: a malformed item (`"patterns": 5`, a pattern `app-[12`) used to pass validate and
restore and fail only at converge, on the node (the agent's in_allowlist). The rules are
docs/rollouts.md's; harness.rollout.allowlist applies the same pattern rule when it edits.
"""
from __future__ import annotations

from typing import Any

DEFAULT_BAG = "allowlist"
LIST_KEYS = ("patterns", "roles")


def bracket_closed(pattern: str) -> bool:
    """False when some `[` has no closing `]`, by Ruby's File.fnmatch? rules (a backslash
    escapes, `[]` closes at once, a range's ends may be escaped). The agent's matcher
    (harness/agent/allowlist.py, which the repo model may not import) has the same rule;
    tests/unit/test_agent_allowlist.py checks that both agree."""
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
        elif pattern[i] == "[":
            end = _class_end(pattern, i + 1)
            if end is None:
                return False
            i = end
        else:
            i += 1
    return True


def _class_end(p: str, i: int) -> int | None:
    """Index after the `]` closing the class that starts at p[i:], or None."""
    if i < len(p) and p[i] in "!^":
        i += 1
    while True:
        if i >= len(p):
            return None
        if p[i] == "]":
            return i + 1
        i = (i + 1 if p[i] == "\\" else i) + 1
        if i > len(p) - 1:
            return None
        if p[i] == "-" and i + 1 < len(p) and p[i + 1] != "]":
            i = (i + 2 if p[i + 1] == "\\" else i + 1) + 1
            if i > len(p):
                return None


def pattern_issue(pattern: str) -> str | None:
    """A pattern is one non-empty word; an unclosed `[` is a typo, not a literal bracket."""
    if not pattern:
        return "empty allowlist pattern"
    if any(ch.isspace() for ch in pattern):
        return f"allowlist pattern {pattern!r} contains whitespace"
    if not bracket_closed(pattern):
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
