"""The pre-merge gate: validate, unit, functional; stop at the first failing stage.

Cheap stages first, so a typo in a role fails in a second instead of after a cluster came up.
Every stage runs in a subprocess with this interpreter (what CI runs is what you run), writes
JUnit XML into the reports directory, and the gate ends with one summary table.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.ci import junit
from harness.ci.matrix import Matrix, compute_matrix
from harness.ci.planstage import run_plan

UNIT_TESTS = "tests/unit"           # the container-free layer (plus -m "not docker" as a guard)
WORKERS = 2
# The `harness` subcommands the validate stage runs, each given --repo. Plain data, not a look
# into the CLI's parser: the ci package sits below harness.cli. test_gate_stages.py holds the
# CLI to it.
VALIDATE_COMMANDS = ("validate", "check")


@dataclass
class StageResult:
    """One row of the summary table."""

    stage: str
    status: str                  # passed | failed | skipped | not run
    specs: int = 0
    passed: int = 0
    failed: int = 0
    seconds: float = 0.0
    report: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("passed", "skipped")


@dataclass
class GateContext:
    """What every stage gets."""

    repo_dir: Path
    reports: Path
    matrix: Matrix
    python: str = sys.executable
    workers: int = WORKERS
    out: Callable[[str], None] = print


Stage = tuple[str, Callable[[GateContext], StageResult]]


@dataclass
class GateResult:
    results: list[StageResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


def run_command(cmd: list[str], *, cwd: Path, log: Path,
                out: Callable[[str], None]) -> tuple[int, str]:
    """Run cmd, streaming its output to `out` and to the log file; (exit status, output tail)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out(f"$ {shlex.join(cmd)}")
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ {shlex.join(cmd)}\n")
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", bufsize=1)
        assert proc.stdout is not None
        tail: deque[str] = deque(maxlen=40)
        for line in proc.stdout:
            fh.write(line)
            tail.append(line.rstrip("\n"))
            out(tail[-1])
        return proc.wait(), "\n".join(tail)


def stage_plan(ctx: GateContext) -> StageResult:
    """`harness plan --base BASE` (planstage.py): the reviewers' report; fails when the plan
    cannot be made (bad input) or a role fails at the head side."""
    if ctx.matrix.base is None:
        return StageResult("plan", "skipped", detail="no --base: nothing to compare with")
    run = run_plan(ctx.repo_dir, ctx.matrix.base, ctx.reports, python=ctx.python, out=ctx.out)
    if run.rc == 2 and _base_side_only(run.errors):
        # a change that repairs a broken base must not be blocked by the base: the head is
        # validated by the next stage, which says what (if anything) is still wrong
        return StageResult("plan", "skipped", seconds=run.seconds,
                           detail="the base side does not validate; nothing to compare with")
    report = junit.write(ctx.reports / "plan.xml", "plan", [junit.Case(
        "harness plan", run.seconds,
        failure=f"exit {run.rc}\n" + "\n".join(run.errors) if run.rc else None)])
    return _from_junit("plan", report, run.seconds, rc=0, specs=1)


def _base_side_only(errors: list[str]) -> bool:
    """Every problem the plan reported is the base side's (plan.py labels each side)."""
    lines = [line.removeprefix("harness: ") for line in errors if line.strip()]
    return bool(lines) and all(line.startswith("base side (") for line in lines)


def stage_validate(ctx: GateContext) -> StageResult:
    """`harness validate` and `harness check`, each on the repo (VALIDATE_COMMANDS)."""
    started, cases = time.monotonic(), []
    log = ctx.reports / "validate.log"
    for command in VALIDATE_COMMANDS:
        cmd = [ctx.python, "-m", "harness.cli", command, "--repo", str(ctx.repo_dir)]
        t0 = time.monotonic()
        rc, tail = run_command(cmd, cwd=ctx.repo_dir, log=log, out=ctx.out)
        cases.append(junit.Case(f"harness {command}", time.monotonic() - t0,
                                failure=f"exit {rc}\n{tail}" if rc else None))
    report = ctx.reports / "validate.xml"
    junit.write(report, "validate", cases)
    return _from_junit("validate", report, time.monotonic() - started, rc=0,
                       specs=len(cases))


