"""`harness plan` on the command line and in the gate: formats, exit codes, the job summary."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from harness.agent.execute import Execute
from harness.agent.resource import Context
from harness.agent.shell import Completed
from harness.ci.planstage import run_plan
from harness.cli import main
from tests.unit.test_plan import edit_json, git, repo  # noqa: F401 (the fixture)


def test_json_and_markdown(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    edit_json(repo / "roles/mail.json", {"default_attributes": {"postfix": {
        "domain": "example.org"}}})
    assert main(["plan", "--repo", str(repo), "--format", "json", "--env", "testing"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["changed_paths"] == ["roles/mail.json"]
    (pair,) = [p for p in doc["pairs"] if p["status"] == "changed"]
    assert (pair["role"], pair["environment"]) == ("mail", "testing")
    assert {"path": "postfix.domain", "base": "example.com", "head": "example.org"} in \
        pair["diff"]["attributes"]
    assert main(["plan", "--repo", str(repo), "--format", "markdown", "--env", "testing"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## harness plan\n") and "| mail | testing |" in out
    assert "```diff\n" in out


@pytest.mark.parametrize("args, message", [
    (["--base", "no-such-ref"], "git ref 'no-such-ref' does not exist"),
    (["--role", "nope"], "no role 'nope' at either side"),
    (["--env", "nope"], "no environment 'nope' at either side"),
])
def test_bad_input_is_one_line_and_exit_2(repo: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
                                          args: list[str], message: str) -> None:
    assert main(["plan", "--repo", str(repo), *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = [ln for ln in captured.err.splitlines() if not ln.startswith("harness plan: ")]
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("harness: ")


def test_the_gate_stage_appends_the_markdown_to_the_job_summary(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    template = repo / "cookbooks/memcached/templates/memcached.conf.j2"
    template.write_text(template.read_text() + "# tuned\n")
    git(repo, "commit", "-qam", "memcached: tuned")
    lines: list[str] = []
    run = run_plan(repo, "HEAD~1", tmp_path / "reports", python=sys.executable,
                   out=lines.append)
    assert run.rc == 0 and run.errors == []
    text = summary.read_text()
    assert text.startswith("earlier step\n## harness plan\n")     # appended, not replaced
    assert "+# tuned" in text and text.count("### memcached in") == 1
    assert (tmp_path / "reports" / "plan.md").read_text() in text
    assert any(line.startswith("harness plan: ") for line in lines)       # progress shown


def test_a_failed_plan_still_leaves_a_summary(repo: Path, tmp_path: Path,  # noqa: F811
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run = run_plan(repo, "no-such-ref", tmp_path / "reports", python=sys.executable,
                   out=lambda line: None)
    assert run.rc == 2 and "does not exist" in summary.read_text()


def test_sensitive_is_a_property_of_every_resource() -> None:
    """Chef::Resource declares `property :sensitive, [ TrueClass, FalseClass ], default:
    false, desired_state: false` for every resource (lib/chef/resource.rb), and the execute
    provider describes a sensitive command as "sensitive resource" (provider/execute.rb)."""
    said: list[str] = []
    ctx = Context(out=said.append, run=lambda cmd, **kw: Completed(0))
    res = Execute(ctx, "set password", command="chpasswd <<< root:hunter2", sensitive=True)
    assert res.describe()["sensitive"] is True
    assert res.apply("run") and said == ["    - run sensitive resource"]
    assert "sensitive" not in Execute(ctx, "plain", command="true").describe()
