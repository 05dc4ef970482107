"""Read and write the JUnit XML the gate's stages leave behind.

CI systems (GitHub, GitLab, Jenkins) all render JUnit XML, so every stage reports in it,
including the non-pytest validate stage, whose report we write ourselves.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Case:
    """One test case of a stage we run ourselves (not pytest)."""

    name: str
    seconds: float
    failure: str | None = None
    skipped: str | None = None


@dataclass(frozen=True)
class Counts:
    tests: int
    passed: int
    failed: int      # failures + errors
    skipped: int
    files: int       # distinct test modules (xunit1 `file` attribute, else classname)


def write(path: Path, suite: str, cases: list[Case]) -> Path:
    """A one-suite JUnit XML file."""
    failures = sum(1 for c in cases if c.failure)
    skipped = sum(1 for c in cases if c.skipped)
    root = ET.Element("testsuites")
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)),
                       failures=str(failures), errors="0", skipped=str(skipped),
                       time=f"{sum(c.seconds for c in cases):.3f}")
    for case in cases:
        el = ET.SubElement(ts, "testcase", classname=f"gate.{suite}", name=case.name,
                           time=f"{case.seconds:.3f}")
        if case.failure:
            ET.SubElement(el, "failure", message=case.failure.splitlines()[0]).text = case.failure
        elif case.skipped:
            ET.SubElement(el, "skipped", message=case.skipped)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def read(path: Path) -> Counts | None:
    """Counts of a JUnit XML file, or None when it is missing or unreadable."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    tests = failed = skipped = 0
    files: set[str] = set()
    for case in root.iter("testcase"):
        tests += 1
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None:
            skipped += 1
        files.add(case.get("file") or case.get("classname") or "")
    # collection errors are reported as a testcase with an <error>, so they count as failed
    return Counts(tests, tests - failed - skipped, failed, skipped, len(files - {""}))