def stage_unit(ctx: GateContext) -> StageResult:
    """The container-free tests: tests/unit, minus anything marked `docker`."""
    if not (ctx.repo_dir / UNIT_TESTS).is_dir():
        return StageResult("unit", "skipped", detail=f"no {UNIT_TESTS}/ in the repo")
    report = ctx.reports / "unit.xml"
    return _pytest(ctx, "unit", [UNIT_TESTS, "-q", "-m", "not docker", "-n", str(ctx.workers)],
                   report, specs=None)


def stage_functional(ctx: GateContext) -> StageResult:
    """The affected role specs, one cluster per module, modules spread over the workers."""
    files = [s.file for s in ctx.matrix.selected]
    if not files:
        return StageResult("functional", "skipped", detail="no role spec is affected")
    report = ctx.reports / "functional.xml"
    workers = str(min(ctx.workers, len(files)))
    # cold: every package installs during the converge, so a failing install fails here as it
    # would in production (the package layer is for the author's loop; docs/decisions.md)
    return _pytest(ctx, "functional", [*files, "-n", workers, "--dist", "loadfile",
                                       "--package-layer", "off"], report, specs=len(files))


def _pytest(ctx: GateContext, stage: str, args: list[str], report: Path,
            specs: int | None) -> StageResult:
    report.unlink(missing_ok=True)
    cmd = [ctx.python, "-m", "pytest", *args, f"--junitxml={report}", "-o", "junit_family=xunit1"]
    t0 = time.monotonic()
    rc, _ = run_command(cmd, cwd=ctx.repo_dir, log=ctx.reports / f"{stage}.log", out=ctx.out)
    return _from_junit(stage, report, time.monotonic() - t0, rc=rc, specs=specs)


def _from_junit(stage: str, report: Path, seconds: float, *, rc: int,
                specs: int | None) -> StageResult:
    """Counts from the JUnit XML; the stage fails on a non-zero exit or any failed case."""
    counts = junit.read(report)
    if counts is None:
        return StageResult(stage, "failed", specs or 0, 0, 1, seconds, None,
                           f"exit {rc}, no JUnit report; see {report.with_suffix('.log')}")
    failed = counts.failed + (1 if rc and not counts.failed else 0)
    detail = "" if rc in (0, 1) else f"exit {rc}; "
    if failed:
        detail += f"see {report.with_suffix('.log')}"
    return StageResult(stage, "failed" if failed else "passed",
                       counts.files if specs is None else specs, counts.passed, failed,
                       seconds, str(report), detail)


STAGES: list[Stage] = [("plan", stage_plan), ("validate", stage_validate), ("unit", stage_unit),
                       ("functional", stage_functional)]


def run_stages(ctx: GateContext, stages: list[Stage]) -> GateResult:
    """Run stages in order; after the first failure the rest are `not run`."""
    result = GateResult()
    for name, run in stages:
        if not result.ok:
            result.results.append(StageResult(name, "not run", detail="an earlier stage failed"))
            continue
        ctx.out(f"== gate stage {name}")
        result.results.append(run(ctx))
    return result


def run_gate(repo_dir: Path, *, base: str | None = None, reports: Path | None = None,
             specs: str = "role_specs", out: Callable[[str], None] = print) -> GateResult:
    """The whole gate. Bad input (REF, not a checkout) raises UsageError before any stage."""
    repo_dir = repo_dir.resolve()
    matrix = compute_matrix(repo_dir, specs=specs, changed_since=base)
    reports = (reports or repo_dir / ".harness" / "gate").resolve()
    reports.mkdir(parents=True, exist_ok=True)
    for old in [*reports.glob("*.xml"), *reports.glob("*.log"), reports / "summary.json",
                reports / "plan.md"]:
        old.unlink(missing_ok=True)
    ctx = GateContext(repo_dir, reports, matrix, out=out)
    for line in matrix.explanation():
        out(f"gate: {line}")
    result = run_stages(ctx, STAGES)
    (reports / "summary.json").write_text(json.dumps([asdict(r) for r in result.results], indent=2))
    out(summary_table(result.results))
    return result


def summary_table(results: list[StageResult]) -> str:
    """stage, status, specs, passed, failed, seconds: one row per stage."""
    rows = [("stage", "status", "specs", "passed", "failed", "seconds")]
    rows += [(r.stage, r.status, str(r.specs), str(r.passed), str(r.failed), f"{r.seconds:.1f}")
             for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i == 0 or i == 1 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=False))).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    verdict = "gate passed" if all(r.ok for r in results) else "gate FAILED"
    details = [f"{r.stage}: {r.detail}" for r in results if r.detail and r.status != "not run"]
    return "\n".join([*lines, *details, verdict])
