"""`harness promote`: one pin changes (or is added), layout kept; warnings; bad input."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.repo import load_repo

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rollout_repo"
PROD = "environments/production.json"
DEV = "environments/development.yaml"
TESTING = "environments/testing.json"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / "repo", tmp_path / "repo"))


BACKUP = ["--from-backup", str(FIXTURES / "backup")]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _promote(repo: Path, *argv: str) -> int:
    return main(["promote", *argv, "--repo", str(repo)])


def _changed(before: dict, after: dict) -> set[str]:
    return {k for k in after if after.get(k) != before.get(k)}


def test_promote_current_version_warns_about_skipped_versions(repo, capsys):
    before = _snapshot(repo)
    assert _promote(repo, "production", "zookeeper", *BACKUP) == 0
    after = _snapshot(repo)
    assert _changed(before, after) == {PROD}
    assert after[PROD] == before[PROD].replace(b'"zookeeper": "= 1.0.0"', b'"zookeeper": "= 1.3.0"')
    out, err = capsys.readouterr()
    assert err == ("harness: warning: production: zookeeper jumps from 1.0.0 to 1.3.0, "
                   "skipping 1.1.0, 1.2.0\n")
    assert out.strip().endswith("zookeeper = 1.0.0 -> = 1.3.0")
    assert load_repo(repo).environments["production"]["cookbook_versions"]["zookeeper"] == "= 1.3.0"


def test_promote_next_version_from_backup_does_not_warn(repo, capsys):
    assert _promote(repo, "production", "zookeeper", "--version", "1.1.0", *BACKUP) == 0
    assert b'"zookeeper": "= 1.1.0"' in (repo / PROD).read_bytes()
    assert capsys.readouterr().err == ""


def test_promote_back_warns(repo, capsys):
    assert _promote(repo, "development", "zookeeper", "--version", "1.1.0", *BACKUP) == 0
    assert capsys.readouterr().err == ("harness: warning: development: zookeeper goes back "
                                       "from 1.2.0 to 1.1.0\n")


def test_promote_yaml_keeps_comments_and_operator(repo):
    before = (repo / DEV).read_text()
    assert _promote(repo, "development", "java", "--keep-operator") == 0
    assert (repo / DEV).read_text() == before.replace("java: ~> 2.0   #", "java: ~> 2.0.0   #")


def test_promote_yaml_without_keep_operator_writes_equals(repo):
    before = (repo / DEV).read_text()
    assert _promote(repo, "development", "java") == 0
    assert (repo / DEV).read_text() == before.replace("java: ~> 2.0   #", "java: = 2.0.0   #")


def test_promote_into_environment_without_pins_adds_them_when_asked(repo):
    assert _promote(repo, "testing", "zookeeper", "--pin-unpinned") == 0
    assert (repo / TESTING).read_text() == (
        '{\n  "name": "testing",\n'
        '  "description": "no pins: nodes flipped here run the newest uploaded versions",\n'
        '  "cookbook_versions": {\n    "zookeeper": "= 1.3.0"\n  }\n}\n')
    assert _promote(repo, "testing", "base") == 0
    assert (repo / TESTING).read_text().endswith(
        '    "zookeeper": "= 1.3.0",\n    "base": "= 1.0.0"\n  }\n}\n')


def test_promote_twice_is_a_no_op(repo, capsys):
    assert _promote(repo, "production", "base") == 0
    assert "already pinned = 1.0.0" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["production", "zookeeper", "--version", "1.1.0"],
     "no version 1.1.0 of zookeeper in the repo (available: 1.3.0)"),
    (["production", "zookeeper", "--version", "9.9.9", *BACKUP],
     "no version 9.9.9 of zookeeper in the repo or backup"),
    (["production", "zookeeper", "--version", "latest"], "bad version 'latest'"),
    (["production", "nope"], "no cookbook 'nope' in the repo"),
    (["staging", "zookeeper"], "no environment file environments/staging.json"),
    (["_default", "zookeeper"], "no environment file environments/_default.json"),
    (["production", "zookeeper", "--from-backup", "/nonexistent"], "backup is not a directory"),
])
def test_bad_promote_exits_2_and_touches_nothing(repo, capsys, argv, message):
    before = _snapshot(repo)
    assert _promote(repo, *argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("harness: ") and message in err
    assert _snapshot(repo) == before


def test_backup_only_cookbook_needs_a_version(repo, capsys, tmp_path):
    backup = Path(shutil.copytree(FIXTURES / "backup", tmp_path / "backup"))
    shutil.copytree(backup / "cookbooks/java-1.0.0", backup / "cookbooks/jdk-1.0.0")
    meta = backup / "cookbooks/jdk-1.0.0/metadata.json"
    meta.write_text(meta.read_text().replace('"java"', '"jdk"'))
    before = _snapshot(repo)
    assert _promote(repo, "production", "jdk", "--from-backup", str(backup)) == 2
    assert "only in the backup: give --version" in capsys.readouterr().err
    assert _snapshot(repo) == before
    assert _promote(repo, "production", "jdk", "--version", "1.0.0", "--from-backup", str(backup)) == 0
    assert '"jdk": "= 1.0.0"' in (repo / PROD).read_text()
