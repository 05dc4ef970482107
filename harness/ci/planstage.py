"""The gate's first stage: `harness plan --format markdown`, kept and shown to reviewers.

The plan runs as a subprocess with the gate's interpreter, like every stage (what CI runs is
what you run). Its markdown goes to `plan.md` in the reports directory, to the terminal, and,
when `GITHUB_STEP_SUMMARY` is set (a GitHub Actions step), is appended to the job summary the
pull request's checks page shows. Progress and errors go to `plan.log`.
"""
from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


@dataclass(frozen=True)
class PlanRun:
    rc: int
    seconds: float
    markdown: Path
    errors: list[str]


def run_plan(repo_dir: Path, base: str, reports: Path, *, python: str,
             out: Callable[[str], None]) -> PlanRun:
    """Run the plan of the working tree against BASE; write plan.md, plan.log, the summary."""
    cmd = [python, "-m", "harness.cli", "plan", "--base", base, "--repo", str(repo_dir),
           "--format", "markdown"]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=repo_dir, capture_output=True, text=True,
                          errors="replace", check=False)
    seconds = time.monotonic() - t0
    reports.mkdir(parents=True, exist_ok=True)
    markdown = reports / "plan.md"
    markdown.write_text(proc.stdout, encoding="utf-8")
    (reports / "plan.log").write_text(proc.stderr, encoding="utf-8")
    for line in (proc.stderr + proc.stdout).splitlines():
        out(line)
    errors = [ln for ln in proc.stderr.splitlines() if not ln.startswith("harness plan: ")]
    summary = os.environ.get(SUMMARY_ENV)
    if summary:
        shown = "\n".join(errors).replace("```", "'''")
        text = proc.stdout if proc.stdout.strip() else (
            f"## harness plan\n\nThe plan failed (exit {proc.returncode}):\n\n"
            f"```text\n{shown}\n```\n")
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return PlanRun(proc.returncode, seconds, markdown, errors)
