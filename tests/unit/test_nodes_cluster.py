"""Cluster logic on the FakeBackend: labels, naming, bootstrap inputs, passes, cleanup."""
from __future__ import annotations

import json
import os
import threading

import pytest

from harness.errors import (
    BootstrapError,
    ConvergeError,
    EngineError,
    IdempotenceError,
    UsageError,
)
from harness.nodes import bootstrap as nb
from harness.nodes import configserver
from harness.nodes.backend import NetworkInfo
from harness.nodes.cluster import Cluster
from harness.nodes.removals import Removals
from harness.nodes.spec import ClusterSpec
from tests.unit.nodes_world import SCRIPT, FakeServer, make_world, report


@pytest.fixture
def world(monkeypatch, tmp_path):
    return make_world(monkeypatch, tmp_path)


def make(world, roles=None, environment="_default", **kw) -> Cluster:
    spec = ClusterSpec({"web": 2, "db": 1} if roles is None else roles, environment)
    return Cluster("spec-x", spec, repo_dir=world.repo, image="harness/base:test",
                   backend=world.backend, progress=lambda line: None, **kw)


def test_up_names_labels_and_bootstrap_inputs(world):
    c = make(world, environment="production")
    c.up()
    assert list(c.nodes) == ["web-1", "web-2", "db-1"]
    net_labels = world.backend.networks[c.network]
    assert net_labels["harness.session"] == c.session and net_labels["harness.cluster"] == "spec-x"
    assert net_labels["harness.pid"] == str(os.getpid()) and net_labels["harness.pid_start"]
    box = world.backend.containers[f"h-{c.id}-web-2"]
    assert len(c.id) == 8 and int(c.id, 16) >= 0
    assert (box.hostname, box.aliases, box.image) == ("web-2", ["web-2"], "harness/base:test")
    assert box.labels["harness.role"] == "web" and box.labels["harness.node"] == "web-2"
    assert box.files["/root/bootstrap.sh"] == (SCRIPT, 0o755)
    assert box.files["/etc/harness/validator.token"] == (b"validator-token-123\n", 0o600)
    assert "/etc/harness/encrypted_data_bag_secret" not in box.files
    cmd = next(cmd for name, cmd in world.backend.execs
               if name == box.name and cmd[:2] == ["bash", "/root/bootstrap.sh"])
    assert cmd[2:] == ["--server", FakeServer.url, "--node", "web-2", "--environment",
                       "production", "--role", "web", "--validator-token-file",
                       "/etc/harness/validator.token"]
    assert world.client.posts[0] == ("/clients", {"name": "harness-validator", "validator": True})
    c.down()
    assert world.backend.containers == {} and world.backend.networks == {}
    assert world.server.stopped


def test_passes_run_until_search_settles_then_idempotence(world):
    c = make(world)
    c.up()
    # bootstrap saw only itself -> pass 2 on all nodes -> settled -> idempotence pass
    for name in c.nodes:
        assert set(c.timings[name]) == {"container", "systemd", "bootstrap", "converge_2",
                                        "idempotence"}
        assert len(c.reports[name]) == 3
    assert c.reports["web-1"][-1]["searches"][0]["names"] == ["db-1", "web-1", "web-2"]
    c.down()


def test_secret_file_is_copied_and_passed(world):
    (world.repo / ".chef").mkdir()
    (world.repo / ".chef" / "encrypted_data_bag_secret").write_bytes(b"s3cret")
    with make(world, roles={"web": 1}) as c:
        box = world.backend.containers[c.nodes["web-1"].container]
        assert box.files["/etc/harness/encrypted_data_bag_secret"] == (b"s3cret", 0o600)
        cmd = [cmd for _, cmd in world.backend.execs if cmd[:2] == ["bash", "/root/bootstrap.sh"]][0]
        assert cmd[-2:] == ["--secret-file", "/etc/harness/encrypted_data_bag_secret"]
    assert world.backend.containers == {}


def test_idempotence_failure_lists_resources_and_cleans_up(world):
    world.backend.on(r"agent\.pyz converge --json", lambda container, cmd: (0, json.dumps(
        report(world.backend.containers[container].hostname, world.client.registered,
               ["template[/etc/motd]"]))))
    c = make(world, roles={"web": 1})
    with pytest.raises(IdempotenceError, match=r"web-1: template\[/etc/motd\]"):
        c.up()
    assert world.backend.containers == {} and world.backend.networks == {}


