"""Allowlist patterns follow Ruby's File.fnmatch? with flags 0, as etsy/chef-whitelist calls it
(libraries/whitelist.rb: `File.fnmatch?(pattern, self[:fqdn])`), not Python's fnmatch.

Expected values are the examples of Ruby's File.fnmatch documentation (ruby-doc.org, class
File, `fnmatch`) and what dir.c's fnmatch_helper/bracket do: `^` negates a class like `!`, a
backslash escapes, `[]` is an empty class, an unterminated `[` never matches, a leading period
needs a literal `.`; `*` crosses `/` without FNM_PATHNAME. Host and agent share one matcher.
"""
from __future__ import annotations

import fnmatch as python_fnmatch
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.agent.allowlist import bracket_closed, fnmatch, in_allowlist
from harness.rollout import allowlist as host


@pytest.mark.parametrize("pattern,name,expected", [
    # Ruby's File.fnmatch documentation examples (flags 0)
    ("cat", "cat", True), ("cat", "category", False), ("c{at,ub}s", "cats", False),
    ("c?t", "cat", True), ("c??t", "cat", False), ("c*", "cats", True),
    ("c*t", "c/a/b/t", True), ("ca[a-z]", "cat", True), ("ca[^t]", "cat", False),
    ("cat", "CAT", False), ("\\?", "?", True), ("\\a", "a", True), ("[\\?]", "?", True),
    ("*", ".profile", False), (".*", ".profile", True), ("**.rb", "main.rb", True),
    ("**.rb", "./main.rb", False), ("**.rb", "lib/song.rb", True),
    ("*", "dave/.profile", True),
    # dir.c details
    ("web0[^1-3].*", "web04.example.com", True),    # ^ negates (Python: literal ^)
    ("web0[^1-3].*", "web02.example.com", False),
    ("web0[!1-3].*", "web04.example.com", True),
    ("web[]01", "web01", False), ("web[]01", "web]01", False),   # `[]` empty class
    ("web[!]01", "webx01", True),                    # `[!]` any one character
    ("web0[1-3", "web01", False), ("web0[1-3", "web0[1-3", False),  # unterminated: no match
    ("web[a-]", "web-", True), ("web[z-a]", "weba", True), ("web[z-a]", "webm", False),
    ("web\\*", "web*", True), ("web\\*", "web1", False),
    ("*.example.com", "example.com", False), ("web*", "web01.prod.example.com", True),
    ("?", "", False), ("*", "", True), ("", "", True), ("", "a", False),
])
def test_ruby_fnmatch_rules(pattern, name, expected):
    assert fnmatch(pattern, name) is expected


def test_differs_from_python_where_ruby_does():
    """The reason for a hand-written matcher: Python's fnmatch reads `^` as a literal and lets
    `*` match a leading period; chef-whitelist (Ruby) does neither."""
    assert not python_fnmatch.fnmatchcase("web04", "web0[^1-3]") and fnmatch("web0[^1-3]", "web04")
    assert python_fnmatch.fnmatchcase(".x", "*") and not fnmatch("*", ".x")


def test_matching_is_bounded_not_exponential():
    """dir.c's single-star backtracking: O(len(pattern) * len(name)); a regex-style
    backtracker takes exponential time on this pattern."""
    started = time.monotonic()
    assert not fnmatch("*a" * 30 + "b", "a" * 3000)
    assert time.monotonic() - started < 2.0


def test_bracket_closed():
    assert bracket_closed("web0[1-3].*") and bracket_closed("web[]]") and bracket_closed("a\\[b")
    assert not bracket_closed("web0[1-3") and not bracket_closed("web[") and not bracket_closed("[a-")


def test_host_uses_the_agent_matcher():
    """harness allowlist and flip previews import the agent's function: one implementation."""
    assert host.in_allowlist is in_allowlist
    assert in_allowlist({"patterns": ["web0[^1-3]*"]}, "web05.example.com")
    with pytest.raises(Exception, match="unclosed"):
        host.check_pattern("web0[1-3")


@given(st.text(alphabet="ab[]^!\\-*?.", max_size=12))
def test_repo_validate_and_agent_agree_on_unclosed_brackets(pattern):
    """`harness validate` (harness/repo/allowlists.py) refuses exactly the patterns the
    agent's Ruby File.fnmatch? port can never match through: the repo model may not import
    the agent, so the rule exists twice and must not drift."""
    from harness.repo.allowlists import bracket_closed as repo_bracket_closed

    assert repo_bracket_closed(pattern) == bracket_closed(pattern)
