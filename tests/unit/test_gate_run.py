"""The real gate stages on a tiny container-free repo: real subprocesses, real JUnit XML.

The role spec modules here carry cluster markers but their tests ask for no cluster fixture,
so pytest runs them without containers; everything else is what CI runs.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.ci.gate import GateContext, run_gate, stage_functional, stage_unit
from harness.ci.junit import read
from harness.ci.matrix import compute_matrix
from tests.unit.test_matrix_affected import commit, git, make_repo, touch

SPECS = {
    "test_mail.py": "import pytest\npytestmark = pytest.mark.cluster(mail=1)\n\n"
                    "def test_ok():\n    assert True\n",
    "test_zookeeper.py": "import pytest\npytestmark = pytest.mark.cluster(zookeeper=3, "
                         "env='production')\n\ndef test_broken():\n    assert False, 'quorum'\n",
}
UNIT = ("import pytest\n\ndef test_fast():\n    assert 1 + 1 == 2\n\n"
        "@pytest.mark.docker\ndef test_needs_docker():\n    assert False, 'must be deselected'\n")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    repo = make_repo(tmp_path / "repo")
    for spec in (repo / "role_specs").glob("test_*.py"):
        spec.unlink()
    for name, text in SPECS.items():
        touch(repo, f"role_specs/{name}", text)
    touch(repo, "tests/unit/test_fast.py", UNIT)
    commit(repo)
    git(repo, "branch", "-f", "main")
    return repo


def test_gate_passes_when_the_affected_spec_passes(repo: Path, tmp_path: Path) -> None:
    touch(repo, "roles/mail.yaml")
    commit(repo)
    lines: list[str] = []
    result = run_gate(repo, base="main", reports=tmp_path / "reports", out=lines.append)
    rows = {r.stage: r for r in result.results}
    assert result.exit_code == 0, "\n".join(lines)
    assert [r.stage for r in result.results] == ["plan", "validate", "unit", "functional"]
    assert (rows["plan"].status, rows["plan"].passed) == ("passed", 1)
    assert "| mail |" in (tmp_path / "reports" / "plan.md").read_text()
    assert (rows["validate"].specs, rows["validate"].passed) == (2, 2)       # validate + check
    assert (rows["unit"].passed, rows["unit"].failed) == (1, 0)              # docker deselected
    assert (rows["functional"].specs, rows["functional"].passed) == (1, 1)   # only test_mail
    for stage in ("validate", "unit", "functional"):
        assert read(tmp_path / "reports" / f"{stage}.xml") is not None
    assert "gate passed" in lines[-1]


def test_gate_stops_at_plan_when_the_repo_is_broken(repo: Path, tmp_path: Path) -> None:
    """The plan (first stage) loads the head side as validate does, and says which side."""
    touch(repo, "roles/haproxy.json", '{"name": "haproxy", "run_list": ["role[nope]"]}')
    result = run_gate(repo, base="main", reports=tmp_path / "r", out=lambda line: None)
    assert [(r.stage, r.status) for r in result.results] == [
        ("plan", "failed"), ("validate", "not run"), ("unit", "not run"),
        ("functional", "not run")]
    xml = (tmp_path / "r" / "plan.xml").read_text()
    assert "nope" in xml and "head side (working tree)" in xml and result.exit_code == 1
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary[0]["failed"] >= 1


def test_a_change_that_repairs_a_broken_base_is_not_blocked_by_the_plan(repo: Path,
                                                                         tmp_path: Path) -> None:
    """The base side does not validate, the head does: the plan stage is skipped with a reason
    and the gate goes on (validate checks the head)."""
    touch(repo, "roles/haproxy.json", '{"name": "haproxy", "run_list": ["role[nope]"]}')
    commit(repo)
    git(repo, "branch", "-f", "main")      # main is broken now
    (repo / "roles" / "haproxy.json").unlink()
    commit(repo)                           # the branch repairs it
    result = run_gate(repo, base="main", reports=tmp_path / "r", out=lambda line: None)
    rows = {r.stage: r for r in result.results}
    assert rows["plan"].status == "skipped" and "base side" in rows["plan"].detail
    assert rows["validate"].status == "passed"


def test_functional_stage_fails_with_the_failing_spec(repo: Path, tmp_path: Path) -> None:
    touch(repo, "cookbooks/java/recipes/default.py")
    matrix = compute_matrix(repo, changed_since="main")
    lines: list[str] = []
    ctx = GateContext(repo, tmp_path, matrix, workers=1, out=lines.append)
    result = stage_functional(ctx)
    assert (result.status, result.specs, result.passed, result.failed) == ("failed", 1, 0, 1)
    assert any("quorum" in line for line in lines)
    assert "quorum" in (tmp_path / "functional.log").read_text()


def test_functional_stage_is_skipped_when_nothing_is_affected(repo: Path, tmp_path: Path) -> None:
    ctx = GateContext(repo, tmp_path, compute_matrix(repo, changed_since="main"))
    assert stage_functional(ctx).status == "skipped"


def test_unit_stage_fails_on_a_failing_unit_test(repo: Path, tmp_path: Path) -> None:
    touch(repo, "tests/unit/test_fast.py", "def test_no():\n    assert False\n")
    ctx = GateContext(repo, tmp_path, compute_matrix(repo), workers=1, out=lambda line: None)
    result = stage_unit(ctx)
    assert (result.status, result.passed, result.failed) == ("failed", 0, 1)
