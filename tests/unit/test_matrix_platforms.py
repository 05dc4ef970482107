"""The platform axis of `harness matrix`: (spec, platform) jobs, image changes, restrictions."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.ci.matrix import compute_matrix
from harness.cli import main
from harness.nodes.imagedefs import HARNESS_IMAGES
from tests.unit.test_matrix_affected import commit, git, make_repo, touch

BOTH = ("bookworm", "trixie")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The matrix fixture repo with its own images/ (a copy of the harness's base + trixie)."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    repo = make_repo(tmp_path / "repo")
    shutil.rmtree(repo / "images")
    shutil.copytree(HARNESS_IMAGES, repo / "images")
    commit(repo)
    git(repo, "branch", "-f", "main", "HEAD")   # the images are part of the base branch
    return repo


def jobs(repo: Path, ref: str | None = "main", **kw: object) -> set[tuple[str, str]]:
    matrix = compute_matrix(repo, changed_since=ref, **kw)  # type: ignore[arg-type]
    return {(spec.name, platform) for spec, platform in matrix.jobs}


def test_every_spec_crossed_with_every_platform(repo: Path) -> None:
    assert jobs(repo, None) == {(name, p) for name in ("haproxy", "mail", "memcached",
                                                        "zookeeper") for p in BOTH}


def test_a_platform_image_change_selects_only_that_platform(repo: Path) -> None:
    touch(repo, "images/trixie/image.yaml")
    assert jobs(repo) == {(name, "trixie") for name in ("haproxy", "mail", "memcached",
                                                         "zookeeper")}
    matrix = compute_matrix(repo, changed_since="main")
    text = "\n".join(matrix.explanation())
    assert "run  role_specs/test_mail.py on trixie" in text
    assert "images/trixie/image.yaml: the node image of platform trixie" in text
    assert "skip role_specs/test_mail.py on bookworm: no change reaches it" in text


def test_bookworm_keeps_its_old_directory(repo: Path) -> None:
    touch(repo, "images/base/image.yaml")
    assert {p for _, p in jobs(repo)} == {"bookworm"}


def test_shared_setup_script_and_unowned_files_select_every_platform(repo: Path) -> None:
    touch(repo, "images/base/setup.sh")      # an input of both images
    assert {p for _, p in jobs(repo)} == set(BOTH)
    commit(repo)
    touch(repo, "images/README.txt", "notes\n")   # no platform's input: cannot tell
    assert {p for _, p in jobs(repo, "HEAD")} == set(BOTH)


def test_image_change_combines_with_a_role_change(repo: Path) -> None:
    touch(repo, "images/trixie/image.yaml")
    touch(repo, "roles/mail.yaml")
    assert jobs(repo) == {("mail", "bookworm")} | {(n, "trixie") for n in (
        "haproxy", "mail", "memcached", "zookeeper")}


def test_marker_platforms_narrow_a_spec(repo: Path) -> None:
    spec = repo / "role_specs" / "test_mail.py"
    spec.write_text(spec.read_text().replace("pytest.mark.cluster(", "pytest.mark.cluster("
                                             "platforms=['trixie'], ", 1))
    commit(repo)
    assert {p for n, p in jobs(repo, None) if n == "mail"} == {"trixie"}
    text = "\n".join(compute_matrix(repo).explanation())
    assert "skip role_specs/test_mail.py on bookworm: its cluster(platforms=...) leaves it out" in text


def test_platform_option_narrows_the_axis_and_rejects_unknown(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "--repo", str(repo), "--platform", "trixie", "--format", "github"]) == 0
    out = capsys.readouterr().out.splitlines()
    include = json.loads(out[0].removeprefix("matrix="))["include"]
    assert {e["platform"] for e in include} == {"trixie"} and out[1] == "count=4"
    assert len({e["id"] for e in include}) == 4
    assert main(["matrix", "--repo", str(repo), "--platform", "sid"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "harness: unknown platform 'sid': images/ defines bookworm, trixie"


def test_broken_image_definition_exits_2_naming_the_file(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    touch(repo, "images/trixie/image.yaml", "- not a mapping\n")
    assert main(["matrix", "--repo", str(repo), "--changed-since", "main"]) == 2
    err = capsys.readouterr().err.strip()
    assert "images/trixie/image.yaml" in err and len(err.splitlines()) == 1
