"""Versions and constraints: Chef's syntax and semantics, plus round-trip properties."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import UsageError
from harness.repo import Constraint, Version


def test_version_parse_and_str() -> None:
    assert Version.parse("1.2.3") == Version(1, 2, 3)
    assert Version.parse("1.2") == Version(1, 2, 0)
    assert str(Version.parse("1.2")) == "1.2.0"
    assert str(Version.parse("10.0.12")) == "10.0.12"


def test_version_ordering_is_numeric_not_lexical() -> None:
    assert Version.parse("1.10.0") > Version.parse("1.9.9")
    assert Version.parse("2.0") > Version.parse("1.99.99")
    assert sorted(map(Version.parse, ["1.10.0", "1.2.0", "1.9.0"])) == [
        Version(1, 2, 0), Version(1, 9, 0), Version(1, 10, 0)]


@pytest.mark.parametrize("text", ["", "1", "1.2.3.4", "v1.2.3", "1.2.x", "1..2", " 1.2.3",
                                  "1.2.3 ", "-1.2.3", "1.2.3-rc1", "１.２.３"])
def test_bad_versions_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="bad version"):
        Version.parse(text)


def test_version_must_be_a_string() -> None:
    with pytest.raises(UsageError, match="must be a string"):
        Version.parse(1.2)  # type: ignore[arg-type]


@pytest.mark.parametrize("text,allowed,denied", [
    ("= 1.2.0", ["1.2.0"], ["1.2.1", "1.1.9"]),
    ("1.2.0", ["1.2.0"], ["1.2.1"]),                      # bare version means =
    ("1.2", ["1.2.0"], ["1.2.1"]),
    (">= 1.2.0", ["1.2.0", "9.0.0"], ["1.1.99"]),
    ("> 1.2.0", ["1.2.1", "2.0.0"], ["1.2.0"]),
    ("< 1.2.0", ["1.1.99", "0.0.1"], ["1.2.0"]),
    ("<= 1.2.0", ["1.2.0", "1.0.0"], ["1.2.1"]),
    ("~> 1.2", ["1.2.0", "1.9.9", "1.2.5"], ["2.0.0", "1.1.9"]),
    ("~> 1.2.3", ["1.2.3", "1.2.99"], ["1.3.0", "1.2.2"]),
    ("~> 0.1", ["0.1.0", "0.9.0"], ["1.0.0"]),
])
def test_constraint_semantics(text: str, allowed: list[str], denied: list[str]) -> None:
    constraint = Constraint.parse(text)
    assert [constraint.allows(v) for v in allowed] == [True] * len(allowed)
    assert [constraint.allows(Version.parse(v)) for v in denied] == [False] * len(denied)


def test_constraint_str_is_canonical() -> None:
    assert str(Constraint.parse("~> 1.2")) == "~> 1.2"
    assert str(Constraint.parse("~> 1.2.0")) == "~> 1.2.0"
    assert str(Constraint.parse("1.2")) == "= 1.2.0"
    assert str(Constraint.parse_depends(">=1.0")) == ">= 1.0.0"   # metadata.rb spacing
    assert Constraint.parse("1.2.3") == Constraint.parse("= 1.2.3")


@pytest.mark.parametrize("text", ["", ">=", "~>", "== 1.0", "=> 1.0", ">= 1", "~> 1",
                                  ">= 1.0 < 2.0", "latest", "^1.2"])
def test_bad_constraints_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="bad version constraint"):
        Constraint.parse(text)


versions = st.builds(Version, st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))
ops = st.sampled_from(["=", ">=", ">", "<", "<=", "~>"])


@given(versions)
def test_version_round_trip(v: Version) -> None:
    assert Version.parse(str(v)) == v


@given(versions, versions)
def test_version_order_matches_tuples(a: Version, b: Version) -> None:
    assert (a < b) == ((a.major, a.minor, a.patch) < (b.major, b.minor, b.patch))
    assert (a == b) == (str(a) == str(b))


@given(ops, versions, st.sampled_from([2, 3]))
def test_constraint_round_trip(op: str, v: Version, parts: int) -> None:
    if parts == 2:
        v = Version(v.major, v.minor, 0)
    text = f"{op} {v.major}.{v.minor}" if parts == 2 else f"{op} {v}"
    constraint = Constraint.parse(text)
    assert Constraint.parse(str(constraint)) == constraint
    assert constraint.allows(v) == (op in ("=", ">=", "<=", "~>"))


@given(ops, versions, versions)
def test_constraint_agrees_with_ordering(op: str, bound: Version, v: Version) -> None:
    allowed = Constraint.parse(f"{op} {bound}").allows(v)
    expected = {"=": v == bound, ">=": v >= bound, ">": v > bound, "<": v < bound,
                "<=": v <= bound,
                "~>": bound <= v < Version(bound.major, bound.minor + 1, 0)}[op]
    assert allowed == expected
