"""--platform and cluster(platforms=[...]) in the pytest plugin (pytester, FakeBackend world)."""
from __future__ import annotations

import pytest

from harness.nodes.cluster import Cluster
from tests.unit.test_plugin import run, world  # noqa: F401  (fixture)

pytest_plugins = ["pytester"]

SPEC = '''
import pytest
pytestmark = pytest.mark.cluster(web=1, {extra})

def test_up(cluster):
    assert cluster.nodes
'''


@pytest.fixture
def platforms(monkeypatch, world):  # noqa: F811
    """The platform of every Cluster the inner session creates."""
    seen: list[str] = []
    init = Cluster.__init__

    def record(self, name, spec, **kw):
        seen.append(spec.platform)
        init(self, name, spec, **kw)

    monkeypatch.setattr(Cluster, "__init__", record)
    return seen


def test_default_platform_and_option(pytester, world, platforms):  # noqa: F811
    run(pytester, world, SPEC.format(extra="")).assert_outcomes(passed=1)
    run(pytester, world, SPEC.format(extra=""), "--platform", "trixie").assert_outcomes(passed=1)
    assert platforms == ["bookworm", "trixie"]


def test_a_module_restricted_to_other_platforms_is_skipped(pytester, world, platforms):  # noqa: F811
    source = SPEC.format(extra="platforms=['trixie']")
    result = run(pytester, world, source, "-rs")
    result.assert_outcomes(skipped=1)
    assert "cluster(platforms=['trixie']) leaves out platform bookworm" in result.stdout.str()
    run(pytester, world, source, "--platform", "trixie").assert_outcomes(passed=1)
    assert platforms == ["trixie"]          # the skipped module brought no cluster up


def test_bad_platform_values_are_one_line(pytester, world, platforms):  # noqa: F811
    result = run(pytester, world, SPEC.format(extra="platforms='trixie'"))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*cluster(platforms='trixie'): give a non-empty list*"])
    result = run(pytester, world, SPEC.format(extra=""), "--platform", "a b")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*bad platform name 'a b'*"])
