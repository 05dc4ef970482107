"""Cookbook versions and version constraints, with Chef's semantics.

A version is `x.y.z` (`x.y` reads as `x.y.0`). A constraint is an operator, one space and a
version: `=`, `>=`, `>`, `<`, `<=` and `~>` (pessimistic: `~> 1.2` is `>= 1.2.0, < 2.0.0`,
`~> 1.2.3` is `>= 1.2.3, < 1.3.0`); a bare version means `=`. That is what both knife
(Chef::VersionConstraint) and Chef Server (chef_object_base:parse_constraint) accept in an
environment; `!=`, other spacing or `x` alone fail one of them. A cookbook's `depends` is
metadata.rb's wider grammar (`parse_depends`). Parsing is memoised because the depsolver
parses the same few strings on every policy compile.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from harness.errors import UsageError

_VERSION_RE = re.compile(r"(\d{1,9})\.(\d{1,9})(?:\.(\d{1,9}))?\Z", re.ASCII)
OPERATORS = ("=", ">=", ">", "<", "<=", "~>")   # Chef::VersionConstraint::OPS: no `!=`
_OP = "~>|>=|<=|=|>|<"
# knife and Chef Server both: `OP VERSION` with exactly one space, or a bare version
_CONSTRAINT_RE = re.compile(rf"(?:({_OP}) )?(\S+)\Z", re.ASCII)
# metadata.rb `depends` (Chef::VersionConstraint::Platform): `^(OP) *([0-9].*)$`, x allowed
_DEPENDS_RE = re.compile(rf"(?:({_OP}) *)?([0-9]\S*)\Z", re.ASCII)
_DEPENDS_VERSION_RE = re.compile(r"(\d{1,9})(?:\.(\d{1,9}))?(?:\.(\d{1,9}))?\Z", re.ASCII)


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
        return text if isinstance(text, Constraint) else _parse_constraint(_text(text))

    @staticmethod
    def parse_depends(text: object) -> Constraint:
        """A `depends` constraint as metadata.rb takes it: any spaces after the operator and
        `x` for `x.0.0` (Chef::VersionConstraint::Platform); str() is then the strict form."""
        return text if isinstance(text, Constraint) else _parse_depends(_text(text))

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
        return c <= v < self.upper  # type: ignore[operator]

    def __str__(self) -> str:
        v = self.version
        shown = f"{v.major}.{v.minor}" if self.parts == 2 else str(v)
        return f"{self.op} {shown}"


ANY = Constraint(">=", Version(0, 0, 0))


def _text(text: object) -> str:
    if not isinstance(text, str):
        raise UsageError(f"constraint must be a string like '>= 1.0', not {type(text).__name__}")
    return text


@lru_cache(maxsize=8192)
def _parse_constraint(text: str) -> Constraint:
    match = _CONSTRAINT_RE.match(text)
    if not match or not _VERSION_RE.match(match.group(2)):
        raise UsageError(f"bad version constraint {text!r}: {_constraint_hint(text)}")
    op, raw = match.groups()
    op = op or "="
    parts = 2 if op == "~>" and raw.count(".") == 1 else 3
    return Constraint(op, _parse_version(raw), parts)


@lru_cache(maxsize=8192)
def _parse_depends(text: str) -> Constraint:
    found = _depends_parts(text)
    if found is None:
        raise UsageError(f"bad version constraint {text!r}: {_constraint_hint(text)}")
    op, major, minor, patch = found
    parts = 2 if op == "~>" and patch is None else 3    # `~> 1` is `~> 1.0`: 1.x, x >= 0
    return Constraint(op, Version(int(major), int(minor or 0), int(patch or 0)), parts)


def _depends_parts(text: str) -> tuple[str, str, str | None, str | None] | None:
    """(op, major, minor, patch) as metadata.rb reads `text`; None when it refuses it."""
    match = _DEPENDS_RE.match(text)
    version = _DEPENDS_VERSION_RE.match(match.group(2)) if match else None
    if not match or not version or (match.group(1) is None and " " in text):
        return None
    major, minor, patch = version.groups()
    return match.group(1) or "=", major, minor, patch


def _constraint_hint(text: str) -> str:
    if "!=" in text:
        return "'!=' is not a Chef operator (use =, >, <, >=, <=, ~>)"
    if text != text.strip():
        return "no spaces before or after it (Chef refuses them)"
    if _depends_parts(text) is not None:
        return ("write the operator, one space and an x.y or x.y.z version, e.g. '>= 1.0' "
                "(Chef Server refuses other spacing, knife refuses a bare 'x')")
    return "expected e.g. '~> 1.2', '>= 1.0.0' or '1.2.3'"
