"""Types and lint are part of the test command: a type error across a seam fails CI here.

mypy runs strict over `harness/` (pyproject.toml, `[tool.mypy]`; exceptions are justified
there) and ruff over the whole project. Both are run as the CI would, from the project root.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_mypy_strict_passes_on_harness():
    proc = run("mypy", "--no-error-summary")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_passes():
    proc = run("ruff", "check", "--output-format", "concise", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr
