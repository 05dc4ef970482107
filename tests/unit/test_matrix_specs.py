"""Reading role spec modules' cluster markers with ast (never importing them)."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.ci.specs import discover_specs, spec_name
from harness.errors import UsageError


def write_specs(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / "role_specs" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_marker_keywords_are_roles_except_env_and_non_counts(tmp_path: Path) -> None:
    repo = write_specs(tmp_path, {"test_lb.py": (
        "import pytest\nraise SystemExit('imported!')\n"
        "pytestmark = pytest.mark.cluster(haproxy=2, web=3, env='staging', from_backup='b/prod')\n")})
    (spec,) = discover_specs(repo)
    assert spec.entry("trixie") == {"name": "lb", "platform": "trixie", "id": "lb-trixie",
                                    "file": "role_specs/test_lb.py", "roles": ["haproxy", "web"]}
    assert spec.platforms is None   # no platforms=[...]: every platform
    assert spec.env == "staging" and not spec.opaque


@pytest.mark.parametrize("text", [
    "import pytest\npytestmark = pytest.mark.cluster(**ROLES)\n",
    "import pytest\nN = 3\npytestmark = pytest.mark.cluster(zookeeper=N)\n",
    "import pytest\npytestmark = pytest.mark.cluster(zookeeper=1, env=ENV)\n",
    "def test_plain():\n    pass\n",
])
def test_unreadable_or_missing_marker_is_opaque(tmp_path: Path, text: str) -> None:
    (spec,) = discover_specs(write_specs(tmp_path, {"test_x.py": text}))
    assert spec.opaque


def test_marker_in_a_list_and_default_env(tmp_path: Path) -> None:
    repo = write_specs(tmp_path, {"test_mc.py": (
        "import pytest\npytestmark = [pytest.mark.slow, pytest.mark.cluster(memcached=1)]\n")})
    (spec,) = discover_specs(repo)
    assert (spec.roles, spec.env, spec.opaque) == (("memcached",), "_default", False)


def test_only_spec_modules_are_found_sorted_and_named(tmp_path: Path) -> None:
    repo = write_specs(tmp_path, {
        "test_zk.py": "", "mail_test.py": "", "helpers.py": "", "conftest.py": "",
        "edge/test_lb.py": "", "__pycache__/test_old.py": ""})
    assert [s.name for s in discover_specs(repo)] == ["edge-lb", "mail", "zk"]
    assert spec_name(Path("test_a_b.py")) == "a_b"


def test_syntax_error_and_missing_dir_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no role specs directory"):
        discover_specs(tmp_path)
    write_specs(tmp_path, {"test_bad.py": "pytestmark = (\n"})
    with pytest.raises(UsageError, match="test_bad.py"):
        discover_specs(tmp_path)


def test_two_modules_with_one_job_name_are_refused(tmp_path: Path) -> None:
    repo = write_specs(tmp_path, {"test_zk.py": "", "zk_test.py": ""})
    with pytest.raises(UsageError, match="job name 'zk'"):
        discover_specs(repo)
