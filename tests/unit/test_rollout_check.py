"""`harness check`: pins resolve, roles solve in every environment; failures one per line."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.cli import main

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rollout_repo"
BACKUP = ["--from-backup", str(FIXTURES / "backup")]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / "repo", tmp_path / "repo"))


def _check(repo: Path, *argv: str) -> int:
    return main(["check", *argv, "--repo", str(repo)])


def test_all_pins_resolve_with_the_backup(repo, capsys):
    assert _check(repo, *BACKUP) == 0
    out, err = capsys.readouterr()
    assert out == "ok: 4 environments, 6 pins resolve; 2 roles solve in each\n" and err == ""


def test_without_the_backup_each_failure_is_one_line(repo, capsys):
    assert _check(repo) == 2
    lines = capsys.readouterr().err.splitlines()
    prod, dev = str(repo / "environments/production.json"), str(repo / "environments/development.yaml")
    role = str(repo / "roles/zookeeper.yaml")
    assert lines == [
        f"harness: {dev}: pin zookeeper = 1.2.0: no such version in the repo (available: 1.3.0)",
        f"harness: {prod}: pin java = 1.0.0: no such version in the repo (available: 2.0.0)",
        f"harness: {prod}: pin zookeeper = 1.0.0: no such version in the repo (available: 1.3.0)",
        f"harness: {role}: role zookeeper in environment development: cannot satisfy "
        "zookeeper = 1.2.0 (environment development); available: 1.3.0",
        f"harness: {role}: role zookeeper in environment production: cannot satisfy "
        "zookeeper = 1.0.0 (environment production); available: 1.3.0",
    ]


def test_one_environment(repo, capsys):
    assert _check(repo, "--env", "testing") == 0
    assert capsys.readouterr().out == "ok: 1 environment, 0 pins resolve; 2 roles solve in each\n"


def test_conflicting_dependency_is_reported_with_its_chain(repo, capsys):
    env = repo / "environments/development.yaml"
    env.write_text(env.read_text().replace("zookeeper: = 1.2.0", "zookeeper: = 1.1.0"))
    assert _check(repo, "--env", "development", *BACKUP) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"harness: {repo / 'roles/zookeeper.yaml'}: role zookeeper in "
                               "environment development: cannot satisfy java")


def test_pin_of_unknown_cookbook(repo, capsys):
    env = repo / "environments/production.json"
    env.write_text(env.read_text().replace('"base": "= 1.0.0",', '"base": "= 1.0.0", "php": "~> 7.0",'))
    assert _check(repo, "--env", "production", *BACKUP) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"harness: {env}: pin php ~> 7.0: no cookbook php in the repo or backup {FIXTURES / 'backup'}"]


@pytest.mark.parametrize("argv,message", [
    (["--env", "staging"], "no environment 'staging'"),
    (["--from-backup", "/nonexistent"], "backup is not a directory"),
])
def test_bad_arguments(repo, capsys, argv, message):
    assert _check(repo, *argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
