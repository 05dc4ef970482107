"""`harness bump`: only the version token of the metadata changes; bad input changes nothing."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.repo import Version, load_repo
from harness.rollout.bump import next_version

FIXTURE = Path(__file__).parent.parent / "fixtures" / "rollout_repo" / "repo"
ZK = "site-cookbooks/zookeeper/metadata.yaml"
JAVA = "cookbooks/java/metadata.json"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "repo"))


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("level,expected", [
    ("patch", "1.3.1"), ("minor", "1.4.0"), ("major", "2.0.0"), ("1.10.0", "1.10.0")])
def test_next_version(level, expected):
    assert str(next_version(Version(1, 3, 0), level)) == expected


@pytest.mark.parametrize("argv,path,old,new", [
    ([], ZK, "version: 1.3.0   #", "version: 1.3.1   #"),
    (["minor"], ZK, "version: 1.3.0   #", "version: 1.4.0   #"),
    (["major"], ZK, "version: 1.3.0   #", "version: 2.0.0   #"),
    (["1.10.2"], ZK, "version: 1.3.0   #", "version: 1.10.2   #"),
])
def test_bump_yaml_changes_only_the_version(repo, capsys, argv, path, old, new):
    before = _snapshot(repo)
    assert main(["bump", "zookeeper", *argv, "--repo", str(repo)]) == 0
    after = _snapshot(repo)
    assert {k for k in after if after[k] != before[k]} == {path}
    assert after[path] == before[path].replace(old.encode(), new.encode(), 1) != before[path]
    assert capsys.readouterr().out.strip().endswith(f"zookeeper 1.3.0 -> {new.split()[1]}")
    assert load_repo(repo).cookbooks["zookeeper"].version == new.split()[1]


def test_bump_json_changes_only_the_version(repo):
    before = (repo / JAVA).read_bytes()
    assert main(["bump", "java", "minor", "--repo", str(repo)]) == 0
    assert (repo / JAVA).read_bytes() == before.replace(b'"2.0.0"', b'"2.1.0"')
    assert load_repo(repo).cookbooks["java"].version == "2.1.0"


def test_bump_keeps_crlf_and_tabs(repo):
    path = repo / "site-cookbooks/base/metadata.json"
    path.write_bytes(b'{\r\n\t"name": "base",\r\n\t"version": "1.0.0"\r\n}\r\n')
    assert main(["bump", "base", "--repo", str(repo)]) == 0
    assert path.read_bytes() == b'{\r\n\t"name": "base",\r\n\t"version": "1.0.1"\r\n}\r\n'


@pytest.mark.parametrize("argv,message", [
    (["zookeeper", "1.3.0"], "new version 1.3.0 is not greater than the current 1.3.0"),
    (["zookeeper", "1.2.9"], "new version 1.2.9 is not greater than the current 1.3.0"),
    (["zookeeper", "huge"], "bad bump 'huge': expected major, minor, patch or a version"),
    (["zookeeper", "1.x.0"], "bad bump '1.x.0'"),
    (["nope"], "no cookbook 'nope'"),
])
def test_bad_bump_exits_2_and_touches_nothing(repo, capsys, argv, message):
    before = _snapshot(repo)
    assert main(["bump", *argv, "--repo", str(repo)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("harness: ") and message in err
    assert _snapshot(repo) == before


def test_bump_in_an_invalid_repo_lists_its_problems(repo, capsys):
    (repo / "roles/broken.json").write_text('{"name": "broken", "run_list": ["role[ghost]"]}\n')
    before = _snapshot(repo)
    assert main(["bump", "zookeeper", "--repo", str(repo)]) == 2
    assert "broken.json" in capsys.readouterr().err
    assert _snapshot(repo) == before
