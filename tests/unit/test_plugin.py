"""The pytest plugin, run with pytester over a FakeBackend cluster (no Docker).

What a spec author relies on: one cluster per module, `node`/`host` once per node with the
node names as ids, diagnostics on failure, --keep-failed, --env, and one-line errors.
"""
from __future__ import annotations

import pytest

from harness.nodes import handover
from harness.nodes.cluster import Cluster
from tests.unit.nodes_world import make_world

pytest_plugins = ["pytester"]


@pytest.fixture
def world(monkeypatch, tmp_path_factory):
    """Every Cluster the inner session makes runs on the fake world; records lifecycle calls."""
    w = make_world(monkeypatch, tmp_path_factory.mktemp("repo"))
    w.calls = []
    init, up, down, keep = Cluster.__init__, Cluster.up, Cluster.down, Cluster.keep

    def fake_init(self, name, spec, **kw):
        kw["backend"] = w.backend
        kw["image"] = kw.get("image") or "harness/base:test"
        w.calls.append(("init", name, spec.environment, dict(spec.roles)))
        init(self, name, spec, **kw)

    def record(label, real):
        def wrapper(self, *args, **kwargs):
            w.calls.append((label, self.name))
            return real(self, *args, **kwargs)
        return wrapper

    monkeypatch.setattr(Cluster, "__init__", fake_init)
    monkeypatch.setattr(Cluster, "up", record("up", up))
    monkeypatch.setattr(Cluster, "down", record("down", down))
    monkeypatch.setattr(Cluster, "keep", record("keep", keep))

    def fake_hand_over(cluster, say):  # the real one starts a keeper: tests/integration
        w.calls.append(("hand_over", cluster.name))
        cluster.keep()
        say(f"kept cluster {cluster.name}")

    monkeypatch.setattr(handover, "hand_over", fake_hand_over)
    return w


SPEC = '''
import pytest
pytestmark = pytest.mark.cluster(web=2, db=1, env="production")

def test_each_node(node, host, cluster):
    assert node.name in cluster.nodes and host is cluster.testinfra_host(node.name)

def test_roles(hosts_by_role, hosts):
    assert sorted(hosts) == ["db-1", "web-1", "web-2"]
    assert [len(hosts_by_role["web"]), len(hosts_by_role["db"])] == [2, 1]

def test_report(report, node):
    assert report["node"] == node.name
'''


def run(pytester, world, source, *args):
    pytester.makepyfile(test_spec=source)
    return pytester.runpytest_inprocess("-v", "-p", "no:cacheprovider", "--repo", str(world.repo), *args)


def test_one_cluster_per_module_and_one_run_per_node(pytester, world):
    result = run(pytester, world, SPEC)
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(["*test_each_node?web-1? PASSED*", "*test_each_node?web-2? PASSED*",
                                 "*test_each_node?db-1? PASSED*"])
    assert world.calls == [("init", "spec", "production", {"web": 2, "db": 1}),
                           ("up", "spec"), ("down", "spec")]
    assert world.backend.containers == {} and world.backend.networks == {}


def test_session_waits_for_the_background_removal(pytester, world, monkeypatch):
    """The module teardown hands the removal to a thread; pytest must not exit before it."""
    import time

    real = world.backend.remove_by_labels

    def slow(labels):  # a JDK node's disk layer takes seconds to delete
        time.sleep(0.5)
        return real(labels)

    monkeypatch.setattr(world.backend, "remove_by_labels", slow)
    result = run(pytester, world, SPEC)
    result.assert_outcomes(passed=7)
    assert world.backend.containers == {} and world.backend.networks == {}


def test_env_option_overrides_the_marker(pytester, world):
    run(pytester, world, SPEC, "--env", "staging").assert_outcomes(passed=7)
    assert world.calls[0] == ("init", "spec", "staging", {"web": 2, "db": 1})


def test_failure_report_carries_diagnostics_of_that_node(pytester, world):
    world.backend.on(r"^systemctl --failed", lambda c, cmd: (0, "zookeeper.service failed\n"))
    result = run(pytester, world, SPEC + '''
def test_broken(node):
    assert node.name != "web-2"
''')
    result.assert_outcomes(passed=9, failed=1)
    out = result.stdout.str()
    assert "harness diagnostics: web-2" in out and "zookeeper.service failed" in out
    assert "harness diagnostics: web-1" not in out
    assert world.calls[-1] == ("down", "spec")


def test_keep_failed_keeps_only_a_failed_cluster(pytester, world):
    result = run(pytester, world, SPEC + "\ndef test_broken(cluster):\n    assert False\n",
                 "--keep-failed")
    result.assert_outcomes(passed=7, failed=1)
    assert world.calls[-2:] == [("hand_over", "spec"), ("keep", "spec")]
    assert len(world.backend.containers) == 3
    result.stderr.fnmatch_lines(["*kept cluster spec*"])


def test_keep_failed_still_removes_a_passing_cluster(pytester, world):
    run(pytester, world, SPEC, "--keep-failed").assert_outcomes(passed=7)
    assert world.calls[-1] == ("down", "spec") and world.backend.containers == {}


@pytest.mark.parametrize("destroy, failing, kept", [
    ("always", True, False), ("always", False, False),
    ("passing", True, True), ("passing", False, False),
    ("never", True, True), ("never", False, True),
])
def test_destroy_strategies(pytester, world, destroy, failing, kept):
    """Test Kitchen's `kitchen test --destroy=passing|always|never` (test-kitchen
    features/kitchen_test_command.feature: `never` leaves the instance, `always` destroys it
    even after a failure, `passing` keeps it only on failure). Our default is `always`, not
    Kitchen's `passing` (decision: a test run leaves nothing unless asked)."""
    source = SPEC + ("\ndef test_broken(cluster):\n    assert False\n" if failing else "")
    args = ["--destroy", destroy] if destroy != "always" else []
    run(pytester, world, source, *args).assert_outcomes(passed=7, failed=int(failing))
    assert (("hand_over", "spec") in world.calls) is kept
    assert (world.backend.containers == {}) is not kept


def test_bring_up_failure_is_one_line_with_the_log_and_cleans_up(pytester, world):
    world.backend.on(r"^bash /root/bootstrap\.sh",
                     lambda c, cmd: (1, "bootstrap: cannot reach http://10.0.0.1:1\n"))
    result = run(pytester, world, SPEC)
    result.assert_outcomes(errors=7)
    out = result.stdout.str()
    assert "BootstrapError" in out and "cannot reach http://10.0.0.1:1" in out
    assert "Traceback" not in out and "raise " not in out
    assert world.calls[-1] == ("down", "spec") and world.backend.containers == {}


@pytest.mark.parametrize("marker,message", [
    ("cluster(web=0)", "cluster(web=0): the count must be a whole number >= 1"),
    ("cluster(web='2')", "the count must be a whole number >= 1"),
    ("cluster('web')", "takes keywords only"),
    ("cluster(env='production')", "names no role"),
])
def test_bad_markers_are_one_clear_line(pytester, world, marker, message):
    result = run(pytester, world, f"import pytest\npytestmark = pytest.mark.{marker}\n"
                                  "def test_x(host):\n    pass\n")
    assert result.ret != 0
    out = result.stdout.str()
    assert message in out and "Traceback" not in out
    assert not any(call[0] == "up" for call in world.calls)


def test_plain_testinfra_module_keeps_testinfras_host(pytester, world):
    result = run(pytester, world, "def test_local(host):\n    assert host.backend.NAME == 'local'\n")
    result.assert_outcomes(passed=1)
    assert world.calls == []
