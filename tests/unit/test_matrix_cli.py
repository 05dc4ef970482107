"""`harness matrix` on the command line: formats, --explain, bad input (exit 2, one line)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from tests.unit.test_matrix_affected import FIXTURE, commit, make_repo, touch


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    return make_repo(tmp_path / "repo")


def test_json_lists_every_spec_module(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "--repo", str(repo)]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert entries[0] == {"name": "haproxy", "platform": "bookworm", "id": "haproxy-bookworm",
                          "file": "role_specs/test_haproxy.py", "roles": ["haproxy"]}
    assert [(e["name"], e["platform"]) for e in entries] == [
        (name, platform) for name in ("haproxy", "mail", "memcached", "zookeeper")
        for platform in ("bookworm", "trixie")]


def test_github_format_is_one_output_line_per_key(repo: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    touch(repo, "roles/mail.yaml")
    commit(repo)
    assert main(["matrix", "--repo", str(repo), "--changed-since", "main", "--format", "github"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("matrix=") and lines[1] == "count=2"
    assert json.loads(lines[0].removeprefix("matrix=")) == {"include": [
        {"name": "mail", "platform": platform, "id": f"mail-{platform}",
         "file": "role_specs/test_mail.py", "roles": ["mail"]}
        for platform in ("bookworm", "trixie")]}


def test_empty_selection_still_prints_a_valid_matrix(repo: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "--repo", str(repo), "--changed-since", "main", "--format", "github"]) == 0
    assert capsys.readouterr().out == 'matrix={"include":[]}\ncount=0\n'


def test_explain_adds_why_and_prints_to_stderr(repo: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    touch(repo, "data_bags/mail/relay.json")
    assert main(["matrix", "--repo", str(repo), "--changed-since", "main", "--explain"]) == 0
    out, err = capsys.readouterr()
    entries = json.loads(out)
    assert [e["platform"] for e in entries] == ["bookworm", "trixie"]
    for entry in entries:
        assert entry["why"] == ["data_bags/mail/relay.json: data bag mail: cookbook postfix "
                                "(reached by role mail) reads it"]
    assert "skip role_specs/test_zookeeper.py on trixie: no change reaches it" in err


@pytest.mark.parametrize("ref", ["no-such-branch", "main~5", "--help"])
def test_unknown_ref_exits_2_naming_it(repo: Path, ref: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "--repo", str(repo), f"--changed-since={ref}"]) == 2
    err = capsys.readouterr().err
    assert ref in err and len(err.strip().splitlines()) == 1


def test_not_a_git_checkout_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    shutil.copytree(FIXTURE, tmp_path / "plain")
    assert main(["matrix", "--repo", str(tmp_path / "plain"), "--changed-since", "main"]) == 2
    err = capsys.readouterr().err.strip()
    assert "not a git checkout" in err and len(err.splitlines()) == 1


def test_missing_specs_dir_exits_2(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "--repo", str(repo), "--specs", "nope"]) == 2
    assert "no role specs directory" in capsys.readouterr().err


def test_console_entry_exit_code_and_single_line(repo: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "matrix", "--repo", str(repo),
                           "--changed-since", "origin/main"], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("harness: git ref 'origin/main' does not exist")
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stdout == ""