def test_bootstrap_failure_is_one_line_with_log_and_cleans_up(world):
    world.backend.on(r"^bash /root/bootstrap\.sh", lambda c, cmd: (
        1, "bootstrap: downloading the agent from http://x\n"
           "bootstrap: cannot reach http://x (Connection refused)\n"))
    c = make(world)
    with pytest.raises(BootstrapError) as info:
        c.up()
    err = info.value
    assert err.node in c.nodes and "cannot reach http://x" in str(err) and "\n" not in str(err)
    assert "downloading the agent" in err.log_tail
    assert world.backend.containers == {} and world.backend.networks == {}
    assert world.server.stopped


def test_failed_first_converge_names_the_resource(world):
    world.backend.on(r"^bash /root/bootstrap\.sh", lambda c, cmd: (
        1, "* execute[boom] run\nFAILED: execute[boom]: exit 3\nbootstrap: first converge failed\n"))
    with pytest.raises(ConvergeError, match=r"execute\[boom\]: exit 3"):
        make(world, roles={"broken": 1}).up()
    assert world.backend.containers == {}


def test_converge_failure_report_names_resource(world):
    c = make(world, roles={"web": 1}).up()
    failing = {"node": "web-1", "status": "failure", "changed": [], "resources": [],
               "failure": {"resource": "service[app]", "message": "unit failed\nmore"}}
    world.backend.on(r"agent\.pyz converge --json",
                     lambda container, cmd: (1, "log line\n" + json.dumps(failing) + "\n"))
    message = r"^node web-1: converge failed: service\[app\]: unit failed$"
    with pytest.raises(ConvergeError, match=message) as info:
        c.converge("web-1")
    assert "log line" in info.value.log_tail and "log line" in c.diagnostics("web-1")
    c.down()


def test_down_in_the_background_returns_at_once_and_removes_before_exit(world, monkeypatch):
    from harness.nodes import teardown

    gate, stopped_reapers = threading.Event(), []
    monkeypatch.setattr(teardown, "stop_reaper", stopped_reapers.append)
    real_remove = world.backend.remove_by_labels

    def slow_remove(labels):  # a JDK node's disk layer takes seconds to delete
        gate.wait(5)
        return real_remove(labels)

    monkeypatch.setattr(world.backend, "remove_by_labels", slow_remove)
    removals = Removals()
    c = make(world, removals=removals)
    c.up()
    c.down(wait=False)
    assert len(world.backend.containers) == 3, "down() returned before the removal finished"
    assert world.server.stopped
    assert stopped_reapers == [], "the reaper stays until the containers are gone"
    gate.set()
    removals.finish()
    assert world.backend.containers == {} and world.backend.networks == {}
    assert stopped_reapers == [None]
    assert removals.finish() < 0.1, "nothing left to wait for"
    removals.close()


def test_down_without_removals_removes_in_the_foreground(world):
    c = make(world)
    c.up()
    c.down(wait=False)
    assert world.backend.containers == {} and world.backend.networks == {}


def test_the_server_is_the_clusters_only_after_up_on_the_calling_thread(world):
    c = make(world, roles={"web": 1})
    assert c.server is None and c.client is None
    c.up()
    assert (c.server, c.client) == (world.server, world.client)
    assert set(c.cluster_timings) >= {"network", "server", "nodes", "settle"}
    c.down()


def test_server_failure_while_nodes_start_is_the_error_and_cleans_up(world, monkeypatch):
    def no_such_environment(host, repo_dir, **kw):
        raise UsageError("no environment 'prod' in /repo")

    monkeypatch.setattr(configserver, "restored_server", no_such_environment)
    with pytest.raises(UsageError, match="no environment 'prod'"):
        make(world).up()
    assert world.backend.containers == {} and world.backend.networks == {}
    assert not [cmd for _, cmd in world.backend.execs if cmd[0] == "bash"], "no bootstrap ran"


def test_the_server_restores_on_the_loopback_and_nodes_get_the_gateway(world, monkeypatch):
    """The restore overlaps the network's creation (decision 62); nodes only ever see the
    address on their own network."""
    hosts = []

    def restored_server(host, repo_dir, **kw):
        hosts.append(host)
        return world.server, world.client

    def create_network(name, labels):
        world.backend.networks[name] = dict(labels)
        return NetworkInfo(name=name, id=name, gateway="10.9.8.1", subnet="10.9.8.0/24")

    monkeypatch.setattr(configserver, "restored_server", restored_server)
    monkeypatch.setattr(world.backend, "create_network", create_network)
    c = make(world, roles={"web": 1})
    c.up()
    assert hosts == ["127.0.0.1"]
    cmd = next(cmd for _, cmd in world.backend.execs if cmd[:2] == ["bash", "/root/bootstrap.sh"])
    assert cmd[cmd.index("--server") + 1] == "http://10.9.8.1:4000"
    c.down()


