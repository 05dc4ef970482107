"""Allowlist patterns with Ruby's `File.fnmatch?(pattern, fqdn)` rules (chef-whitelist).

Why not Python's fnmatch: etsy/chef-whitelist (libraries/whitelist.rb) calls
`File.fnmatch?(pattern, self[:fqdn])` with no flags, and Ruby's matcher (dir.c,
fnmatch_helper/bracket) differs: `[^1-3]` negates like `[!1-3]` (Python reads `^` as a
literal), a backslash escapes the next character, `[]` closes at once (an empty class that
matches nothing), an unterminated `[` never matches, and a leading `.` of the name is only
matched by a literal `.` (no FNM_DOTMATCH). No FNM_PATHNAME: `*` crosses `/` and `.`.
No FNM_CASEFOLD: case matters.

The matcher is dir.c's: one remembered `*` position to retry from, so it is O(len(pattern) x
len(name)) at worst, with no regex built from the pattern. The host (harness.rollout.allowlist)
imports this module, so `harness allowlist` and the agent agree by construction.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _unescape(p: str, i: int) -> int:
    """dir.c UNESCAPE: a backslash stands for the character after it."""
    return i + 1 if i < len(p) and p[i] == "\\" else i


def _bracket(p: str, i: int, ch: str) -> tuple[int | None, bool]:
    """Parse the class starting after `[` at p[i:]; (index after `]` or None, ch in class)."""
    negate = i < len(p) and p[i] in "!^"
    if negate:
        i += 1
    ok = False
    while True:
        if i >= len(p):
            return None, False
        if p[i] == "]":
            return i + 1, ok != negate
        t1 = i + 1 if p[i] == "\\" else i
        if t1 >= len(p):
            return None, False
        low, i = p[t1], t1 + 1
        if i >= len(p):
            return None, False
        if p[i] == "-" and i + 1 < len(p) and p[i + 1] != "]":
            t2 = i + 2 if p[i + 1] == "\\" else i + 1
            if t2 >= len(p):
                return None, False
            high, i = p[t2], t2 + 1
            if ch in (low, high) or low <= ch <= high:   # dir.c compares both ends first
                ok = True
        elif low == ch:
            ok = True


def bracket_closed(pattern: str) -> bool:
    """False when some `[` in the pattern has no closing `]` (Ruby: such a pattern never matches
    at that point; `harness allowlist add` calls it a typo)."""
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "[":
            end, _ = _bracket(pattern, i + 1, "\0")
            if end is None:
                return False
            i = end
            continue
        i += 1
    return True


def fnmatch(pattern: str, name: str) -> bool:
    """Ruby's `File.fnmatch?(pattern, name)` with flags 0 (see the module docstring)."""
    p, s = 0, 0
    star_p: int | None = None
    star_s = 0
    if name.startswith(".") and pattern[_unescape(pattern, 0):][:1] != ".":
        return False                                   # leading period (no FNM_DOTMATCH)
    while True:
        if p < len(pattern) and pattern[p] == "*":
            while p < len(pattern) and pattern[p] == "*":
                p += 1
            if _unescape(pattern, p) >= len(pattern):
                return True
            if s >= len(name):
                return False
            star_p, star_s = p, s
            continue
        matched = False
        if p < len(pattern) and pattern[p] == "?":
            if s >= len(name):
                return False
            p, s, matched = p + 1, s + 1, True
        elif p < len(pattern) and pattern[p] == "[":
            if s >= len(name):
                return False
            end, hit = _bracket(pattern, p + 1, name[s])
            if end is not None and hit:
                p, s, matched = end, s + 1, True
        else:
            p = _unescape(pattern, p)
            if s >= len(name):
                return p >= len(pattern)
            if p < len(pattern) and pattern[p] == name[s]:
                p, s, matched = p + 1, s + 1, True
        if matched:
            continue
        if star_p is None:                             # failed: retry after the last `*`
            return False
        star_s += 1
        p, s = star_p, star_s


def as_list(value: Any) -> list[Any]:
    """A bare string in an allowlist item counts as a one-element list; None as none."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def in_allowlist(item: dict[str, Any], fqdn: str, roles: Iterable[str] = (), *,
                 key: str = "patterns") -> bool:
    """True when fqdn matches one of item[key] (Ruby fnmatch) or the node has one of
    item["roles"] (exact names), as chef-whitelist's `is_in_whitelist?`."""
    if any(fnmatch(str(p), fqdn) for p in as_list(item.get(key))):
        return True
    node_roles = set(roles)
    return any(role in node_roles for role in as_list(item.get("roles")))
