"""Cookbook versions and version constraints, with Chef's semantics.

A version is `x.y.z` (`x.y` reads as `x.y.0`). A constraint is an operator and a version:
`=`, `>=`, `>`, `<`, `<=`, `!=` and `~>` (pessimistic: `~> 1.2` is `>= 1.2.0, < 2.0.0`,
`~> 1.2.3` is `>= 1.2.3, < 1.3.0`); a bare version means `=`. Parsing is memoised because the
depsolver parses the same few strings on every policy compile.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from harness.errors import UsageError

_VERSION_RE = re.compile(r"(\d{1,9})\.(\d{1,9})(?:\.(\d{1,9}))?\Z", re.ASCII)
_CONSTRAINT_RE = re.compile(r"\s*(~>|>=|<=|!=|=|>|<)?\s*(\S+)\s*\Z")
OPERATORS = ("=", ">=", ">", "<", "<=", "~>", "!=")


@dataclass(frozen=True, order=True, slots=True)
class Version:
    """A cookbook version; ordered numerically, part by part."""

    major: int
    minor: int
    patch: int = 0

    @staticmethod
    def parse(text: object) -> Version:
        """`"1.2.3"` or `"1.2"` -> Version; UsageError for anything else."""
        if isinstance(text, Version):
            return text
        if not isinstance(text, str):
            raise UsageError(f"version must be a string like '1.2.3', not {type(text).__name__}")
        return _parse_version(text)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@lru_cache(maxsize=8192)
def _parse_version(text: str) -> Version:
    match = _VERSION_RE.match(text)
    if not match:
        raise UsageError(f"bad version {text!r}: expected x.y.z or x.y (digits only)")
    major, minor, patch = match.groups()
    return Version(int(major), int(minor), int(patch or 0))


@dataclass(frozen=True, slots=True)
class Constraint:
    """An operator and a version; `parts` remembers `~> 1.2` versus `~> 1.2.0`."""

    op: str
    version: Version
    parts: int = 3

    @staticmethod
    def parse(text: object) -> Constraint:
        """`"~> 1.2"`, `">= 1.0.0"`, `"1.2.3"` (means `=`) -> Constraint; UsageError otherwise."""
        if isinstance(text, Constraint):
            return text
        if not isinstance(text, str):
            raise UsageError("constraint must be a string like '>= 1.0', "
                             f"not {type(text).__name__}")
        return _parse_constraint(text)

    @property
    def upper(self) -> Version | None:
        """The exclusive upper bound of a pessimistic constraint."""
        if self.op != "~>":
            return None
        v = self.version
        return Version(v.major + 1, 0, 0) if self.parts == 2 else Version(v.major, v.minor + 1, 0)

    def allows(self, version: Version | str) -> bool:
        """Whether `version` satisfies this constraint."""
        v = version if isinstance(version, Version) else Version.parse(version)
        op, c = self.op, self.version
        if op == "=":
            return v == c
        if op == ">=":
            return v >= c
        if op == ">":
            return v > c
        if op == "<":
            return v < c
        if op == "<=":
            return v <= c
        if op == "!=":
            return v != c
        return c <= v < self.upper  # type: ignore[operator]

    def __str__(self) -> str:
        v = self.version
        shown = f"{v.major}.{v.minor}" if self.parts == 2 else str(v)
        return f"{self.op} {shown}"


ANY = Constraint(">=", Version(0, 0, 0))


@lru_cache(maxsize=8192)
def _parse_constraint(text: str) -> Constraint:
    match = _CONSTRAINT_RE.match(text)
    if not match:
        raise UsageError(f"bad version constraint {text!r}: expected e.g. '~> 1.2' or '>= 1.0.0'")
    op, raw = match.groups()
    try:
        version = _parse_version(raw)
    except UsageError:
        raise UsageError(f"bad version constraint {text!r}: {raw!r} is not a version "
                         "(x.y.z or x.y)") from None
    op = op or "="
    parts = 2 if op == "~>" and raw.count(".") == 1 else 3
    return Constraint(op, version, parts)