def test_a_network_that_cannot_be_made_stops_the_restored_server(world, monkeypatch):
    def create_network(name, labels):
        raise EngineError(f"cannot create network {name}: pool overlaps")

    monkeypatch.setattr(world.backend, "create_network", create_network)
    with pytest.raises(EngineError, match="pool overlaps"):
        make(world).up()
    assert world.server.stopped and world.backend.containers == {}


def test_the_bootstrap_files_are_copied_before_the_exec_that_waits_for_the_boot(world):
    """They overlap systemd's boot; the same exec then runs the bootstrap (decision 63)."""
    order = []
    put_files = world.backend.put_files
    world.backend.put_files = lambda c, files: (order.append("copy"), put_files(c, files))[1]
    world.backend.on(r"systemctl is-system-running",
                     lambda c, cmd: (order.append("boot wait"), (0, "running\n"))[1])
    make(world, roles={"web": 1}).up()
    assert order[:2] == ["copy", "boot wait"]
    boot_execs = [cmd for _, cmd in world.backend.execs if cmd[:3] == ["sh", "-c", nb.BOOT_THEN]]
    assert [cmd[4:6] for cmd in boot_execs] == [["bash", "/root/bootstrap.sh"]]


def test_keyboard_interrupt_during_up_cleans_up(world):
    def interrupted(container, cmd):
        raise KeyboardInterrupt

    world.backend.on(r"systemctl is-system-running", interrupted)
    with pytest.raises(KeyboardInterrupt):
        make(world, roles={"web": 1}).up()
    assert world.backend.containers == {} and world.backend.networks == {}


def test_keep_failed_leaves_resources_until_keep_or_down(world):
    world.backend.on(r"^bash /root/bootstrap\.sh", lambda c, cmd: (1, "bootstrap: nope\n"))
    c = make(world, roles={"web": 1}, keep_failed=True)
    with pytest.raises(BootstrapError):
        c.up()
    assert len(world.backend.containers) == 1
    c.keep()
    c.down()  # after keep() nothing is removed
    assert len(world.backend.containers) == 1 and world.server.stopped


@pytest.mark.parametrize("roles", [{"web": 0}, {"web": "2"}, {}])
def test_bad_counts_are_usage_errors(world, roles):
    with pytest.raises(UsageError):
        make(world, roles=roles)


@pytest.mark.parametrize("node_disk, memory_gib, in_ram", [
    ("auto", 16, True), ("auto", 6, False), ("ram", 6, True), ("disk", 16, False)])
def test_nodes_keep_usr_and_var_in_ram_by_the_option_and_the_engine_ram(
        world, node_disk, memory_gib, in_ram):
    world.backend.memory_bytes = memory_gib * 2**30
    lines: list[str] = []
    c = Cluster("spec-x", ClusterSpec({"web": 1}), repo_dir=world.repo, image="harness/base:test",
                backend=world.backend, progress=lines.append, node_disk=node_disk)
    c.up()
    assert world.backend.containers[f"h-{c.id}-web-1"].ram_dirs == (
        ("/usr", "/var") if in_ram else ())
    assert any(line.endswith("/usr and /var in RAM)" if in_ram else "on disk)")
               for line in lines if "starting 1 node(s)" in line)
    c.down()


def test_a_bad_node_disk_is_a_usage_error(world):
    with pytest.raises(UsageError, match="node disk must be one of auto, ram, disk, not 'tmpfs'"):
        make(world, node_disk="tmpfs")


def test_missing_bootstrap_script_is_usage_error(world):
    (world.repo / "bootstrap" / "bootstrap.sh").unlink()
    with pytest.raises(UsageError, match="no bootstrap script"):
        make(world, roles={"web": 1}).up()
    assert world.backend.networks == {}


def test_exec_and_unknown_node(world):
    world.backend.on(r"^sh -c echo hi", lambda c, cmd: (0, "hi\n"))
    with make(world, roles={"web": 1}) as c:
        assert c.exec("web-1", "echo hi") == (0, "hi\n")
        with pytest.raises(UsageError, match="no node 'web-9'"):
            c.exec("web-9", "true")
