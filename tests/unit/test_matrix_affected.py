"""The affected-spec analysis on a real git history: one kind of change per case.

The fixture repo (tests/fixtures/matrix_repo) has four specs:
  zookeeper (production) -> role zookeeper -> role base + pd-zookeeper -> depends zookeeper, java
  memcached (staging)    -> role memcached -> role base + memcached (+ debug-tools in staging)
  haproxy (production)   -> haproxy cookbook (uses node.in_allowlist); flips a node to "staging"
  mail (_default)        -> postfix::default (reads data bag "mail")
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.ci.matrix import compute_matrix

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "matrix_repo"
ALL = {"haproxy", "mail", "memcached", "zookeeper"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                           "-c", "commit.gpgsign=false", *args],
                          check=True, capture_output=True, text=True).stdout


def make_repo(dest: Path) -> Path:
    """Copy the fixture (spec stubs get their .py name back), commit it on main, branch off."""
    shutil.copytree(FIXTURE, dest)
    for stub in (dest / "role_specs").glob("*.stub"):
        stub.rename(stub.with_suffix(""))
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "fixture")
    git(dest, "checkout", "-q", "-b", "feature")
    return dest


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("matrix") / "repo")


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "repo", symlinks=True))


def touch(repo: Path, path: str, text: str | None = None) -> None:
    """Change (or create) one file, keeping it valid: write `text`, edit JSON, or add a comment."""
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    if text is None and target.suffix == ".json" and target.exists():
        doc = json.loads(target.read_text())
        doc["description" if path.startswith(("roles/", "environments/")) else "note"] = "changed"
        text = json.dumps(doc)
    elif text is None:
        text = (target.read_text() if target.exists() else "") + "\n# changed\n"
    target.write_text(text)


def selected(repo: Path, ref: str = "main") -> set[str]:
    return {s.name for s in compute_matrix(repo, changed_since=ref).selected}


def commit(repo: Path) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "change")


CASES = [
    # (changed path, expected specs)
    ("cookbooks/java/recipes/default.py", {"zookeeper"}),             # via pd-zookeeper depends
    ("cookbooks/zookeeper/metadata.yaml", {"zookeeper"}),             # depends + include_recipe
    ("site-cookbooks/pd-zookeeper/templates/zoo.cfg.j2", {"zookeeper"}),
    ("cookbooks/base/recipes/default.py", {"zookeeper", "memcached"}),  # through role[base]
    ("cookbooks/debug-tools/recipes/default.py", {"memcached"}),     # env_run_lists[staging] only
    ("cookbooks/unused/recipes/default.py", set()),
    ("roles/base.json", {"zookeeper", "memcached"}),                  # included by two roles
    ("roles/haproxy.json", {"haproxy"}),
    ("roles/mail.yaml", {"mail"}),
    ("environments/staging.json", {"memcached", "haproxy"}),          # haproxy flips to staging
    ("environments/production.json", {"zookeeper", "haproxy"}),
    ("environments/_default.json", {"mail"}),                          # a new file
    ("data_bags/mail/relay.json", {"mail"}),                           # data_bag_item("mail", ...)
    ("data_bags/allowlist/new_lb.json", {"haproxy"}),                  # node.in_allowlist(...)
    ("data_bags/users/ops.json", set()),                               # nobody reads it
    ("bootstrap/bootstrap.sh", ALL),
    ("images/base/Dockerfile", ALL),
    ("harness/cli/parser.py", ALL),
    ("pyproject.toml", ALL),
    ("conftest.py", ALL),
    ("nodes/legacy-1.json", ALL),
    ("Berksfile", ALL),                                                # unknown top level
    ("role_specs/test_haproxy.py", {"haproxy"}),
    ("role_specs/helpers.py", ALL),
    ("docs/notes.md", set()),
    ("README.md", set()),
    ("cookbooks/haproxy/README.md", set()),
    ("tests/unit/test_something.py", set()),
]


NEW_FILES = {"environments/_default.json": '{"name": "_default"}\n',
             "nodes/legacy-1.json": '{"name": "legacy-1", "chef_environment": "production"}\n'}


@pytest.mark.parametrize(("path", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_kind_of_committed_change_selects_exactly(repo: Path, path: str,
                                                        expected: set[str]) -> None:
    touch(repo, path, NEW_FILES.get(path))
    commit(repo)
    assert selected(repo) == expected


def test_no_change_selects_nothing_and_no_ref_selects_everything(repo: Path) -> None:
    assert selected(repo) == set()
    assert {s.name for s in compute_matrix(repo).selected} == ALL


def test_uncommitted_and_untracked_work_counts(repo: Path) -> None:
    touch(repo, "cookbooks/java/recipes/default.py")          # modified, not staged
    touch(repo, "data_bags/mail/new.json", '{"id": "new"}\n')  # untracked
    assert selected(repo) == {"zookeeper", "mail"}


def test_three_dot_diff_ignores_what_landed_on_the_base_meanwhile(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    touch(repo, "bootstrap/bootstrap.sh")      # would select everything
    commit(repo)
    git(repo, "checkout", "-q", "feature")
    touch(repo, "roles/haproxy.json")
    commit(repo)
    assert selected(repo) == {"haproxy"}


def test_deleted_role_still_selects_the_specs_that_need_it(repo: Path) -> None:
    (repo / "roles" / "base.json").unlink()
    commit(repo)
    assert selected(repo) >= {"zookeeper", "memcached"}


def test_renamed_cookbook_file_selects_old_and_new_owners(repo: Path) -> None:
    (repo / "cookbooks/debug-tools/templates").mkdir()
    git(repo, "mv", "site-cookbooks/pd-zookeeper/templates/zoo.cfg.j2",
        "cookbooks/debug-tools/templates/zoo.cfg.j2")
    commit(repo)
    assert selected(repo) == {"zookeeper", "memcached"}


def test_a_repo_that_no_longer_loads_selects_every_spec_it_could_touch(repo: Path) -> None:
    touch(repo, "roles/haproxy.json", '{"name": "haproxy", "run_list": ["role[nope]"]}')
    commit(repo)
    matrix = compute_matrix(repo, changed_since="main")
    assert {s.name for s in matrix.selected} == ALL
    assert "does not load" in " ".join(matrix.why["role_specs/test_mail.py"])


def test_unreadable_marker_is_selected_by_any_repo_change(repo: Path) -> None:
    touch(repo, "role_specs/test_dynamic.py",
          "import pytest\nROLES = {'haproxy': 1}\npytestmark = pytest.mark.cluster(**ROLES)\n")
    commit(repo)
    git(repo, "checkout", "-q", "-b", "later")
    touch(repo, "cookbooks/unused/recipes/default.py")
    commit(repo)
    assert selected(repo, "feature") == {"dynamic"}
    touch(repo, "docs/more.md", "# more\n")
    commit(repo)
    assert selected(repo, "feature") == {"dynamic"}   # docs still select nothing new


def test_explain_says_why(repo: Path) -> None:
    touch(repo, "cookbooks/java/recipes/default.py")
    matrix = compute_matrix(repo, changed_since="main", platforms=["trixie"])
    (entry,) = matrix.entries(explain=True)
    assert entry["name"] == "zookeeper" and entry["file"] == "role_specs/test_zookeeper.py"
    assert (entry["platform"], entry["id"]) == ("trixie", "zookeeper-trixie")
    assert entry["roles"] == ["zookeeper"]
    assert any("cookbook java" in why and "role zookeeper" in why for why in entry["why"])
    text = "\n".join(matrix.explanation())
    assert "skip role_specs/test_mail.py" in text and "run  role_specs/test_zookeeper.py" in text


def test_repo_in_a_subdirectory_of_the_checkout(tmp_path: Path) -> None:
    top = tmp_path / "mono"
    shutil.copytree(FIXTURE, top / "infra")
    for stub in (top / "infra" / "role_specs").glob("*.stub"):
        stub.rename(stub.with_suffix(""))
    (top / "app").mkdir()
    (top / "app" / "main.go").write_text("package main\n")
    git(top, "init", "-q", "-b", "main")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "fixture")
    touch(top, "infra/roles/mail.yaml")
    assert selected(top / "infra") == {"mail"}
    touch(top, "app/main.go")            # outside the repo dir: cannot tell, so everything
    assert selected(top / "infra") == ALL


def test_a_bag_named_in_role_attributes_selects_the_role(repo: Path) -> None:
    touch(repo, "roles/memcached.json", json.dumps({
        "name": "memcached", "run_list": ["recipe[memcached]"],
        "default_attributes": {"memcached": {"users_bag": "users"}}}))
    commit(repo)
    git(repo, "checkout", "-q", "-b", "bags")
    touch(repo, "data_bags/users/ops.json")
    commit(repo)
    assert selected(repo, "feature") == {"memcached"}


def test_a_cookbook_reached_only_in_another_environment_still_counts(repo: Path) -> None:
    touch(repo, "roles/zookeeper.json", json.dumps({
        "name": "zookeeper", "run_list": ["role[base]", "recipe[pd-zookeeper]"],
        "env_run_lists": {"staging": ["role[base]", "recipe[pd-zookeeper]", "recipe[unused]"]}}))
    commit(repo)
    git(repo, "checkout", "-q", "-b", "envs")
    touch(repo, "cookbooks/unused/recipes/default.py")
    commit(repo)
    assert selected(repo, "feature") == {"zookeeper"}    # the spec runs in production


def test_a_backup_cookbook_version_counts_as_that_cookbook():
    """backup/cookbooks/NAME-VERSION/ (the repo's production backup) is cookbook NAME; the
    backup's other parts stay 'may affect anything'."""
    from harness.ci.affected import ALL, classify

    kw = dict(specs_dir="role_specs", cookbook_dirs={}, role_files={}, env_files={})
    change = classify("backup/cookbooks/pd-memcached-1.0.0/recipes/default.py", **kw)
    assert (change.kind, change.name) == ("cookbook", "pd-memcached")
    assert classify("backup/environments/_default.json", **kw).kind == ALL
