"""The gate's control flow with tiny fake stages: order, stop at the first failure, exit codes.

Only these tests fake stages (the stage runner is the seam); test_gate_run.py runs real ones.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.ci import gate
from harness.ci.gate import GateContext, StageResult, run_stages, summary_table
from harness.ci.matrix import Matrix
from harness.cli import build_parser, main
from tests.unit.test_matrix_affected import commit, make_repo, touch


def fake(name: str, status: str, calls: list[str], **counts) -> gate.Stage:
    def run(ctx: GateContext) -> StageResult:
        calls.append(name)
        return StageResult(name, status, **counts)
    return name, run


def ctx(tmp_path: Path) -> GateContext:
    return GateContext(tmp_path, tmp_path, Matrix([], []), out=lambda line: None)


def test_stages_run_in_order_and_stop_at_the_first_failure(tmp_path: Path) -> None:
    calls: list[str] = []
    result = run_stages(ctx(tmp_path), [fake("validate", "passed", calls),
                                        fake("unit", "failed", calls, failed=2),
                                        fake("functional", "passed", calls)])
    assert calls == ["validate", "unit"]
    assert [(r.stage, r.status) for r in result.results] == [
        ("validate", "passed"), ("unit", "failed"), ("functional", "not run")]
    assert result.exit_code == 1


def test_all_passed_or_skipped_is_exit_0(tmp_path: Path) -> None:
    calls: list[str] = []
    result = run_stages(ctx(tmp_path), [fake("validate", "passed", calls),
                                        fake("unit", "skipped", calls),
                                        fake("functional", "passed", calls)])
    assert calls == ["validate", "unit", "functional"] and result.exit_code == 0


def test_first_stage_failing_runs_nothing_else(tmp_path: Path) -> None:
    calls: list[str] = []
    result = run_stages(ctx(tmp_path), [fake("validate", "failed", calls),
                                        fake("unit", "passed", calls)])
    assert calls == ["validate"] and result.results[1].status == "not run"


def test_summary_table_has_a_row_per_stage_and_a_verdict() -> None:
    table = summary_table([StageResult("validate", "passed", 2, 2, 0, 1.25),
                           StageResult("functional", "failed", 3, 10, 1, 312.0, detail="x")])
    lines = table.splitlines()
    assert lines[0].split() == ["stage", "status", "specs", "passed", "failed", "seconds"]
    assert lines[2].split() == ["validate", "passed", "2", "2", "0", "1.2"]
    assert lines[3].split() == ["functional", "failed", "3", "10", "1", "312.0"]
    assert lines[-1] == "gate FAILED" and "functional: x" in table


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    return make_repo(tmp_path / "repo")


def test_cli_gate_passes_the_affected_specs_and_writes_a_summary(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[list[str]] = []

    def functional(c: GateContext) -> StageResult:
        seen.append([s.file for s in c.matrix.selected])
        return StageResult("functional", "failed", len(seen[-1]), 0, 1)

    calls: list[str] = []
    monkeypatch.setattr(gate, "STAGES", [fake("validate", "passed", calls),
                                         ("functional", functional), fake("after", "passed", calls)])
    touch(repo, "roles/mail.yaml")
    commit(repo)
    reports = tmp_path / "reports"
    assert main(["gate", "--repo", str(repo), "--base", "main", "--reports", str(reports)]) == 1
    assert seen == [["role_specs/test_mail.py"]] and calls == ["validate"]
    summary = json.loads((reports / "summary.json").read_text())
    assert [(r["stage"], r["status"]) for r in summary] == [
        ("validate", "passed"), ("functional", "failed"), ("after", "not run")]
    assert capsys.readouterr().out.rstrip().endswith("gate FAILED")


@pytest.mark.parametrize("base", ["no-such-ref", "main..HEAD"])
def test_cli_gate_bad_ref_exits_2_before_any_stage(
        repo: Path, base: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[str] = []
    monkeypatch.setattr(gate, "STAGES", [fake("validate", "passed", calls)])
    assert main(["gate", "--repo", str(repo), "--base", base]) == 2
    assert calls == [] and base in capsys.readouterr().err


def test_cli_gate_outside_a_checkout_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    (tmp_path / "role_specs").mkdir()
    calls: list[str] = []
    monkeypatch.setattr(gate, "STAGES", [fake("validate", "passed", calls)])
    assert main(["gate", "--repo", str(tmp_path), "--base", "main"]) == 2
    err = capsys.readouterr().err
    assert calls == [] and "not a git checkout" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", gate.VALIDATE_COMMANDS)
def test_the_cli_runs_every_validate_command_with_repo(command: str) -> None:
    """The gate knows these commands as plain data; hold the CLI to them."""
    args = build_parser().parse_args([command, "--repo", "somewhere"])
    assert args.command == command and args.repo == "somewhere" and callable(args.handler)
