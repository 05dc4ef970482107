"""`harness show`: the compiled policy a user sees, counting the repo's backup/ like check does."""
from __future__ import annotations

import json
from pathlib import Path

from harness.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_show_resolves_production_pins_from_the_backup(capsys):
    assert main(["show", "app", "--env", "production", "--repo", str(ROOT)]) == 0
    policy = json.loads(capsys.readouterr().out)
    assert policy["cookbook_versions"]["app"] == "1.0.0"          # only in backup/
    assert policy["roles"] == ["app", "base"] and policy["chef_environment"] == "production"


def test_show_testing_takes_the_newest_version(capsys):
    assert main(["show", "app", "--env", "testing", "--repo", str(ROOT)]) == 0
    assert json.loads(capsys.readouterr().out)["cookbook_versions"]["app"] == "1.1.0"


def test_show_unknown_role_or_environment_is_one_line(capsys):
    assert main(["show", "nope", "--repo", str(ROOT)]) == 2
    assert main(["show", "app", "--env", "prod", "--repo", str(ROOT)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"harness: no role 'nope' in {ROOT / 'roles'}",
                   f"harness: no environment 'prod' in {ROOT / 'environments'}"]
