"""CI and the pre-merge gate run cold (--package-layer off), so a failing `apt-get install`
fails where production's converge would; local runs keep the layer (`auto`)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from harness.ci import gate
from harness.ci.gate import GateContext, StageResult
from harness.cli.parser import build_parser

REPO = Path(__file__).resolve().parents[2]


def test_the_gates_functional_stage_runs_cold(monkeypatch, tmp_path):
    seen: list[list[str]] = []

    def fake_pytest(ctx, stage, args, report, specs):
        seen.append(args)
        return StageResult(stage, "passed")

    monkeypatch.setattr(gate, "_pytest", fake_pytest)
    matrix = SimpleNamespace(selected=[SimpleNamespace(file="role_specs/test_mail.py")])
    gate.stage_functional(GateContext(tmp_path, tmp_path, matrix))  # type: ignore[arg-type]
    assert seen[0][0] == "role_specs/test_mail.py"
    assert seen[0][-2:] == ["--package-layer", "off"]


def test_ci_run_sets_ci_so_the_readme_commands_run_cold():
    """`.ci/run` runs the README's command unchanged; the CI variable turns `auto` off."""
    script = (REPO / ".ci" / "run").read_text()
    export = script.index('export CI="${CI:-true}"')
    assert export < script.index("pytest role_specs/ -n 2")


def test_harness_up_takes_the_option_and_defaults_to_auto():
    parser = build_parser()
    assert parser.parse_args(["up", "zookeeper"]).package_layer == "auto"
    assert parser.parse_args(["up", "zookeeper", "--package-layer", "off"]).package_layer == "off"
